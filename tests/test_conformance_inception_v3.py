"""inception_v3.slim against tf_slim.nets.inception_v3 (see tests/conformance.py)."""

import pytest

import slimlang
from conformance import build_slim, compare
from tf_slim.nets import inception_v3 as ref

FULL = (1, 299, 299, 3)


def _compare(name, kwargs, input_shape=FULL):
    return compare(getattr(ref, name), ref.inception_v3_arg_scope, "inception_v3", name, input_shape, kwargs)


CASES = [
    ("inception_v3", {}, FULL),
    ("inception_v3", {"num_classes": 10, "is_training": False}, FULL),  # values compared
    ("inception_v3", {"create_aux_logits": False}, FULL),
    ("inception_v3", {"spatial_squeeze": False, "num_classes": 10}, FULL),
    ("inception_v3", {"depth_multiplier": 0.5, "num_classes": 10}, FULL),
    # 150x150: Mixed_7c is 3x3 and Mixed_6e 8x8, so both reduced kernels apply (AvgPool_1a_3x3, Conv2d_2a_2x2).
    ("inception_v3", {"num_classes": 10, "is_training": False}, (1, 150, 150, 3)),
    ("inception_v3_base", {}, FULL),
    ("inception_v3_base", {"final_endpoint": "Conv2d_1a_3x3"}, FULL),
    ("inception_v3_base", {"final_endpoint": "MaxPool_5a_3x3"}, FULL),
    ("inception_v3_base", {"final_endpoint": "Mixed_5c"}, FULL),
    ("inception_v3_base", {"final_endpoint": "Mixed_6e", "depth_multiplier": 0.25}, FULL),
    ("inception_v3_base", {"final_endpoint": "Mixed_7a", "min_depth": 32, "depth_multiplier": 0.1}, FULL),
]


@pytest.mark.parametrize("name,kwargs,input_shape", CASES, ids=[f"{n}-{k}-{s[1]}" for n, k, s in CASES])
def test_inception_v3_matches_tf_slim(name, kwargs, input_shape):
    assert _compare(name, kwargs, input_shape) == []


def test_bad_final_endpoint():
    with pytest.raises(slimlang.SlimError, match="unknown final end point"):
        build_slim("inception_v3", "inception_v3_base", FULL, {"final_endpoint": "Mixed_9z"})


def test_bad_depth_multiplier():
    with pytest.raises(slimlang.SlimError, match="depth_multiplier is not greater than zero"):
        build_slim("inception_v3", "inception_v3", FULL, {"depth_multiplier": 0.0})
