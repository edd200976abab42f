"""inception_v1.slim and inception_v2.slim against tf_slim.nets.inception_v1 / inception_v2
(see tests/conformance.py).  Whole networks take a while to build twice, so
they are marked slow; the fast tests build only the first layers."""

import functools

import pytest

import slimlang
from conformance import compare, load_net_file
from slimlang.tfcompat import tf
from tf_slim.nets import inception_v1, inception_v2

V1 = (inception_v1, inception_v1.inception_v1_arg_scope, "inception_v1")
V2 = (inception_v2, inception_v2.inception_v2_arg_scope, "inception_v2")
BASES = [("inception_v1", "inception_v1_base"), ("inception_v2", "inception_v2_base")]

FAST_CASES = [
    (V1, "inception_v1_base", (1, 224, 224, 3), {"final_endpoint": "Conv2d_2c_3x3"}),
    (V1, "inception_v1_base", (1, 224, 224, 3), {"final_endpoint": "MaxPool_3a_3x3"}),
    (V2, "inception_v2_base", (1, 224, 224, 3), {"final_endpoint": "Conv2d_1a_7x7"}),
    (V2, "inception_v2_base", (1, 224, 224, 3), {"final_endpoint": "MaxPool_3a_3x3", "depth_multiplier": 0.1,
                                                 "min_depth": 8}),
]

SLOW_CASES = [
    (V1, "inception_v1", (1, 224, 224, 3), {}),
    (V1, "inception_v1", (1, 224, 224, 3), {"num_classes": 10, "is_training": False}),
    (V1, "inception_v1", (1, 224, 224, 3), {"is_training": False}),
    (V1, "inception_v1", (1, 224, 224, 3), {"spatial_squeeze": False}),
    (V1, "inception_v1_base", (1, 224, 224, 3), {}),
    (V1, "inception_v1_base", (1, 224, 224, 3), {"final_endpoint": "Mixed_3b"}),
    (V1, "inception_v1_base", (1, 224, 224, 3), {"final_endpoint": "Mixed_4d"}),
    (V1, "inception_v1_base", (1, 224, 224, 3), {"final_endpoint": "MaxPool_5a_2x2"}),
    # 256x256 leaves a 2x2 map after the 7x7 pool, so the logits cannot be squeezed.
    (V1, "inception_v1", (1, 256, 256, 3), {"num_classes": 10, "spatial_squeeze": False, "is_training": False}),
    (V2, "inception_v2", (1, 224, 224, 3), {}),
    (V2, "inception_v2", (1, 224, 224, 3), {"num_classes": 10, "is_training": False}),
    (V2, "inception_v2", (1, 224, 224, 3), {"is_training": False}),
    (V2, "inception_v2", (1, 224, 224, 3), {"spatial_squeeze": False}),
    (V2, "inception_v2", (1, 224, 224, 3), {"depth_multiplier": 0.5, "num_classes": 10, "is_training": False}),
    (V2, "inception_v2_base", (1, 224, 224, 3), {}),
    (V2, "inception_v2_base", (1, 224, 224, 3), {"final_endpoint": "Mixed_3c"}),
    (V2, "inception_v2_base", (1, 224, 224, 3), {"final_endpoint": "Mixed_4a"}),
    (V2, "inception_v2_base", (1, 224, 224, 3), {"final_endpoint": "Mixed_5a", "depth_multiplier": 0.5}),
    # The final pool shrinks or stays 7x7 as the input changes.
    (V2, "inception_v2", (1, 256, 256, 3), {"num_classes": 10, "is_training": False}),
    (V2, "inception_v2", (1, 160, 160, 3), {"num_classes": 10, "is_training": False}),
]


def _ids(cases):
    return [f"{name}-{shape[1]}-{kwargs}" for _, name, shape, kwargs in cases]


def _check(net, name, shape, kwargs):
    ref_module, ref_arg_scope, file_name = net
    assert compare(getattr(ref_module, name), ref_arg_scope, file_name, name, shape, kwargs) == []


@pytest.mark.parametrize("net,name,shape,kwargs", FAST_CASES, ids=_ids(FAST_CASES))
def test_inception_matches_tf_slim(net, name, shape, kwargs):
    _check(net, name, shape, kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("net,name,shape,kwargs", SLOW_CASES, ids=_ids(SLOW_CASES))
def test_inception_matches_tf_slim_whole(net, name, shape, kwargs):
    _check(net, name, shape, kwargs)


def _without_arg_scope(fn):
    """The reference function, ignoring the `arg_scope=` meant for the .slim side."""

    def ref(inputs, arg_scope=None, **kwargs):
        return fn(inputs, **kwargs)

    return ref


def test_inception_v1_arg_scope_without_batch_norm():
    slim_scope = load_net_file("inception_v1").inception_v1_arg_scope(use_batch_norm=False)
    ref_scope = functools.partial(inception_v1.inception_v1_arg_scope, use_batch_norm=False)
    kwargs = {"final_endpoint": "Conv2d_2c_3x3", "arg_scope": slim_scope}
    assert compare(_without_arg_scope(inception_v1.inception_v1_base), ref_scope, "inception_v1",
                   "inception_v1_base", (1, 224, 224, 3), kwargs, values=True) == []


@pytest.mark.parametrize("file_name,model", BASES)
def test_batch_norm_var_collection(file_name, model):
    module = load_net_file(file_name)
    arg_scope = getattr(module, f"{file_name}_arg_scope")(batch_norm_var_collection="my_moving_vars")
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3])
        getattr(module, model)(x, final_endpoint="Conv2d_2b_1x1", arg_scope=arg_scope)
        names = sorted(v.op.name for v in tf.compat.v1.get_collection("my_moving_vars"))
    prefix = "InceptionV1" if file_name == "inception_v1" else "InceptionV2"
    first = "Conv2d_1a_7x7" if file_name == "inception_v1" else "Conv2d_2b_1x1"
    assert f"{prefix}/{first}/BatchNorm/moving_mean" in names
    assert f"{prefix}/{first}/BatchNorm/moving_variance" in names
    assert all(n.endswith(("moving_mean", "moving_variance")) for n in names)


@pytest.mark.parametrize("file_name,model", BASES)
def test_unknown_final_endpoint_static(file_name, model):
    # The shape backend (`slimlang summary`) walks the same statements without TensorFlow.
    from slimlang.shapes import summarize_model

    program = load_net_file(file_name).program
    assert summarize_model(program, model, (1, 224, 224, 3), {"final_endpoint": "Mixed_4b"}).output_shape[1:3] == (14, 14)
    with pytest.raises(slimlang.SlimError, match="unknown final end point 'Mixed_9z'"):
        summarize_model(program, model, (1, 224, 224, 3), {"final_endpoint": "Mixed_9z"})


@pytest.mark.slow
@pytest.mark.parametrize("file_name,model", BASES)
def test_unknown_final_endpoint(file_name, model):
    module = load_net_file(file_name)
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3])
        with pytest.raises(slimlang.SlimError, match="unknown final end point 'Mixed_9z'"):
            getattr(module, model)(x, final_endpoint="Mixed_9z")
        with pytest.raises(ValueError, match="Unknown final endpoint Mixed_9z"):
            getattr(inception_v1 if file_name == "inception_v1" else inception_v2, model)(
                x, final_endpoint="Mixed_9z", scope="Reference")


@pytest.mark.parametrize("model", ["inception_v2", "inception_v2_base"])
def test_inception_v2_depth_multiplier_must_be_positive(model):
    module = load_net_file("inception_v2")
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3])
        with pytest.raises(slimlang.SlimError, match="depth_multiplier is not greater than zero"):
            getattr(module, model)(x, depth_multiplier=0.0)
        with pytest.raises(ValueError, match="depth_multiplier is not greater than zero"):
            getattr(inception_v2, model)(x, depth_multiplier=0.0)
