"""Budgets: how much a .slim program may ask of the machine.

A .slim file is a program: loops, recursion and arithmetic can ask for more
time or memory than any network needs (`for i in range(10**7)`,
`10 ** 10 ** 10`, a function that calls itself).  Every stage that reads or
runs a program stays inside these limits and reports going past one as a
located error, so no input hangs slimlang or exhausts memory, whatever asks:
the command line, the Python API or the language server.

The numbers are far above what any network of the TF-Slim model zoo uses
(the largest, resnet_v1_200 and nasnet, elaborate fewer than 3,000 layers and
nest fewer than 10 levels) and far below what would take a machine down.
"""

from __future__ import annotations

import math
import re
import time

from .diagnostics import SlimError

# Source text, not counting blank space and comments: some 50,000 short statements, 2 s to parse.
MAX_CODE_BYTES = 512 * 1024
# Top-level definitions (models, blocks, defaults, lets, train sections) in one file.
MAX_DEFINITIONS = 1000
# Brackets, operators, blocks and statements nested inside each other, as the parser reads them.
MAX_NESTING = 100
# Block calls and `let` function calls nested inside each other while elaborating.
MAX_CALL_DEPTH = 64
# Statements run and functions called in one elaboration of a model (or of the top-level lets).
MAX_STEPS = 100_000
# Layers one model may elaborate into.
MAX_LAYERS = 20_000
# Parameters of one model: 2**30 float32 weights are 4 GiB, and training holds several copies of them.
MAX_PARAMETERS = 2**30
# Integers: bits of magnitude (2**1024 is about 1.8e308, where floats stop too).
MAX_INT_BITS = 1024
# Lists, tuples and strings: items (characters).
MAX_LENGTH = 1_000_000

_LOOK_EVERY = 1024  # steps between looks at the step limit and the clock
_ITEMS_PER_STEP = 64  # items of a list or string made that cost as much time as one statement


class Budget:
    """The running count of one elaboration against the limits (and an optional deadline).

    The evaluator's statement loop increments `steps` itself and calls `look` only when `steps`
    reaches `next_look`: a comparison per statement, the clock read once per thousand."""

    __slots__ = ("steps", "layers", "depth", "deadline", "next_look")

    def __init__(self, deadline: float | None = None):
        self.steps = 0
        self.layers = 0
        self.depth = 0
        self.deadline = deadline
        self.next_look = _LOOK_EVERY

    def step(self, span) -> None:
        """One statement run or function called."""
        self.steps += 1
        if self.steps >= self.next_look:
            self.look(span)

    def look(self, span) -> None:
        """Every _LOOK_EVERY steps: the step limit and the deadline."""
        self.next_look = self.steps + _LOOK_EVERY
        if self.steps > MAX_STEPS:
            raise SlimError.single(
                "E942", f"this program runs more than {MAX_STEPS:,} statements and function calls", span,
                ["note: a loop or a recursive function here does not end soon enough; no network needs "
                 "that many"])
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SlimError.single("E945", "checking took longer than its time limit; stopped here", span,
                                   ["note: the language server gives each check a few seconds"])

    def made(self, value, span) -> None:
        """A list or string was just made: its size counts as work (a 1,000,000-item list as ~15,000 steps),
        so a loop that makes large values meets the step limit and the deadline in time too."""
        n = len(value) if isinstance(value, (list, tuple, str)) else 0
        if n >= _ITEMS_PER_STEP:
            self.steps += n // _ITEMS_PER_STEP
            if self.steps >= self.next_look:
                self.look(span)

    def layer(self, span) -> None:
        self.layers += 1
        if self.layers > MAX_LAYERS:
            raise SlimError.single("E946", f"the model has more than {MAX_LAYERS:,} layers", span,
                                   ["note: no network of the TF-Slim model zoo has a tenth of that"])

    def enter(self, span, what: str) -> None:
        """A block or function call begins; the caller decrements `depth` when it ends."""
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            self.depth -= 1
            raise SlimError.single("E943", f"{what} calls nest more than {MAX_CALL_DEPTH} deep", span,
                                   ["note: a function or block that calls itself needs a condition that ends "
                                    "the recursion sooner"])


def too_many_parameters(n: int, span):
    """E948: a model whose weights alone would exhaust memory when built (`conv 99999999 3x3`)."""
    raise SlimError.single("E948", f"the model reaches {n:,} parameters here, more than slimlang builds "
                           f"({MAX_PARAMETERS:,}: {MAX_PARAMETERS * 4 // 2**30} GiB of float32 weights)", span,
                           ["help: check the sizes of this layer's arguments"])


def repeat_count(n: int, span) -> None:
    """`conv 4 3x3 xN`: N layers."""
    if n > MAX_LAYERS:
        raise SlimError.single("E946", f"a repeat of {n:,} layers is more than a model may have ({MAX_LAYERS:,})", span)


def _too_large(what: str, span, limit_text: str) -> SlimError:
    return SlimError.single("E944", f"{what} would be too large ({limit_text})", span,
                            ["note: values in a .slim program stay small: sizes, counts, names"])


def _sequence(v, n: int) -> str:
    return f"a string of {n:,} characters" if isinstance(v, str) else f"a list of {n:,} items"


def _length(v) -> int | None:
    return len(v) if isinstance(v, (list, tuple, str)) else None


def _bits(v) -> int:
    return abs(v).bit_length() if isinstance(v, int) else 0


def check_binop(op: str, left, right, span) -> None:
    """Before computing `left op right`: refuse a result too large to hold (or to compute in time)."""
    if op == "*":
        seq, count = (left, right) if _length(left) is not None else (right, left)
        if _length(seq) is not None and isinstance(count, int) and _length(seq) * max(count, 0) > MAX_LENGTH:
            raise _too_large(_sequence(seq, _length(seq) * count), span, f"at most {MAX_LENGTH:,}")
        if isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INT_BITS + 1:
            raise _too_large("the product", span, f"integers stop at {MAX_INT_BITS} bits, about 1.8e308")
    elif op == "+":
        a, b = _length(left), _length(right)
        if a is not None and b is not None and a + b > MAX_LENGTH:
            raise _too_large(_sequence(left, a + b), span, f"at most {MAX_LENGTH:,}")
    elif op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if right * math.log2(abs(left)) > MAX_INT_BITS:
            raise _too_large(f"{left} ** {right}", span, f"integers stop at {MAX_INT_BITS} bits, about 1.8e308")


def check_result(value, span):
    """After an operation: an integer over the limit (built up step by step, say in a loop)."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_large("an integer", span, f"at most {MAX_INT_BITS} bits, about 1.8e308")
    return value


def check_range(args: tuple, span) -> None:
    """`range(...)` makes a list: refuse one longer than MAX_LENGTH before making it."""
    if all(isinstance(a, int) for a in args) and 1 <= len(args) <= 3:
        try:
            n = len(range(*args))
        except (ValueError, OverflowError):  # step 0 is range's own error, shown as usual
            return
        if n > MAX_LENGTH:
            raise _too_large(f"a range of {n:,} numbers", span, f"a list has at most {MAX_LENGTH:,} items")


def check_source_size(text: str, filename: str) -> None:
    """E940 when a file has more code than slimlang reads: MAX_CODE_BYTES characters that are
    neither blank nor in a comment (so `fmt`'s re-indenting never pushes a file over).

    Located at the line where the limit is passed; a scan of the text before any parsing."""
    if len(text) <= MAX_CODE_BYTES or _code_size(text) <= MAX_CODE_BYTES:
        return
    from .diagnostics import Source, Span

    code = 0
    for number, line in enumerate(text.split("\n"), 1):
        code += _code_size(line)
        if code > MAX_CODE_BYTES:
            col = len(line) - len(line.lstrip()) + 1
            raise SlimError.single(
                "E940", f"this file has more than {MAX_CODE_BYTES // 1024:,} KiB of code (blank space and "
                "comments not counted); slimlang reads no more", Span(Source(filename, text), number, col, number,
                                                                         min(len(line), col + 40) + 1),
                ["note: the limit is passed on this line",
                 "help: split the program into several files, or write repetition as a `for` loop "
                 "or a repeat (`conv 64 3x3 x4`)"])


_COMMENT_OR_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|#[^\n]*")
_BLANK = str.maketrans("", "", " \t\r\n\f\v")


def _code_size(text: str) -> int:
    """Characters that are not blank and not in a comment (a `#` inside a string is no comment)."""
    if "#" in text:
        text = _COMMENT_OR_STRING.sub(lambda m: "" if m.group().startswith("#") else m.group(), text)
    return len(text.translate(_BLANK))


def check_definitions(module) -> None:
    """E947 for a file with more than MAX_DEFINITIONS top-level items, at the first one past it."""
    if len(module.items) > MAX_DEFINITIONS:
        item = module.items[MAX_DEFINITIONS]
        raise SlimError.single("E947", f"this file has {len(module.items):,} top-level definitions; slimlang reads "
                               f"files of up to {MAX_DEFINITIONS:,}", getattr(item, "name_span", None) or item.span,
                               ["note: this is the first one past the limit",
                                "help: split the file, or make the variants one model with parameters"])
