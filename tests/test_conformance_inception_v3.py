"""inception_v3.slim against tf_slim.nets.inception_v3 (see tests/conformance.py).

Building a whole Inception V3 twice (reference and .slim) takes seconds, so
those cases are marked slow; the fast ones stop early with `final_endpoint`.
"""

import pytest

import slimlang
from conformance import build_slim, compare, load_net_file
from slimlang.shapes import summarize_model
from tf_slim.nets import inception_v3 as ref

FULL = (1, 299, 299, 3)
SMALL = (1, 150, 150, 3)  # Mixed_6e is 7x7 and Mixed_7c 3x3: both reduced kernels apply
slow = pytest.mark.slow

CASES = [
    ("inception_v3_base", {"final_endpoint": "Conv2d_1a_3x3"}, FULL),
    ("inception_v3_base", {"final_endpoint": "MaxPool_5a_3x3"}, FULL),
    ("inception_v3_base", {"final_endpoint": "Mixed_5c", "depth_multiplier": 0.5}, FULL),
    pytest.param("inception_v3_base", {"final_endpoint": "Mixed_6e", "depth_multiplier": 0.25}, FULL, marks=slow),
    pytest.param("inception_v3_base", {"final_endpoint": "Mixed_7a", "min_depth": 32, "depth_multiplier": 0.1},
                 FULL, marks=slow),
    pytest.param("inception_v3_base", {}, FULL, marks=slow),
    pytest.param("inception_v3", {}, FULL, marks=slow),
    pytest.param("inception_v3", {"num_classes": 10, "is_training": False}, FULL, marks=slow),  # values compared
    pytest.param("inception_v3", {"create_aux_logits": False}, FULL, marks=slow),
    pytest.param("inception_v3", {"spatial_squeeze": False, "num_classes": 10}, FULL, marks=slow),
    pytest.param("inception_v3", {"depth_multiplier": 0.5, "num_classes": 10}, FULL, marks=slow),
    pytest.param("inception_v3", {"num_classes": 10, "is_training": False}, SMALL, marks=slow),  # values compared
]


def _id(case):
    name, kwargs, shape = case.values if hasattr(case, "values") else case
    return f"{name}-{shape[1]}-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("name,kwargs,input_shape", CASES, ids=[_id(c) for c in CASES])
def test_inception_v3_matches_tf_slim(name, kwargs, input_shape):
    assert compare(getattr(ref, name), ref.inception_v3_arg_scope, "inception_v3", name, input_shape, kwargs) == []


def test_small_input_reduces_kernels():
    summary = summarize_model(load_net_file("inception_v3").program, "inception_v3", SMALL, {"num_classes": 10})
    names = [r.name for r in summary.rows]
    assert "InceptionV3/AuxLogits/Conv2d_2a_1x1" in names
    assert "InceptionV3/Logits/AvgPool_1a_3x3" in names
    assert summary.output_shape == (1, 10)


def test_bad_final_endpoint():
    with pytest.raises(slimlang.SlimError, match="unknown final end point"):
        summarize_model(load_net_file("inception_v3").program, "inception_v3_base", FULL, {"final_endpoint": "Mixed_9z"})


@slow
def test_bad_final_endpoint_graph():
    with pytest.raises(slimlang.SlimError, match="unknown final end point"):
        build_slim("inception_v3", "inception_v3_base", FULL, {"final_endpoint": "Mixed_9z"})


def test_bad_depth_multiplier():
    for model in ("inception_v3", "inception_v3_base"):
        with pytest.raises(slimlang.SlimError, match="depth_multiplier is not greater than zero"):
            build_slim("inception_v3", model, FULL, {"depth_multiplier": 0.0})
