"""Budgets (slimlang/limits.py): a program that asks too much gets a located error, and one
that stays inside the limits is unaffected.  The hostile corpus (test_hostile.py) runs the
extreme cases through every command; these tests pin the edges."""

import time

import pytest

from slimlang import limits
from slimlang.checker import check_text
from slimlang.diagnostics import SlimError

TAIL = "model m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n"


def error_of(text):
    with pytest.raises(SlimError) as e:
        check_text(text, "t.slim")
    d = e.value.first
    return d.code, d.span.line, d.span.col, d.message


def passes(text):
    return check_text(text, "t.slim")


# ------------------------------------------------------------------ nesting --
def test_nesting_at_the_limit_reads_and_one_more_is_e941():
    # `let a = [[1]]`: the let is level 1, each bracket one more, the 1 one more again.
    ok = "let a = " + "[" * (limits.MAX_NESTING - 2) + "1" + "]" * (limits.MAX_NESTING - 2) + "\n" + TAIL
    assert passes(ok).globals["a"] is not None
    deep = "let a = " + "[" * (limits.MAX_NESTING - 1) + "1" + "]" * (limits.MAX_NESTING - 1) + "\n" + TAIL
    code, line, _, message = error_of(deep)
    assert (code, line) == ("E941", 1) and str(limits.MAX_NESTING) in message


@pytest.mark.parametrize("prefix", ["not ", "-"])
def test_long_runs_of_prefix_operators_read_without_recursion(prefix):
    # 5,000 prefix operators: the parser reads them in a loop, then the nesting limit reports them.
    code, line, _, _ = error_of(f"let a = {prefix * 5000}1\n" + TAIL)
    assert (code, line) == ("E941", 1)
    assert passes(f"let a = {prefix * 10}1\n" + TAIL).globals["a"] in (True, False, 1)


def test_nested_statements_past_the_limit():
    text = "model m(inputs: [8, 8, 1]) {\n" + "scope s {\n" * 150 + "conv 4 3x3\n" + "}\n" * 150 + "}\n"
    code, line, col, _ = error_of(text)
    assert code == "E941" and col in (1, 7) and 90 < line < 110  # the scope statement or its name


# -------------------------------------------------------------------- sizes --
@pytest.mark.parametrize("expr, ok", [
    ("2 ** 1000", True), ("2 ** 1025", False), ("10 ** 10 ** 10", False), ("(-3) ** 600", True),
    ("(2 ** 600) * (2 ** 600)", False), ("(2 ** 500) * (2 ** 500)", True),
    ("[0] * 1000000", True), ("[0] * 1000001", False), ("1000001 * [0]", False), ('"ab" * 500001', False),
    ("len(range(1000000))", True), ("len(range(1000001))", False), ("len(range(0, 10 ** 12, 10 ** 6))", True),
    ("sum(range(10 ** 12))", False), ("5 in range(10 ** 18)", False), ("0.5 ** 100000", True),
])
def test_value_sizes(expr, ok):
    text = f"let a = {expr}\n" + TAIL
    if ok:
        passes(text)
    else:
        code, line, col, message = error_of(text)
        assert (code, line, col) == ("E944", 1, 9) or (code, line) == ("E944", 1), message
        assert "too large" in message


def test_an_integer_grown_in_a_loop_stops_at_the_limit():
    text = "model m(inputs: [8, 8, 1]) {\n  let a = 3\n  for i in range(2000) {\n    let a = a * a + 1\n  }\n" \
           "  conv 4 3x3\n}\n"
    code, line, col, _ = error_of(text)
    assert (code, line, col) == ("E944", 4, 13)


# -------------------------------------------------------------- elaboration --
def test_steps():
    ok = "model m(inputs: [8, 8, 1]) {\n  for i in range(1000) {\n    for j in range(80) {\n      let k = i\n" \
         "    }\n  }\n  conv 4 3x3\n}\n"
    passes(ok)  # 80,000 statements (and the lists' work): within the budget
    code, line, col, message = error_of(ok.replace("range(80)", "range(120)"))
    assert (code, line, col) == ("E942", 4, 7) and f"{limits.MAX_STEPS:,}" in message


def test_an_exponential_function_is_stopped_by_the_step_budget():
    text = "let f(n) = 1 if n < 1 else f(n - 1) + f(n - 1)\nlet y = f(40)\n" + TAIL
    t = time.monotonic()
    code, line, _, _ = error_of(text)
    assert (code, line) == ("E942", 1)
    assert time.monotonic() - t < 30  # ~1 s here; the bound only guards against a hang


def test_recursion_depth_of_functions():
    fact = "let fact(n) = 1 if n < 2 else n * fact(n - 1)\n"
    assert passes(fact + f"let y = fact({limits.MAX_CALL_DEPTH})\n" + TAIL).globals["y"] > 0
    code, line, col, message = error_of(fact + f"let y = fact({limits.MAX_CALL_DEPTH + 1})\n" + TAIL)
    assert (code, line) == ("E943", 1) and "function" in message
    code, line, _, _ = error_of("let f(x) = g(x)\nlet g(x) = f(x)\nlet y = f(1)\n" + TAIL)
    assert code == "E943" and line in (1, 2)


def test_recursion_depth_of_blocks():
    def chain(n):
        parts = [f"block b{i}(d) {{\n  b{i + 1} d\n}}\n" for i in range(n)] + [f"block b{n}(d) {{\n  conv d 1x1\n}}\n"]
        return "".join(parts) + "model m(inputs: [8, 8, 1]) {\n  b0 4\n}\n"

    passes(chain(limits.MAX_CALL_DEPTH - 1))
    code, _, _, message = error_of(chain(limits.MAX_CALL_DEPTH + 5))
    assert code == "E943" and "block" in message


def test_python_stack_limit_is_a_located_error_not_a_traceback():
    # Every single limit is respected, but 60 block calls 95 scopes deep exceed Python's stack.
    parts = [f"block b{i}(d) {{\n" + "scope s {\n" * 95 + f"  b{i + 1} d\n" + "}\n" * 95 + "}\n" for i in range(60)]
    text = "".join(parts) + "block b60(d) {\n  conv d 1x1\n}\nmodel m(inputs: [8, 8, 1]) {\n  b0 4\n}\n"
    code, line, _, _ = error_of(text)
    assert code == "E943" and line > 1
    expr = "n" + " + 1" * 80
    code, line, _, _ = error_of(f"let f(n) = 0 if n < 1 else f(n - 1) + {expr}\nlet y = f(60)\n" + TAIL)
    assert (code, line) == ("E943", 1)


def test_layers_per_model_and_repeats():
    n = limits.MAX_LAYERS
    code, line, _, _ = error_of(f"model m(inputs: [8, 8, 1]) {{\n  for i in range({n + 1}) {{\n    conv 4 3x3\n  }}\n}}\n")
    assert (code, line) == ("E946", 3)
    code, line, col, message = error_of("model m(inputs: [8, 8, 1]) {\n  conv 4 3x3 x99999999999\n}\n")
    assert (code, line, col) == ("E946", 2, 3) and "99,999,999,999" in message


def test_deadline():
    text = "model m(inputs: [8, 8, 1]) {\n  for i in range(50000) {\n    let k = i\n  }\n  conv 4 3x3\n}\n"
    passes(text)
    with pytest.raises(SlimError) as e:
        check_text(text, "t.slim", deadline=time.monotonic() - 1)
    # noticed at the first look at the clock: making the 50,000-item range already counts as work
    assert e.value.first.code == "E945" and e.value.first.span.line in (2, 3)


def test_making_large_values_in_a_loop_counts_as_work():
    # Each turn makes a 1,000,000-item list: the step budget ends it after a few dozen turns, not 100,000.
    text = "model m(inputs: [8, 8, 1]) {\n  for i in range(100000) {\n    let x = len(range(1000000))\n  }\n" \
           "  conv 4 3x3\n}\n"
    t = time.monotonic()
    code, line, col, _ = error_of(text)
    assert (code, line, col) == ("E942", 3, 17)
    assert time.monotonic() - t < 30  # ~1 s here; the bound only guards against a hang


def test_cycles_of_defaults_use_are_e107():
    code, line, col, message = error_of("defaults a() { use b() }\ndefaults b() { use a() }\n"
                                        "model m(inputs: [8, 8, 1]) uses a {\n  conv 4 3x3\n}\n")
    assert (code, line, col) == ("E107", 1, 10) and "a -> b -> a" in message
    code, _, _, message = error_of("defaults a() { use a() }\nmodel m(inputs: [8, 8, 1]) uses a {\n  conv 4 3x3\n}\n")
    assert code == "E107" and "a -> a" in message


# ---------------------------------------------------------------- file size --
def test_code_size_counts_neither_comments_nor_blank_space():
    comments = ("# " + "x" * 98 + "\n") * 20_000  # 2 MB of comments
    indented = (" " * 60 + "\n") * 20_000  # 1.2 MB of blank space
    assert len(comments + indented) > 2 * limits.MAX_CODE_BYTES
    passes(comments + indented + TAIL)
    strings = 'let s = "# not a comment ' + "y" * 100 + '"\n'
    n = limits.MAX_CODE_BYTES // len("".join(strings.split())) + 10  # blank space in strings is not counted either
    code, line, col, message = error_of(strings * n + TAIL)
    assert code == "E940" and col == 1 and line < n and "512 KiB" in message


def test_long_lines_are_clipped_around_the_caret():
    line = "let a = [" + "1, " * 20_000 + "x]\n"
    with pytest.raises(SlimError) as e:
        check_text(line + TAIL, "t.slim")
    text = str(e.value)
    assert "undefined name `x`" in text and max(len(s) for s in text.splitlines()) < 300
    caret_line = [s for s in text.splitlines() if s.strip().startswith("|") and "^" in s][0]
    source_line = text.splitlines()[text.splitlines().index(caret_line) - 1]
    at = caret_line.index("^")
    assert source_line[at] == "x"


def test_top_level_definitions():
    lets = "".join(f"let c{i} = {i}\n" for i in range(limits.MAX_DEFINITIONS - 1))
    passes(lets + TAIL)
    code, line, col, message = error_of(lets + "let extra = 1\n" + TAIL)
    assert (code, line, col) == ("E947", limits.MAX_DEFINITIONS + 1, 7) and "1,001" in message
