"""Binding: what a layer statement means, decided in one place for every consumer.

A layer statement `KIND ARGS... [xN] [as NAME]` is one of three forms:

- a **stack** when its only positional argument is a list standing where the
  layer's first integer argument (the output count) goes, or where a block's
  first argument goes: `fc [32, 64]`, `conv [(32, 3x3), (64, 1x1)]`,
  `let sizes = [32, 64]` then `fc sizes` (slim.stack);
- a **repeat** when it ends in `xN` (slim.repeat);
- a **single** call otherwise.  A list where a size goes is a size:
  `pool [2, 2]` is one 2x2 pool.

The evaluator (shape and graph backends) decides from the argument's value
and records what it decided for each statement in `Program.forms`; the Python
emitter reads that record, so both lowerings build the same thing.  Where a
statement was never elaborated (a model without a declared input shape, a
branch not taken) the emitter judges from the program text with the same
rule (`static_is_list`).

Arguments are bound here too (`arguments`): positional ones to parameter
names in order, then keyword ones by name.  The evaluator binds values, the
emitter binds the expressions it prints; both get the same errors (E203,
E204) from the same code.
"""

from __future__ import annotations

from . import ast
from .diagnostics import SlimError
from .records import replace

SINGLE, REPEAT, STACK = "single", "repeat", "stack"


def list_makes_stack(kind, block) -> bool:
    """Whether a list as the first positional argument makes a stack (see the module docstring)."""
    if block is not None:
        return True
    if kind is None or not kind.positional:
        return False
    first = kind.param(kind.positional[0])
    return first is not None and first.type == "int"


def form_of(kind, block, n_args: int, first_is_list: bool, repeat) -> str:
    """The form of a layer statement with `n_args` positional arguments."""
    if n_args == 1 and first_is_list and list_makes_stack(kind, block):
        return STACK
    if repeat:
        return REPEAT
    return SINGLE


def record(forms: dict | None, stmt, form: str) -> None:
    """Note the form a statement was elaborated as (`Program.forms`: id(stmt) -> set of forms)."""
    if forms is not None:
        seen = forms.get(id(stmt))
        if seen is None:
            forms[id(stmt)] = {form}
        elif form not in seen:
            seen.add(form)


def static_is_list(expr, list_names) -> bool:
    """The program text's judgment of whether `expr` is a list: a list literal, or a name that
    `list_names` says is bound to one (a `let` of a list literal, a parameter whose default is one)."""
    if isinstance(expr, ast.ListExpr):
        return True
    if isinstance(expr, ast.Name):
        return expr.id in list_names
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        return expr.func.id in ("list", "range", "zip", "enumerate")  # the builtins that make lists
    return False


def list_bound_names(params, body) -> set:
    """Names a function's text binds to lists: parameters with list defaults and lets of list values
    (`let b = a` after `let a = [1, 2]` too)."""
    names = {p.name for p in params if p.default is not None and static_is_list(p.default, ())}
    lets = [s for s in ast.statements(body) if isinstance(s, ast.Let)]
    grew = True
    while grew:
        grew = False
        for s in lets:
            if s.name not in names and static_is_list(s.value, names):
                names.add(s.name)
                grew = True
    return names


def keyword(kind, name: str) -> str:
    """The table's name for a keyword argument: `activation_fn=` (TF-Slim's spelling) is `activation`."""
    p = kind.param(name) if kind is not None else None
    return p.name if p is not None else name


def arguments(what: str, names, pos, kwargs: dict, span, kw_spans, arg_nodes=()) -> dict:
    """{parameter name: argument} for a call of `what` (its parameters `names`, in order) with the
    positional arguments `pos` and the keyword arguments `kwargs` (table names, see `keyword`).
    `arg_nodes`, the statement's positional argument expressions when they are `pos`'s, locate
    the ones too many.

    Positional arguments come first in the result, in order, then keyword ones."""
    if len(pos) > len(names):
        raise too_many(what, names, len(pos), span, arg_nodes)
    bound = dict(zip(names, pos))
    for k, v in kwargs.items():
        if k in bound:
            raise SlimError.single("E204", f"{what} got `{k}` twice (positionally and by name)",
                                   kw_spans.get(k, span))
        bound[k] = v
    return bound


def too_many(what: str, names, given: int, span, arg_nodes=()) -> SlimError:
    """E203 for `given` positional arguments to `what`, which takes `names`: at the ones too many
    when `arg_nodes` are the call's argument expressions, else at `span`."""
    if len(arg_nodes) == given:
        first, last = arg_nodes[len(names)].span, arg_nodes[-1].span
        span = replace(first, end_line=last.end_line, end_col=last.end_col)
    if not names:
        return SlimError.single("E203", f"{what} takes no arguments, got {given}", span)
    n = len(names)
    return SlimError.single("E203", f"{what} takes at most {n} positional argument{'s' if n > 1 else ''} "
                            f"({', '.join(names)}), got {given}", span)


def describe(kind, block) -> str:
    """How errors name the callee of a layer statement."""
    return f"block `{block.name}`" if block is not None else f"`{kind.name}`"
