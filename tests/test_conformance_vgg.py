"""vgg.slim against tf_slim.nets.vgg (see tests/conformance.py)."""

import pytest

from conformance import compare
from tf_slim.nets import vgg

CASES = [
    ("vgg_a", {}),
    ("vgg_16", {}),
    ("vgg_19", {}),
    ("vgg_16", {"num_classes": 10, "is_training": False}),
    ("vgg_a", {"spatial_squeeze": False, "is_training": False}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_vgg_matches_tf_slim(name, kwargs):
    assert compare(getattr(vgg, name), vgg.vgg_arg_scope, "vgg", name, (1, 224, 224, 3), kwargs) == []


def test_vgg_16_fully_convolutional():
    kwargs = {"num_classes": 10, "spatial_squeeze": False, "is_training": False}
    assert compare(vgg.vgg_16, vgg.vgg_arg_scope, "vgg", "vgg_16", (1, 256, 288, 3), kwargs) == []
