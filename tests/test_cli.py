"""The command line: exit codes, output, and that the fast paths never import TensorFlow."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "examples" / "nets" / "vgg.slim")

# Runs the CLI with `import tensorflow` made impossible: any attempt fails loudly.
BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == 'tensorflow' or name.startswith('tensorflow.') or name == 'tf_slim' or name.startswith('tf_slim.'):
            raise ImportError('blocked import of ' + name)
sys.meta_path.insert(0, Block())
from slimlang.cli import main
code = main(sys.argv[1:])
assert not any(m == 'tensorflow' or m.startswith('tensorflow.') for m in sys.modules), 'tensorflow was imported'
sys.exit(code)
"""


def run(*args, blocked=False):
    cmd = [sys.executable, "-c", BLOCKER, *args] if blocked else [sys.executable, "-m", "slimlang.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_check_is_silent_on_success_and_imports_no_tensorflow():
    r = run("check", VGG, blocked=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""


def test_summary_vgg_16_matches_tf_slim_parameter_count_without_tensorflow():
    r = run("summary", VGG, "--model", "vgg_16", blocked=True)
    assert r.returncode == 0, r.stderr
    assert "Total params: 138,357,544" in r.stdout
    assert "Trainable params: 138,357,544" in r.stdout
    assert "Non-trainable params: 0" in r.stdout
    assert "vgg_16/conv3/conv3_2" in r.stdout


def test_summary_with_input_shape_and_parameter():
    r = run("summary", VGG, "--model", "vgg_16", "--input-shape", "2,256,256,3", "--set", "num_classes=10",
            "--set", "spatial_squeeze=false", blocked=True)
    assert r.returncode == 0, r.stderr
    assert "(2, 2, 2, 10)" in r.stdout


def test_every_example_checks_clean_without_tensorflow():
    files = sorted(str(p) for p in (ROOT / "examples").rglob("*.slim"))
    r = run("check", *files, blocked=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["summary", "--help"], ["build", "--help"]])
def test_help(args):
    r = run(*args)
    assert r.returncode == 0 and "usage" in r.stdout.lower()


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["summary"], ["summary", VGG, "--model", "vgg_17"],
                                  ["summary", VGG, "--model", "vgg_16", "--input-shape", "1,x,3"]])
def test_bad_command_lines_exit_2_without_traceback(args):
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("command", ["check", "summary", "build", "fmt", "train", "graph"])
def test_an_empty_file_name_is_bad_command_line_use(command, capsys):
    from slimlang.cli import main

    extra = ["-o", "x.dot"] if command == "graph" else []
    assert main([command, "", *extra]) == 2
    err = capsys.readouterr().err
    assert "FILE is an empty name" in err and "is a directory" not in err


LONG = "a" * 300


@pytest.mark.parametrize("argv", [["check", LONG + ".slim"], ["fmt", LONG + ".slim"],
                                  ["build", VGG, "-o", LONG + ".py"], ["graph", VGG, "-o", LONG + ".dot"],
                                  ["train", VGG, "--logdir", LONG], ["eval", VGG, "--checkpoint", LONG],
                                  ["export", VGG, "--out", "/".join(["b" * 200] * 21)]])
def test_a_path_too_long_for_any_file_system_is_bad_command_line_use(argv, capsys):
    from slimlang.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "longer than file systems allow" in err and "Traceback" not in err, err


def test_a_file_system_error_no_command_expected_is_still_an_error_not_a_traceback(monkeypatch, capsys, tmp_path):
    import errno

    from slimlang import commands
    from slimlang.cli import main

    def boom(*a, **kw):
        raise OSError(errno.ELOOP, "Too many levels of symbolic links", str(tmp_path / "loop"))

    monkeypatch.setattr(commands, "check_file", boom)
    assert main(["check", str(tmp_path / "x.slim")]) == 1
    err = capsys.readouterr().err
    assert "error[E350]" in err and "Too many levels of symbolic links" in err and "loop" in err, err


def test_missing_file_is_a_clean_user_error(tmp_path):
    r = run("check", str(tmp_path / "nope.slim"))
    assert r.returncode == 1
    assert "no such file" in r.stderr and "Traceback" not in r.stderr


def test_several_errors_are_reported_together(tmp_path):
    bad = tmp_path / "bad.slim"
    bad.write_text("model m(inputs: [8, 8, 1]) {\n  convv 8 3x3\n  conv 8 3x3 paddng=SAME\n  fc num_clases\n}\n")
    r = run("check", str(bad))
    assert r.returncode == 1
    assert r.stderr.count("error[E") == 3
    assert f"{bad}:2:3: error[E103]" in r.stderr
    assert "did you mean `conv`" in r.stderr and "did you mean `padding`" in r.stderr


def test_build_emit_pbtxt_writes_the_graph_def_atomically(tmp_path):
    out = tmp_path / "vgg_a.pbtxt"
    r = run("build", VGG, "--emit", "pbtxt", "--model", "vgg_a", "--set", "num_classes=10", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert 'name: "vgg_a/conv1/conv1_1/weights"' in text and 'name: "inputs"' in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_the_command_table_names_the_module_that_registers_each_command():
    """cli.COMMANDS lets one command build only its own stage's parsers; it must stay complete."""
    import argparse
    import importlib

    from slimlang import cli

    registered = {}
    for name in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).add_arguments(sub)
        registered.update({command: name for command in sub.choices})
    assert cli.COMMANDS == registered
    assert set(cli.build_parser("build").commands) == {c for c, m in registered.items() if m == "slimlang.commands"}
    assert set(cli.build_parser().commands) == set(registered)


def _usage_error(argv, capsys):
    from slimlang.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "summary", "build", "train", "eval", "export", "predict", "graph",
                                     "fmt", "explain", "lsp"])
def test_an_unknown_option_after_a_command_shows_that_commands_usage(command, capsys):
    """argparse reports arguments no parser took with the top-level usage; after the command they
    are that command's mistake."""
    rest = {"lsp": [], "export": [VGG, "--out", "o"], "predict": [VGG, "x.npz"], "graph": [VGG, "-o", "g.dot"],
            "explain": [VGG, "vgg_16/fc8"]}.get(command, [VGG])
    err = _usage_error([command, "--bogus", *rest], capsys)
    assert err.startswith(f"usage: slimlang {command} "), err
    assert err.rstrip().endswith(f"slimlang {command}: error: unrecognized arguments: --bogus"), err


@pytest.mark.parametrize("argv, message", [
    (["train", VGG, "--stepz", "5"], "slimlang train: error: unrecognized arguments: --stepz 5 (did you mean `--steps`?)"),
    (["train", VGG, "--batchsize=8"], "unrecognized arguments: --batchsize=8 (did you mean `--batch-size`?)"),
    (["fmt", "--chek", VGG], "slimlang fmt: error: unrecognized arguments: --chek (did you mean `--check`?)"),
    (["summary", VGG, "other.slim"], "slimlang summary: error: unrecognized arguments: other.slim"),
])
def test_a_misspelt_option_gets_a_did_you_mean(argv, message, capsys):
    err = _usage_error(argv, capsys)
    assert err.startswith(f"usage: slimlang {argv[0]} ") and err.rstrip().endswith(message), err


def test_an_unknown_option_before_the_command_is_the_top_level_parsers(capsys):
    err = _usage_error(["--bogus", "check", VGG], capsys)
    assert err.startswith("usage: slimlang [") and err.rstrip().endswith("slimlang: error: unrecognized arguments: --bogus")


@pytest.mark.parametrize("argv", [
    ["train", VGG, "--steps", "-5"], ["train", VGG, "--epochs", "0"], ["train", VGG, "--batch-size", "x"],
    ["train", VGG, "--clones", "0"], ["train", VGG, "--replicas-to-aggregate", "-1"],
    ["train", VGG, "--peer-timeout", "nan"], ["train", VGG, "--local-cluster", "workers=0,ps=1"],
    ["eval", VGG, "--batch-size", "0"], ["eval", VGG, "--timeout", "-1"], ["predict", VGG, "x.npz", "--top", "0"],
    ["export", VGG, "--out", "o", "--format", "onnx"], ["build", VGG, "--emit", "pdf"],
    ["graph", VGG, "-o", "g.dot", "--depth", "-1"],
])
def test_every_bad_flag_value_is_exit_2_with_the_commands_usage(argv, capsys):
    """Every option with a checked value (--steps -5 once exited 1), before any file is read."""
    err = _usage_error(argv, capsys)
    assert err.startswith(f"usage: slimlang {argv[0]} "), err
    assert f"slimlang {argv[0]}: error: argument " in err


DIGITS = str(ROOT / "examples" / "digits.slim")


@pytest.mark.parametrize("argv, message", [
    (["build", VGG, "--emit", "summary", "--train"], "--train goes with --emit py"),
    (["build", VGG, "--emit", "pbtxt", "--model", "vgg_16", "--train"], "--train goes with --emit py"),
    (["build", VGG, "--model", "vgg_16"], "--model: --emit py compiles every model of the file"),
    (["build", VGG, "--emit", "py", "--set", "num_classes=3", "--input-shape", "1,8,8,3"],
     "--input-shape, --set: --emit py compiles every model of the file"),
    (["eval", DIGITS, "--timeout", "5"], "--timeout goes with --watch"),
    (["eval", DIGITS, "--watch", "--best"], "--watch evaluates the logdir's checkpoints as they appear; give --watch "
                                            "or --best, not both"),
    (["eval", DIGITS, "--watch", "--raw-weights"], "--raw-weights is not available with --watch"),
    (["eval", DIGITS, "--best", "--checkpoint", "x"], "give --best or --checkpoint, not both"),
    (["export", DIGITS, "--best", "--checkpoint", "x", "--out", "o"], "give --best or --checkpoint, not both"),
])
def test_options_that_mean_nothing_together_are_refused_not_ignored(argv, message, capsys):
    """They were ignored (or `--best --checkpoint x` reported the missing checkpoint first): exit 2."""
    from slimlang.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: slimlang {argv[0]} ") and f"slimlang {argv[0]}: error: {message}" in err, err
