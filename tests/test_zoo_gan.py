"""pix2pix.slim and cyclegan.slim against TF-Slim's model zoo (see tests/zoo.py).

dcgan.slim is in tests/test_zoo_small.py.
"""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("pix2pix_generator"),
    zoo.case("pix2pix_generator-no_dropout"),
    zoo.case("pix2pix_generator-conv2d_transpose"),
    zoo.case("pix2pix_discriminator"),
    zoo.case("cyclegan_generator"),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
