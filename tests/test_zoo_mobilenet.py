"""mobilenet_v1.slim, mobilenet_v2.slim and mobilenet_v3.slim against TF-Slim's model zoo (tests/zoo.py).

Each network is checked through both lowerings; its variants (other widths,
training mode, the base) through one each, alternating, to keep CI time down.
"""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("mobilenet_v1", slow=True),
    zoo.case("mobilenet_v1-train", lowerings=["emit"]),
    zoo.case("mobilenet_v1-global_pool", lowerings=["load"]),
    zoo.case("mobilenet_v1-features", lowerings=["emit"]),
    zoo.case("mobilenet_v1_075", lowerings=["load"]),
    zoo.case("mobilenet_v1_050", lowerings=["emit"]),
    zoo.case("mobilenet_v1_025", lowerings=["load"]),
    zoo.case("mobilenet_v1_base", lowerings=["emit"]),
    zoo.case("mobilenet_v1_base-Conv2d_7", lowerings=["load"]),
    zoo.case("mobilenet_v1_base-conv_defs"),
    zoo.case("mobilenet_v2", slow=True),
    zoo.case("mobilenet_v2-train", slow=True, lowerings=["emit"]),
    zoo.case("mobilenet_v2_140", slow=True, lowerings=["load"]),
    zoo.case("mobilenet_v2_035", slow=True, lowerings=["emit"]),
    zoo.case("mobilenet_v2_base", slow=True, lowerings=["load"]),
    zoo.case("mobilenet_v3_large", slow=True, lowerings=["load"]),
    zoo.case("mobilenet_v3_small", slow=True, lowerings=["emit"]),
    zoo.case("mobilenet_v3_edge_tpu", slow=True, lowerings=["emit"]),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
