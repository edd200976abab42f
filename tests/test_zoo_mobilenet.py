"""mobilenet_v1.slim and mobilenet_v2.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("mobilenet_v1"),
    zoo.case("mobilenet_v1-train"),
    zoo.case("mobilenet_v1-global_pool"),
    zoo.case("mobilenet_v1-features"),
    zoo.case("mobilenet_v1_075"),
    zoo.case("mobilenet_v1_050"),
    zoo.case("mobilenet_v1_025"),
    zoo.case("mobilenet_v1_base"),
    zoo.case("mobilenet_v1_base-Conv2d_7"),
    zoo.case("mobilenet_v2", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2-train", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2_140", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2_035", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2_base", pending="mobilenet_v2.slim not written yet"),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
