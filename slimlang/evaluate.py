"""Elaboration: run a checked model on a backend.

One interpreter walks a model's statements with concrete parameter values and
hands every layer to a backend: `shapes.ShapeBackend` (static shapes,
parameter counts, scope names: `check`, `summary`, `explain`, `graph`) or
`lower_graph.TFBackend` (tf_slim calls in a tf.compat.v1 graph).  Because both
backends see the same sequence of layers with the same resolved arguments,
the summary describes exactly the graph that gets built.

The statement interpreter is a chain of generators: each layer statement
*yields* its resolved `LayerCall`, and one driver loop (`Evaluator._drive`)
hands it to the backend and sends the result back.  TensorFlow records the
Python stack (and computes a line number per frame) at every op it creates,
so the interpreter's frames must not be on the stack while tf_slim builds a
layer: with the driver, the stack under an op is run_model -> _drive ->
backend -> tf_slim, however deeply the .slim blocks nest.

`defaults` are resolved here, the way slim.arg_scope resolves them: a stack of
per-kind keyword dicts, inner scopes override outer ones, a layer's own
arguments override both.  The resolved arguments are passed explicitly to the
backend, so no hidden state decides what a layer gets (and `explain` can say
where each value came from).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import operator
from dataclasses import dataclass, field

from . import ast, bind, limits
from .diagnostics import SlimError, Span, did_you_mean
from .layers import ENUMS, LAYERS, REQUIRED, LayerKind, ShapeError, canonical_arg, fmt_shape
from .values import BUILTINS, STRING_CONSTANTS, Op, make_op, show


class _Stop(Exception):
    """`return`, or the model's `until` end point was reached.

    `net` is the current tensor where `return` stood: inside a `scope` or `defaults` body that
    is the body's own tensor, which the enclosing frames never saw."""

    def __init__(self, whole_model: bool, net=None):
        self.whole_model = whole_model
        self.net = net


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor value inside the interpreter (wraps the backend's object)."""

    obj: object

    shown = "a tensor"  # how values.show prints it


@dataclass(frozen=True, slots=True)
class Function:
    """`let depth(d) = max(int(d * depth_multiplier), min_depth)`."""

    node: ast.LetFunction
    env: dict = field(compare=False)

    @property
    def shown(self) -> str:
        return f"function `{self.node.name}`"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a resolved layer argument came from (for `explain`)."""

    what: str  # "layer" | "defaults" | "table"
    span: Span | None = None
    detail: str = ""


class LayerCall:
    """Everything a backend needs to build one layer.

    kind: LayerKind; inputs: backend tensors; args: arguments set by the layer or by `defaults` (DSL
    names), what the lowerings pass; full: args plus the table's defaults, what shape rules and counts
    see; scope: the `as` name, or None for slim's default naming; origins: DSL name -> Origin (only
    `explain` reads them, so the evaluator has them worked out on first use); span; normalizer_params:
    normalizer_params merged with that normalizer's defaults.
    """

    __slots__ = ("kind", "inputs", "args", "full", "scope", "_origins", "span", "normalizer_params", "_why")

    def __init__(self, kind, inputs, args, full, scope, origins, span, normalizer_params=None, _why=None):
        self.kind = kind
        self.inputs = inputs
        self.args = args
        self.full = full
        self.scope = scope
        self._origins = origins
        self.span = span
        self.normalizer_params = normalizer_params
        self._why = _why  # (bound, kw_spans, defaults' origins) when origins is None

    @property
    def origins(self) -> dict:
        if self._origins is None:
            bound, kw_spans, from_defaults = self._why
            table = _table_origin(self.kind)
            origins = dict.fromkeys(self.full, table)
            origins.update(from_defaults)
            for k in bound:
                origins[k] = Origin("layer", kw_spans.get(k, self.span))
            self._origins = origins
            self._why = None
        return self._origins

    def _key(self):
        return (self.kind, self.inputs, self.args, self.full, self.scope, self.origins, self.span,
                self.normalizer_params)

    def __eq__(self, other):
        return self._key() == other._key() if isinstance(other, LayerCall) else NotImplemented

    __hash__ = None

    def __repr__(self):
        return (f"LayerCall(kind={self.kind.name!r}, args={self.args!r}, scope={self.scope!r}, "
                f"span={self.span!r})")


_TABLE_ORIGINS: dict = {}


def _table_origin(kind) -> Origin:
    key = (kind.name, kind.fn)
    o = _TABLE_ORIGINS.get(key)
    if o is None:
        o = _TABLE_ORIGINS[key] = Origin("table", None, f"TF-Slim's default for {kind.fn}")
    return o


_EMPTY: dict = {}  # shared, never mutated


class Defaults:
    """An immutable arg_scope stack level: kind -> {arg: (value, Origin)}."""

    __slots__ = ("by_kind", "_split")

    def __init__(self, by_kind=None):
        self.by_kind = by_kind or {}
        self._split = None  # kind -> (values, origins), filled on use (the level never changes)

    def resolved(self, kind: str) -> tuple:
        """({arg: value}, {arg: Origin}) for one kind; shared dicts: do not mutate."""
        split = self._split
        if split is None:
            split = self._split = {}
        r = split.get(kind)
        if r is None:
            entry = self.by_kind.get(kind)
            if entry:
                r = ({k: v for k, (v, _) in entry.items()}, {k: o for k, (_, o) in entry.items()})
            else:
                r = (_EMPTY, _EMPTY)
            split[kind] = r
        return r

    def with_args(self, kinds, args: dict) -> "Defaults":
        new = dict(self.by_kind)
        for k in kinds:
            merged = dict(new.get(k, {}))
            merged.update(args)
            new[k] = merged
        return Defaults(new)

    def get(self, kind: str) -> dict:
        return self.by_kind.get(kind, {})

    def values(self, kind: str) -> dict:
        return {k: v for k, (v, _) in self.get(kind).items()}


@dataclass
class Frame:
    env: dict
    net: object  # Tensor or None
    defaults: Defaults
    collect: frozenset
    model: "ModelRun"


@dataclass
class ModelRun:
    end_points: dict
    until: object = None
    reached: bool = False
    result: object = None  # the tensor of the `until` end point, once reached


_BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "//": operator.floordiv, "%": operator.mod, "**": operator.pow}
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge, "in": lambda a, b: a in b}

# Functions expressions may call besides the builtin values of slimlang.values.
_TO_INT = ("int", "round", "ceil", "floor")
_NOT_FINITE_HELP = {False: "note: a float became infinity by overflowing (beyond about 1.8e308, e.g. 1e308 * 10)",
                    True: "note: nan comes from arithmetic on infinity (inf - inf, 0 * inf, inf / inf)"}

PURE_FUNCTIONS = {
    "min": min, "max": max, "int": int, "float": float, "str": str, "bool": bool, "abs": abs, "len": len,
    "round": round, "range": lambda *a: list(range(*a)), "enumerate": lambda x, start=0: list(enumerate(x, start)),
    "zip": lambda *a: list(zip(*a)), "list": list, "tuple": tuple, "dict": lambda **kw: dict(kw),
    "sum": sum, "ceil": math.ceil, "floor": math.floor, "sqrt": math.sqrt,
}
TENSOR_FUNCTIONS = ("shape", "depth", "scope_name")
# Names the evaluator defines itself; the checker treats them as always defined.
SPECIAL_NAMES = ("net", "inputs", "depth_in")


def builtin_names() -> set:
    return set(BUILTINS) | set(STRING_CONSTANTS) | set(PURE_FUNCTIONS) | set(TENSOR_FUNCTIONS) | set(SPECIAL_NAMES)


class Evaluator:
    """Runs models of a checked program on a backend."""

    def __init__(self, program, backend):
        self.program = program  # checker.Program
        self.backend = backend
        # What this elaboration may still spend (limits.py); a new count for each model run.
        self.budget = limits.Budget(getattr(program, "deadline", None))
        self.forms = getattr(program, "forms", None)  # what each layer statement was built as (bind.py)
        # node type -> unbound exec_/eval_ method (one dict lookup instead of a name built per node)
        self._exec_table = _EXEC_TABLES.setdefault(type(self), {})
        self._eval_table = _EVAL_TABLES.setdefault(type(self), {})

    # ------------------------------------------------------------ models --
    def run_model(self, name: str, inputs, params: dict | None = None, *, scope=None, reuse=None,
                  defaults="uses", call_span: Span | None = None):
        """Build model `name` on `inputs`; returns (net, end_points) of backend tensors."""
        model = self.program.models[name]
        self.budget = limits.Budget(getattr(self.program, "deadline", None))
        env = self.bind_params(model, dict(params or {}), call_span or model.span, skip_first=True)
        first = model.params[0].name if model.params else "inputs"
        env[first] = Tensor(inputs)
        env["inputs"] = Tensor(inputs)
        base = Defaults()
        if defaults == "uses" and model.uses is not None:
            base = self.apply_defaults_spec(model.uses, base, self.program.globals)
        elif isinstance(defaults, Defaults):
            base = defaults
        run = ModelRun(end_points={})
        frame = Frame(env, Tensor(inputs), base, frozenset(), run)
        if model.until is not None:
            run.until = self.eval(model.until, frame)
        if scope is None and any(p.name == "scope" for p in model.params):
            scope = env["scope"]  # a declared `scope = "InceptionV1"` parameter gives the default scope name
        default = model.default_scope or model.name
        # An `inline model` opens no scope of its own (pix2pix, CycleGAN): only one a caller names.
        opened = (contextlib.nullcontext() if model.inline and not scope else
                  self.backend.variable_scope(scope or default, default, reuse=reuse))
        with opened:
            try:
                self._drive(self.exec_body(model.body, frame))
            except _Stop as stop:
                if not stop.whole_model:
                    frame.net = stop.net
            except RecursionError:
                # The budgets bound each kind of nesting; only a mix of them all (deep blocks calling
                # deep functions of deep expressions) reaches Python's own limit.
                raise too_deep(model.name_span or model.span) from None
        if run.until is not None and not run.reached:
            raise SlimError.single("E402", f"unknown final end point {run.until!r}: no `endpoint` of "
                                   f"`{name}` has that name",
                                   model.until.span, [did_you_mean(str(run.until), [str(k) for k in run.end_points])])
        net = run.result if run.reached else frame.net
        return net.obj, {k: v.obj for k, v in run.end_points.items()}

    def bind_params(self, model: ast.Model, given: dict, span: Span, skip_first: bool, defaults: Defaults | None = None,
                    spans: dict | None = None) -> dict:
        params = model.params[1:] if skip_first else model.params
        env = dict(self.program.globals)
        if given:
            names = [p.name for p in params]
            for k in given:
                if k not in names:
                    raise SlimError.single("E206", f"`{model.name}` has no parameter `{k}`",
                                           (spans or {}).get(k, span), [did_you_mean(k, names)])
        scoped = defaults.resolved(model.name)[0] if defaults is not None else _EMPTY
        default_frame = None  # defaults see only the globals; one frame serves them all
        for p in params:
            if p.name in given:
                env[p.name] = given[p.name]
            elif p.name in scoped:
                env[p.name] = scoped[p.name]
            elif p.default is not None:
                if type(p.default) is ast.Const:
                    env[p.name] = p.default.value
                    continue
                if default_frame is None:
                    default_frame = Frame(dict(self.program.globals), None, Defaults(), frozenset(), ModelRun({}))
                env[p.name] = self.eval(p.default, default_frame)
            else:
                raise SlimError.single("E207", f"`{model.name}` needs a value for its parameter `{p.name}`", span)
        return env

    # -------------------------------------------------------- statements --
    def _drive(self, gen):
        """Run an interpreter generator to its end; returns its value.

        Every `LayerCall` it yields is built here by the backend and the result
        sent back (an exception is thrown back in at the `yield`, so the
        statement that made the call reports it).  The backend therefore runs
        two frames below `run_model`, not under the interpreter's frames."""
        build = self.backend.layer
        send, throw = gen.send, gen.throw
        try:
            call = send(None)
            while True:
                try:
                    out = build(call)
                except BaseException as e:  # noqa: BLE001 - re-raised inside the generator
                    call = throw(e)
                else:
                    call = send(out)
        except StopIteration as stop:
            return stop.value

    def exec_body(self, body, frame: Frame):
        # A generator (see _drive).  Common statements are dispatched inline rather than through the
        # exec_ table: one generator less per nesting level for every layer's call to pass through.
        table = self._exec_table
        Layer, If, For, Scope, DefaultsStmt = ast.Layer, ast.If, ast.For, ast.Scope, ast.DefaultsStmt
        budget = self.budget
        for stmt in body:
            budget.steps += 1
            if budget.steps >= budget.next_look:
                budget.look(stmt.span)
            t = type(stmt)
            if t is Layer:
                out = yield from self.layer(stmt, frame)
                if type(out) is list:  # a split's parts: there is no one tensor to go on with
                    raise _unnamed_parts(stmt)
                frame.net = out
                continue
            if t is If:
                if self.truth(self.eval(stmt.test, frame), stmt.test):
                    yield from self.exec_body(stmt.body, frame)
                else:
                    yield from self.exec_body(stmt.orelse, frame)
                continue
            if t is For:
                seq = self.eval(stmt.iter, frame)
                if not isinstance(seq, (list, tuple)):
                    raise SlimError.single("E220", f"`for` needs a list, got {describe(seq)}", stmt.iter.span)
                targets = stmt.targets
                for item in seq:
                    if len(targets) == 1:
                        frame.env[targets[0]] = item
                    else:
                        if not isinstance(item, (list, tuple)) or len(item) != len(targets):
                            raise SlimError.single("E221", f"cannot unpack {describe(item)} into "
                                                   f"{len(targets)} names", stmt.span)
                        for tg, v in zip(targets, item):
                            frame.env[tg] = v
                    yield from self.exec_body(stmt.body, frame)
                continue
            if t is Scope:
                name, inner = self._scope_frame(stmt, frame)
                with self.backend.variable_scope(name, "Scope"):
                    yield from self.exec_body(stmt.body, inner)
                frame.net = inner.net
                continue
            if t is DefaultsStmt:
                inner = self._defaults_frame(stmt, frame)
                yield from self.exec_body(stmt.body, inner)
                frame.net = inner.net
                continue
            entry = table.get(t)
            if entry is None:
                fn = getattr(type(self), "exec_" + t.__name__)
                entry = table[t] = (fn, inspect.isgeneratorfunction(fn))
            fn, is_generator = entry
            if is_generator:
                yield from fn(self, stmt, frame)
            else:
                fn(self, stmt, frame)

    def exec_Assign(self, stmt: ast.Assign, frame: Frame):
        if isinstance(stmt.stmt, ast.Layer):
            frame.env[stmt.target] = yield from self.layer(stmt.stmt, frame)
        else:
            yield from self.exec_Scope(stmt.stmt, frame, assign_to=stmt.target)

    def _scope_frame(self, stmt: ast.Scope, frame: Frame):
        """(scope name, frame of its body) for a `scope` statement.  A helper that
        returns before the body runs, so the body's generators are not nested under it."""
        name = self.scope_name(stmt.name, frame)
        defaults = frame.defaults
        if stmt.defaults is not None:
            defaults = self.apply_defaults_spec(stmt.defaults, defaults, frame.env, frame)
        start = self.tensor_named(stmt.from_name, frame, stmt.span) if stmt.from_name else frame.net
        return name, Frame(frame.env, start, defaults, frame.collect, frame.model)

    def _defaults_frame(self, stmt: ast.DefaultsStmt, frame: Frame) -> Frame:
        defaults = self.apply_defaults_spec(stmt.spec, frame.defaults, frame.env, frame)
        return Frame(frame.env, frame.net, defaults, frame.collect, frame.model)

    def exec_Scope(self, stmt: ast.Scope, frame: Frame, assign_to: str | None = None):
        name, inner = self._scope_frame(stmt, frame)
        with self.backend.variable_scope(name, "Scope"):
            yield from self.exec_body(stmt.body, inner)
        if assign_to is None:
            frame.net = inner.net
        else:
            frame.env[assign_to] = inner.net

    def exec_Collect(self, stmt: ast.Collect, frame: Frame):
        frame.collect = frame.collect | frozenset(stmt.kinds)

    def exec_Let(self, stmt: ast.Let, frame: Frame):
        frame.env[stmt.name] = self.eval(stmt.value, frame)

    def exec_LetFunction(self, stmt: ast.LetFunction, frame: Frame):
        frame.env[stmt.name] = Function(stmt, frame.env)

    def exec_Endpoint(self, stmt: ast.Endpoint, frame: Frame):
        key = self.eval(stmt.key, frame)
        if not isinstance(key, str):
            raise SlimError.single("E222", f"an end point's name must be a string, got {describe(key)}", stmt.key.span)
        value = self.tensor_named(stmt.from_name, frame, stmt.span) if stmt.from_name else frame.net
        self.record_endpoint(key, value, frame)

    def record_endpoint(self, key: str, value, frame: Frame):
        frame.model.end_points[key] = value
        if frame.model.until is not None and key == frame.model.until:
            frame.model.reached = True
            frame.model.result = value
            raise _Stop(whole_model=True)

    def exec_Return(self, stmt: ast.Return, frame: Frame):
        raise _Stop(whole_model=False, net=frame.net)

    def exec_Fail(self, stmt: ast.Fail, frame: Frame):
        msg = self.eval(stmt.message, frame)
        raise SlimError.single("E400", str(msg), stmt.span)

    # ------------------------------------------------------------ layers --
    def layer(self, stmt: ast.Layer, frame: Frame):
        """A generator (see _drive) returning the layer statement's output Tensor."""
        Const = ast.Const
        args = [a.value if type(a) is Const else self.eval(a, frame) for a in stmt.args]
        if stmt.kwargs:
            kwargs = {k.name: self.eval(k.value, frame) for k in stmt.kwargs}
            kw_spans = {k.name: k.span for k in stmt.kwargs}
        else:
            kwargs = kw_spans = _EMPTY
        start = self.tensor_named(stmt.from_name, frame, stmt.span) if stmt.from_name else frame.net
        scope = self.scope_name(stmt.as_name, frame) if stmt.as_name is not None else None
        block = self.program.blocks.get(stmt.kind)
        kind = LAYERS.get(stmt.kind)
        # (call_block / call_layer are delegated to inline, not through a helper: one generator less
        # for every layer call to pass through)
        form = bind.form_of(kind, block, len(args), bool(args) and isinstance(args[0], list), stmt.repeat)
        bind.record(self.forms, stmt, form)
        stack_args = [i if isinstance(i, (list, tuple)) else (i,) for i in args[0]] if form == bind.STACK else None
        if kind is not None and kind.outputs == "list" and (form != bind.SINGLE or stmt.endpoint):
            raise _unnamed_parts(stmt)
        if form != bind.SINGLE:
            what = "Stack" if stack_args is not None else "Repeat"
            base = scope if scope is not None else (block.name if block else kind.repeat_name)
            if stmt.repeat:
                limits.repeat_count(stmt.repeat, stmt.span)
            items = stack_args if stack_args is not None else [tuple(args)] * stmt.repeat
            out = start
            with self.backend.variable_scope(scope, what):
                for i, pos in enumerate(items):
                    if block is not None:
                        out = yield from self.call_block(block, out, tuple(pos), kwargs, f"{base}_{i + 1}", frame,
                                                         stmt, kw_spans)
                    else:
                        out = yield from self.call_layer(kind, out, tuple(pos), kwargs, f"{base}_{i + 1}", frame,
                                                         stmt, kw_spans)
        elif block is not None:
            out = yield from self.call_block(block, start, tuple(args), kwargs, scope, frame, stmt, kw_spans)
        elif kind is None:
            out = yield from self.call_model(self.program.models[stmt.kind], start, tuple(args), kwargs, scope, frame,
                                             stmt, kw_spans)
        else:
            out = yield from self.call_layer(kind, start, tuple(args), kwargs, scope, frame, stmt, kw_spans)
        if stmt.endpoint:
            key = scope if scope is not None else self.backend.alias(out.obj)
            self.record_endpoint(key.split("/")[-1] if stmt.as_name is None else key, out, frame)
        return out

    def resolve_args(self, kind_name: str, names, pos: tuple, kwargs: dict, frame: Frame, stmt, kw_spans,
                     what: str):
        """Bind positional and keyword arguments, then merge in `defaults`.

        Returns (merged arguments, the layer's own arguments, {arg: Origin} of the `defaults` ones)."""
        bound = bind.arguments(what, names, pos, kwargs, stmt.span, kw_spans, stmt.args)
        values, origins = frame.defaults.resolved(kind_name)
        if values:
            merged = dict(values)
            merged.update(bound)
        else:
            merged = bound
        return merged, bound, origins

    def call_layer(self, kind: LayerKind, x, pos, kwargs, scope, frame: Frame, stmt: ast.Layer, kw_spans):
        if kwargs:
            kwargs = {bind.keyword(kind, k): v for k, v in kwargs.items()}
        args, bound, from_defaults = self.resolve_args(kind.name, kind.param_names, pos, kwargs, frame, stmt,
                                                       kw_spans, f"`{kind.name}`")
        template = kind.template
        full = dict(template)
        full.update(args)
        if len(full) != len(template):  # an argument the table does not know stays out of `full`
            full = {k: full[k] for k in template}
        for name in kind.required:
            if full[name] is REQUIRED:
                p = kind.param_map[name]
                raise SlimError.single("E205", f"`{kind.name}` needs its `{p.name}` argument", stmt.span,
                                       [f"help: {p.name}: {p.doc}"] if p.doc else [])
        # The table's own defaults are valid by construction (tests/test_evaluate_fast.py checks them), so
        # only the arguments the layer or its `defaults` set are checked, in table order.
        param_map = kind.param_map
        for name, value in args.items():
            p = param_map.get(name)
            if p is None:
                continue
            if value is not None and not _type_ok(p.type, value):
                for q in kind.params:
                    if q.name in args:
                        self.check_type(kind, q, full[q.name], *_arg_where(q.name, kind, pos, stmt, kw_spans,
                                                                           from_defaults))
            if p.check and p.problem(value):
                check_constraint(kind, p, value, *_arg_where(name, kind, pos, stmt, kw_spans, from_defaults))
        if kind.inputs == "list":
            values = full["values"]
            inputs = [v.obj for v in values]
        elif kind.inputs == "none":
            inputs = []
        else:
            if x is None:
                raise SlimError.single("E230", f"`{kind.name}` has no input tensor here", stmt.span)
            inputs = [x.obj]
            other = full.get("other")
            if isinstance(other, Tensor):  # (`mul 0.5` multiplies by a number: an argument, not an input)
                inputs.append(other.obj)
        norm_params = None
        norm = full.get("normalizer")
        if isinstance(norm, Op):
            given = full.get("normalizer_params") or {}
            norm_kind = LAYERS.get(norm.name)
            if given and norm_kind is not None:
                self._check_normalizer_params(kind, norm_kind, given, pos, stmt, kw_spans, from_defaults)
            norm_params = {**frame.defaults.resolved(norm.name)[0], **given}
        self.budget.layer(stmt.span)
        call = LayerCall(kind, inputs, args, full, scope, None, stmt.span, norm_params, (bound, kw_spans, from_defaults))
        try:
            out = yield call  # built by _drive, outside the interpreter's frames
        except ShapeError as e:
            shapes = ", ".join(fmt_shape(self.backend.shape(t)) for t in inputs)
            notes = [f"note: input shape {shapes}"] if shapes else []
            made_at = getattr(self.backend, "made_at", None)
            if made_at is not None and len(inputs) > 1:
                # A join of mismatched tensors: say where each one was made, since the cause is
                # usually there, not at the join.
                labels = _input_labels(kind, stmt, len(inputs))
                notes = [f"note: {label} {fmt_shape(self.backend.shape(t))} {made_at(t)}"
                         for label, t in zip(labels, inputs)]
            raise SlimError.single("E301", f"{e}", stmt.span, notes) from None
        if kind.outputs == "list":
            return [Tensor(o) for o in out]
        out = Tensor(out)
        if kind.name in frame.collect:
            frame.model.end_points[self.backend.alias(out.obj)] = out
        return out

    def call_block(self, block: ast.Model, x, pos, kwargs, scope, frame: Frame, stmt: ast.Layer, kw_spans):
        params = [p.name for p in block.params]
        bound, _, _ = self.resolve_args(block.name, params, pos, kwargs, frame, stmt, kw_spans, f"block `{block.name}`")
        if block.inline and scope is not None:
            if "scope" not in params:
                raise SlimError.single("E231", f"inline block `{block.name}` takes no `as` name: it declares no "
                                       "`scope` parameter", stmt.as_name.span if stmt.as_name else stmt.span)
            bound["scope"] = scope
        env = self.bind_params(block, bound, stmt.span, skip_first=False, spans=kw_spans)
        env["inputs"] = x
        inner = Frame(env, x, frame.defaults, frame.collect, frame.model)
        budget = self.budget
        budget.enter(stmt.span, "block")
        # (the shape backend names the call a duplicate scope came from)
        calls = getattr(self.backend, "block_calls", None)
        if calls is not None:
            calls.append(stmt.span)
        if block.inline:
            try:
                yield from self.exec_body(block.body, inner)
            except _Stop as s:
                if s.whole_model:
                    raise
                inner.net = s.net
            except SlimError as e:
                raise _called_from(e, block, stmt) from None
            finally:
                budget.depth -= 1
                if calls is not None:
                    calls.pop()
            return inner.net
        with self.backend.variable_scope(scope, block.default_scope or block.name):
            try:
                yield from self.exec_body(block.body, inner)
            except _Stop as s:
                if s.whole_model:
                    raise
                inner.net = s.net
            except SlimError as e:
                raise _called_from(e, block, stmt) from None
            finally:
                budget.depth -= 1
                if calls is not None:
                    calls.pop()
            name = self.backend.scope_name()
        if block.name in frame.collect:
            frame.model.end_points[name] = inner.net
        return inner.net

    def call_model(self, model: ast.Model, x, pos, kwargs, scope, frame: Frame, stmt: ast.Layer, kw_spans):
        """A model used as a layer, as its tf_slim.nets function is called from Python: its own
        parameters, its own variable scope (`as NAME`, else its default), the caller's defaults
        (like a function under the caller's arg_scope; its `uses` is for building it on its own),
        its own `until`; its end points join the caller's."""
        names = [p.name for p in model.params[1:]]
        bound = bind.arguments(f"model `{model.name}`", names, pos, kwargs, stmt.span, kw_spans)
        if scope is not None and "scope" in names:
            bound["scope"] = scope
        env = self.bind_params(model, bound, stmt.span, skip_first=True, spans=kw_spans)
        if x is None:
            raise SlimError.single("E230", f"model `{model.name}` has no input tensor here", stmt.span)
        env[model.params[0].name] = x
        env["inputs"] = x
        run = ModelRun(end_points={})
        # (the caller's `collect` reaches it, as an arg_scope's outputs_collections reaches a function)
        inner = Frame(env, x, frame.defaults, frame.collect, run)
        if model.until is not None:
            run.until = self.eval(model.until, inner)
        if scope is None and "scope" in names:
            scope = env["scope"]
        default = model.default_scope or model.name
        opened = (contextlib.nullcontext() if model.inline and not scope else
                  self.backend.variable_scope(scope or default, default,
                                              reuse=env.get("reuse") if "reuse" in names else None))
        budget = self.budget
        budget.enter(stmt.span, "block")
        with opened:
            try:
                yield from self.exec_body(model.body, inner)
            except _Stop as s:  # its `return`, or its own `until` end point
                if not s.whole_model:
                    inner.net = s.net
            except SlimError as e:
                raise _called_from(e, model, stmt) from None
            finally:
                budget.depth -= 1
        if run.until is not None and not run.reached:
            raise SlimError.single("E402", f"unknown final end point {run.until!r}: no `endpoint` of "
                                   f"`{model.name}` has that name", model.until.span,
                                   [did_you_mean(str(run.until), [str(k) for k in run.end_points]),
                                    f"note: `{model.name}` called at {stmt.span.location()}"])
        out = run.result if run.reached else inner.net
        mine = frame.model
        for key, value in run.end_points.items():
            mine.end_points[key] = value
        if mine.until is not None and mine.until in run.end_points:
            mine.reached = True
            mine.result = run.end_points[mine.until]
            raise _Stop(whole_model=True)
        return out

    def _check_normalizer_params(self, kind, norm_kind, given: dict, pos, stmt, kw_spans, from_defaults):
        """normalizer_params=dict(decay=5): the normalizer's own constraints apply to its arguments.
        (Keys the table does not list, such as variables_collections, are passed through unchecked.)"""
        for k, v in given.items():
            q = norm_kind.param(k) if isinstance(k, str) else None
            if q is None or v is None:
                continue
            span, notes = _arg_where("normalizer_params", kind, pos, stmt, kw_spans, from_defaults)
            if not _type_ok(q.type, v):
                self.check_type(norm_kind, q, v, span, notes)
            problem = q.problem(v) if q.check else None
            if problem:
                raise SlimError.single("E233", f"`{q.name}` of `{norm_kind.name}` (in normalizer_params) {problem}",
                                       span, notes)

    def check_type(self, kind: LayerKind, p, value, span, notes=()):
        check_type(kind, p, value, span, notes)

    # ----------------------------------------------------------- defaults --
    def apply_defaults_spec(self, spec, defaults: Defaults, env: dict, frame: Frame | None = None) -> Defaults:
        frame = frame or Frame(dict(env), None, Defaults(), frozenset(), ModelRun({}))
        if isinstance(spec, ast.DefaultsRule):
            args = {}
            for kw in spec.kwargs:
                args[canonical_arg(spec.kinds, kw.name)] = (self.eval(kw.value, frame), Origin("defaults", kw.span, ""))
            return defaults.with_args(spec.kinds, args)
        d = self.program.defaults[spec.name]
        given = {}
        args = [self.eval(a, frame) for a in spec.args]
        names = [p.name for p in d.params]
        if len(args) > len(names):
            raise bind.too_many(f"defaults `{d.name}`", names, len(args), spec.span, spec.args)
        given.update(zip(names, args))
        for kw in spec.kwargs:
            if kw.name not in names:
                raise SlimError.single("E206", f"defaults `{d.name}` has no parameter `{kw.name}`", kw.span,
                                       [did_you_mean(kw.name, names)])
            given[kw.name] = self.eval(kw.value, frame)
        return self.apply_named_defaults(d, given, defaults)

    def apply_named_defaults(self, d: ast.DefaultsDef, given: dict, defaults: Defaults) -> Defaults:
        model = ast.Model(d.name, d.params, (), span=d.span)
        env = self.bind_params(model, given, d.span, skip_first=False)
        inner = Frame(env, None, Defaults(), frozenset(), ModelRun({}))
        for line in d.lines:
            defaults = self.apply_defaults_spec(line, defaults, env, inner)
        return defaults

    # -------------------------------------------------------- expressions --
    def scope_name(self, node, frame: Frame):
        if isinstance(node, ast.ScopePath):
            return node.path
        value = self.eval(node.expr, frame)
        if value is not None and not isinstance(value, str):
            raise SlimError.single("E223", f"a scope name must be a string, got {describe(value)}", node.span)
        return value

    def tensor_named(self, name: str, frame: Frame, span: Span):
        value = frame.env.get(name)
        if not isinstance(value, Tensor):
            notes = []
            if isinstance(value, list) and value and all(isinstance(v, Tensor) for v in value):
                notes = [f"help: `{name}` is a list of {len(value)} tensors: pick one, `let first = {name}[0]`"]
            raise SlimError.single("E224", f"`{name}` is not a tensor", span, notes)
        return value

    def truth(self, value, node):
        if isinstance(value, Tensor):
            raise SlimError.single("E225", "a tensor has no truth value; compare static shapes instead", node.span)
        return bool(value)

    def eval(self, node, frame: Frame):
        try:
            fn = self._eval_table.get(type(node))
            if fn is None:
                fn = self._eval_table[type(node)] = getattr(type(self), "eval_" + type(node).__name__)
            return fn(self, node, frame)
        except SlimError:
            raise
        except _Stop:
            raise
        except (TypeError, ValueError, ZeroDivisionError, IndexError, KeyError, OverflowError, AttributeError) as e:
            raise SlimError.single("E226", f"cannot evaluate this expression: {e}", node.span) from None
        except RecursionError:
            # Raised again by each enclosing eval until one has the stack to build the error.
            raise too_deep(node.span) from None

    def eval_Const(self, node, frame):
        return node.value

    def eval_Kernel(self, node, frame):
        return (node.height, node.width)

    def eval_Name(self, node, frame):
        name = node.id
        if name in frame.env:
            return frame.env[name]
        if name == "net":
            return frame.net
        if name == "depth_in":
            return self.backend.shape(frame.net.obj)[-1]
        if name in STRING_CONSTANTS:
            return STRING_CONSTANTS[name]
        if name in BUILTINS:
            b = BUILTINS[name]
            if b.callable:
                # `xavier` alone means `xavier()`: every initializer's arguments have defaults.
                if b.kind == "initializer":
                    return Op(name, ())
                raise SlimError.single("E227", f"`{name}` must be called with its arguments, e.g. `{name}(...)`", node.span)
            return Op(name)
        if name in PURE_FUNCTIONS or name in TENSOR_FUNCTIONS:
            return ("__function__", name)
        from .parser import size_hint, size_slip

        slip = size_slip(name, node.span)
        if slip is not None:
            raise SlimError.single("E201", *slip)
        raise SlimError.single("E201", f"undefined name `{name}`", node.span,
                               [size_hint(name, node.span) or did_you_mean(name, list(frame.env) + list(builtin_names()))])

    def eval_ListExpr(self, node, frame):
        return [self.eval(i, frame) for i in node.items]

    def eval_TupleExpr(self, node, frame):
        return tuple(self.eval(i, frame) for i in node.items)

    def eval_BinOp(self, node, frame):
        left, right = self.eval(node.left, frame), self.eval(node.right, frame)
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            raise SlimError.single("E228", "arithmetic on tensors is written as layers (`add other`)", node.span)
        if node.op == "+" and isinstance(left, str) != isinstance(right, str):
            raise SlimError.single("E226", f"cannot add {describe(left)} and {describe(right)}; use str(...)", node.span)
        limits.check_binop(node.op, left, right, node.span)
        value = limits.check_result(_BINOPS[node.op](left, right), node.span)
        self.budget.made(value, node.span)
        return value

    def eval_Compare(self, node, frame):
        left = self.eval(node.left, frame)
        for op, r in zip(node.ops, node.rights):
            right = self.eval(r, frame)
            if not _COMPARE[op](left, right):
                return False
            left = right
        return True

    def eval_BoolOp(self, node, frame):
        value = None
        for v in node.values:
            value = self.eval(v, frame)
            if node.op == "and" and not value:
                return value
            if node.op == "or" and value:
                return value
        return value

    def eval_Not(self, node, frame):
        return not self.truth(self.eval(node.operand, frame), node)

    def eval_Neg(self, node, frame):
        return -self.eval(node.operand, frame)

    def eval_CondExpr(self, node, frame):
        if self.truth(self.eval(node.test, frame), node.test):
            return self.eval(node.body, frame)
        return self.eval(node.orelse, frame)

    def eval_Index(self, node, frame):
        return self.eval(node.value, frame)[self.eval(node.index, frame)]

    def eval_Call(self, node, frame):
        if not isinstance(node.func, ast.Name):
            raise SlimError.single("E229", "only named functions can be called", node.span)
        name = node.func.id
        args = [self.eval(a, frame) for a in node.args]
        kwargs = {k.name: self.eval(k.value, frame) for k in node.kwargs}
        target = frame.env.get(name)
        if isinstance(target, Function):
            return self.call_function(target, args, kwargs, node)
        if name in BUILTINS and name not in frame.env:
            try:
                return make_op(name, tuple(args), kwargs)
            except KeyError as e:
                b = BUILTINS[name]
                raise SlimError.single("E206", f"`{name}` has no parameter `{e.args[0]}`", node.span,
                                       [did_you_mean(e.args[0], [p for p, _ in b.params])]) from None
            except TypeError as e:
                raise SlimError.single("E210", str(e), node.span) from None
        if name in PURE_FUNCTIONS and name not in frame.env:
            if name in _TO_INT and len(args) == 1 and isinstance(args[0], float) and not math.isfinite(args[0]):
                nan = math.isnan(args[0])
                what = "nan (not a number)" if nan else "-infinity" if args[0] < 0 else "infinity"
                raise SlimError.single("E932", f"cannot take `{name}` of {what}: it has no integer value",
                                       node.span, [_NOT_FINITE_HELP[nan]])
            if name == "range":
                limits.check_range(tuple(args), node.span)
            value = PURE_FUNCTIONS[name](*args, **kwargs)
            self.budget.made(value, node.span)
            return value
        if name == "shape":
            t = args[0] if args else frame.net
            return list(self.backend.shape(self._tensor_arg(t, node)))
        if name == "depth":
            t = args[0] if args else frame.net
            return self.backend.shape(self._tensor_arg(t, node))[-1]
        if name == "scope_name":
            return self.backend.scope_name()
        raise SlimError.single("E201", f"undefined function `{name}`", node.func.span,
                               [did_you_mean(name, list(PURE_FUNCTIONS) + list(BUILTINS) + list(TENSOR_FUNCTIONS)
                                             + [k for k, v in frame.env.items() if isinstance(v, Function)])])

    def _tensor_arg(self, t, node):
        if not isinstance(t, Tensor):
            raise SlimError.single("E224", "expected a tensor", node.span)
        return t.obj

    def call_function(self, fn: Function, args, kwargs, node):
        budget = self.budget
        budget.step(node.span)
        budget.enter(node.span, "function")
        try:
            return self._call_function(fn, args, kwargs, node)
        finally:
            budget.depth -= 1

    def _call_function(self, fn: Function, args, kwargs, node):
        params = fn.node.params
        env = dict(fn.env)
        names = [p.name for p in params]
        if len(args) > len(names):
            raise bind.too_many(f"`{fn.node.name}`", names, len(args), node.span, node.args)
        bound = dict(zip(names, args))
        bound.update(kwargs)
        frame = Frame(env, None, Defaults(), frozenset(), ModelRun({}))
        for p in params:
            if p.name in bound:
                env[p.name] = bound[p.name]
            elif p.default is not None:
                env[p.name] = self.eval(p.default, frame)
            else:
                raise SlimError.single("E207", f"`{fn.node.name}` needs its argument `{p.name}`", node.span)
        return self.eval(fn.node.value, frame)


def check_constraint(kind: LayerKind, p, value, span, notes=()):
    """E233 when `value` breaks parameter `p`'s constraint in the layer table (`conv 0 3x3`,
    `dropout keep_prob=1.5`); the checker uses it on literals and `defaults` values too."""
    problem = p.problem(value) if p.check else None
    if problem:
        raise SlimError.single("E233", f"`{p.name}` of `{kind.name}` {problem}", span, [*notes, p.hint(value)])


def check_type(kind: LayerKind, p, value, span, notes=()):
    """E210 when `value` is not of parameter `p`'s type (the checker uses it on literals too)."""
    t = p.type
    bad = None
    if value is None:
        return
    if t == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        bad = "an integer"
    elif t == "float" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        bad = "a number"
    elif t == "bool" and not isinstance(value, bool):
        bad = "true or false"
    elif t == "size2" and not (isinstance(value, int) and not isinstance(value, bool) or
                               isinstance(value, (list, tuple)) and len(value) == 2
                               and all(isinstance(v, int) for v in value)):
        bad = "an integer or a pair like 3x3"
    elif t == "padding" and value not in ("SAME", "VALID"):
        bad = "SAME or VALID"
    elif t in ("activation", "normalizer") and not (isinstance(value, Op) and value.kind == t):
        bad = f"an {t} such as {'relu' if t == 'activation' else 'batch_norm'} (or none)"
    elif t in ("initializer", "regularizer") and not (isinstance(value, Op) and value.kind == t):
        bad = f"an {t} such as {'zeros or truncated_normal(stddev=0.01)' if t == 'initializer' else 'l2(0.0005)'}"
    elif t == "tensor" and not isinstance(value, Tensor):
        bad = "a tensor name"
    elif t == "tensor_or_number" and not (isinstance(value, (Tensor, int, float)) and not isinstance(value, bool)):
        bad = "a tensor name or a number"
    elif t == "tensors" and not (isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value)):
        bad = "a list of tensor names like [branch_0, branch_1]"
    elif t == "dict" and not isinstance(value, dict):
        bad = "dict(...)"
    elif t == "ints" and not isinstance(value, (list, tuple, int)):
        bad = "a list of integers"
    if bad:
        notes = list(notes)
        if isinstance(value, str) and t in ENUMS:
            notes.append(did_you_mean_case(value, ENUMS[t]))
        raise SlimError.single("E210", f"`{p.name}` of `{kind.name}` must be {bad}, got {describe(value)}", span,
                               notes)


def _unnamed_parts(stmt) -> SlimError:
    """E238: a layer that makes a list of tensors (split) used where one tensor must come out."""
    return SlimError.single(
        "E238", f"`{stmt.kind}` makes a list of tensors, not one: name it and pick a part", stmt.span,
        [f"help: `parts = {stmt.kind} ...`, then `let first = parts[0]` and `conv ... from first`, or "
         f"`concat parts`; `endpoint \"name\" from first` records a part"])


def too_deep(span) -> SlimError:
    """E943 when elaboration reaches Python's own recursion limit (see run_model)."""
    return SlimError.single("E943", "blocks, functions and expressions nest too deeply here to elaborate", span,
                            ["note: each kind of nesting has its own limit (docs/language.md, Limits); "
                             "together they still exceed what Python can follow"])


def _input_labels(kind: LayerKind, stmt, n: int) -> list:
    """How to name each input tensor of a join in a note: `the current tensor`, `a`, ..."""
    def text(e):
        return f"`{e.id}`" if isinstance(e, ast.Name) else None

    if kind.inputs == "list":
        arg = stmt.args[0] if stmt.args else next((k.value for k in stmt.kwargs if k.name == "values"), None)
        items = list(arg.items) if isinstance(arg, (ast.ListExpr, ast.TupleExpr)) else []
        return [(text(items[i]) if i < len(items) else None) or f"value {i + 1}" for i in range(n)]
    other = stmt.args[0] if stmt.args else next((k.value for k in stmt.kwargs if k.name == "other"), None)
    return ["the current tensor"] + [(text(other) if other is not None else None) or "the other tensor"] * (n - 1)


def _called_from(e: SlimError, block, stmt) -> SlimError:
    """An error inside a block also says which call of the block it happened in (one note per
    level, innermost first), since the block's own line is the same for every call."""
    from .records import replace

    d = e.diagnostics[0]
    depth = sum(1 for n in d.notes if n.startswith(_IN_BLOCK))
    if depth > _IN_BLOCK_MAX:
        return e
    note = (f"{_IN_BLOCK}`{block.name}` called at {stmt.span.location()}" if depth < _IN_BLOCK_MAX
            else f"{_IN_BLOCK}calls further out (not listed)")
    return SlimError([replace(d, notes=d.notes + (note,))] + e.diagnostics[1:])


_IN_BLOCK = "note: in block "
_IN_BLOCK_MAX = 8  # a chain of 500 nested blocks lists its innermost calls, not all 500


def _arg_where(name: str, kind: LayerKind, pos: tuple, stmt, kw_spans, from_defaults) -> tuple:
    """(span, notes) for an error about argument `name` of a layer: the keyword or positional
    argument that set it, or the `defaults` line it came from (mentioning the layer)."""
    if name in kw_spans:
        return kw_spans[name], []
    for k, span in kw_spans.items():  # written with TF-Slim's spelling (activation_fn=...)
        p = kind.param(k)
        if p is not None and p.name == name:
            return span, []
    names = kind.param_names
    if name in names and names.index(name) < len(pos):
        i = names.index(name)
        # (in a stack, `fc [32, -4]`, the statement's one argument holds every layer's values)
        arg = stmt.args[i] if len(stmt.args) == len(pos) else (stmt.args[0] if stmt.args else None)
        return (arg.span if arg is not None else stmt.span), []
    origin = from_defaults.get(name)
    if origin is not None and origin.span is not None:
        return origin.span, [f"note: set by `defaults` for `{kind.name}`, used by the layer at {stmt.span.location()}"]
    return stmt.span, []


def did_you_mean_case(word: str, candidates) -> str:
    """A did-you-mean for a word that differs from a candidate only by case (`same` -> `SAME`)."""
    for c in candidates:
        if c.lower() == str(word).lower() and c != word:
            return f"help: did you mean `{c}`?"
    return ""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_size2(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool) or isinstance(v, (list, tuple)) and len(v) == 2
            and all(isinstance(i, int) for i in v))


_TYPE_OK = {
    # What check_type accepts, as a yes/no per type (check_type itself words the error).
    "int": _is_int,
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "size2": _is_size2,
    "padding": lambda v: v in ("SAME", "VALID"),
    "activation": lambda v: isinstance(v, Op) and v.kind == "activation",
    "normalizer": lambda v: isinstance(v, Op) and v.kind == "normalizer",
    "initializer": lambda v: isinstance(v, Op) and v.kind == "initializer",
    "regularizer": lambda v: isinstance(v, Op) and v.kind == "regularizer",
    "tensor": lambda v: isinstance(v, Tensor),
    "tensor_or_number": lambda v: isinstance(v, (Tensor, int, float)) and not isinstance(v, bool),
    "tensors": lambda v: isinstance(v, (list, tuple)) and all(isinstance(i, Tensor) for i in v),
    "dict": lambda v: isinstance(v, dict),
    "ints": lambda v: isinstance(v, (list, tuple, int)),
}


def _type_ok(t: str, value) -> bool:
    ok = _TYPE_OK.get(t)
    return True if ok is None else ok(value)


_EXEC_TABLES: dict = {}  # Evaluator class -> {node type: exec_ method}
_EVAL_TABLES: dict = {}  # Evaluator class -> {node type: eval_ method}


def describe(v) -> str:
    """A value in an error message (values.show), an Op with its kind: "`relu` (activation)"."""
    if isinstance(v, Op):
        return f"`{v}` ({v.kind})"
    return show(v)
