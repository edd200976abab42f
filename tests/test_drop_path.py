"""Issue 12, NASNet's reach: the `drop_path` layer and cells given as data (operation strings and
hidden-state indices picking earlier tensors from a list), through both lowerings
(slimlang.load and the emitted module)."""

import numpy as np
import pytest
from test_emit import _build_direct, _build_emitted, _facts, _import, _input_shape

from slimlang.checker import check_text
from slimlang.diagnostics import SlimError
from slimlang.emit import emit_module
from slimlang.shapes import summarize_model

DROP = (
    "model m(inputs: [2, 2, 3], is_training = true, keep_prob = 0.5, burn_in_steps = 0) {\n"
    "  identity as x endpoint\n"
    "  drop_path keep_prob burn_in_steps=burn_in_steps is_training=is_training as dropped endpoint\n"
    "}\n")

# A cell as data: each pair of operations reads two states chosen by index and adds them; the
# states no pair used are concatenated.  (nasnet.slim's cells, in miniature.)
CELL = (
    "let CELL = dict(ops=[\"conv\", \"none\", \"avg_pool\", \"conv\"], index=[0, 1, 2, 0], used=[1, 0, 0, 0])\n"
    "inline block op(name) {\n"
    "  if name == \"conv\" {\n    conv 4 1x1 as c\n  } else if name == \"avg_pool\" {\n"
    "    avg_pool 3x3 stride=1 padding=SAME\n  } else if name != \"none\" {\n"
    "    fail \"unknown operation \" + name\n  }\n"
    "}\n"
    "block cell(spec) {\n"
    "  b = conv 4 1x1 as base\n"
    "  let states = [inputs, b]\n"
    "  for i in range(len(spec[\"ops\"]) // 2) {\n"
    "    let left = states[spec[\"index\"][2 * i]]\n"
    "    let right = states[spec[\"index\"][2 * i + 1]]\n"
    "    scope (\"comb_iter_\" + str(i)) {\n"
    "      h1 = scope left from left { op spec[\"ops\"][2 * i] }\n"
    "      h2 = scope right from right { op spec[\"ops\"][2 * i + 1] }\n"
    "      add h2 from h1 as combine\n"
    "    }\n"
    "    let states = states + [net]\n"
    "  }\n"
    "  let unused = []\n"
    "  for i, used in enumerate(spec[\"used\"]) {\n"
    "    if not used { let unused = unused + [states[i]] }\n"
    "  }\n"
    "  concat unused\n"
    "}\n"
    "model m(inputs: [5, 5, 4], spec = CELL) {\n"
    "  cell spec as cell_0 endpoint\n"
    "  cell spec as cell_1 endpoint\n"
    "}\n")


def _lowerings(text, tmp_path, kwargs=None):
    """[(graph, input, net, end_points)] built by slimlang.load and by the emitted module."""
    path = tmp_path / "m.slim"
    path.write_text(text)
    prog = check_text(text, str(path))
    shape = (64,) + tuple(prog.input_shape("m"))
    direct = _build_direct(path, "m", shape, kwargs or {})
    emitted = _build_emitted(_import(emit_module(prog), tmp_path, "m"), prog, "m", shape, kwargs or {})
    assert _facts(direct[0], direct[2], direct[3]) == _facts(emitted[0], emitted[2], emitted[3])
    return [direct, emitted]


def _run(built, step=None):
    from slimlang.tfcompat import tf

    g, x, net, ep = built
    batch = np.random.RandomState(0).uniform(0.5, 1.5, x.shape.as_list()).astype(np.float32)
    with g.as_default(), tf.compat.v1.Session() as s:
        s.run(tf.compat.v1.global_variables_initializer())
        if step is not None:
            s.run(tf.compat.v1.train.get_global_step().assign(step))
        return s.run({k: v for k, v in ep.items()}, {x: batch})


@pytest.mark.parametrize("lowering", [0, 1], ids=["load", "emit"])
def test_drop_path_keeps_or_drops_whole_examples(lowering, tmp_path):
    built = _lowerings(DROP, tmp_path)[lowering]
    out = _run(built)
    x, y = out["x"], out["dropped"]
    kept = np.isclose(y, 2 * x).all(axis=(1, 2, 3))
    dropped = (y == 0).all(axis=(1, 2, 3))
    assert (kept | dropped).all(), "every example is kept whole (scaled by 1 / keep_prob) or zeroed"
    assert 10 <= kept.sum() <= 54, kept.sum()  # 64 examples at keep_prob 0.5


@pytest.mark.parametrize("lowering", [0, 1], ids=["load", "emit"])
def test_drop_path_ramps_in_with_the_global_step(lowering, tmp_path):
    from slimlang.tfcompat import tf

    built = _lowerings(DROP, tmp_path, {"burn_in_steps": 100})[lowering]
    with built[0].as_default():
        # made where the first dropping layer stands, as the reference's get_or_create_global_step is
        assert [v.op.name for v in tf.compat.v1.global_variables()] == ["m/global_step"]
    at_start = _run(built, step=0)
    np.testing.assert_array_equal(at_start["dropped"], at_start["x"])  # keep_prob 1 at step 0
    later = _run(built, step=1000)  # past the burn-in: keep_prob 0.5
    assert 0 < (later["dropped"] == 0).all(axis=(1, 2, 3)).sum() < 64


def test_drop_path_is_the_identity_when_not_training(tmp_path):
    for built in _lowerings(DROP, tmp_path, {"is_training": False}):
        out = _run(built)
        np.testing.assert_array_equal(out["dropped"], out["x"])
        from slimlang.tfcompat import tf

        with built[0].as_default():
            assert tf.compat.v1.global_variables() == []


def test_drop_path_takes_defaults_in_both_lowerings(tmp_path):
    """`defaults drop_path: is_training=...` is slim.arg_scope over the emitted drop_path, as the
    reference's arg_scope over nasnet_utils.drop_path."""
    text = DROP.replace(" is_training=is_training as dropped", " as dropped").replace(
        "  identity as x endpoint\n", "  identity as x endpoint\n  defaults drop_path: is_training=false {\n") \
        .replace("as dropped endpoint\n", "as dropped endpoint\n  }\n")
    for built in _lowerings(text, tmp_path):
        out = _run(built)
        np.testing.assert_array_equal(out["dropped"], out["x"])


def test_cell_as_data_both_lowerings(tmp_path):
    (g, x, net, ep), emitted = _lowerings(CELL, tmp_path)
    # states 1, 2, 3 of each cell (base, combination 0, combination 1) are concatenated: 3 x 4
    assert net.shape.as_list() == [64, 5, 5, 12]
    from slimlang.tfcompat import tf

    with g.as_default():
        names = sorted(v.op.name for v in tf.compat.v1.trainable_variables())
    assert names == [f"m/cell_{c}/{s}/{w}" for c in (0, 1)
                     for s in ("base", "comb_iter_0/left/c", "comb_iter_1/right/c") for w in ("biases", "weights")]
    prog = check_text(CELL, "m.slim")
    assert summarize_model(prog, "m", (1, 5, 5, 4)).output_shape == (1, 5, 5, 12)


@pytest.mark.parametrize("body,code,words", [
    ("drop_path 1.5", "E233", "probability in (0, 1]"),
    ("drop_path 0.5 burn_in_steps=-1", "E233", "must not be negative"),
    ("drop_path \"half\"", "E210", "must be a number"),
    ("drop_path", "E205", "needs its `keep_prob`"),
])
def test_drop_path_located_errors(body, code, words):
    text = f"model m(inputs: [6, 6, 3]) {{\n  conv 3 1x1\n  {body}\n}}\n"
    with pytest.raises(SlimError) as e:
        summarize_model(check_text(text, "t.slim"), "m", (1, 6, 6, 3))
    d = e.value.diagnostics[0]
    assert d.code == code and words in d.message, d.message
    assert (d.span.line, d.span.col) >= (3, 3)


def test_cell_unknown_operation_is_located():
    text = CELL.replace('ops=["conv", "none"', 'ops=["conv", "sep"')
    with pytest.raises(SlimError) as e:
        summarize_model(check_text(text, "t.slim"), "m", (1, 5, 5, 4))
    d = e.value.diagnostics[0]
    assert d.code == "E400" and d.message == "unknown operation sep" and d.span.line == 8
