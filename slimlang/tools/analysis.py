"""Elaborate one model on the shape backend and keep what the tools need:
the layer rows (shapes, parameter counts, resolved arguments with their
origins) and the variable scopes that were opened, with what opened them
(the model, a `scope`, a block, or slim.repeat / slim.stack)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from .. import ast
from ..diagnostics import Span
from ..evaluate import Evaluator
from ..layers import fmt_shape  # noqa: F401  (the tools import it from here)
from ..shapes import ShapeBackend, Summary


@dataclass
class ScopeInfo:
    name: str  # full scope name
    kind: str  # model | Scope | Repeat | Stack | <block name>
    depth: int  # 0 for the model's own scope
    parent: str | None
    rows: list = field(default_factory=list)  # indices of rows directly or indirectly inside


class RecordingBackend(ShapeBackend):
    """A ShapeBackend that also records every variable scope it opens."""

    def __init__(self):
        super().__init__()
        self.scopes: dict[str, ScopeInfo] = {}

    @contextlib.contextmanager
    def variable_scope(self, name, default_name, reuse=None):
        parent = self.stack[-1] if self.stack else None
        with super().variable_scope(name, default_name, reuse=reuse) as full:
            if full not in self.scopes:
                depth = 0 if parent is None else self.scopes[parent].depth + 1 if parent in self.scopes else 0
                kind = "model" if parent is None else default_name
                self.scopes[full] = ScopeInfo(full, kind, depth, parent)
            yield full

    def layer(self, call):
        first = len(self.rows)
        out = super().layer(call)
        for s in self.stack:
            if s in self.scopes:
                self.scopes[s].rows.extend(range(first, len(self.rows)))  # a split adds a row per part
        return out


@dataclass
class Analysis:
    program: object
    summary: Summary
    scopes: dict  # name -> ScopeInfo

    @property
    def rows(self):
        return self.summary.rows

    def scope_of(self, row_index: int) -> list:
        """The recorded scopes enclosing a row, outermost first."""
        return sorted((s for s in self.scopes.values() if row_index in s.rows), key=lambda s: s.depth)


def analyze(program, model: str, input_shape, params: dict | None = None, span: Span | None = None) -> Analysis:
    backend = RecordingBackend()
    ev = Evaluator(program, backend)
    net, end_points = ev.run_model(model, backend.input(input_shape), params or {}, call_span=span)
    summary = Summary(model, tuple(input_shape), backend.rows, net.shape, {k: v.shape for k, v in end_points.items()})
    return Analysis(program, summary, backend.scopes)


def load(file: str, model: str | None, input_shape: str | None, sets=()):
    """check FILE, pick the model and its input shape the way `summary` does, analyze it."""
    from ..checker import check_file
    from ..commands import pick_model

    program = check_file(file)
    return for_command(program, pick_model(program, model), input_shape, sets)


def for_command(program, model: str, input_shape: str | None, sets=()) -> Analysis:
    """analyze() with the command line's --input-shape text and --set values, and `summary`'s own
    errors for them (an --input-shape without the batch is bad command-line use)."""
    from ..commands import parse_sets, parse_shape, summarize

    shape = parse_shape(input_shape, program, model)
    params, span = parse_sets(sets), program.models[model].name_span
    summarize(program, model, shape, params, input_shape, span=span)
    return analyze(program, model, shape, params, span=span)


# ----------------------------------------------------------- formatting ---


def show_value(v) -> str:
    """A resolved argument as `explain` and hovers print it: kernels as 3x3, padding names bare."""
    from ..values import show

    if isinstance(v, str) and v.isidentifier() and v.isupper():
        return v
    return show(v, kernels=True)


def source_text(span: Span | None) -> str:
    """The source text a span covers (first line only)."""
    if span is None or span.source is None:
        return ""
    line = span.source.line(span.line)
    end = span.end_col if span.end_line == span.line else len(line) + 1
    return line[span.col - 1:end - 1].strip()


def walk_statements(node):
    """Every statement node (and defaults rule) of a module, with its parents."""
    stack = [(node, ())]
    while stack:
        n, parents = stack.pop()
        yield n, parents
        children = []
        if isinstance(n, ast.Module):
            children = list(n.items)
        elif isinstance(n, ast.Model):
            children = list(n.body)
        elif isinstance(n, ast.DefaultsDef):
            children = list(n.lines)
        elif isinstance(n, ast.Assign):
            children = [n.stmt]
        elif isinstance(n, ast.Scope):
            children = ([n.defaults] if n.defaults is not None else []) + list(n.body)
        elif isinstance(n, ast.DefaultsStmt):
            children = [n.spec] + list(n.body)
        elif isinstance(n, (ast.If,)):
            children = list(n.body) + list(n.orelse)
        elif isinstance(n, ast.For):
            children = list(n.body)
        for c in reversed(children):
            stack.append((c, parents + (n,)))


def contains(span: Span, line: int, col: int) -> bool:
    if span is None or span.source is None:
        return False
    if (line, col) < (span.line, span.col):
        return False
    return (line, col) < (span.end_line, span.end_col)


def defaults_origin(module: ast.Module, span: Span) -> str:
    """Name the `defaults` that a keyword at `span` belongs to: a named
    defaults block, a `defaults` statement, or a scope's defaults."""
    for node, parents in walk_statements(module):
        if isinstance(node, ast.DefaultsRule) and contains(node.span, span.line, span.col):
            for p in reversed(parents):
                if isinstance(p, ast.DefaultsDef):
                    return f"defaults `{p.name}`"
                if isinstance(p, ast.Scope):
                    return "the defaults of scope " + (p.name.path if isinstance(p.name, ast.ScopePath) else "(...)")
                if isinstance(p, ast.DefaultsStmt):
                    return "a `defaults` statement"
            return "defaults"
    return "defaults"
