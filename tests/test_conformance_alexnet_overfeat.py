"""alexnet.slim and overfeat.slim against tf_slim.nets.alexnet / overfeat (see tests/conformance.py)."""

import pytest

from conformance import compare
from tf_slim.nets import alexnet, overfeat

# name -> (reference model, its arg scope, .slim file stem, image size)
NETS = {
    "alexnet_v2": (alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope, "alexnet", 224),
    "overfeat": (overfeat.overfeat, overfeat.overfeat_arg_scope, "overfeat", 231),
}

# is_training=False also compares output values, which initializes every
# variable twice: ~20 s per graph for overfeat's 145M parameters, so those
# cases are marked slow (alexnet's 50M stay in the quick suite).
_SLOW = pytest.mark.slow
CASES = [
    pytest.param(name, kwargs, id=f"{name}-{kwargs}",
                 marks=[_SLOW] if name == "overfeat" and kwargs.get("is_training") is False else [])
    for name in NETS
    for kwargs in ({}, {"num_classes": 10, "is_training": False}, {"spatial_squeeze": False})
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_matches_tf_slim(name, kwargs):
    ref, ref_scope, file_stem, size = NETS[name]
    assert compare(ref, ref_scope, file_stem, name, (1, size, size, 3), kwargs) == []


# Larger inputs, fully convolutional: a spatial map of class scores instead of one vector.
@pytest.mark.parametrize("name,input_shape", [
    ("alexnet_v2", (1, 256, 288, 3)),                           # -> (1, 2, 3, 10)
    pytest.param("overfeat", (1, 263, 295, 3), marks=_SLOW),    # -> (1, 2, 3, 10)
])
def test_fully_convolutional(name, input_shape):
    ref, ref_scope, file_stem, _ = NETS[name]
    kwargs = {"num_classes": 10, "spatial_squeeze": False, "is_training": False}
    assert compare(ref, ref_scope, file_stem, name, input_shape, kwargs) == []


def test_default_image_size():
    from conformance import load_net_file

    assert load_net_file("alexnet").alexnet_v2.default_image_size == alexnet.alexnet_v2.default_image_size
    assert load_net_file("overfeat").overfeat.default_image_size == 231
