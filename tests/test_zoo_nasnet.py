"""nasnet.slim and pnasnet.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("nasnet_cifar", slow=True),
    zoo.case("nasnet_cifar-train", slow=True, lowerings=["load"]),
    zoo.case("nasnet_mobile", slow=True),
    zoo.case("nasnet_large", slow=True, lowerings=["load"]),
    zoo.case("pnasnet_mobile", slow=True),
    zoo.case("pnasnet_large", slow=True, lowerings=["load"]),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
