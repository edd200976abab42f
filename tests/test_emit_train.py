"""`slimlang build FILE --emit py --train`: the emitted TF-Slim training program."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slimlang.checker import check_file
from slimlang.diagnostics import SlimError
from slimlang.emit import emit_module

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _emit(path, train=True) -> str:
    return emit_module(check_file(str(path)), train=train)


def _calls(tree, attr: str) -> list:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == attr]


@pytest.mark.parametrize("name", ["digits", "finetune", "multitask"])
def test_emitted_training_compiles_and_is_ruff_clean(name, tmp_path):
    text = _emit(EXAMPLES / f"{name}.slim")
    compile(text, name, "exec")
    tree = ast.parse(text)
    funcs = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert "main" in funcs and any(f.startswith("train_") for f in funcs)
    assert _calls(tree, "create_train_op") and _calls(tree, "get_total_loss")
    assert 'if __name__ == "__main__":' in text
    ruff = shutil.which("ruff")
    if ruff:
        out = tmp_path / f"{name}.py"
        out.write_text(text)
        r = subprocess.run([ruff, "check", "--select", "E,F,W", str(out)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_without_train_flag_is_unchanged():
    prog = check_file(str(EXAMPLES / "digits.slim"))
    plain = emit_module(prog)
    assert "slim.learning.train" not in plain and "SOURCE_DIR" not in plain
    assert emit_module(prog, train=False) == plain


def test_finetune_restores_with_exclude_list():
    tree = ast.parse(_emit(EXAMPLES / "finetune.slim"))
    (gv,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "select_scopes"
             and ast.unparse(n.args[0]) == "slim.get_variables_to_restore()"]  # under include/exclude scopes
    assert ast.unparse(gv.args[0]) == "slim.get_variables_to_restore()"
    kw = {k.arg: k.value for k in gv.keywords}
    assert ast.literal_eval(kw["exclude"]) == ["digits_net/logits"] and "model_scope(" in ast.unparse(kw["top"])
    (fn,) = _calls(tree, "assign_from_checkpoint_fn")
    assert {k.arg for k in fn.keywords} == {"ignore_missing_vars"}
    trains = [c for c in _calls(tree, "train") if ast.unparse(c.func) == "slim.learning.train"]
    assert len(trains) == 2 and all(any(k.arg == "init_fn" for k in c.keywords) for c in trains)
    assert "'runs/digits-0to4'" in ast.unparse(tree)


EVIL = "x" + '\\"' * 3 + "\\nimport os; os.system('boom')\\n" + "'" * 3
HOSTILE = "\n".join([
    "model m(inputs: [4, 4, 1], num_classes = 3, is_training = true) {",
    "  flatten as flat",
    "  fc num_classes activation=none as logits",
    "}",
    "train {",
    "  model m",
    '  data npz "d\\"ata.npz" validation=0.25',
    "  loss softmax_cross_entropy",
    "  optimizer sgd lr=0.1",
    "  steps 5",
    '  logdir "' + EVIL + '"',
    "}",
    "",
])


def test_hostile_strings_stay_literals(tmp_path):
    src = tmp_path / "hostile.slim"
    src.write_text(HOSTILE)
    text = _emit(src)
    tree = ast.parse(text)
    assert not any(isinstance(n, ast.Call) and ast.unparse(n.func) == "os.system" for n in ast.walk(tree))
    consts = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert 'x"""\nimport os; os.system(\'boom\')\n' + "'" * 3 in consts
    assert 'd"ata.npz' in consts
    imported = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    # the training program's own imports (numpy, and the stdlib its quiet start-up and progress use):
    # nothing the source did not ask for
    assert imported == {"contextlib", "logging", "os", "sys", "time", "warnings", "numpy"}


def test_csv_data_is_emitted_and_a_custom_loss_is_a_located_error(tmp_path):
    # CSV data was E515 before the data sources were emitted from their table entries
    src = tmp_path / "csvdata.slim"
    (tmp_path / "d.csv").write_text("a,label\n1,0\n2,1\n3,0\n4,1\n")
    src.write_text(HOSTILE.replace('data npz "d\\"ata.npz" validation=0.25', 'data csv "d.csv" shape=[1, 1, 1]')
                   .replace("[4, 4, 1]", "[1, 1, 1]"))
    tree = ast.parse(_emit(src))
    (read,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "read_csv"]
    assert {k.arg: ast.literal_eval(k.value) for k in read.keywords}["shape"] == [1, 1, 1]
    import slimlang

    slimlang.register_loss("mine", lambda predictions, labels: predictions)
    try:
        src.write_text(HOSTILE.replace("loss softmax_cross_entropy", "loss mine"))
        with pytest.raises(SlimError) as e:
            _emit(src)
    finally:
        from slimlang.training import unregister_loss

        unregister_loss("mine")
    d = e.value.diagnostics[0]
    assert d.code == "E516" and d.span is not None and d.span.line == 8


@pytest.mark.slow
def test_emitted_digits_script_trains_and_slimlang_evals_it(tmp_path):
    script = tmp_path / "digits_gen.py"
    script.write_text(_emit(EXAMPLES / "digits.slim"))
    logdir = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = f"import digits_gen; digits_gen.train_default(number_of_steps=230, logdir={str(logdir)!r})"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (logdir / "checkpoint").is_file()
    # as `slimlang train` by default: a checkpoint every max(100, steps/10) steps, and at the end
    for step in (100, 200, 230):
        assert (logdir / f"model.ckpt-{step}.index").is_file(), sorted(p.name for p in logdir.iterdir())
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "eval", str(EXAMPLES / "digits.slim"),
                        "--checkpoint", str(logdir)], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "model.ckpt-230" in r.stdout + r.stderr and "accuracy" in r.stdout + r.stderr
