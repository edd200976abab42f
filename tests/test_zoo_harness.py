"""The zoo harness itself (tests/zoo.py): it fails on a broken network, and every fixture is tested."""

import copy
import importlib
import json

import pytest
import zoo


def test_a_network_with_a_layer_left_out_fails(tmp_path):
    """lenet.slim without its second pooling layer: variable shapes and end points differ."""
    text = (zoo.NETS / "lenet.slim").read_text()
    line = "  pool 2x2 stride=2 as pool2 endpoint\n"
    assert line in text
    broken = tmp_path / "lenet.slim"
    broken.write_text(text.replace(line, ""))
    fx = zoo.fixture("lenet")
    diffs = zoo.differences(fx, zoo.measure(fx, "load", broken))
    keys = {d.split(":")[0] for d in diffs}
    assert {"global_variables", "end_points"} <= keys, diffs


def _values_fixture():
    return {"a": {"shape": [2, 3], "mean": 1.0, "std": 2.0, "min": -3.0, "max": 4.0, "abs_mean": 1.5,
                  "sample": [0.5, -1.25, 3.0, 0.0]}}


@pytest.mark.parametrize("field", ["mean", "std", "min", "max", "abs_mean", "sample"])
def test_values_are_compared_within_1e_4_of_the_tensor_scale(field):
    want = _values_fixture()
    scale = 5 ** 0.5  # hypot(mean, std)
    assert zoo.value_differences(want, copy.deepcopy(want)) == []
    for delta, differs in ((1e-4 * scale * 0.5, False), (1e-4 * (scale + 4.0) * 1.5, True)):
        got = copy.deepcopy(want)
        if field == "sample":
            got["a"]["sample"][0] += delta
        else:
            got["a"][field] += delta
        assert bool(zoo.value_differences(want, got)) == differs, (field, delta)


def test_missing_end_point_values_and_shapes_are_reported():
    want = _values_fixture()
    assert zoo.value_differences(want, {}) == ["values: a: not measured in .slim"]
    got = copy.deepcopy(want)
    got["a"]["shape"] = [3, 2]
    assert "shape" in zoo.value_differences(want, got)[0]


def test_every_fixture_has_a_test():
    for path in sorted(zoo.ROOT.glob("tests/test_zoo_*.py")):
        if path.stem != "test_zoo_harness":
            importlib.import_module(path.stem)
    fixtures = {p.stem for p in zoo.FIXTURES.glob("*.json")}
    assert fixtures - set(zoo.REGISTERED) == set(), "fixtures no tests/test_zoo_*.py registers"


def test_fixtures_name_their_reference_and_are_compact():
    total = 0
    for path in zoo.FIXTURES.glob("*.json"):
        fx = json.loads(path.read_text())
        assert fx["reference"].startswith("tensorflow/models@"), path.name
        assert fx["id"] == path.stem
        total += path.stat().st_size
    assert total < 4 * 2 ** 20
