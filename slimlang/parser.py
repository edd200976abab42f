"""Parse stage: .slim text -> AST (slimlang.ast).

The Lark LALR parser is built once per process (and its tables cached on disk
by Lark).  The AST is built while parsing: `_Builder` is passed to Lark as an
inline transformer, so no parse tree is made, and there is no second pass.
Lark cannot propagate positions to an inline transformer, so each callback
computes its node's span from its tokens and children (the grammar keeps the
keywords and brackets a span starts or ends with).  Expressions are parsed
flat by the grammar and given their precedence here (`_ExprReader`).
Syntax errors become `SlimError`s with a caret and the tokens that would have
fit.  No Lark type leaves this module.
"""

from __future__ import annotations

import functools
import gc
import re
import threading
from copy import copy
from importlib import resources
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.lexer import ContextualLexer

from . import ast, limits
from .diagnostics import Diagnostic, SlimError, Source, Span


def grammar_text() -> str:
    here = Path(__file__).resolve().parent.parent / "grammar" / "slim.lark"
    if here.is_file():  # a source checkout or an editable install
        return here.read_text(encoding="utf-8")
    return resources.files("slimlang.grammar").joinpath("slim.lark").read_text(encoding="utf-8")


_GLUE_BEFORE = frozenset(("NAME", "RPAR", "RSQB", "STRING"))


class _PostLex:
    """Newline and bracket handling that an LALR grammar cannot express.

    - newlines inside () and [] and right after `,` are dropped, so argument
      lists may span lines;
    - a newline continues the current statement when the next line is
      indented deeper than the line where the statement began and starts
      with what only an argument can be (`name=`, `as`, `from`, `x2`, a
      literal, a bracket, a sign) or the line ends with `=` or an operator:
      a layer's arguments may go on indented lines without `\\`.  A deeper
      line that starts with a plain name is a statement of its own, as
      before.  The newline after a `{` or a `;` never continues, and `}`
      returns to the statement that opened its `{`;
    - `(` right after a name, `)` or `]` with no space is a call, `[` in the
      same place is an index; with a space they start a new argument, which
      is what `conv n [1, 1]` and `conv d (3, 3)` mean.

    It also notes the first and the last token it passes on: the module's span.
    """

    always_accept = ("_NL", "LPAR", "LSQB")

    def __init__(self):
        self.first = self.last = None
        self.text = ""  # the text being parsed (to look at the line after a newline)

    def process(self, stream):
        depth = 0
        prev = None
        self.first = self.last = None
        start = None  # column of the first token on the line the statement began; None: the next token starts one
        opened = []  # `start` of the statements whose `{` is open
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                if depth or (prev is not None and prev.type == "COMMA"):
                    continue
                if start is not None and _next_line_column(tok) > start and (
                        prev.type != "STRING" and prev.value in _CONTINUES_AFTER or _CONTINUATION.match(self.text, tok.end_pos)):
                    continue
                start = None
            elif kind == "LBRACE":
                opened.append(start)
                start = None
            elif kind == "RBRACE":
                start = opened.pop() if opened else None
            elif kind == "SEMICOLON":
                start = None
            elif start is None and not depth:
                start = _indentation(self.text, tok) + 1
            if kind == "LPAR" or kind == "LSQB":
                if prev is not None and prev.end_pos == tok.start_pos and prev.type in _GLUE_BEFORE:
                    tok = Token.new_borrow_pos("CALL_LPAR" if kind == "LPAR" else "INDEX_LSQB", tok.value, tok)
                depth += 1
            elif kind in ("RPAR", "RSQB") and depth:
                depth -= 1
            if prev is None:
                self.first = tok
            prev = tok
            yield tok
        self.last = prev


# A line that starts like this cannot start a statement: it continues the one above when indented
# deeper.  (`name = ...` with spaces is an assignment only at a statement's own indentation.)
_CONTINUATION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ \t]*=(?!=)|(as|from|x[0-9]+|none|true|false)(?![A-Za-z0-9_])"
                           r"|[0-9.\"'\[(+-]")
# ...nor can a line that ends with one of these end one.
_CONTINUES_AFTER = frozenset(("=", "+", "-", "*", "/", "%", "**", "//", "==", "!=", "<", ">", "<=", ">=",
                              "and", "or", "not", "in"))


def _indentation(text: str, tok) -> int:
    """How many spaces and tabs begin the line of `tok`."""
    before = text[tok.start_pos - tok.column + 1:tok.start_pos]
    return len(before) - len(before.lstrip(" \t\f"))


def _next_line_column(nl) -> int:
    """The column (1-based, as Token.column) of the first token after a `_NL` token, which holds
    the line breaks, blank and comment lines and the next line's indentation."""
    return len(nl.value) - nl.value.rfind("\n")


# Friendly names for terminals in "expected ..." notes.
_TOKEN_NAMES = {
    "NAME": "a name", "INT": "an integer", "FLOAT": "a number", "STRING": "a string",
    "KERNEL": "a kernel size like 3x3", "REPEAT": "a repeat count like x2",
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "CALL_LPAR": "`(`",
    "LSQB": "`[`", "RSQB": "`]`", "INDEX_LSQB": "`[`", "COMMA": "`,`", "COLON": "`:`",
    "EQUAL": "`=`", "SEMICOLON": "`;`", "_NL": "a new line", "$END": "the end of the file",
    "SLASH": "`/`", "ENDPOINT_KW": "`endpoint`", "MINUS": "`-`", "PLUS": "`+`", "STAR": "`*`",
}


def _describe(tokens) -> str:
    names = []
    for t in sorted(tokens):
        if t in _TOKEN_NAMES:
            names.append(_TOKEN_NAMES[t])
        elif t.isupper() and not t.startswith("__"):
            names.append(f"`{t.lower()}`")
    names = sorted(set(names))
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


class _RootFirstLexer(ContextualLexer):
    """Lark's contextual lexer, with the same tokens, at a fraction of the start-up.

    Lark's ContextualLexer keeps a scanner per set of terminals a parser state
    accepts and compiles each one (a regex union, in Python's pure-Python `re`
    compiler) on first use: dozens of them for a small network, a large part
    of a `slimlang check`.  This one matches with the one scanner of all terminals
    first and takes its token when the parser state accepts it.  That is
    exactly the token the state's own scanner would find: the union tries the
    terminals in the same order (priority, then length) and the ones before
    the match did not match here.  Only when the token is not acceptable
    (`x2` where only a name fits, a keyword used as a name) does it re-read
    with the state's scanner, built then, as Lark would have; errors come from
    that path too, so they read as Lark's.  Installed via Lark's plugin hook.
    """

    def __init__(self, conf, states, always_accept=()):
        self._conf = conf
        self._states = states  # state -> list of acceptable terminal names
        self._accepts = {}  # state -> frozenset of them, made on first use
        self._extra = frozenset(always_accept) | frozenset(conf.ignore)
        self._by_accepts = {}
        self.lexers = {}
        self.root_lexer = self.BasicLexer(copy(conf), None)  # validates every terminal once

    def _state_lexer(self, state):
        lexer = self.lexers.get(state)
        if lexer is None:
            key = self._accepting(state)
            lexer = self._by_accepts.get(key)
            if lexer is None:
                conf = copy(self._conf)
                conf.skip_validation = True
                by_name = conf.terminals_by_name
                conf.terminals = [by_name[n] for n in key | self._extra if n in by_name]
                lexer = self._by_accepts[key] = self.BasicLexer(conf, None)
            self.lexers[state] = lexer
        return lexer

    def _accepting(self, state):
        acc = self._accepts.get(state)
        if acc is None:
            acc = self._accepts[state] = frozenset(self._states[state])
        return acc

    def lex(self, lexer_state, parser_state):
        root, accepts, extra = self.root_lexer, self._accepts, self._extra
        lc = lexer_state.line_ctr
        try:
            while True:
                state = parser_state.position
                mark = (lc.char_pos, lc.line, lc.column, lc.line_start_pos, lexer_state.last_token)
                try:
                    token = root.next_token(lexer_state, parser_state)
                    if token.type in (accepts.get(state) or self._accepting(state)) or token.type in extra:
                        yield token
                        continue
                except UnexpectedCharacters:
                    pass
                lc.char_pos, lc.line, lc.column, lc.line_start_pos, lexer_state.last_token = mark
                try:
                    yield self._state_lexer(state).next_token(lexer_state, parser_state)
                except UnexpectedCharacters as e:  # as ContextualLexer.lex reports it
                    try:
                        last_token = lexer_state.last_token
                        token = root.next_token(lexer_state, parser_state)
                        raise UnexpectedToken(token, e.allowed, state=parser_state, token_history=[last_token],
                                              terminals_by_name=root.terminals_by_name)
                    except UnexpectedCharacters:
                        raise e from None
        except EOFError:
            pass


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _parser_and_builder() -> tuple[Lark, _Builder]:
    postlex = _PostLex()
    builder = _Builder(postlex)
    lark = Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=True,
        postlex=postlex,
        transformer=builder,
        _plugins={"ContextualLexer": _RootFirstLexer},
        cache=_grammar_cache_path(grammar_text()) or False,
    )
    return lark, builder


def _grammar_cache_path(grammar: str) -> str | None:
    """Where Lark keeps the built parser tables between runs: a folder only this user can write
    (Lark loads the file with pickle, so a file someone else could plant must never be read).
    $XDG_CACHE_HOME/slimlang or ~/.cache/slimlang; None (build each time) when there is none.

    The file is named after the grammar and this module's code, so a checkout with other code
    never reads tables built for another (Lark's own key covers the grammar and options only)."""
    import hashlib
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "slimlang"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
    except (OSError, RuntimeError):
        return None
    key = hashlib.sha256(grammar.encode() + Path(__file__).read_bytes()).hexdigest()[:16]
    return str(folder / f"grammar-{key}.cache")


def _parser() -> Lark:
    """The Lark parser, built once per process (its `parse` returns an `ast.Module`)."""
    return _parser_and_builder()[0]


def parse(text: str, filename: str = "<string>") -> ast.Module:
    """Parse .slim source text into an `ast.Module`, or raise `SlimError`."""
    limits.check_source_size(text, filename)
    source = Source(filename, text)
    lark, builder = _parser_and_builder()
    # The builder (and the post-lexer) are shared by every parse: one at a time.
    with _LOCK:
        # The AST is many small objects; on a big file the cyclic garbage
        # collector would rescan them again and again while they are built.
        # They hold no cycles that need it, so it is paused for the parse.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        builder.start_parse(source)
        builder.postlex.text = _ensure_newline(source.text)
        try:
            module = lark.parse(_ensure_newline(source.text))
        except UnexpectedInput as e:
            raise _syntax_error(e, source) from None
        finally:
            builder.end_parse()
            if gc_was_enabled:
                gc.enable()
    limits.check_definitions(module)
    _check_nesting(module)
    return module


def _check_nesting(module: ast.Module) -> None:
    """E941 for a tree nested deeper than limits.MAX_NESTING.

    Every later stage (checker, elaboration, emitter, fmt) walks the tree recursively; bounding
    its depth here is what keeps them all within Python's stack."""
    for node, depth in ast.walk(module):
        if depth > limits.MAX_NESTING:
            raise SlimError.single("E941", f"nested more than {limits.MAX_NESTING} levels deep", node.span,
                                   ["note: brackets, operators, blocks and statements count as levels; "
                                    "name a part with `let` or a block to flatten it"])


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _syntax_error(e: UnexpectedInput, source: Source) -> SlimError:
    line = getattr(e, "line", 1) or 1
    col = getattr(e, "column", 1) or 1
    if isinstance(e, UnexpectedCharacters):
        ch = source.text[e.pos_in_stream] if e.pos_in_stream < len(source.text) else "?"
        msg = f"unexpected character {ch!r}"
        span = Span(source, line, col, line, col + 1)
        notes = []
        if ch == "{" or ch == "}":
            notes.append("help: braces open and close the bodies of models, blocks, scopes and defaults")
        elif ch in _TIMES_SIGNS:
            a = re.search(r"(?<![A-Za-z0-9_.])([0-9]+)[ \t]*$", source.text[:e.pos_in_stream])
            b = re.match(r"[ \t]*([0-9]+)", source.text[e.pos_in_stream + 1:])
            notes.append(f"help: {_SIZES_AND_REPEATS}")
            if b:
                # the whole size (or repeat count) as written, and what to write instead
                start = col - (len(a.group(0)) if a else 0)
                span = Span(source, line, start, line, col + 1 + b.end())
                write = f"{a.group(1) if a else ''}x{b.group(1)}"
                written = source.line(line)[start - 1:col + b.end()]
                msg = (f"unexpected character {ch!r}: `{written}` is not a {'size' if a else 'repeat count'}: "
                       f"write `{write}`")
        return SlimError(Diagnostic("E001", msg, span, tuple(notes)))
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        unclosed = _unclosed_block(source)
        if unclosed is not None:
            return SlimError(unclosed)
        lines = source.text.splitlines() or [""]
        last = len(lines)
        span = Span(source, last, len(lines[-1]) + 1, last, len(lines[-1]) + 2)
        expected = getattr(e, "expected", None) or getattr(e, "accepts", None) or ()
        notes = [f"expected {_describe(expected)}"] if expected else []
        if not expected or "RBRACE" in expected:
            notes.append("help: is a closing `}` missing?")
        return SlimError(Diagnostic("E002", "unexpected end of file", span, tuple(notes)))
    tok = e.token
    text = str(tok)
    if tok.type == "_NL":
        what = "end of line"
        span = Span(source, line, col, line, col + 1)
    else:
        what = repr(text)
        span = Span(source, line, col, tok.end_line or line, tok.end_column or col + len(text))
    expected = e.accepts or e.expected or set()
    if "ELSE" in expected and "PLUS" in expected:
        # inside the test of `a if b else c` (the only place where both fit):
        # the `else` is what is missing, not one of the operators
        expected = {"ELSE"}
    notes = []
    if expected:
        notes.append(f"expected {_describe(expected)}")
    if tok.type == "NAME" and text in ("elif", "def", "return_"):
        notes.append("help: write `else if`")
    opener = _open_bracket(_tokens(source.text[:tok.start_pos]))
    if opener is not None and _CLOSERS[opener.type] in expected:
        closer = "]" if _CLOSERS[opener.type] == "RSQB" else ")"
        notes.append(f"note: the `{opener}` at {source.name}:{opener.line}:{opener.column} is not closed; "
                     f"is a `{closer}` missing?")
    if tok.type in _TOP_LEVEL_KEYWORDS:
        still_open = _open_blocks(_tokens(source.text[:tok.start_pos]))[0]
        if still_open:
            head, brace = still_open[-1]
            notes.append(f"help: {_block_name(head)} (its `{{` at {source.name}:{brace.line}:{brace.column}) is still "
                         "open here; is a closing `}` missing?")
    return SlimError(Diagnostic("E002", f"unexpected {what}", span, tuple(notes)))


# -------------------------------------------- hints for common slips ---

_SIZES_AND_REPEATS = "sizes and repeat counts are written with a lowercase `x` and no spaces, as in `3x3` and `x2`"
_TIMES_SIGNS = "\u00d7\u2715\u2716\u2a2f"  # x-like multiplication signs
_TOP_LEVEL_KEYWORDS = frozenset(("MODEL", "BLOCK", "INLINE", "TRAIN", "IMPORT"))


_SLIP_NAME = re.compile(r"[xX][0-9]*|x[0-9]+(x[0-9]+)+")


def size_slip(name: str, span: Span | None) -> tuple[str, Span, list[str]] | None:
    """(message, span, notes) of E201 for an undefined name that is part of a size or repeat count
    written another way (`3 x 3`, `3X3`, `3x 3`, `x 2`, `X2`, `3x3x3`): the message quotes the whole
    text as written and says what to write, the span covers that text.  None for other names.

    The lexer reads `3x3` and `x2` only as written; anything else splits into numbers and a name
    `x` / `X3` / `x3x3`, which the checker then cannot find.
    """
    if span is None or span.source is None or span.end_line != span.line or not _SLIP_NAME.fullmatch(name):
        return None
    line = span.source.line(span.line)
    before, after = line[:span.col - 1], line[span.end_col - 1:]
    glued = re.search(r"(?<![A-Za-z0-9_.])([0-9]+)$", before)
    spaced = glued or re.search(r"(?<![A-Za-z0-9_.])([0-9]+)\s+$", before)

    def slip(start: int, end: int, what: str, write: str, note: str = f"help: {_SIZES_AND_REPEATS}"):
        return (f"`{line[start - 1:end - 1]}` is not a {what}: write `{write}`",
                Span(span.source, span.line, start, span.line, end), [note])

    if name.count("x") > 1:  # `3x3x3`: the size `3x3`, then a name `x3x3`
        if not glued:
            return None
        dims = [glued.group(1), *name.split("x")[1:]]
        return slip(span.col - len(glued.group(0)), span.end_col, "size", f"[{', '.join(dims)}]",
                    f"help: a size written with `x` has two numbers, as in `3x3`; a size of {len(dims)} "
                    "numbers is a list")
    n = name[1:]
    if not n:
        m = re.match(r"\s*([0-9]+)(?![A-Za-z0-9_.])", after)
        if m is None:
            return None
        if spaced:
            return slip(span.col - len(spaced.group(0)), span.end_col + m.end(), "size",
                        f"{spaced.group(1)}x{m.group(1)}")
        return slip(span.col, span.end_col + m.end(), "repeat count", f"x{m.group(1)}")
    if name[0] == "x":  # `x2` itself is read as a repeat count only after a layer's arguments
        return None
    if glued:
        return slip(span.col - len(glued.group(0)), span.end_col, "size", f"{glued.group(1)}x{n}")
    return slip(span.col, span.end_col, "repeat count", f"x{n}")


def size_hint(name: str, span: Span | None) -> str:
    """A `help:` note for an undefined name `x` that size_slip does not cover but that reads like
    a slip in a size or repeat count (`x-1`, `3 x` with nothing after), else ''."""
    if span is None or span.source is None or name != "x" or span.end_line != span.line:
        return ""
    line = span.source.line(span.line)
    before, after = line[:span.col - 1], line[span.end_col - 1:]
    if re.match(r"-\s*[0-9]", after):
        return "help: a repeat count is a whole number of at least 1 written right after `x` (`x2`); " \
               "`x-1` reads as a name `x` minus 1"
    if re.search(r"(?<![A-Za-z0-9_.])[0-9]+\s*$", before) and not re.match(r"\s*[0-9]", after):
        return f"help: {_SIZES_AND_REPEATS}"
    return ""


def _tokens(text: str) -> list:
    """`text` as tokens of the one all-terminals scanner (no contextual
    choices: enough to follow braces and statement starts)."""
    out = []
    try:
        for tok in _parser().lex(text, dont_ignore=True):
            out.append(tok)  # noqa: PERF402 - one by one, so the tokens before a bad character are kept
    except UnexpectedInput:
        pass  # the tokens up to the bad character
    return out


_CLOSERS = {"LPAR": "RPAR", "CALL_LPAR": "RPAR", "LSQB": "RSQB", "INDEX_LSQB": "RSQB"}


def _open_bracket(tokens):
    """The innermost `(` or `[` still open at the end of `tokens`, or None."""
    stack = []
    for tok in tokens:
        if tok.type in _CLOSERS:
            stack.append(tok)
        elif tok.type in ("RPAR", "RSQB") and stack:
            stack.pop()
    return stack[-1] if stack else None


def _open_blocks(tokens) -> tuple[list, list]:
    """Follow the braces: (the blocks still open at the end, innermost last;
    every closed block), each as (its statement's first tokens, its `{`) plus,
    for closed blocks, the `}`."""
    still_open, closed = [], []
    head, depth = [], 0
    for tok in tokens:
        kind = tok.type
        if kind == "COMMENT" or kind.startswith("__IGNORE"):  # comments, spaces, `\` line joins
            continue
        if kind in ("LPAR", "LSQB"):
            depth += 1
        elif kind in ("RPAR", "RSQB"):
            depth = max(0, depth - 1)
        if kind == "LBRACE":
            still_open.append((head, tok))
            head = []
        elif kind == "RBRACE":
            if still_open:
                h, brace = still_open.pop()
                closed.append((h, brace, tok))
            head = []
        elif depth == 0 and kind in ("_NL", "SEMICOLON"):
            head = []
        elif len(head) < 5:
            head.append(tok)
    return still_open, closed


def _block_name(head) -> str:
    words = [str(t) for t in head]
    if words and words[0] == "inline":
        words = words[1:]
    if len(words) > 2 and words[1] == "=":  # b1 = scope Branch_1 { ... }
        words = words[2:]
    w0 = words[0] if words else ""
    if w0 in ("model", "block", "scope") and len(words) > 1:
        return f"{w0} `{words[1]}`"
    if w0 == "defaults" and len(words) > 1 and (len(words) == 2 or words[2] == "("):
        return f"defaults `{words[1]}`"
    if w0 == "train":
        return "the train section" + (f" `{words[1]}`" if len(words) > 1 else "")
    if w0 in ("defaults", "if", "else", "for"):
        return f"the `{w0}` block"
    return "a block"


def _indent(source: Source, line: int) -> int:
    text = source.line(line)
    return len(text) - len(text.lstrip())


def _unclosed_block(source: Source) -> Diagnostic | None:
    """E004 for a file that ends inside a block: name the block left open and
    where it opened.  When a `}` is indented like an outer block's opening line
    but closes an inner one, the inner one is the block whose `}` is missing."""
    still_open, closed = _open_blocks(_tokens(source.text))
    if not still_open:
        return None
    culprit = note = None
    for head, brace, close in closed:
        opened_at = _indent(source, head[0].line if head else brace.line)
        if close.column - 1 == opened_at:
            continue
        # the `}` lines up with a block that is still open at the end of the file
        for h, b in still_open:
            if _indent(source, h[0].line if h else b.line) == close.column - 1 and b.line < brace.line:
                culprit = (head, brace)
                note = (f"note: the `}}` on line {close.line} is indented like {_block_name(h)} "
                        f"(line {b.line}) but closes {_block_name(head)}")
                break
        if culprit:
            break
    if culprit is None:
        culprit = still_open[-1]
        last = len(source.text.rstrip().splitlines()) or 1
        note = f"note: the file ends at line {last} without the `}}` that matches this `{{`"
    head, brace = culprit
    name = _block_name(head)
    span = Span(source, brace.line, brace.column, brace.line, brace.column + 1)
    return Diagnostic("E004", f"{name} is never closed", span,
                      (note, f"help: add a `}}` after the last statement of {name}"))


def _str_value(tok: str) -> str:
    # STRING tokens are Python-compatible quoted literals; decode escapes safely.
    body = tok[1:-1]
    out = []
    i = 0
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "0": "\0"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


_COMPARE_OPS = frozenset(("==", "!=", "<=", ">=", "<", ">", "in"))
_ADD_OPS = frozenset(("+", "-"))
_MUL_OPS = frozenset(("*", "//", "/", "%"))


class _Builder:
    """Lark's inline transformer: one method per grammar rule (or alias), each
    called with the rule's kept children and returning a typed AST node.

    Spans follow one rule: a node runs from the start of its first child to
    the end of its last, keywords and brackets included.  An expression in
    parentheses keeps its own span; the parentheses count only for the node
    around it (`extent`).  An arithmetic chain's node (`BinOp`) runs from its
    left operand's own span to its right operand's.
    """

    def __init__(self, postlex: _PostLex):
        self.postlex = postlex
        self.source = None
        # id(node) -> (node, line, col, end_line, end_col): the extent of an
        # expression node where it differs from its span (parentheses).
        self.extents = {}

    def start_parse(self, source: Source) -> None:
        self.source = source
        self.extents = {}

    def end_parse(self) -> None:
        self.source = None
        self.extents = {}

    # -- spans
    def _tok_span(self, tok) -> Span:
        return Span(self.source, tok.line, tok.column, tok.end_line, tok.end_column)

    def _extent(self, x) -> tuple:
        """(line, col, end_line, end_col) of child `x` (a token or a node): a node's
        recorded extent when it has one (it may reach past its own span), else its span."""
        if isinstance(x, Token):
            return x.line, x.column, x.end_line, x.end_column
        e = self.extents.get(id(x))
        if e is not None and e[0] is x:
            return e[1:]
        s = x.span
        return s.line, s.col, s.end_line, s.end_col

    def _bounds(self, first, last) -> tuple:
        return self._extent(first)[:2] + self._extent(last)[2:]

    def _span(self, first, last) -> Span:
        return Span(self.source, *self._bounds(first, last))

    def _set_extent(self, node, first, last) -> None:
        bounds = self._bounds(first, last)
        s = node.span
        if bounds != (s.line, s.col, s.end_line, s.end_col):
            self.extents[id(node)] = (node, *bounds)

    def _cannot_read(self, tok, exc) -> SlimError:
        return SlimError(Diagnostic("E003", f"cannot read this construct: {exc}",
                                    Span(self.source, tok.line, tok.column, tok.line, tok.column + 1)))

    # -- top level
    def start(self, items):
        first, last = self.postlex.first, self.postlex.last
        if first is None:
            span = Span(self.source, 1, 1, 1, 1)
        else:
            span = Span(self.source, first.line, first.column, last.end_line, last.end_column)
        return ast.Module(tuple(i for i in items if i is not None), span)

    def params(self, items):
        return tuple(p for p in items if isinstance(p, ast.Param))

    def param(self, items):
        name, typ, default = items
        last = default if default is not None else typ if typ is not None else name
        return ast.Param(str(name), typ, default, self._span(name, last))

    def body(self, items):
        # (statements, the closing `}`): the `}` ends the span of what owns the body
        return tuple(items[:-1]), items[-1]

    def model(self, items):
        inline, kw, name, params, *clauses, body = items
        return self._model(inline if inline is not None else kw, name, params, clauses, body,
                           is_block=False, inline=inline is not None)

    def block_def(self, items):
        inline, kw, name, params, *clauses, body = items
        return self._model(inline if inline is not None else kw, name, params, clauses, body,
                           is_block=True, inline=inline is not None)

    def _model(self, first, name, params, clauses, body, is_block, inline):
        uses = until = default_scope = None
        for kind, value in clauses:
            if kind == "uses":
                uses = value
            elif kind == "until":
                until = value
            else:
                default_scope = value
        stmts, rbrace = body
        return ast.Model(str(name), params, stmts, is_block, inline, uses, until, self._span(first, rbrace),
                         self._tok_span(name), default_scope)

    def inline_kw(self, items):
        return items[0]

    def partial_def(self, items):
        kw, name, _eq, target = items
        return ast.Partial(str(name), target, str(kw) == "block", self._span(kw, target), self._tok_span(name))

    def import_all(self, items):
        kw, path = items
        return ast.Import(_str_value(str(path)), None, self._span(kw, path), self._tok_span(path))

    def import_names(self, items):
        kw, path, _import, names = items
        return ast.Import(_str_value(str(path)), tuple(str(t) for t in names), self._span(kw, names[-1]),
                          self._tok_span(path), tuple(self._tok_span(t) for t in names))

    def uses(self, items):
        return ("uses", items[0])

    def default_scope(self, items):
        return ("as", str(items[0]))

    def until(self, items):
        return ("until", items[0])

    def defaults_def(self, items):
        kw, name, params, _lbrace, *lines, rbrace = items
        return ast.DefaultsDef(str(name), params or (), tuple(lines), self._span(kw, rbrace), self._tok_span(name))

    def defaults_rule(self, items):
        kinds, (kwargs, last) = items
        return ast.DefaultsRule(tuple(str(k) for k in kinds), kwargs, self._span(kinds[0], last),
                                tuple(self._tok_span(k) for k in kinds))

    def defaults_use(self, items):
        return items[0]

    def kinds(self, items):
        return list(items)

    def kwargs(self, items):
        # (the kwargs, the last child: a trailing `,` ends the span of the rule)
        return tuple(k for k in items if not isinstance(k, Token)), items[-1]

    def kwarg(self, items):
        name, value = items
        return ast.KwArg(str(name), value, self._span(name, value))

    def call_ref(self, items):
        name = items[0]
        if len(items) > 1:
            args, kwargs = items[2]
            return ast.CallRef(str(name), args, kwargs, self._span(name, items[3]))
        return ast.CallRef(str(name), (), (), self._tok_span(name))

    def arguments(self, items):
        args = tuple(a for a in items if a is not None and not isinstance(a, ast.KwArg))
        kwargs = tuple(a for a in items if isinstance(a, ast.KwArg))
        return args, kwargs

    # -- statements
    def layer(self, items):
        kind = items[0]
        source = self.source
        kind_span = Span(source, kind.line, kind.column, kind.end_line, kind.end_column)
        if len(items) == 1:
            return ast.Layer(str(kind), (), (), None, None, None, False, kind_span, kind_span)
        args, kwargs = [], []
        repeat = as_name = from_name = None
        endpoint = False
        for item in items[1:]:
            if isinstance(item, tuple):  # a suffix: (key, value, end_line, end_col)
                key, value = item[0], item[1]
                if key == "repeat":
                    repeat = value
                elif key == "as":
                    as_name = value
                elif key == "from":
                    from_name = value
                else:
                    endpoint = True
            elif isinstance(item, ast.KwArg):
                kwargs.append(item)
            else:
                args.append(item)
        last = items[-1]
        end_line, end_col = (last[2], last[3]) if isinstance(last, tuple) else self._extent(last)[2:]
        return ast.Layer(str(kind), tuple(args), tuple(kwargs), repeat, as_name, from_name, endpoint,
                         Span(source, kind.line, kind.column, end_line, end_col), kind_span)

    def repeat(self, items):
        tok = items[0]
        return ("repeat", int(str(tok)[1:]), tok.end_line, tok.end_column)

    def as_name(self, items):
        s = items[0].span
        return ("as", items[0], s.end_line, s.end_col)

    def from_tensor(self, items):
        tok = items[0]
        return ("from", str(tok), tok.end_line, tok.end_column)

    def endpoint_flag(self, items):
        tok = items[0]
        return ("endpoint", True, tok.end_line, tok.end_column)

    def assign(self, items):
        name, stmt = items
        return ast.Assign(str(name), stmt, self._span(name, stmt))

    def scope_stmt(self, items):
        kw, name, defaults, from_name, (stmts, rbrace) = items
        return ast.Scope(name, defaults, str(from_name) if from_name is not None else None, stmts,
                         self._span(kw, rbrace))

    def from_clause(self, items):
        return items[0]  # the NAME token: `endpoint x from t` ends there

    def defaults_stmt(self, items):
        kw, spec, (stmts, rbrace) = items
        return ast.DefaultsStmt(spec, stmts, self._span(kw, rbrace))

    def collect_stmt(self, items):
        kw, kinds = items
        return ast.Collect(tuple(str(k) for k in kinds), self._span(kw, kinds[-1]),
                           tuple(self._tok_span(k) for k in kinds))

    def scope_path(self, items):
        return ast.ScopePath("/".join(str(i) for i in items), self._span(items[0], items[-1]))

    def scope_string(self, items):
        span = self._tok_span(items[0])
        return ast.ScopeExpr(ast.Const(_str_value(str(items[0])), span), span)

    def scope_expr(self, items):
        lpar, expr, rpar = items
        return ast.ScopeExpr(expr, self._span(lpar, rpar))

    def if_stmt(self, items):
        kw, test, (stmts, rbrace), *rest = items
        orelse = ()
        last = rbrace
        if rest:
            other = rest[0]
            if isinstance(other, ast.If):
                orelse, last = (other,), other
            else:
                orelse, last = other
        return ast.If(test, stmts, orelse, self._span(kw, last))

    def for_stmt(self, items):
        kw = items[0]
        stmts, rbrace = items[-1]
        targets = tuple(str(t) for t in items[1:-3] if t.type == "NAME")  # the NAMEs between `for` and `in`
        return ast.For(targets, items[-2], stmts, self._span(kw, rbrace))

    def let_value(self, items):
        kw, name, _eq, value = items
        return ast.Let(str(name), value, self._span(kw, value))

    def let_function(self, items):
        kw, name, params, _eq, value = items
        return ast.LetFunction(str(name), params, value, self._span(kw, value))

    def endpoint_stmt(self, items):
        kw, key, from_tok = items
        if from_tok is None:
            return ast.Endpoint(key, None, self._span(kw, key))
        return ast.Endpoint(key, str(from_tok), self._span(kw, from_tok))

    def return_stmt(self, items):
        return ast.Return(self._tok_span(items[0]))

    def fail_stmt(self, items):
        kw, message = items
        return ast.Fail(message, self._span(kw, message))

    # -- train
    def train(self, items):
        kw, name, _lbrace, *settings, rbrace = items
        return ast.Train(str(name) if name is not None else None, tuple(settings), self._span(kw, rbrace))

    def setting_name(self, items):
        return items[0]

    def setting(self, items):
        name, *rest = items
        args = tuple(a for a in rest if not isinstance(a, ast.KwArg))
        kwargs = tuple(a for a in rest if isinstance(a, ast.KwArg))
        return ast.SettingNode(str(name), args, kwargs, self._span(name, items[-1]), self._tok_span(name))

    # -- expressions
    def expr(self, items):
        # `a if b else c`: the `or_test` and `expr` after `if`/`else` are already nodes
        if len(items) >= 4 and isinstance(items[-4], Token) and items[-4].type == "IF":
            body = items[0] if len(items) == 5 else _ExprReader(self, items[:-4]).read()
            return ast.CondExpr(body, items[-3], items[-1], self._span(body, items[-1]))
        return _ExprReader(self, items).read()

    def or_test(self, items):
        return _ExprReader(self, items).read()

    def int_lit(self, items):
        tok = items[0]
        try:
            value = int(tok)
        except ValueError as e:  # more digits than Python converts
            raise self._cannot_read(tok, e) from None
        return ast.Const(value, Span(self.source, tok.line, tok.column, tok.end_line, tok.end_column))

    def float_lit(self, items):
        tok = items[0]
        return ast.Const(float(tok), self._tok_span(tok))

    def string_lit(self, items):
        return ast.Const(_str_value(str(items[0])), self._tok_span(items[0]))

    def kernel_lit(self, items):
        tok = items[0]
        h, w = str(tok).split("x")
        try:
            height, width = int(h), int(w)
        except ValueError as e:
            raise self._cannot_read(tok, e) from None
        return ast.Kernel(height, width, Span(self.source, tok.line, tok.column, tok.end_line, tok.end_column))

    def true_lit(self, items):
        return ast.Const(True, self._tok_span(items[0]))

    def false_lit(self, items):
        return ast.Const(False, self._tok_span(items[0]))

    def none_lit(self, items):
        return ast.Const(None, self._tok_span(items[0]))

    def name_ref(self, items):
        tok = items[0]
        return ast.Name(str(tok), Span(self.source, tok.line, tok.column, tok.end_line, tok.end_column))

    def list_lit(self, items):
        return ast.ListExpr(tuple(i for i in items[1:-1] if i is not None), self._span(items[0], items[-1]))

    def tuple_lit(self, items):
        return ast.TupleExpr(tuple(i for i in items[1:-1] if i is not None), self._span(items[0], items[-1]))

    def paren(self, items):
        lpar, node, rpar = items
        # the node keeps its own span; the parentheses are its extent (outermost wins)
        self.extents[id(node)] = (node, lpar.line, lpar.column, rpar.end_line, rpar.end_column)
        return node

    def call(self, items):
        func, _lpar, (args, kwargs), rpar = items
        return ast.Call(func, args, kwargs, self._span(func, rpar))

    def index(self, items):
        value, _lsqb, idx, rsqb = items
        return ast.Index(value, idx, self._span(value, rsqb))


class _ExprReader:
    """Precedence climbing over one flat expression: operand nodes and
    operator tokens, as the grammar's `expr`/`or_test` rules give them.

    Python's precedence, lowest first: `or`, `and`, `not`, comparisons (one
    chained `Compare`), `+ -`, `* / // %`, unary `-`, `**` (right operand a
    unary: `-a ** -b` is `-(a ** (-b))`).  The grammar only lets `not` start
    an `and`/`or` operand, so every sequence that reaches here reads.
    """

    __slots__ = ("b", "i", "items", "n")

    def __init__(self, builder: _Builder, items):
        self.b = builder
        self.items = items
        self.i = 0
        self.n = len(items)

    def read(self):
        node = self.or_()
        if self.i != self.n:  # not reachable from the grammar
            raise AssertionError(f"expression left unread at {self.items[self.i]!r}")
        return node

    def _op(self):
        """The operator token at the reading position, or None."""
        if self.i < self.n:
            x = self.items[self.i]
            if isinstance(x, Token):
                return x
        return None

    def or_(self):
        return self._bool("or", self.and_)

    def and_(self):
        return self._bool("and", self.not_)

    def _bool(self, op, operand):
        values = [operand()]
        while (tok := self._op()) is not None and tok == op:
            self.i += 1
            values.append(operand())
        if len(values) == 1:
            return values[0]
        return ast.BoolOp(op, tuple(values), self.b._span(values[0], values[-1]))

    def not_(self):
        # `not not ... x` and `- - ... x` are read in a loop: a long run of prefix operators must not
        # use Python's stack (the nesting limit reports it once the tree is built).
        prefixes = []
        while (tok := self._op()) is not None and tok == "not":
            self.i += 1
            prefixes.append(tok)
        node = self.comparison()
        for tok in reversed(prefixes):
            node = ast.Not(node, self.b._span(tok, node))
        return node

    def comparison(self):
        left = self.arith()
        ops, rights = [], []
        while (tok := self._op()) is not None and tok in _COMPARE_OPS:
            self.i += 1
            ops.append(str(tok))
            rights.append(self.arith())
        if not ops:
            return left
        return ast.Compare(left, tuple(ops), tuple(rights), self.b._span(left, rights[-1]))

    def arith(self):
        return self._chain(_ADD_OPS, self.term)

    def term(self):
        return self._chain(_MUL_OPS, self.factor)

    def _chain(self, ops, operand):
        first = node = operand()
        right = None
        while (tok := self._op()) is not None and tok in ops:
            self.i += 1
            right = operand()
            s, r = node.span, right.span
            node = ast.BinOp(str(tok), node, right, Span(self.b.source, s.line, s.col, r.end_line, r.end_col))
        if right is not None:
            # the chain's extent runs over its first and last operands' extents
            self.b._set_extent(node, first, right)
        return node

    def factor(self):
        prefixes = []
        while (tok := self._op()) is not None and tok == "-":
            self.i += 1
            prefixes.append(tok)
        node = self.power()
        for tok in reversed(prefixes):
            node = ast.Neg(node, self.b._span(tok, node))
        return node

    def power(self):
        base = self.items[self.i]
        self.i += 1
        tok = self._op()
        if tok is not None and tok == "**":
            self.i += 1
            exponent = self.factor()
            return ast.BinOp("**", base, exponent, self.b._span(base, exponent))
        return base
