"""Issue 12, language reach: element-wise arithmetic, clipping, local response and instance
normalization, image resize, slicing, 3-D convolution and pooling on rank-5 shapes, and layer
arguments continued on indented lines.  Each construct is built through both lowerings
(slimlang.load and the emitted module), which must agree in variables, end points and values;
shapes, parameter counts and located errors come from `check` / `summary` (no TensorFlow)."""

import pytest
from test_emit import _build_direct, _build_emitted, _facts, _import, _input_shape

from slimlang import parser
from slimlang.checker import check_text
from slimlang.diagnostics import SlimError
from slimlang.emit import emit_module
from slimlang.shapes import summarize_model

CASES = {
    "mul_tensor_and_number": (
        "model m(inputs: [6, 6, 3], scale = 0.17) {\n"
        "  a = conv 4 1x1 as a endpoint\n"
        "  conv 4 3x3 as b endpoint\n"
        "  mul a as gated endpoint\n"
        "  g = mean [1, 2] keepdims=true as pooled\n"
        "  mul g as broadcast endpoint\n"
        "}\n"),
    "hard_activations_and_add_a_number": (
        "model m(inputs: [6, 6, 3]) {\n"
        "  lin = conv 4 3x3 activation=none as lin endpoint\n"
        "  hard_swish from lin as hs endpoint\n"
        "  hard_sigmoid from lin as hsig endpoint\n"
        "  add 3 as plus endpoint\n"
        "  conv 4 1x1 activation=hard_swish as conv_hs endpoint\n"
        "  conv 4 1x1 activation=hard_sigmoid\n"
        "}\n"),
    "mul_by_a_number": (
        "model m(inputs: [6, 6, 3], scale = 0.17) {\n"
        "  conv 4 3x3 as up endpoint\n"
        "  mul scale as scaled endpoint\n"
        "  mul 2 as doubled endpoint\n"
        "}\n"),
    "inline_model_and_block_scope_names": (
        "block block8(scale = 1.0) as Block8 {\n"
        "  up = conv 4 1x1 as Conv2d_1x1\n"
        "  mul scale from up\n"
        "  add inputs\n"
        "}\n"
        "inline model m(inputs: [6, 6, 4], scale = 0.2) {\n"
        "  scope encoder {\n"
        "    conv 4 3x3 as c endpoint\n"
        "  }\n"
        "  block8 scale x2\n"
        "  block8\n"
        "  block8 as block8_last endpoint\n"
        "}\n"),
    "activation_held_in_a_parameter": (
        "block res(scale = 1.0, activation_fn = relu) as Res {\n"
        "  conv 4 1x1 activation=none as c\n"
        "  mul scale\n"
        "  add inputs\n"
        "  if activation_fn {\n"
        "    activation activation_fn as act\n"
        "  }\n"
        "}\n"
        "model m(inputs: [6, 6, 4], f = tanh) {\n"
        "  res activation_fn=relu6 as r1 endpoint\n"
        "  res activation_fn=none as r2 endpoint\n"
        "  activation f as t endpoint\n"
        "  activation (elu if f == tanh else relu) as e endpoint\n"
        "  activation fn=leaky_relu\n"
        "}\n"),
    "variables_with_a_dtype": (
        "model m(inputs: [4, 4, 3]) {\n"
        "  step = variable shape=[] dtype=\"int64\" initializer=zeros trainable=false as global_step\n"
        "  half = model_variable shape=[3] dtype=\"float16\" initializer=ones as half\n"
        "  conv 2 1x1 as c endpoint\n"
        "}\n"),
    "clip_and_lrn": (
        "model m(inputs: [6, 6, 8]) {\n"
        "  conv 8 3x3 activation=none as c endpoint\n"
        "  clip -0.5 0.5 as clipped endpoint\n"
        "  lrn 4 bias=1.0 alpha=0.001 / 9.0 beta=0.75 as norm1 endpoint\n"
        "  lrn as norm2 endpoint\n"
        "}\n"),
    "instance_norm_layer_and_normalizer": (
        "defaults d {\n"
        "  conv: normalizer=instance_norm, normalizer_params=dict(center=true, scale=true, epsilon=0.00001)\n"
        "}\n"
        "model m(inputs: [6, 6, 3]) uses d {\n"
        "  conv 5 3x3 as c endpoint\n"
        "  instance_norm center=false activation=relu as inorm endpoint\n"
        "  instance_norm\n"
        "}\n"),
    "resize_and_slice": (
        "model m(inputs: [5, 5, 3]) {\n"
        "  let h = shape(net)[1]\n"
        "  resize [2 * h, 2 * h] method=\"nearest\" as up endpoint\n"
        "  resize [7, 9] as bilinear endpoint\n"
        "  pad [[0, 0], [0, 1], [0, 1], [0, 0]]\n"
        "  slice [0, 1, 1, 0] [-1, -1, -1, -1] as shifted endpoint\n"
        "  slice [0, 0, 2, 1] [-1, 3, 4, 2] as crop endpoint\n"
        "}\n"),
    "conv3d_and_pool3d": (
        "model m(inputs: [4, 6, 6, 3]) {\n"
        "  conv3d 4 [3, 3, 3] as c1 endpoint\n"
        "  pool3d [1, 3, 3] stride=[1, 2, 2] padding=SAME as p1 endpoint\n"
        "  conv3d 6 1 normalizer=batch_norm as c2 endpoint\n"
        "  avg_pool3d [2, 2, 2] stride=1 as p2 endpoint\n"
        "  conv3d 2 [2, 1, 1] padding=VALID rate=1 activation=none\n"
        "}\n"),
    "continued_lines": (
        "model m(inputs: [6, 6, 3], num_classes = 5) {\n"
        "  conv num_classes 1x1 activation=none\n"
        "       normalizer=none\n"
        "       as logits endpoint\n"
        "  conv 4 3x3 stride=\n"
        "      2\n"
        "      x2 as rep\n"
        "}\n"),
}


def _values_agree(a, b):
    """Same output and end-point values for the same weights and input (moving statistics not trivial)."""
    import numpy as np

    from slimlang.tfcompat import tf

    (g1, x1, n1, ep1), (g2, x2, n2, ep2) = a, b
    rng = np.random.RandomState(0)
    batch = rng.uniform(-1, 1, size=x1.shape.as_list()).astype(np.float32)
    keys = sorted(ep1)
    with g1.as_default(), tf.compat.v1.Session(graph=g1) as s1:
        s1.run(tf.compat.v1.global_variables_initializer())
        weights = {}
        for v in tf.compat.v1.global_variables():
            value = rng.uniform(0.5, 1.5, size=v.shape.as_list()).astype(v.dtype.base_dtype.as_numpy_dtype)
            v.load(value, s1)
            weights[v.op.name] = value
        out1 = s1.run([n1] + [ep1[k] for k in keys], {x1: batch})
    with g2.as_default(), tf.compat.v1.Session(graph=g2) as s2:
        for v in tf.compat.v1.global_variables():
            v.load(weights[v.op.name], s2)
        out2 = s2.run([n2] + [ep2[k] for k in keys], {x2: batch})
    for name, p, q in zip(["output"] + keys, out1, out2):
        assert p.shape == q.shape, name
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5, err_msg=name)
    return dict(zip(["output"] + keys, out1))


def _both(text, tmp_path, model="m"):
    path = tmp_path / "m.slim"
    path.write_text(text)
    prog = check_text(text, str(path))
    shape = _input_shape(prog, model)
    direct = _build_direct(path, model, shape, {})
    gen = _import(emit_module(prog), tmp_path, "m")
    emitted = _build_emitted(gen, prog, model, shape, {})
    assert _facts(direct[0], direct[2], direct[3]) == _facts(emitted[0], emitted[2], emitted[3])
    return prog, direct, _values_agree(direct, emitted)


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_lowerings_agree(name, tmp_path):
    prog, (g, x, net, ep), values = _both(CASES[name], tmp_path)
    # the summary (no TensorFlow) describes the graph that was built: shapes and parameter count
    summary = summarize_model(prog, "m", tuple(x.shape.as_list()))
    assert summary.output_shape == tuple(net.shape.as_list())
    for key, shape in summary.end_points.items():
        assert tuple(ep[key].shape.as_list()) == shape, key
    from slimlang.tfcompat import tf

    with g.as_default():
        total = sum(v.shape.num_elements() for v in tf.compat.v1.global_variables())
    assert summary.total == total


def test_mul_scales_and_gates(tmp_path):
    import numpy as np

    _, _, values = _both(CASES["mul_tensor_and_number"], tmp_path)
    np.testing.assert_allclose(values["gated"], values["a"] * values["b"], rtol=1e-6)
    np.testing.assert_allclose(values["broadcast"],
                               values["gated"] * values["gated"].mean(axis=(1, 2), keepdims=True), rtol=1e-5)


def test_mul_by_a_number_values(tmp_path):
    import numpy as np

    _, _, values = _both(CASES["mul_by_a_number"], tmp_path)
    np.testing.assert_allclose(values["scaled"], values["up"] * 0.17, rtol=1e-6)
    np.testing.assert_allclose(values["doubled"], values["up"] * 0.34, rtol=1e-6)


def test_hard_activations_and_add_a_number_values(tmp_path):
    import numpy as np

    _, _, values = _both(CASES["hard_activations_and_add_a_number"], tmp_path)
    lin = values["lin"]
    assert lin.min() < -3 < 3 < lin.max()  # every piece of the two functions is exercised
    np.testing.assert_allclose(values["hs"], lin * np.clip(lin + 3, 0, 6) / 6, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values["hsig"], np.clip(lin + 3, 0, 6) / 6, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values["plus"], values["hsig"] + 3, rtol=1e-6)


def test_inline_model_and_block_scope_names(tmp_path):
    """An `inline model` opens no scope (its variables start at the caller's); a block declared
    `as Block8` takes that scope name when called without `as`, and its own name under a repeat."""
    _, (g, _, _, ep), _ = _both(CASES["inline_model_and_block_scope_names"], tmp_path)
    from slimlang.tfcompat import tf

    with g.as_default():
        names = sorted(v.op.name for v in tf.compat.v1.global_variables())
    assert names == ["Block8/Conv2d_1x1/biases", "Block8/Conv2d_1x1/weights",
                     "Repeat/block8_1/Conv2d_1x1/biases", "Repeat/block8_1/Conv2d_1x1/weights",
                     "Repeat/block8_2/Conv2d_1x1/biases", "Repeat/block8_2/Conv2d_1x1/weights",
                     "block8_last/Conv2d_1x1/biases", "block8_last/Conv2d_1x1/weights",
                     "encoder/c/biases", "encoder/c/weights"]


def test_inline_model_takes_a_scope_from_python(tmp_path):
    import slimlang
    from slimlang.tfcompat import tf

    path = tmp_path / "m.slim"
    path.write_text(CASES["inline_model_and_block_scope_names"])
    with tf.Graph().as_default() as g:
        x = tf.compat.v1.placeholder(tf.float32, [1, 6, 6, 4])
        slimlang.load(path).m(x, scope="Generator")
        assert all(v.op.name.startswith("Generator/") for v in tf.compat.v1.global_variables())
    assert g is not None


def test_model_and_block_headers_parse_and_format():
    from slimlang.tools.fmt import format_text

    text = ("inline model gen(images: [8, 8, 3]) {\n  conv 4 3x3\n}\n\n"
            "block block8(scale = 1.0) as Block8 {\n  conv 4 1x1\n}\n\n"
            "model m(x: [8, 8, 3]) as MyNet {\n  block8 x2\n}\n")
    items = parser.parse(text).items
    assert [(i.inline, i.default_scope) for i in items] == [(True, None), (False, "Block8"), (False, "MyNet")]
    assert format_text(text) == text
    s = _summary(text.replace("inline model gen", "model gen0"), (1, 8, 8, 3))
    assert s.rows[0].name == "gen0/Conv"
    prog = check_text(text, "t.slim")
    assert summarize_model(prog, "m", (1, 8, 8, 3)).rows[0].name == "MyNet/Repeat/block8_1/Conv"


def test_activation_held_in_a_parameter_values(tmp_path):
    import numpy as np

    _, _, values = _both(CASES["activation_held_in_a_parameter"], tmp_path)
    assert values["r1"].max() <= 6.0 and values["r1"].min() >= 0.0
    np.testing.assert_allclose(values["t"], np.tanh(values["r2"]), rtol=1e-5, atol=1e-6)
    e = values["t"]
    np.testing.assert_allclose(values["e"], np.where(e > 0, e, np.expm1(e)), rtol=1e-5, atol=1e-6)


def test_variables_with_a_dtype(tmp_path):
    from slimlang.tfcompat import tf

    _, (g, _, _, _), _ = _both(CASES["variables_with_a_dtype"], tmp_path)
    with g.as_default():
        kinds = {v.op.name: v.dtype.base_dtype.name for v in tf.compat.v1.global_variables()}
    assert kinds == {"m/global_step": "int64", "m/half": "float16", "m/c/weights": "float32", "m/c/biases": "float32"}


def test_clip_and_slice_values(tmp_path):
    import numpy as np

    _, _, values = _both(CASES["clip_and_lrn"], tmp_path)
    assert values["clipped"].max() <= 0.5 and values["clipped"].min() >= -0.5
    np.testing.assert_allclose(values["clipped"], np.clip(values["c"], -0.5, 0.5))
    _, _, values = _both(CASES["resize_and_slice"], tmp_path)
    assert values["up"].shape == (2, 10, 10, 3)
    np.testing.assert_allclose(values["up"][:, ::2, ::2, :], values["up"][:, 1::2, 1::2, :])  # nearest: 2x2 copies
    assert values["crop"].shape == (2, 3, 4, 2)


def _summary(text, shape=None):
    prog = check_text(text, "t.slim")
    name = next(iter(prog.models))
    return summarize_model(prog, name, shape or (1,) + tuple(prog.input_shape(name)))


def test_rank5_shapes_and_counts():
    s = _summary(CASES["conv3d_and_pool3d"])
    rows = {r.name: r for r in s.rows}
    assert rows["m/c1"].shape == (1, 4, 6, 6, 4) and rows["m/c1"].params == 3 * 3 * 3 * 3 * 4 + 4
    assert rows["m/p1"].shape == (1, 4, 3, 3, 4)
    assert rows["m/c2"].params == 4 * 6 + 6 + 2 * 6  # weights, beta, moving mean and variance
    assert rows["m/p2"].shape == (1, 3, 2, 2, 6)
    assert s.output_shape == (1, 2, 2, 2, 2)


def _error(text) -> str:
    with pytest.raises(SlimError) as e:
        _summary(text)
    return e.value.render() if hasattr(e.value, "render") else str(e.value)


@pytest.mark.parametrize("body,code,words", [
    ("a = mean [1, 2]\n  conv 3 1x1\n  b = conv 5 1x1 as b\n  mul b", "E301", "do not broadcast"),
    ("slice [0, -1, 0, 0] [-1, -1, -1, -1]", "E233", "non-negative start index"),
    ("slice [0, 0, 0, 0] [-1, 0, -1, -1]", "E233", "positive size per axis"),
    ("slice [0, 5, 0, 0] [-1, 4, -1, -1]", "E301", "outside its size 6"),
    ("slice [0, 0] [-1, -1]", "E301", "one begin and one size per axis"),
    ("conv3d 4 3", "E301", "rank-5 input (batch, depth, height, width, channels)"),
    ("pool3d [2, 2] stride=1", "E301", "rank-5"),
    ("reshape [1, 1, 6, 6, 3]\n  conv3d 4 [3, 3]", "E301", "expected three sizes"),
    ("lrn 0", "E233", "must be positive"),
    ("resize [0, 4]", "E233", "must be positive"),
    ("clip 0", "E205", "needs its `max`"),
    ("mul \"two\"", "E210", "must be a tensor name or a number"),
    ("mul true", "E210", "must be a tensor name or a number"),
    ("add \"three\"", "E210", "must be a tensor name or a number"),
    ("activation none", "E233", "`none` applies nothing"),
    ("variable shape=[2] dtype=\"int\" as v", "E233", "must be one of float32"),
    ("activation 3", "E210", "must be an activation"),
])
def test_located_errors(body, code, words):
    text = f"model m(inputs: [6, 6, 3]) {{\n  {body}\n}}\n"
    with pytest.raises(SlimError) as e:
        _summary(text)
    d = e.value.diagnostics[0]
    assert d.code == code and words in d.message, d.message
    assert d.span.line >= 2


def test_rank5_error_on_rank5_model():
    with pytest.raises(SlimError) as e:
        _summary("model m(inputs: [4, 6, 6, 3]) {\n  conv 4 3x3\n}\n")
    assert "rank-4 input" in e.value.diagnostics[0].message


# ------------------------------------------------- continued lines ---

def _body(text):
    return parser.parse(text).items[0].body


def test_indented_arguments_continue_the_statement():
    one = _body("model m(x) {\n  conv 10 1x1 activation=none normalizer=none as logits endpoint\n  flatten\n}\n")
    many = _body("model m(x) {\n  conv 10 1x1 activation=\n     none\n"
                 "     normalizer=none   # a comment\n\n     as logits endpoint\n  flatten\n}\n")
    assert repr(one) == repr(many)
    assert len(many) == 2


def test_indented_plain_name_is_a_statement_of_its_own():
    body = _body("model m(x) {\n  conv 4 3x3\n      flatten\n  relu\n}\n")
    assert [s.kind for s in body] == ["conv", "flatten", "relu"]


def test_newline_after_brace_and_semicolon_is_not_a_continuation():
    body = _body("model m(x) {\n  scope s {\n      conv 4 3x3 stride=\n        2\n    }\n  conv 2 1x1; pool 2\n"
                 "    as p\n}\n")
    assert [type(s).__name__ for s in body] == ["Scope", "Layer", "Layer"]
    assert body[0].body[0].kwargs[0].name == "stride"
    assert body[2].kind == "pool" and body[2].as_name.path == "p"


def test_same_indentation_is_a_new_statement_with_a_located_error():
    with pytest.raises(SlimError) as e:
        check_text("model m(inputs: [4, 4, 3]) {\n  conv 4 3x3 activation=none\n  normalizer=none\n}\n", "t.slim")
    d = e.value.diagnostics[0]
    assert d.span.line == 3 and d.code == "E103"
    assert "`normalizer=none` on a line of its own is a new statement" in " ".join(d.notes)
    assert "indent this line deeper" in " ".join(d.notes)
    with pytest.raises(SlimError) as e:  # a block named like a value is still just unknown
        check_text("model m(inputs: [4, 4, 3]) {\n  b = scope s {\n    none\n  }\n}\n", "t.slim")
    assert not any("line of its own" in n for n in e.value.diagnostics[0].notes)
