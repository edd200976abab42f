"""`slimlang fmt`: idempotent, meaning-preserving, comments kept; `--check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slimlang.parser import parse
from slimlang.tools.fmt import format_text, normalize, scan_comments

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/**/*.slim"))


def assert_good(text: str):
    out = format_text(text)
    assert format_text(out) == out, "fmt is not idempotent"
    assert normalize(parse(out)) == normalize(parse(text)), "fmt changed the program"
    assert parse(out) == normalize(parse(text)), "fmt output is not in canonical argument order"
    before = [c.text for c in scan_comments(text)]
    after = " ".join(c.text for c in scan_comments(out))
    assert all(c in after for c in before), "fmt dropped a comment"
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_examples_idempotent_and_equal(path):
    assert_good(path.read_text(encoding="utf-8"))


def test_layout_and_comments():
    src = """# header
let a=3   # three
defaults d{ conv:padding = VALID,stride=2 }
model m(inputs:[8,8,3],n=10) uses d {
  conv (a-1) 3x3 activation=none stride=1 as "c1";pool 2 # two on one line
      # standalone, badly indented
  if n>5 { fc n } else if n > 2 { fc 3 } else {
    # small
    fc 1
  }
}
"""
    out = assert_good(src)
    assert out == """# header
let a = 3  # three

defaults d {
  conv: padding=VALID, stride=2
}

model m(inputs: [8, 8, 3], n = 10) uses d {
  conv (a - 1) 3x3 stride=1 activation=none as "c1"; pool 2  # two on one line
  # standalone, badly indented
  if n > 5 {
    fc n
  } else if n > 2 {
    fc 3
  } else {
    # small
    fc 1
  }
}
"""


def test_precedence_kept():
    src = "let x = (1 - (2 - 3)) * -(4 ** 2) ** 2 + (a if b else c) + f(x)[0] - (not (a or b) and c)\n"
    out = assert_good(src)
    assert "(1 - (2 - 3))" in out


def test_negative_layer_argument_keeps_its_meaning():
    src = "model m(inputs) {\n  pad [[0, 0]] (-1)\n  conv 64 3x3 (1 - 1)\n}\n"
    assert_good(src)


def test_check_and_rewrite(tmp_path):
    good = tmp_path / "good.slim"
    bad = tmp_path / "bad.slim"
    good.write_text(format_text("model m(inputs) {\n  fc 10\n}\n"))
    bad.write_text("model m(inputs) { fc 10 ; fc 3 }\n")
    cmd = [sys.executable, "-m", "slimlang.cli", "fmt"]
    r = subprocess.run(cmd + ["--check", str(good), str(bad)], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert str(bad) in r.stdout and str(good) not in r.stdout
    assert bad.read_text() == "model m(inputs) { fc 10 ; fc 3 }\n"  # --check writes nothing
    r = subprocess.run(cmd + [str(bad)], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert bad.read_text() == "model m(inputs) {\n  fc 10\n  fc 3\n}\n"
    r = subprocess.run(cmd + ["--check", str(good), str(bad)], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == ""
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_syntax_error_is_a_diagnostic(tmp_path):
    f = tmp_path / "broken.slim"
    f.write_text("model m(inputs) {\n  conv 64 3x3 as\n}\n")
    r = subprocess.run([sys.executable, "-m", "slimlang.cli", "fmt", str(f)], check=False, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert "error[E002]" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------- generated programs ---

NAMES = st.sampled_from(["a", "b", "n", "depth", "x1", "net", "inputs"])
SP = st.sampled_from([" ", "  ", " "])


@st.composite
def expressions(draw, depth=3):
    """Source text of an expression, with random (but valid) spacing and parentheses."""
    leaf = st.one_of(
        st.integers(0, 999).map(str),
        st.sampled_from(["0.5", "1e-05", ".25", "2.0"]),
        NAMES,
        st.sampled_from(["3x3", "1x7"]),
        st.sampled_from(['"s"', "'q'", '"a\\"b"', "true", "false", "none"]),
    )
    if depth <= 0:
        return draw(leaf)
    sub = expressions(depth - 1)
    choice = draw(st.integers(0, 9))
    sp = draw(SP)
    if choice == 0:
        return draw(leaf)
    if choice == 1:
        op = draw(st.sampled_from(["+", "-", "*", "//", "%", "**", "/"]))
        return f"{draw(sub)}{sp}{op}{sp}{draw(sub)}"
    if choice == 2:
        op = draw(st.sampled_from(["<", "==", "!=", ">=", "in"]))
        return f"{draw(sub)} {op} {draw(sub)}"
    if choice == 3:
        op = draw(st.sampled_from(["and", "or"]))
        return f"{draw(sub)} {op} {draw(sub)}"
    if choice == 4:
        return f"not {draw(sub)}" if draw(st.booleans()) else f"-{draw(sub)}"
    if choice == 5:
        return f"({draw(sub)})"
    if choice == 6:
        items = draw(st.lists(sub, max_size=3))
        sep = draw(st.sampled_from([", ", ",", ",\n  "]))
        return "[" + sep.join(items) + "]"
    if choice == 7:
        items = draw(st.lists(sub, min_size=1, max_size=3))
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if choice == 8:
        return f"{draw(sub)} if {draw(sub)} else {draw(sub)}"
    fn = draw(st.sampled_from(["max", "min", "str", "f"]))
    args = draw(st.lists(sub, max_size=2))
    if draw(st.booleans()):
        args.append(f"k{sp}={sp}{draw(sub)}")
    return f"{fn}({', '.join(args)})" if draw(st.booleans()) else f"{draw(NAMES)}[{draw(sub)}]"


def layer_arg(draw):
    e = draw(expressions(2))
    return f"({e})"


@st.composite
def layers(draw):
    kind = draw(st.sampled_from(["conv", "fc", "pool", "dropout", "my_block", "unknown_kind"]))
    parts = [kind] + [layer_arg(draw) for _ in range(draw(st.integers(0, 2)))]
    kwargs = draw(st.lists(st.sampled_from(["padding", "stride", "activation", "num_outputs", "rate", "scale",
                                            "activation_fn"]), max_size=3))
    parts += [f"{k}={layer_arg(draw)}" for k in kwargs]
    if draw(st.booleans()):
        parts.append(f"x{draw(st.integers(1, 3))}")
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["as conv1", "as a/b", 'as "s"', "as (\"u\" + str(i))"])))
    if draw(st.booleans()):
        parts.append("from t")
    if draw(st.booleans()):
        parts.append("endpoint")
    return draw(SP).join(parts)


@st.composite
def statements(draw, depth=2):
    choice = draw(st.integers(0, 9 if depth > 0 else 5))
    if choice <= 2:
        s = draw(layers())
        return f"t = {s}" if choice == 2 else s
    if choice == 3:
        return f"let {draw(NAMES)} = {draw(expressions(2))}"
    if choice == 4:
        return f"endpoint {draw(expressions(1))}" + (" from t" if draw(st.booleans()) else "")
    if choice == 5:
        return draw(st.sampled_from(["return", "collect conv, pool", 'fail "no"', "let f(d, m = 2) = d * m"]))
    body = draw(bodies(depth - 1))
    if choice == 6:
        head = draw(st.sampled_from(["scope s", "scope a/b defaults conv: stride=2", "x = scope (n) from t",
                                     "scope \"q\" defaults d(1)"]))
        return f"{head} {body}"
    if choice == 7:
        return draw(st.sampled_from(["defaults conv, fc: activation=relu", "defaults d", "defaults d(w=1)"])) + " " + body
    if choice == 8:
        out = f"if {draw(expressions(1))} {body}"
        if draw(st.booleans()):
            out += f" else if {draw(expressions(1))} {draw(bodies(depth - 1))}"
        if draw(st.booleans()):
            out += f" else {draw(bodies(depth - 1))}"
        return out
    return f"for i, j in {draw(expressions(1))} {body}"


@st.composite
def bodies(draw, depth=2):
    stmts = draw(st.lists(statements(depth), max_size=4))
    comment = draw(st.sampled_from(["", "  # trailing", "\n# own line\n"]))
    if not stmts:
        return "{" + ("\n" if comment else "") + comment.strip() + ("\n" if comment else "") + "}"
    sep = draw(st.sampled_from(["\n", "; ", "\n\n"]))
    return "{" + comment + "\n" + sep.join(stmts) + "\n}"


@st.composite
def programs(draw):
    items = []
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.integers(0, 4))
        if choice == 0:
            items.append(f"let c{len(items)} = {draw(expressions(2))}")
        elif choice == 1:
            items.append("defaults d(w = 1) {\n  conv, fc: activation=relu, stride=w\n  use e\n}")
        elif choice == 2:
            items.append(f"block my_block(depth, scale = 1.0) {draw(bodies())}")
        elif choice == 3:
            items.append("train {\n  model m(n=3); batch_size 64\n  loss softmax_cross_entropy weight=(1 + 1)\n}")
        else:
            head = draw(st.sampled_from(["model m(inputs)", "model m(inputs: [8, 8, 3], n = 10) uses d(w=2)",
                                         "model m(x, y = 1) until \"end\""]))
            items.append(f"{head} {draw(bodies())}")
    lead = draw(st.sampled_from(["", "# file comment\n", "\n\n"]))
    return lead + draw(st.sampled_from(["\n", "\n\n"])).join(items) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs(text):
    try:
        parse(text)
    except Exception:  # noqa: BLE001 - a generated text the grammar rejects (rare): nothing to format
        from hypothesis import reject

        reject()
    assert_good(text)


@pytest.mark.parametrize("text", [
    "block b(d) {\n  conv (x1) 3x3\n}\n",        # `conv x1` would read x1 as the repeat suffix
    "block b(d) {\n  conv (x1[0]) padding=x1\n}\n",
])
def test_names_that_read_as_repeats_keep_their_parentheses(text):
    assert format_text(text) == text
    assert_good(text)


def test_module_level_let_function():
    # issue 13: a top-level `let f(x) = ...` made fmt raise TypeError
    text = "let f(x) = x + 1\nlet g(a: int, b = 2) = a * b\nmodel m(inputs: [1, 8, 8, 1]) {\n  conv f(3) 3x3\n}\n"
    out = assert_good(text)
    assert out.startswith("let f(x) = x + 1\nlet g(a: int, b = 2) = a * b\n\nmodel m(")


def test_a_long_top_level_let_is_wrapped_like_one_in_a_body():
    src = "let DEFS = [" + ", ".join(f"[{i}, {i * 64}, {i % 2}]" for i in range(12)) + "]\n"
    out = format_text(src, "x.slim")
    assert all(len(line) <= 100 for line in out.splitlines()) and len(out.splitlines()) > 1
    assert normalize(parse(out)) == normalize(parse(src)) and format_text(out, "x.slim") == out


def test_a_long_conditional_let_breaks_inside_its_else_list():
    """`let f(...) = a if test else [...]`: the else list breaks inside its brackets (it was one
    line of 267 characters)."""
    items = ", ".join(f"min(shape[{i}], kernel_size[{i - 1}])" for i in (1, 2, 3))
    src = f"let reduced(shape, kernel_size) = kernel_size if shape[1] == none or shape[2] == none else [{items}]\n"
    out = format_text(src, "x.slim")
    assert len(out.splitlines()) > 2 and max(len(line) for line in out.splitlines()) <= 100, out
    assert normalize(parse(out)) == normalize(parse(src)) and format_text(out, "x.slim") == out


def test_long_layers_continue_on_indented_lines_without_backslashes():
    """A layer's arguments continue on lines indented past its kind (docs/language.md); `\\` joins
    are still read.  A continuation line starts with what only an argument can start with, so a
    plain name (a positional parameter, `endpoint`) stays on the line before, past the width if it must."""
    src = ("block b(a, c, d, e, f, g) {\n  fc a\n}\n\n"
           "model m(inputs, num_classes = 10, depth_multiplier = 1) {\n"
           "  conv num_classes 3x3 stride=2 weights_initializer=truncated_normal(stddev=0.01) padding=SAME \\\n"
           "       as Conv2d_1a_3x3 endpoint\n"
           "  b 1000000000000000000000 2000000000000000000000 3000000000000000000000 4000000000000000000000 "
           "depth_multiplier 5 as x\n"
           "}\n")
    out = assert_good(src)
    assert out == (
        "block b(a, c, d, e, f, g) {\n  fc a\n}\n\n"
        "model m(inputs, num_classes = 10, depth_multiplier = 1) {\n"
        "  conv num_classes 3x3 stride=2 padding=SAME weights_initializer=truncated_normal(stddev=0.01)\n"
        "       as Conv2d_1a_3x3 endpoint\n"
        "  b 1000000000000000000000 2000000000000000000000 3000000000000000000000\n"
        "    4000000000000000000000 depth_multiplier 5 as x\n"
        "}\n")


def test_shipped_examples_have_no_backslash_line_joins():
    joined = [f"{p.relative_to(ROOT)}:{n}" for p in EXAMPLES
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if line.endswith("\\")]
    assert joined == []


@pytest.mark.parametrize("mode", [0o640, 0o755])
def test_fmt_in_place_keeps_the_files_mode(tmp_path, mode):
    import os
    import stat

    from slimlang.cli import main

    f = tmp_path / "m.slim"
    f.write_text("model m(inputs) { fc 10 ; fc 3 }\n")
    f.chmod(mode)
    old = os.umask(0o022)
    try:
        assert main(["fmt", str(f)]) == 0
    finally:
        os.umask(old)
    assert f.read_text() == "model m(inputs) {\n  fc 10\n  fc 3\n}\n"
    assert stat.S_IMODE(f.stat().st_mode) == mode


def test_comments_in_an_else_if_chain_stay_where_they_were():
    """A comment above an `if` in `else { }` keeps the block (`else if` has no line for it), and a
    comment in an empty `else if` body stays in it (both once moved on each run: not idempotent)."""
    text = ("model m(inputs) {\n  if true {\n    fc 3\n  } else {\n    # the nested if\n"
            "    if false {} else if true {\n      # inside\n    } else {\n      fc 5\n    }\n  }\n}\n")
    assert format_text(text) == text
    assert_good(text)


def test_the_language_references_opening_example_is_in_the_canonical_form():
    """The README shows the same example (tests/test_newuser.py checks its code): one layout in both,
    the one fmt writes (`a; b` on one line is kept, with one space after `;`)."""
    import re

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    first = re.search(r"^```\n(.*?)^```", text, re.MULTILINE | re.DOTALL).group(1)
    code = "".join(line for line in first.splitlines(True) if line.strip() != "...")
    assert "; pool 2x2" in code and format_text(code) == code
