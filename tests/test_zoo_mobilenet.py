"""mobilenet_v1.slim and mobilenet_v2.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("mobilenet_v1", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1-train", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1-global_pool", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1-features", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1_075", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1_050", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1_025", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1_base", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v1_base-Conv2d_7", pending="mobilenet_v1.slim not written yet"),
    zoo.case("mobilenet_v2", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2-train", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2_140", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2_035", pending="mobilenet_v2.slim not written yet"),
    zoo.case("mobilenet_v2_base", pending="mobilenet_v2.slim not written yet"),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
