"""The zoo facts catch a network that builds the right variables but computes something else
(cifarnet.slim's cases are in tests/test_zoo_small.py)."""

import pytest
import zoo


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


@pytest.mark.slow
def test_fails_without_the_residual_scale(tmp_path):
    """inception_resnet_v2 with its residuals unscaled (no `up * scale`) builds the same variables
    but computes something else: the facts catch it from Mixed_6a on."""
    fx = zoo.fixture("inception_resnet_v2")
    text = zoo.slim_path(fx).read_text()
    broken = "\n".join(line for line in text.splitlines() if line.strip() != "mul scale")
    assert "\n  mul scale\n" in text and "\n  mul scale\n" not in broken
    path = tmp_path / "inception_resnet_v2.slim"
    path.write_text(broken + "\n")
    diffs = zoo.differences(fx, zoo.measure(fx, "load", path))
    assert not [d for d in diffs if not d.startswith("values:")], diffs  # same variables and end points
    assert any(d.startswith("values: Mixed_6a") for d in diffs), diffs
