"""Train stage, the checker's hook: the `train` sections of a parsed program -> `TrainSpec`s.

Setting arguments are expressions, evaluated here as the language evaluates
them elsewhere; the settings then go to `check.check_train_section`.
"""

from __future__ import annotations

import pathlib

from ..diagnostics import Collector, SlimError
from .check import INVALID, check_train_section
from .spec import ModelSig, Setting


def check_program_trains(prog, collector: Collector) -> None:
    """The checker's hook: evaluate every train section of `prog` and check it.

    Setting arguments are expressions; top-level constants (`let`) and
    arithmetic work as anywhere else.  A bare name that is not a constant is
    the name itself (`optimizer adam`, `loss softmax_cross_entropy`,
    `on=logits`), also inside lists.  `model NAME(param=value)` is accepted as
    well as `model NAME param=value`.  Sets `prog.train_specs`.
    """
    from .. import ast as A
    from ..evaluate import Defaults, Evaluator, Frame, ModelRun

    ev = Evaluator(prog, None)

    def frame():
        return Frame(dict(prog.globals), None, Defaults(), frozenset(), ModelRun({}))

    def bare(node):
        """`logits`, `heads/digit`: bare names (and paths of them) are strings."""
        if isinstance(node, A.Name) and node.id not in prog.globals:
            return node.id
        if isinstance(node, A.BinOp) and node.op == "/":
            left, right = bare(node.left), bare(node.right)
            if left is not None and right is not None:
                return f"{left}/{right}"
        return None

    def value(node):
        name = bare(node)
        if name is not None:
            return name
        if isinstance(node, A.ListExpr):
            return [value(i) for i in node.items]
        if isinstance(node, A.TupleExpr):
            return tuple(value(i) for i in node.items)
        try:
            return ev.eval(node, frame())
        except SlimError as e:
            collector.extend(e)
            return INVALID

    def declared(params) -> dict:
        """{name: default value, or None where it has none or it does not evaluate (the model and
        defaults checks report that)} for declared parameters."""
        out = {}
        for p in params:
            out[p.name] = None
            if p.default is not None:
                try:
                    out[p.name] = ev.eval(p.default, frame())
                except SlimError:
                    pass
        return out

    def defaults_params(model) -> dict:
        """{parameter: default} of the defaults block the model `uses` (none for an inline rule)."""
        block = prog.defaults.get(getattr(model.uses, "name", None)) if model.uses is not None else None
        if block is None or isinstance(model.uses, A.DefaultsRule):
            return {}
        return declared(block.params)

    models = {}
    for name, node in prog.models.items():
        models[name] = ModelSig(name, declared(node.params[1:]), defaults_params=defaults_params(node))

    src = pathlib.Path(prog.source_name)
    base_dir = src.parent if prog.source_name and not prog.source_name.startswith("<") else pathlib.Path(".")
    specs = []
    unusable = {}  # section name -> SlimError of losses nobody registered
    for t in prog.trains:
        settings = []
        for sn in t.settings:
            arg_nodes = list(sn.args)
            kw_nodes = list(sn.kwargs)
            if sn.name == "model" and arg_nodes and isinstance(arg_nodes[0], A.Call) \
                    and isinstance(arg_nodes[0].func, A.Name):
                call = arg_nodes[0]
                arg_nodes = [call.func] + list(call.args) + arg_nodes[1:]
                kw_nodes = list(call.kwargs) + kw_nodes
            args = tuple(value(a) for a in arg_nodes)
            kwargs, kw_spans = {}, {}
            for kw in kw_nodes:
                if kw.name in kwargs:
                    collector.error("E302", f"option `{kw.name}` given twice", kw.span)
                kwargs[kw.name] = value(kw.value)
                kw_spans[kw.name] = kw.span
            settings.append(Setting(sn.name, args, kwargs, sn.span, sn.name_span,
                                    tuple(a.span for a in arg_nodes), kw_spans))
        own = Collector()
        spec = check_train_section(t.name, settings, models, base_dir, own, t.span)
        if own.diagnostics and all(_unregistered_loss(d) for d in own.diagnostics):
            # A loss registered from Python (--plugin) fails only the section that
            # uses it: the models and the other sections stay usable.
            unusable[t.name] = SlimError(own.diagnostics)
            continue
        collector.diagnostics.extend(own.diagnostics)
        if spec is not None:
            specs.append(spec)
    prog.train_specs = specs
    prog.train_errors = unusable


def _unregistered_loss(d) -> bool:
    return d.code == "E306" and d.message.startswith("unknown loss kind")
