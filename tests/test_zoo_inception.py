"""inception_v4.slim and inception_resnet_v2.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("inception_v4", slow=True),
    zoo.case("inception_v4-train", slow=True, lowerings=["emit"]),
    zoo.case("inception_v4_base", slow=True, lowerings=["emit"]),
    zoo.case("inception_resnet_v2", slow=True),
    zoo.case("inception_resnet_v2-train", slow=True, lowerings=["load"]),
    zoo.case("inception_resnet_v2_base-os8", slow=True, lowerings=["emit"]),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
