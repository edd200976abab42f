"""`slimlang fmt`: one canonical layout for .slim files.

The layout: two-space indentation, one statement per line, single spaces
around `=` in parameters and binary operators, none around `=` in keyword
arguments, layer arguments as positional values then keywords in the layer
table's order, a blank line between top-level items, at most one blank line
inside a body, comments kept where they were (a comment on a line of its own
stays above the statement that followed it, a trailing comment stays at the
end of that statement's line).

Formatting is checked, not trusted: the formatted text is parsed again and
its AST must equal the original's (spans excluded; keyword arguments of
layers compared in table order, see `normalize`), otherwise nothing is
written.  The output is a fixed point: `format_text(format_text(t)) ==
format_text(t)`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .. import ast
from ..diagnostics import SlimError, Source, Span
from ..layers import LAYERS
from ..parser import _CONTINUATION as _STARTS_CONTINUATION  # the parser's own rule
from ..parser import parse

INDENT = "  "
WIDTH = 100


# ------------------------------------------------------------- comments ---


@dataclass(frozen=True)
class Comment:
    line: int  # 1-based
    text: str  # from `#` to the end of the line, right-stripped
    standalone: bool  # nothing but whitespace before it


def code_and_comment(line: str) -> tuple[str, str | None]:
    """Split a source line at its comment (a `#` outside a string literal)."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i], line[i:].rstrip()
        i += 1
    return line, None


def scan_comments(text: str) -> list[Comment]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        code, comment = code_and_comment(line)
        if comment is not None:
            out.append(Comment(n, comment, not code.strip()))
    return out


# ------------------------------------------------------------ normalize ---


def _kwarg_order(kind: str, blocks: dict):
    layer = LAYERS.get(kind)
    if layer is not None:
        index = {p.name: i for i, p in enumerate(layer.params)}
        for alias, p in layer.param_map.items():
            index.setdefault(alias, index[p.name])
    elif kind in blocks:
        index = {p.name: i for i, p in enumerate(blocks[kind])}
    else:
        return None
    return lambda kw: index.get(kw.name, len(index))


def _sorted_kwargs(layer: ast.Layer, blocks: dict) -> tuple:
    key = _kwarg_order(layer.kind, blocks)
    if key is None:
        return layer.kwargs
    return tuple(sorted(layer.kwargs, key=key))  # stable: repeated names keep their order


def block_params(module: ast.Module) -> dict:
    return {i.name: i.params for i in module.items if isinstance(i, ast.Model) and i.is_block}


def normalize(module: ast.Module) -> ast.Module:
    """The module with every layer's keyword arguments in canonical order.

    Keyword order never changes what a layer means (a name given twice keeps
    its last value, and the sort is stable), so two modules that normalize
    equal are the same program."""
    blocks = block_params(module)

    def walk(node):
        if isinstance(node, tuple):
            return tuple(walk(n) for n in node)
        if not ast.is_node(node):
            return node
        changes = {}
        for name in ast.compared_fields(node):
            value = getattr(node, name)
            new = walk(value)
            if new is not value:
                changes[name] = new
        if isinstance(node, ast.Layer):
            kw = _sorted_kwargs(ast.replace(node, **changes) if changes else node, blocks)
            if kw != node.kwargs or [id(k) for k in kw] != [id(k) for k in node.kwargs]:
                changes["kwargs"] = kw
        return ast.replace(node, **changes) if changes else node

    return walk(module)


# ---------------------------------------------------------- expressions ---

_LEVEL_COND, _LEVEL_OR, _LEVEL_AND, _LEVEL_NOT, _LEVEL_CMP, _LEVEL_ADD, _LEVEL_MUL, _LEVEL_NEG, _LEVEL_POW, \
    _LEVEL_POSTFIX, _LEVEL_ATOM = (ast.COND, ast.OR, ast.AND, ast.NOT, ast.CMP, ast.ADD, ast.MUL, ast.NEG, ast.POW,
                                   ast.POSTFIX, ast.ATOM)
_level = ast.precedence


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def string_literal(s: str) -> str:
    return '"' + "".join(_ESCAPES.get(c, c) for c in s) + '"'


def _const(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return string_literal(v)
    if isinstance(v, float):
        if math.isinf(v):
            # repr gives `inf`, which reads back as a name; the literal 1e309 reads back as infinity.
            return "1e309"
        return repr(v)
    return str(v)


def expr(e, min_level: int = 0) -> str:
    text = _expr(e)
    if _level(e) < min_level:
        return f"({text})"
    return text


def _args(args, kwargs) -> str:
    return ", ".join([expr(a) for a in args] + [f"{k.name}={expr(k.value)}" for k in kwargs])


def _number_as_written(e: ast.Const) -> str | None:
    """A float literal as the source spells it (`0.00004`, `1e-5`), not as
    Python's repr would (`4e-05`, `1e-05`)."""
    span = e.span
    if span is None or span.source is None or span.end_line != span.line:
        return None
    text = span.source.line(span.line)[span.col - 1:span.end_col - 1]
    try:
        return text if float(text) == e.value else None
    except ValueError:
        return None


def _expr(e) -> str:
    if isinstance(e, ast.Const):
        if isinstance(e.value, float):
            return _number_as_written(e) or _const(e.value)
        return _const(e.value)
    if isinstance(e, ast.Kernel):
        return f"{e.height}x{e.width}"
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.ListExpr):
        return "[" + ", ".join(expr(i) for i in e.items) + "]"
    if isinstance(e, ast.TupleExpr):
        if len(e.items) == 1:
            return f"({expr(e.items[0])},)"
        return "(" + ", ".join(expr(i) for i in e.items) + ")"
    if isinstance(e, ast.CondExpr):
        return f"{expr(e.body, _LEVEL_OR)} if {expr(e.test, _LEVEL_OR)} else {expr(e.orelse, _LEVEL_COND)}"
    if isinstance(e, ast.BoolOp):
        inner = _LEVEL_AND if e.op == "or" else _LEVEL_NOT
        return f" {e.op} ".join(expr(v, inner) for v in e.values)
    if isinstance(e, ast.Not):
        return f"not {expr(e.operand, _LEVEL_NOT)}"
    if isinstance(e, ast.Compare):
        parts = [expr(e.left, _LEVEL_ADD)]
        for op, r in zip(e.ops, e.rights):
            parts += [op, expr(r, _LEVEL_ADD)]
        return " ".join(parts)
    if isinstance(e, ast.BinOp):
        if e.op == "**":
            return f"{expr(e.left, _LEVEL_POSTFIX)} ** {expr(e.right, _LEVEL_NEG)}"
        level = _level(e)
        return f"{expr(e.left, level)} {e.op} {expr(e.right, level + 1)}"
    if isinstance(e, ast.Neg):
        return f"-{expr(e.operand, _LEVEL_NEG)}"
    if isinstance(e, ast.Call):
        return f"{expr(e.func, _LEVEL_POSTFIX)}({_args(e.args, e.kwargs)})"
    if isinstance(e, ast.Index):
        return f"{expr(e.value, _LEVEL_POSTFIX)}[{expr(e.index)}]"
    raise TypeError(f"fmt: unknown expression {type(e).__name__}")


def layer_arg(e) -> str:
    """A value in a whitespace-separated argument list (layers, train settings):
    anything below a call or index is parenthesized, so `conv (n - 1) 3x3` and
    `pad (-1)` keep their meaning and read unambiguously."""
    return expr(e, _LEVEL_POSTFIX)


_READS_AS_REPEAT = re.compile(r"x[0-9]+(?![A-Za-z0-9_])")


def positional_layer_arg(e) -> str:
    """`layer_arg` for a layer's positional arguments, where a leading `x2`
    would read as the repeat suffix: a name like `x1` keeps its parentheses
    (`conv (x1) 3x3`)."""
    text = layer_arg(e)
    return f"({text})" if _READS_AS_REPEAT.match(text) else text


def call_ref(r: ast.CallRef) -> str:
    if not r.args and not r.kwargs:
        return r.name
    return f"{r.name}({_args(r.args, r.kwargs)})"


def param(p: ast.Param) -> str:
    out = p.name
    if p.type is not None:
        out += f": {expr(p.type)}"
    if p.default is not None:
        out += f" = {expr(p.default)}"
    return out


def scope_name(n) -> str:
    if isinstance(n, ast.ScopePath):
        return n.path
    if isinstance(n.expr, ast.Const) and isinstance(n.expr.value, str):
        return string_literal(n.expr.value)
    return f"({expr(n.expr)})"


def defaults_rule(r: ast.DefaultsRule) -> str:
    return ", ".join(r.kinds) + ": " + ", ".join(f"{k.name}={expr(k.value)}" for k in r.kwargs)


def defaults_spec(spec) -> str:
    return defaults_rule(spec) if isinstance(spec, ast.DefaultsRule) else call_ref(spec)


@dataclass(frozen=True)
class Group:
    """A bracketed piece that may be broken over lines: `head` (ending in its
    opening bracket), its comma-separated `pieces`, `tail` (from the closing
    bracket on)."""

    head: str
    pieces: tuple
    tail: str
    sep: str = ","  # after each piece but the last
    one_line: str | None = None  # the flat text, when it is not head + pieces + tail

    def flat(self) -> str:
        if self.one_line is not None:
            return self.one_line
        return self.head + f"{self.sep} ".join(flat(p) for p in self.pieces) + self.tail


def flat(piece) -> str:
    return piece if isinstance(piece, str) else piece.flat()


def piece(prefix: str, e):
    """`prefix` + expression `e` as a piece for `wrap`: calls, lists and tuples
    (also the body of `a(...) if c else b`) become Groups that can break
    inside their brackets; its flat text is `prefix + expr(e)`."""
    if isinstance(e, ast.Call):
        return Group(f"{prefix}{expr(e.func, _LEVEL_POSTFIX)}(",
                     tuple(piece("", a) for a in e.args) + tuple(piece(f"{k.name}=", k.value) for k in e.kwargs), ")")
    if isinstance(e, ast.ListExpr) and e.items:
        return Group(prefix + "[", tuple(piece("", i) for i in e.items), "]")
    if isinstance(e, ast.TupleExpr) and len(e.items) > 1:
        return Group(prefix + "(", tuple(piece("", i) for i in e.items), ")")
    if isinstance(e, ast.CondExpr) and _level(e.body) >= _LEVEL_OR:
        # broken: `(body` ... on the lines it needs, then `if test else orelse)`
        # aligned under the body (the parentheses let the lines continue)
        # (a long `else [...]` breaks inside its brackets too)
        test = f"if {expr(e.test, _LEVEL_OR)}"
        bracketed = isinstance(e.orelse, (ast.Call, ast.ListExpr, ast.TupleExpr))
        orelse = piece("else ", e.orelse) if bracketed else f"else {expr(e.orelse, _LEVEL_COND)}"
        return Group(prefix + "(", (piece("", e.body), test, orelse), ")", sep="", one_line=prefix + expr(e))
    return prefix + expr(e)


def wrap(head: str, pieces: list, tail: str, indent: str) -> list[str]:
    """`head` + pieces joined by ", " + `tail`, on one line if it fits, else
    filled greedily with continuation lines aligned after `head`; a Group
    that does not fit on a line of its own is broken the same way inside its
    brackets."""
    one = indent + head + ", ".join(flat(p) for p in pieces) + tail
    if len(one) <= WIDTH:
        return [one]
    return _fill(indent + head, list(pieces), tail)


def _fill(first: str, pieces: list, tail: str, between: str = ",") -> list[str]:
    lines = []
    cont = " " * len(first)
    cur, at_start = first, True
    for i, p in enumerate(pieces):
        sep = tail if i == len(pieces) - 1 else between
        text = flat(p) + sep
        if len(cur) + (0 if at_start else 1) + len(text) <= WIDTH:
            cur, at_start = cur + ("" if at_start else " ") + text, False
            continue
        if not at_start:
            lines.append(cur)
            cur, at_start = cont, True
            if len(cur) + len(text) <= WIDTH:
                cur, at_start = cur + text, False
                continue
        if isinstance(p, Group) and p.pieces:
            broken = _fill(cur + p.head, list(p.pieces), p.tail + sep, p.sep)
            lines.extend(broken[:-1])
            cur = broken[-1]
        else:
            cur += text
        at_start = False
    lines.append(cur)
    return lines


def continued(first: str, parts: list[str]) -> list[str]:
    """Space-separated `parts` after `first` (a layer's arguments), on one line
    if it fits, else filled greedily onto continuation lines indented to align
    after `first` (deeper than the statement, so they continue it: see
    docs/language.md, "Lexical structure").

    A continuation line must start with what only an argument can start with
    (`name=`, `as`, a literal, a bracket, ...); a part that cannot (a plain
    name such as `num_classes`, a call, `endpoint`) stays on the line of the
    part before it, even past WIDTH."""
    one = first + " ".join(parts)
    if len(one) <= WIDTH or len(parts) < 2:
        return [one]
    units = [parts[0]]
    for part in parts[1:]:
        if _STARTS_CONTINUATION.match(part):
            units.append(part)
        else:
            units[-1] += " " + part
    lines, cur = [], first + units[0]
    for unit in units[1:]:
        if len(cur) + 1 + len(unit) > WIDTH:
            lines.append(cur)
            cur = " " * len(first) + unit
        else:
            cur += " " + unit
    lines.append(cur)
    return lines


# ------------------------------------------------------------- printer ---


class _Printer:
    def __init__(self, module: ast.Module, text: str):
        self.module = module
        self.lines_src = text.splitlines()
        comments = scan_comments(text)
        self.standalone = [c for c in comments if c.standalone]
        self.trailing = [c for c in comments if not c.standalone]
        self.next_comment = 0
        self.out: list[list] = []  # [text, source line]
        self.blocks = block_params(module)

    # -- output
    def emit(self, text: str, src: int):
        self.out.append([text.rstrip(), src])

    def blank(self):
        if self.out and self.out[-1][0] != "":
            self.out.append(["", -1])

    def _blank_between(self, a: int, b: int) -> bool:
        for n in range(max(a, 0) + 1, b):
            if 1 <= n <= len(self.lines_src) and not self.lines_src[n - 1].strip():
                return True
        return False

    def comments_before(self, line: int, indent: str, prev_end: int, first: bool) -> tuple[int, bool]:
        """Emit standalone comments above source line `line`; returns the new
        (prev_end, first) of the body."""
        while self.next_comment < len(self.standalone) and self.standalone[self.next_comment].line < line:
            c = self.standalone[self.next_comment]
            self.next_comment += 1
            if not first and self._blank_between(prev_end, c.line):
                self.blank()
            self.emit(indent + c.text, c.line)
            prev_end, first = c.line, False
        return prev_end, first

    # -- bodies
    def body(self, stmts, indent: str, start_line: int, end_line: int):
        prev_end, first, prev = start_line, True, None
        for s in stmts:
            prev_end, first = self.comments_before(s.span.line, indent, prev_end, first)
            # statements the user put on one line (`conv 64 3x3 as conv1; pool 2 as pool1`)
            # stay there, unless that line also opens the enclosing block
            if prev is not None and s.span.line == prev.span.end_line != start_line and self._join(s):
                prev_end, prev = s.span.end_line, s
                continue
            if not first and self._blank_between(prev_end, s.span.line):
                self.blank()
            self.stmt(s, indent)
            prev_end, first, prev = s.span.end_line, False, s
        self.comments_before(end_line, indent, prev_end, first)

    def _one_line(self, s) -> str | None:
        """Statement `s` printed on one line (no indentation), or None if it takes more."""
        saved_out, saved_next = self.out, self.next_comment
        self.out = []
        try:
            self.stmt(s, "")
            lines = self.out
        finally:
            self.out, self.next_comment = saved_out, saved_next
        return lines[0][0] if len(lines) == 1 else None

    def _join(self, s) -> bool:
        """Append `s` to the last output line after `; ` if it fits."""
        text = self._one_line(s)
        if text is None or len(self.out[-1][0]) + 2 + len(text) > WIDTH:
            return False
        self.out[-1][0] += "; " + text
        return True

    def _inline_body(self, stmts) -> str | None:
        """`{ a; b }` for a body written on one line, or None if a statement takes more."""
        if not stmts:
            return "{}"
        parts = [self._one_line(st) for st in stmts]
        return None if None in parts else "{ " + "; ".join(parts) + " }"

    def _on_one_line(self, s) -> bool:
        return s.span.line == s.span.end_line

    def block(self, header: list[str], src: int, stmts, indent: str, end_line: int, close_src: int | None = None,
              inline: bool = False):
        """header lines (the last without ` {`), the body, then `}`; with `inline`
        (a statement written on one line), `header { a; b }` if that fits."""
        if inline and len(header) == 1:
            body = self._inline_body(stmts)
            if body is not None and len(header[0]) + 1 + len(body) <= WIDTH:
                self.emit(f"{header[0]} {body}", src)
                return
        for h in header[:-1]:
            self.emit(h, src)
        self.emit(header[-1] + " {", src)
        mark = len(self.out)
        self.body(stmts, indent + INDENT, src, end_line)
        if len(self.out) == mark:
            self.out[-1][0] += "}"
        else:
            self.emit(indent + "}", end_line if close_src is None else close_src)

    def stmt(self, s, indent: str):
        line = s.span.line
        if isinstance(s, ast.Layer):
            for text in continued(f"{indent}{s.kind} ", self.layer_parts(s)):
                self.emit(text, line)
        elif isinstance(s, ast.Assign):
            if isinstance(s.stmt, ast.Layer):
                for text in continued(f"{indent}{s.target} = {s.stmt.kind} ", self.layer_parts(s.stmt)):
                    self.emit(text, line)
            else:
                self.scope(s.stmt, indent, f"{s.target} = ")
        elif isinstance(s, ast.Scope):
            self.scope(s, indent, "")
        elif isinstance(s, ast.DefaultsStmt):
            self.block([f"{indent}defaults {defaults_spec(s.spec)}"], line, s.body, indent, s.span.end_line,
                       inline=self._on_one_line(s))
        elif isinstance(s, ast.Collect):
            self.emit(f"{indent}collect {', '.join(s.kinds)}", line)
        elif isinstance(s, ast.If):
            text = self._if_one_line(s) if self._on_one_line(s) else None
            if text is not None and len(indent) + len(text) <= WIDTH:
                self.emit(indent + text, line)
            else:
                self.if_stmt(s, indent, f"{indent}if ")
        elif isinstance(s, ast.For):
            self.block([f"{indent}for {', '.join(s.targets)} in {expr(s.iter)}"], line, s.body, indent, s.span.end_line,
                       inline=self._on_one_line(s))
        elif isinstance(s, ast.Let):
            for text in wrap(f"let {s.name} = ", [piece("", s.value)], "", indent):
                self.emit(text, line)
        elif isinstance(s, ast.LetFunction):
            head = f"let {s.name}({', '.join(param(p) for p in s.params)}) = "
            for text in wrap(head, [piece("", s.value)], "", indent):
                self.emit(text, line)
        elif isinstance(s, ast.Endpoint):
            tail = f" from {s.from_name}" if s.from_name else ""
            self.emit(f"{indent}endpoint {expr(s.key)}{tail}", line)
        elif isinstance(s, ast.Return):
            self.emit(f"{indent}return", line)
        elif isinstance(s, ast.Fail):
            self.emit(f"{indent}fail {expr(s.message)}", line)
        else:
            raise TypeError(f"fmt: unknown statement {type(s).__name__}")

    def layer_parts(self, s: ast.Layer) -> list[str]:
        """A layer statement's space-separated parts after its kind."""
        parts = [positional_layer_arg(a) for a in s.args]
        parts += [f"{k.name}={layer_arg(k.value)}" for k in _sorted_kwargs(s, self.blocks)]
        if s.repeat is not None:
            parts.append(f"x{s.repeat}")
        if s.as_name is not None:
            parts.append(f"as {scope_name(s.as_name)}")
        if s.from_name:
            parts.append(f"from {s.from_name}")
        if s.endpoint:
            parts.append("endpoint")
        return parts

    def scope(self, s: ast.Scope, indent: str, prefix: str):
        head = f"{indent}{prefix}scope {scope_name(s.name)}"
        if s.defaults is not None:
            head += f" defaults {defaults_spec(s.defaults)}"
        if s.from_name:
            head += f" from {s.from_name}"
        self.block([head], s.span.line, s.body, indent, s.span.end_line, inline=self._on_one_line(s))

    def _if_one_line(self, s: ast.If) -> str | None:
        """`if c { a } else { b }` (and `else if` chains) on one line, or None."""
        body = self._inline_body(s.body)
        if body is None:
            return None
        text = f"if {expr(s.test)} {body}"
        if not s.orelse:
            return text
        if len(s.orelse) == 1 and isinstance(s.orelse[0], ast.If):
            rest = self._if_one_line(s.orelse[0])
        else:
            rest = self._inline_body(s.orelse)
        return None if rest is None else f"{text} else {rest}"

    def _else_line(self, after: int, before: int, col: int = 1) -> int:
        """The line of the `else` between lines `after` and `before`, looking on line `after` only
        from column `col` on (an `if` chained on the line of `if c {} else if d {`)."""
        for n in range(max(after, 1), min(before, len(self.lines_src)) + 1):
            code, _ = code_and_comment(self.lines_src[n - 1])
            if n == after:
                code = code[col - 1:]
            if re.search(r"}\s*else\b", code) or re.match(r"\s*else\b", code):
                return n
        return before

    def _comment_before(self, s) -> bool:
        """A comment on a line of its own is still to be printed above statement `s`: an `if` in an
        `else { }` then stays there instead of becoming `else if`, which has no line to put it on."""
        return self.next_comment < len(self.standalone) and self.standalone[self.next_comment].line < s.span.line

    def if_stmt(self, s: ast.If, indent: str, head: str):
        line = s.span.line
        self.emit(f"{head}{expr(s.test)} {{", line)
        if not s.orelse:
            end = s.span.end_line
        else:
            last = s.body[-1].span.end_line if s.body else line
            end = self._else_line(last, s.orelse[0].span.line, s.body[-1].span.end_col if s.body else s.span.col)
        mark = len(self.out)
        self.body(s.body, indent + INDENT, line, end)
        if not s.orelse:
            if len(self.out) == mark:
                self.out[-1][0] += "}"
            else:
                self.emit(indent + "}", s.span.end_line)
            return
        closing = "} else "
        if len(self.out) == mark:
            self.out[-1][0] += "}"
            closing = " else "
            self.out[-1][0] += closing.rstrip() + " "
            prefix_line = self.out.pop()
            prefix = prefix_line[0]
            src = prefix_line[1]
        else:
            prefix = indent + closing
            src = end
        if len(s.orelse) == 1 and isinstance(s.orelse[0], ast.If) and not self._comment_before(s.orelse[0]):
            inner = s.orelse[0]
            # print the nested `if` with our prefix on its first line
            n = len(self.out)
            self.if_stmt(inner, indent, prefix + "if ")
            self.out[n][1] = src if src != -1 else self.out[n][1]
        else:
            self.emit(prefix + "{", src)
            mark = len(self.out)
            self.body(s.orelse, indent + INDENT, end, s.span.end_line)
            if len(self.out) == mark:
                self.out[-1][0] += "}"
            else:
                self.emit(indent + "}", s.span.end_line)

    # -- top level
    def module_items(self):
        prev_end, first, prev_item = 0, True, None

        def comments_before(limit):
            # Standalone comments above `limit` (a line number, or None: the rest of the file).
            nonlocal prev_end, first, prev_item
            while self.next_comment < len(self.standalone) and (
                    limit is None or self.standalone[self.next_comment].line < limit):
                c = self.standalone[self.next_comment]
                self.next_comment += 1
                if not first and (prev_item is not None or self._blank_between(prev_end, c.line)):
                    self.blank()
                self.emit(c.text, c.line)
                prev_end, first, prev_item = c.line, False, None

        for item in self.module.items:
            line = item.span.line
            comments_before(line)
            if not first:
                both_lets = (isinstance(item, (ast.Let, ast.LetFunction)) and isinstance(prev_item, (ast.Let, ast.LetFunction))
                             or isinstance(item, ast.Import) and isinstance(prev_item, ast.Import)
                             or isinstance(item, ast.Partial) and isinstance(prev_item, ast.Partial))
                if (prev_item is not None and not both_lets) or self._blank_between(prev_end, line):
                    self.blank()
            self.item(item)
            prev_end, first, prev_item = item.span.end_line, False, item
        comments_before(None)

    def item(self, item):
        line = item.span.line
        if isinstance(item, ast.Model):
            kw = ("inline " if item.inline else "") + ("block " if item.is_block else "model ")
            tail = ")"
            if item.default_scope is not None:
                tail += f" as {item.default_scope}"
            if item.uses is not None:
                tail += f" uses {call_ref(item.uses)}"
            if item.until is not None:
                tail += f" until {expr(item.until)}"
            header = wrap(f"{kw}{item.name}(", [param(p) for p in item.params], tail, "")
            self.block(header, line, item.body, "", item.span.end_line)
        elif isinstance(item, ast.DefaultsDef):
            if item.params:
                header = wrap(f"defaults {item.name}(", [param(p) for p in item.params], ")", "")
            else:
                header = [f"defaults {item.name}"]
            for h in header[:-1]:
                self.emit(h, line)
            self.emit(header[-1] + " {", line)
            prev_end, first = line, True
            for rule in item.lines:
                prev_end, first = self.comments_before(rule.span.line, INDENT, prev_end, first)
                if not first and self._blank_between(prev_end, rule.span.line):
                    self.blank()
                if isinstance(rule, ast.DefaultsRule):
                    head = INDENT + ", ".join(rule.kinds) + ": "
                    for text in wrap(head, [piece(f"{k.name}=", k.value) for k in rule.kwargs], "", ""):
                        self.emit(text, rule.span.line)
                else:
                    self.emit(f"{INDENT}use {call_ref(rule)}", rule.span.line)
                prev_end, first = rule.span.end_line, False
            self.comments_before(item.span.end_line, INDENT, prev_end, first)
            if self.out[-1][0].endswith(" {") and self.out[-1][1] == line and first:
                self.out[-1][0] += "}"
            else:
                self.emit("}", item.span.end_line)
        elif isinstance(item, ast.Train):
            head = "train" + (f" {item.name}" if item.name else "")
            self.emit(head + " {", line)
            prev_end, first = line, True
            for st in item.settings:
                prev_end, first = self.comments_before(st.span.line, INDENT, prev_end, first)
                if not first and self._blank_between(prev_end, st.span.line):
                    self.blank()
                parts = [st.name] + [layer_arg(a) for a in st.args] + [f"{k.name}={layer_arg(k.value)}" for k in st.kwargs]
                self.emit(INDENT + " ".join(parts), st.span.line)
                prev_end, first = st.span.end_line, False
            self.comments_before(item.span.end_line, INDENT, prev_end, first)
            if first and self.out[-1][1] == line and self.out[-1][0].endswith(" {"):
                self.out[-1][0] += "}"
            else:
                self.emit("}", item.span.end_line)
        elif isinstance(item, ast.Let):  # wrapped at WIDTH as inside bodies
            for text in wrap(f"let {item.name} = ", [piece("", item.value)], "", ""):
                self.emit(text, line)
        elif isinstance(item, ast.LetFunction):
            head = f"let {item.name}({', '.join(param(p) for p in item.params)}) = "
            for text in wrap(head, [piece("", item.value)], "", ""):
                self.emit(text, line)
        elif isinstance(item, ast.Import):
            path = expr(ast.Const(item.path))
            if item.names is None:
                self.emit(f"import {path}", line)
            else:
                for text in wrap(f"from {path} import ", list(item.names), "", ""):
                    self.emit(text, line)
        elif isinstance(item, ast.Partial):
            self.emit(f"{'block' if item.is_block else 'model'} {item.name} = {call_ref(item.target)}", line)
        else:
            raise TypeError(f"fmt: unknown item {type(item).__name__}")

    def render(self) -> str:
        self.module_items()
        # trailing comments: at the end of the last output line made from their
        # source line, or failing that the nearest earlier one
        attached: dict[int, str] = {}  # output line -> its trailing comment(s)
        for c in self.trailing:
            target = None
            for i, (_, src) in enumerate(self.out):
                if src == c.line:
                    target = i
            if target is None:
                best = -1
                for i, (_, src) in enumerate(self.out):
                    if 0 < src <= c.line and src >= best:
                        best, target = src, i
            if target is None:
                self.out.insert(0, [c.text, c.line])
                attached = {i + 1: t for i, t in attached.items()}
            else:
                attached[target] = attached[target] + "  " + c.text if target in attached else c.text
        # consecutive lines with trailing comments: the comments in one column,
        # left of WIDTH (a line too long for that keeps its comment two spaces on)
        run: list[int] = []
        for i in [*sorted(attached), None]:
            if run and (i is None or i != run[-1] + 1):
                fits = [len(self.out[j][0]) + 2 for j in run
                        if len(self.out[j][0]) + 2 + len(attached[j]) <= WIDTH]
                column = max(fits, default=0)
                for j in run:
                    self.out[j][0] = self.out[j][0].ljust(column - 2) + "  " + attached[j]
                run = []
            if i is not None:
                run.append(i)
        while self.out and self.out[-1][0] == "":
            self.out.pop()
        return "".join(text + "\n" for text, _ in self.out)


class FormatError(Exception):
    """The formatter would change the program (a bug in fmt): nothing is written.

    `span` is the first place in the input whose meaning the output would change (or None)."""

    def __init__(self, message: str, span: Span | None = None, notes: tuple = ()):
        super().__init__(message)
        self.span = span
        self.notes = tuple(notes)


def _has_span(node) -> bool:
    span = getattr(node, "span", None)
    return span is not None and span.source is not None


def first_difference(a, b, outer=None):
    """Where tree `a` first differs from tree `b` (fields in order, so the first in reading
    order): the innermost differing node of `a` that has a source position, paired with b's node
    there, or None if the trees are equal.  `outer` is the pair to answer when the differing node
    has no position of its own."""
    if a == b:
        return None
    if isinstance(a, tuple) and isinstance(b, tuple):
        for x, y in zip(a, b):
            found = first_difference(x, y, outer)
            if found is not None:
                return found
        return outer  # only the lengths differ: the enclosing node is the place
    if not ast.is_node(a):
        return outer
    here = (a, b) if _has_span(a) else outer
    if type(a) is type(b):
        for name in ast.compared_fields(a):
            found = first_difference(getattr(a, name), getattr(b, name), here)
            if found is not None:
                return found
    return here


def _source_text(node) -> str | None:
    span = getattr(node, "span", None)
    if span is None or span.source is None:
        return None
    lines = span.source.text.splitlines()[span.line - 1:span.end_line]
    if not lines:
        return None
    if len(lines) == 1:
        return lines[0][span.col - 1:span.end_col - 1]
    return "\n".join([lines[0][span.col - 1:], *lines[1:-1], lines[-1][:span.end_col - 1]])


def _line_span(source: Source, line: int) -> Span:
    """Line `line` of `source`, from its first non-blank character to its end."""
    text = source.line(line)
    col = len(text) - len(text.lstrip()) + 1
    return Span(source, line, col, line, max(col + 1, len(text) + 1))


def format_text(text: str, filename: str = "<string>") -> str:
    """The canonical layout of .slim source `text`; raises SlimError on a syntax error, and
    FormatError (located in `text`) if the layout would change the program or drop a comment."""
    text = text.replace("\r\n", "\n")
    module = parse(text, filename)
    printer = _Printer(module, text)
    out = printer.render()
    try:
        again = parse(out, filename)
    except SlimError as e:
        # Where the output breaks, mapped back to the input line it was printed from.
        bad = e.first.span.line if e.first.span is not None else 0
        span, notes = None, []
        if 1 <= bad <= len(printer.out):
            written, src = printer.out[bad - 1]
            notes = [f"note: fmt would write: {written.strip()}"]
            if src > 0:
                span = _line_span(Source(filename, text), src)
        raise FormatError(f"fmt produced text that does not parse ({e.first.message}); "
                          "please report this with the input file", span, notes) from None
    original, formatted = normalize(module), normalize(again)
    if formatted != original:
        a, b = first_difference(original, formatted) or (None, None)
        written = _source_text(b)
        notes = [f"note: fmt would write `{written}` here"] if written is not None else []
        raise FormatError("fmt would change the meaning of this file here; please report this with the input file",
                          a.span if a is not None else None, notes)
    before = scan_comments(text)
    after = " ".join(c.text for c in scan_comments(out))
    missing = [c for c in before if c.text not in after]
    if missing:
        c = missing[0]
        line = text.splitlines()[c.line - 1]
        col = len(code_and_comment(line)[0]) + 1
        source = Source(filename, text)
        raise FormatError(f"fmt would drop the comment {c.text!r}; please report this with the input file",
                          Span(source, c.line, col, c.line, col + len(c.text)))
    return out
