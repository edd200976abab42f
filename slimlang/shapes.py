"""Shape backend: elaborate a model without TensorFlow.

It mirrors what tf_slim does with names (variable scopes, slim's default
scope names and their `_1`, `_2` suffixes, slim.repeat / slim.stack naming)
and computes each layer's static output shape and parameter count from the
layer table.  `summary`, `check`, `explain` and `graph` are built on it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from . import limits
from .diagnostics import SlimError, Span
from .evaluate import Evaluator, LayerCall
from .layers import LAYERS, ShapeError, fmt_shape
from .values import Op


@dataclass(frozen=True, slots=True)
class ShapeTensor:
    shape: tuple
    name: str  # the scope name of the layer that made it
    node: int  # index of the producing row, -1 for the input


@dataclass
class Row:
    """One layer of a summary."""

    name: str
    kind: str
    shape: tuple
    trainable: int
    non_trainable: int
    inputs: tuple  # indices of producing rows (-1: model input)
    call: LayerCall = field(repr=False)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


class ShapeBackend:
    def __init__(self):
        self.stack: list[str] = []  # variable scope names (full)
        self.counts: dict[str, int] = {}
        self.rows: list[Row] = []
        # full name -> lowest suffix that may still be free.  Counts only grow,
        # so the first free `_i` never moves down: starting the search there
        # keeps `_unique` O(1) amortised instead of O(n) per call (n layers
        # sharing a default name made elaboration quadratic).
        self._next_free: dict[str, int] = {}
        # full scope name -> the call of the layer that holds it, for layers whose scope TF cannot
        # share: an explicit `as` name, or a layer that creates variables.
        self._owner: dict[str, tuple] = {}  # full scope name -> (LayerCall, block calls it was made in)
        # The spans of the block calls being elaborated, outermost first (the evaluator keeps it).
        self.block_calls: list = []
        # TensorFlow's variable scopes, where variables are made (the owners above are keyed by
        # them).  They are named as the scopes above are, but a scope that is left forgets the
        # default names used inside it (VariableScopeStore.close_variable_subscopes): `scope a
        # { conv }` twice makes a/Conv/weights twice, which TensorFlow refuses, where the names
        # above (name scopes, which TF never reuses) say a/Conv and a/Conv_1.
        self._vstack: list[str] = []
        self._vcounts: dict[str, int] = {}
        self._vlog: list[str] = []  # every key of _vcounts counted, in order (to forget a scope's)
        self._vnext: dict[str, int] = {}  # as _next_free, until the scope holding the name is left
        self.parameters = 0  # so far, against limits.MAX_PARAMETERS
        # Set when a layer refused the model's input and would take it with one leading (batch)
        # dimension more or fewer: see InputRankError.
        self.rank_mismatch: tuple | None = None  # (batch, call, needs)

    # -- scopes
    def _prefix(self) -> str:
        return self.stack[-1] if self.stack else ""

    def _full(self, name: str) -> str:
        prefix = self._prefix()
        return f"{prefix}/{name}" if prefix else name

    def _unique(self, default: str) -> str:
        return self._unique_full(default)[0]

    def _unique_full(self, default: str) -> tuple:
        """(slim's unique name for `default` in the current scope, its full name)."""
        stack = self.stack
        full = f"{stack[-1]}/{default}" if stack else default
        counts = self.counts
        if not counts.get(full, 0):
            return default, full
        i = self._next_free.get(full, 1)
        while counts.get(f"{full}_{i}", 0):
            i += 1
        self._next_free[full] = i
        return f"{default}_{i}", f"{full}_{i}"

    @contextlib.contextmanager
    def variable_scope(self, name, default_name, reuse=None):
        base = name if name is not None else self._unique(default_name)
        full = self._full(base)
        self.counts[full] = self.counts.get(full, 0) + 1
        self.stack.append(full)
        self._vstack.append(self._var_scope(name, default_name))
        mark = len(self._vlog)
        try:
            yield full
        finally:
            self.stack.pop()
            self._vstack.pop()
            vcounts, vnext = self._vcounts, self._vnext
            for key in self._vlog[mark:]:
                vcounts[key] = 0
                vnext.pop(key, None)
            del self._vlog[mark:]

    def _var_scope(self, name, default: str) -> str:
        """The full name of the variable scope TF opens for `name` (or a unique `default`), counted."""
        prefix = self._vstack[-1] if self._vstack else ""
        if name is not None:
            full = f"{prefix}/{name}" if prefix else name
        else:
            base = f"{prefix}/{default}" if prefix else default
            full = base
            if self._vcounts.get(base, 0):
                i = self._vnext.get(base, 1)
                while self._vcounts.get(f"{base}_{i}", 0):
                    i += 1
                self._vnext[base] = i
                full = f"{base}_{i}"
        self._vcounts[full] = self._vcounts.get(full, 0) + 1
        self._vlog.append(full)
        return full

    def scope_name(self) -> str:
        return self._prefix()

    # -- tensors
    def input(self, shape) -> ShapeTensor:
        return ShapeTensor(tuple(shape), "inputs", -1)

    def shape(self, t: ShapeTensor) -> tuple:
        return t.shape

    def alias(self, t: ShapeTensor) -> str:
        return t.name

    def normalizer_args(self, name, params):
        return params

    def made_at(self, t: ShapeTensor) -> str:
        """Which statement made tensor `t`, for notes on errors that join tensors."""
        if t.node < 0:
            return "is the model's input"
        call = self.rows[t.node].call
        return f"was made by the `{call.kind.name}` at {call.span.location()}"

    def layer(self, call: LayerCall) -> ShapeTensor:
        kind = call.kind
        inputs = call.inputs
        shapes = [t.shape for t in inputs]
        try:
            out = kind.shape(shapes, call.full)
            out = [tuple(o) for o in out] if kind.outputs == "list" else tuple(out)
        except ShapeError as e:
            if "rank" in str(e):  # "conv expects a rank-4 input", "fc expects an input of rank 2 or more"
                self.rank_mismatch = _input_rank_mismatch(call, shapes)
            raise
        # (the count rules only read the arguments; `call.full` is theirs to see, not to keep)
        trainable, non_trainable = kind.count(shapes, call.full, _CountCtx(call.normalizer_params))
        self.parameters += trainable + non_trainable
        if self.parameters > limits.MAX_PARAMETERS:
            limits.too_many_parameters(self.parameters, call.span)
        # Name scopes (plain TF ops) and variable scopes (slim layers) are
        # uniquified alike here; they differ only when one graph holds the
        # same model twice, which a summary never does.
        if call.scope is not None:
            full = self._full(call.scope)
        else:
            full = self._unique_full(kind.default_scope)[1]
        # A slim layer opens a variable scope (plain TF ops a name scope only); the variables of a
        # layer that makes them are there.
        where = full
        if kind.scope_kw == "scope" or kind.creates_variables:
            where = self._var_scope(call.scope, kind.default_scope)
        if call.scope is not None or kind.creates_variables:
            first = self._owner.get(where)
            if first is not None and not call.full.get("reuse"):
                raise _duplicate_scope(where, call, *first[:2], tuple(self.block_calls), *first[2:])
            self._owner[where] = (call, tuple(self.block_calls))
        norm = call.full.get("normalizer")
        if isinstance(norm, Op) and norm.name in LAYERS:
            # The normalizer opens its own scope inside the layer's (Conv/BatchNorm) and makes its
            # variables there: a later `batch_norm as BatchNorm` in that scope would collide with it.
            inner = f"{where}/{LAYERS[norm.name].default_scope}"
            first = self._owner.get(inner)
            if first is not None and not call.full.get("reuse"):
                raise duplicate_scope(inner, call.kind, call.span, first[0].kind, first[0].span)
            self._owner[inner] = (call, tuple(self.block_calls), f" (its `{norm.name}` normalizer)")
        counts = self.counts
        counts[full] = counts.get(full, 0) + 1
        rows = self.rows
        sources = tuple([t.node for t in inputs])
        if kind.outputs == "list":  # a row per part, named as TensorFlow names the op's outputs: split:0, split:1
            parts = []
            for i, shape in enumerate(out):
                rows.append(Row(f"{full}:{i}", kind.name, shape, trainable if i == 0 else 0,
                                non_trainable if i == 0 else 0, sources, call))
                parts.append(ShapeTensor(shape, f"{full}:{i}", len(rows) - 1))
            return parts
        rows.append(Row(full, kind.name, out, trainable, non_trainable, sources, call))
        return ShapeTensor(out, full, len(rows) - 1)


def _duplicate_scope(full: str, call: LayerCall, first: LayerCall, first_calls: tuple, calls: tuple,
                     via: str = "") -> SlimError:
    """Two layers under one scope name: TF-Slim would fail ("Variable .../weights already exists")
    when they create variables, or silently rename the second (`stem_1`) when they do not.
    `first_calls` and `calls` are the block calls each was made in (spans, outermost first)."""
    # A default name that collides was chosen again in a scope entered a second time by name.
    reopened = ("help: a scope entered again starts its default names again, as TensorFlow's variable scopes do: "
                "give the layers `as` names, or enter the scope under another name") if call.scope is None else ""
    if first.span == call.span:
        # One statement twice: two calls of its block under one `as` name, or two passes of a loop.
        earlier = next((a for a, b in zip(first_calls, calls) if a != b), None)
        where = (f"in the call of its block at {earlier.location()}" if earlier is not None
                 else "in an earlier pass of its loop")
        return SlimError.single("E235", f"scope `{full}` is used by two layers: {_consequence(call.kind, first.kind)}",
                                call.span,
                                [f"note: first used by this same statement, {where}",
                                 reopened or "help: give each call its own `as` name, or leave `as` out so each "
                                 "gets a unique default name"])
    return duplicate_scope(full, call.kind, call.span, first.kind, first.span, via, reopened)


def _consequence(kind, first_kind) -> str:
    return ("both would create their variables there, which TensorFlow refuses"
            if kind.creates_variables and first_kind.creates_variables
            else "TensorFlow would silently rename the second one")


def duplicate_scope(full: str, kind, span: Span, first_kind, first_span: Span, via: str = "",
                    help: str = "") -> SlimError:
    """E235 at the layer `kind` at `span` whose scope `full` the `first_kind` at `first_span` holds
    (`via` its normalizer, say); the shape backend's check, and the checker's for models it does
    not elaborate."""
    base = full.rsplit("/", 1)[-1]
    makes = kind.creates_variables and first_kind.creates_variables
    return SlimError.single("E235", f"scope `{full}` is used by two layers: {_consequence(kind, first_kind)}", span,
                            [f"note: first used by the `{first_kind.name}`{via} at {first_span.location()}",
                             help or f"help: give one of them another name, e.g. `as {base}_2`, or pass `reuse=true` "
                             "to share the first one's variables" if makes else
                             f"help: give one of them another name, e.g. `as {base}_2`"])


class InputRankError(SlimError):
    """A layer's shape error on the model's input that one leading dimension more (`batch="missing"`)
    or fewer (`batch="extra"`) would avoid: a batch dimension left out of --input-shape, or written
    into a model's declared shape, which is one example's.  `call` is the layer that refused it and
    `needs` the input shape it would have taken."""

    def __init__(self, diagnostics, batch: str, call: LayerCall, needs: tuple):
        super().__init__(diagnostics)
        self.batch = batch
        self.call = call
        self.needs = needs

    def __reduce__(self):
        return (InputRankError, (self.diagnostics, self.batch, self.call, self.needs))


def _input_rank_mismatch(call: LayerCall, shapes: list) -> tuple | None:
    """(batch, call, needs) for InputRankError when the layer `call` takes the model's input alone
    and its shape rule accepts that input with a leading dimension added ("missing") or dropped
    ("extra"), else None."""
    if len(call.inputs) != 1 or call.inputs[0].node != -1:
        return None
    (shape,) = shapes
    for batch, other in (("missing", (1,) + tuple(shape)), ("extra", tuple(shape[1:]))):
        if not other:
            continue
        try:
            call.kind.shape([other], call.full)
        except (ShapeError, ArithmeticError, TypeError, ValueError, IndexError):
            continue
        return batch, call, other
    return None


class _CountCtx:
    """What a layer's parameter-count rule may ask of the backend (one per layer; not a class per call)."""

    __slots__ = ("params",)

    def __init__(self, normalizer_params):
        self.params = normalizer_params

    def normalizer_args(self, name, params):
        return self.params or params


@dataclass
class Summary:
    model: str
    input_shape: tuple
    rows: list
    output_shape: tuple
    end_points: dict  # name -> shape

    @property
    def total(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable(self) -> int:
        return sum(r.trainable for r in self.rows)

    @property
    def non_trainable(self) -> int:
        return sum(r.non_trainable for r in self.rows)

    def render(self) -> str:
        headers = ("Layer (scope)", "Kind", "Output shape", "Param #")
        shape_text = {}  # most layers share a handful of shapes: format each once
        body = []
        for r in self.rows:
            st = shape_text.get(r.shape)
            if st is None:
                st = shape_text[r.shape] = fmt_shape(r.shape)
            body.append((r.name, r.kind, st, f"{r.trainable + r.non_trainable:,}"))
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(headers)]
        line = "  ".join("{:<%d}" % w for w in widths[:3]) + "  {:>%d}" % widths[3]
        rule = "=" * (sum(widths) + 6)
        out = [f'Model: "{self.model}"   input {fmt_shape(self.input_shape)}', rule, line.format(*headers), rule]
        fmt = line.format
        out += [fmt(*row) for row in body]
        out += [rule, f"Total params: {self.total:,}", f"Trainable params: {self.trainable:,}",
                f"Non-trainable params: {self.non_trainable:,}", f"Output shape: {fmt_shape(self.output_shape)}"]
        if self.end_points:
            out.append(f"End points: {len(self.end_points)}")
        return "\n".join(out)




def summarize_model(program, model: str, input_shape, params: dict | None = None, span: Span | None = None) -> Summary:
    if not params:  # the check already elaborated this model at this shape (see checker.Program.summaries)
        done = getattr(program, "summaries", {}).get((model, tuple(input_shape)))
        if done is not None:
            return done
    backend = ShapeBackend()
    ev = Evaluator(program, backend)
    try:
        net, end_points = ev.run_model(model, backend.input(input_shape), params or {}, call_span=span)
    except SlimError as e:
        m = backend.rank_mismatch
        if m is None or type(e) is not SlimError or e.first.code != "E301" or e.first.span != m[1].span:
            raise
        raise InputRankError(e.diagnostics, *m) from None
    return Summary(model, tuple(input_shape), backend.rows, net.shape, {k: v.shape for k, v in end_points.items()})
