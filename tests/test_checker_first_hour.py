"""Issue 18 (part A): what `check` catches that it once let through, and where its messages point.
The messages themselves are golden cases (tests/cases/error_duplicate_scope*, error_defaults_value_*,
error_resize_method_case, error_pad_mode_misspelled, error_layer_norm_axis, error_bool_misspelled,
error_regularizer_unknown, error_number_suggests_no_tensor); these tests hold what is legal and the
rules behind the messages.  None imports TensorFlow."""

from __future__ import annotations

import pytest

from slimlang.checker import check_text
from slimlang.diagnostics import SlimError


def _errors(text: str) -> list:
    with pytest.raises(SlimError) as e:
        check_text(text, "t.slim")
    return e.value.diagnostics


# Scope names TensorFlow accepts twice: a variable scope reopened by `scope`, `reuse=true`, a block
# under two names, slim.repeat / slim.stack's own names, a name in either branch of an `if`.
LEGAL_SCOPES = """\
block unit(d = 8) {{
  conv d 3x3 as c
}}

model m(inputs{shape}) {{
  conv 8 3x3 as stem
  scope stem {{ conv 8 3x3 as inner }}
  conv 8 3x3 reuse=true as stem
  scope a {{ conv 8 3x3 as c }}
  scope a {{ conv 8 3x3 as d }}
  unit as u1
  unit as u2
  unit
  unit
  conv 8 3x3 x2 as r
  conv 8 3x3 as r
  fc [8, 8] as s
  if true {{ conv 8 3x3 as t }} else {{ conv 8 3x3 as t }}
  conv 8 3x3
  conv 8 3x3
  scope b {{ conv 8 3x3; conv 8 3x3 }}
  scope c {{ conv 8 3x3 }}
  scope b {{ pool 3 stride=1 padding=SAME; conv 8 3x3 as x }}
  scope b {{ pool 3 stride=1 padding=SAME }}
  conv 8 3x3 normalizer=batch_norm as n
  scope n {{ conv 8 3x3 }}
  conv 8 3x3 as Conv_3
  conv 8 3x3
  conv 8 3x3 x2
  conv 8 3x3 x2
  fc [8, 8]
  fc [8, 8]
  if true {{ conv 8 3x3 }} else {{ conv 8 3x3 }}
  for i in range(3) {{ conv 8 3x3 }}
  conv 8 3x3 as Conv_9
}}
"""


@pytest.mark.parametrize("shape", ["", ": [8, 8, 1]"], ids=["undeclared", "declared"])
def test_scope_names_tensorflow_accepts_twice_pass(shape):
    check_text(LEGAL_SCOPES.format(shape=shape), "t.slim")


@pytest.mark.parametrize("body, line", [
    ("conv 8 3x3 as a\n  conv 8 3x3 as a", 3),
    ("scope s { conv 8 3x3 as a }\n  scope s { conv 8 3x3 as a }", 3),
    ("conv 8 3x3 x2 as r\n  fc [8, 8] as r", 3),
    ("conv 8 3x3 x2 as r\n  conv 8 3x3 as r/r_2\n  conv 8 3x3 as r/r_1", 4),
    ("relu as a\n  relu as a", 3),
    ("if true { conv 8 3x3 as a; conv 8 3x3 as a }", 2),
])
def test_a_model_without_a_declared_shape_is_checked_for_duplicate_scopes(body, line):
    """check elaborates only models with a declared input shape; the others are compared as written."""
    (d,) = _errors(f"model m(inputs) {{\n  {body}\n}}\n")
    assert d.code == "E235" and d.span.line == line, d.render()


def test_the_static_scope_names_start_with_the_models_scope():
    (d,) = _errors('model m(inputs, scope = "Net") {\n  conv 8 3x3 as a\n  conv 8 3x3 as a\n}\n')
    assert d.message.startswith("scope `Net/a` is used by two layers")
    (d,) = _errors('inline model m(inputs) {\n  conv 8 3x3 as a\n  conv 8 3x3 as a\n}\n')
    assert d.message.startswith("scope `a` is used by two layers")


def test_a_block_called_twice_under_one_name_points_at_both_calls():
    (d,) = _errors("block unit() {\n  conv 8 3x3 as c\n}\n\nmodel m(inputs: [8, 8, 1]) {\n"
                   "  unit as u\n  unit as u\n}\n")
    assert d.span.line == 2
    assert d.notes[0] == "note: first used by this same statement, in the call of its block at t.slim:6:3"
    assert d.notes[-1] == "note: in block `unit` called at t.slim:7:3"


@pytest.mark.parametrize("shape", ["", ": [8, 8, 1]"], ids=["undeclared", "declared"])
def test_a_scope_entered_again_starts_its_default_names_again(shape):
    """TensorFlow's variable scopes forget the default names used inside them when left: `scope a
    { conv }` twice makes a/Conv/weights twice ("already exists"), though name scopes say a_1."""
    (d,) = _errors(f"model m(inputs{shape}) {{\n  scope a {{ conv 8 3x3 }}\n  scope a {{ conv 8 3x3 }}\n}}\n")
    assert d.message.startswith("scope `m/a/Conv` is used by two layers") and d.span.line == 3
    assert d.notes[1].startswith("help: a scope entered again starts its default names again")
    if shape:  # (inside a block: elaboration only)
        (d,) = _errors("block unit() {\n  conv 8 3x3\n}\n\nmodel m(inputs: [8, 8, 1]) {\n  scope a { unit }\n"
                       "  scope a { unit }\n}\n")
        assert d.message.startswith("scope `m/a/unit/Conv` is used by two layers")


@pytest.mark.parametrize("shape", ["", ": [8, 8, 1]"], ids=["undeclared", "declared"])
def test_an_as_name_that_a_default_name_took_first_is_a_duplicate(shape):
    (d,) = _errors(f"model m(inputs{shape}) {{\n  conv 8 3x3\n  conv 8 3x3 as Conv\n}}\n")
    assert d.message.startswith("scope `m/Conv` is used by two layers") and d.span.line == 3


@pytest.mark.parametrize("body", ["conv 8 3x3 normalizer=batch_norm as a\n  scope a { batch_norm }",
                                  "scope a { batch_norm as BatchNorm }\n  conv 8 3x3 normalizer=batch_norm as a"])
def test_a_normalizers_scope_is_taken_like_a_layers(body):
    (d,) = _errors(f"model m(inputs: [8, 8, 1]) {{\n  {body}\n}}\n")
    assert d.message.startswith("scope `m/a/BatchNorm` is used by two layers") and d.span.line == 3


def test_a_loop_reusing_a_name_says_so():
    (d,) = _errors('model m(inputs: [8, 8, 1]) {\n  for i in range(2) { conv 8 3x3 as "c" }\n}\n')
    assert d.notes[0] == "note: first used by this same statement, in an earlier pass of its loop"


# ------------------------------------------------------------ defaults ---


@pytest.mark.parametrize("rule, code", [("conv: padding=3", "E210"), ("dropout: keep_prob=1.5", "E233"),
                                        ("batch_norm: decay=2", "E233"), ("conv: stride=[1, 0]", "E233"),
                                        ("pool: kernel_size=0", "E233"), ("conv, fc: activation=0", "E210")])
def test_a_bad_value_in_a_defaults_rule_is_an_error_at_the_rule_when_nothing_uses_it(rule, code):
    (d,) = _errors(f"defaults d {{\n  {rule}\n}}\n")
    assert d.code == code and d.span.line == 2 and d.notes == (), d.render()


def test_the_defaults_error_names_the_first_layer_through_use_chains_and_scopes():
    (d,) = _errors("defaults base {\n  conv: stride=0\n}\n\ndefaults net {\n  use base\n}\n\n"
                   "model m(inputs) {\n  fc 3\n  scope head defaults net {\n    pool 2\n    conv 8 3x3\n  }\n}\n")
    assert d.span.line == 2
    assert d.notes == ("note: set by `defaults` for `conv`, used by the layer at t.slim:13:5",)


def test_a_defaults_rule_value_computed_from_a_parameter_is_checked_where_it_is_used():
    (d,) = _errors("defaults d(s = 0) {\n  conv: stride=s\n}\n\nmodel m(inputs: [8, 8, 1]) uses d {\n"
                   "  conv 8 3x3\n}\n")
    assert d.code == "E233" and d.span.line == 2 and "t.slim:6:3" in d.notes[0]


def test_a_misspelt_word_in_a_defaults_rule_gets_the_words_of_its_argument():
    (d,) = _errors("defaults d {\n  conv: padding=valud\n}\n")
    assert d.notes == ("help: `padding` is one of `SAME`, `VALID`",)


# --------------------------------------------------------- table ranges ---


def test_pad_mode_is_any_case_as_tf_pad_reads_it():
    check_text('model m(inputs: [8, 8, 1]) {\n  pad [[0, 0], [1, 1], [1, 1], [0, 0]] mode="reflect"\n}\n', "t.slim")


def test_a_resize_method_from_a_parameter_is_checked():
    (d,) = _errors('model m(inputs: [8, 8, 1], how = "cubic") {\n  resize [4, 4] method=how\n}\n')
    assert d.code == "E233" and d.notes == ("note: `how` is 'cubic' by default, declared at t.slim:1:28",
                                            "help: did you mean 'bicubic'?")
    # (a value computed from it is checked where the model is elaborated)
    (d,) = _errors('model m(inputs: [8, 8, 1], how = "cubic") {\n  resize [4, 4] method=how + "x"\n}\n')
    assert d.code == "E233" and d.notes == ("help: did you mean 'bicubic'?",)


def test_layer_norm_parameters_have_the_shape_of_the_axes_from_begin_params_axis():
    """tf_slim.layer_norm's beta and gamma are inputs.shape[begin_params_axis:] (checked against a
    built graph when this was written: [8, 8, 2] and [2])."""
    from slimlang.shapes import summarize_model

    prog = check_text("model m(inputs: [8, 8, 2]) {\n  layer_norm begin_params_axis=1\n"
                      "  layer_norm begin_norm_axis=-1\n}\n", "t.slim")
    rows = summarize_model(prog, "m", (1, 8, 8, 2)).rows
    assert [r.params for r in rows] == [2 * 8 * 8 * 2, 2 * 2]


@pytest.mark.parametrize("shape", ["", ": [8, 8, 1]"], ids=["undeclared", "declared"])
def test_a_model_parameters_default_that_no_layer_takes_is_named_as_the_cause(shape):
    (d,) = _errors(f"model m(inputs{shape}, num_classes = 0) {{\n  flatten\n  fc num_classes\n}}\n")
    assert d.code == "E233" and d.span.line == 3
    assert d.notes == ("note: `num_classes` is 0 by default, declared at t.slim:1:" + str(17 + len(shape)),)


@pytest.mark.parametrize("body", [
    "if num_classes > 0 { fc num_classes }",  # a guard: at its default the layer is left out
    "let num_classes = 3\n  fc num_classes",  # bound again
    "for num_classes in [2, 3] { fc num_classes }",
])
def test_a_parameters_default_is_not_judged_where_the_layer_may_not_take_it(body):
    check_text(f"model m(inputs: [8, 8, 1], num_classes = 0) {{\n  flatten\n  {body}\n}}\n", "t.slim")


def test_a_blocks_defaults_are_left_to_its_callers():
    check_text("block b(k = 0) {\n  conv k 3x3\n}\n\nmodel m(inputs: [8, 8, 1]) {\n  b 3\n}\n", "t.slim")


# ------------------------------------------------------- did-you-mean ---


@pytest.mark.parametrize("arg, hint", [
    ("normalizer=bn", "help: `normalizer` is one of `batch_norm`, `instance_norm`, `layer_norm`, `none`"),
    ("weights_initializer=truncated(stddev=0.1)", "help: did you mean `truncated_normal`?"),
    ("activation=sigmod", "help: did you mean `sigmoid`?"),
    ("trainable=Flase", "help: did you mean `false`?"),
    ("activation=act_f", "help: did you mean `act_fn`?"),
])
def test_suggestions_are_of_the_kind_the_argument_takes(arg, hint):
    (d,) = _errors(f"model m(inputs: [8, 8, 1], act_fn = relu) {{\n  conv 8 3x3 {arg}\n}}\n")
    assert d.notes == (hint,), d.notes


def test_too_many_arguments_are_found_in_models_check_does_not_elaborate():
    (d,) = _errors("model m(inputs) {\n  flatten 2\n}\n")
    assert d.code == "E203" and d.message == "`flatten` takes no arguments, got 1" and d.span.col == 11
    (d,) = _errors("block b(k = 1) {\n  fc k\n}\n\nmodel m(inputs) {\n  b 1 2 3\n}\n")
    assert d.message == "block `b` takes at most 1 positional argument (k), got 3"
    assert (d.span.col, d.span.end_col) == (7, 10)


@pytest.mark.parametrize("text, message, col", [
    ("let f() = 3\nmodel m(inputs: [8, 8, 1]) {\n  conv f(1) 3x3\n}\n", "`f` takes no arguments, got 1", 10),
    ("let f(a) = a\nmodel m(inputs: [8, 8, 1]) {\n  conv f(1, 2) 3x3\n}\n",
     "`f` takes at most 1 positional argument (a), got 2", 13),
    ("defaults d() {\n  conv: stride=1\n}\nmodel m(inputs: [8, 8, 1]) uses d(1) {\n  conv 8 3x3\n}\n",
     "defaults `d` takes no arguments, got 1", 35),
    ("model m(inputs: [8, 8, 1]) {\n  conv 8 3x3 weights_regularizer=l2(0.1, 0.2)\n}\n",
     "`l2` takes at most 1 argument (scale), got 2", 34),
])
def test_too_many_arguments_to_functions_and_defaults_are_phrased_like_layers(text, message, col):
    (d,) = _errors(text)
    assert d.message == message and d.span.col == col, d.render()


def test_a_number_gets_no_tensor_or_builtin_suggested():
    (d,) = _errors("model m(inputs: [8, 8, 1]) {\n  later = conv 8 3x3\n  conv lter 3x3\n}\n")
    assert d.notes == ()
    (d,) = _errors("model m(inputs: [8, 8, 1]) {\n  conv flot 3x3\n}\n")
    assert d.notes == ()
