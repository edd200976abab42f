"""Conformance harness: a .slim network against its tf_slim.nets reference.

`compare(...)` builds the reference under its own arg_scope and the .slim
model (through the public `slimlang.load` API) in two graphs of one process,
and returns a list of human-readable differences (empty when identical) in:
global / model / trainable variable names and shapes, regularization-loss and
update-op counts, end point names and static shapes, the output's shape, and
(for is_training=False) the output values after copying the reference's
variable values into the .slim graph by name.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from slimlang.tfcompat import slim, tf

ROOT = Path(__file__).resolve().parent.parent
NETS = ROOT / "examples" / "nets"


@functools.lru_cache(maxsize=None)
def load_net_file(name: str):
    import slimlang

    return slimlang.load(NETS / f"{name}.slim")


def _graph_facts(graph, net, end_points):
    with graph.as_default():
        G = tf.compat.v1.GraphKeys
        return {
            "global variables": [(v.op.name, tuple(v.shape.as_list())) for v in tf.compat.v1.global_variables()],
            "model variables": [v.op.name for v in slim.get_model_variables()],
            "trainable variables": [v.op.name for v in tf.compat.v1.trainable_variables()],
            "regularization losses": len(tf.compat.v1.get_collection(G.REGULARIZATION_LOSSES)),
            "update ops": len(tf.compat.v1.get_collection(G.UPDATE_OPS)),
            "end points": sorted((k, tuple(v.shape.as_list())) for k, v in end_points.items()),
            "output shape": tuple(net.shape.as_list()),
        }


def build_reference(ref_fn, ref_arg_scope, input_shape, kwargs):
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(1)
        x = tf.compat.v1.placeholder(tf.float32, list(input_shape), name="inputs")
        with slim.arg_scope(ref_arg_scope()):
            net, end_points = ref_fn(x, **kwargs)
    return g, x, net, end_points


def build_slim(file_name, model_name, input_shape, kwargs):
    module = load_net_file(file_name)
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(2)
        x = tf.compat.v1.placeholder(tf.float32, list(input_shape), name="inputs")
        net, end_points = getattr(module, model_name)(x, **kwargs)
    return g, x, net, end_points


def compare(ref_fn, ref_arg_scope, file_name, model_name=None, input_shape=(1, 224, 224, 3), kwargs=None,
            values=None, rtol=1e-5, atol=1e-5):
    """Differences between the reference and the .slim model (empty list: identical)."""
    kwargs = dict(kwargs or {})
    model_name = model_name or ref_fn.__name__
    g1, x1, net1, ep1 = build_reference(ref_fn, ref_arg_scope, input_shape, kwargs)
    g2, x2, net2, ep2 = build_slim(file_name, model_name, input_shape, kwargs)
    a, b = _graph_facts(g1, net1, ep1), _graph_facts(g2, net2, ep2)
    diffs = []
    for key in a:
        if a[key] != b[key]:
            if isinstance(a[key], list):
                only_ref = [i for i in a[key] if i not in b[key]][:5]
                only_slim = [i for i in b[key] if i not in a[key]][:5]
                diffs.append(f"{key}: only in reference {only_ref}, only in .slim {only_slim}"
                             + ("" if only_ref or only_slim else " (same items, different order)"))
            else:
                diffs.append(f"{key}: reference {a[key]!r}, .slim {b[key]!r}")
    if values is None:
        values = kwargs.get("is_training", True) is False
    if values and not diffs:
        diffs.extend(_compare_values(g1, x1, net1, g2, x2, net2, input_shape, rtol, atol))
    return diffs


def _load_all(session, variables, values):
    """Assign every variable in one run by feeding its initial value (one session call, not one per variable)."""
    session.run([v.initializer for v in variables], {v.initial_value: values[v.op.name] for v in variables})


def _compare_values(g1, x1, net1, g2, x2, net2, input_shape, rtol, atol):
    rng = np.random.RandomState(0)
    batch = rng.uniform(-1, 1, size=[d or 1 for d in input_shape]).astype(np.float32)
    with g1.as_default(), tf.compat.v1.Session(graph=g1) as s1:
        variables = tf.compat.v1.global_variables()
        s1.run(tf.compat.v1.variables_initializer(variables))
        weights = dict(zip([v.op.name for v in variables], s1.run(variables)))
        # Non-trivial moving statistics so batch norm in inference mode is exercised.
        for name, value in weights.items():
            if name.endswith(("moving_mean", "moving_variance")):
                weights[name] = rng.uniform(0.5, 1.5, size=value.shape).astype(np.float32)
        _load_all(s1, variables, weights)
        out1 = s1.run(net1, {x1: batch})
    with g2.as_default(), tf.compat.v1.Session(graph=g2) as s2:
        _load_all(s2, tf.compat.v1.global_variables(), weights)
        out2 = s2.run(net2, {x2: batch})
    if out1.shape != out2.shape:
        return [f"output values: shapes {out1.shape} and {out2.shape}"]
    if not np.allclose(out1, out2, rtol=rtol, atol=atol):
        return [f"output values differ: max abs difference {np.max(np.abs(out1 - out2)):.3g}"]
    return []
