"""AST: what the parser makes of a .slim file.

Small frozen dataclasses, one inheritance level, each with a `span` that does
not take part in equality (so layout changes keep the tree equal; `fmt` relies
on that).  No Lark type appears here.  Rewrites use `dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .diagnostics import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ------------------------------------------------------------ expressions ---


@dataclass(frozen=True, slots=True)
class Const:
    """A number, string, boolean or `none`."""

    value: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Kernel:
    """A `3x3` literal: a (height, width) pair."""

    height: int
    width: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TupleExpr:
    items: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: object
    right: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Compare:
    left: object
    ops: tuple  # of str
    rights: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    values: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    operand: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Neg:
    operand: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CondExpr:
    body: object
    test: object
    orelse: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class KwArg:
    name: str
    value: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    func: object
    args: tuple
    kwargs: tuple  # of KwArg
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Index:
    value: object
    index: object
    span: Span = _span()


Expr = Union[Const, Kernel, Name, ListExpr, TupleExpr, BinOp, Compare, BoolOp, Not, Neg, CondExpr, Call, Index]


# ----------------------------------------------------------- scope names ---


@dataclass(frozen=True, slots=True)
class ScopePath:
    """`as conv1` or `as fc8/squeezed`: a literal scope name."""

    path: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ScopeExpr:
    """`as "unit_1"` or `as ("unit_" + str(i))`: a computed scope name."""

    expr: object
    span: Span = _span()


ScopeName = Union[ScopePath, ScopeExpr]


# ------------------------------------------------------------ statements ---


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class DefaultsRule:
    """`conv, fc: activation=relu, padding=SAME`."""

    kinds: tuple  # of str
    kwargs: tuple  # of KwArg
    span: Span = _span()
    kind_spans: tuple = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CallRef:
    """A reference to a named defaults block, with arguments: `vgg_arg_scope(weight_decay=0.01)`."""

    name: str
    args: tuple
    kwargs: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Assign:
    target: str
    stmt: object  # Layer | Scope
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Scope:
    name: ScopeName
    defaults: object | None  # DefaultsRule | CallRef | None
    from_name: str | None
    body: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DefaultsStmt:
    spec: object  # DefaultsRule | CallRef
    body: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Collect:
    kinds: tuple
    span: Span = _span()
    kind_spans: tuple = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class If:
    test: object
    body: tuple
    orelse: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class For:
    targets: tuple  # of str
    iter: object
    body: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: object | None  # Name (int, float, ...) or ListExpr: a tensor's shape without the batch
    default: object | None  # Expr, or None when required
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LetFunction:
    name: str
    params: tuple  # of Param
    value: object
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Endpoint:
    key: object
    from_name: str | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Return:
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Fail:
    message: object
    span: Span = _span()


# ------------------------------------------------------------- top level ---


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class DefaultsDef:
    name: str
    params: tuple  # of Param
    lines: tuple  # of DefaultsRule | CallRef
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class SettingNode:
    name: str
    args: tuple
    kwargs: tuple
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class Train:
    name: str | None
    settings: tuple
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Module:
    items: tuple
    span: Span = _span()
