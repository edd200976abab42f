"""Emit stage: a checked Program -> readable TF-Slim Python (`slimlang build --emit py`).

The output reads like tf_slim/nets/vgg.py: one function per `defaults` block
returning its `slim.arg_scope` (vgg_arg_scope style), one `@slim.add_arg_scope`
function per block, one function per model with the .slim signature plus
`scope=`, returning `net, end_points`.  Structure is kept: `xN` is
`slim.repeat`, stacks are `slim.stack`, `defaults` are `with slim.arg_scope`,
`collect` is an end-points collection, `if`/`for`/`let` stay Python.

Every string is computed here, in view-models (`Stmt`, `FunctionView`,
`ModuleView`); templates/*.j2 only loop and branch.  The result goes through
`black` and `compile()`, so it is deterministic and formatted.

Safety: nothing from a .slim file reaches the code except as a validated
Python identifier (model, block and parameter names are checked and rejected
with a located error; local names that clash with Python keywords, builtins or
the names the generated code uses are renamed) or as a `repr()` literal.
Importing this module never imports TensorFlow.
"""

from __future__ import annotations

import builtins
import functools
import keyword
from dataclasses import dataclass, field
from pathlib import Path

from . import ast, bind
from .diagnostics import SlimError, Span
from .evaluate import PURE_FUNCTIONS, Function
from .layers import LAYERS, canonical_arg
from .pyview import (  # noqa: F401  (Code, Doc, py_ident, doc_text: the escaping API, re-exported)
    Code,
    Doc,
    FunctionView,
    ModuleView,
    Stmt,
    _finalize,
    _safe_comment,
    _wrap,
    code_line,
    comment_text,
    doc_text,
    py_ident,
    py_str,
)
from .values import BUILTINS, HELPERS, STRING_CONSTANTS, py_literal

# Names the generated code defines or uses itself; .slim names never take them.
RESERVED = frozenset({
    "tf", "slim", "math", "net", "end_points", "end_points_collection", "sc", "arg_sc", "scope",
    "outputs_collections", "end_point", "final_endpoint_value", "list", "ValueError", "collect_normalizers",
    "model_end_points", "stack_i", "stack_item", "stack_input",
}) | frozenset(HELPERS)
_AMBIGUOUS = frozenset({"l", "I", "O"})  # pycodestyle E741
_BUILTIN_NAMES = frozenset(dir(builtins))


# The escaping path and view-model records live in pyview.py (emit_train.py shares them).


def _can_normalize(kind_name: str) -> bool:
    """A layer kind that `normalizer=` can also add inside other layers (batch_norm, layer_norm)."""
    b = BUILTINS.get(kind_name)
    return b is not None and b.kind == "normalizer"


def _err(code: str, message: str, span: Span | None, notes=()):
    return SlimError.single(code, message, span, list(notes))


# --------------------------------------------------------------- analysis ---


_walk = ast.statements


def _names_in(node, out: set):
    """Every name an AST subtree mentions: Name ids, and the tensors `from NAME` reads."""
    for n in ast.nodes(node):
        if type(n) is ast.Name:
            out.add(n.id)
        elif getattr(n, "from_name", None):
            out.add(n.from_name)
    return out


def _writes(body) -> bool:
    """Does this body change the current tensor (so branches must agree on its variable)?"""
    return any(isinstance(s, (ast.Layer, ast.Scope, ast.DefaultsStmt)) for s in body) or any(
        _writes(s.body) or _writes(s.orelse) for s in body if isinstance(s, ast.If)) or any(
        _writes(s.body) for s in body if isinstance(s, ast.For))


class _Facts:
    """What each block needs passed in: end points dict, collection, final end point."""

    def __init__(self, prog):
        self.prog = prog
        self.direct_endpoints = {}
        self.direct_collect = {}
        self.calls = {}
        for name, b in list(prog.blocks.items()) + list(prog.models.items()):
            stmts = list(_walk(b.body))
            # (a model called as a layer returns end points that join this function's)
            self.direct_endpoints[name] = any(isinstance(s, ast.Endpoint) or isinstance(s, ast.Layer) and (
                s.endpoint or s.kind in prog.models) for s in stmts)
            self.direct_collect[name] = any(isinstance(s, ast.Collect) for s in stmts)
            self.calls[name] = {s.kind for s in stmts if isinstance(s, ast.Layer) and s.kind in prog.blocks}
        self.collected_blocks = set()
        collected_normalizers = set()
        for s in (s for b in list(prog.blocks.values()) + list(prog.models.values()) for s in _walk(b.body)):
            if isinstance(s, ast.Collect):
                self.collected_blocks |= {k for k in s.kinds if k in prog.blocks and not prog.blocks[k].inline}
                collected_normalizers |= {k for k in s.kinds if _can_normalize(k)}
        # A `collect batch_norm` reaches the batch_norm statements of the blocks it calls, as the graph
        # lowering does; those are collected at the statement (see Emitter.body), so each function that
        # holds such statements, itself or through the blocks it calls, learns the kinds its caller
        # collects from a `collect_normalizers` parameter.
        self.direct_norms = {
            name: {s.kind for s in _walk(b.body) if isinstance(s, ast.Layer) and s.kind in collected_normalizers}
            for name, b in list(prog.blocks.items()) + list(prog.models.items())}
        # A block stacked or repeated inside another block cannot stop at `until` (E509); that only
        # matters when some model has an `until`.
        self.any_until = any(m.until is not None for m in prog.models.values())

    @functools.lru_cache(maxsize=None)
    def normalizers(self, name) -> frozenset:
        """Normalizer kinds that may be collected at statements of `name` or of the blocks it calls."""
        return frozenset(self.direct_norms[name]).union(*(self.normalizers(c) for c in self.calls[name]))

    @functools.lru_cache(maxsize=None)
    def endpoints(self, name) -> bool:
        return self.direct_endpoints[name] or any(self.endpoints(c) for c in self.calls[name])

    @functools.lru_cache(maxsize=None)
    def collects(self, name) -> bool:
        return (self.direct_collect[name] or bool(self.normalizers(name))
                or any(self.collects(c) for c in self.calls[name]))


def _defaults_touched(prog) -> set:
    """(kind, param) pairs some `defaults` rule sets: calls pass those by keyword, never positionally."""
    rules = []
    for d in prog.defaults.values():
        rules += [r for r in d.lines if isinstance(r, ast.DefaultsRule)]
    for m in list(prog.blocks.values()) + list(prog.models.values()):
        for s in _walk(m.body):
            spec = getattr(s, "spec", None) if isinstance(s, ast.DefaultsStmt) else getattr(s, "defaults", None) \
                if isinstance(s, ast.Scope) else None
            if isinstance(spec, ast.DefaultsRule):
                rules.append(spec)
    out = set()
    for r in rules:
        for k in r.kinds:
            kind = LAYERS.get(k)
            for kw in r.kwargs:
                p = kind.param(kw.name) if kind else None
                out.add((k, p.name if p else kw.name))
    return out


def _texts(stmt):
    """The code of a statement and of every statement in its body."""
    yield stmt.text
    for b in stmt.body or ():
        yield from _texts(b)


# ---------------------------------------------------------------- frames ---


@dataclass
class _Frame:
    read: str  # Python expression of the current tensor (`net` in .slim)
    write: str  # variable layers of this frame assign to
    depth: int = 0  # 0: the function's own frame; scopes and defaults nest
    control: bool = False  # inside an if/for of this frame
    collected: frozenset = frozenset()


@dataclass
class _Fn:
    """One function being emitted."""

    node: object  # ast.Model | ast.DefaultsDef
    kind: str  # model | block | inline | defaults
    names: dict  # .slim name -> Python name
    scope_var: bool = False  # `as sc` available at depth 0
    uses_sc: bool = False
    end_points: bool = False
    collection: bool = False
    until: str | None = None  # Python expression of the final end point (models and blocks that stop)
    block_collected: bool = False
    read_names: set = field(default_factory=set)  # .slim names some expression reads
    list_names: set = field(default_factory=set)  # .slim names the text binds to lists (bind.static_is_list)


class Emitter:
    def __init__(self, prog):
        self.prog = prog
        self.file = _safe_comment(Path(prog.source_name).name)
        self.facts = _Facts(prog)
        self.touched = _defaults_touched(prog)
        self.uses_math = False
        self.functions = set(prog.models) | set(prog.blocks) | set(prog.defaults)
        self.globals = {}
        taken = set(self.functions)
        for name in prog.globals:
            self.globals[name] = self._fresh(name, taken, force=name in self.functions)
            taken.add(self.globals[name])
        self.global_lists = {name for name, v in prog.globals.items() if isinstance(v, list)}
        # Module-level `let f(x) = ...`: emitted as module-level functions (.slim name -> the Function).
        self.global_fns = {name: v for name, v in prog.globals.items()
                           if isinstance(v, Function) and v.node.name == name}

    def at(self, span) -> str:
        """`file.slim:LINE` of a span, in its own file (an imported definition's is not this one)."""
        if span is None or span.source is None or span.source.name == self.prog.source_name:
            return f"{self.file}:{span.line if span is not None else 0}"
        return f"{_safe_comment(Path(span.source.name).name)}:{span.line}"

    def file_of(self, span) -> str:
        return self.at(span).rsplit(":", 1)[0]

    # ------------------------------------------------------------ names --
    def _clashes(self, name: str) -> bool:
        return (keyword.iskeyword(name) or name in RESERVED or name in _BUILTIN_NAMES or name in _AMBIGUOUS
                or name.startswith("__") or name in self.functions)

    def _fresh(self, name: str, taken: set, force: bool = False) -> str:
        if not force and not self._clashes(name) and name not in taken:
            return name
        out = name + "_"
        while self._clashes(out) or out in taken:
            out += "_"
        return out

    def check_name(self, name: str, span, what: str, extra=()):
        if keyword.iskeyword(name) or name in RESERVED or name in extra or name.startswith("__"):
            raise _err("E501", f"{what} `{name}` cannot be a Python name in the emitted module "
                       "(a Python keyword, or a name the generated code uses itself)", span,
                       ["help: rename it (the graph lowering accepts it; `--emit py` cannot)"])
        if name in self.functions and what != "model" and what != "block" and what != "defaults":
            raise _err("E501", f"{what} `{name}` would hide the function `{name}` in the emitted module", span,
                       ["help: rename it"])
        if name in _BUILTIN_NAMES and what in ("model", "block", "defaults"):
            raise _err("E501", f"{what} `{name}` would hide Python's builtin `{name}` in the emitted module",
                       span, ["help: rename it"])

    def local_names(self, node, params) -> dict:
        names = {}
        taken = set(self.globals.values()) | set(self.functions)
        for p in params:
            names[p] = p
            taken.add(p)
        bound = []
        for s in _walk(node.body if hasattr(node, "body") else ()):
            if isinstance(s, ast.Assign):
                bound.append(s.target)
            elif isinstance(s, (ast.Let, ast.LetFunction)):
                bound.append(s.name)
                if isinstance(s, ast.LetFunction):
                    bound += [p.name for p in s.params]
            elif isinstance(s, ast.For):
                bound += list(s.targets)
        for b in bound:
            if b not in names:
                names[b] = self._fresh(b, taken)
                taken.add(names[b])
        return names

    def shadowed_globals(self, fn: _Fn, params) -> list:
        """`NUM_ = NUM` for each top-level constant the body binds again with `let`: a body starts from
        the module's values (as elaboration does), and reads before its own `let` see them."""
        own = {p.name for p in params}
        return [Stmt(f"{fn.names[name]} = {self.globals[name]}") for name in sorted(fn.names)
                if name in self.globals and name not in own and fn.names[name] != self.globals[name]
                and name in fn.read_names]

    # ------------------------------------------------------- expressions --
    def expr(self, e, fn: _Fn, fr: _Frame | None, arg=False, iter_ctx=False) -> str:
        return self._expr(e, fn, fr, arg, iter_ctx)[0]

    def _sub(self, e, fn, fr, min_prec, strict=False) -> str:
        src, prec = self._expr(e, fn, fr)
        if prec < min_prec or strict and prec == min_prec:
            return f"({src})"
        return src

    def _expr(self, e, fn: _Fn, fr, arg=False, iter_ctx=False):
        if isinstance(e, ast.Const):
            return py_literal(e.value), ast.ATOM
        if isinstance(e, ast.Kernel):
            return (f"[{e.height}, {e.width}]" if arg else f"({e.height}, {e.width})"), ast.ATOM
        if isinstance(e, ast.Name):
            return self.name_ref(e, fn, fr), ast.ATOM
        if isinstance(e, ast.ListExpr):
            return "[" + ", ".join(self.expr(i, fn, fr, arg) for i in e.items) + "]", ast.ATOM
        if isinstance(e, ast.TupleExpr):
            items = [self.expr(i, fn, fr, False) for i in e.items]
            return ("(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"), ast.ATOM
        if isinstance(e, ast.BinOp):
            p = ast.BINOP_LEVEL[e.op]
            if e.op == "**":
                return f"{self._sub(e.left, fn, fr, p, True)} ** {self._sub(e.right, fn, fr, p)}", p
            return f"{self._sub(e.left, fn, fr, p)} {e.op} {self._sub(e.right, fn, fr, p, True)}", p
        if isinstance(e, ast.Compare):
            p = ast.CMP
            parts = [self._sub(e.left, fn, fr, p, True)]
            left = e.left
            for op, r in zip(e.ops, e.rights):
                if op in ("==", "!=") and any(isinstance(x, ast.Const) and x.value is None for x in (left, r)):
                    op = "is" if op == "==" else "is not"  # same result for None; pycodestyle's E711
                parts += [op, self._sub(r, fn, fr, p, True)]
                left = r
            return " ".join(parts), p
        if isinstance(e, ast.BoolOp):
            p = ast.BINOP_LEVEL[e.op]
            return f" {e.op} ".join(self._sub(v, fn, fr, p, True) for v in e.values), p
        if isinstance(e, ast.Not):
            o = e.operand
            negated = {"in": "not in", "is": "is not"}
            if isinstance(o, ast.Compare) and len(o.ops) == 1 and o.ops[0] in negated:
                # `not k in xs` is `k not in xs` (pycodestyle's E713/E714), same value
                return self._expr(ast.Compare(o.left, (negated[o.ops[0]],), o.rights, o.span), fn, fr)
            return f"not {self._sub(e.operand, fn, fr, ast.NOT)}", ast.NOT
        if isinstance(e, ast.Neg):
            return f"-{self._sub(e.operand, fn, fr, ast.NEG)}", ast.NEG
        if isinstance(e, ast.CondExpr):
            return (f"{self._sub(e.body, fn, fr, ast.OR)} if {self._sub(e.test, fn, fr, ast.OR)} else "
                    f"{self._sub(e.orelse, fn, fr, ast.COND)}"), ast.COND
        if isinstance(e, ast.Index):
            return f"{self._sub(e.value, fn, fr, ast.POSTFIX)}[{self.expr(e.index, fn, fr)}]", ast.POSTFIX
        if isinstance(e, ast.Call):
            return self.call(e, fn, fr, iter_ctx), ast.POSTFIX
        raise _err("E510", f"cannot emit this expression ({type(e).__name__})", getattr(e, "span", None))

    def tensor_var(self, fr) -> str:
        if fr is None:
            raise _err("E510", "`net` has no value here", None)
        return fr.read

    def name_ref(self, e: ast.Name, fn: _Fn, fr) -> str:
        name = e.id
        if fn is not None and name in fn.names:
            return fn.names[name]
        if name in self.globals:
            return self.globals[name]
        if name == "net" and fr is not None:
            return fr.read
        if name == "depth_in" and fr is not None:
            return f"{fr.read}.get_shape().as_list()[-1]"
        if name in STRING_CONSTANTS:
            return py_str(STRING_CONSTANTS[name])
        if name in BUILTINS:
            b = BUILTINS[name]
            if b.kind == "initializer":
                return f"{b.py}()"
            if b.callable:
                raise _err("E227", f"`{name}` must be called with its arguments, e.g. `{name}(...)`", e.span)
            return b.py
        raise _err("E510", f"`{name}` cannot be used as a value here", e.span)

    def call(self, e: ast.Call, fn: _Fn, fr, iter_ctx=False) -> str:
        if not isinstance(e.func, ast.Name):
            raise _err("E229", "only named functions can be called", e.span)
        name = e.func.id
        args = [self.expr(a, fn, fr) for a in e.args]
        local = fn.names.get(name) if fn is not None else None
        if local is not None:  # a let function, or a parameter holding one (the evaluator calls it)
            kws = [f"{fn.names.get(k.name, k.name)}={self.expr(k.value, fn, fr)}" for k in e.kwargs]
            return f"{local}({', '.join(args + kws)})"
        target = self.prog.globals.get(name)
        if isinstance(target, Function) and target.node.name in self.global_fns:
            # a module-level let function, or a let naming one (fn.names, checked above, shadows both)
            names = self.global_fn_params(target.node)
            kws = [f"{names.get(k.name, k.name)}={self.expr(k.value, fn, fr)}" for k in e.kwargs]
            return f"{self.globals[name]}({', '.join(args + kws)})"
        for k in e.kwargs:
            if not k.name.isidentifier() or keyword.iskeyword(k.name):
                raise _err("E511", f"`{k.name}` cannot be a keyword argument in Python", k.span)
        kws = [f"{k.name}={self.expr(k.value, fn, fr)}" for k in e.kwargs]
        if name in BUILTINS:
            b = BUILTINS[name]
            if not b.callable:
                raise _err("E210", f"`{name}` is not called: write `{name}` without parentheses", e.span)
            known = [p for p, _ in b.params]
            for k in e.kwargs:
                if k.name not in known:
                    raise _err("E206", f"`{name}` has no parameter `{k.name}`", k.span)
            return f"{b.py}({', '.join(args + kws)})"
        if name == "dict":
            if e.args:
                raise _err("E210", "dict(...) takes keyword arguments only", e.span)
            return "{" + ", ".join(f"{py_str(k.name)}: {self.expr(k.value, fn, fr)}" for k in e.kwargs) + "}"
        if name in ("range", "enumerate", "zip"):
            inner = f"{name}({', '.join(args + kws)})"
            return inner if iter_ctx else f"list({inner})"
        if name in ("ceil", "floor", "sqrt"):
            self.uses_math = True
            return f"math.{name}({', '.join(args + kws)})"
        if name in PURE_FUNCTIONS:
            return f"{name}({', '.join(args + kws)})"
        if name in ("shape", "depth"):
            t = args[0] if args else self.tensor_var(fr)
            return f"{t}.get_shape().as_list()" + ("[-1]" if name == "depth" else "")
        if name == "scope_name":
            if fr is not None and fr.depth == 0 and fn.scope_var:
                fn.uses_sc = True
                return "sc.name"
            return "tf.compat.v1.get_variable_scope().name"
        raise _err("E201", f"undefined function `{name}`", e.func.span)

    def global_fn_params(self, node: ast.LetFunction) -> dict:
        """.slim parameter name -> Python name, for a module-level let function."""
        taken = set(self.globals.values()) | set(self.functions)
        names = {}
        for p in node.params:
            names[p.name] = self._fresh(p.name, taken)
            taken.add(names[p.name])
        return names

    def global_fn(self, name: str, node: ast.LetFunction) -> FunctionView:
        """`let f(x, k=2) = ...` at the top of the file -> `def f(x, k=2): return ...`."""
        names = self.global_fn_params(node)
        fn = _Fn(node, "function", names)
        params = [names[p.name] if p.default is None else f"{names[p.name]}={self.expr(p.default, fn, None)}"
                  for p in node.params]
        doc = [f"`let {name}` of {self.file_of(node.span)} (line {node.span.line})."]
        return FunctionView(self.globals[name], [], params, doc, [Stmt(f"return {self.expr(node.value, fn, None)}")])

    def rule_scopes(self, r: ast.DefaultsRule, fn, fr) -> list:
        values = {}
        for kw in r.kwargs:
            values[canonical_arg(r.kinds, kw.name)] = self.expr(kw.value, fn, fr, arg=True)
        groups = {}
        for k in r.kinds:
            kind = LAYERS.get(k)
            if kind is not None:
                keys = tuple(kind.param(n).py_name if kind.param(n) else n for n in values)
                groups.setdefault(keys, []).append(kind.fn)
            else:
                groups.setdefault(tuple(values), []).append(k)
        out = []
        for keys, fns in groups.items():
            kw = "".join(f", {k}={v}" for k, v in zip(keys, values.values()))
            out.append(f"slim.arg_scope([{', '.join(fns)}]{kw})")
        return out

    def defaults_ctx(self, spec, fn, fr) -> list:
        if isinstance(spec, ast.DefaultsRule):
            return self.rule_scopes(spec, fn, fr)
        return [f"slim.arg_scope({self.callref(spec, fn, fr)})"]

    def callref(self, ref: ast.CallRef, fn, fr) -> str:
        args = [self.expr(a, fn, fr) for a in ref.args] + [f"{k.name}={self.expr(k.value, fn, fr)}" for k in ref.kwargs]
        return f"{ref.name}({', '.join(args)})"

    def defaults_fn(self, d: ast.DefaultsDef) -> FunctionView:
        self.check_name(d.name, d.name_span, "defaults")
        params = self.params(d.params, "defaults parameter")
        fn = _Fn(d, "defaults", {p.name: p.name for p in d.params})
        scopes = []
        for line in d.lines:
            scopes += self.defaults_ctx(line, fn, None)
        if not scopes:
            scopes = ["slim.arg_scope([])"]
        inner = [Stmt("return arg_sc")]
        body = [Stmt(f"with {scopes[-1]} as arg_sc", inner)]
        for s in reversed(scopes[:-1]):
            body = [Stmt(f"with {s}", body)]
        doc = [f"Defaults `{d.name}` of {self.file_of(d.span)} (line {d.span.line}): the arg_scope its models are "
               "built under.",
               "", "Returns:", "  An arg_scope (use it as `with slim.arg_scope(...)`)."]
        return FunctionView(d.name, [], params, _wrap(doc, 80), body)

    def params(self, params, what, extra=(), allow=()) -> list:
        out = []
        seen_default = False
        for p in params:
            if p.name not in allow:
                self.check_name(p.name, p.span, what, extra)
            if p.default is None:
                if seen_default:
                    raise _err("E502", f"{what} `{p.name}` has no default but follows one that has: Python "
                               "cannot spell that signature", p.span, ["help: give it a default or move it first"])
                out.append(p.name)
            else:
                seen_default = True
                out.append(f"{p.name}={self.expr(p.default, None, None)}")
        return out

    # ------------------------------------------------------------ bodies --
    def body(self, stmts, fn: _Fn, fr: _Frame) -> list:
        out = []
        for i, s in enumerate(stmts):
            if isinstance(s, ast.Collect):
                if fr.control:
                    raise _err("E504", "`collect` inside `if` or `for` has no TF-Slim spelling "
                               "(it would outlive the branch); move it before", s.span)
                fns = []
                for k in s.kinds:
                    if k in fr.collected:
                        continue
                    if k in self.prog.blocks:
                        if not self.prog.blocks[k].inline:
                            fns.append(k)
                    elif not _can_normalize(k):
                        fns.append(LAYERS[k].fn)
                    # (a kind that is also a normalizer, batch_norm, is collected at its own statements: an
                    # arg_scope would also collect the batch norms that `normalizer=` adds inside other layers)
                fr.collected = fr.collected | frozenset(s.kinds)
                if fns:
                    rest = self.body(stmts[i + 1:], fn, fr)
                    out.append(Stmt(f"with slim.arg_scope([{', '.join(fns)}], "
                                    "outputs_collections=end_points_collection)", rest or [Stmt("pass")]))
                    return out
                continue
            out.extend(self.stmt(s, fn, fr))
        return out

    def stmt(self, s, fn: _Fn, fr: _Frame) -> list:
        if isinstance(s, ast.Layer):
            return self.layer(s, fn, fr)
        if isinstance(s, ast.Assign):
            target = fn.names[s.target]
            if isinstance(s.stmt, ast.Layer):
                return self.layer(s.stmt, fn, fr, target)
            return self.scope(s.stmt, fn, fr, target, s.target)
        if isinstance(s, ast.Scope):
            return self.scope(s, fn, fr)
        if isinstance(s, ast.DefaultsStmt):
            inner = _Frame(fr.read, fr.write, fr.depth + 1, False, fr.collected)
            ctx = self.defaults_ctx(s.spec, fn, fr)
            body = self.body(s.body, fn, inner)
            fr.read = inner.read
            return [Stmt(f"with {', '.join(ctx)}", body or [Stmt("pass")])]
        if isinstance(s, ast.If):
            out = self.normalize(fr) if _writes(s.body + s.orelse) else []
            return out + self.if_chain(s, fn, fr, "if")
        if isinstance(s, ast.For):
            out = self.normalize(fr) if _writes(s.body) else []
            targets = ", ".join(fn.names[t] for t in s.targets)
            sub = _Frame(fr.read, fr.write, fr.depth, True, fr.collected)
            body = self.body(s.body, fn, sub) + self.end_branch(sub)
            return out + [Stmt(f"for {targets} in {self.expr(s.iter, fn, fr, iter_ctx=True)}", body or [Stmt("pass")])]
        if isinstance(s, ast.Let):
            if s.name not in fn.read_names:
                return [Stmt(self.expr(s.value, fn, fr))]
            return [Stmt(f"{fn.names[s.name]} = {self.expr(s.value, fn, fr)}")]
        if isinstance(s, ast.LetFunction):
            params = []
            for p in s.params:
                pname = fn.names[p.name]
                params.append(pname if p.default is None else f"{pname}={self.expr(p.default, fn, fr)}")
            inner = _Frame(fr.read, fr.write, fr.depth, fr.control, fr.collected)
            return [Stmt(f"def {fn.names[s.name]}({', '.join(params)})",
                         [Stmt(f"return {self.expr(s.value, fn, inner)}")])]
        if isinstance(s, ast.Endpoint):
            value = fn.names[s.from_name] if s.from_name else fr.read
            return self.endpoint(self.expr(s.key, fn, fr), s.key, value, fn, fr, s.span)
        if isinstance(s, ast.Return):
            # inside a `with` (scope, defaults) too: Python's return leaves the with blocks as .slim's does
            return [*self.returns(fn, fr.read)]
        if isinstance(s, ast.Fail):
            return [Stmt(f"raise ValueError({self.expr(s.message, fn, fr)})")]
        raise _err("E510", f"cannot emit {type(s).__name__}", getattr(s, "span", None))

    def normalize(self, fr: _Frame) -> list:
        if fr.read != fr.write:
            out = [Stmt(f"{fr.write} = {fr.read}")]
            fr.read = fr.write
            return out
        return []

    def end_branch(self, sub: _Frame) -> list:
        if sub.read != sub.write:
            return [Stmt(f"{sub.write} = {sub.read}")]
        return []

    def if_chain(self, s: ast.If, fn, fr, word) -> list:
        sub = _Frame(fr.read, fr.write, fr.depth, True, fr.collected)
        body = self.body(s.body, fn, sub)
        if not (body and body[-1].text.startswith(("return", "raise"))):
            body += self.end_branch(sub)
        out = [Stmt(f"{word} {self.expr(s.test, fn, fr)}", body or [Stmt("pass")])]
        if len(s.orelse) == 1 and isinstance(s.orelse[0], ast.If):
            out += self.if_chain(s.orelse[0], fn, fr, "elif")
        elif s.orelse:
            sub = _Frame(fr.read, fr.write, fr.depth, True, fr.collected)
            body = self.body(s.orelse, fn, sub)
            if not (body and body[-1].text.startswith(("return", "raise"))):
                body += self.end_branch(sub)
            out.append(Stmt("else", body or [Stmt("pass")]))
        return out

    def returns(self, fn: _Fn, value: str) -> list:
        if fn.kind == "model":
            out = []
            if fn.collection and fn.end_points:
                out.append(Stmt("end_points = {**slim.utils.convert_collection_to_dict(end_points_collection), "
                                "**end_points}"))
            elif fn.collection:
                out.append(Stmt("end_points = slim.utils.convert_collection_to_dict(end_points_collection)"))
            elif not fn.end_points:
                out.append(Stmt("end_points = {}"))
            return out + [Stmt(f"return {value}, end_points")]
        if fn.block_collected:
            fn.uses_sc = True
            return [Stmt(f"return slim.utils.collect_named_outputs(outputs_collections, sc.name, {value})")]
        return [Stmt(f"return {value}")]

    def endpoint(self, key: str, key_node, value: str, fn: _Fn, fr: _Frame, span) -> list:
        if fn.until is None:
            return [Stmt(f"end_points[{key}] = {value}")]
        simple = isinstance(key_node, ast.Const) or isinstance(key_node, ast.ScopePath)
        out = []
        if not simple:
            out.append(Stmt(f"end_point = {key}"))
            key = "end_point"
        out.append(Stmt(f"end_points[{key}] = {value}"))
        stop = self.returns(fn, value) if fn.kind == "model" else [Stmt(f"return {value}")]
        out.append(Stmt(f"if {fn.until} == {key}", stop))
        return out

    def scope(self, s: ast.Scope, fn: _Fn, fr: _Frame, target: str | None = None, slim_target=None) -> list:
        if isinstance(s.name, ast.ScopePath):
            ctx = [f"tf.compat.v1.variable_scope({py_str(s.name.path)})"]
        else:
            ctx = [f"tf.compat.v1.variable_scope({self.expr(s.name.expr, fn, fr)}, 'Scope')"]
        if s.defaults is not None:
            ctx += self.defaults_ctx(s.defaults, fn, fr)
        start = fn.names[s.from_name] if s.from_name else fr.read
        out = []
        write = fr.write
        if target is not None:
            write = target
            if slim_target in _names_in(s.body, set()):
                write = self._fresh(slim_target, set(fn.names.values()), force=True)
        inner = _Frame(start, write, fr.depth + 1, False, fr.collected)
        body = self.body(s.body, fn, inner)
        if target is not None:
            if inner.read != write:
                body.append(Stmt(f"{write} = {inner.read}"))
        else:
            fr.read = inner.read
        out.append(Stmt(f"with {', '.join(ctx)}", body or [Stmt("pass")], self.at(s.span)))
        if target is not None and write != target:
            out.append(Stmt(f"{target} = {write}"))
        return out

    # ------------------------------------------------------------ layers --
    def form(self, s: ast.Layer, kind, block, fn: _Fn) -> str:
        """The statement's form (bind.py): as elaboration built it, or as the text says where it was
        never elaborated."""
        seen = self.prog.forms.get(id(s))
        if seen and len(seen) > 1:
            raise _err("E512", f"`{s.kind}` is built as {' and as '.join(sorted(seen))} by different calls: "
                       "the emitted Python has one spelling for it", s.span,
                       ["help: pass the same kind of value (a list, or a single value) in every call"])
        if seen:
            return next(iter(seen))
        first_is_list = bool(s.args) and bind.static_is_list(s.args[0], fn.list_names | self.global_lists)
        return bind.form_of(kind, block, len(s.args), first_is_list, s.repeat)

    def layer(self, s: ast.Layer, fn: _Fn, fr: _Frame, target: str | None = None) -> list:
        kind = LAYERS.get(s.kind)
        block = self.prog.blocks.get(s.kind)
        if kind is None and block is None and s.kind in self.prog.models:
            return self.model_call(s, self.prog.models[s.kind], fn, fr, target)
        if kind is not None and kind.outputs == "list" and (target is None or s.repeat or s.endpoint):
            from .evaluate import _unnamed_parts

            raise _unnamed_parts(s)
        inp = fn.names[s.from_name] if s.from_name else fr.read
        scope = None
        if s.as_name is not None:
            scope = py_str(s.as_name.path) if isinstance(s.as_name, ast.ScopePath) else self.expr(s.as_name.expr, fn, fr)
        if block is not None:
            names = [p.name for p in block.params]
            py_positional = names
            fname = block.name
            kw_name = lambda n: n  # noqa: E731
            if block.inline and scope is not None and "scope" not in names:
                raise _err("E231", f"inline block `{block.name}` takes no `as` name: it declares no `scope` "
                           "parameter", s.as_name.span)
        else:
            names = [p.name for p in kind.params]
            py_positional = list(kind.positional)
            fname = kind.fn
            if fname.startswith("plugins."):
                raise _err("E521", f"`{kind.name}` is a layer a plugin registered: the emitted module has no "
                           "Python for it", s.span,
                           ["help: build this model with `slimlang train --plugin FILE.py` or, from Python, "
                            "slimlang.load_plugin then slimlang.load"])
            kw_name = lambda n: kind.param(n).py_name  # noqa: E731
        stack = self.form(s, kind, block, fn) == bind.STACK
        what = bind.describe(kind, block)
        given = {bind.keyword(kind, kw.name): kw.value for kw in s.kwargs}
        kw_spans = {bind.keyword(kind, kw.name): kw.span for kw in s.kwargs}
        if stack and isinstance(s.args[0], ast.ListExpr):
            for item in s.args[0].items:  # each item is one call's positional arguments
                item_args = item.items if isinstance(item, (ast.ListExpr, ast.TupleExpr)) else (item,)
                bind.arguments(what, names, item_args, given, s.span, kw_spans)
        bound = bind.arguments(what, names, () if stack else s.args, given, s.span, kw_spans)

        def spelled(bound, n_positional, frame=fr):
            """Positionally while the arguments follow the function's own positional parameters and no
            `defaults` set them (arg_scope passes those by keyword), then by keyword."""
            pos, kws = [], {}
            for j, (n, e) in enumerate(bound.items()):
                src = self.expr(e, fn, frame, arg=True)
                if not kws and j < n_positional and self.positional_ok(s.kind, n, j, py_positional):
                    pos.append(src)
                else:
                    kws[kw_name(n)] = src
            return pos, kws

        pos, kws = spelled(bound, 0 if stack else len(s.args))
        if kind is not None and kind.call_param and not stack:
            # the function called is the argument's value: `activation activation_fn` is activation_fn(net)
            key = kw_name(kind.call_param)
            fname = kws.pop(key) if key in kws else pos.pop(0)
            if not all(part.isidentifier() for part in fname.split(".")):
                fname = f"({fname})"
        if kind is not None and kind.name in fr.collected and _can_normalize(kind.name):
            kws["outputs_collections"] = "end_points_collection"
        elif kind is not None and fn.kind != "model" and kind.name in self.facts.normalizers(fn.node.name):
            kws["outputs_collections"] = f"end_points_collection if {py_str(kind.name)} in collect_normalizers else None"
        if kind is not None and not stack:
            for p in kind.params:
                if p.always and p.name not in bound:  # the TF function has no default for it
                    kws[kw_name(p.name)] = py_literal(p.default)
        sinks = []
        if block is not None:
            if self.facts.collects(block.name):
                sinks.append("end_points_collection=end_points_collection")
            if self.facts.normalizers(block.name):
                here = sorted(k for k in fr.collected if _can_normalize(k))
                inherited = [] if fn.kind == "model" or not self.facts.normalizers(fn.node.name) else ["collect_normalizers"]
                mine = f"({', '.join(py_str(k) for k in here)},)" if here else ""
                sinks.append("collect_normalizers=" + (" + ".join(inherited + [mine] if mine else inherited) or "()"))
            if self.facts.endpoints(block.name):
                sinks.append("end_points=end_points")
                if fn.until is not None:
                    sinks.append(f"final_endpoint={fn.until}")
        kw_src = [f"{k}={v}" for k, v in kws.items()] + sinks
        out_var = target if target is not None else fr.write
        lines = []
        unused = target is not None and not s.endpoint and target not in {fn.names.get(n) for n in fn.read_names}
        if stack or s.repeat:
            if (block is not None and fn.until is not None and self.facts.endpoints(block.name)
                    and self.facts.any_until):
                raise _err("E509", "a repeated or stacked block that records end points cannot stop at the "
                           "model's `until` end point in Python; write the calls out", s.span)
            if stack and not isinstance(s.args[0], ast.ListExpr) and kind is not None and any(
                    (kind.name, n) in self.touched for n in names):
                # A list value whose items may give an argument `defaults` also set: slim.stack would pass
                # it twice (positionally, and by keyword from arg_scope).  The items are bound to their
                # names, as the graph lowering binds them, in the loop slim.stack would run.
                keys = ", ".join(py_str(kw_name(n)) for n in names)
                base = scope if scope is not None else py_str(kind.repeat_name)
                item = "stack_item if isinstance(stack_item, (list, tuple)) else (stack_item,)"
                # The keyword arguments are values of the statement's input, read before the loop
                # replaces the current tensor (as slim.stack evaluates them once).
                sfr = _Frame("stack_input", fr.write, fr.depth, fr.control, fr.collected)
                in_kws = {**kws, **spelled(bound, 0, sfr)[1]}
                in_src = [f"{k}={v}" for k, v in in_kws.items()] + sinks
                call = (f"{fname}({out_var}, **dict(zip(({keys},), {item})), "
                        + "".join(f"{a}, " for a in in_src) + f"scope={base} + '_' + str(stack_i))")
                body = [Stmt(f"for stack_i, stack_item in enumerate({self.expr(s.args[0], fn, fr, arg=True)}, 1)",
                             [Stmt(f"{out_var} = {call}")])]
                lines += self.stack_scope(body, inp, out_var, scope, s.span)
                return self.after_call(s, fn, fr, target, out_var, scope, block, lines)
            if stack and not isinstance(s.args[0], ast.ListExpr):
                # a list value (`let sizes = [32, 64]` ... `fc sizes`): slim.stack takes it as it is
                args = [inp, fname, self.expr(s.args[0], fn, fr, arg=True)] + kw_src
                call = f"slim.stack({', '.join(args)}"
            elif stack and self.stack_must_unroll(s, names, py_positional):
                # slim.stack passes each item positionally, which would give an argument twice where
                # `defaults` (arg_scope) also set it: the layers are written out under the scope
                # slim.stack opens, with the names it gives them.
                # Every item's arguments are values of the statement's input (`depth_in`, `net`), as
                # slim.stack evaluates its list once: written out, they read a copy made before the
                # first layer replaces the current tensor.
                body = []
                sfr = _Frame("stack_input", fr.write, fr.depth, fr.control, fr.collected)
                kws.update(spelled(bound, 0, sfr)[1])
                extra_kws = kws
                for i, item in enumerate(s.args[0].items, 1):
                    item_args = item.items if isinstance(item, (ast.ListExpr, ast.TupleExpr)) else (item,)
                    ipos, ikws = spelled(bind.arguments(what, names, item_args, given, s.span, kw_spans),
                                         len(item_args), sfr)
                    if scope is None:
                        iscope = py_str(f"{block.name if block else kind.repeat_name}_{i}")
                    elif isinstance(s.as_name, ast.ScopePath):
                        iscope = py_str(f"{s.as_name.path}_{i}")
                    else:
                        iscope = f"{scope} + {py_str(f'_{i}')}"
                    extra = [f"{k}={v}" for k, v in extra_kws.items() if k not in ikws] + sinks
                    body.append(Stmt(f"{out_var} = {fname}({', '.join([out_var] + ipos + [f'{k}={v}' for k, v in ikws.items()] + extra + [f'scope={iscope}'])})"))
                lines += self.stack_scope(body, inp, out_var, scope, s.span)
                return self.after_call(s, fn, fr, target, out_var, scope, block, lines)
            elif stack:
                items = []
                for item in s.args[0].items:
                    src = self.expr(item, fn, fr, arg=True)
                    if isinstance(item, (ast.ListExpr, ast.TupleExpr)):
                        src = "(" + ", ".join(self.expr(i, fn, fr, arg=True) for i in item.items) + \
                              ("," if len(item.items) == 1 else "") + ")"
                    elif isinstance(item, ast.Kernel):
                        src = f"({src},)"
                    items.append(src)
                args = [inp, fname, "[" + ", ".join(items) + "]"] + kw_src
                call = f"slim.stack({', '.join(args)}"
            else:
                call = f"slim.repeat({', '.join([inp, str(s.repeat), fname] + pos + kw_src)}"
            call += f", scope={scope})" if scope is not None else ")"
        else:
            if block is None and kind.inputs == "none":
                if scope is None:
                    raise _err("E232", f"`{kind.name}` needs a name: add `as NAME`", s.span)
                first = [scope]
            elif block is None and kind.inputs == "list":
                first = []
            else:
                first = [inp]
            tail = []
            if scope is not None and (block is not None or kind.inputs != "none" and kind.scope_kw):
                tail = [f"{'scope' if block is not None else kind.scope_kw}={scope}"]
            call = f"{fname}({', '.join(first + pos + kw_src + tail)})"
        # A named tensor nothing reads is still built (as the evaluator does), without a dead variable.
        lines.append(Stmt(call if unused else f"{out_var} = {call}", None, self.at(s.span)))
        return self.after_call(s, fn, fr, target, out_var, scope, block, lines)

    def model_call(self, s: ast.Layer, model: ast.Model, fn: _Fn, fr: _Frame, target) -> list:
        """A model used as a layer: its function called as from Python, `net, end_points = model(...)`;
        its end points join this function's (see Evaluator.call_model)."""
        inp = fn.names[s.from_name] if s.from_name else fr.read
        names = [p.name for p in model.params[1:]]
        bound = bind.arguments(f"model `{model.name}`", names, s.args, {kw.name: kw.value for kw in s.kwargs},
                               s.span, {kw.name: kw.span for kw in s.kwargs})
        scope = None
        if s.as_name is not None:
            scope = py_str(s.as_name.path) if isinstance(s.as_name, ast.ScopePath) else self.expr(s.as_name.expr, fn, fr)
            bound.pop("scope", None)  # `as NAME` is the scope, as in the graph lowering
        args = [inp] + [f"{n}={self.expr(e, fn, fr)}" for n, e in bound.items()]
        if scope is not None:
            args.append(f"scope={scope}")
        out_var = target if target is not None else fr.write
        lines = [Stmt(f"{out_var}, model_end_points = {model.name}({', '.join(args)})", None, self.at(s.span)),
                 Stmt("end_points.update(model_end_points)")]
        if fn.until is not None:
            value = f"end_points[{fn.until}]"
            stop = self.returns(fn, value) if fn.kind == "model" else [Stmt(f"return {value}")]
            lines.append(Stmt(f"if {fn.until} in model_end_points", stop))
        return self.after_call(s, fn, fr, target, out_var, scope, None, lines)

    def stack_scope(self, body: list, inp: str, out_var: str, scope, span) -> list:
        """A stack's layers written out (`body`) under the variable scope slim.stack opens; the
        statement's input is kept as `stack_input` when the items' arguments read it."""
        lines = []
        if any("stack_input" in line for b in body for line in _texts(b)):
            lines.append(Stmt(f"stack_input = {inp}"))
        if out_var != inp:
            lines.append(Stmt(f"{out_var} = {inp}"))
        lines.append(Stmt(f"with tf.compat.v1.variable_scope({scope if scope is not None else 'None'}, "
                          f"'Stack', [{out_var}])", body, self.at(span)))
        return lines

    def positional_ok(self, kind_name: str, name: str, j: int, py_positional) -> bool:
        """Whether the argument for parameter `name`, j-th in a call, can be passed positionally."""
        return j < len(py_positional) and py_positional[j] == name and (kind_name, name) not in self.touched

    def stack_must_unroll(self, s: ast.Layer, names, py_positional) -> bool:
        """A stack of literal items one of which would pass an argument positionally that slim.stack's
        call cannot take that way (a `defaults` rule sets it, or the function takes it by keyword only)."""
        for item in s.args[0].items:
            item_args = item.items if isinstance(item, (ast.ListExpr, ast.TupleExpr)) else (item,)
            if any(not self.positional_ok(s.kind, names[j], j, py_positional)
                   for j in range(min(len(item_args), len(names)))):
                return True
        return False

    def after_call(self, s: ast.Layer, fn: _Fn, fr: _Frame, target, out_var: str, scope, block, lines) -> list:
        """What follows a layer statement's call: an early return at `until`, the new current tensor,
        its end point."""
        if block is not None and fn.until is not None and self.facts.endpoints(block.name):
            stop = self.returns(fn, out_var) if fn.kind == "model" else [Stmt(f"return {out_var}")]
            lines.append(Stmt(f"if {fn.until} in end_points", stop))
        if target is None:
            fr.read = fr.write
        if s.endpoint:
            if scope is None:
                raise _err("E506", "`endpoint` on a layer without `as NAME`: name it so the end point has a "
                           "key the emitted Python can spell", s.span)
            lines += self.endpoint(scope, s.as_name, out_var, fn, fr, s.span)
        return lines

    # --------------------------------------------------------- functions --
    def block_fn(self, b: ast.Model) -> FunctionView:
        self.check_name(b.name, b.name_span, "block")
        extra = {"inputs", "final_endpoint"} | ({"scope"} if not b.inline else set())
        params = ["inputs"] + self.params(b.params, "block parameter", extra, {"scope"} if b.inline else ())
        fn = _Fn(b, "inline" if b.inline else "block", self.local_names(b, ["inputs"] + [p.name for p in b.params]))
        fn.list_names = bind.list_bound_names(b.params, b.body)
        fn.scope_var = not b.inline
        fn.read_names = _names_in(b.body, set())
        fn.block_collected = b.name in self.facts.collected_blocks
        fn.collection = self.facts.collects(b.name)
        fn.end_points = self.facts.endpoints(b.name)
        if fn.end_points:
            fn.until = "final_endpoint"
        if not b.inline:
            params.append("scope=None")
        if fn.block_collected:
            params.append("outputs_collections=None")
        if fn.collection:
            params.append("end_points_collection=None")
        if self.facts.normalizers(b.name):
            params.append("collect_normalizers=()")
        if fn.end_points:
            params += ["end_points=None", "final_endpoint=None"]
        fr = _Frame("inputs", "net")
        body = self.body(b.body, fn, fr)
        if not (body and body[-1].text.startswith(("return", "raise"))):
            body += self.returns(fn, fr.read)
        pre = self.shadowed_globals(fn, b.params)
        pre += [Stmt("end_points = {} if end_points is None else end_points")] if fn.end_points else []
        if b.inline:
            full = pre + body
        else:
            as_sc = " as sc" if fn.uses_sc else ""
            default = py_str(b.default_scope or b.name)
            full = pre + [Stmt(f"with tf.compat.v1.variable_scope(scope, {default}, [inputs]){as_sc}", body)]
        doc = [f"Block `{b.name}` of {self.file_of(b.span)} (line {b.span.line})"
               + (": inline, it opens no variable scope." if b.inline else ".")]
        if fn.end_points:
            doc += ["", "Records its end points in `end_points`; returns early at `final_endpoint`."]
        lines = _wrap(doc, 80)
        if len(lines) == 1 and len(lines[0]) > 78:  # a one-line docstring holds its closing quotes too
            lines = _wrap(doc, 78)
        return FunctionView(b.name, ["slim.add_arg_scope"], params, lines, full)

    def model_fn(self, m: ast.Model) -> FunctionView:
        self.check_name(m.name, m.name_span, "model")
        if not m.params:
            raise _err("E110", f"model `{m.name}` needs an input parameter first", m.name_span)
        first = m.params[0]
        self.check_name(first.name, first.span, "model input")
        params = [first.name] + self.params(m.params[1:], "model parameter", {"inputs"}, {"scope"})
        declared = {p.name for p in m.params}
        fn = _Fn(m, "model", self.local_names(m, [p.name for p in m.params]))
        fn.list_names = bind.list_bound_names(m.params, m.body)
        fn.names.setdefault("inputs", first.name)
        fn.scope_var = True
        fn.read_names = _names_in(m.body, set())
        fn.collection = self.facts.collects(m.name)
        fn.end_points = self.facts.endpoints(m.name) or m.until is not None
        pre = self.shadowed_globals(fn, m.params)
        if fn.collection:
            fn.uses_sc = True
            pre.append(Stmt("end_points_collection = sc.original_name_scope + '_end_points'"))
        if fn.end_points:
            pre.append(Stmt("end_points = {}"))
        if m.until is not None:
            until = self.expr(m.until, fn, None)
            if not (isinstance(m.until, (ast.Name, ast.Const))):
                pre.append(Stmt(f"final_endpoint_value = {until}"))
                until = "final_endpoint_value"
            fn.until = until
        default = py_str(m.default_scope or m.name)
        if "scope" not in declared:
            params.append(f"scope={'None' if m.inline else default}")
        fr = _Frame(first.name, "net")
        body = self.body(m.body, fn, fr)
        tail = []
        if m.until is not None:
            tail.append(Stmt(f"if {fn.until} is not None",
                             [Stmt(f"raise ValueError('Unknown final endpoint %s' % ({fn.until},))")]))
        if not (body and body[-1].text.startswith(("return", "raise"))):
            tail += self.returns(fn, fr.read)
        reuse = ", reuse=reuse" if "reuse" in declared else ""
        as_sc = " as sc" if fn.uses_sc else ""
        full = [Stmt(f"with tf.compat.v1.variable_scope(scope, {default}, [{first.name}]{reuse}){as_sc}",
                     pre + body + tail)]
        if m.inline:  # it opens no scope of its own, only one the caller names
            opened = (f"tf.compat.v1.variable_scope(scope, values=[{first.name}]{reuse}) if scope else "
                      "contextlib.nullcontext()")
            if fn.uses_sc:  # (`collect` names its collection after the scope: the current one)
                opened = (f"tf.compat.v1.variable_scope(scope or tf.compat.v1.get_variable_scope(), "
                          f"values=[{first.name}]{reuse})")
            full = [Stmt(f"with {opened}{as_sc}", pre + body + tail)]
        shape = self.prog.input_shape(m.name)
        doc = [f"Model `{m.name}` of {self.file_of(m.span)} (line {m.span.line})."]
        if m.uses is not None:
            doc += ["", "Like tf_slim's nets it does not open its defaults itself; build it under them:", "",
                    f"    with slim.arg_scope({self.callref(m.uses, None, None)}):",
                    f"        net, end_points = {m.name}({first.name})"]
        doc += ["", "Args:", f"  {first.name}: a tensor of shape "
                + (f"[batch, {', '.join('None' if d is None else str(d) for d in shape)}]." if shape else
                   "[batch, height, width, channels].")]
        if "scope" not in declared:
            doc.append("  scope: optional variable scope name.")
        doc += ["", "Returns:", "  net: the output tensor.", "  end_points: a dict of the end points by name."]
        after = []
        if shape and len(shape) >= 2 and isinstance(shape[0], int):
            after.append(f"{m.name}.default_image_size = {shape[0]!r}")
        return FunctionView(m.name, [], params, _wrap(doc, 80), full, after)

    def partial_fn(self, p: ast.Partial, m: ast.Model) -> FunctionView:
        """`model mobilenet_v1_075 = mobilenet_v1(depth_multiplier=0.75)`: a function with the
        target's signature and the new defaults that calls the target (functools.partial, spelled
        out so the signature shows)."""
        self.check_name(m.name, m.name_span, "model")
        first = m.params[0].name
        params = [first] + self.params(m.params[1:], "model parameter", {"inputs"}, {"scope"})
        declared = {q.name for q in m.params}
        if "scope" not in declared:
            params.append(f"scope={'None' if m.inline else py_str(m.default_scope or m.name)}")
        passed = [f"{q.name}={q.name}" for q in m.params[1:]] + ([] if "scope" in declared else ["scope=scope"])
        given = ", ".join(f"{kw.name}={self.expr(kw.value, None, None)}" for kw in p.target.kwargs)
        doc = [f"Model `{m.name}` of {self.file_of(p.span)} (line {p.span.line}): `{p.target.name}` with "
               f"{given or 'its own defaults'}."]
        body = [Stmt(f"return {p.target.name}({', '.join([first] + passed)})")]
        after = []
        shape = self.prog.input_shape(m.name)
        if shape and len(shape) >= 2 and isinstance(shape[0], int):
            after.append(f"{m.name}.default_image_size = {shape[0]!r}")
        return FunctionView(m.name, [], params, _wrap(doc, 80), body, after)

    # ------------------------------------------------------------ module --
    def module(self, train: bool = False) -> ModuleView:
        functions = []
        # imported definitions first (imports.py orders them as they evaluate): one self-contained module
        for item in (*self.prog.imported, *self.prog.module.items):
            if isinstance(item, ast.DefaultsDef):
                functions.append(self.defaults_fn(item))
            elif isinstance(item, ast.Model) and item.is_block:
                functions.append(self.block_fn(item))
            elif isinstance(item, ast.Model):
                functions.append(self.model_fn(item))
            elif isinstance(item, ast.Partial) and item.is_block:
                functions.append(self.block_fn(self.prog.blocks[item.name]))
            elif isinstance(item, ast.Partial):
                functions.append(self.partial_fn(item, self.prog.models[item.name]))
        views = {name: self.global_fn(name, f.node) for name, f in self.global_fns.items()}
        functions = list(views.values()) + functions
        constants = []
        for name, value in self.prog.globals.items():
            if name in self.global_fns:
                continue
            if isinstance(value, Function) and value.node.name in views:  # let g = f: after f's def
                views[value.node.name].after.append(code_line(f"{self.globals[name]} = {self.globals[value.node.name]}"))
                continue
            try:
                constants.append(f"{self.globals[name]} = {py_literal(value)}")
            except TypeError:
                raise _err("E510", f"the value of `{name}` has no Python spelling", None) from None
        models = list(self.prog.models)
        doc = [f"TF-Slim model definitions compiled by slimlang from {self.file}.", ""]
        if models:
            doc.append("Models: " + ", ".join(models) + ".  Each returns `net, end_points` like tf_slim.nets;")
            doc.append("build it under its defaults' arg_scope, as the model docstrings show.")
            doc.append("")
        doc.append(f"Generated code: edit {self.file} and run `slimlang build {self.file} --emit py` again.")
        tail = []
        if train:
            from .emit_train import TrainEmitter, docstring_lines

            more_constants, more_functions, tail = TrainEmitter(self).functions()
            if more_functions:
                doc += docstring_lines(self.file)
            constants += more_constants
            functions += more_functions
        return ModuleView(_wrap(doc, 84), self.uses_math, True, True, constants, functions, tail=tail,
                          train=bool(tail))


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    here = Path(__file__).resolve().parent.parent / "templates"
    loader = jinja2.FileSystemLoader(str(here)) if (here / "module.py.j2").exists() else \
        jinja2.PackageLoader("slimlang", "templates")
    try:  # compiled templates kept between runs (Jinja's per-user cache directory): ~0.1 s a process
        cache = jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        cache = None
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True,
                              # every printed value must be Code/Doc (finalize); autoescape makes macro output
                              # Markup, so a raw string can never be joined in unchecked
                              autoescape=True, finalize=_finalize, bytecode_cache=cache)


def _used_names(source: str) -> set:
    """Every global name the code reads or binds (attribute names too: harmless for deciding imports).

    From the compiled code objects rather than an AST walk: a third faster on large modules."""
    names, stack = set(), [compile(source, "<emitted>", "exec")]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if isinstance(c, type(code)))
    return names


# black's time grows faster than the module: ~0.7 s for 200 definitions, ~12 s for 2,000 and over a
# minute for 10,000.  A larger file is emitted as the templates lay it out (valid, compiled, only
# less tidy), so `--emit py` stays a matter of seconds on any input.
BLACK_MAX_ITEMS = 300


def _black_format(text: str) -> str:
    """`black.format_str(text)`, remembered in the user's cache directory.

    Importing black and formatting a network is most of a `build --emit py`;
    the result depends only on the text and the installed black, so both are
    the key.  The cache is per user
    (never a shared temporary directory: its files become the user's code).
    """
    import hashlib
    import importlib.util
    import os

    try:
        origin = importlib.util.find_spec("black").origin or ""
        stamp = f"{origin}:{os.stat(origin).st_mtime_ns}"
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "slimlang" / "black"
        entry = base / (hashlib.sha256(f"{stamp}\0{text}".encode()).hexdigest() + ".py")
    except (OSError, AttributeError, ValueError, RuntimeError):
        entry = None
    if entry is not None and entry.is_file():
        try:
            return entry.read_text(encoding="utf-8")
        except OSError:
            pass
    import black

    out = black.format_str(text, mode=black.Mode())
    if entry is not None:
        try:
            import tempfile

            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=str(entry.parent), suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(out)
            os.replace(tmp, entry)
        except OSError:
            pass
    return out


def emit_module(program, train: bool = False) -> str:
    """The TF-Slim Python module for a checked Program (deterministic, formatted, compiled)."""
    em = Emitter(program)
    view = em.module(train=train)
    env = _environment()
    # Render once to learn which imports the code uses (no unused imports for ruff/pyflakes).
    probe = env.get_template("module.py.j2").render(m=view)
    used = _used_names(probe)
    # builtins TensorFlow has no function for (hard_swish) are defined in the module, once
    view.helpers = [Code(source) for name, source in HELPERS.items() if name in used]
    view.import_tf = "tf" in used or bool(view.helpers)
    view.import_slim = "slim" in used or any("slim." in h for h in view.helpers)
    view.imports_math = "math" in used
    stdlib = ("contextlib", "logging", "math", "os", "re", "sys", "time", "warnings")
    # (a model's own code needs at most math, and contextlib for an `inline model`)
    own = ("contextlib", "math") if "contextlib" in used else ()
    if view.train or own:  # one sorted import block
        view.imports_math = False
    view.extra_imports = [line for name, line in [(n, f"import {n}") for n in stdlib] + [("np", "import numpy as np")]
                          if name in used and (view.train or name in own)]
    text = env.get_template("module.py.j2").render(m=view)
    try:
        if len(program.module.items) <= BLACK_MAX_ITEMS:
            text = _black_format(text)
    except Exception as e:  # a bug in the emitter, never the user's
        raise RuntimeError(f"slimlang emitted invalid Python for {program.source_name}: {e}\n{text}") from e
    compile(text, f"<emitted from {program.source_name}>", "exec")
    return text
