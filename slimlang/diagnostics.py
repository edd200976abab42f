"""Diagnostics: source spans and the one error type users ever see.

Every mistake a user can make in a .slim file, on the command line or in the
data a train section names is reported as a `SlimError` carrying one or more
`Diagnostic`s.  Each renders as

    FILE:LINE:COL: error[E123]: message
       |
     7 |   conv 64 3x3 paddng=SAME
       |               ^^^^^^
       = help: did you mean `padding`?

Phases collect diagnostics in a `Collector` and raise once at the end, so a
user sees every error of a phase together.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .records import record


@record
class Source:
    """The text of one .slim file (or string) and its display name."""

    name: str
    text: str

    def line(self, lineno: int) -> str:
        lines = self.text.splitlines()
        if 1 <= lineno <= len(lines):
            return lines[lineno - 1]
        return ""


@record
class Span:
    """A region of a source: 1-based line and column, end exclusive.

    Spans never take part in equality of the nodes that carry them (nodes
    declare them with `hidden(...)`, see records.py), so two programs that differ only
    in layout have equal IR.
    """

    source: Source | None
    line: int
    col: int
    end_line: int
    end_col: int

    @property
    def filename(self) -> str:
        return self.source.name if self.source else "<unknown>"

    def location(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}"

    def render_snippet(self) -> list[str]:
        if self.source is None:
            return []
        text = self.source.line(self.line)
        width = len(str(self.line))
        end = self.end_col if self.end_line == self.line else len(text) + 1
        caret_len = max(1, end - self.col)
        pad = " " * (self.col - 1)
        return [
            f"{' ' * width} |",
            f"{self.line} | {text}",
            f"{' ' * width} | {pad}{'^' * caret_len}",
        ]


NO_SPAN = Span(None, 0, 0, 0, 0)


@record
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    notes: tuple[str, ...] = ()
    severity: str = "error"

    def render(self) -> str:
        where = f"{self.span.location()}: " if self.span and self.span.source else ""
        out = [f"{where}{self.severity}[{self.code}]: {self.message}"]
        if self.span is not None:
            out.extend(self.span.render_snippet())
        for note in self.notes:
            out.append(f"   = {note}")
        return "\n".join(out)


class SlimError(Exception):
    """An error the user caused; carries every diagnostic of the failed phase."""

    def __init__(self, diagnostics: Sequence[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__(self.render())

    @classmethod
    def single(cls, code: str, message: str, span: Span | None = None, notes: Iterable[str] = ()) -> "SlimError":
        return cls(Diagnostic(code, message, span, tuple(n for n in notes if n)))

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)


@dataclass
class Collector:
    """Collects the diagnostics of one phase; `raise_if_any` raises them together."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span | None = None, notes: Iterable[str] = ()) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, tuple(n for n in notes if n)))

    def extend(self, err: SlimError) -> None:
        self.diagnostics.extend(err.diagnostics)

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise SlimError(self.diagnostics)

    def __bool__(self) -> bool:
        return bool(self.diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A 'help: did you mean ...' note, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"help: did you mean `{close[0]}`?" if close else ""


class UsageError(Exception):
    """Bad command-line use (exit status 2), as opposed to an error in a .slim file."""
