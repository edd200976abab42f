"""nasnet.slim and pnasnet.slim against TF-Slim's model zoo (see tests/zoo.py)."""

import math

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


@pytest.mark.parametrize("file,model,case_id", [
    ("nasnet", "build_nasnet_cifar", "nasnet_cifar"),
    ("nasnet", "build_nasnet_mobile", "nasnet_mobile"),
    ("nasnet", "build_nasnet_large", "nasnet_large"),
    ("pnasnet", "build_pnasnet_mobile", "pnasnet_mobile"),
    ("pnasnet", "build_pnasnet_large", "pnasnet_large"),
])
def test_summary_counts_the_reference_parameters(file, model, case_id):
    """`slimlang summary` (the shape backend, no TensorFlow) totals the reference's trainable
    parameters as the fixture records them: NASNet-A Mobile 5,291,035, Large 88,757,183,
    PNASNet-5 Mobile 5,065,568, Large 86,061,989 (the papers' 5.3M, 88.9M, 5.1M, 86.1M)."""
    from slimlang.checker import check_file
    from slimlang.shapes import summarize_model

    fx = zoo.fixture(case_id)
    shapes = dict((n, s) for n, s in fx["global_variables"])
    reference = sum(math.prod(shapes[n]) for n in fx["trainable_variables"])
    prog = check_file(zoo.NETS / f"{file}.slim")
    summary = summarize_model(prog, model, tuple(fx["input_shape"]), dict(fx["kwargs"]))
    assert summary.trainable == reference
