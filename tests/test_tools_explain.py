"""`slimlang explain`: where each resolved argument came from."""

from __future__ import annotations

import subprocess
import sys

from slimlang.checker import check_text
from slimlang.tools.analysis import analyze
from slimlang.tools.explain import explain_row, find_row

NESTED = """defaults outer(wd = 0.001) {
  conv, fc: activation=relu6, weights_regularizer=l2(wd)
  conv: padding=VALID
}

block unit(depth) {
  conv depth 3x3 as conv
}

model net(inputs: [32, 32, 3]) uses outer {
  scope s1 defaults conv: stride=2 {
    defaults conv: padding=SAME {
      conv 16 3x3 activation=tanh as c1
      unit 8 as u
    }
  }
}
"""


def explain(scope):
    program = check_text(NESTED, "nested.slim")
    a = analyze(program, "net", (1, 32, 32, 3))
    return explain_row(a, find_row(a, scope))


def by_name(ex):
    return {a.name: a for a in ex.args}


def test_nested_defaults_origins():
    ex = explain("net/s1/c1")
    args = by_name(ex)
    assert args["num_outputs"].origin == "layer" and args["num_outputs"].value == "16"
    assert args["activation"].origin == "layer" and args["activation"].value == "tanh"  # the layer wins
    assert args["stride"].origin == "defaults" and args["stride"].value == "2"
    assert "scope s1" in args["stride"].where and "nested.slim:11:" in args["stride"].where
    assert args["padding"].value == "SAME" and "`defaults` statement" in args["padding"].where  # inner wins
    assert "nested.slim:12:" in args["padding"].where
    assert args["weights_regularizer"].origin == "defaults" and "`outer`" in args["weights_regularizer"].where
    assert "nested.slim:2:" in args["weights_regularizer"].where
    assert args["rate"].origin == "table" and "slim.conv2d" in args["rate"].where
    assert ex.output == (1, 16, 16, 16) and ex.inputs == [("inputs", (1, 32, 32, 3))]
    assert ex.params == 3 * 3 * 3 * 16 + 16
    text = ex.render()
    assert "padding" in text and "TF-Slim's default" in text


def test_block_parameter_origin():
    ex = explain("s1/u/conv")  # the model prefix may be left out
    args = by_name(ex)
    assert ex.name == "net/s1/u/conv"
    assert args["num_outputs"].origin == "block" and "`depth` of `unit`" in args["num_outputs"].where
    assert args["activation"].value == "relu6" and args["activation"].origin == "defaults"


def test_cli_and_did_you_mean(tmp_path):
    f = tmp_path / "nested.slim"
    f.write_text(NESTED)
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "explain", str(f), "net/s1/c1"],
                       check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "net/s1/c1: conv (slim.conv2d)" in r.stdout and "output  (1, 16, 16, 16)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "explain", str(f), "net/s1/c2"],
                       check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "did you mean `net/s1/c1`" in r.stderr and "Traceback" not in r.stderr
