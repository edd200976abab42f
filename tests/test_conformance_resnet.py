"""resnet_v1.slim / resnet_v2.slim against tf_slim.nets.resnet_v1 / resnet_v2 (see tests/conformance.py)."""

import numpy as np
import pytest

import slimlang
from conformance import _graph_facts, build_reference, build_slim, compare
from slimlang.tfcompat import tf
from tf_slim.nets import resnet_v1, resnet_v2

REF = {"resnet_v1": resnet_v1, "resnet_v2": resnet_v2}
SLOW = pytest.mark.slow


def _ref(name):
    module = REF[name[:9]]
    return getattr(module, name), module.resnet_arg_scope


def _compare(name, kwargs, input_shape=(1, 224, 224, 3)):
    ref_fn, ref_scope = _ref(name)
    return compare(ref_fn, ref_scope, name[:9], name, input_shape, kwargs)


# Every model with its defaults (the 152/200 layer ones take a while to build).
@pytest.mark.parametrize("name", [
    "resnet_v1_50", "resnet_v1_101", pytest.param("resnet_v1_152", marks=SLOW), pytest.param("resnet_v1_200", marks=SLOW),
    "resnet_v2_50", "resnet_v2_101", pytest.param("resnet_v2_152", marks=SLOW), pytest.param("resnet_v2_200", marks=SLOW),
])
def test_defaults_match_tf_slim(name):
    assert _compare(name, {}) == []


# Classification head, and dense prediction with atrous convolution (inputs of
# 32k + 1 pixels keep the corners aligned): 225 -> 29x29 at output_stride 8,
# 321 -> 21x21 at output_stride 16.  is_training=False: output values compared.
VALUE_CASES = [
    ("resnet_v1_50", {"num_classes": 10, "is_training": False}, (1, 224, 224, 3)),
    ("resnet_v2_50", {"num_classes": 10, "is_training": False}, (1, 224, 224, 3)),
    ("resnet_v1_50", {"global_pool": False, "output_stride": 8, "is_training": False}, (1, 225, 225, 3)),
    ("resnet_v1_50", {"global_pool": False, "output_stride": 16, "is_training": False}, (1, 321, 321, 3)),
    ("resnet_v2_50", {"global_pool": False, "output_stride": 8, "is_training": False}, (1, 225, 225, 3)),
    ("resnet_v2_50", {"global_pool": False, "output_stride": 16, "is_training": False}, (1, 321, 321, 3)),
]


# The harness's value check loads every variable with a session run of its
# own (~25 s per ResNet-50 graph), so these are slow; the quick suite checks
# the same things, values included, through a checkpoint below.
@SLOW
@pytest.mark.parametrize("name,kwargs,input_shape", VALUE_CASES, ids=[f"{n}-{k}-{s[1]}" for n, k, s in VALUE_CASES])
def test_matches_tf_slim_with_values(name, kwargs, input_shape):
    assert _compare(name, kwargs, input_shape) == []


def _checkpoint_roundtrip(name, kwargs, input_shape, tmp_path):
    """Build both graphs once; same structure; the reference's checkpoint restores into the .slim graph
    with a plain Saver, variable for variable, and both give the same outputs."""
    ref_fn, ref_scope = _ref(name)
    g1, x1, net1, ep1 = build_reference(ref_fn, ref_scope, input_shape, kwargs)
    g2, x2, net2, ep2 = build_slim(name[:9], name, input_shape, kwargs)
    assert _graph_facts(g1, net1, ep1) == _graph_facts(g2, net2, ep2)
    rng = np.random.RandomState(0)
    batch = rng.uniform(-1, 1, size=input_shape).astype(np.float32)
    path = str(tmp_path / "reference.ckpt")
    with g1.as_default(), tf.compat.v1.Session(graph=g1) as s:
        s.run(tf.compat.v1.global_variables_initializer())
        # Non-trivial moving statistics, so batch norm in inference mode is exercised.
        stats = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith(("moving_mean", "moving_variance"))]
        s.run([v.assign(rng.uniform(0.5, 1.5, size=v.shape.as_list()).astype(np.float32)) for v in stats])
        tf.compat.v1.train.Saver().save(s, path)
        saved = s.run({v.op.name: v for v in tf.compat.v1.global_variables()})
        expected = s.run(net1, {x1: batch})
    assert sorted(n for n, _ in tf.train.list_variables(path)) == sorted(saved)
    with g2.as_default(), tf.compat.v1.Session(graph=g2) as s:
        tf.compat.v1.train.Saver().restore(s, path)
        restored = s.run({v.op.name: v for v in tf.compat.v1.global_variables()})
        got = s.run(net2, {x2: batch})
    assert sorted(restored) == sorted(saved)
    assert all(np.array_equal(restored[k], saved[k]) for k in saved)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# One graph per version covers the head, no global pooling and both atrous settings.
@pytest.mark.parametrize("name,kwargs,input_shape", [
    pytest.param("resnet_v1_50", {"num_classes": 10, "is_training": False, "global_pool": False, "output_stride": 8},
                 (1, 225, 225, 3), id="resnet_v1_50-output_stride_8-225"),
    pytest.param("resnet_v2_50", {"num_classes": 10, "is_training": False, "global_pool": False, "output_stride": 16},
                 (1, 321, 321, 3), id="resnet_v2_50-output_stride_16-321"),
])
def test_reference_checkpoint_restores_into_slim_graph(name, kwargs, input_shape, tmp_path):
    _checkpoint_roundtrip(name, kwargs, input_shape, tmp_path)


@pytest.mark.parametrize("name", ["resnet_v1_50", "resnet_v2_50"])
def test_output_stride_not_multiple_of_4(name):
    ref_fn, ref_scope = _ref(name)
    message = "The output_stride needs to be a multiple of 4."
    with pytest.raises(ValueError, match=message):
        build_reference(ref_fn, ref_scope, (1, 224, 224, 3), {"output_stride": 3})
    with pytest.raises(slimlang.SlimError, match=message):
        build_slim(name[:9], name, (1, 224, 224, 3), {"output_stride": 3})


def test_output_stride_cannot_be_reached():
    # Strides 4 (root), 2, 2, 2: 12 is passed over in block3, before any graph for it is built.
    ref_fn, ref_scope = _ref("resnet_v1_50")
    message = "The target output_stride cannot be reached."
    with pytest.raises(ValueError, match=message):
        build_reference(ref_fn, ref_scope, (1, 224, 224, 3), {"output_stride": 12})
    with pytest.raises(slimlang.SlimError, match=message):
        build_slim("resnet_v1", "resnet_v1_50", (1, 224, 224, 3), {"output_stride": 12})
