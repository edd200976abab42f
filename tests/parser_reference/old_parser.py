"""REFERENCE ONLY: the parser as it was before the flat expression grammar and
the inline transformer (layered precedence rules, propagate_positions, a Lark
Transformer pass after the parse).  tests/test_parser_flat.py checks that the
new parser gives the same AST, spans included, and the same syntax errors.
It can be deleted together with that comparison once it has served.

"""

from __future__ import annotations

import functools
import gc
import re
import tempfile
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from slimlang import ast
from slimlang.diagnostics import Diagnostic, SlimError, Source, Span


def grammar_text() -> str:
    return (Path(__file__).resolve().parent / "old_slim.lark").read_text(encoding="utf-8")


_NEXT_LINE = re.compile(r"(?:[ \t\f]*(?:#[^\n]*)?\r?\n)*([ \t\f]*)")


class _PostLex:
    """Newline and bracket handling that an LALR grammar cannot express.

    - newlines inside () and [] and right after `,` are dropped, so argument
      lists may span lines;
    - `(` right after a name, `)` or `]` with no space is a call, `[` in the
      same place is an index; with a space they start a new argument, which
      is what `conv n [1, 1]` and `conv d (3, 3)` mean.
    """

    always_accept = ("_NL", "LPAR", "LSQB")
    text = ""  # set by _parse: the continued-line rule (added to the language later) looks at the next line

    def process(self, stream):
        # The continued-line rule is the language's, not part of what this reference stands for
        # (the layered grammar and the transform pass), so it is slimlang.parser's own.
        from slimlang.parser import _CONTINUATION, _CONTINUES_AFTER, _indentation

        depth = 0
        prev = None
        start, opened = None, []
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                if depth > 0 or (prev is not None and prev.type == "COMMA"):
                    continue
                # (this grammar's _NL holds only the line breaks: the next line is read from the text)
                nxt = _NEXT_LINE.match(self.text, tok.end_pos)
                if start is not None and len(nxt.group(1)) + 1 > start and nxt.end() < len(self.text) and (
                        prev.type != "STRING" and prev.value in _CONTINUES_AFTER
                        or _CONTINUATION.match(self.text, nxt.end())):
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
            if kind in ("LPAR", "LSQB"):
                glued = (
                    prev is not None
                    and prev.end_pos == tok.start_pos
                    and prev.type in ("NAME", "RPAR", "RSQB", "STRING")
                )
                if glued:
                    tok = Token.new_borrow_pos("CALL_LPAR" if kind == "LPAR" else "INDEX_LSQB", tok.value, tok)
                depth += 1
            elif kind in ("RPAR", "RSQB"):
                depth = max(0, depth - 1)
            prev = tok
            yield tok


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_PostLex(),
        cache=str(Path(tempfile.gettempdir()) / "slimlang-grammar-reference.cache"),
    )


def parse(text: str, filename: str = "<string>") -> ast.Module:
    """Parse .slim source text into an `ast.Module`, or raise `SlimError`."""
    source = Source(filename, text)
    try:
        return _parse(source)
    except VisitError as e:  # an error raised inside the transformer
        if isinstance(e.orig_exc, SlimError):
            raise e.orig_exc from None
        meta = getattr(e.obj, "meta", None)
        line, col = (getattr(meta, "line", 1), getattr(meta, "column", 1)) if meta is not None else (1, 1)
        raise SlimError(Diagnostic("E003", f"cannot read this construct: {e.orig_exc}",
                                   Span(source, line, col, line, col + 1))) from None


def _parse(source: Source) -> ast.Module:
    # The parse tree and the AST are many small objects; on a big file the
    # cyclic garbage collector rescans them again and again while they are
    # built (DESIGN.md: ~16k statements/s at 100k with it).  They hold no
    # cycles that need it, so it is paused for the parse (benchmarks/ row 2).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            _PostLex.text = _ensure_newline(source.text)
            tree = _parser().parse(_PostLex.text)
        except UnexpectedInput as e:
            raise _syntax_error(e, source) from None
        return _ToAst(source).transform(tree)
    finally:
        if gc_was_enabled:
            gc.enable()


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _syntax_error(e: UnexpectedInput, source: Source) -> SlimError:
    # The wording of syntax errors (hints, the block left open) is the current
    # parser's; what this reference pins down is where an error is detected
    # and which tokens would have fitted, both carried by `e`.
    from slimlang.parser import _syntax_error as current

    return current(e, source)


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


@v_args(meta=True)
class _ToAst(Transformer):
    """One method per grammar rule, each returning a typed AST node."""

    def __init__(self, source: Source):
        super().__init__()
        self.source = source

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.source, 1, 1, 1, 1)
        return Span(self.source, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.source, tok.line, tok.column, tok.end_line, tok.end_column)

    # -- top level
    def start(self, meta, items):
        return ast.Module(tuple(i for i in items if i is not None), self._span(meta))

    def params(self, meta, items):
        return tuple(p for p in items if isinstance(p, ast.Param))

    def param(self, meta, items):
        name, typ, default = items
        return ast.Param(str(name), typ, default, self._span(meta))

    def body(self, meta, items):
        return tuple(items)

    def model(self, meta, items):
        inline, name, params, *clauses, body = items
        return self._model(meta, name, params, clauses, body, is_block=False, inline=inline is not None)

    def block_def(self, meta, items):
        inline, name, params, *clauses, body = items
        return self._model(meta, name, params, clauses, body, is_block=True, inline=inline is not None)

    def _model(self, meta, name, params, clauses, body, is_block, inline):
        uses = until = default_scope = None
        for kind, value in clauses:
            if kind == "uses":
                uses = value
            elif kind == "until":
                until = value
            else:
                default_scope = value
        return ast.Model(str(name), params, body, is_block, inline, uses, until, self._span(meta), self._tok_span(name),
                         default_scope)

    def inline_kw(self, meta, items):
        return True

    def partial_def(self, meta, items):
        kw, name, _eq, target = items
        return ast.Partial(str(name), target, str(kw) == "block", self._span(meta), self._tok_span(name))

    def import_all(self, meta, items):
        (path,) = items
        return ast.Import(_str_value(str(path)), None, self._span(meta), self._tok_span(path))

    def import_names(self, meta, items):
        path, names = items
        return ast.Import(_str_value(str(path)), tuple(str(t) for t in names), self._span(meta),
                          self._tok_span(path), tuple(self._tok_span(t) for t in names))

    def default_scope(self, meta, items):
        return ("as", str(items[0]))

    def uses(self, meta, items):
        return ("uses", items[0])

    def until(self, meta, items):
        return ("until", items[0])

    def defaults_def(self, meta, items):
        name, *lines = items
        # `params?` leaves no placeholder: `defaults d { ... }` has no params item
        params = lines.pop(0) if lines and (lines[0] is None or isinstance(lines[0], tuple)) else ()
        return ast.DefaultsDef(str(name), params or (), tuple(lines), self._span(meta), self._tok_span(name))

    def defaults_rule(self, meta, items):
        kinds, kwargs = items
        return ast.DefaultsRule(tuple(str(k) for k in kinds), kwargs, self._span(meta),
                                tuple(self._tok_span(k) for k in kinds))

    def defaults_use(self, meta, items):
        return items[0]

    def kinds(self, meta, items):
        return list(items)

    def kwargs(self, meta, items):
        return tuple(items)

    def kwarg(self, meta, items):
        name, value = items
        return ast.KwArg(str(name), value, self._span(meta))

    def call_ref(self, meta, items):
        name = items[0]
        args, kwargs = items[2] if len(items) > 2 and items[2] is not None else ((), ())
        return ast.CallRef(str(name), args, kwargs, self._span(meta))

    def arguments(self, meta, items):
        args = tuple(a for a in items if a is not None and not isinstance(a, ast.KwArg))
        kwargs = tuple(a for a in items if isinstance(a, ast.KwArg))
        return args, kwargs

    # -- statements
    def layer(self, meta, items):
        kind = items[0]
        args, kwargs = [], []
        repeat = as_name = from_name = None
        endpoint = False
        for item in items[1:]:
            if isinstance(item, ast.KwArg):
                kwargs.append(item)
            elif isinstance(item, tuple) and len(item) == 3 and item[0] == "__suffix__":
                _, key, value = item
                if key == "repeat":
                    repeat = value
                elif key == "as":
                    as_name = value
                elif key == "from":
                    from_name = value
                else:
                    endpoint = True
            else:
                args.append(item)
        return ast.Layer(str(kind), tuple(args), tuple(kwargs), repeat, as_name, from_name, endpoint,
                         self._span(meta), self._tok_span(kind))

    def repeat(self, meta, items):
        return ("__suffix__", "repeat", int(str(items[0])[1:]))

    def as_name(self, meta, items):
        return ("__suffix__", "as", items[0])

    def from_tensor(self, meta, items):
        return ("__suffix__", "from", str(items[0]))

    def endpoint_flag(self, meta, items):
        return ("__suffix__", "endpoint", True)

    def assign(self, meta, items):
        name, stmt = items
        return ast.Assign(str(name), stmt, self._span(meta))

    def scope_stmt(self, meta, items):
        name, defaults, from_name, body = items
        return ast.Scope(name, defaults, from_name, body, self._span(meta))

    def from_clause(self, meta, items):
        return str(items[0])

    def defaults_stmt(self, meta, items):
        spec, body = items
        return ast.DefaultsStmt(spec, body, self._span(meta))

    def collect_stmt(self, meta, items):
        kinds = items[0]
        return ast.Collect(tuple(str(k) for k in kinds), self._span(meta), tuple(self._tok_span(k) for k in kinds))

    def scope_path(self, meta, items):
        return ast.ScopePath("/".join(str(i) for i in items), self._span(meta))

    def scope_string(self, meta, items):
        return ast.ScopeExpr(ast.Const(_str_value(str(items[0])), self._span(meta)), self._span(meta))

    def scope_expr(self, meta, items):
        return ast.ScopeExpr(items[0], self._span(meta))

    def if_stmt(self, meta, items):
        test, body, *rest = items
        orelse = ()
        if rest and rest[0] is not None:
            orelse = (rest[0],) if isinstance(rest[0], ast.If) else rest[0]
        return ast.If(test, body, orelse, self._span(meta))

    def for_stmt(self, meta, items):
        *targets, it, body = items
        return ast.For(tuple(str(t) for t in targets), it, body, self._span(meta))

    def let_value(self, meta, items):
        name, value = items
        return ast.Let(str(name), value, self._span(meta))

    def let_function(self, meta, items):
        name, params, value = items
        return ast.LetFunction(str(name), params, value, self._span(meta))

    def endpoint_stmt(self, meta, items):
        _kw, key, from_name = items
        return ast.Endpoint(key, from_name, self._span(meta))

    def return_stmt(self, meta, items):
        return ast.Return(self._span(meta))

    def fail_stmt(self, meta, items):
        return ast.Fail(items[0], self._span(meta))

    # -- train
    def train(self, meta, items):
        name, *settings = items
        return ast.Train(str(name) if name is not None else None, tuple(settings), self._span(meta))

    def setting_name(self, meta, items):
        return items[0]

    def setting(self, meta, items):
        name, *rest = items
        args = tuple(a for a in rest if not isinstance(a, ast.KwArg))
        kwargs = tuple(a for a in rest if isinstance(a, ast.KwArg))
        return ast.SettingNode(str(name), args, kwargs, self._span(meta), self._tok_span(name))

    # -- expressions
    def cond_expr(self, meta, items):
        body, test, orelse = items
        return ast.CondExpr(body, test, orelse, self._span(meta))

    def or_expr(self, meta, items):
        return ast.BoolOp("or", tuple(items), self._span(meta))

    def and_expr(self, meta, items):
        return ast.BoolOp("and", tuple(items), self._span(meta))

    def not_expr(self, meta, items):
        return ast.Not(items[0], self._span(meta))

    def compare(self, meta, items):
        left = items[0]
        ops = tuple(str(items[i]) for i in range(1, len(items), 2))
        rights = tuple(items[i] for i in range(2, len(items), 2))
        return ast.Compare(left, ops, rights, self._span(meta))

    def comp_op(self, meta, items):
        return str(items[0])

    add_op = mul_op = comp_op

    def binop(self, meta, items):
        node = items[0]
        for i in range(1, len(items), 2):
            right = items[i + 1]
            span = Span(self.source, node.span.line, node.span.col, right.span.end_line, right.span.end_col)
            node = ast.BinOp(items[i], node, right, span)
        return node

    def neg(self, meta, items):
        return ast.Neg(items[0], self._span(meta))

    def pow_expr(self, meta, items):
        return ast.BinOp("**", items[0], items[1], self._span(meta))

    def call(self, meta, items):
        func, _lpar, arguments = items
        args, kwargs = arguments
        return ast.Call(func, args, kwargs, self._span(meta))

    def index(self, meta, items):
        value, _lsqb, idx = items
        return ast.Index(value, idx, self._span(meta))

    def int_lit(self, meta, items):
        return ast.Const(int(str(items[0])), self._span(meta))

    def float_lit(self, meta, items):
        return ast.Const(float(str(items[0])), self._span(meta))

    def string_lit(self, meta, items):
        return ast.Const(_str_value(str(items[0])), self._span(meta))

    def kernel_lit(self, meta, items):
        h, w = str(items[0]).split("x")
        return ast.Kernel(int(h), int(w), self._span(meta))

    def true_lit(self, meta, items):
        return ast.Const(True, self._span(meta))

    def false_lit(self, meta, items):
        return ast.Const(False, self._span(meta))

    def none_lit(self, meta, items):
        return ast.Const(None, self._span(meta))

    def name_ref(self, meta, items):
        return ast.Name(str(items[0]), self._span(meta))

    def list_lit(self, meta, items):
        return ast.ListExpr(tuple(i for i in items if i is not None), self._span(meta))

    def tuple_lit(self, meta, items):
        return ast.TupleExpr(tuple(i for i in items if i is not None), self._span(meta))
