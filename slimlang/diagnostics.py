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

import codecs
import difflib
import functools
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .records import record


@functools.lru_cache(maxsize=4)
def _lines(text: str) -> list:
    # A file with thousands of errors renders thousands of snippets: split it once.
    return text.splitlines()


@record
class Source:
    """The text of one .slim file (or string) and its display name."""

    name: str
    text: str

    def line(self, lineno: int) -> str:
        lines = _lines(self.text)
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
        col = self.col
        if len(text) > _SNIPPET_WIDTH:
            # A very long line (generated code, a minified list) is shown around the caret only.
            first = max(0, min(col - 1 - _SNIPPET_WIDTH // 4, len(text) - _SNIPPET_WIDTH))
            last = first + _SNIPPET_WIDTH
            text = ("..." if first else "") + text[first:last] + ("..." if last < len(text) else "")
            shift = first - (3 if first else 0)
            col, end = col - shift, min(end, last + 1) - shift
        caret_len = max(1, end - col)
        pad = " " * (col - 1)
        return [
            f"{' ' * width} |",
            f"{self.line} | {text}",
            f"{' ' * width} | {pad}{'^' * caret_len}",
        ]


NO_SPAN = Span(None, 0, 0, 0, 0)
_SNIPPET_WIDTH = 160  # characters of a source line shown under an error


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
    near = closest(word, candidates)
    return f"help: did you mean `{near}`?" if near is not None else ""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate `did_you_mean` would suggest, or None."""
    return _closest(word, tuple(sorted(set(candidates))))


@functools.lru_cache(maxsize=4096)
def _closest(word: str, candidates: tuple) -> str | None:
    # difflib costs ~0.2 ms a call; a file repeating one misspelling thousands of times asks once.
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


# Longest first: the UTF-32 little-endian mark begins with the UTF-16 one.
_FOREIGN_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                 (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def decode_error(name: str, data: bytes, e: UnicodeDecodeError) -> SlimError:
    """E901 for source bytes that are not UTF-8, located at the first bad byte.

    `e` comes from decoding `data` as "utf-8-sig", so its offsets count from after a UTF-8
    byte-order mark.  The line is shown decoded with errors="replace" (one U+FFFD per bad byte),
    the caret under the bad bytes, with a hint at the encoding the file probably has."""
    data = data.removeprefix(codecs.BOM_UTF8)
    start, end = e.start, e.end
    bad = data[start:end]
    bom, foreign = next(((b, enc) for b, enc in _FOREIGN_BOMS if data.startswith(b)), (None, None))
    if foreign:
        # Its text is ASCII letters between NUL bytes: without the NULs the line reads as it should.
        text = data.decode("utf-8", "replace").replace("\0", "")
        span_len = len(bom.decode("utf-8", "replace").replace("\0", ""))
        start = 0
        message = f"this file is {foreign} text; slimlang reads UTF-8"
        notes = [f"note: it starts with the {foreign} byte-order mark "
                 + " ".join(f"0x{b:02X}" for b in bom),
                 f"help: re-save it as UTF-8 (e.g. `iconv -f {foreign} -t UTF-8 {name}`)"]
    else:
        text = data.decode("utf-8", "replace")
        seq = data[start:start + 3]
        if len(seq) == 3 and seq[0] == 0xED and 0xA0 <= seq[1] <= 0xBF and 0x80 <= seq[2] <= 0xBF:
            point = ((seq[0] & 0x0F) << 12) | ((seq[1] & 0x3F) << 6) | (seq[2] & 0x3F)
            span_len = 3
            message = (f"bytes {' '.join(f'0x{b:02X}' for b in seq)} encode U+{point:04X}, a UTF-16 surrogate, "
                       "which is not allowed in UTF-8")
            notes = ["note: tools writing CESU-8 or Java's \"modified UTF-8\" produce such bytes",
                     "help: write the character itself and save the file as UTF-8"]
        else:
            span_len = len(bad.decode("utf-8", "replace")) or 1
            b = bad[0] if bad else data[start]
            what = {"invalid start byte": "cannot start a character",
                    "invalid continuation byte": "starts a character that the next byte does not continue",
                    "unexpected end of data": "starts a character that the file ends inside"}.get(e.reason, e.reason)
            message = f"this file is not UTF-8: byte 0x{b:02X} {what}"
            notes = []
            try:
                legacy = bytes([b]).decode("cp1252")
            except UnicodeDecodeError:
                legacy = None
            if legacy and legacy.isprintable():
                notes.append(f"note: in Latin-1 / Windows-1252, byte 0x{b:02X} is `{legacy}`; "
                             "the file may have been saved in that encoding")
                notes.append(f"help: slimlang files are UTF-8; re-save it as UTF-8 "
                             f"(e.g. `iconv -f WINDOWS-1252 -t UTF-8 {name}`)")
            else:
                notes.append("help: slimlang files are UTF-8; re-save it as UTF-8")
    # Line and column of the bad byte in the decoded text, counted the way Source.line splits lines.
    index = len(data[:start].decode("utf-8", "replace")) if not foreign else 0
    line_no, line_start = 1, 0
    for line in text.splitlines(keepends=True):
        if index < line_start + len(line):
            break
        line_start += len(line)
        line_no += 1
    col = index - line_start + 1
    source = Source(name, text)
    return SlimError.single("E901", message, Span(source, line_no, col, line_no, col + span_len), notes)


class UsageError(Exception):
    """Bad command-line use (exit status 2), as opposed to an error in a .slim file."""
