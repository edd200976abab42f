"""i3d.slim and s3dg.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("i3d", slow=True, pending="i3d.slim not written yet"),
    zoo.case("s3dg", slow=True, pending="s3dg.slim not written yet"),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)
