"""AST: what the parser makes of a .slim file.

Small frozen records (records.record: a cheaper `dataclass(frozen=True,
slots=True)`), one inheritance level, each with a `span` that does not take
part in equality (so layout changes keep the tree equal; `fmt` relies on
that).  No Lark type appears here.  Rewrites use `replace(node, **changes)`;
`fields(node)` names a node's fields.
"""

from __future__ import annotations

from typing import Union

from .diagnostics import NO_SPAN, Span
from .records import compared_fields, fields, hidden, replace  # noqa: F401  (the AST's API)
from .records import record as node


def _span():
    return hidden(NO_SPAN)


def is_node(x) -> bool:
    """An AST node (an instance of one of this module's classes)."""
    return not isinstance(x, type) and type(x).__module__ == __name__ and hasattr(type(x), "_compared")


# ------------------------------------------------------------- traversal ---
# The walks every stage shares.  They keep their own stack instead of recursing: a tree may nest
# as deep as limits.MAX_NESTING, and the walk that enforces that limit is one of them.


def walk(root):
    """(node, depth) for every node under `root`, root first (depth 0), then each field's nodes in
    field order; tuples of nodes are looked through (they add no depth)."""
    stack = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if type(node) is tuple:
            for x in reversed(node):
                push((x, depth))
        elif is_node(node):
            yield node, depth
            for f in reversed(node._compared):
                push((getattr(node, f), depth + 1))


def nodes(root):
    """Every node under `root` (see `walk`)."""
    return (n for n, _ in walk(root))


def statements(body):
    """Every statement of a body in source order, with the statements nested in it (the bodies of
    scope, defaults, if and for; the scope an assignment names); not the inside of expressions."""
    stack = list(reversed(body))
    while stack:
        s = stack.pop()
        yield s
        nested = []
        if type(s) is Assign:
            nested.append(s.stmt)
        for attr in ("body", "orelse"):
            sub = getattr(s, attr, None)
            if type(sub) is tuple:
                nested.extend(sub)
        stack.extend(reversed(nested))


# ------------------------------------------------------------ expressions ---

# How tightly each expression binds when printed (Python's order, which .slim shares), lowest
# first.  `fmt` and the Python emitter put parentheses by it; the parser has its own reader.
COND, OR, AND, NOT, CMP, ADD, MUL, NEG, POW, POSTFIX, ATOM = range(11)
BINOP_LEVEL = {"or": OR, "and": AND, "+": ADD, "-": ADD, "*": MUL, "/": MUL, "//": MUL, "%": MUL, "**": POW}


def precedence(e) -> int:
    """The printing level of expression node `e` (one of COND ... ATOM)."""
    t = type(e)
    if t is BinOp or t is BoolOp:
        return BINOP_LEVEL[e.op]
    return _LEVELS.get(t, ATOM)



@node
class Const:
    """A number, string, boolean or `none`."""

    value: object
    span: Span = _span()


@node
class Kernel:
    """A `3x3` literal: a (height, width) pair."""

    height: int
    width: int
    span: Span = _span()


@node
class Name:
    id: str
    span: Span = _span()


@node
class ListExpr:
    items: tuple
    span: Span = _span()


@node
class TupleExpr:
    items: tuple
    span: Span = _span()


@node
class BinOp:
    op: str
    left: object
    right: object
    span: Span = _span()


@node
class Compare:
    left: object
    ops: tuple  # of str
    rights: tuple
    span: Span = _span()


@node
class BoolOp:
    op: str  # "and" | "or"
    values: tuple
    span: Span = _span()


@node
class Not:
    operand: object
    span: Span = _span()


@node
class Neg:
    operand: object
    span: Span = _span()


@node
class CondExpr:
    body: object
    test: object
    orelse: object
    span: Span = _span()


@node
class KwArg:
    name: str
    value: object
    span: Span = _span()


@node
class Call:
    func: object
    args: tuple
    kwargs: tuple  # of KwArg
    span: Span = _span()


@node
class Index:
    value: object
    index: object
    span: Span = _span()


Expr = Union[Const, Kernel, Name, ListExpr, TupleExpr, BinOp, Compare, BoolOp, Not, Neg, CondExpr, Call, Index]


# ----------------------------------------------------------- scope names ---


@node
class ScopePath:
    """`as conv1` or `as fc8/squeezed`: a literal scope name."""

    path: str
    span: Span = _span()


@node
class ScopeExpr:
    """`as "unit_1"` or `as ("unit_" + str(i))`: a computed scope name."""

    expr: object
    span: Span = _span()


ScopeName = Union[ScopePath, ScopeExpr]


# ------------------------------------------------------------ statements ---


@node
class Layer:
    """`conv 64 3x3 stride=2 x2 as conv1 from t endpoint`."""

    kind: str
    args: tuple
    kwargs: tuple  # of KwArg
    repeat: int | None = None
    as_name: ScopeName | None = None
    from_name: str | None = None
    endpoint: bool = False
    span: Span = _span()
    kind_span: Span = _span()


@node
class DefaultsRule:
    """`conv, fc: activation=relu, padding=SAME`."""

    kinds: tuple  # of str
    kwargs: tuple  # of KwArg
    span: Span = _span()
    kind_spans: tuple = hidden(())


@node
class CallRef:
    """A reference to a named defaults block, with arguments: `vgg_arg_scope(weight_decay=0.01)`."""

    name: str
    args: tuple
    kwargs: tuple
    span: Span = _span()


@node
class Assign:
    target: str
    stmt: object  # Layer | Scope
    span: Span = _span()


@node
class Scope:
    name: ScopeName
    defaults: object | None  # DefaultsRule | CallRef | None
    from_name: str | None
    body: tuple
    span: Span = _span()


@node
class DefaultsStmt:
    spec: object  # DefaultsRule | CallRef
    body: tuple
    span: Span = _span()


@node
class Collect:
    kinds: tuple
    span: Span = _span()
    kind_spans: tuple = hidden(())


@node
class If:
    test: object
    body: tuple
    orelse: tuple
    span: Span = _span()


@node
class For:
    targets: tuple  # of str
    iter: object
    body: tuple
    span: Span = _span()


@node
class Let:
    name: str
    value: object
    span: Span = _span()


@node
class Param:
    name: str
    type: object | None  # Name (int, float, ...) or ListExpr: a tensor's shape without the batch
    default: object | None  # Expr, or None when required
    span: Span = _span()


@node
class LetFunction:
    name: str
    params: tuple  # of Param
    value: object
    span: Span = _span()


@node
class Endpoint:
    key: object
    from_name: str | None
    span: Span = _span()


@node
class Return:
    span: Span = _span()


@node
class Fail:
    message: object
    span: Span = _span()


# ------------------------------------------------------------- top level ---


@node
class Model:
    """A `model` or a `block` (a sub-network used like a layer)."""

    name: str
    params: tuple  # of Param
    body: tuple
    is_block: bool = False
    inline: bool = False
    uses: CallRef | None = None
    until: object | None = None
    span: Span = _span()
    name_span: Span = _span()
    default_scope: str | None = None  # `as NAME`: the scope name when the caller gives none


@node
class Partial:
    """`model mobilenet_v1_075 = mobilenet_v1(depth_multiplier=0.75)`: a model (or block) that is
    another with other defaults for some parameters (functools.partial)."""

    name: str
    target: CallRef
    is_block: bool = False
    span: Span = _span()
    name_span: Span = _span()


@node
class Import:
    """`import "nets/vgg.slim"` (names is None: every definition) or
    `from "nets/vgg.slim" import vgg_16, vgg_arg_scope`."""

    path: str
    names: tuple | None  # of str
    span: Span = _span()
    path_span: Span = _span()
    name_spans: tuple = hidden(())


@node
class DefaultsDef:
    name: str
    params: tuple  # of Param
    lines: tuple  # of DefaultsRule | CallRef
    span: Span = _span()
    name_span: Span = _span()


@node
class SettingNode:
    name: str
    args: tuple
    kwargs: tuple
    span: Span = _span()
    name_span: Span = _span()


@node
class Train:
    name: str | None
    settings: tuple
    span: Span = _span()


@node
class Module:
    items: tuple
    span: Span = _span()


_LEVELS = {CondExpr: COND, Not: NOT, Compare: CMP, Neg: NEG, Call: POSTFIX, Index: POSTFIX}
