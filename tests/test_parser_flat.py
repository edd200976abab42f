"""The flat expression grammar and the inline AST builder (slimlang/parser.py).

- Precedence and associativity agree with Python's own parser on random
  expressions (Python's rules are slimlang's: `**` right-assoc and tighter
  than a unary `-` on its left, chained comparisons, `not`, `and`, `or`,
  `a if b else c`).
- The AST, every span included, and the syntax errors agree with the parser
  as it was before (tests/parser_reference: layered precedence rules, a parse
  tree with propagated positions, a transform pass) on every example and test
  file, on random expressions and on mutated examples.
"""

from __future__ import annotations

import ast as pyast
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_reference import old_parser

from slimlang import ast
from slimlang.diagnostics import SlimError, Span
from slimlang.parser import parse

ROOT = Path(__file__).resolve().parent.parent


def _over_a_limit(path):
    """Golden cases of the parser's own limits (limits.py: E940, E941, E947): the reference parser has none."""
    err = path.parent / "expected.err"
    return err.exists() and any(f"error[{c}]" in err.read_text() for c in ("E940", "E941", "E947"))


# tests/hostile holds deliberately broken files (bad encodings, 10 MB, deep nesting); test_hostile.py runs those.
FILES = sorted(p for p in {*ROOT.glob("examples/**/*.slim"), *ROOT.glob("tests/**/*.slim"), *ROOT.glob("docs/**/*.slim")}
               if "hostile" not in p.relative_to(ROOT).parts and not _over_a_limit(p))


def dump(x):
    """Every field of a node, spans included (as line/col pairs)."""
    if isinstance(x, Span):
        return ("Span", x.line, x.col, x.end_line, x.end_col)
    if ast.is_node(x):
        return (type(x).__name__,) + tuple((f, dump(getattr(x, f))) for f in ast.fields(x))
    if isinstance(x, (tuple, list)):
        return tuple(dump(i) for i in x)
    return (type(x).__name__, x)


def outcome(parse_fn, text):
    try:
        return "ok", dump(parse_fn(text, "t.slim"))
    except SlimError as e:
        return "error", e.render()


def assert_same_as_before(text, errors_exact=True):
    new = outcome(parse, text)
    old = outcome(old_parser.parse, text)
    if errors_exact or old[0] == "ok" or new[0] == "ok":
        assert new == old, text
    else:
        # Both reject the text at the same place with the same message; the
        # "expected ..." note may list a different set of tokens, because the
        # two LALR tables do not detect every error in the same state.
        assert new[1].split("\n   = expected")[0] == old[1].split("\n   = expected")[0], text


# ------------------------------------------------------- random expressions ---

NAMES = ["a", "b", "foo", "y_1", "depth", "num_classes"]


class ExprGen:
    """Random valid expressions, following the layered grammar level by level."""

    def __init__(self, rng: random.Random, kernels=True):
        self.r = rng
        self.kernels = kernels

    def sp(self):
        return self.r.choice(["", " ", " ", "  "])

    def kw(self, word):
        return self.r.choice([" ", "  "]) + word + self.r.choice([" ", "  "])

    def test(self, d):
        if d > 0 and self.r.random() < 0.15:
            return self.or_test(d - 1) + self.kw("if") + self.or_test(d - 1) + self.kw("else") + self.test(d - 1)
        return self.or_test(d)

    def _chain(self, d, ops, sub, p=0.3):
        out = sub(d)
        while d > 0 and self.r.random() < p:
            out += self.r.choice(ops)() + sub(d - 1)
        return out

    def or_test(self, d):
        return self._chain(d, [lambda: self.kw("or")], self.and_test)

    def and_test(self, d):
        return self._chain(d, [lambda: self.kw("and")], self.not_test)

    def not_test(self, d):
        if d > 0 and self.r.random() < 0.15:
            return "not" + self.r.choice([" ", "  "]) + self.not_test(d - 1)
        return self.comparison(d)

    def comparison(self, d):
        ops = [lambda o=o: self.sp() + o + self.sp() for o in ("==", "!=", "<=", ">=", "<", ">")]
        ops.append(lambda: self.kw("in"))
        return self._chain(d, ops, self.arith, 0.25)

    def arith(self, d):
        # a space before a binary `-` keeps it from reading as a negative literal's sign after `**`
        return self._chain(d, [lambda o=o: self.sp() + o + " " for o in ("+", "-")], self.term)

    def term(self, d):
        return self._chain(d, [lambda o=o: self.sp() + o + self.sp() for o in ("*", "/", "//", "%")], self.factor)

    def factor(self, d):
        if d > 0 and self.r.random() < 0.2:
            return "-" + self.sp() + self.factor(d - 1)
        return self.power(d)

    def power(self, d):
        base = self.postfix(d)
        if d > 0 and self.r.random() < 0.2:
            return base + self.sp() + "**" + self.sp() + self.factor(d - 1)
        return base

    def postfix(self, d):
        out = self.atom(d)
        # `(` / `[` glued to a name, `)`, `]` or a string calls / indexes (see _PostLex)
        while d > 0 and (out in NAMES or out[-1] in ")]'\"") and self.r.random() < 0.2:
            if self.r.random() < 0.5:
                args = [self.test(d - 1) for _ in range(self.r.randint(0, 2))]
                if self.r.random() < 0.3:
                    args.append(self.r.choice(NAMES) + self.sp() + "=" + self.sp() + self.test(d - 1))
                out += "(" + ("," + self.sp()).join(args) + ")"
            else:
                out += "[" + self.sp() + self.test(d - 1) + self.sp() + "]"
            d -= 1
        return out

    def atom(self, d):
        r = self.r.random()
        if d > 0 and r < 0.2:
            inner = self.test(d - 1)
            nl = "\n  " if self.r.random() < 0.2 else ""
            return "(" + self.sp() + nl + inner + self.sp() + ")"
        if d > 0 and r < 0.27:
            items = [self.test(d - 1) for _ in range(self.r.randint(0, 3))]
            return "[" + ("," + self.sp()).join(items) + ("," if items and self.r.random() < 0.3 else "") + "]"
        if d > 0 and r < 0.32:
            items = [self.test(d - 1) for _ in range(self.r.randint(1, 3))]
            return "(" + ("," + self.sp()).join(items) + ("," if len(items) == 1 or self.r.random() < 0.3 else "") + ")"
        choices = [lambda: self.r.choice(NAMES), lambda: str(self.r.randint(0, 300)),
                   lambda: self.r.choice(["0.5", "1e-3", "2.", ".25"]), lambda: self.r.choice(['"s"', "'t'"]),
                   lambda: self.r.choice(["true", "false", "none"])]
        if self.kernels:
            choices.append(lambda: f"{self.r.randint(1, 7)}x{self.r.randint(1, 7)}")
        return self.r.choice(choices)()


def to_python(text: str) -> str:
    return text.replace("true", "True").replace("false", "False").replace("none", "None")


def canon_slim(n):
    """A structure-only form of a slimlang expression, comparable with `canon_py`."""
    if isinstance(n, ast.Const):
        return ("const", n.value)
    if isinstance(n, ast.Name):
        return ("name", n.id)
    if isinstance(n, (ast.ListExpr, ast.TupleExpr)):
        return (type(n).__name__, tuple(canon_slim(i) for i in n.items))
    if isinstance(n, ast.BinOp):
        return ("binop", n.op, canon_slim(n.left), canon_slim(n.right))
    if isinstance(n, ast.Compare):
        return ("compare", canon_slim(n.left), n.ops, tuple(canon_slim(r) for r in n.rights))
    if isinstance(n, ast.BoolOp):
        return ("boolop", n.op, tuple(canon_slim(v) for v in n.values))
    if isinstance(n, ast.Not):
        return ("not", canon_slim(n.operand))
    if isinstance(n, ast.Neg):
        return ("neg", canon_slim(n.operand))
    if isinstance(n, ast.CondExpr):
        return ("cond", canon_slim(n.body), canon_slim(n.test), canon_slim(n.orelse))
    if isinstance(n, ast.Call):
        return ("call", canon_slim(n.func), tuple(canon_slim(a) for a in n.args),
                tuple((k.name, canon_slim(k.value)) for k in n.kwargs))
    if isinstance(n, ast.Index):
        return ("index", canon_slim(n.value), canon_slim(n.index))
    raise AssertionError(n)


_PY_OPS = {pyast.Add: "+", pyast.Sub: "-", pyast.Mult: "*", pyast.Div: "/", pyast.FloorDiv: "//",
           pyast.Mod: "%", pyast.Pow: "**", pyast.Eq: "==", pyast.NotEq: "!=", pyast.Lt: "<", pyast.LtE: "<=",
           pyast.Gt: ">", pyast.GtE: ">=", pyast.In: "in", pyast.And: "and", pyast.Or: "or"}


def canon_py(n):
    if isinstance(n, pyast.Constant):
        return ("const", n.value)
    if isinstance(n, pyast.Name):
        return ("name", n.id)
    if isinstance(n, pyast.List):
        return ("ListExpr", tuple(canon_py(i) for i in n.elts))
    if isinstance(n, pyast.Tuple):
        return ("TupleExpr", tuple(canon_py(i) for i in n.elts))
    if isinstance(n, pyast.BinOp):
        return ("binop", _PY_OPS[type(n.op)], canon_py(n.left), canon_py(n.right))
    if isinstance(n, pyast.Compare):
        return ("compare", canon_py(n.left), tuple(_PY_OPS[type(o)] for o in n.ops),
                tuple(canon_py(c) for c in n.comparators))
    if isinstance(n, pyast.BoolOp):
        return ("boolop", _PY_OPS[type(n.op)], tuple(canon_py(v) for v in n.values))
    if isinstance(n, pyast.UnaryOp):
        return ("not" if isinstance(n.op, pyast.Not) else "neg", canon_py(n.operand))
    if isinstance(n, pyast.IfExp):
        return ("cond", canon_py(n.body), canon_py(n.test), canon_py(n.orelse))
    if isinstance(n, pyast.Call):
        return ("call", canon_py(n.func), tuple(canon_py(a) for a in n.args),
                tuple((k.arg, canon_py(k.value)) for k in n.keywords))
    if isinstance(n, pyast.Subscript):
        return ("index", canon_py(n.value), canon_py(n.slice))
    raise AssertionError(pyast.dump(n))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_precedence_is_pythons(seed):
    text = ExprGen(random.Random(seed), kernels=False).test(4)
    got = parse(f"let v = {text}\n").items[0].value
    want = pyast.parse(to_python(text).strip().replace("\n", " "), mode="eval").body
    assert canon_slim(got) == canon_py(want), text


@pytest.mark.parametrize("text, tree", [
    ("-a ** b", ("neg", ("binop", "**", ("name", "a"), ("name", "b")))),
    ("a ** -b ** c", ("binop", "**", ("name", "a"), ("neg", ("binop", "**", ("name", "b"), ("name", "c"))))),
    ("a - b - c", ("binop", "-", ("binop", "-", ("name", "a"), ("name", "b")), ("name", "c"))),
    ("a < b <= c", ("compare", ("name", "a"), ("<", "<="), (("name", "b"), ("name", "c")))),
    ("not a in b", ("not", ("compare", ("name", "a"), ("in",), (("name", "b"),)))),
    ("a or b and not c or d", ("boolop", "or", (("name", "a"), ("boolop", "and", (("name", "b"), ("not", ("name", "c")))),
                                                ("name", "d")))),
    ("a if b else c if d else e", ("cond", ("name", "a"), ("name", "b"),
                                   ("cond", ("name", "c"), ("name", "d"), ("name", "e")))),
])
def test_precedence_examples(text, tree):
    assert canon_slim(parse(f"let v = {text}\n").items[0].value) == tree


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_files_parse_as_before(path):
    assert_same_as_before(path.read_text())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_random_expressions_parse_as_before(seed):
    rng = random.Random(seed)
    gen = ExprGen(rng)
    layer_args = " ".join(gen.test(2) for _ in range(rng.randint(1, 3)))
    text = (f"let v = {gen.test(4)}\n"
            f"model m(x: [8, 8, 8], k = {gen.test(2)}) {{\n"
            f"  conv {layer_args} stride={gen.test(2)} as ({gen.test(1)})\n"
            f"  endpoint {gen.test(2)}\n"
            f"  fail {gen.test(2)}\n"
            f"  if {gen.test(2)} {{ relu }} else {{ relu }}\n"
            f"}}\n")
    assert_same_as_before(text)


@pytest.mark.parametrize("text", [
    "let x = 1 + not\n",            # `not` after an operator is a name, as before
    "let x = a ** not b\n",
    "let x = a < not b\n",
    "let x = not\n",
    "let x = a if b\n",
    "let x = a if b if c else d else e\n",
    "let x = (1\n",
    "model m() { conv 8 ) }\n",
    "model m() {\n  conv 8 3x3\n\nmodel n() {\n}\n",   # a missing `}`: reported at `model`
    "let x = 9" + "9" * 5000 + "\n",  # an integer Python will not convert
    "",
    "\n\n# comment\nmodel m() {\n}\n;\n",
])
def test_edge_cases_as_before(text):
    assert_same_as_before(text)


ALPHABET = "abcxyz_019 \n\t;:,=()[]{}\"'#/*+-.<>!\\x3"
TEXTS = [p.read_text() for p in sorted(ROOT.glob("examples/**/*.slim"))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_mutated_examples_parse_as_before(seed):
    rng = random.Random(seed)
    text = rng.choice(TEXTS)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(text) or 1)
        op = rng.choice(["delete", "insert", "keyword", "swap"])
        if op == "delete":
            text = text[:i] + text[i + rng.randint(1, 8):]
        elif op == "insert":
            text = text[:i] + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))) + text[i:]
        elif op == "keyword":
            text = text[:i] + rng.choice([" if ", " else ", " not ", " and ", " ** ", " - ", " in ", "(", ")"]) + text[i:]
        elif i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    assert_same_as_before(text, errors_exact=False)
