"""Issue 13: .slim text reaches generated Python and Graphviz pictures only as data.

Hostile strings go into every string-bearing position of a program; the
emitted module must parse to exactly the statements the same program with
benign strings gives (only string constants differ), importing and calling it
must create no file, and `slimlang graph` must quote every label.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slimlang import emit
from slimlang.checker import check_file, check_text
from slimlang.diagnostics import SlimError
from slimlang.emit import emit_module

ROOT = Path(__file__).resolve().parent.parent
HAVE_DOT = shutil.which("dot") is not None

PAYLOADS = [
    '"""',
    "'''",
    'x"""\nimport os; os.system("touch PWNED")\n"""',
    "x'''\nopen('PWNED', 'w')\n'''",
    "\\",
    "trailing\\",
    "\\N\\n\\x41\\u0041",
    "a\nb",
    "a\rb\r\nc",
    "{{ 7 * 7 }}{% if true %}x{% endif %}{# c #}",
    "# not a comment\nopen('PWNED', 'w')",
    "__import__('os').system('touch PWNED')",
    "A" * 20000,
    "\u0430dmin \uff4fs \u2024\u2024/\u2215",  # confusables: Cyrillic a, fullwidth o, one-dot leaders, division slash
    "abc\u202e)'(metsys.so;",  # right-to-left override
    "line\u2028sep\u2029para\x85nel\x0bvt\x0cff\x1cfs",  # characters str.splitlines() breaks on
    "nul\x00byte\x1b[31m",
]

# Every place a .slim string can stand: a module-level let function's default, defaults/model parameter
# defaults, the `uses` arguments, a `fail` message, a let value, end-point keys, and in the train section
# the data path, array names, logdir and the init_from path/filters/renames.  (Scope names are covered by
# SCOPED: TF refuses odd scope names at build time, so they are emitted but not built.)
PROGRAM = '''let tagged(x, t = {P}) = x if t != "" else 0

defaults d(tag = {P}) {{
  conv, fc: activation=relu
}}

model m(inputs: [4, 4, 1], num_classes = 3, note = {P}, is_training = true) uses d({P}) {{
  if num_classes < 0 {{
    fail {P}
  }}
  let s = {P}
  conv tagged(2) 3x3 as c1
  flatten as flat
  out = fc num_classes activation=none as logits
  endpoint {P} from out
}}
{TRAIN}'''

TRAIN = '''
train {{
  model m
  data npz {P} images={P} labels={P} validation=0.25
  loss softmax_cross_entropy
  optimizer sgd lr=0.1
  steps 5
  logdir {P}
  init_from {P} include=[{P}] strip_prefix={P} rename=[({R}, {Q})] add_prefix={P}
  trainable {P}
}}
'''

SCOPED = '''model m(inputs: [4, 4, 1]) {{
  scope {P} {{
    conv 2 3x3 as {P}
  }}
  conv 2 3x3 as last endpoint
}}
'''


def _lit(text: str) -> str:
    """A .slim string literal for `text` (the lexer knows \\n \\r \\t \\0 \\\\ \\" \\'; the rest stays raw)."""
    esc = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    return '"' + "".join(esc.get(c, c) for c in text) + '"'


def _source(template: str, payload: str, train=True) -> str:
    rx = {"R": _lit(re.escape(payload)), "Q": _lit(payload.replace("\\", "\\\\"))}  # a valid regex rename
    return template.format(P=_lit(payload), TRAIN=TRAIN.format(P=_lit(payload), **rx) if train else "")


def _emit(tmp_path, text: str, name="hostile", train=True) -> str:
    path = tmp_path / f"{name}.slim"
    path.write_text(text, encoding="utf-8")
    return emit_module(check_file(str(path)), train=train)


def _shape(code: str) -> str:
    """The module's AST with constants blanked (strings, and lengths such as `name[len(prefix):]`)."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
            node.value = "S"
    return ast.dump(tree)


@pytest.fixture(scope="module")
def benign(tmp_path_factory):
    d = tmp_path_factory.mktemp("benign")
    return {"program": _shape(_emit(d, _source(PROGRAM, "benign"))),
            "scoped": _shape(_emit(d, _source(SCOPED, "benign"), train=False))}


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_hostile_strings_add_no_statement(tmp_path, benign, payload):
    code = _emit(tmp_path, _source(PROGRAM, payload))
    assert _shape(code) == benign["program"]
    scoped = _emit(tmp_path, _source(SCOPED, payload), name="scoped", train=False)
    assert _shape(scoped) == benign["scoped"]
    for text in (code, scoped):
        # every line of the source is printable: nothing an editor or tokenizer could take as a line break
        assert all(line.isprintable() for line in text.split("\n"))
        strings = {n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant)}
        assert payload in strings  # the payload survives intact, as data


def test_uses_clause_in_docstring_stays_in_the_docstring(tmp_path):
    payload = '"""\nimport os; os.system("touch PWNED")\n"""'
    code = _emit(tmp_path, _source(PROGRAM, payload), train=False)
    tree = ast.parse(code)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "m")
    doc = ast.get_docstring(fn)
    # the docstring shows the call as Python would spell it, quotes and all
    assert f"with slim.arg_scope(d({payload!r})):" in doc
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in ast.walk(tree))


def test_templates_print_only_escaped_values():
    env = emit._environment()
    with pytest.raises(TypeError, match="unescaped"):
        env.from_string("{{ x }}").render(x="raw text")
    with pytest.raises(TypeError, match="unescaped"):
        env.from_string("{{ x }}").render(x=3)
    assert env.from_string("{{ x }}").render(x=emit.Code("a = 'x'")) == "a = 'x'"
    with pytest.raises(ValueError):
        emit.Stmt("x = 1\nimport os")
    with pytest.raises(ValueError):
        emit.FunctionView("f(); import os; g", [], [], [], [])
    assert emit.doc_text('say """hi""" \\ \u2028') == 'say \\"\\"\\"hi\\"\\"\\" \\\\ \\u2028'
    assert emit.comment_text("a\nb\u2029c") == "a\\u000ab\\u2029c"


def test_names_that_would_shadow_are_rejected_or_renamed(tmp_path):
    with pytest.raises(SlimError) as e:
        _emit(tmp_path, "model print(inputs: [4, 4, 1]) {\n  conv 2 3x3 as c\n}\n", train=False)
    d = e.value.diagnostics[0]
    assert d.code == "E501" and d.span is not None and d.span.line == 1 and d.span.col == 7
    code = _emit(tmp_path, "model m(inputs: [4, 4, 1]) {\n  let tf = 2\n  conv tf 3x3 as c\n}\n", train=False)
    assert "tf_ = 2" in code and "slim.conv2d(inputs, tf_," in code


CALL = """
import os, sys
sys.path.insert(0, os.getcwd())
before = sorted(os.listdir("."))
from slimlang.tfcompat import slim, tf
import hostile, scoped  # module level of both (the train program included) runs on import
with tf.Graph().as_default():
    with slim.arg_scope(hostile.d(*hostile.PAYLOADS)):
        net, end_points = hostile.m(tf.compat.v1.placeholder(tf.float32, [2, 4, 4, 1]), note=hostile.PAYLOADS[0])
    assert set(end_points) >= set(hostile.PAYLOADS), sorted(end_points)
    print("built", net.shape, len(end_points))
for m in (hostile, scoped):
    [getattr(m, n).__doc__ for n in dir(m)]
after = sorted(os.listdir("."))
print("files", before == after)
"""


@pytest.mark.slow
def test_importing_and_calling_the_emitted_module_creates_no_file(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    # one payload per string-bearing position is enough here: the AST test covers the list
    payload = "x\"\"\"\n__import__('os').system('touch PWNED')\n''' \\ \u2028 #"
    code = _emit(tmp_path, _source(PROGRAM, payload))
    code += f"\nPAYLOADS = [{payload!r}]\n"
    (work / "hostile.py").write_text(code, encoding="utf-8")
    (work / "scoped.py").write_text(_emit(tmp_path, _source(SCOPED, payload), name="scoped", train=False),
                                    encoding="utf-8")
    made = sorted(os.listdir(work))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-c", CALL], check=False, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "built" in r.stdout and "files True" in r.stdout, r.stdout
    assert sorted(os.listdir(work)) == made
    assert not (tmp_path / "PWNED").exists() and not (work / "PWNED").exists()


# ----------------------------------------------------------------- graph ---

IMAGE = "pwn.png"
GRAPH_PAYLOADS = [
    f'<<IMG SRC="{IMAGE}"/>>',
    f'<x>; injected [label=<<b>x</b>> image=<{IMAGE}>]',
    f'"]; injected [image="{IMAGE}"]; n0 -> injected; x [label="',
    "a\\Nb\\Gc\\l\\",
    "}\nsubgraph cluster_evil { evil }\n{",
    "line\u2028two\rthree",
]
GRAPH = '''model m(inputs: [4, 4, 1]) {{
  scope {P} {{
    conv 2 3x3 as {P}
  }}
  conv 2 3x3 as last
}}
'''


def _dot(payload: str) -> str:
    from slimlang.tools import graph
    from slimlang.tools.analysis import analyze

    a = analyze(check_text(GRAPH.format(P=_lit(payload))), "m", (1, 4, 4, 1))
    return graph.to_graphviz(graph.build(a), "m").source


def _unquoted(dot: str) -> str:
    """The DOT source with every quoted string blanked: its statements and attribute names only."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', dot, flags=re.DOTALL)


def _labels(dot: str) -> list:
    return re.findall(r'label="((?:[^"\\]|\\.)*)"', dot, flags=re.DOTALL)


@pytest.mark.parametrize("payload", GRAPH_PAYLOADS, ids=range(len(GRAPH_PAYLOADS)))
def test_graph_labels_are_quoted_dot_strings(payload):
    dot = _dot(payload)
    assert _unquoted(dot) == _unquoted(_dot("benign text"))  # quoted too (it has a space)
    # no HTML-like label (`label=<...>`) and no raw line break inside a label
    assert "label=<" not in _unquoted(dot)
    labels = _labels(dot)
    assert all("\n" not in lbl and "\r" not in lbl and lbl.isprintable() for lbl in labels)
    # the scope's cluster label reads back as the payload (DOT unescaping: \" -> ", \\ -> \)
    visible = "n".join("".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in line)
                       for line in payload.split("\n"))
    shown = [re.sub(r"\\(.)", r"\1", lbl) for lbl in labels]
    assert visible in shown, shown


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("payload", GRAPH_PAYLOADS[:3], ids=range(3))
def test_graph_svg_has_only_the_real_nodes_and_reads_no_file(tmp_path, payload):
    (tmp_path / IMAGE).write_bytes(b"\x89PNG\r\n\x1a\n")  # what an injected image= would load
    src = tmp_path / "g.slim"
    src.write_text(GRAPH.format(P=_lit(payload)), encoding="utf-8")
    out = tmp_path / "g.svg"
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "graph", str(src), "-o", str(out)], cwd=tmp_path,
                       check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert len(re.findall(r'class="node"', svg)) == 3  # inputs, the conv in the scope, last
    assert len(re.findall(r'class="cluster"', svg)) == 1
    assert "<image" not in svg and "injected</title>" not in svg


# ------------------------------------------------- issue 18: a quiet --train program ---


@pytest.mark.slow
def test_emitted_training_program_is_quiet_and_shows_progress(tmp_path):
    script = tmp_path / "digits_gen.py"
    script.write_text(emit_module(check_file(str(ROOT / "examples/digits.slim")), train=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    code = "import digits_gen; digits_gen.train_default(number_of_steps=20, logdir='run')"
    r = subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    noisy = [line for line in r.stderr.splitlines()
             if re.search(r"deprecat|warning|FileWriter|cuda|absl", line, re.IGNORECASE)]
    assert noisy == [], r.stderr[-3000:]
    assert r.stderr.strip() == ""
    progress = re.findall(r"^step (\d+)/20  loss \d+\.\d+  [\d.]+ steps/s  \d+ examples/s$", r.stdout, re.MULTILINE)
    assert progress == ["10", "20"], r.stdout
    assert (tmp_path / "run" / "model.ckpt-20.index").is_file()
