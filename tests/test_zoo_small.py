"""lenet.slim, cifarnet.slim and dcgan.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("lenet"),
    zoo.case("lenet-train"),
    zoo.case("cifarnet"),
    zoo.case("cifarnet-train"),
    zoo.case("dcgan_generator"),
    zoo.case("dcgan_generator-eval"),
    zoo.case("dcgan_discriminator"),
    zoo.case("dcgan_discriminator-eval"),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
