"""The Python view-model: the one escaping path from .slim text to emitted Python, and the
records (`Stmt`, `FunctionView`, `ModuleView`) the templates print.

Shared by the model emitter (emit.py) and the training-program emitter (emit_train.py).
Imports nothing of TensorFlow.
"""

from __future__ import annotations

import keyword
import re
import textwrap
from dataclasses import dataclass, field

# --------------------------------------------------------------- escaping ---
# The one path from .slim text to Python source.  A .slim string becomes a
# `repr()` literal (`py_str`, or `values.py_literal` for data), a name becomes
# a checked identifier (`py_ident`), text for a docstring goes through
# `doc_text` and text for a `#` comment through `comment_text`.  The results
# are `Code` / `Doc` values; the view-models below accept nothing else, and
# the Jinja environment refuses to print any value that is not one of them.


class Code(str):
    """Python source the emitter assembled from literals and checked identifiers."""

    __slots__ = ()

    def __html__(self):  # Jinja's autoescape passes it through untouched
        return str(self)


class Doc(Code):
    """Text made safe for the inside of a triple-double-quoted docstring."""

    __slots__ = ()


def _visible(text: str) -> str:
    """`text` with every non-printable character written as a `\\uXXXX` escape.

    `str.isprintable()` is false for everything Python's tokenizer or an
    editor takes as a line break (`\\n`, `\\r`, `\\x0b`, `\\x0c`, `\\x1c`-`\\x1e`,
    U+0085, U+2028, U+2029), for NUL and other controls, and for format
    characters such as the right-to-left override U+202E.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
                   for c in text)


def py_str(value: str) -> Code:
    """A Python string literal for .slim text (`repr` escapes quotes, backslashes, non-printables)."""
    return Code(repr(str(value)))


def py_ident(name: str) -> Code:
    """`name` as a Python identifier; anything else is an emitter bug (the .slim lexer allows only ASCII names)."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()) or keyword.iskeyword(name):
        raise ValueError(f"not a Python identifier: {name!r}")
    return Code(name)


def doc_text(text: str) -> Doc:
    """A docstring line: backslashes and double quotes escaped, so nothing can close or bend the string."""
    if isinstance(text, Doc):
        return text
    return Doc(_visible(text.replace("\\", "\\\\").replace('"', '\\"')))


def comment_text(text: str) -> Code:
    """Text for a `#` comment: on one line, whatever it contains."""
    return Code(_visible(text))


def code_line(text: str) -> Code:
    """One line of emitted code; refuses a raw line break or control character (they only come from raw text)."""
    if isinstance(text, Code):
        return text
    if not text.isprintable():
        raise ValueError(f"emitted code line holds a non-printable character: {text!r}")
    return Code(text)


def _finalize(value):
    """Jinja `finalize`: only `Code`/`Doc` (and the Markup of macros built from them) may be printed."""
    if hasattr(value, "__html__"):
        return value
    raise TypeError(f"template printed an unescaped {type(value).__name__}: {value!r}")


# ------------------------------------------------------------ view-models ---


@dataclass
class Stmt:
    """One line of code, with an indented body when it ends with a colon."""

    text: str
    body: list | None = None
    comment: str = ""  # `file.slim:LINE`, after the statement (and its colon)

    def __post_init__(self):
        self.text = code_line(self.text)
        self.comment = comment_text(self.comment)


@dataclass
class FunctionView:
    name: str
    decorators: list
    params: list  # rendered parameters: "inputs", "num_classes=1000", ...
    doc: list  # docstring lines
    body: list  # of Stmt
    after: list = field(default_factory=list)  # module-level lines after the function

    def __post_init__(self):
        self.name = py_ident(self.name)
        self.decorators = [code_line(d) for d in self.decorators]
        self.params = [code_line(p) for p in self.params]
        self.doc = [doc_text(line) for line in self.doc]
        self.after = [code_line(line) for line in self.after]

    @property
    def signature(self) -> Code:
        return Code(", ".join(self.params))


@dataclass
class ModuleView:
    doc: list
    imports_math: bool
    import_tf: bool
    import_slim: bool
    constants: list  # "NAME = literal"
    functions: list  # of FunctionView
    extra_imports: list = field(default_factory=list)  # "import os", ... (--train)
    tail: list = field(default_factory=list)  # module-level lines at the end (--train: the __main__ guard)
    train: bool = False  # a --train program: quiet TensorFlow start-up, progress lines
    helpers: list = field(default_factory=list)  # Code: functions of builtins TensorFlow lacks (hard_swish)

    def __post_init__(self):
        self.doc = [doc_text(line) for line in self.doc]
        self.constants = [code_line(c) for c in self.constants]
        self.tail = [code_line(line) for line in self.tail]

    def __setattr__(self, key, value):
        if key == "extra_imports":
            value = [code_line(v) for v in value]
        super().__setattr__(key, value)


def _safe_comment(name: str) -> str:
    """A file name for a `# file.slim:LINE` comment: letters, digits and `._-+` only."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "source"


def _wrap(lines, width: int) -> list:
    """Docstring lines wrapped to `width` (keeping each line's indentation), for pycodestyle's E501."""
    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        more = indent + ("  " if indent else "")
        out += textwrap.wrap(line.strip(), width, initial_indent=indent, subsequent_indent=more,
                             break_long_words=False, break_on_hyphens=False) or [line]
    return out
