"""`slimlang graph`: nodes and edges of the picture match the shape backend's rows."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slimlang.checker import check_file, check_text
from slimlang.tools import graph
from slimlang.tools.analysis import analyze

ROOT = Path(__file__).resolve().parent.parent
VGG = ROOT / "examples/nets/vgg.slim"
HAVE_DOT = shutil.which("dot") is not None

BRANCHY = """
block unit(depth) {
  shortcut = identity
  conv depth 3x3 as conv1
  conv depth 3x3 activation=none as conv2
  add shortcut
}
model net(inputs: [32, 32, 16]) {
  b0 = conv 8 1x1 as b0
  b1 = scope b1 {
    conv 8 1x1 as a
    conv 8 3x3 as b
  }
  concat [b0, b1] 3 as mixed
  unit 16 x2 as units
}
"""


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "slimlang.cli", *args], check=False, capture_output=True, text=True, timeout=120)


def svg_counts(svg: str):
    return len(re.findall(r'class="node"', svg)), len(re.findall(r'class="edge"', svg))


def expected(analysis):
    rows = analysis.rows
    edges = {("in" if j < 0 else j, i) for i, r in enumerate(rows) for j in r.inputs}
    return len(rows) + 1, len(edges)


def test_graph_model_matches_rows():
    a = analyze(check_text(BRANCHY), "net", (1, 32, 32, 16))
    gm = graph.build(a)
    assert (len(gm.nodes), len(gm.edges)) == expected(a)
    labels = {lbl.split("\n")[0] for lbl, _k, _f in gm.nodes.values()}
    assert {"b0", "a", "b", "mixed", "conv1", "conv2"} <= labels
    # the concat joins both branches, the residual add joins the unit's input and conv2
    concat = next(n for n, (lbl, k, _) in gm.nodes.items() if k == "concat")
    assert len([e for e in gm.edges if e[1] == concat]) == 2
    adds = [n for n, (_l, k, _f) in gm.nodes.items() if k == "add"]
    assert len(adds) == 2 and all(len([e for e in gm.edges if e[1] == n]) == 2 for n in adds)
    # clusters: scope b1, the repeat `units` and the two block scopes inside it
    assert set(gm.clusters) == {"net/b1", "net/units", "net/units/units_1", "net/units/units_2"}
    assert gm.clusters["net/units/units_1"][1] == "net/units"


def test_depth_collapses_scopes():
    a = analyze(check_text(BRANCHY), "net", (1, 32, 32, 16))
    gm = graph.build(a, depth=0)
    assert not gm.clusters
    # inputs, b0, b1 (group), mixed, units (group)
    assert len(gm.nodes) == 5
    assert len(gm.edges) == 5  # in->b0, in->b1, b0->mixed, b1->mixed, mixed->units


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("file,model", [("vgg.slim", "vgg_16"), ("inception_v1.slim", "inception_v1")])
def test_svg_nodes_and_edges(tmp_path, file, model):
    path = ROOT / "examples/nets" / file
    if not path.exists():
        pytest.skip(f"{file} is not in examples yet")
    out = tmp_path / f"{model}.svg"
    r = run_cli("graph", str(path), "--model", model, "-o", str(out))
    assert r.returncode == 0, r.stderr
    program = check_file(path)
    a = analyze(program, model, (1,) + tuple(program.input_shape(model)))
    assert svg_counts(out.read_text()) == expected(a)
    if model == "vgg_16":
        svg = out.read_text()
        assert "conv3_2" in svg and "(1, 56, 56, 256)" in svg and "conv 3x3/1, 256" in svg


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed")
def test_png(tmp_path):
    out = tmp_path / "net.png"
    r = run_cli("graph", str(VGG), "--model", "vgg_a", "--depth", "0", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_dot(tmp_path):
    env_path = tmp_path / "bin"
    env_path.mkdir()
    env = {"PATH": str(env_path), "HOME": str(tmp_path)}
    import os

    env = {**os.environ, **env}
    dot_out = tmp_path / "net.dot"
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "graph", str(VGG), "--model", "vgg_16", "-o",
                        str(dot_out)], check=False, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    text = dot_out.read_text()
    assert text.startswith("digraph") and "conv3_2" in text
    svg_out = tmp_path / "net.svg"
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "graph", str(VGG), "-o", str(svg_out)],
                       check=False, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1
    assert "Graphviz" in r.stderr and "apt-get install graphviz" in r.stderr and "Traceback" not in r.stderr
    assert not svg_out.exists()


def test_bad_extension_is_usage_error(tmp_path):
    r = run_cli("graph", str(VGG), "-o", str(tmp_path / "net.jpeg"))
    assert r.returncode == 2 and ".svg" in r.stderr
