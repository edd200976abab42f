"""Issue 18, a new user's first hour: quiet start-up, the exit status and usage
of command-line mistakes, and a reproducible digits example.

The subprocess tests run with the environment of this process (PYTHONPATH
included), minus the switches under test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slimlang.cli import main

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "digits.slim"

# What TensorFlow prints on its own while it loads or builds TF1 graphs.
NOISE = (
    "All log messages before absl::InitializeLog()",
    "Could not find cuda drivers",
    "oneDNN custom operations are on",
    "is deprecated",
)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "SLIMLANG_VERBOSE")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _slimlang(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "slimlang.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env or _env(), timeout=600, check=False)


def _noise(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(n in line for n in NOISE)]


# ------------------------------------------------------------------ noise ---

API_BUILD = """
import slimlang
from slimlang.tfcompat import graph_mode, tf
module = slimlang.load({path!r})
with graph_mode():
    net, end_points = module.digits_net(tf.compat.v1.placeholder(tf.float32, [2, 8, 8, 1]))
print(net.shape)
import warnings
import slimlang.training._tf  # noqa: F401  (the train stage's own import)
blanket = [f for f in warnings.filters if f[0] == "ignore" and f[1] is None and issubclass(UserWarning, f[2])]
print("blanket", len(blanket))
"""


def _api_build(**env):
    return subprocess.run([sys.executable, "-c", API_BUILD.format(path=str(DIGITS))], capture_output=True, text=True,
                          cwd=ROOT, env=_env(**env), timeout=600, check=False)


@pytest.fixture(scope="module")
def quiet_api_build():
    return _api_build()


def test_python_api_build_prints_nothing_but_its_result(quiet_api_build):
    r = quiet_api_build
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "(2, 10)"
    assert r.stderr == "", r.stderr


def test_no_blanket_warnings_filter_is_installed(quiet_api_build):
    assert quiet_api_build.stdout.splitlines()[1] == "blanket 0"


@pytest.mark.slow
def test_python_api_with_slimlang_verbose_shows_what_tensorflow_prints():
    r = _api_build(SLIMLANG_VERBOSE="1")
    assert r.returncode == 0, r.stderr
    assert "Could not find cuda drivers" in r.stderr or "oneDNN" in r.stderr, r.stderr
    assert "`layer.apply` is deprecated" in r.stderr
    assert "`tf.layers.flatten` is deprecated" in r.stderr


def test_a_set_log_level_is_honoured_for_the_startup_lines(capfd):
    from slimlang import tfcompat

    lines = (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
             b"I0000 00:00:1796479526.803339   12232 cudart_stub.cc:31] Could not find cuda drivers\n"
             b"W0000 00:00:1796479526.803339   12232 x.cc:1] a warning\n"
             b"E0000 00:00:1796479526.803339   12232 x.cc:2] a real error\n"
             b"Traceback (most recent call last): something else\n")
    assert tfcompat._startup_lines_kept(lines, 0) == lines
    assert tfcompat._startup_lines_kept(lines, 2) == (b"E0000 00:00:1796479526.803339   12232 x.cc:2] a real error\n"
                                                     b"Traceback (most recent call last): something else\n")
    assert tfcompat._startup_lines_kept(lines, 1).count(b"\n") == 3


def test_output_while_tensorflow_loads_is_passed_on_except_the_notices(capfd, monkeypatch):
    from slimlang import tfcompat

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with pytest.raises(RuntimeError), tfcompat._startup_notices_held(True):
        os.write(2, b"I0000 00:00:17.5   1 cudart_stub.cc:31] Could not find cuda drivers\n")
        print("a real problem", file=sys.stderr)
        raise RuntimeError("the import failed")
    err = capfd.readouterr().err
    assert err == "a real problem\n"


def test_warnings_filters_are_scoped_to_the_known_deprecations():
    import warnings

    from slimlang import tfcompat

    assert not tfcompat.VERBOSE
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        tfcompat._quiet_python_notices()
        warnings.warn("`layer.apply` is deprecated and will be removed in a future version.", UserWarning)
        warnings.warn("`tf.layers.flatten` is deprecated and will be removed in a future version.", UserWarning)
        warnings.warn("your own warning", UserWarning)
    assert [str(w.message) for w in seen] == ["your own warning"]


def test_tensorflow_deprecation_log_records_are_dropped_and_others_kept():
    import logging

    from slimlang import tfcompat

    logger = tfcompat.tf.get_logger()
    assert tfcompat._DEPRECATION_RECORDS in logger.filters

    def record(msg, *args):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, msg, args, None)

    assert not logger.filter(record("From %s: calling %s is deprecated and will be removed in a future version.",
                                    "x.py:3", "f"))
    assert logger.filter(record("Attempting to restore %s", "x"))


@pytest.fixture(scope="module")
def two_digits_runs(tmp_path_factory):
    """examples/digits.slim trained twice for 30 steps and evaluated: [(train, eval), (train, eval)]."""
    runs = []
    for i in range(2):
        logdir = tmp_path_factory.mktemp(f"digits{i}") / "run"
        train = _slimlang("train", DIGITS, "--steps", 30, "--logdir", logdir, "--no-progress")
        assert train.returncode == 0, train.stderr
        ev = _slimlang("eval", DIGITS, "--logdir", logdir)
        assert ev.returncode == 0, ev.stderr
        runs.append((train, ev))
    return runs


@pytest.mark.slow
def test_train_and_eval_print_no_tensorflow_noise(two_digits_runs):
    for train, ev in two_digits_runs:
        assert _noise(train.stderr) == [], train.stderr
        assert _noise(ev.stderr) == [], ev.stderr
        assert "trained steps 0..30" in train.stderr


@pytest.mark.slow
def test_digits_example_is_reproducible(two_digits_runs):
    """Its train section sets `seed`: the same weights, dropout masks and order each run."""
    (_, ev1), (_, ev2) = two_digits_runs
    accuracy = [re.search(r"^accuracy: (\S+)$", ev.stdout, re.MULTILINE) for ev in (ev1, ev2)]
    assert all(accuracy), ev1.stdout
    assert accuracy[0].group(1) == accuracy[1].group(1)
    assert ev1.stdout == ev2.stdout


@pytest.mark.slow
def test_train_verbose_shows_tensorflow_output(tmp_path):
    r = _slimlang("train", DIGITS, "--steps", 2, "--logdir", tmp_path / "run", "--no-progress", "--verbose")
    assert r.returncode == 0, r.stderr
    assert "Could not find cuda drivers" in r.stderr or "oneDNN" in r.stderr, r.stderr


# ------------------------------------------------------ exit status 2 ---


@pytest.mark.parametrize("argv, usage, message", [
    (["train", "x.slim", "--steps", "-5"], "usage: slimlang train", "argument --steps: takes a whole number >= 1, got -5"),
    (["train", "x.slim", "--steps", "0"], "usage: slimlang train", "argument --steps: takes a whole number >= 1, got 0"),
    (["train", "x.slim", "--epochs", "many"], "usage: slimlang train", "argument --epochs: takes a whole number >= 1"),
    (["train", "x.slim", "--batch-size", "0"], "usage: slimlang train", "argument --batch-size"),
    (["eval", "x.slim", "--batch-size", "-1"], "usage: slimlang eval", "argument --batch-size"),
    (["graph", "x.slim", "-o", "x.dot", "--depth", "-1"], "usage: slimlang graph",
     "argument --depth: takes a whole number >= 0, got -1"),
    (["chek", "x.slim"], "usage: slimlang [", "unknown command 'chek' (did you mean `check`?)"),
])
def test_command_line_misuse_exits_2_with_that_commands_usage(capsys, argv, usage, message):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert message in err


def test_usage_errors_found_after_parsing_show_the_subcommands_usage(capsys):
    assert main(["summary", str(DIGITS), "--input-shape", "1,a"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: slimlang summary"), err
    assert "slimlang summary: error: --input-shape takes integers" in err


def test_verbose_is_accepted_before_and_after_the_command(capsys, monkeypatch):
    monkeypatch.delenv("SLIMLANG_VERBOSE", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert main(["check", str(DIGITS), "--verbose"]) == 0
    assert os.environ.pop("SLIMLANG_VERBOSE") == "1"
    assert main(["--verbose", "check", str(DIGITS)]) == 0
    assert os.environ.pop("SLIMLANG_VERBOSE") == "1"
    assert main(["check", str(DIGITS)]) == 0
    assert "SLIMLANG_VERBOSE" not in os.environ


# --------------------------------------------------------------- messages ---
# (the messages themselves are golden cases: tests/cases/error_size_*, error_repeat_with_space,
# error_syntax_unclosed_*, error_syntax_model_inside_open_model)


def _check_error(text):
    from slimlang.checker import check_text
    from slimlang.diagnostics import SlimError

    with pytest.raises(SlimError) as e:
        check_text(text, "t.slim")
    return e.value.first


def test_a_name_x_that_is_not_a_size_gets_the_ordinary_did_you_mean():
    d = _check_error("model m(inputs: [8, 8, 1]) {\n  conv 8 3x3 stride=x\n}\n")
    assert d.code == "E201" and d.notes == ()
    d = _check_error("model m(inputs: [8, 8, 1], xs = 2) {\n  conv 8 3x3 stride=x\n}\n")
    assert d.notes == ("help: did you mean `xs`?",)


def test_a_defined_x_is_still_a_name():
    from slimlang.checker import check_text

    check_text("model m(inputs: [8, 8, 1]) {\n  x = conv 8 3x3\n  conv 8 3x3\n  add x\n}\n", "t.slim")


def test_closed_blocks_with_odd_indentation_are_not_blamed():
    d = _check_error("model m(inputs: [8, 8, 1]) {\n    scope a {\n  conv 8 3x3\n      }\n  fc 10\n")
    assert d.code == "E004" and d.message == "model `m` is never closed"
    assert (d.span.line, d.span.col) == (1, 28)


# -------------------------------------------------------------------- fmt ---


def _slim_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of a markdown text that are .slim source, with
    `...` elision lines dropped."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    starts = ("defaults ", "model ", "block ", "inline block ", "train ", "train{", "let ", "# ")
    return ["".join(line for line in body.splitlines(True) if line.strip() != "...")
            for lang, body in blocks if lang in ("", "slim") and body.lstrip().startswith(starts)]


def test_shipped_examples_are_in_the_canonical_form(capsys):
    files = sorted(str(p) for p in (ROOT / "examples").rglob("*.slim"))
    assert len(files) >= 13
    assert main(["fmt", "--check", *files]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out == ""


def test_readme_code_is_in_the_canonical_form():
    from slimlang.tools.fmt import format_text

    blocks = _slim_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks, "README.md shows no .slim code"
    for block in blocks:
        assert format_text(block) == block


FMT_CASES = {
    # statements written on one line stay there, spacing normalised
    "model m(inputs) {\n  conv 64 3x3 x2  as conv1;  pool 2x2 as pool1\n}\n":
        "model m(inputs) {\n  conv 64 3x3 x2 as conv1; pool 2x2 as pool1\n}\n",
    # ... but not on the line that opens the block
    "model m(inputs) { fc 10 ; fc 3 }\n": "model m(inputs) {\n  fc 10\n  fc 3\n}\n",
    # one-line bodies of statements stay one line
    "model m(inputs) {\n  b1 = scope Branch_1 {conv 8 1x1 ;conv 8 3x3}\n  if true { fc 3 } else { fc 4 }\n}\n":
        "model m(inputs) {\n  b1 = scope Branch_1 { conv 8 1x1; conv 8 3x3 }\n  if true { fc 3 } else { fc 4 }\n}\n",
    # numbers as written, not as Python's repr spells them
    "let a = 0.00004\nlet b = 1e-5\n": "let a = 0.00004\nlet b = 1e-5\n",
    # trailing comments of consecutive lines in one column
    "model m(inputs) {\n  conv 32 5x5 as conv1 # a\n  pool 2x2 as p    # b\n}\n":
        "model m(inputs) {\n  conv 32 5x5 as conv1  # a\n  pool 2x2 as p         # b\n}\n",
}


@pytest.mark.parametrize("text", list(FMT_CASES), ids=range(len(FMT_CASES)))
def test_fmt_keeps_a_users_one_line_layout(text):
    from slimlang.tools.fmt import format_text

    out = format_text(text)
    assert out == FMT_CASES[text]
    assert format_text(out) == out


def test_fmt_breaks_long_lines_where_they_can_continue():
    from slimlang.parser import parse
    from slimlang.tools.fmt import format_text, normalize

    src = ("defaults d(c = \"moving_vars\") {\n  conv: normalizer_params=dict(decay=0.9997, epsilon=0.001, "
           "updates_collections=UPDATE_OPS, variables_collections=dict(beta=none, gamma=none, moving_mean=[c], "
           "moving_variance=[c])) if true else dict()\n}\n\n"
           "model m(inputs) {\n  sep_conv 64 7x7 depth_multiplier=8 stride=2 weights_initializer=truncated_normal(stddev=1.0) "
           "as Conv2d_1a_7x7 endpoint\n}\n")
    out = format_text(src)
    assert max(len(line) for line in out.splitlines()) <= 100, out
    assert out == (
        "defaults d(c = \"moving_vars\") {\n"
        "  conv: normalizer_params=(dict(decay=0.9997, epsilon=0.001, updates_collections=UPDATE_OPS,\n"
        "                                variables_collections=dict(beta=none, gamma=none, moving_mean=[c],\n"
        "                                                           moving_variance=[c]))\n"
        "                           if true else dict())\n"
        "}\n\n"
        "model m(inputs) {\n"
        "  sep_conv 64 7x7 depth_multiplier=8 stride=2 weights_initializer=truncated_normal(stddev=1.0) \\\n"
        "           as Conv2d_1a_7x7 endpoint\n"
        "}\n")
    assert normalize(parse(out)) == normalize(parse(src))
    assert format_text(out) == out
