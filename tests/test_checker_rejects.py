"""Issue 13 / 18: values the checker rejects before TensorFlow sees them, and `--set` values the
command line rejects (exit 2, a message naming what is wrong).  The located .slim errors are golden
cases in tests/cases/; these cover what a golden `check` run cannot: the command line and the
constraint table itself."""

import contextlib
import io

import pytest

from slimlang.cli import main
from slimlang.commands import parse_sets
from slimlang.diagnostics import UsageError
from slimlang.layers import LAYERS, REQUIRED

BASE = "model m(inputs: [8, 8, 1], num_classes = 10) {\n  conv 4 3x3\n  flatten\n  fc num_classes as logits\n}\n"


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def model(tmp_path):
    p = tmp_path / "m.slim"
    p.write_text(BASE)
    return str(p)


@pytest.mark.parametrize("value, words", [
    ("num_classes=net", "`net` is a tensor of the model"),
    ("num_classes=inputs", "`inputs` is a tensor of the model"),
    ("num_classes=10 conv 4 3x3", "text after the value"),
    ("num_classes=10; let y = 2", "more than one value"),
    ("num_classes=1\nmodel x() {}", "more than one value"),
    ("num_classes=", "no value after ="),
    ("=4", "a parameter name is missing"),
    ("num_clases=3", "has no parameter 'num_clases' (did you mean `num_classes`?)"),
    ("num_classes=foo(3)", "`foo` is not a value"),
])
def test_bad_set_values_are_usage_errors(model, value, words):
    for argv in (["summary", model, "--set", value], ["build", model, "--emit", "summary", "--set", value]):
        code, out, err = run(argv)
        assert code == 2, (argv, code, err)
        assert words in err and "Traceback" not in err, err


def test_good_set_values_still_work(model):
    code, out, err = run(["summary", model, "--set", "num_classes=2+3"])
    assert code == 0 and "Output shape: (1, 5)" in out, err
    assert parse_sets(["k=max(2, 3)", "a=relu", "s=[1, 2]"])["k"] == 3
    with pytest.raises(UsageError):
        parse_sets(["k=net"])


def test_set_none_for_a_size_is_a_located_check_error(model):
    code, out, err = run(["summary", model, "--set", "num_classes=none"])
    assert code == 1 and "error[E233]: `num_outputs` of `fc` must be given" in err and ":4:6:" in err, err


@pytest.mark.parametrize("check, good, bad", [
    ("positive", [1, (3, 3), [1, 2]], [0, -4, (3, 0), [0, 0], None]),
    ("positive_or_none", [None, 4], [0]),
    ("probability", [0.5, 1, 1.0], [0, 1.5, -0.1]),
    ("unit", [0, 0.999, 1], [1.01, -1]),
    ("dims", [[2, 3], 4], [[-1, 0], [2, 0], [1.5], None]),
    ("dims_or_none", [None, [1, 2]], [[0]]),
    ("axes", [None, 1, [1, -2]], [["x"], [True]]),
    ("reshape_dims", [[-1, 64], [7, 7]], [[-1, -1], [0, 4], [-2, 3]]),
    ("paddings", [[[0, 0], [1, 1]]], [[[0, -1]], [[1]]]),
])
def test_constraints(check, good, bad):
    from slimlang.layers import check_value

    for v in good:
        assert check_value(check, v) is None, (check, v)
    for v in bad:
        assert check_value(check, v), (check, v)


def test_table_defaults_meet_their_own_constraints():
    for kind in LAYERS.values():
        for p in kind.params:
            if p.check and p.default is not REQUIRED:
                assert p.problem(p.default) is None, (kind.name, p.name, p.default)


def test_constraints_named_in_the_table_exist():
    from slimlang.layers import CHECKS

    used = {p.check for k in LAYERS.values() for p in k.params if p.check}
    assert used <= set(CHECKS) and {"positive", "probability"} <= used


@pytest.mark.parametrize("body", [
    "pool 2\n  pool 2",  # ops without variables and without `as`: TF uniquifies, slim names MaxPool2D_1
    "conv 8 3x3\n  conv 8 3x3",  # default names: Conv, Conv_1
    "conv 8 3x3 as c\n  scope s { conv 8 3x3 as c }",  # c and s/c
    "conv 8 3x3 x2 as c\n  conv 8 3x3 as c_1",  # c/c_1 and c_1
    "scope s { conv 8 3x3 }\n  scope t { conv 8 3x3 }",  # s/Conv and t/Conv
    # (`scope s { conv 8 3x3 }` twice is E235: TensorFlow makes s/Conv/weights twice, see
    # tests/test_checker_first_hour.py)
])
def test_distinct_scopes_pass(body):
    from slimlang.checker import check_text

    check_text(f"model m(inputs: [8, 8, 1]) {{\n  {body}\n}}\n")


def test_duplicate_scope_reported_at_second_layer_pointing_at_first():
    from slimlang.checker import check_text
    from slimlang.diagnostics import SlimError

    with pytest.raises(SlimError) as e:
        check_text("model m(inputs: [8, 8, 1]) {\n  conv 16 3x3 as stem\n  relu\n  conv 8 3x3 as stem\n}\n", "t.slim")
    d = e.value.first
    assert d.code == "E235" and d.span.line == 4 and "t.slim:2:3" in d.notes[0]


def test_pbtxt_of_undeclared_shape_model_reports_duplicate_scope_before_tensorflow(tmp_path):
    import sys

    p = tmp_path / "m.slim"
    p.write_text("model m(inputs) {\n  conv 16 3x3 as stem\n  conv 8 3x3 as stem\n}\n")
    had_tf = "tensorflow" in sys.modules
    code, out, err = run(["build", str(p), "--emit", "pbtxt", "--input-shape", "1,8,8,1"])
    assert code == 1 and "error[E235]" in err and ":3:3:" in err and "Traceback" not in err, err
    assert had_tf or "tensorflow" not in sys.modules


def test_input_shape_without_batch_says_the_batch_is_included(model):
    code, out, err = run(["summary", model, "--input-shape", "8,8,1"])
    assert code == 2 and "includes the batch dimension" in err and "--input-shape 1,8,8,1" in err, err
    code, out, err = run(["summary", model, "--input-shape", "2,8,8,1"])
    assert code == 0 and "Output shape: (2, 10)" in out, err


def test_rank_error_names_the_batch_dimension(tmp_path):
    p = tmp_path / "u.slim"
    p.write_text("model m(inputs) {\n  conv 4 3x3\n}\n")
    code, out, err = run(["summary", str(p), "--input-shape", "8,8"])
    assert code == 1 and "rank-4 input (batch, height, width, channels)" in err, err


@pytest.mark.parametrize("argv", [["summary"], ["build", "--emit", "summary"], ["build", "--emit", "pbtxt"],
                                  ["explain", "m/Conv"], ["graph", "-o", "net.dot"]])
def test_input_shape_without_batch_for_an_undeclared_model_is_a_usage_error(tmp_path, argv):
    """The model declares no shape, so the usage error above cannot compare with it: the first layer
    that refuses the input, and would take it with a batch in front, says the batch was left out."""
    import sys

    p = tmp_path / "u.slim"
    p.write_text("model m(inputs) {\n  conv 4 3x3\n}\n")
    had_tf = "tensorflow" in sys.modules
    argv = [a if a != "net.dot" else str(tmp_path / a) for a in argv]
    code, out, err = run([argv[0], str(p), *argv[1:], "--input-shape", "8,8,1"])
    assert code == 2 and out == "", (out, err)
    assert not (tmp_path / "net.dot").exists()
    assert err.startswith(f"usage: slimlang {argv[0]}"), err
    assert (f"error: --input-shape includes the batch dimension: model 'm' gives its input to the `conv` at "
            f"{p}:2:3, which needs it with the batch first, as in (1, 8, 8, 1); write --input-shape 1,8,8,1 "
            "for a batch of 1") in err, err
    assert had_tf or "tensorflow" not in sys.modules


@pytest.mark.parametrize("body, shape", [
    ("fc 10", "10"),  # fc takes rank 2 or more: (10,) is one example of 10 features
    ("scope s {\n    pool 2x2\n  }", "8,8,3"),  # the refusing layer need not be the first statement
])
def test_the_batch_hint_names_the_layer_that_refused_the_input(tmp_path, body, shape):
    p = tmp_path / "u.slim"
    p.write_text(f"model m(inputs) {{\n  {body}\n}}\n")
    code, out, err = run(["summary", str(p), "--input-shape", shape])
    assert code == 2 and "includes the batch dimension" in err and f"write --input-shape 1,{shape} " in err, err


@pytest.mark.parametrize("body, shape", [
    ("conv 4 3x3", "1,1,8,8,1"),  # one dimension too many is not a missing batch
    ("conv 4 9x9 padding=VALID", "1,8,8,1"),  # a kernel larger than the input is not a rank problem
    ("conv 4 1x1\n  conv 4 3x3 from inputs\n  add inputs", "1,8,8,1"),
])
def test_other_shape_errors_of_an_input_shape_stay_E301(tmp_path, body, shape):
    p = tmp_path / "u.slim"
    p.write_text(f"model m(inputs) {{\n  {body}\n}}\n")
    code, out, err = run(["summary", str(p), "--input-shape", shape])
    assert code == 1 and "error[E301]" in err and "batch dimension:" not in err, err


def test_error_inside_a_block_names_the_call():
    from slimlang.checker import check_text
    from slimlang.diagnostics import SlimError

    src = "block unit(d = 8) {\n  conv d 3x3 stride=d - 8\n}\n\nmodel m(inputs: [8, 8, 1]) {\n  unit\n}\n"
    with pytest.raises(SlimError) as e:
        check_text(src, "t.slim")
    d = e.value.first
    assert d.code == "E233" and d.span.line == 2 and d.notes[-1] == "note: in block `unit` called at t.slim:6:3"


def test_every_constraint_has_words_for_the_docs():
    from slimlang.layers import CHECK_WORDS, CHECKS

    assert set(CHECKS) == set(CHECK_WORDS)
