"""Zoo conformance harness: a .slim network against FACTS recorded from TF-Slim's model zoo.

tools/zoo_facts.py ran each reference network (tensorflow/models,
research/slim/nets) and wrote tests/fixtures/zoo/<case>.json: how it was
called, its variables, collections, end points and shapes, and statistics
plus a fixed sample of the values of its output and of every end point for a
fixed input with every variable filled from its name. This module builds the
.slim network of a case (examples/nets/<reference module>.slim, the same
function, arg_scope and keyword arguments) through `slimlang.load` or through
the module `--emit py` writes, measures it with the same code
(tools/zoo_facts.py) and lists the differences: names and shapes must be
equal, values within 1e-4 relative to the tensor's scale.

A test file registers one line per case:

    CASES = zoo.params(
        zoo.case("mobilenet_v1"),
        zoo.case("inception_v4", slow=True),
        zoo.case("mobilenet_v1_075", lowerings=["load"]),
        zoo.case("cifarnet", pending="needs local response normalization"),
    )

A pending case is expected to fail (xfail, strict): once its .slim file
matches, the unexpected pass reports that the mark must go.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
NETS = ROOT / "examples" / "nets"
FIXTURES = ROOT / "tests" / "fixtures" / "zoo"
sys.path.insert(0, str(ROOT / "tools"))

import zoo_facts  # noqa: E402  (tools/ is not a package)

RTOL = 1e-4
LOWERINGS = ("load", "emit")
STRUCTURE = ("global_variables", "model_variables", "trainable_variables", "regularization_losses",
             "update_ops", "end_points", "output_shape")

# Every case id some test file registered (tests/test_zoo_harness.py checks
# that no fixture is left without a test).
REGISTERED: dict[str, str | None] = {}


@functools.lru_cache(maxsize=None)
def fixture(case_id: str) -> dict:
    return json.loads((FIXTURES / f"{case_id}.json").read_text())


def slim_path(fx: dict) -> Path:
    """examples/nets/<last component of the reference module>.slim"""
    return NETS / (fx["module"].rsplit(".", 1)[-1] + ".slim")


@functools.lru_cache(maxsize=None)
def _loaded(path: str):
    import slimlang

    return slimlang.load(path)


_EMIT_DIR = None


@functools.lru_cache(maxsize=None)
def _emitted(path: str):
    global _EMIT_DIR
    from slimlang.checker import check_file
    from slimlang.emit import emit_module

    if _EMIT_DIR is None:
        _EMIT_DIR = tempfile.mkdtemp(prefix="zoo_emit_")
    text = emit_module(check_file(path))
    name = f"zoo_emitted_{Path(path).stem}_{abs(hash(path))}"
    f = Path(_EMIT_DIR) / f"{name}.py"
    f.write_text(text)
    spec = importlib.util.spec_from_file_location(name, f)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(fx: dict, lowering: str, path: Path | None = None):
    """Build the .slim network of fixture `fx` in a new graph: (graph, input, net, end_points)."""
    from slimlang.tfcompat import slim, tf

    path = str(path or slim_path(fx))
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, fx["input_shape"], name="inputs")
        kwargs = {k: zoo_facts.slim_value(v) for k, v in fx["kwargs"].items()}
        if lowering == "load":
            mod = _loaded(path)
            fn = getattr(mod, fx["function"])
            if fx["arg_scope"]:
                kwargs["arg_scope"] = getattr(mod, fx["arg_scope"])(**fx["arg_scope_kwargs"])
            net, end_points = fn(x, **kwargs)
        elif lowering == "emit":
            mod = _emitted(path)
            fn = getattr(mod, fx["function"])
            if fx["arg_scope"]:
                with slim.arg_scope(getattr(mod, fx["arg_scope"])(**fx["arg_scope_kwargs"])):
                    net, end_points = fn(x, **kwargs)
            else:
                net, end_points = fn(x, **kwargs)
        else:
            raise ValueError(lowering)
    return g, x, net, end_points


def measure(fx: dict, lowering: str, path: Path | None = None) -> dict:
    """The facts of the .slim network, measured as tools/zoo_facts.py measured the reference."""
    g, x, net, end_points = build(fx, lowering, path)
    got = zoo_facts.structure(g, net, end_points)
    if "values" in fx:
        got["values"] = zoo_facts.values(g, x, net, end_points, zoo_facts.input_batch(fx["input_shape"]))
    return got


def _frozen(item):
    return tuple(_frozen(i) for i in item) if isinstance(item, list) else item


def _list_diff(key, want, got):
    w = [_frozen(i) for i in want]
    g = [_frozen(i) for i in got]
    ws, gs = set(w), set(g)
    only_ref = [i for i in w if i not in gs][:5]
    only_slim = [i for i in g if i not in ws][:5]
    return (f"{key}: {len(w)} in the reference, {len(g)} in .slim; only in reference {only_ref}, "
            f"only in .slim {only_slim}" + ("" if only_ref or only_slim else " (same items, different order)"))


def _close(want, got, scale) -> bool:
    want = np.asarray(want, np.float64)
    got = np.asarray(got, np.float64)
    return want.shape == got.shape and bool(np.all(np.abs(want - got) <= RTOL * (np.abs(want) + scale)))


def value_differences(want: dict, got: dict) -> list[str]:
    """Tensors whose statistics or sampled elements differ by more than RTOL of the tensor's scale."""
    diffs = []
    for key, w in want.items():
        g = got.get(key)
        if g is None:
            diffs.append(f"values: {key}: not measured in .slim")
            continue
        if w["shape"] != g["shape"]:
            diffs.append(f"values: {key}: shape {w['shape']} in the reference, {g['shape']} in .slim")
            continue
        scale = float(np.hypot(w["mean"], w["std"])) or 1.0
        bad = [s for s in ("mean", "std", "min", "max", "abs_mean") if not _close(w[s], g[s], scale)]
        if not _close(w["sample"], g["sample"], scale):
            bad.append("sample")
        if bad:
            diffs.append(f"values: {key}: {', '.join(bad)} differ (reference mean {w['mean']:.6g} std "
                         f"{w['std']:.6g}, .slim mean {g['mean']:.6g} std {g['std']:.6g})")
    return diffs


def differences(fx: dict, got: dict) -> list[str]:
    """Everything in which the measured .slim network differs from the fixture (empty: identical)."""
    diffs = []
    for key in STRUCTURE:
        if fx[key] != got[key]:
            if isinstance(fx[key], list) and key != "output_shape":
                diffs.append(_list_diff(key, fx[key], got[key]))
            else:
                diffs.append(f"{key}: reference {fx[key]!r}, .slim {got[key]!r}")
    if "values" in fx:
        diffs.extend(value_differences(fx["values"], got["values"]))
    return diffs


@functools.lru_cache(maxsize=None)
def _measured(case_id: str, lowering: str) -> dict:
    return measure(fixture(case_id), lowering)


def assert_matches(case_id: str, lowering: str) -> None:
    fx = fixture(case_id)
    path = slim_path(fx)
    assert path.exists(), f"{path.relative_to(ROOT)} does not exist yet"
    diffs = differences(fx, _measured(case_id, lowering))
    assert not diffs, (f"{case_id} via {lowering} differs from {fx['reference']}:\n  " + "\n  ".join(diffs))


def case(case_id: str, slow: bool = False, pending: str | None = None, lowerings=LOWERINGS) -> list:
    """pytest params for one fixture, through both lowerings (or those named, to save CI time on variants)."""
    if not (FIXTURES / f"{case_id}.json").exists():
        raise FileNotFoundError(f"no fixture {case_id}.json in {FIXTURES} (run tools/zoo_facts.py)")
    REGISTERED[case_id] = pending
    marks = [pytest.mark.slow] if slow else []
    if pending:
        marks.append(pytest.mark.xfail(strict=True, reason=pending))
    return [pytest.param(case_id, lowering, marks=marks, id=f"{case_id}-{lowering}") for lowering in lowerings]


def params(*cases: list) -> list:
    return [p for c in cases for p in c]
