"""Issue 12, language reach: strided slicing (`strided_slice`, Python's `net[b:e:s, ...]`) and
`split`.  Both lowerings (slimlang.load and the emitted module) must agree in names, shapes and
values, the values must be NumPy's slicing of the input, and `summary` (no TensorFlow) must infer
the shapes TensorFlow infers."""

import numpy as np
import pytest
from test_language_reach import _both, _summary

from slimlang.diagnostics import SlimError
from slimlang.shapes import summarize_model

STRIDED = (
    "model m(inputs: [9, 8, 3]) {\n"
    "  strided_slice [none, none, 1] [none, none, none] [1, 2, 1] as every_other endpoint\n"
    "  strided_slice [none, -1, none, none] [none, 0, none, none] [1, -2, 1, 1] from inputs as backwards endpoint\n"
    "  strided_slice [0, 1, 1] [none, none, none] from inputs as shifted endpoint\n"
    "  strided_slice [0, 2, -6, 1] [none, 100, -1, 3] [1, 3, 2, 1] from inputs as clamped endpoint\n"
    "  strided_slice [none, none, none, none] [none, none, none, none] [1, -1, -1, -1] from inputs as reversed endpoint\n"
    "  conv 4 3x3 from inputs as conv endpoint\n"
    "  strided_slice [none, 1] [none, none] [1, 2] as after_conv endpoint\n"
    "}\n")

# What each end point is, as NumPy slices the same input.
NUMPY = {
    "every_other": lambda x: x[:, ::2, 1:],
    "backwards": lambda x: x[:, -1:0:-2, :, :],
    "shifted": lambda x: x[0:, 1:, 1:],
    "clamped": lambda x: x[0:, 2:100:3, -6:-1:2, 1:3],
    "reversed": lambda x: x[:, ::-1, ::-1, ::-1],
}


@pytest.fixture(scope="module")
def strided(tmp_path_factory):
    return _both(STRIDED, tmp_path_factory.mktemp("strided"))


def test_strided_slice_both_lowerings_values_and_summary(strided):
    prog, (g, x, _, ep), _ = strided
    from slimlang.tfcompat import tf

    rng = np.random.RandomState(1)
    batch = rng.uniform(-1, 1, size=(2, 9, 8, 3)).astype(np.float32)
    with g.as_default(), tf.compat.v1.Session(graph=g) as s:
        s.run(tf.compat.v1.global_variables_initializer())
        got = s.run({k: ep[k] for k in NUMPY}, {x: batch})
        conv, after = s.run([ep["conv"], ep["after_conv"]], {x: batch})
        ops = {op.name: op.type for op in g.get_operations()}
    for key, expect in NUMPY.items():
        np.testing.assert_array_equal(got[key], expect(batch), err_msg=key)
    np.testing.assert_array_equal(after, conv[:, 1::2])
    # one StridedSlice op each, named as `as` says (tf.strided_slice's own name otherwise)
    assert ops["m/every_other"] == "StridedSlice" and ops["m/after_conv"] == "StridedSlice"
    summary = summarize_model(prog, "m", tuple(x.shape.as_list()))
    for key, shape in summary.end_points.items():
        assert tuple(ep[key].shape.as_list()) == shape, key
    assert summary.end_points["backwards"] == (2, 4, 8, 3)


def test_strided_slice_graph_equals_python_getitem(strided):
    """The op's begin/end masks are those `net[:, ::2, 1:]` gives, so a reference's graph is matched."""
    _, (_, _, _, ep), _ = strided
    op = ep["every_other"].op
    assert op.get_attr("begin_mask") == 0b011 and op.get_attr("end_mask") == 0b111
    from slimlang.tfcompat import tf

    with tf.Graph().as_default():
        ref = tf.compat.v1.placeholder(tf.float32, [2, 9, 8, 3])[:, ::2, 1:].op
        assert (ref.get_attr("begin_mask"), ref.get_attr("end_mask")) == (0b011, 0b111)


def test_strided_slice_unknown_batch():
    s = summarize_model(_prog(STRIDED), "m", (None, 9, 8, 3))
    assert s.end_points["every_other"] == (None, 5, 7, 3)


def _prog(text):
    from slimlang.checker import check_text

    return check_text(text, "t.slim")


@pytest.mark.parametrize("body,code,words", [
    ("strided_slice [0, 0] [none, none] [1, 0]", "E233", "non-zero step"),
    ("strided_slice [0, \"a\"] [none, none]", "E233", "an index per axis"),
    ("strided_slice [0, 0] [none]", "E301", "as many ends and strides as begins"),
    ("strided_slice [0, 0, 0, 0, 0] [1, 1, 1, 1, 1]", "E301", "has rank 4"),
    ("strided_slice [0, 4] [none, 2]", "E301", "keeps nothing of axis 1"),
])
def test_strided_slice_located_errors(body, code, words):
    text = f"model m(inputs: [6, 6, 3]) {{\n  {body}\n}}\n"
    with pytest.raises(SlimError) as e:
        _summary(text)
    d = e.value.diagnostics[0]
    assert d.code == code and words in d.message, d.message
    assert d.span.line == 2


SPLIT = (
    "model m(inputs: [6, 6, 8]) {\n"
    "  parts = split 2 as halves\n"
    "  let a = parts[0]\n"
    "  let b = parts[-1]\n"
    "  x = conv 4 1x1 from a as left endpoint\n"
    "  y = conv 4 3x3 from b as right endpoint\n"
    "  three = split [2, -1, 3] axis=2 from inputs\n"
    "  let wide = three[2]\n"
    "  endpoint \"wide\" from wide\n"
    "  let narrow = three[1]\n"
    "  endpoint \"narrow\" from narrow\n"
    "  four = split 4 axis=-1 from x\n"
    "  for i, part in enumerate(four) {\n"
    "    endpoint \"quarter_\" + str(i) from part\n"
    "  }\n"
    "  concat [x, y] as joined endpoint\n"
    "  concat parts as rejoined endpoint\n"
    "}\n")


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return _both(SPLIT, tmp_path_factory.mktemp("split"))


def test_split_both_lowerings_values_and_summary(split):
    prog, (g, x, _, ep), values = split
    from slimlang.tfcompat import tf

    rng = np.random.RandomState(2)
    batch = rng.uniform(-1, 1, size=(2, 6, 6, 8)).astype(np.float32)
    with g.as_default(), tf.compat.v1.Session(graph=g) as s:
        s.run(tf.compat.v1.global_variables_initializer())
        got = s.run(ep, {x: batch})
        ops = {op.name: op.type for op in g.get_operations()}
    np.testing.assert_array_equal(got["rejoined"], batch)
    np.testing.assert_array_equal(got["wide"], batch[:, :, 3:])
    np.testing.assert_array_equal(got["narrow"], batch[:, :, 2:3])
    for i in range(4):
        np.testing.assert_array_equal(got[f"quarter_{i}"], got["left"][..., i:i + 1])
    assert ops["m/halves"] == "Split" and ops["m/split"] == "SplitV"
    summary = summarize_model(prog, "m", tuple(x.shape.as_list()))
    for key, shape in summary.end_points.items():
        assert tuple(ep[key].shape.as_list()) == shape, key
    assert [r.name for r in summary.rows[:2]] == ["m/halves:0", "m/halves:1"]
    assert values["narrow"].shape == (2, 6, 1, 8)


@pytest.mark.parametrize("body,code,words", [
    ("parts = split 4", "E301", "6 is not a multiple of 4; it splits into 2, 3 or 6 equal parts"),
    ("parts = split [2, 2] axis=1", "E301", "add up to 4, not axis 1's size 6"),
    ("parts = split [7, -1] axis=1", "E301", "add up to more than"),
    ("parts = split [2, -1, -1]", "E233", "-1 only once"),
    ("parts = split 0", "E233", "positive number of parts"),
    ("parts = split 2 axis=4", "E301", "axes run from -4 to 3"),
    ("split 2", "E238", "makes a list of tensors"),
    ("parts = split 2 as p endpoint", "E238", "makes a list of tensors"),
    ("parts = split 2\n  conv 3 1x1 from parts", "E224", "is not a tensor"),
])
def test_split_located_errors(body, code, words):
    text = f"model m(inputs: [6, 6, 6]) {{\n  {body}\n}}\n"
    with pytest.raises(SlimError) as e:
        _summary(text)
    d = e.value.diagnostics[0]
    assert d.code == code and words in d.message + "".join(d.notes), d.message
    assert d.span.line >= 2


def test_split_of_an_unknown_size_and_emit_refuses_an_unnamed_split():
    s = summarize_model(_prog("model m(inputs: [6, 6, 6]) {\n  parts = split 3 axis=0\n  let a = parts[2]\n"
                              "  conv 2 1x1 from a\n}\n"), "m", (None, 6, 6, 6))
    assert [r.shape for r in s.rows[:3]] == [(None, 6, 6, 6)] * 3
    from slimlang.emit import emit_module

    with pytest.raises(SlimError) as e:
        emit_module(_prog("model m(inputs) {\n  split 2\n}\n"))
    assert e.value.diagnostics[0].code == "E238"


def test_docs_examples_build():
    """docs/language.md's Slicing and Splitting examples mean what their comments say."""
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent.joinpath("docs", "language.md").read_text()
    start = doc.index("model shuffle_unit(")
    s = _summary(doc[start:doc.index("\n}\n", start) + 3])
    assert [r.shape for r in s.rows[:2]] == [(1, 28, 28, 58)] * 2
    assert s.end_points == {"rows_0": (1, 3, 28, 116), "rows_1": (1, 25, 28, 116)}
    block = doc[doc.index("strided_slice [none, none, 1] [none, none, none] [1, 2, 1] as every_other"):]
    lines = [line.split("#")[0].strip() for line in block[:block.index("```")].splitlines()]
    shapes = [_summary(f"model m(inputs: [9, 8, 3]) {{\n  {line}\n}}\n").output_shape for line in lines]
    assert shapes == [(1, 5, 7, 3), (1, 8, 7, 3), (1, 4, 8, 3), (1, 9, 8, 3)]
