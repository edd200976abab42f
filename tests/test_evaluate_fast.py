"""The evaluator's fast paths keep the slow paths' meaning.

call_layer checks only the arguments a layer or its `defaults` set (the
table's own defaults are trusted: checked here), with a yes/no predicate per
type that must agree with check_type; origins are worked out on first use.
"""

import pytest

from slimlang.checker import check_text
from slimlang.diagnostics import SlimError
from slimlang.evaluate import _TYPE_OK, Evaluator, Tensor, _type_ok
from slimlang.layers import LAYERS, REQUIRED
from slimlang.shapes import ShapeBackend
from slimlang.values import Op


def _passes_check_type(kind, p, value) -> bool:
    try:
        Evaluator(None, None).check_type(kind, p, value, None)
        return True
    except SlimError:
        return False


def test_table_defaults_pass_their_type_check():
    for kind in LAYERS.values():
        assert kind.param_names == tuple(p.name for p in kind.params)
        assert kind.required == tuple(p.name for p in kind.params if p.default is REQUIRED)
        for p in kind.params:
            if p.default is not REQUIRED:
                assert _passes_check_type(kind, p, p.default), (kind.name, p.name, p.default)


SAMPLES = [0, 3, -1, True, False, 1.5, "SAME", "VALID", "x", (3, 3), [3, 3], [1, 2, 3], (1, "a"), [],
           Op("relu"), Op("batch_norm"), Op("zeros", ()), Op("l2", (("scale", 0.1),)), Op("UPDATE_OPS"),
           Tensor(None), [Tensor(None), Tensor(None)], [Tensor(None), 1], {"a": 1}]


@pytest.mark.parametrize("t", sorted({p.type for k in LAYERS.values() for p in k.params}))
def test_fast_type_predicate_agrees_with_check_type(t):
    kind = next(k for k in LAYERS.values() if any(p.type == t for p in k.params))
    p = next(p for p in kind.params if p.type == t)
    for v in SAMPLES:
        assert _type_ok(t, v) == _passes_check_type(kind, p, v), (t, v)
    assert t in _TYPE_OK or t in ("any", "str")


def test_origins_and_errors_unchanged():
    prog = check_text(
        "defaults d() {\n  conv: activation=none, padding=VALID\n}\n"
        "model m(inputs: [8, 8, 3]) uses d() {\n  conv 4 3x3 padding=SAME\n  fc 2\n}\n", "t.slim")
    rows = prog.summaries[("m", (1, 8, 8, 3))].rows
    o = rows[0].call.origins
    assert o["num_outputs"].what == "layer" and o["kernel_size"].what == "layer"
    assert o["padding"].what == "layer" and o["padding"].span.col > 10
    assert o["activation"].what == "defaults"
    assert o["stride"].what == "table" and "slim.conv2d" in o["stride"].detail
    assert set(o) == set(LAYERS["conv"].param_names)
    with pytest.raises(SlimError) as e:
        check_text("model m(inputs: [8, 8, 3]) {\n  conv 4 3x3 stride=1.5 padding=7\n}\n", "t.slim")
    assert "E210" in str(e.value) and "stride" in str(e.value)  # the first bad one in table order
    with pytest.raises(SlimError) as e:
        check_text("model m(inputs: [8, 8, 3]) {\n  conv kernel_size=3x3\n}\n", "t.slim")
    assert "E205" in str(e.value) and "num_outputs" in str(e.value)


def test_summary_unchanged_by_backend_shortcuts():
    prog = check_text("model m(inputs: [8, 8, 3]) {\n  conv 4 3x3\n  conv 4 3x3\n  relu\n  conv 4 3x3 as c\n}\n",
                      "t.slim", elaborate=False)
    backend = ShapeBackend()
    ev = Evaluator(prog, backend)
    ev.run_model("m", backend.input((1, 8, 8, 3)), {})
    assert [r.name for r in backend.rows] == ["m/Conv", "m/Conv_1", "m/Relu", "m/c"]
    assert [r.params for r in backend.rows] == [112, 148, 0, 148]


# ------------------------------------------------- the layer-call driver ---
# TensorFlow records the Python stack (with a line number per frame) at every
# op it creates, so the interpreter yields each layer call to one driver loop
# and builds it there: the stack under tf_slim must not grow with how deeply
# the .slim source nests blocks, scopes, loops, ifs and defaults.

NESTED = """
block leaf() { conv 4 3x3 }
block mid(k) {
  scope "s" {
    defaults conv: padding="SAME" {
      for i in range(k) {
        if i >= 0 { leaf }
      }
    }
  }
}
block top() { mid 2 }
model flat(inputs: [8, 8, 3]) { conv 4 3x3 }
model deep(inputs: [8, 8, 3]) { top; scope "t" { r = top } }
"""


@pytest.mark.slow
def test_op_creation_stack_depth_does_not_grow_with_nesting(monkeypatch):
    import sys

    import slimlang
    from slimlang.tfcompat import tf
    from tensorflow.python.util import tf_stack

    mod = slimlang.loads(NESTED)
    depths = []
    orig = tf_stack.extract_stack

    def recording(stacklevel=1):
        f, n = sys._getframe(), 0
        while f is not None:
            n += 1
            f = f.f_back
        depths.append(n)
        return orig(stacklevel=stacklevel + 1)

    monkeypatch.setattr(tf_stack, "extract_stack", recording)
    seen = {}
    for name in ("flat", "deep"):
        depths.clear()
        with tf.Graph().as_default() as g:
            getattr(mod, name)(tf.compat.v1.placeholder(tf.float32, [1, 8, 8, 3]))
            convs = [op for op in g.get_operations() if op.type == "Conv2D"]
        seen[name] = max(depths)
        assert convs
    assert len(convs) == 4  # deep: 2 + 2 leaf convs, five levels down
    assert seen["deep"] == seen["flat"], seen
