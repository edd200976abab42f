"""cifarnet.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import pytest
import zoo

CASES = zoo.params(
    zoo.case("cifarnet"),
    zoo.case("cifarnet-train"),
)


@pytest.mark.parametrize("case_id,lowering", CASES)
def test_matches_reference(case_id, lowering):
    zoo.assert_matches(case_id, lowering)


def test_fails_without_local_response_normalization(tmp_path):
    """The facts catch a network with its `lrn` layers left out (the reason cifarnet could not be
    written before): every end point after them differs."""
    fx = zoo.fixture("cifarnet")
    text = zoo.slim_path(fx).read_text()
    broken = "\n".join(line for line in text.splitlines() if not line.strip().startswith("lrn "))
    assert broken != text
    path = tmp_path / "cifarnet.slim"
    path.write_text(broken + "\n")
    diffs = zoo.differences(fx, zoo.measure(fx, "load", path))
    assert any(d.startswith("values: pool2") for d in diffs), diffs
