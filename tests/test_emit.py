"""`slimlang build --emit py`: the emitted TF-Slim Python against the direct graph lowering.

Differential: for every .slim file under examples/ and every model in it, the
emitted module is imported and each model built under its own defaults'
arg_scope (`with slim.arg_scope(gen.X_arg_scope()):`, as tf_slim models are
built); variables, model variables, regularization losses, update ops, end
points and output shapes must equal `slimlang.load(file).MODEL(x)`, and so
must output values (weights copied by name) where the model has
`is_training`.  Also: golden files, `ruff check`, hostile names, and that
`--emit py` never imports TensorFlow.
"""

from __future__ import annotations

import ast as pyast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slimlang.checker import check_file, check_text
from slimlang.diagnostics import SlimError
from slimlang.emit import Emitter, emit_module

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.slim"))
GOLDEN = Path(__file__).resolve().parent / "golden" / "emit"
GOLDEN_NAMES = ("vgg", "inception_v1", "resnet_v1", "multitask")
LARGE = ("resnet", "inception", "overfeat", "alexnet")
# The deepest nets are left out of the differential test (see _cases): their
# emitted code is resnet_*_50's with a longer block list.
STRUCTURE_ONLY = ("resnet_v1_101", "resnet_v1_152", "resnet_v1_200", "resnet_v2_101", "resnet_v2_152", "resnet_v2_200")
SLOW_MODELS = ("vgg_19", "resnet_v1_101", "resnet_v1_152", "resnet_v1_200", "resnet_v2_101", "resnet_v2_152",
               "resnet_v2_200", "inception_v3")


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _zoo_files() -> set:
    """The model-zoo networks: tests/zoo.py compares both lowerings of each against facts recorded
    from the reference at small input sizes, so this file does not build them again at full size."""
    import json

    folder = Path(__file__).resolve().parent / "fixtures" / "zoo"
    return {json.loads(f.read_text())["module"].rsplit(".", 1)[-1] for f in folder.glob("*.json")}


def _cases():
    out = []
    zoo = _zoo_files()
    for path in EXAMPLES:
        if path.parent.name == "nets" and path.stem in zoo:
            continue
        try:
            prog = check_file(path, elaborate=False)
        except SlimError:
            continue
        for name in prog.models:
            if name in STRUCTURE_ONLY:
                # Same emitted code path as resnet_*_50 (only the block list differs), and
                # tests/test_conformance_resnet.py builds them directly; building each twice
                # more here cost minutes of CI for no new coverage.
                continue
            big = any(k in path.stem for k in LARGE) or name in SLOW_MODELS
            marks = [pytest.mark.slow] if big else []
            out.append(pytest.param(path, name, marks=marks, id=f"{_rel(path)}::{name}"))
    return out


def _import(text: str, tmp_path: Path, name: str):
    f = tmp_path / f"{name}.py"
    f.write_text(text)
    spec = importlib.util.spec_from_file_location(f"emitted_{name}_{abs(hash(str(tmp_path)))}", f)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _input_shape(prog, model):
    shape = prog.input_shape(model)
    if shape is None:
        return None
    return (2,) + tuple(8 if d is None else d for d in shape)


def _facts(graph, net, end_points):
    from conformance import _graph_facts

    return _graph_facts(graph, net, end_points)


def _build_emitted(gen, prog, model, shape, kwargs):
    from slimlang.tfcompat import slim, tf

    node = prog.models[model]
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, list(shape), name="inputs")
        if node.uses is not None:
            em = Emitter(prog)
            args = em.callref(node.uses, None, None)
            scope = eval(args, vars(gen))  # the emitted module's own defaults function
            with slim.arg_scope(scope):
                net, ep = getattr(gen, model)(x, **kwargs)
        else:
            net, ep = getattr(gen, model)(x, **kwargs)
    return g, x, net, ep


def _build_direct(path, model, shape, kwargs):
    import slimlang
    from slimlang.tfcompat import tf

    module = slimlang.load(path)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, list(shape), name="inputs")
        net, ep = getattr(module, model)(x, **kwargs)
    return g, x, net, ep


def _values(a, b):
    import numpy as np

    from slimlang.tfcompat import tf

    (g1, x1, n1), (g2, x2, n2) = a, b
    rng = np.random.RandomState(0)
    batch = rng.uniform(-1, 1, size=x1.shape.as_list()).astype(np.float32)
    with g1.as_default(), tf.compat.v1.Session(graph=g1) as s1:
        s1.run(tf.compat.v1.global_variables_initializer())
        weights = {}
        for v in tf.compat.v1.global_variables():
            if v.op.name.endswith(("moving_mean", "moving_variance")):
                v.load(rng.uniform(0.5, 1.5, size=v.shape.as_list()).astype(np.float32), s1)
            weights[v.op.name] = s1.run(v)
        out1 = s1.run(n1, {x1: batch})
    with g2.as_default(), tf.compat.v1.Session(graph=g2) as s2:
        s2.run(tf.compat.v1.global_variables_initializer())
        for v in tf.compat.v1.global_variables():
            v.load(weights[v.op.name], s2)
        out2 = s2.run(n2, {x2: batch})
    assert out1.shape == out2.shape
    np.testing.assert_allclose(out1, out2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("path,model", _cases())
def test_emitted_model_equals_direct_lowering(path, model, tmp_path):
    prog = check_file(path)
    shape = _input_shape(prog, model)
    if shape is None:
        pytest.skip(f"{model} declares no input shape")
    gen = _import(emit_module(prog), tmp_path, path.stem)
    kwargs = {}
    params = {p.name for p in prog.models[model].params[1:]}
    if "is_training" in params:
        kwargs["is_training"] = False
    g1, x1, n1, ep1 = _build_direct(path, model, shape, kwargs)
    g2, x2, n2, ep2 = _build_emitted(gen, prog, model, shape, kwargs)
    a, b = _facts(g1, n1, ep1), _facts(g2, n2, ep2)
    for key in a:
        assert a[key] == b[key], key
    if "is_training" in params and model not in STRUCTURE_ONLY:
        _values((g1, x1, n1), (g2, x2, n2))


@pytest.mark.parametrize("path", EXAMPLES, ids=_rel)
def test_emitted_module_is_deterministic_and_ruff_clean(path, tmp_path):
    prog = check_file(path, elaborate=False)
    text = emit_module(prog)
    assert text == emit_module(check_file(path, elaborate=False))
    compile(text, str(path), "exec")
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    f = tmp_path / f"{path.stem}.py"
    f.write_text(text)
    r = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "E,F,W", str(f)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _golden_paths():
    out = []
    for name in GOLDEN_NAMES:
        hits = [p for p in EXAMPLES if p.stem == name]
        if hits:
            out.append(pytest.param(hits[0], id=name))
    return out


@pytest.mark.parametrize("path", _golden_paths())
def test_golden(path, request):
    text = emit_module(check_file(path, elaborate=False))
    golden = GOLDEN / f"{path.stem}.py"
    if request.config.getoption("--update-golden", default=False) or not golden.exists():
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden} differs; rerun with --update-golden if intended"


# ------------------------------------------------------------------ safety ---

HEADER_IMPORTS = {"slimlang.tfcompat", "tensorflow", "tf_slim", "math"}


def _statements(text):
    tree = pyast.parse(text)
    imports = set()
    calls = set()
    for node in pyast.walk(tree):
        if isinstance(node, pyast.Import):
            imports |= {a.name for a in node.names}
        elif isinstance(node, pyast.ImportFrom):
            imports.add(node.module)
        elif isinstance(node, pyast.Call):
            calls.add(pyast.unparse(node.func))
    return tree, imports, calls


ALLOWED_CALLS = {
    "slim.arg_scope", "slim.conv2d", "slim.fully_connected", "slim.max_pool2d", "slim.repeat", "slim.l2_regularizer",
    "tf.compat.v1.variable_scope", "tf.compat.v1.zeros_initializer", "tf.squeeze", "slim.dropout",
    "tf.compat.v1.get_variable_scope", "slim.utils.convert_collection_to_dict",
}

# .slim string literals (source text) whose values try to break out of a Python string or comment.
HOSTILE_SCOPES = ["'a\"b'", '"a\'b"', '"a\\\\b"', '"x\\nimport os"', "'\"\"\"'", '"\'); import os; (\'"',
                  '"\'\'\'"', '"\\\\\\"\\"\\"; import os #"']


@pytest.mark.parametrize("lit", HOSTILE_SCOPES)
def test_hostile_scope_names_stay_string_literals(lit):
    src = (f"model m(inputs: [8, 8, 3]) {{\n  conv 4 3x3 as {lit}\n  endpoint {lit}\n"
           f"  scope ({lit}) {{ conv 4 1x1 as ({lit} + {lit}) }}\n}}\n")
    prog = check_text(src, "hostile.slim")
    value = prog.models["m"].body[0].as_name.expr.value
    text = emit_module(prog)
    tree, imports, calls = _statements(text)
    assert imports <= HEADER_IMPORTS
    assert calls <= ALLOWED_CALLS, calls - ALLOWED_CALLS
    # The only module-level statements: docstring, the import try, the function, default_image_size.
    kinds = [type(n).__name__ for n in tree.body]
    assert kinds == ["Expr", "Try", "FunctionDef", "Assign"]
    strings = {n.value for n in pyast.walk(tree) if isinstance(n, pyast.Constant) and isinstance(n.value, str)}
    assert value in strings


def test_hostile_file_name_and_strings(tmp_path):
    f = tmp_path / 'x"""\nimport os #.slim'
    f.write_text('let msg = "\\"\\"\\" ; import os"\nmodel m(inputs) {\n  fail msg + "\'); import os; (\'"\n}\n')
    text = emit_module(check_file(f))
    tree, imports, calls = _statements(text)
    assert imports <= HEADER_IMPORTS
    assert "os" not in imports
    assert calls <= {"ValueError", "tf.compat.v1.variable_scope"}


@pytest.mark.parametrize("src,code", [
    ("model class(inputs) { conv 4 3x3 }", "E501"),
    ("model m(inputs, lambda = 1) { conv 4 3x3 }", "E501"),
    ("model m(inputs, None = 1) { conv 4 3x3 }", "E501"),
    ("block b(tf) { conv 4 3x3 }\nmodel m(inputs) { b 1 }", "E501"),
    ("block b(end_points) { conv 4 3x3 }\nmodel m(inputs) { b 1 }", "E501"),
    ("model m(inputs, net = 1) { conv 4 3x3 }", "E501"),
    ("block for_(d) { conv d 3x3 }\nblock b(scope) { conv 4 3x3 }\nmodel m(inputs) { b 1 }", "E501"),
    ("model m(inputs) { conv 4 3x3 endpoint }", "E506"),
])
def test_bad_names_are_located_errors(src, code):
    prog = check_text(src, "bad.slim", elaborate=False)
    with pytest.raises(SlimError) as e:
        emit_module(prog)
    d = e.value.diagnostics[0]
    assert d.code == code
    assert d.span is not None and d.span.line >= 1


def test_keyword_and_builtin_locals_are_renamed():
    src = ("model m(inputs: [8, 8, 3], n = 2) {\n  let class = n * 2\n  let list = [1, 2]\n"
           "  for tf in list { conv class 1x1 }\n  if_ = conv 4 1x1\n  slim = conv 4 1x1 from if_\n  add slim\n}\n")
    text = emit_module(check_text(src, "kw.slim"))
    tree, imports, calls = _statements(text)
    assert imports <= HEADER_IMPORTS
    assigned = {t.id for n in pyast.walk(tree) if isinstance(n, (pyast.Assign, pyast.For))
                for t in pyast.walk(n.targets[0] if isinstance(n, pyast.Assign) else n.target)
                if isinstance(t, pyast.Name)}
    assert "class_" in assigned and "list_" in assigned and "tf_" in assigned and "slim_" in assigned
    assert "tf" not in assigned and "slim" not in assigned


def test_emit_py_never_imports_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'tf_slim', 'keras', 'tf_keras'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from slimlang.cli import main\n"
        f"sys.exit(main(['build', {str(ROOT / 'examples' / 'nets' / 'vgg.slim')!r}, '--emit', 'py', '-o', "
        f"{str(tmp_path / 'vgg.py')!r}]))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT),
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert "def vgg_16(" in (tmp_path / "vgg.py").read_text()


MODULE_LET_FUNCTIONS = """\
let base = 2
let width(x, k = 2) = x * k + base
let w = width
let print(len) = len + 1
defaults d(n = width(1)) {
  conv: padding=SAME
}
block b(n = width(1, k=1)) {
  conv n 1x1
}
model m(inputs: [8, 8, 1], c = print(3)) uses d(width(2)) {
  let h(y) = width(y, k=3)
  conv width(3) 3x3
  conv w(1, k=1) 3x3
  conv h(1) 3x3
  b
  conv c 1x1
}
"""


def test_module_level_let_functions_are_emitted_as_functions(tmp_path):
    """Issue 13: `let f(x) = ...` at the top of a file checked, but --emit py said `undefined function`."""
    f = tmp_path / "fns.slim"
    f.write_text(MODULE_LET_FUNCTIONS)
    prog = check_file(f)
    text = emit_module(prog)
    tree = pyast.parse(text)
    defs = [n.name for n in tree.body if isinstance(n, pyast.FunctionDef)]
    assert defs[:2] == ["width", "print_"]  # print would hide the builtin
    ruff = shutil.which("ruff")
    if ruff is not None:
        (tmp_path / "fns.py").write_text(text)
        r = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "E,F,W", str(tmp_path / "fns.py")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    gen = _import(text, tmp_path, "fns")
    shape = _input_shape(prog, "m")
    g1, x1, n1, ep1 = _build_direct(f, "m", shape, {})
    g2, x2, n2, ep2 = _build_emitted(gen, prog, "m", shape, {})
    a, b = _facts(g1, n1, ep1), _facts(g2, n2, ep2)
    for key in a:
        assert a[key] == b[key], key


def test_a_negated_membership_test_is_written_as_python_writes_it():
    """`not k in xs` is emitted `k not in xs` (pycodestyle E713), the same value."""
    text = ('model m(inputs: [8, 8, 3], k = 8) {\n  if not k in [8, 16] {\n    fail "bad"\n  }\n'
            '  if not (k in [1]) and not k == 2 {\n    conv 4 1x1\n  }\n}\n')
    code = emit_module(check_text(text, "m.slim"))
    assert "if k not in [8, 16]:" in code and "if k not in [1] and not k == 2:" in code
