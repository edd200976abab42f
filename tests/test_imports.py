"""Imports between .slim files, models that call models and partial models (issue 12).

The single-file errors are golden cases (tests/cases/error_import_*, error_partial_*,
error_model_call_*); these are the ones that need several files, a file system oddity, both
lowerings or a training run.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import slimlang
from slimlang.checker import check_file
from slimlang.diagnostics import SlimError
from slimlang.emit import emit_module

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

NET = textwrap.dedent("""\
    let WIDTH = 4
    block unit(n) {
      conv n 3x3 as conv
    }
    defaults net_scope(w = 0.0) {
      conv, fc: weights_regularizer=l2(w)
    }
    model net(inputs: [8, 8, 2], n = WIDTH) uses net_scope {
      unit n as u1 endpoint
      fc 3 as logits
    }
    model other(inputs: [8, 8, 2]) {
      fc 2
    }
    """)


def _write(root: Path, files: dict):
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))


def _error(path) -> SlimError:
    with pytest.raises(SlimError) as e:
        check_file(path)
    return e.value


def test_from_import_brings_the_names_and_what_they_use(tmp_path):
    _write(tmp_path, {"nets/net.slim": NET, "train.slim": 'from "nets/net.slim" import net\n'})
    prog = check_file(tmp_path / "train.slim")
    assert set(prog.models) == {"net"}  # not `other`
    assert set(prog.blocks) == {"unit"} and set(prog.defaults) == {"net_scope"} and prog.globals["WIDTH"] == 4


def test_import_all_with_dotdot_and_a_diamond_is_one_definition(tmp_path):
    _write(tmp_path, {"nets/net.slim": NET, "lib/a.slim": 'import "../nets/net.slim"\n',
                      "lib/b.slim": 'from "../nets/net.slim" import net\n',
                      "train/t.slim": 'import "../lib/a.slim"\nimport "../lib/b.slim"\n'})
    prog = check_file(tmp_path / "train/t.slim")
    assert set(prog.models) == {"net", "other"}


def test_an_error_inside_an_imported_file_is_located_there(tmp_path):
    _write(tmp_path, {"nets/bad.slim": "model bad(inputs) {\n  conv 4 3x3 paddng=SAME\n}\n",
                      "t.slim": 'import "nets/bad.slim"\n'})
    d = _error(tmp_path / "t.slim").first
    assert d.code == "E202" and d.span.filename.endswith("nets/bad.slim") and d.span.line == 2
    assert any(n.startswith("note: ") and "imported at" in n and "t.slim:1:1" in n for n in d.notes)


def test_a_cycle_through_two_files_names_the_chain(tmp_path):
    _write(tmp_path, {"a.slim": 'import "b.slim"\n', "b.slim": 'import "sub/c.slim"\n',
                      "sub/c.slim": 'import "../a.slim"\n'})
    d = _error(tmp_path / "a.slim").first
    assert d.code == "E120" and d.span.filename.endswith("c.slim")
    assert d.message.endswith("a.slim -> " + str(tmp_path / "b.slim") + " -> " + str(tmp_path / "sub/c.slim")
                              + " -> " + str(tmp_path / "a.slim"))


def test_two_files_that_define_a_name_differently(tmp_path):
    _write(tmp_path, {"a.slim": "block unit(n) {\n  fc n\n}\nmodel a(inputs) {\n  unit 2\n}\n",
                      "b.slim": "block unit(n) {\n  fc n as f\n}\nmodel b(inputs) {\n  unit 2\n}\n",
                      "t.slim": 'from "a.slim" import a\nfrom "b.slim" import b\n'})
    d = _error(tmp_path / "t.slim").first
    assert d.code == "E122" and "`unit`" in d.message and d.span.line == 2


@pytest.mark.parametrize("kind", ["folder", "binary", "symlink loop", "fifo"])
def test_files_that_cannot_be_imported_are_located_errors(tmp_path, kind):
    target = tmp_path / "x.slim"
    if kind == "folder":
        target.mkdir()
    elif kind == "binary":
        target.write_bytes(b"\x00\x81model\xff")
    elif kind == "symlink loop":
        target.symlink_to(tmp_path / "x.slim")
    else:
        os.mkfifo(target)  # reading it would block: it must be refused unread
    (tmp_path / "t.slim").write_text('import "x.slim"\n')
    d = _error(tmp_path / "t.slim").first
    if kind == "binary":
        assert d.code == "E901" and d.span.filename.endswith("x.slim")
    else:
        assert d.code == "E900" and d.span.filename.endswith("t.slim") and (d.span.line, d.span.col) == (1, 8)


def test_the_fast_paths_never_import_tensorflow(tmp_path):
    """check, summary, fmt and --emit py of a file with imports, in a fresh interpreter."""
    out = tmp_path / "out.py"
    code = textwrap.dedent(f"""
        import sys
        from slimlang.cli import main
        path = {str(EXAMPLES / "lenet_digits.slim")!r}
        for argv in (["check", path], ["summary", path, "--model", "lenet_digits"], ["fmt", "--check", path],
                     ["build", path, "--emit", "py", "-o", {str(out)!r}]):
            assert main(argv) == 0, argv
        assert "tensorflow" not in sys.modules
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    source = out.read_text()
    assert "def lenet(" in source and "def lenet_arg_scope(" in source and "def lenet_digits(" in source
    imports = {line.strip() for line in source.splitlines() if line.strip().startswith(("import ", "from "))}
    assert imports <= {"from slimlang.tfcompat import slim, tf", "import tf_slim as slim", "import math",
                       "import tensorflow as tf", "import contextlib"}, imports  # one self-contained module


def test_go_to_definition_opens_the_imported_file(tmp_path):
    from slimlang.tools.lsp import Document

    _write(tmp_path, {"nets/net.slim": NET, "t.slim": 'from "nets/net.slim" import net\n'})
    doc = Document(uri=(tmp_path / "t.slim").as_uri())
    doc.update((tmp_path / "t.slim").read_text())
    assert doc.diagnostics == []
    span = doc.definition(0, 30)
    assert span.filename == str(tmp_path / "nets/net.slim") and span.line == 8
    assert "defined at net.slim:8" in doc.hover(0, 30)


# ------------------------------------------------------ both lowerings ---


def test_partial_mobilenet_is_a_function_with_the_new_default():
    """slimlang.load(...).mobilenet_v1_075 is mobilenet_v1 with depth_multiplier 0.75, under
    MobilenetV1 (the reference's checkpoint names); the emitted module spells it as a function
    calling mobilenet_v1.  (tests/test_zoo_mobilenet.py compares the variants with the reference,
    _075 and _025 through slimlang.load, _050 through the emitted module.)"""
    import inspect

    from slimlang.tfcompat import tf

    nets = slimlang.load(EXAMPLES / "nets/mobilenet_v1.slim")
    sig = inspect.signature(nets.mobilenet_v1_075)
    assert sig.parameters["depth_multiplier"].default == 0.75 and sig.parameters["scope"].default == "MobilenetV1"
    assert nets.mobilenet_v1_075.default_image_size == 224
    source = emit_module(nets.program)
    assert "def mobilenet_v1_075(" in source and "depth_multiplier=0.75" in source
    assert "return mobilenet_v1(" in source
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 64, 64, 3])
        logits, _ = nets.mobilenet_v1_075(x, num_classes=10)
        weights = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
    assert logits.shape.as_list() == [1, 10]
    assert weights["MobilenetV1/Conv2d_0/weights"] == [3, 3, 3, 24]  # 32 * 0.75
    assert weights["MobilenetV1/Conv2d_13_pointwise/weights"] == [1, 1, 768, 768]


@pytest.mark.slow
def test_the_training_example_imports_lenet_and_trains(tmp_path):
    """examples/lenet_digits.slim trains the imported LeNet (60 steps), and its checkpoint has the
    reference's LeNet variable names (the wrapper is an inline model)."""
    from slimlang.cli import main
    from slimlang.tfcompat import tf

    logdir = tmp_path / "run"
    assert main(["train", str(EXAMPLES / "lenet_digits.slim"), "--steps", "60", "--logdir", str(logdir)]) == 0
    names = {name for name, _ in tf.train.list_variables(str(logdir))}
    assert {"LeNet/conv1/weights", "LeNet/conv2/weights", "LeNet/fc3/weights", "LeNet/fc4/weights"} <= names
    assert not any(n.startswith("lenet_digits/") for n in names)


@pytest.mark.parametrize("path", ["a\\0b.slim", "~/nets.slim", ".slim", "x" * 300 + ".slim"])
def test_odd_import_paths_are_located_errors(tmp_path, path):
    (tmp_path / "t.slim").write_text(f'import "{path}"\n')
    d = _error(tmp_path / "t.slim").first
    assert d.code in ("E123", "E900") and (d.span.line, d.span.col) == (1, 8)
