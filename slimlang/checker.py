"""Check stage: AST -> Program (the checked IR), with every static error.

Static checks, all collected before raising once:
- duplicate models, blocks, defaults, train sections and constants;
- unknown layer kinds, arguments, defaults blocks and names, with did-you-mean;
- `defaults` rules naming kinds or arguments that do not exist;
- recursion between blocks;
- misuse of `inline`, `until`, `collect`.
Then every model whose input shape is declared (`inputs: [224, 224, 3]`) is
elaborated once on the shape backend with its default parameters, which
catches shape errors (kernel larger than its input, concat or add of
mismatched shapes, ...) before TensorFlow is ever imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast, bind
from .diagnostics import Collector, SlimError, Span, did_you_mean
from .evaluate import (PURE_FUNCTIONS, TENSOR_FUNCTIONS, _type_ok, builtin_names, check_constraint, check_type,
                       did_you_mean_case)
from .layers import ENUMS, LAYERS, canonical_arg
from .parser import parse, size_hint, size_slip
from .values import BUILTINS, STRING_CONSTANTS, show

# Words that are values, never layers: `x = none` is a layer argument that lost its line.
_VALUE_WORDS = frozenset(BUILTINS) | frozenset(STRING_CONSTANTS) | {"none", "true", "false"}


@dataclass
class Program:
    """The checked IR: a module's definitions by name, ready to elaborate or emit."""

    module: ast.Module
    source_name: str
    models: dict = field(default_factory=dict)  # name -> ast.Model (models only)
    blocks: dict = field(default_factory=dict)  # name -> ast.Model (is_block)
    defaults: dict = field(default_factory=dict)  # name -> ast.DefaultsDef
    trains: list = field(default_factory=list)  # ast.Train
    globals: dict = field(default_factory=dict)  # top-level `let` values
    train_specs: list = field(default_factory=list)  # trainspec.TrainSpec, when checked
    deadline: float | None = field(default=None, repr=False, compare=False)  # time.monotonic() limit
    # (model, input shape with batch) -> shapes.Summary at default parameters, from the check's own
    # elaboration: `summary` and `build --emit summary` reuse it instead of elaborating again.
    summaries: dict = field(default_factory=dict, repr=False, compare=False)
    # id(layer statement) -> the forms (bind.py) elaboration built it as; the emitter follows them
    forms: dict = field(default_factory=dict, repr=False, compare=False)
    # the definitions imports bring in (imports.py), before the file's own in evaluation order
    imported: tuple = ()

    def input_shape(self, model_name: str):
        """The declared input shape of a model (without batch), or None."""
        model = self.models[model_name]
        if not model.params:
            return None
        t = model.params[0].type
        if not isinstance(t, ast.ListExpr):
            return None
        sizes = []
        for i in t.items:
            # a number, `none`, or a top-level constant (`let S = 8` ... `inputs: [S, S, 1]`)
            v = i.value if isinstance(i, ast.Const) else self.globals.get(i.id) if isinstance(i, ast.Name) else ""
            if not (v is None or type(v) is int):
                return None
            sizes.append(v)
        return tuple(sizes)


def check_text(text: str, filename: str = "<string>", *, elaborate: bool = True,
               deadline: float | None = None, imports=None) -> Program:
    """Parse and check .slim source; raises SlimError with every problem found.

    `deadline` is a time.monotonic() value after which elaboration stops with a located error
    (the language server checks every edit under one)."""
    return check_module(parse(text, filename), filename, elaborate=elaborate, deadline=deadline, imports=imports)


def check_file(path, *, elaborate: bool = True, deadline: float | None = None) -> Program:
    return check_text(read_source(path), str(path), elaborate=elaborate, deadline=deadline)


def read_source(path) -> str:
    """The text of a .slim file: UTF-8, a leading byte-order mark dropped.

    A file that cannot be read is E900; one that is not UTF-8 is E901, located at its first bad
    byte (see diagnostics.decode_error)."""
    from pathlib import Path

    from .diagnostics import decode_error

    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise SlimError.single("E900", f"no such file: {p}") from None
    except IsADirectoryError:
        raise SlimError.single("E900", f"cannot read {p}: it is a directory") from None
    except OSError as e:
        raise SlimError.single("E900", f"cannot read {p}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise decode_error(str(path), data, e) from None


def check_module(module: ast.Module, filename: str, *, elaborate: bool = True,
                 deadline: float | None = None, imports=None) -> Program:
    """`imports`: the imports.Context of the file importing this one (None for the file checked)."""
    from .imports import expand

    c = Collector()
    _check_literals(module, c)
    c.raise_if_any()  # an overflowed number would make the errors that follow from it noise
    prog = Program(module, filename, deadline=deadline)
    prog.imported = expand(module, filename, c, imports, check_module, read_source)
    c.raise_if_any()  # (names a failed import would have brought would only be reported as undefined)
    _collect_definitions(module, prog, c)
    checker = _Static(prog, c)
    for item in module.items:  # (imported definitions were checked in their own file)
        checker.item(item)
    _check_recursion(prog, c)
    if imports is None:  # (an imported file's train sections are not imported, nor checked)
        _check_trains(prog, c)
    _check_scopes(prog, c, elaborate)
    c.raise_if_any()
    if elaborate:
        _elaborate_declared(prog, c)
        c.raise_if_any()
    return prog


def _check_literals(module: ast.Module, c: Collector):
    """E931 for a number literal too large for a float: Python reads `1e309` as infinity."""
    import math
    import re

    source = module.span.source
    # Only a literal with a three-digit exponent or 309 digits can overflow: one regex search over
    # the text spares the walk of every node in nearly every file.
    if source is not None and not (re.search(r"[eE]\+?[0-9]{3}", source.text) or re.search("[0-9]{309}", source.text)):
        return
    for node in ast.nodes(module):
        if type(node) is ast.Const and type(node.value) is float and math.isinf(node.value):
            written = node.span.source.line(node.span.line)[node.span.col - 1:node.span.end_col - 1] \
                if node.span.source is not None and node.span.end_line == node.span.line else ""
            c.error("E931", f"the number {f'`{written}` ' if written else ''}is too large: floats stop at about "
                    "1.8e308, so it would be infinity", node.span,
                    ["help: write a smaller number; no layer argument or setting can use infinity"])


def _collect_definitions(module: ast.Module, prog: Program, c: Collector):
    seen: dict[str, Span] = {}
    from .evaluate import Defaults, Evaluator, Frame, Function, ModelRun
    from .shapes import ShapeBackend

    partials = []
    for item in (*prog.imported, *module.items):
        if isinstance(item, ast.Train):
            prog.trains.append(item)
            continue
        if isinstance(item, ast.Import):
            continue
        name = item.name
        span = getattr(item, "name_span", None) or item.span
        if name in seen:
            c.error("E101", f"`{name}` is defined twice", span, [f"note: first defined at {seen[name].location()}"])
            continue
        seen[name] = span
        if name in LAYERS:
            c.error("E102", f"`{name}` is a built-in layer; choose another name", span)
        if isinstance(item, ast.Model):
            if item.is_block:
                prog.blocks[name] = item
            else:
                prog.models[name] = item
        elif isinstance(item, ast.Partial):
            partials.append(item)
        elif isinstance(item, ast.DefaultsDef):
            prog.defaults[name] = item
        elif isinstance(item, ast.Let):
            try:
                ev = Evaluator(prog, ShapeBackend())
                prog.globals[name] = ev.eval(item.value, Frame(dict(prog.globals), None, Defaults(), frozenset(),
                                                               ModelRun({})))
            except SlimError as e:
                c.extend(e)
        elif isinstance(item, ast.LetFunction):
            # Shares the globals dict, so constants defined later in the file are visible when it is called.
            prog.globals[name] = Function(item, prog.globals)
    _resolve_partials(partials, prog, c)


def _resolve_partials(partials, prog: Program, c: Collector):
    """`model mobilenet_v1_075 = mobilenet_v1(depth_multiplier=0.75)`: the target's definition with
    other parameter defaults, under the target's default scope name (functools.partial keeps the
    function, so its scope too).  A partial may name another partial, defined before or after it."""
    pending = {p.name: p for p in partials}
    state: dict = {}  # name -> "doing" | "done"
    stack: list = []

    def resolve(p: ast.Partial):
        state[p.name] = "doing"
        stack.append(p.name)
        try:
            derive(p)
        finally:
            stack.pop()
            state[p.name] = "done"

    def derive(p: ast.Partial):
        what = "block" if p.is_block else "model"
        table, other = (prog.blocks, prog.models) if p.is_block else (prog.models, prog.blocks)
        target = p.target
        if target.name in pending and target.name not in table:
            if state.get(target.name) == "doing":
                loop = stack[stack.index(target.name):] + [target.name]
                c.error("E125", f"partial {what}s defined by each other in a cycle: " + " -> ".join(loop),
                        target.span, ["help: one of them must name a model or block written out in full"])
                return
            if target.name not in state:
                resolve(pending[target.name])
        node = table.get(target.name)
        if node is None:
            if target.name in pending:
                return  # (its own error is reported)
            if target.name in other:
                word = "model" if p.is_block else "block"
                notes = [f"help: `{target.name}` is a {word}: write `{word} {p.name} = {target.name}(...)`"]
            else:
                notes = [did_you_mean(target.name, list(table))]
            c.error("E124", f"`{p.name}` is a partial of an unknown {what} `{target.name}`", target.span, notes)
            return
        params = node.params if p.is_block else node.params[1:]
        names = [q.name for q in params]
        ok = True
        if target.args:
            c.error("E203", f"a partial {what} sets parameters by name: `{p.name} = {target.name}(name=value)`",
                    target.args[0].span, [f"note: the parameters of `{target.name}` are {', '.join(names)}"
                                          if names else f"note: `{target.name}` has no parameters to set"])
            ok = False
        seen = {}
        for kw in target.kwargs:
            if kw.name not in names:
                first = node.params[0].name if node.params and not p.is_block else None
                c.error("E206", f"{what} `{target.name}` has no parameter `{kw.name}`", kw.span,
                        [f"note: `{first}` is the input: the partial's caller gives it" if kw.name == first
                         else did_you_mean(kw.name, names)])
                ok = False
            elif kw.name in seen:
                c.error("E204", f"`{kw.name}` is given twice", kw.span,
                        [f"note: first given at {seen[kw.name].span.location()}"])
                ok = False
            seen[kw.name] = kw
        if not ok:
            return
        new = tuple(ast.replace(q, default=seen[q.name].value) if q.name in seen else q for q in node.params)
        table[p.name] = ast.replace(node, name=p.name, params=new, span=p.span, name_span=p.name_span,
                                    default_scope=node.default_scope or node.name)

    for p in partials:
        if p.name not in state and p.name not in prog.blocks and p.name not in prog.models:
            resolve(p)


class _Static:
    """Name resolution over every statement, executed or not."""

    def __init__(self, prog: Program, c: Collector):
        self.prog = prog
        self.c = c
        self.known_globals = set(prog.globals) | builtin_names()
        self.tensors: set = set()
        self.own: set = set()
        self.defaults_of: dict = {}  # model parameter -> its literal default (see _literal_defaults)
        self.guarded = 0  # how many `if` and `for` bodies the statement checked is in

    def params(self, params, what: str):
        """A parameter declared twice (`model m(inputs, k = 1, k = 2)`): the last would silently win."""
        seen: dict[str, ast.Param] = {}
        for p in params:
            if p.name in seen:
                self.c.error("E234", f"parameter `{p.name}` of {what} is declared twice", p.span,
                             [f"note: first declared at {seen[p.name].span.location()}",
                              "help: remove one, or rename it"])
            else:
                seen[p.name] = p

    def input_shape(self, item: ast.Model):
        """`inputs: [224, 224, 3]`: every declared size is a positive integer (or `none` for any)."""
        t = item.params[0].type if item.params else None
        if not isinstance(t, ast.ListExpr):
            return
        # Names in the shape (`[None, 8, 8, 1]`, `[size, size, 3]`) are module constants or builtins:
        # the parameters come after it.
        sizes = _Candidates(["none"], "a size is a positive integer or")
        for i in t.items:
            self.expr(i, self.known_globals, sizes)
        values = []
        for i in t.items:
            if isinstance(i, ast.Neg) and isinstance(i.operand, ast.Const) and type(i.operand.value) is int:
                values.append(-i.operand.value)
            elif isinstance(i, ast.Const):
                values.append(i.value)
            elif isinstance(i, ast.Name) and i.id in self.prog.globals:
                values.append(self.prog.globals[i.id])  # a top-level constant, as Program.input_shape reads it
            else:
                return  # an expression: the evaluator reads it
        bad = [v for v in values if v is not None and not (type(v) is int and v > 0)]
        if bad:
            shown = "[" + ", ".join("none" if v is None else repr(v) for v in values) + "]"
            self.c.error("E236", f"input sizes must be positive integers (or `none` for any size), got {shown}",
                         t.span, ["note: the shape is one example's, without the batch dimension, "
                                  "e.g. `inputs: [224, 224, 3]`"])

    def item(self, item):
        if isinstance(item, (ast.Model, ast.DefaultsDef, ast.LetFunction)):
            what = ("block" if getattr(item, "is_block", False) else "model" if isinstance(item, ast.Model)
                    else "defaults" if isinstance(item, ast.DefaultsDef) else "function")
            self.params(item.params, f"{what} `{item.name}`")
        self.tensors = {"inputs", "net"}  # names bound to tensors so far in this item (for suggestions)
        # names the user bound (a parameter `depth` is the user's, though a builtin has that name)
        self.own = set(self.prog.globals) | {p.name for p in getattr(item, "params", ())}
        self.defaults_of = _literal_defaults(item)
        if isinstance(item, ast.Model):
            if not item.is_block:
                self.input_shape(item)
                if item.params:
                    self.tensors.add(item.params[0].name)
            scope = set(self.known_globals)
            for p in item.params:
                if p.default is not None:
                    self.expr(p.default, scope)
                scope.add(p.name)
            if not item.is_block and not item.params:
                self.c.error("E110", f"model `{item.name}` needs an input parameter first, like `(inputs, ...)`",
                             item.name_span)
            if item.is_block and item.until is not None:
                self.c.error("E111", "`until` belongs on models, not blocks", item.until.span)
            if item.uses is not None:
                self.call_ref(item.uses, scope)
            if item.until is not None:
                self.expr(item.until, scope)
            self.body(item.body, scope)
        elif isinstance(item, ast.DefaultsDef):
            scope = set(self.known_globals)
            for p in item.params:
                if p.default is not None:
                    self.expr(p.default, scope)
                scope.add(p.name)
            for line in item.lines:
                if isinstance(line, ast.DefaultsRule):
                    self.rule(line, scope, lambda name=item.name: self.bodies_using(name))
                else:
                    self.call_ref(line, scope)
        elif isinstance(item, ast.Let):
            pass  # evaluated in _collect_definitions
        elif isinstance(item, ast.LetFunction):
            self.expr(item.value, set(self.known_globals) | {p.name for p in item.params} | {item.name})

    def body(self, stmts, scope: set):
        for s in stmts:
            self.stmt(s, scope)

    def stmt(self, s, scope: set):
        if isinstance(s, ast.Layer):
            self.layer(s, scope)
        elif isinstance(s, ast.Assign):
            # (for E103's note on a layer argument left on a line of its own)
            self.assigned = s.target if isinstance(s.stmt, ast.Layer) else None
            self.stmt(s.stmt, scope)
            self.assigned = None
            scope.add(s.target)
            self.tensors.add(s.target)
        elif isinstance(s, ast.Scope):
            if isinstance(s.name, ast.ScopeExpr):
                self.expr(s.name.expr, scope)
            if s.defaults is not None:
                self.defaults_spec(s.defaults, scope, s.body)
            if s.from_name:
                self.name(s.from_name, s.span, scope)
            self.body(s.body, scope)
        elif isinstance(s, ast.DefaultsStmt):
            self.defaults_spec(s.spec, scope, s.body)
            self.body(s.body, scope)
        elif isinstance(s, ast.Collect):
            for k, span in zip(s.kinds, s.kind_spans or [s.span] * len(s.kinds)):
                if k not in LAYERS and k not in self.prog.blocks:
                    self.c.error("E103", f"unknown layer or block `{k}` in `collect`", span,
                                 [layer_did_you_mean(k, self.prog.blocks)])
                elif k in LAYERS and not LAYERS[k].fn.startswith("slim.") or k in ("softmax", "variable", "model_variable"):
                    # Collecting is slim's outputs_collections; these functions take none (no TF-Slim spelling).
                    self.c.error("E113", f"`{k}` ({LAYERS[k].fn}) takes no outputs_collections, so `collect` "
                                 "cannot gather it", span, ["help: record it with `endpoint` instead"])
        elif isinstance(s, ast.If):
            self.expr(s.test, scope)
            self.guarded += 1  # (`if num_classes > 0 { fc num_classes }` may never run at its default)
            self.body(s.body, scope)
            self.body(s.orelse, scope)
            self.guarded -= 1
        elif isinstance(s, ast.For):
            self.expr(s.iter, scope)
            scope.update(s.targets)
            self.own.update(s.targets)
            self.guarded += 1
            self.body(s.body, scope)
            self.guarded -= 1
        elif isinstance(s, ast.Let):
            self.expr(s.value, scope)
            scope.add(s.name)
            self.own.add(s.name)
        elif isinstance(s, ast.LetFunction):
            self.params(s.params, f"function `{s.name}`")
            inner = set(scope) | {p.name for p in s.params}
            self.expr(s.value, inner)
            scope.add(s.name)
        elif isinstance(s, ast.Endpoint):
            self.expr(s.key, scope)
            if s.from_name:
                self.name(s.from_name, s.span, scope)
        elif isinstance(s, ast.Fail):
            self.expr(s.message, scope)

    def layer(self, s: ast.Layer, scope: set):
        kind = LAYERS.get(s.kind)
        block = self.prog.blocks.get(s.kind)
        model = self.prog.models.get(s.kind) if kind is None and block is None else None
        if model is not None:
            # A model used as a layer, as its tf_slim.nets function is called from Python.
            if s.repeat is not None:
                self.c.error("E104", f"`{s.kind}` is a model: it is called once, not repeated", s.span,
                             ["help: repeat a block, or write the calls out with `as` names"])
        elif kind is None and block is None:
            notes = [layer_did_you_mean(s.kind, self.prog.blocks)]
            target = getattr(self, "assigned", None)
            if target is not None and not (s.args or s.kwargs) and s.kind in _VALUE_WORDS:
                # `conv 4 3x3` then `padding=VALID` on the next line, at the same indentation
                notes = [f"note: `{target}={s.kind}` on a line of its own is a new statement, "
                         f"`{target} = {s.kind}`",
                         "help: to continue the layer on the line above, indent this line deeper than it"]
            self.c.error("E103", f"unknown layer `{s.kind}`", s.kind_span, notes)
        for i, a in enumerate(s.args):
            p = kind.param(kind.param_names[i]) if kind is not None and i < len(kind.param_names) else None
            self.expr(a, scope, self.candidates(p, scope))
        names = []
        if kind is not None:
            names = list(kind.param_map)
        elif block is not None:
            names = [p.name for p in block.params]
        elif model is not None:
            names = [p.name for p in model.params[1:]]
        for kw in s.kwargs:
            self.expr(kw.value, scope, self.candidates(kind.param(kw.name) if kind is not None else None, scope))
            if (kind or block or model) and kw.name not in names:
                what = f"`{s.kind}`" if kind else f"block `{s.kind}`" if block else f"model `{s.kind}`"
                self.c.error("E202", f"{what} has no argument `{kw.name}`", kw.span,
                             [did_you_mean(kw.name, names) if names else f"note: {what} takes no arguments",
                              _kin_with(s.kind, kw.name) if kind else ""])
        if isinstance(s.as_name, ast.ScopeExpr):
            self.expr(s.as_name.expr, scope)
        if s.from_name:
            self.name(s.from_name, s.span, scope)
        if kind is not None and kind.inputs == "none" and s.as_name is None:
            # slim.variable's name is required; there is no default to fall back on.
            self.c.error("E232", f"`{s.kind}` needs a name: add `as NAME`", s.span,
                         [f"help: e.g. `{s.kind} shape=[10] as my_{s.kind}`"])
        self.kwargs_once(s.kwargs, f"`{s.kind}`",
                         (lambda n: kind.param(n).name if kind.param(n) is not None else n) if kind else (lambda n: n))
        if kind is not None:
            self.kernel_product(kind, s)
            self.literal_constraints(kind, s)
        callee = kind.param_names if kind is not None else [p.name for p in block.params] if block is not None else None
        if callee is not None and len(s.args) > len(callee):  # (in every model, elaborated or not)
            try:
                bind.arguments(bind.describe(kind, block), callee, s.args, {}, s.span, {}, s.args)
            except SlimError as e:
                self.c.extend(e)
        if kind is not None and s.repeat is not None and s.repeat < 1:
            self.c.error("E212", "a repeat count must be at least 1", s.span)
        if kind is not None and s.repeat is not None and kind.scope_kw != "scope":
            # slim.repeat passes `scope=`, which plain TensorFlow ops do not take (no TF-Slim spelling).
            self.c.error("E114", f"`{s.kind}` ({kind.fn}) is a plain TensorFlow op: slim.repeat cannot repeat it",
                         s.span, ["help: write the layers out, or use a `for` loop"])

    def kwargs_once(self, kwargs, what: str, canonical=lambda name: name):
        """`stride=1 stride=2`: an argument given twice (the last would silently win)."""
        seen: dict = {}
        for kw in kwargs:
            key = canonical(kw.name)
            if key in seen:
                first = seen[key]
                also = f" (as `{first.name}`)" if first.name != kw.name else ""
                self.c.error("E204", f"{what} got `{kw.name}` twice", kw.span,
                             [f"note: first given{also} at {first.span.location()}", "help: keep one of them"])
            else:
                seen[key] = kw

    def literal_constraints(self, kind, s: ast.Layer):
        """Arguments written as literals meet the table's constraints (`conv -4 3x3`, `stride=0`) in every
        model and block, also those `check` does not elaborate (no declared input shape, never called).
        Values computed at run time are checked by the evaluator the same way."""
        if len(s.args) == 1 and isinstance(s.args[0], ast.ListExpr) and bind.list_makes_stack(kind, None):
            return  # a stack (`fc [32, 64]`): each layer's values are checked when it is built
        pairs = [(kind.param_names[i], a, a.span) for i, a in enumerate(s.args) if i < len(kind.param_names)]
        pairs += [(kw.name, kw.value, kw.span) for kw in s.kwargs]
        for name, e, span in pairs:
            p = kind.param(name)
            if p is None or not p.check:
                continue
            value, notes = _literal(e), []
            if value is _NOT_LITERAL and isinstance(e, ast.Name) and e.id in self.defaults_of and not self.guarded:
                # `fc num_classes` in `model m(inputs, num_classes = 0)`: the cause is the default
                param = self.defaults_of[e.id]
                value = _literal(param.default)
                notes = [f"note: `{e.id}` is {show(value)} by default, declared at {param.span.location()}"]
            if value is _NOT_LITERAL or value is None or not _type_ok(p.type, value):
                continue
            try:
                check_constraint(kind, p, value, span, notes)
            except SlimError as e:
                self.c.extend(e)

    def kernel_product(self, kind, s: ast.Layer):
        """`conv 16 3*3` is a 9x9 kernel (3*3 is the number 9); almost always `3x3` was meant."""
        exprs = []
        if "kernel_size" in kind.positional:
            i = kind.positional.index("kernel_size")
            if i < len(s.args):
                exprs.append(s.args[i])
        exprs += [kw.value for kw in s.kwargs if kw.name == "kernel_size"]
        for e in exprs:
            if (isinstance(e, ast.BinOp) and e.op == "*" and isinstance(e.left, ast.Const)
                    and isinstance(e.right, ast.Const) and all(type(v) is int for v in (e.left.value, e.right.value))):
                a, b = e.left.value, e.right.value
                self.c.error("E237", f"`{a}*{b}` is the number {a * b}, which makes a {a * b}x{a * b} kernel",
                             e.span, [f"help: write `{a}x{b}` for a {a}-by-{b} kernel, or `{a * b}` if "
                                      f"{a * b}x{a * b} is meant"])

    def rule(self, r: ast.DefaultsRule, scope: set, bodies=lambda: ()):
        """A defaults rule (`conv, fc: activation=relu`); `bodies()` gives the bodies it applies to,
        in source order, to name the first layer that would use a bad value."""
        spans = r.kind_spans or [r.span] * len(r.kinds)
        for k, span in zip(r.kinds, spans):
            kind = LAYERS.get(k)
            block = self.prog.blocks.get(k)
            if kind is None and block is None:
                self.c.error("E103", f"unknown layer `{k}` in defaults", span,
                             [layer_did_you_mean(k, self.prog.blocks)])
                continue
            if kind is not None and not kind.fn.startswith("slim.") and not kind.arg_scope:
                # `defaults` is slim.arg_scope; plain TensorFlow ops have no arg scope (no TF-Slim spelling).
                self.c.error("E115", f"`{k}` ({kind.fn}) is a plain TensorFlow op with no arg_scope: `defaults` "
                             "cannot set its arguments", span, ["help: set them on the layer itself"])
                continue
            names = list(kind.param_map) if kind else [p.name for p in block.params]
            for kw in r.kwargs:
                if kw.name not in names:
                    self.c.error("E202", f"`{k}` has no argument `{kw.name}`", kw.span, [did_you_mean(kw.name, names)])
        self.kwargs_once(r.kwargs, "this defaults rule", lambda n: canonical_arg(r.kinds, n))
        for kw in r.kwargs:
            params = [LAYERS[k].param(kw.name) for k in r.kinds if k in LAYERS and LAYERS[k].param(kw.name)]
            self.expr(kw.value, scope, self.candidates(params[0] if params else None, scope))
        self.rule_values(r, bodies)

    def rule_values(self, r: ast.DefaultsRule, bodies):
        """A literal value in a defaults rule meets the types and constraints of the layers it is set
        for (`conv: padding=3`, `dropout: keep_prob=1.5`), whether or not a layer uses it yet: the
        error is at the defaults line, with a note naming the first layer that would get it."""
        for kw in r.kwargs:
            value = _literal(kw.value)
            if value is _NOT_LITERAL or value is None:
                continue
            found = []  # (kind, SlimError) for each kind the value does not fit
            for k in r.kinds:
                kind = LAYERS.get(k)
                p = kind.param(kw.name) if kind is not None else None
                if p is None:
                    continue
                try:
                    check_type(kind, p, value, kw.span)
                    check_constraint(kind, p, value, kw.span)
                except SlimError as e:
                    found.append((kind, e))
            if not found:
                continue
            users = [(kind, e, _first_layer(kind.name, bodies())) for kind, e in found]
            kind, e, user = next((u for u in users if u[2] is not None), users[0])
            d = e.first
            notes = d.notes
            if user is not None:
                notes = (f"note: set by `defaults` for `{kind.name}`, used by the layer at {user.span.location()}",
                         *notes)
            self.c.error(d.code, d.message, d.span, notes)

    def bodies_using(self, name: str) -> list:
        """The bodies named defaults `name` applies to, in source order: models and blocks that use
        it, `defaults name(...) { }` and `scope ... defaults name { }` statements, and the users of
        the defaults blocks that `use` it."""
        names, grew = {name}, True
        while grew:  # defaults blocks that `use` one of these apply its rules too
            grew = False
            for d in self.prog.defaults.values():
                if d.name not in names and any(isinstance(line, ast.CallRef) and line.name in names
                                               for line in d.lines):
                    names.add(d.name)
                    grew = True
        out = []
        for item in self.prog.module.items:
            if not isinstance(item, ast.Model):
                continue
            if item.uses is not None and item.uses.name in names:
                out.append(item.body)
                continue
            for s in ast.statements(item.body):
                spec = s.spec if isinstance(s, ast.DefaultsStmt) else s.defaults if isinstance(s, ast.Scope) else None
                if isinstance(spec, ast.CallRef) and spec.name in names:
                    out.append(s.body)
        return out

    def defaults_spec(self, spec, scope: set, body=()):
        if isinstance(spec, ast.DefaultsRule):
            self.rule(spec, scope, lambda: [body])
        else:
            self.call_ref(spec, scope)

    def call_ref(self, ref: ast.CallRef, scope: set):
        d = self.prog.defaults.get(ref.name)
        if d is None:
            self.c.error("E105", f"unknown defaults `{ref.name}`", ref.span, [did_you_mean(ref.name, self.prog.defaults)])
        else:
            names = [p.name for p in d.params]
            for kw in ref.kwargs:
                if kw.name not in names:
                    self.c.error("E206", f"defaults `{ref.name}` has no parameter `{kw.name}`", kw.span,
                                 [did_you_mean(kw.name, names)])
        self.kwargs_once(ref.kwargs, f"defaults `{ref.name}`")
        for a in ref.args:
            self.expr(a, scope)
        for kw in ref.kwargs:
            self.expr(kw.value, scope)

    def candidates(self, p, scope: set):
        """The names a did-you-mean may offer for an argument of parameter `p`: its words for an
        enumerated parameter (SAME, VALID), the tensors in scope where a tensor goes; None for any name."""
        if p is None:
            return None
        if p.type in ENUMS:
            return _Candidates(ENUMS[p.type], f"`{p.name}` is one of")
        if p.type in ("tensor", "tensors"):
            return _Candidates(sorted(n for n in self.tensors if n in scope), "the tensors named so far:")
        if p.type == "tensor_or_number":  # (`add x`, `mul scale`: a tensor, or a name holding a number)
            tensors = sorted(n for n in self.tensors if n in scope)
            own = [n for n in scope if (n in self.own or n not in _BUILTIN_NAMES) and n not in self.tensors]
            return _Candidates([*tensors, *own], "the tensors named so far:", tensors)
        # Elsewhere a value of the parameter's kind, or a name of the user's that may hold one: not a
        # builtin of another kind (`add later` is no `float`), nor a tensor where a number goes.
        builtins, mine = _BUILTIN_NAMES, self.own
        own = [n for n in scope if (n in mine or n not in builtins) and n not in self.tensors]
        words = _KIND_WORDS.get(p.type)
        if words is not None:
            return _Candidates([*words, *own], f"`{p.name}` is one of", words)
        if p.type in ("int", "float", "size2", "ints"):
            return _Candidates(own, "", ())
        return None

    def name(self, name: str, span: Span, scope: set, candidates=None):
        if name not in scope:
            slip = size_slip(name, span)
            if slip is not None:
                self.c.error("E201", *slip)
                return
            hint = did_you_mean_case(name, _LITERALS) or size_hint(name, span) or _hint(name, scope, candidates)
            self.c.error("E201", f"undefined name `{name}`", span, [hint])

    def expr(self, e, scope: set, candidates=None):
        if isinstance(e, ast.Name):
            self.name(e.id, e.span, scope, candidates)
        elif isinstance(e, (ast.ListExpr, ast.TupleExpr)):
            for i in e.items:
                self.expr(i, scope, candidates)
        elif isinstance(e, ast.BinOp):
            self.expr(e.left, scope)
            self.expr(e.right, scope)
        elif isinstance(e, ast.Compare):
            self.expr(e.left, scope)
            for r in e.rights:
                self.expr(r, scope)
        elif isinstance(e, ast.BoolOp):
            for v in e.values:
                self.expr(v, scope)
        elif isinstance(e, (ast.Not, ast.Neg)):
            self.expr(e.operand, scope)
        elif isinstance(e, ast.CondExpr):
            self.expr(e.body, scope)
            self.expr(e.test, scope)
            self.expr(e.orelse, scope)
        elif isinstance(e, ast.Index):
            self.expr(e.value, scope)
            self.expr(e.index, scope)
        elif isinstance(e, ast.Call):
            if isinstance(e.func, ast.Name):
                fname = e.func.id
                if fname not in scope and fname not in PURE_FUNCTIONS and fname not in TENSOR_FUNCTIONS:
                    # (a value kind's words name its functions, l2 and truncated_normal; a number's do not)
                    words = candidates if candidates is not None and candidates.words else None
                    self.c.error("E201", f"undefined function `{fname}`", e.func.span, [_hint(fname, scope, words)])
            else:
                self.expr(e.func, scope)
            self.kwargs_once(e.kwargs, f"`{e.func.id}`" if isinstance(e.func, ast.Name) else "this call")
            for a in e.args:
                self.expr(a, scope)
            for kw in e.kwargs:
                self.expr(kw.value, scope)


def _spelling(name: str) -> str:
    """A layer name compared ignoring case and underscores: `max_pool2d`, `MaxPool2D` -> `maxpool2d`."""
    return name.replace("_", "").lower()


def _layer_names() -> dict:
    """Every other name of a layer (its TF-Slim / TensorFlow function, the table's aliases), by
    _spelling, -> the layer's name."""
    out = {}
    for kind in LAYERS.values():
        for other in (kind.fn.rsplit(".", 1)[-1], *kind.aliases):
            if _spelling(other) != _spelling(kind.name):
                out.setdefault(_spelling(other), kind.name)
    return out


_OTHER_LAYER_NAMES = _layer_names()


def layer_did_you_mean(word: str, blocks=()) -> str:
    """The did-you-mean of an unknown layer `word`: a layer or block spelled like it but for case and
    underscores (`Flatten`), a layer whose TF-Slim or Keras name it is (`max_pool2d`, `dense`), else
    the closest layer or block name, else the closest of those other names (`fully_conected`)."""
    import difflib

    key = _spelling(word)
    for name in (*LAYERS, *blocks):
        if _spelling(name) == key:
            return f"help: did you mean `{name}`?"
    name = _OTHER_LAYER_NAMES.get(key)
    if name is None:
        hint = did_you_mean(word, list(LAYERS) + list(blocks))
        if hint:
            return hint
        close = difflib.get_close_matches(key, list(_OTHER_LAYER_NAMES), n=1, cutoff=0.85)
        if not close:
            return ""
        name = _OTHER_LAYER_NAMES[close[0]]
    return f"help: did you mean `{name}`? slimlang's `{name}` is {LAYERS[name].fn}"


_NOT_LITERAL = object()

# The language's keyword literals: Python's None/True/False written in .slim are these.
_LITERALS = ("none", "true", "false")


def _kin_with(kind: str, arg: str) -> str:
    """A help naming a kin layer (its name contains this one's) that has the argument, or "":
    `strided_slice` for `slice ... strides=`."""
    kin = [k for k in LAYERS.values() if kind in k.name and k.name != kind and k.param(arg) is not None]
    if not kin:
        return ""
    k = kin[0]
    return f"help: `{k.name}` takes `{arg}`: {k.doc}"


def _literal_defaults(item) -> dict:
    """A model's parameters with literal defaults that its body never binds again (`let`, `for`,
    a named tensor): name -> ast.Param.  A model is built with its defaults by `check`, `summary`
    and `train`, so a default no layer takes is an error wherever the model is elaborated; a
    block's defaults are left to elaboration, since its callers may always pass their own."""
    if not isinstance(item, ast.Model) or item.is_block:
        return {}
    out = {p.name: p for p in item.params[1:] if p.default is not None and _literal(p.default) is not _NOT_LITERAL}
    if out:
        for s in ast.statements(item.body):
            bound = (s.name,) if isinstance(s, (ast.Let, ast.LetFunction)) else s.targets if isinstance(s, ast.For) \
                else (s.target,) if isinstance(s, ast.Assign) else ()
            for name in bound:
                out.pop(name, None)
    return out


def _first_layer(kind: str, bodies):
    """The first statement of layer `kind` in `bodies` (in their order, each in source order), or None."""
    for body in bodies:
        for s in ast.statements(body):
            if isinstance(s, ast.Layer) and s.kind == kind:
                return s
    return None


def _literal(e):
    """The value of a literal expression (number, string, `3x3`, `-4`, a list of them), or _NOT_LITERAL."""
    if isinstance(e, ast.Const):
        return e.value
    if isinstance(e, ast.Kernel):
        return (e.height, e.width)
    if isinstance(e, ast.Neg):
        v = _literal(e.operand)
        return -v if isinstance(v, (int, float)) and not isinstance(v, bool) else _NOT_LITERAL
    if isinstance(e, (ast.ListExpr, ast.TupleExpr)):
        items = [_literal(i) for i in e.items]
        if any(i is _NOT_LITERAL for i in items):
            return _NOT_LITERAL
        return items if isinstance(e, ast.ListExpr) else tuple(items)
    return _NOT_LITERAL


class _Candidates(tuple):
    """The names a did-you-mean may offer in one place, with how to introduce them: `words` (all
    of them unless given) are listed when none is close."""

    def __new__(cls, items, label: str, words=None):
        self = super().__new__(cls, items)
        self.label = label
        self.words = tuple(self) if words is None else tuple(words)
        return self


def _hint(name: str, scope, candidates) -> str:
    """The did-you-mean of an undefined `name`: the closest of `candidates` (any name in `scope`
    when None), matched ignoring case too, else the candidates' words when there are a few."""
    pool = scope if candidates is None else candidates
    hint = did_you_mean_case(name, pool) or did_you_mean(name, pool)
    if not hint and candidates is not None and candidates.words:
        hint = did_you_mean(name.lower(), candidates.words)
        if not hint and len(candidates.words) <= 8:
            hint = f"help: {candidates.label} " + ", ".join(f"`{c}`" for c in candidates.words)
    return hint


# The words a parameter of each value kind takes, for did-you-mean (values.BUILTINS by kind).
_KIND_WORDS = {
    **{kind: tuple(sorted(b.name for b in BUILTINS.values() if b.kind == kind)) + ("none",)
       for kind in ("activation", "normalizer", "initializer", "regularizer")},
    "bool": ("true", "false"),
}
_BUILTIN_NAMES = frozenset(builtin_names())


def _calls(body, blocks) -> set:
    return {s.kind for s in ast.statements(body) if isinstance(s, ast.Layer) and s.kind in blocks}


def _check_recursion(prog: Program, c: Collector):
    callables = {**prog.blocks, **prog.models}
    blocks = {name: _calls(b.body, callables) for name, b in callables.items()}
    _report_cycles(blocks, c, lambda name, path: c.error(
        "E106", "blocks or models call each other in a cycle: " + " -> ".join(path), callables[name].name_span,
        ["note: a network is finite; unroll with `for` instead"]))
    uses = {name: {line.name for line in d.lines if isinstance(line, ast.CallRef) and line.name in prog.defaults}
            for name, d in prog.defaults.items()}
    _report_cycles(uses, c, lambda name, path: c.error(
        "E107", "defaults blocks use each other in a cycle: " + " -> ".join(path), prog.defaults[name].name_span,
        ["note: each `use` adds the other block's rules; a cycle would add them forever"]))


def _report_cycles(graph: dict, c: Collector, report):
    """Calls report(name, path) once per cycle of `graph` (name -> names it refers to)."""
    reported = set()
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    if start not in reported:
                        reported.update(path)
                        report(start, path + [start])
                elif nxt not in path:
                    stack.append((nxt, path + [nxt]))


def _check_scopes(prog: Program, c: Collector, elaborate: bool):
    """E235 in the models `check` does not elaborate (no declared input shape): two layers whose
    literal `as` names make one scope.  Only layers that run together every time are compared: a
    body's own statements and those of its `scope` and `defaults` bodies, each `if` branch and `for`
    body on its own.  Elaboration finds the rest, with every name resolved."""
    for name, model in prog.models.items():
        if elaborate and prog.input_shape(name) is not None:
            continue
        prefix = model.default_scope or model.name
        scope_param = next((p for p in model.params if p.name == "scope"), None)
        if scope_param is not None:
            default = scope_param.default
            if not (isinstance(default, ast.Const) and isinstance(default.value, str)):
                continue  # the scope is a caller's choice
            prefix = default.value
        elif model.inline:
            prefix = ""
        _scopes_in(model.body, prefix, {}, c, prog.blocks)


class _Opened:
    """The variable scopes opened so far in one entry of a scope, as TensorFlow counts them to
    choose default names (`Conv`, `Conv_1`); it forgets them when the scope is left, so a `scope`
    entered again starts at `Conv` again."""

    def __init__(self):
        self.counts: dict = {}
        self.next: dict = {}  # name -> the first suffix that may be free (counts only grow here)

    def unique(self, base: str) -> str:
        counts = self.counts
        if not counts.get(base):
            return base
        i = self.next.get(base, 1)
        while counts.get(f"{base}_{i}"):
            i += 1
        self.next[base] = i
        return f"{base}_{i}"

    def open(self, name: str) -> str:
        self.counts[name] = self.counts.get(name, 0) + 1
        return name


def _scopes_in(body, prefix: str, owners: dict, c: Collector, blocks: dict, opened: _Opened | None = None):
    from .shapes import duplicate_scope

    opened = _Opened() if opened is None else opened
    for s in body:
        if isinstance(s, ast.Assign):
            s = s.stmt
        if isinstance(s, ast.Layer):
            kind = LAYERS.get(s.kind)
            literal = s.as_name.path if isinstance(s.as_name, ast.ScopePath) else None
            if kind is None:  # a block call opens its variable scope (an inline block none)
                block = blocks.get(s.kind)
                if block is not None and not block.inline and s.as_name is None:
                    opened.open(opened.unique(block.default_scope or block.name))
                elif block is not None and literal is not None and not block.inline:
                    opened.open(literal)
                continue
            if kind.scope_kw is None or s.as_name is not None and literal is None:
                continue  # no scope of its own, or a name only elaboration knows
            slim = kind.scope_kw == "scope"  # a slim layer opens a variable scope; a plain op a name scope
            several = s.repeat or (len(s.args) == 1 and isinstance(s.args[0], ast.ListExpr)
                                   and bind.list_makes_stack(kind, None))
            if literal is not None:
                path = opened.open(literal) if slim else literal
                if several:
                    path = f"{path}/{path.rsplit('/', 1)[-1]}_1"  # slim.repeat / slim.stack's first layer
            elif slim:
                if several:
                    path = f"{opened.open(opened.unique('Repeat' if s.repeat else 'Stack'))}/{kind.repeat_name}_1"
                else:
                    path = opened.open(opened.unique(kind.default_scope))
                if not kind.creates_variables:
                    continue  # a default name TF makes unique itself
            else:
                continue
            if any(bind.keyword(kind, kw.name) == "reuse" for kw in s.kwargs):
                continue  # sharing the first one's variables, or a value only elaboration knows
            full = f"{prefix}/{path}" if prefix else path
            first = owners.get(full)
            if first is not None:
                help = ("help: a scope entered again starts its default names again, as TensorFlow's variable "
                        "scopes do: give the layers `as` names, or enter the scope under another name"
                        if literal is None else "")
                c.extend(duplicate_scope(full, kind, s.span, LAYERS[first.kind], first.span, help=help))
            else:
                owners[full] = s
        elif isinstance(s, ast.Scope):
            if isinstance(s.name, ast.ScopePath):
                opened.open(s.name.path)
                _scopes_in(s.body, f"{prefix}/{s.name.path}" if prefix else s.name.path, owners, c, blocks)
        elif isinstance(s, ast.DefaultsStmt):
            _scopes_in(s.body, prefix, owners, c, blocks, opened)
        elif isinstance(s, ast.If):
            # (each branch on its own: whether it runs, and so which names come after it, is unknown)
            _scopes_in(s.body, prefix, {}, c, blocks)
            _scopes_in(s.orelse, prefix, {}, c, blocks)
        elif isinstance(s, ast.For):
            _scopes_in(s.body, prefix, {}, c, blocks)


def _check_trains(prog: Program, c: Collector):
    if not prog.trains:
        return
    try:
        from . import trainspec
    except ImportError:  # the train-section checker is not installed in this build
        return
    hook = getattr(trainspec, "check_program_trains", None)
    if hook is not None:
        hook(prog, c)


def _elaborate_declared(prog: Program, c: Collector):
    from .diagnostics import Diagnostic
    from .shapes import InputRankError, summarize_model

    for name in prog.models:
        shape = prog.input_shape(name)
        if shape is None:
            continue
        try:
            full = (1,) + tuple(shape)
            prog.summaries[(name, full)] = summarize_model(prog, name, full)
        except InputRankError as e:
            if e.batch == "extra" and len(shape) > 1:
                # `inputs: [1, 8, 8, 1]`: the batch written into the declaration, which leaves it out.
                d = e.first
                decl = prog.models[name].params[0]
                notes = (*d.notes,
                         (f"note: `{decl.name}: {_shape_text(shape)}` is declared at {decl.type.span.location()}, "
                          "and the batch dimension goes in front of it"),
                         ("help: the declared shape is one example's, without the batch dimension: write "
                          f"`{decl.name}: {_shape_text(shape[1:])}`"))
                e = SlimError([Diagnostic(d.code, d.message, d.span, notes, d.severity), *e.diagnostics[1:]])
            c.extend(e)
        except SlimError as e:
            c.extend(e)


def _shape_text(shape) -> str:
    return "[" + ", ".join("none" if v is None else str(v) for v in shape) + "]"
