"""`slimlang explain FILE SCOPE`: one layer, every resolved argument and
where it came from (the layer's own text, a block parameter, which `defaults`
at file:line, or TF-Slim's own default), its input and output shapes and its
parameter count."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import ast
from ..diagnostics import SlimError, Span, did_you_mean
from .analysis import (
    Analysis,
    defaults_origin,
    fmt_shape,
    show_value,
    source_text,
    walk_statements,
)


@dataclass
class Arg:
    name: str
    value: str
    origin: str  # layer | block | defaults | table
    where: str  # human text: "this layer", "defaults `vgg_arg_scope` (vgg.slim:5:13)", ...
    text: str = ""  # the source text that set it, when there is one
    span: Span | None = None


@dataclass
class Explanation:
    name: str
    kind: str
    fn: str
    span: Span
    statement: str
    inputs: list  # (name, shape)
    output: tuple
    trainable: int
    non_trainable: int
    args: list = field(default_factory=list)
    normalizer_params: dict | None = None

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def render(self) -> str:
        out = [f"{self.name}: {self.kind} ({self.fn})",
               f"  defined at {self.span.location()}: {self.statement}"]
        for name, shape in self.inputs:
            out.append(f"  input   {fmt_shape(shape)}  from {name}")
        out.append(f"  output  {fmt_shape(self.output)}")
        count = f"{self.params:,}"
        if self.non_trainable:
            count += f" ({self.trainable:,} trainable, {self.non_trainable:,} non-trainable)"
        out.append(f"  params  {count}")
        out.append("")
        w_name = max([len("argument")] + [len(a.name) for a in self.args])
        w_val = max([len("value")] + [len(a.value) for a in self.args])
        out.append(f"  {'argument':<{w_name}}  {'value':<{w_val}}  from")
        for a in self.args:
            where = a.where + (f": {a.text}" if a.text and a.origin != "table" else "")
            out.append(f"  {a.name:<{w_name}}  {a.value:<{w_val}}  {where}")
        if self.normalizer_params:
            out.append("")
            out.append("  normalizer_params (with the normalizer's defaults): "
                       + ", ".join(f"{k}={show_value(v)}" for k, v in self.normalizer_params.items()))
        return "\n".join(out)

    def markdown(self) -> str:
        """A short form for editor hovers."""
        lines = [f"**{self.name}** — `{self.kind}` ({self.fn})", "",
                 f"in {', '.join(fmt_shape(s) for _, s in self.inputs) or '—'} → out {fmt_shape(self.output)}  ",
                 f"params {self.params:,}"]
        inherited = [a for a in self.args if a.origin == "defaults"]
        if inherited:
            lines += ["", "from defaults:"]
            lines += [f"- `{a.name}={a.value}` — {a.where}" for a in inherited]
        return "\n".join(lines)


def _find_layer(module: ast.Module, span: Span):
    for node, parents in walk_statements(module):
        if isinstance(node, ast.Layer) and node.span.line == span.line and node.span.col == span.col \
                and node.span.end_line == span.end_line and node.span.end_col == span.end_col:
            return node, parents
    return None, ()


def _layer_expr(node: ast.Layer, kind, name: str):
    """The expression a layer statement gives for argument `name`, if any."""
    if node is None:
        return None
    for kw in node.kwargs:
        p = kind.param(kw.name)
        if kw.name == name or (p is not None and p.name == name):
            return kw
    names = [p.name for p in kind.params]
    if node.args and isinstance(node.args[0], ast.ListExpr):
        return None  # a stack: the positional values come from its items
    if name in names and names.index(name) < len(node.args):
        return node.args[names.index(name)]
    return None


def explain_row(analysis: Analysis, index: int) -> Explanation:
    row = analysis.rows[index]
    call = row.call
    kind = call.kind
    module = analysis.program.module
    node, parents = _find_layer(module, call.span)
    block = next((p for p in reversed(parents) if isinstance(p, ast.Model) and p.is_block), None)
    inputs = []
    for i in row.inputs:
        if i < 0:
            inputs.append(("inputs", analysis.summary.input_shape))
        else:
            inputs.append((analysis.rows[i].name, analysis.rows[i].shape))
    ex = Explanation(row.name, kind.name, kind.fn, call.span, source_text(call.span), inputs, row.shape,
                     row.trainable, row.non_trainable, normalizer_params=call.normalizer_params)
    for p in kind.params:
        if p.name not in call.full:
            continue
        value = show_value(call.full[p.name])
        origin = call.origins.get(p.name)
        what = origin.what if origin is not None else "table"
        if what == "layer":
            e = _layer_expr(node, kind, p.name)
            text = source_text(e.span) if e is not None else ""
            where = "this layer"
            value_expr = e.value if isinstance(e, ast.KwArg) else e
            if block is not None and isinstance(value_expr, ast.Name) and value_expr.id in {q.name for q in block.params}:
                what = "block"
                where = f"block parameter `{value_expr.id}` of `{block.name}`"
            ex.args.append(Arg(p.name, value, what, where, text, e.span if e is not None else call.span))
        elif what == "defaults":
            where = f"{defaults_origin(module, origin.span)} ({origin.span.location()})"
            ex.args.append(Arg(p.name, value, "defaults", where, source_text(origin.span), origin.span))
        else:
            ex.args.append(Arg(p.name, value, "table", f"TF-Slim's default ({kind.fn})"))
    return ex


def find_row(analysis: Analysis, scope: str) -> int:
    names = [r.name for r in analysis.rows]
    model = analysis.summary.model
    for candidate in (scope, f"{model}/{scope}"):
        if candidate in names:
            return names.index(candidate)
    short = [n.split("/", 1)[1] if "/" in n else n for n in names]
    hint = did_you_mean(scope, names + short)
    raise SlimError.single("E910", f"model `{model}` has no layer `{scope}`",
                           None, [hint or f"note: its layers are {', '.join(names[:6])}{', ...' if len(names) > 6 else ''}"
                                  " (see `slimlang summary`)"])
