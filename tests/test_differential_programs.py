"""Differential testing beyond examples/ (issue 14): generated .slim programs, built both ways.

A hypothesis strategy writes valid .slim programs over every layer kind of the
layer table and every form of a layer statement (single, `xN`, stacks such as
`fc [3, 4]`, `conv [3, 4] kernel_size=3x3` and `conv [(3, 3x3), (4, 1x1, 2)]`,
lists bound by `let`, block and inline block calls, repeated and stacked
blocks), `defaults` (named blocks with parameters and `use`, `uses` on the
model, `defaults` statements nested and overriding, `scope ... defaults`,
defaults for blocks, per-layer overrides, TF-Slim spellings such as
`activation_fn=`), scopes, named tensors and `from`, branches joined by
`concat`, residual `add`, `for` loops, `if` / `else if` chains on parameters
and static shapes (`depth_in`, `shape(net)`), `let` values (also rebound) and
functions (top level and in bodies), end points (`endpoint`, `collect`,
`as NAME endpoint`, `until`) and `return` at every nesting, models that call
models (the generated model used as a layer of another, under its `as` name
or its default scope, its end points joining the caller's) and partial models
(`model m = inner(final_endpoint="...")`).

Programs are valid by construction: the generator tracks the current tensor's
static shape (concretely in the model body; inside block and loop bodies, which
run with values not known when they are written, as a linear form over their
parameters) and the geometry the `defaults` in force give each layer; sizes
stay tiny.  Every program must pass `check_text`.  Its model is then built
through `slimlang.load` and through the module `emit_module` writes
(tests/test_emit.py's builders, under the model's own defaults), and the two
must agree on test_emit's facts (global, model and trainable variables with
shapes, regularization losses, update ops, end point names and shapes, output
shape) and on the values of the output and of every end point
(conformance._compare_values: random weights copied by name, non-trivial
batch-norm moving statistics).

Three tests share the strategy with different parts switched on, so that a
disagreement in one area does not hide the others: layers, forms and defaults;
blocks and control flow; everything (end points, `return`, `until`).  The
cases known to disagree are parts too (KNOWN); SLIMLANG_DIFF_WITHOUT=a,b
leaves them out, to look past them while fixing.  Shrinking is off, so a
failure costs seconds (the failing program is printed in full);
SLIMLANG_DIFF_SHRINK=1 shrinks it (a minute or so).  The regression tests at
the end are the cases issue 14 names.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conformance import _compare_values
from hypothesis import HealthCheck, Phase, given, note, reject, settings
from hypothesis import strategies as st
from test_emit import _build_direct, _build_emitted, _facts, _import, _input_shape

from slimlang.checker import check_text
from slimlang.diagnostics import SlimError
from slimlang.emit import emit_module
from slimlang.layers import LAYERS

# ----------------------------------------------------------------- forms ---


class Form:
    """A channel count inside a block or loop body: const + sum(coefficient * symbol).

    Symbols are block parameters, loop variables and the channels a block or loop
    iteration starts from; the count is known only when the body is applied."""

    __slots__ = ("const", "terms")

    def __init__(self, terms, const=0):
        self.terms = tuple(sorted((k, v) for k, v in dict(terms).items() if v))
        self.const = const

    @staticmethod
    def make(terms, const=0):
        f = Form(terms, const)
        return f.const if not f.terms else f

    @staticmethod
    def sym(name):
        return Form({name: 1})

    def _parts(self):
        return dict(self.terms), self.const

    def __add__(self, other):
        terms, const = self._parts()
        if isinstance(other, Form):
            for k, v in other.terms:
                terms[k] = terms.get(k, 0) + v
            return Form.make(terms, const + other.const)
        return Form.make(terms, const + other)

    __radd__ = __add__

    def __mul__(self, k):
        assert isinstance(k, int) and not isinstance(k, Form)
        return Form.make({s: v * k for s, v in self.terms}, self.const * k)

    __rmul__ = __mul__

    def __eq__(self, other):
        return isinstance(other, Form) and (self.terms, self.const) == (other.terms, other.const)

    def __hash__(self):
        return hash((self.terms, self.const))

    def __repr__(self):
        return " + ".join([f"{v}*{k}" for k, v in self.terms] + [str(self.const)])


def subst(value, env):
    """A Form (or int) with symbols replaced by ints or Forms."""
    if not isinstance(value, Form):
        return value
    out = value.const
    for k, v in value.terms:
        out = out + (env[k] if k in env else Form.sym(k)) * v
    return out


def spell(value, spelling) -> str | None:
    """.slim text for a channel count (None when a symbol has no name here)."""
    if not isinstance(value, Form):
        return str(value)
    parts = []
    for k, v in value.terms:
        if k not in spelling:
            return None
        parts.append(spelling[k] if v == 1 else f"{spelling[k]} * {v}")
    if value.const:
        parts.append(str(value.const))
    return " + ".join(parts)


# ----------------------------------------------------------------- state ---

TAG_IN = "in"  # inside a block or loop body: the spatial size the body started from
TAG_DS = "in/stride"  # inside a block: that size after one downsampling by its `stride` parameter


@dataclass(frozen=True)
class Shape:
    """The current tensor without its batch: (h, w, c), or (c,) when h is None."""

    h: object  # int in a model body; TAG_IN / TAG_DS in block and loop bodies; None: rank 2
    w: object
    c: object  # int, or a Form in block and loop bodies

    @property
    def rank(self):
        return 2 if self.h is None else 4


UNKNOWN = object()  # a value the generator does not track (a parameter of unknown value, a tensor)


@dataclass
class LetFn:
    """A `let` function: how to apply it while generating, and whether it is linear (usable on Forms)."""

    py: object
    linear: bool


@dataclass
class Ctx:
    """Where a statement is being generated."""

    shape: Shape
    tensors: dict  # name -> Shape of the named tensors usable here
    env: dict  # name -> value of lets, parameters and loop variables (int, bool, str, Form, LetFn, UNKNOWN)
    spelling: dict  # Form symbol -> its .slim text here
    defaults: dict  # kind -> {argument: value}: the `defaults` in force (known in model bodies only)
    symbolic: bool  # a block or loop body: geometry written out, channels as Forms
    naming: str  # "unique": constant `as` names; "loop": names built with loop_key; "none": no constant names
    fn: str = "model"  # model | block | inline
    loop_key: str = ""  # a .slim expression with a distinct value in every iteration (`str(i3)`)
    scope_param: bool = False  # an inline block whose `as (scope)` is still unused
    depth: int = 0
    control: bool = False  # inside an if or for body
    no_return: bool = False  # inside `t = scope ... { }`
    returned: bool = False
    dead: bool = False  # code that never runs (an untaken branch, after `return`)
    until_keys: list = field(default_factory=list)  # constant end point keys the model records, in order

    def copy(self, **kw):
        out = Ctx(**{**self.__dict__, "tensors": dict(self.tensors), "env": dict(self.env),
                     "spelling": dict(self.spelling), "defaults": {k: dict(v) for k, v in self.defaults.items()}})
        for k, v in kw.items():
            setattr(out, k, v)
        return out


@dataclass
class Block:
    name: str
    inline: bool
    params: list  # (name, role, default text or None); roles: n, stride, k, flag, act, scope
    out: Shape  # over TAG_IN / TAG_DS and Forms in "c_in" and "n"
    records_endpoints: bool
    built: int = 1  # layers one call builds

    @property
    def roles(self):
        return {p: role for p, role, _ in self.params}


@dataclass
class Program:
    text: str
    model: str = "m"

    def __repr__(self):  # hypothesis prints the text itself, via note()
        return f"Program(<{self.text.count(chr(10))} lines, below>)"


ALL = frozenset({
    "layers", "forms", "defaults", "named_defaults", "scopes", "named", "branches", "residual", "lets",
    "functions", "blocks", "inline", "loops", "ifs", "endpoints", "collect", "returns", "until", "models",
    # cases known to disagree (issue 14 and the search for this file), each switchable so that a
    # search can look past them
    "pool_list_kernel", "let_stack", "return_nested", "add_keyword", "collect_normalizer", "concat_no_axis",
    "normalizer_defaults_activation", "stack_positional_defaults", "rebind_global", "repeat_recording_block_in_block",
})
KNOWN = frozenset({"pool_list_kernel", "let_stack", "return_nested", "add_keyword", "collect_normalizer",
                   "concat_no_axis", "normalizer_defaults_activation", "stack_positional_defaults", "rebind_global",
                   "repeat_recording_block_in_block"})

ACTIVATIONS = ["relu", "none", "tanh", "relu6", "elu", "sigmoid", "leaky_relu", "swish", "softplus", "selu",
               "hard_swish", "hard_sigmoid"]
SHAPE_KEEPING = ["relu", "batch_norm", "identity", "dropout", "layer_norm", "softmax", "tanh", "relu6", "elu",
                 "sigmoid", "hard_swish", "hard_sigmoid"]
CONV_KINDS = ("conv", "sep_conv", "conv_t")
GEOMETRY = {"conv": ("stride", "padding", "rate"), "sep_conv": ("stride", "padding", "rate"),
            "conv_t": ("stride", "padding"), "pool": ("stride", "padding"), "avg_pool": ("stride", "padding")}
POOL_KINDS = ("pool", "avg_pool")
VALUES = {"1": 1, "2": 2, "[2, 1]": (2, 1), "SAME": "SAME", "VALID": "VALID", '"SAME"': "SAME",
          '"VALID"': "VALID", "false": False, "true": True, "none": None, "batch_norm": "batch_norm",
          "layer_norm": "layer_norm"}
# argument-pool names that stand for another argument
ARG_NAME = {"bn_activation": "activation", "ln_activation": "activation", "dropout_training": "is_training"}
MAX_LAYERS = 14  # layer statements in the model
MAX_LAYERS_BLOCK = 6  # layer statements in a block
MAX_BUILT = 24  # layers one model builds (repeats, stacks, loops and block calls multiplied out)
MAX_BUILT_BLOCK = 8  # layers one call of a block builds
MAX_SIZE = 10  # spatial sizes stay small


def _indent(lines):
    return ["  " + line for text in lines for line in text.split("\n")]


# ------------------------------------------------------------- generator ---


class Gen:
    """Writes one program.  Every choice goes through `draw`, so hypothesis replays and shrinks it;
    each choice shrinks towards the simpler program (first option, smaller number, feature off)."""

    def __init__(self, draw, features):
        self.draw = draw
        self.f = features
        self.count = 0
        self.layers = 0
        self.blocks: dict = {}
        self.named_defaults: dict = {}  # name -> (params, lines); a line: ("use", name) or (kinds, {arg: value})
        self.globals: dict = {}  # top-level lets
        self.no_until = False  # a repeated or stacked block that records end points (emit's E509)
        self.roles: dict = {}  # parameter -> role, while a block body is generated
        self.records = False  # the block being generated records end points
        self.captured: set = set()  # names a let function reads (not rebound, so its value is known)
        self.one_statement = False  # layer() must write one layer statement (after `t =`, before `from t`)
        self.built = 0  # layers the model (or the block being written) builds, so far
        self.mult = 1  # how many times the statement being written runs (loops)

    # ---- choices ----
    def pick(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def num(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def maybe(self, pct):
        return self.draw(st.integers(0, 99)) >= 100 - pct

    def on(self, *features):
        return all(f in self.f for f in features)

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def charge(self, n):
        self.built += n * self.mult

    def room(self, ctx):
        """How many more layers the model (or the block being written) may build."""
        return (MAX_BUILT if ctx.fn == "model" else MAX_BUILT_BLOCK) - self.built

    # ---- names ----
    def as_name(self, ctx, required=False, pct=45) -> str:
        """` as NAME` (or "") under this body's naming rule."""
        if ctx.naming == "none":
            if ctx.scope_param and (required or self.maybe(pct)):
                ctx.scope_param = False
                return " as (scope)"
            return ""
        if not (required or self.maybe(pct)):
            return ""
        name = self.fresh("L")
        if ctx.naming == "loop":
            return f' as ("{name}_" + {ctx.loop_key})'
        style = self.pick(["path", "string", "sub", "expr"])
        return {"path": f" as {name}", "string": f' as "{name}"', "sub": f" as {name}/sub",
                "expr": f' as ("{name}")'}[style]

    def suffix(self, ctx, text, kind):
        """` as NAME`, sometimes with ` endpoint`, after a layer."""
        name = self.as_name(ctx)
        if name and ctx.naming != "none" and self.on("endpoints") and self.maybe(20):
            self.records = True
            if not ctx.symbolic and not ctx.dead and name.startswith(" as L") and name[4:].isidentifier():
                ctx.until_keys.append(name[4:])
            return text + name + " endpoint"
        return text + name

    # ---- values ----
    @staticmethod
    def ok_channels(v, hi=8):
        if isinstance(v, Form):
            return v.const >= 0 and all(c > 0 for _, c in v.terms) and sum(c for _, c in v.terms) <= 2
        return type(v) is int and 1 <= v <= hi

    def int_names(self, ctx):
        return sorted(k for k, v in ctx.env.items() if (isinstance(v, Form) or type(v) is int)
                      and self.ok_channels(v))

    def functions(self, ctx):
        return sorted(k for k, v in ctx.env.items() if isinstance(v, LetFn) and (v.linear or not ctx.symbolic))

    def channels(self, ctx):
        """(text, value) of a channel count: a literal, a name, arithmetic, depth_in or a call."""
        names = self.int_names(ctx)
        options = ["literal"] + (["name", "arith"] if names else [])
        if self.ok_channels(ctx.shape.c):
            options.append("depth_in")
        if self.functions(ctx):
            options.append("call")
        how = self.pick(options)
        if how == "name":
            n = self.pick(names)
            return n, ctx.env[n]
        if how == "arith":
            n = self.pick(names)
            op = self.pick(["+ 1", "* 2"])
            value = ctx.env[n] + 1 if op == "+ 1" else ctx.env[n] * 2
            if self.ok_channels(value, 10):
                return f"{n} {op}", value
        if how == "depth_in":
            return self.pick(["depth_in", "depth(net)"]), ctx.shape.c
        if how == "call":
            f = self.pick(self.functions(ctx))
            arg_text, arg = "2", 2
            if names and self.maybe(50):
                arg_text = self.pick(names)
                arg = ctx.env[arg_text]
            value = ctx.env[f].py(arg)
            if self.ok_channels(value, 10):
                return f"{f}({arg_text})", value
        v = self.num(1, 5)
        return str(v), v

    # ---- defaults ----
    def effective(self, ctx, kind, arg):
        """The value `defaults` (or the layer table) give `arg` of `kind` here."""
        d = ctx.defaults.get(kind, {})
        if arg in d:
            return d[arg]
        return LAYERS[kind].template.get(arg) if kind in LAYERS else None

    @staticmethod
    def apply_rule(defaults, kinds, args):
        for k in kinds:
            defaults[k] = {**defaults.get(k, {}), **args}

    def apply_named(self, defaults, name):
        for line in self.named_defaults[name][1]:
            if line[0] == "use":
                self.apply_named(defaults, line[1])
            else:
                self.apply_rule(defaults, *line)

    def kind_args(self, kind, geometry, in_defaults):
        """The argument-pool names `kind` takes."""
        if kind in self.blocks:
            return [p for p, role, _ in self.blocks[kind].params
                    if role in ("flag", "act", "k") or role == "stride" and geometry]
        common = ["activation", "weights_initializer", "biases_initializer", "weights_regularizer", "trainable",
                  "normalizer", "normalizer_params", "biases_regularizer"]
        if kind == "conv":
            return common + (["stride", "padding", "rate"] if geometry else [])
        if kind == "sep_conv":
            return common + (["stride", "padding"] if geometry else [])
        if kind == "conv_t":
            return common + (["stride", "padding"] if geometry else [])
        if kind == "fc":
            return common
        if kind in POOL_KINDS:
            return ["stride", "padding"] if geometry else []
        if kind == "batch_norm":
            out = ["decay", "center", "scale", "epsilon", "is_training", "fused", "updates_collections"]
            if not in_defaults or self.on("normalizer_defaults_activation"):
                out.append("bn_activation")
            return out
        if kind == "layer_norm":
            return ["center", "scale"] + (["ln_activation"] if not in_defaults or
                                          self.on("normalizer_defaults_activation") else [])
        if kind == "dropout":
            return ["keep_prob", "dropout_training"]
        return []

    def arg_value(self, ctx, name, kinds):
        """(text, tracked value) for argument-pool entry `name`."""
        if kinds[0] in self.blocks:
            return self.block_arg(self.blocks[kinds[0]].roles[name])
        if name in ("stride",):
            # (asymmetric strides: conv only; depthwise convolutions refuse them)
            t = self.pick(["1", "2", "[2, 1]"] if kinds == ("conv",) else ["1", "2"])
            return t, VALUES[t]
        if name == "padding":
            t = self.pick(["SAME", "VALID", '"SAME"'])
            return t, VALUES[t]
        if name == "rate":
            t = self.pick(["1", "2"])
            return t, VALUES[t]
        if name == "activation":
            t = self.pick(ACTIVATIONS)
            return t, t
        if name == "weights_initializer":
            return self.pick(["xavier()", "truncated_normal(stddev=0.1)", "variance_scaling()", "xavier",
                              "random_normal(stddev=0.2)", "random_uniform(minval=-0.2, maxval=0.2)",
                              "constant(0.1)", 'variance_scaling(factor=2.0, mode="FAN_IN")',
                              "center_identity"]), UNKNOWN
        if name == "biases_initializer":
            t = self.pick(["zeros", "none", "constant(0.1)", "ones"])
            return t, VALUES.get(t, UNKNOWN)
        if name == "weights_regularizer":
            t = self.pick(["l2(0.001)", "l1(0.01)", "l1_l2(0.01, 0.02)", "none"] + (["l2(wd)"] if "wd" in ctx.env
                                                                                  else []))
            return t, UNKNOWN
        if name == "biases_regularizer":
            return self.pick(["l2(0.01)", "none"]), UNKNOWN
        if name in ("trainable", "center", "scale", "fused"):
            t = self.pick(["true", "false"])
            return t, VALUES[t]
        if name == "normalizer":
            options = ["batch_norm", "none"]
            if not ctx.symbolic and not any(self.effective(ctx, k, "normalizer_params") for k in kinds):
                options.append("layer_norm")  # (layer_norm takes no batch-norm normalizer_params)
            t = self.pick(options)
            return t, VALUES[t]
        if name == "normalizer_params":
            training = "is_training" if "is_training" in ctx.env else "false"
            return self.pick(["dict(decay=0.9)", "dict(scale=true, epsilon=0.01)", "dict(center=false)",
                              f"dict(decay=0.99, is_training={training})"]), UNKNOWN
        if name == "decay":
            return self.pick(["0.9", "0.99", "0.5"]), UNKNOWN
        if name == "epsilon":
            return self.pick(["0.01", "1e-5", "0.1"]), UNKNOWN
        if name == "is_training":
            t = self.pick(["false", "true"] + (["is_training"] if "is_training" in ctx.env else []))
            return t, VALUES.get(t, False)
        if name == "updates_collections":
            return self.pick(["none", "UPDATE_OPS"]), UNKNOWN
        if name == "bn_activation":
            return self.pick(["relu", "none", "tanh"]), UNKNOWN
        if name == "ln_activation":
            return self.pick(["relu", "none"]), UNKNOWN
        if name == "keep_prob":
            return self.pick(["0.5", "0.8", "1.0"]), UNKNOWN
        if name == "dropout_training":
            t = self.pick(["false"] + (["is_training"] if "is_training" in ctx.env else []))
            return t, False
        raise AssertionError(name)  # pragma: no cover

    def block_arg(self, role):
        t = {"flag": ["false", "true"], "act": ["relu", "none", "tanh"], "k": ["1", "3", "2"],
             "stride": ["1", "2"]}[role]
        t = self.pick(t)
        return t, VALUES.get(t, t) if role != "k" else int(t)

    def choose_args(self, ctx, kinds, geometry, in_defaults, at_most, chosen=None):
        """Some arguments every kind in `kinds` takes -> {real name: (text, value)}."""
        pools = [set(self.kind_args(k, geometry, in_defaults)) for k in kinds]
        pool = sorted(set.intersection(*pools))
        chosen = dict(chosen or {})
        for _ in range(self.num(0 if not in_defaults else 1, at_most)):
            pool = [p for p in pool if ARG_NAME.get(p, p) not in chosen]
            if not pool:
                break
            name = self.pick(pool)
            text, value = self.arg_value(ctx, name, kinds)
            if name == "normalizer_params":  # always with its batch norm
                chosen["normalizer"] = ("batch_norm", "batch_norm")
            if name == "normalizer" and value != "batch_norm":
                pool = [p for p in pool if p != "normalizer_params"]
            chosen[ARG_NAME.get(name, name)] = (text, value)
        return chosen

    def kwargs_text(self, chosen):
        out = []
        for name, (text, _) in chosen.items():
            if name == "activation" and self.maybe(15):
                name = "activation_fn"  # TF-Slim's spelling
            out.append(f"{name}={text}")
        return out

    def rule(self, ctx, blocks=True):
        """`kinds: arg=value, ...` -> (text, kinds, {arg: value})."""
        groups = [("conv",), ("conv", "fc"), ("batch_norm",), ("pool", "avg_pool"), ("dropout",), ("fc",),
                  ("conv", "sep_conv"), ("layer_norm",), ("conv_t",), ("conv", "conv_t", "sep_conv")]
        if blocks:
            groups += [(b,) for b, info in sorted(self.blocks.items()) if not info.inline and len(info.params) > 1]
        kinds = self.pick(groups)
        chosen = {}
        if "conv" in kinds and all("stride" in self.kind_args(k, True, True) for k in kinds) and self.maybe(35):
            # geometry is what defaults most often set (vgg, resnet)
            chosen["stride"] = self.arg_value(ctx, "stride", kinds)
        chosen = self.choose_args(ctx, kinds, True, True, 3, chosen)
        assert chosen, kinds  # every group takes an argument
        text = f"{', '.join(kinds)}: " + ", ".join(f"{k}={t}" for k, (t, _) in chosen.items())
        return text, kinds, {k: v for k, (_, v) in chosen.items()}

    def defaults_spec(self, inner):
        """A defaults rule or a named defaults call, applied to `inner`."""
        if self.on("named_defaults") and self.named_defaults and self.maybe(40):
            name = self.pick(sorted(self.named_defaults))
            self.apply_named(inner.defaults, name)
            return f"{name}{self.callref_args(name, parens=True)}"
        text, kinds, args = self.rule(inner)
        self.apply_rule(inner.defaults, kinds, args)
        return text

    def callref_args(self, name, parens=False):
        params, _ = self.named_defaults[name]
        options = ["()"] if parens else ["", "()"]
        if params:
            options += ["(0.001)", "(wd=0.01)"]
        return self.pick(options)

    # ================================================================ file ==
    def program(self) -> Program:
        lines = []
        if self.on("lets"):
            lines += self.top_lets()
        if self.on("named_defaults"):
            for i in range(self.num(0, 2)):
                lines += self.defaults_def(i + 1)
        if self.on("blocks"):
            for _ in range(self.num(0, 2)):
                lines += self.block_def(inline=False)
        if self.on("inline") and self.maybe(50):
            lines += self.block_def(inline=True)
        lines += self.model()
        if self.on("models") and self.maybe(40):
            lines += self.model_user(lines)
        return Program("\n".join(lines) + "\n")

    def model_user(self, lines):
        """The model becomes `inner`, used by `m`: a partial model of it, or a model that calls it as
        a layer (under the same `uses`, so that it builds as it does on its own)."""
        i = max(j for j, line in enumerate(lines) if line.startswith("model m("))
        lines[i] = "model inner(" + lines[i][len("model m("):]
        first, uses, keys = self.model_sig
        args = ["is_training=false"] if self.maybe(50) else []
        if keys and self.maybe(70):
            args.append(f'final_endpoint="{self.pick(keys)}"')
        if self.maybe(40):
            return [f"model m = inner({', '.join(args)})"]
        body = [" ".join(["inner", *args]) + self.pick(["", " as sub"])]
        if self.on("endpoints") and self.maybe(40):
            body.append('endpoint "after"')
        return [f"model m({first}){uses} {{"] + _indent(body) + ["}"]

    def top_lets(self):
        out = []
        if self.maybe(60):
            v = self.num(2, 4)
            self.globals["NUM"] = v
            out.append(f"let NUM = {v}")
        if self.on("functions") and self.maybe(50):
            a, b = self.pick([(2, 0), (1, 1), (2, 1), (1, 0)])
            self.globals["widen"] = LetFn(lambda x, a=a, b=b: x * a + b, True)
            out.append(f"let widen(x, k = {a}) = x * k + {b}")
            if self.maybe(40):
                self.globals["alias"] = self.globals["widen"]
                out.append("let alias = widen")
        if self.on("functions") and self.maybe(30):
            self.globals["atleast"] = LetFn(lambda x: max(x, 2), False)
            out.append("let atleast(x) = max(x, 2)")
        return out

    def defaults_def(self, i):
        name = f"d{i}_scope"
        # (symbolic: these rules meet unknown others, so no layer_norm normalizer; see arg_value)
        ctx = Ctx(Shape(None, None, 1), {}, {}, {}, {}, True, "unique")
        params, header = [], self.pick(["", "()"])
        if self.maybe(60):
            params, header = ["wd"], "(wd = 0.0005)"
            ctx.env["wd"] = UNKNOWN
        lines, body = [], []
        if self.named_defaults and self.maybe(50):
            other = self.pick(sorted(self.named_defaults))
            body.append(f"  use {other}{self.callref_args(other)}")
            lines.append(("use", other))
        for _ in range(self.num(1, 3)):
            text, kinds, args = self.rule(ctx, blocks=False)
            body.append(f"  {text}")
            lines.append((kinds, args))
        self.named_defaults[name] = (params, lines)
        return [f"defaults {name}{header} {{"] + body + ["}"]

    # =============================================================== blocks ==
    def block_def(self, inline):
        name = self.fresh("IB" if inline else "B")
        params = [("n", "n", None)]
        if not inline and self.maybe(60):
            params.append(("stride", "stride", "1"))
        if self.maybe(40):
            params.append(("k", "k", "3"))
        if self.maybe(40):
            params.append(("use_bn", "flag", "false"))
        if self.maybe(30):
            params.append(("act", "act", "relu"))
        if inline:
            params.append(("scope", "scope", "none"))
        env = dict(self.globals)
        env.update({p: UNKNOWN for p, _, _ in params})
        env["n"] = Form.sym("n")
        start = Shape(TAG_IN, TAG_IN, Form.sym("c_in"))
        ctx = Ctx(start, {"inputs": start}, env, {"n": "n", "c_in": "depth(inputs)"}, {}, True,
                  "none" if inline else "unique", fn="inline" if inline else "block", scope_param=inline)
        self.roles = {p: role for p, role, _ in params}
        self.records = False
        outer = self.built, self.layers
        self.built, self.layers, self.mult = 0, 0, 1
        body = []
        if self.on("collect") and self.maybe(25):
            body.append(self.collect_stmt(ctx))
        body += self.body(ctx, self.num(1, 4))
        if "stride" in self.roles and not ctx.returned and ctx.shape.h == TAG_IN and self.maybe(60):
            body += self.downsample(ctx)
        if not ctx.returned and self.on("returns") and self.maybe(15):
            body.append("return")
        header = ", ".join(p if d is None else f"{p} = {d}" for p, _, d in params)
        self.blocks[name] = Block(name, inline, params, ctx.shape, self.records, max(1, self.built))
        self.built, self.layers = outer
        self.roles = {}
        self.records = False
        return [f"{'inline ' if inline else ''}block {name}({header}) {{"] + _indent(body) + ["}"]

    def downsample(self, ctx):
        """The one place a block changes the spatial size: by its `stride` parameter, SAME padding."""
        how = self.pick(["conv", "pool", "shortcut"])
        if how == "pool":
            ctx.shape = Shape(TAG_DS, TAG_DS, ctx.shape.c)
            return [f"{self.pick(POOL_KINDS)} 3x3 stride=stride padding=SAME"]
        ctx.shape = Shape(TAG_DS, TAG_DS, Form.sym("n"))
        if how == "conv":
            return ["conv n 3x3 stride=stride padding=SAME rate=1"]
        sc = self.fresh("sc")
        ctx.tensors[sc] = ctx.shape
        ctx.env[sc] = UNKNOWN
        add = self.pick([f"add {sc}"] + ([f"add other={sc}"] if self.on("add_keyword") else []))
        return [f"{sc} = conv n 1x1 stride=stride padding=SAME rate=1 activation=none from inputs",
                "conv n 3x3 stride=stride padding=SAME rate=1", add]

    # ================================================================ model ==
    def model(self):
        h, w, c = self.pick([(6, 6, 2), (5, 5, 3), (6, 5, 1), (4, 4, 2), (7, 7, 2)])
        rank2 = self.maybe(10)
        params = [f"inputs: [{c}]" if rank2 else f"inputs: [{h}, {w}, {c}]", "is_training = false"]
        env = dict(self.globals)
        env["is_training"] = False
        if self.maybe(50):
            env["width"] = self.num(2, 4)
            params.append(f"width = {env['width']}")
        if self.maybe(40):
            env["use_bn"] = self.pick([False, True])
            params.append(f"use_bn = {'true' if env['use_bn'] else 'false'}")
        if self.maybe(25):
            env["mode"] = self.pick(["a", "b"])
            params.append(f'mode = "{env["mode"]}"')
        defaults, uses = {}, ""
        if self.named_defaults and self.maybe(60):
            name = self.pick(sorted(self.named_defaults))
            uses = f" uses {name}{self.callref_args(name)}"
            self.apply_named(defaults, name)
        shape = Shape(None, None, c) if rank2 else Shape(h, w, c)
        ctx = Ctx(shape, {"inputs": shape}, env, {}, defaults, False, "unique")
        body = []
        if self.on("collect") and self.maybe(40):
            body.append(self.collect_stmt(ctx))
        body += self.body(ctx, self.num(2, 7))
        until = ""
        if self.on("until") and ctx.until_keys and not self.no_until and self.maybe(50):
            params.append(f'final_endpoint = "{self.pick(ctx.until_keys)}"')
            until = " until final_endpoint"
        if self.maybe(10):
            params.append('scope = "Net"')
        self.model_sig = (params[0], uses, list(ctx.until_keys) if until else [])
        return [f"model m({', '.join(params)}){uses}{until} {{"] + _indent(body) + ["}"]

    # ================================================================ bodies ==
    def body(self, ctx, n):
        out = []
        for _ in range(n):
            if ctx.returned or self.room(ctx) <= 0 or \
                    self.layers >= (MAX_LAYERS if ctx.fn == "model" else MAX_LAYERS_BLOCK):
                break
            out += self.stmt(ctx)
        return out

    def stmt(self, ctx) -> list:
        shallow = ctx.depth < 2
        rank4 = ctx.shape.rank == 4
        options = ["layer"]
        options += ["named"] if self.on("named") else []
        options += ["scope"] if self.on("scopes") and shallow and ctx.naming != "none" else []
        options += ["defaults"] if self.on("defaults") and shallow else []
        options += ["let"] if self.on("lets") else []
        options += ["function"] if self.on("functions") and not ctx.control else []
        options += ["branches"] if self.on("branches") and rank4 and shallow and ctx.naming != "none" else []
        options += ["residual"] if self.on("residual") else []
        options += ["split"] if self.on("layers") and rank4 and not ctx.symbolic and ctx.naming == "unique" else []
        # (blocks are written to be called: twice the weight of other statements)
        weight = 2
        options += ["block"] * weight if self.on("blocks") and rank4 and \
            any(not b.inline for b in self.blocks.values()) else []
        options += ["inline"] * weight if self.on("inline") and rank4 and \
            any(b.inline for b in self.blocks.values()) else []
        options += ["for"] if self.on("loops") and shallow else []
        options += ["if"] if self.on("ifs") and shallow else []
        options += ["endpoint"] if self.on("endpoints") else []
        if self.on("returns") and not ctx.no_return and not (ctx.symbolic and ctx.control) and \
                (ctx.depth == 0 or self.on("return_nested")):
            options.append("return")
        how = self.pick(options)
        if how == "return" and not self.maybe(40):
            how = "layer"
        return getattr(self, "s_" + how)(ctx)

    # ---- layer statements ----
    def s_layer(self, ctx):
        text, ctx.shape = self.layer(ctx, ctx.shape)
        return [text]

    def s_named(self, ctx):
        name = self.fresh("t")
        if not ctx.symbolic and ctx.naming == "unique" and self.on("layers") and self.maybe(12):
            kind = self.pick(["variable", "model_variable"])
            extra = self.pick(["", " initializer=zeros", " initializer=truncated_normal(stddev=0.1)",
                               " regularizer=l2(0.05)", " trainable=false", ' device="/CPU:0"'])
            dims = self.pick(["[2, 3]", "[4]", "[1, 2, 2]"])
            out = [f"{name} = {kind} shape={dims}{extra}{self.as_name(ctx, required=True)}"]
            ctx.env[name] = UNKNOWN
            if self.on("endpoints") and self.maybe(50):
                out.append(f'endpoint "{name}" from {name}')
                self.records = True
                if not ctx.dead:
                    ctx.until_keys.append(name)
            return out
        src, frm = ctx.shape, ""
        if ctx.tensors and self.maybe(35):
            t = self.pick(sorted(ctx.tensors))
            src, frm = ctx.tensors[t], f" from {t}"
        self.one_statement = True  # (a `let` line before it is fine)
        text, shape = self.layer(ctx, src)
        *pre, last = text.split("\n")
        out = pre + [f"{name} = {last}{frm}"]
        ctx.tensors[name] = shape
        ctx.env[name] = UNKNOWN
        if self.maybe(40):  # continue from it
            text, ctx.shape = self.layer(ctx, shape)
            *pre, last = text.split("\n")
            out += pre + [f"{last} from {name}"]
        self.one_statement = False
        return out

    def layer(self, ctx, shape, kinds=None, preserve=False):
        """(text, output shape) of one layer statement on a tensor of `shape`.  `preserve`: keep h, w."""
        self.layers += 1
        self.charge(1)
        kind = self.pick(kinds or self.layer_kinds(ctx, shape, preserve))
        if kind in CONV_KINDS:
            return self.conv_layer(ctx, shape, kind, preserve)
        if kind == "fc":
            return self.fc_layer(ctx, shape)
        if kind in POOL_KINDS:
            return self.pool_layer(ctx, shape, kind, preserve)
        return getattr(self, "l_" + kind, self.l_plain)(ctx, shape, kind)

    def layer_kinds(self, ctx, shape, preserve):
        same = SHAPE_KEEPING if self.on("layers") else ["relu", "identity", "batch_norm"]
        if shape.rank == 2:
            return ["fc"] + same + (["reshape"] if not (ctx.symbolic or preserve) and self.on("layers") else [])
        # (conv and batch_norm, the commonest layers of real networks, weigh more)
        out = ["conv"] + same + ["fc", "sep_conv", "pool", "avg_pool", "conv", "conv", "batch_norm"]
        if self.on("layers"):
            out.append("conv_t")
            out += ["clip", "lrn", "instance_norm", "mul", "add", "activation"]
            if not (ctx.symbolic or preserve):
                out += ["pad", "mean", "flatten", "reshape", "resize"] + (["squeeze"] if shape.h == shape.w == 1 else [])
                out += ["slice"] if shape.h > 1 and shape.w > 1 else []
                out[1:1] = ["strided_slice"]  # (early in the list: the strategy favours the first items)
        return out

    # geometry: stride / padding / rate, written or from the defaults in force

    def geometry(self, ctx, kind, shape, kernel, preserve):
        """-> ({argument: text} to write, {argument: value} in effect, output (h, w))."""
        names = GEOMETRY[kind]
        if ctx.symbolic or preserve:
            # written out so that no `defaults` can change it; the size is kept
            out = {"stride": "1", "padding": "SAME", "rate": "1"}
            if kernel == (1, 1) and kind != "conv_t" and self.maybe(30):
                out["padding"] = "VALID"
            elif self.maybe(25):
                out["rate"] = "2"
            out = {k: v for k, v in out.items() if k in names}
            return out, {k: VALUES[v] for k, v in out.items()}, (shape.h, shape.w)
        written = {}
        for n in names:
            if self.maybe(35):
                written[n] = self.pick({"stride": ["1", "2"] + (["[2, 1]"] if kind == "conv" else []),
                                        "padding": ["SAME", "VALID", '"VALID"'],
                                        "rate": ["1", "2"]}[n])
        for _ in range(4):
            eff = {n: VALUES[written[n]] if n in written else self.effective(ctx, kind, n) for n in names}
            out = self.geometry_out(kind, shape, kernel, eff)
            if out is not None:
                return written, eff, out
            if "rate" in names:  # make it valid: rate 1, stride 1, then SAME
                written["rate"] = "1"
            if written.get("stride") != "1":
                written["stride"] = "1"
            else:
                written["padding"] = "SAME"
        raise AssertionError("no valid geometry")  # pragma: no cover

    @staticmethod
    def geometry_out(kind, shape, kernel, eff):
        """Output (h, w) of a window layer, or None if it is invalid or too large."""
        stride = eff.get("stride", 1)
        sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
        rate = eff.get("rate", 1)
        if rate != 1 and (sh, sw) != (1, 1):
            return None  # TensorFlow refuses strides with dilation
        outs = []
        for size, k, s in ((shape.h, kernel[0], sh), (shape.w, kernel[1], sw)):
            if kind == "conv_t":
                outs.append(size * s if eff["padding"] == "SAME" else size * s + max(k - s, 0))
            elif eff["padding"] == "SAME":
                outs.append(math.ceil(size / s))
            else:
                ek = k + (k - 1) * (rate - 1)
                if size < ek:
                    return None
                outs.append(math.ceil((size - ek + 1) / s))
        return tuple(outs) if max(outs) <= MAX_SIZE else None

    def kernel(self, ctx, shape, kind, allow_param=True):
        """-> (text, (kh, kw), as a keyword)."""
        if ctx.symbolic and allow_param and "k" in self.roles and kind in ("conv", "sep_conv") and self.maybe(30):
            return "k", (3, 3), False  # the block's kernel parameter (SAME padding: any size fits)
        k = self.pick([(1, 1), (3, 3), (2, 2), (1, 3), (3, 1)])
        if not ctx.symbolic:
            k = (min(k[0], shape.h), min(k[1], shape.w))
        forms = ["2x2", "int", "keyword", "tuple"]
        if kind not in POOL_KINDS or self.on("pool_list_kernel"):
            forms.append("list")
        form = self.pick(forms)
        if form == "int" and k[0] != k[1]:
            form = "2x2"
        text = {"2x2": f"{k[0]}x{k[1]}", "list": f"[{k[0]}, {k[1]}]", "int": str(k[0]),
                "tuple": f"({k[0]}, {k[1]})", "keyword": f"{k[0]}x{k[1]}"}[form]
        return text, k, form == "keyword"

    def extra_kwargs(self, ctx, kind):
        chosen = {}
        if self.effective(ctx, kind, "normalizer_params") and self.maybe(30):
            chosen["normalizer"] = ("batch_norm", "batch_norm")
        chosen = self.choose_args(ctx, (kind,), False, False, 2, chosen)
        if ctx.symbolic and "act" in self.roles and kind in ("conv", "fc", "sep_conv") and self.maybe(30):
            chosen["activation"] = ("act", UNKNOWN)
        if ctx.symbolic and "use_bn" in self.roles and kind in ("conv", "fc") and self.maybe(25):
            chosen["normalizer"] = ("batch_norm if use_bn else none", UNKNOWN)
            chosen.pop("normalizer_params", None)
        return chosen

    def conv_layer(self, ctx, shape, kind, preserve):
        form = self.pick(["single", "repeat", "stack", "stack_let", "stack_ints"]) if self.on("forms") else "single"
        if form == "stack_let" and not (self.on("let_stack", "lets") and ctx.naming != "none"):
            form = "stack"
        if form.startswith("stack"):
            return self.stack(ctx, shape, kind, preserve, form)
        repeat = self.pick([2, 3]) if form == "repeat" else 0
        args, out, geom = self.conv_args(ctx, shape, kind, preserve or kind == "conv_t" and repeat,
                                         allow_none=not repeat)
        if repeat:
            cur = out
            for _ in range(repeat - 1):
                nxt = self.geometry_out(kind, cur, *geom) if not (ctx.symbolic or preserve) else (cur.h, cur.w)
                if nxt is None:  # the same arguments would not fit again: keep the size instead
                    return self._repeat_preserving(ctx, shape, kind, repeat)
                cur = Shape(nxt[0], nxt[1], out.c)
            out = cur
        text = " ".join([f"{kind} {args}"] + self.kwargs_text(self.extra_kwargs(ctx, kind)))
        self.charge(max(repeat - 1, 0))
        return self.suffix(ctx, text + (f" x{repeat}" if repeat else ""), kind), out

    def _repeat_preserving(self, ctx, shape, kind, repeat):
        args, out, _ = self.conv_args(ctx, shape, kind, True, allow_none=False)
        text = " ".join([f"{kind} {args}"] + self.kwargs_text(self.extra_kwargs(ctx, kind)))
        self.charge(repeat - 1)
        return self.suffix(ctx, f"{text} x{repeat}", kind), out

    def conv_args(self, ctx, shape, kind, preserve, channels=None, allow_none=True):
        """Positional and geometry arguments of a conv-like layer -> (text, output, (kernel, geometry))."""
        ctext, cval = channels or self.channels(ctx)
        ktext, kernel, kw_kernel = self.kernel(ctx, shape, kind)
        written, eff, (h, w) = self.geometry(ctx, kind, shape, kernel, preserve)
        parts = [ctext, f"kernel_size={ktext}" if kw_kernel else ktext]
        if kind == "sep_conv" and allow_none and self.maybe(25):
            dm = 2 if not ctx.symbolic and shape.c <= 3 and self.maybe(50) else 1
            parts[0] = "none"  # depthwise only
            cval = shape.c * dm
            if dm != 1:
                parts.append(f"depth_multiplier={dm}" if kw_kernel or self.maybe(50) else str(dm))
        words = []
        for n, v in written.items():
            if n == "stride" and kind in ("conv", "conv_t") and len(parts) == 2 and not kw_kernel and \
                    self.maybe(40):
                parts.append(v)  # `conv 4 3x3 2`: the third positional is the stride
            else:
                words.append(f"{n}={v}")
        return " ".join(parts + words), Shape(h, w, cval), (kernel, eff)

    def stack(self, ctx, shape, kind, preserve, form):
        """`conv [(3, 3x3), (4, 1x1)]`, `conv [3, 4] kernel_size=3x3`, `fc [3, 4]`, or a list bound by let."""
        counts = [self.channels(ctx) for _ in range(self.pick([2, 3]))]
        self.charge(len(counts) - 1)
        words, items, cur = [], [], shape
        if kind == "fc" or form == "stack_ints":
            items = [t for t, _ in counts]
            if kind != "fc":
                ktext, kernel, _ = self.kernel(ctx, shape, kind, allow_param=False)
                written, _, _ = self.geometry(ctx, kind, shape, kernel, True)
                words = [f"kernel_size={ktext}"] + [f"{k}={v}" for k, v in written.items()]
            cur = Shape(shape.h, shape.w, counts[-1][1])
        else:
            stride_defaults = "stride" in ctx.defaults.get(kind, {})
            strides = not (ctx.symbolic or preserve) and kind in ("conv", "conv_t") and (
                self.on("stack_positional_defaults") or not stride_defaults) and \
                self.maybe(60 if stride_defaults else 30)
            # items without a stride of their own take it from `defaults` (or 1, written, if none has one)
            default_stride = self.effective(ctx, kind, "stride") if strides else 1
            for ctext, cval in counts:
                ktext, kernel, _ = self.kernel(ctx, cur, kind, allow_param=False)
                stride = self.pick(["", "1", "2"]) if strides else ""
                out = (cur.h, cur.w) if not strides else self.geometry_out(
                    kind, cur, kernel, {"stride": int(stride) if stride else default_stride, "padding": "SAME",
                                        "rate": 1})
                if out is None:
                    stride = "1"
                    out = self.geometry_out(kind, cur, kernel, {"stride": 1, "padding": "SAME", "rate": 1})
                items.append(f"({ctext}, {ktext}{', ' + stride if stride else ''})")
                cur = Shape(out[0], out[1], cval)
            written = {"padding": "SAME", "rate": "1"} if "rate" in GEOMETRY[kind] else {"padding": "SAME"}
            if not strides:
                written["stride"] = "1"
            words = [f"{k}={v}" for k, v in written.items()]
        list_text, pre = f"[{', '.join(items)}]", ""
        if form == "stack_let":
            name = self.fresh("sizes")
            pre = f"let {name} = {list_text}\n"
            list_text = name
            ctx.env[name] = UNKNOWN
        text = " ".join([f"{kind} {list_text}"] + words + self.kwargs_text(self.extra_kwargs(ctx, kind)))
        return pre + self.suffix(ctx, text, kind), cur

    def fc_layer(self, ctx, shape):
        form = self.pick(["single", "stack", "repeat", "stack_let"]) if self.on("forms") else "single"
        if form == "stack_let" and not (self.on("let_stack", "lets") and ctx.naming != "none"):
            form = "stack"
        if form.startswith("stack"):
            return self.stack(ctx, shape, "fc", True, form)
        ctext, cval = self.channels(ctx)
        head = f"fc {ctext}" if self.maybe(80) else f"fc num_outputs={ctext}"
        text = " ".join([head] + self.kwargs_text(self.extra_kwargs(ctx, "fc")))
        if form == "repeat":
            text += f" x{self.pick([2, 3])}"
            self.charge(int(text[-1]) - 1)
        return self.suffix(ctx, text, "fc"), Shape(shape.h, shape.w, cval)

    def pool_layer(self, ctx, shape, kind, preserve):
        ktext, kernel, kw = self.kernel(ctx, shape, kind)
        written, _, (h, w) = self.geometry(ctx, kind, shape, kernel, preserve)
        text = " ".join([f"{kind} {'kernel_size=' if kw else ''}{ktext}"] + [f"{k}={v}" for k, v in written.items()])
        if self.on("forms") and (h, w) == (shape.h, shape.w) and self.maybe(20):
            text += " x2"
            self.charge(1)
        return self.suffix(ctx, text, kind), Shape(h, w, shape.c)

    def l_plain(self, ctx, shape, kind):
        """Activations, identity, softmax: no arguments."""
        if kind in ("softmax",) and self.on("forms") and self.maybe(15):
            self.charge(1)
            return self.suffix(ctx, f"{kind} x2", kind), shape
        return self.suffix(ctx, kind, kind), shape

    def l_dropout(self, ctx, shape, kind):
        # (drop_path, NASNet's per-example dropout, takes dropout's place in one draw of three)
        keep = self.pick(["0.5", "0.8", "drop_path"])
        if keep == "drop_path":
            return self.l_drop_path(ctx, shape, "drop_path")
        parts = [f"dropout {keep}" if self.maybe(70) else f"dropout keep_prob={keep}"]
        # outputs are compared, so dropout never drops: is_training false, written or from defaults
        if ctx.symbolic or self.effective(ctx, "dropout", "is_training") is not False or self.maybe(50):
            parts.append(self.pick(["is_training=false"] + (["is_training=is_training"]
                                                             if "is_training" in ctx.env and not ctx.symbolic
                                                             else [])))
        if self.on("forms") and self.maybe(10):
            parts.append("x2")
            self.charge(1)
        return self.suffix(ctx, " ".join(parts), kind), shape

    def l_batch_norm(self, ctx, shape, kind):
        chosen = self.choose_args(ctx, ("batch_norm",), False, False, 3)
        if ctx.symbolic and "use_bn" in self.roles and self.maybe(30):
            chosen["scale"] = ("use_bn", UNKNOWN)
        return self.suffix(ctx, " ".join(["batch_norm"] + self.kwargs_text(chosen)), kind), shape

    def l_layer_norm(self, ctx, shape, kind):
        chosen = self.choose_args(ctx, ("layer_norm",), False, False, 2)
        return self.suffix(ctx, " ".join(["layer_norm"] + self.kwargs_text(chosen)), kind), shape

    def l_pad(self, ctx, shape, kind):
        a, b, c, d = (self.num(0, 1) for _ in range(4))
        if shape.h + a + b > MAX_SIZE or shape.w + c + d > MAX_SIZE:
            a = b = c = d = 0
        mode = self.pick(["", ' mode="REFLECT"', ' mode="SYMMETRIC"', " constant_values=0.5"])
        if "REFLECT" in mode and (max(a, b) >= shape.h or max(c, d) >= shape.w):
            mode = ""
        text = f"pad [[0, 0], [{a}, {b}], [{c}, {d}], [0, 0]]{mode}"
        return self.suffix(ctx, text, kind), Shape(shape.h + a + b, shape.w + c + d, shape.c)

    def l_mean(self, ctx, shape, kind):
        keep = self.maybe(50)
        text = f"mean {self.pick(['[1, 2]', 'axis=[1, 2]', '[2, 1]'])}" + (" keepdims=true" if keep else "")
        text = self.suffix(ctx, text, kind)
        if keep and not self.one_statement and self.maybe(50):  # global pooling, squeeze: as tf_slim's nets end
            squeeze, shape = self.l_squeeze(ctx, Shape(1, 1, shape.c), "squeeze")
            return f"{text}\n{squeeze}", shape
        return text, (Shape(1, 1, shape.c) if keep else Shape(None, None, shape.c))

    def l_squeeze(self, ctx, shape, kind):
        text = self.pick(["squeeze [1, 2]", "squeeze axis=[1, 2]"])
        return self.suffix(ctx, text, kind), Shape(None, None, shape.c)

    def l_clip(self, ctx, shape, kind):
        return self.suffix(ctx, self.pick(["clip -0.5 0.5", "clip 0 6", "clip min=-1 max=1.5"]), kind), shape

    def l_lrn(self, ctx, shape, kind):
        text = self.pick(["lrn", "lrn 2", "lrn 4 bias=1.0 alpha=0.001 / 9.0 beta=0.75", "lrn depth_radius=1 beta=0.6"])
        return self.suffix(ctx, text, kind), shape

    def l_instance_norm(self, ctx, shape, kind):
        text = self.pick(["instance_norm", "instance_norm center=false", "instance_norm activation=relu",
                          "instance_norm scale=false epsilon=0.001"])
        return self.suffix(ctx, text, kind), shape

    def l_activation(self, ctx, shape, kind):
        fn = self.pick([a for a in ACTIVATIONS if a != "none"])
        return self.suffix(ctx, self.pick([f"activation {fn}", f"activation fn={fn}"]), kind), shape

    def l_drop_path(self, ctx, shape, kind):
        # outputs are compared, so drop path never drops: keep_prob 1 or is_training false
        text = self.pick(["drop_path 1.0", "drop_path 0.7 is_training=false",
                          "drop_path keep_prob=0.5 burn_in_steps=100 is_training=false"])
        return self.suffix(ctx, text, kind), shape

    def l_mul(self, ctx, shape, kind):
        return self.suffix(ctx, self.pick(["mul 0.5", "mul 2", "mul other=-0.25"]), kind), shape

    def l_add(self, ctx, shape, kind):  # a number (residual joins are made with the branches)
        return self.suffix(ctx, self.pick(["add 3", "add -0.5", "add 1.5"]), kind), shape

    def l_resize(self, ctx, shape, kind):
        h, w = min(shape.h * 2, MAX_SIZE), max(1, shape.w - 1)
        method = self.pick(["", ' method="nearest"', ' method="bilinear"'])
        return self.suffix(ctx, f"resize [{h}, {w}]{method}", kind), Shape(h, w, shape.c)

    def l_slice(self, ctx, shape, kind):
        a, b = self.num(0, 1), self.num(0, 1)
        if self.maybe(50):
            return (self.suffix(ctx, f"slice [0, {a}, {b}, 0] [-1, -1, -1, -1]", kind),
                    Shape(shape.h - a, shape.w - b, shape.c))
        h, w = shape.h - a - 1 if shape.h - a > 1 else 1, 1
        return self.suffix(ctx, f"slice [0, {a}, {b}, 0] [-1, {h}, {w}, {shape.c}]", kind), Shape(h, w, shape.c)

    def l_strided_slice(self, ctx, shape, kind):
        """Python's slicing of the batch and the first 1-3 other axes: omitted bounds, negative indices
        and steps, bounds past the axis."""
        n = self.num(2, 4)
        begins, ends, steps, sizes = ["none"], ["none"], [1], []
        for size in (shape.h, shape.w, shape.c)[:n - 1]:
            for _ in range(3):
                b = self.pick([None, 0, 1, -1, -2, size + 1])
                e = self.pick([None, None, size, -1, 1, size + 3])
                st = self.pick([1, 1, 2, -1, -2, 3])
                if len(range(size)[slice(b, e, st)]):
                    break
            else:
                b, e, st = None, None, 1
            begins.append("none" if b is None else str(b))
            ends.append("none" if e is None else str(e))
            steps.append(st)
            sizes.append(len(range(size)[slice(b, e, st)]))
        out = sizes + [shape.h, shape.w, shape.c][len(sizes):]
        text = f"strided_slice [{', '.join(begins)}] [{', '.join(ends)}]"
        if any(st != 1 for st in steps) or self.maybe(30):
            text += f" [{', '.join(map(str, steps))}]" if self.maybe(70) else f" strides={steps}"
        return self.suffix(ctx, text, kind), Shape(*out)

    def s_split(self, ctx):
        """`parts = split 2` (or sizes, along any axis but the batch), a part picked by index and built on,
        or the parts joined again by `concat`."""
        shape = ctx.shape
        dims = {1: shape.h, 2: shape.w, 3: shape.c}
        axis = self.pick([a for a, d in dims.items() if d > 1] or [3])
        d = dims[axis]
        if self.maybe(50):
            n = self.pick([k for k in range(1, d + 1) if d % k == 0])
            sizes, arg = [d // n] * n, str(n)
        else:
            cut = self.num(1, d - 1) if d > 1 else 1
            sizes = [cut, d - cut] if d > 1 else [1]
            arg = str([cut, -1] if d > 1 and self.maybe(50) else sizes)
        kw = "" if axis == 3 and self.maybe(50) else f" axis={self.pick([axis, axis - 4])}"
        parts, part = self.fresh("parts"), self.fresh("part")
        self.layers += 1
        self.charge(1)
        out = [f"{parts} = split {arg}{kw}" + self.as_name(ctx)]
        ctx.env[parts] = UNKNOWN
        i = self.num(0, len(sizes) - 1)
        part_shape = [shape.h, shape.w, shape.c]
        part_shape[axis - 1] = sizes[i]
        if self.maybe(30):
            out.append(f"concat {parts} axis={axis}" + self.as_name(ctx))
            return out
        out.append(f"let {part} = {parts}[{i - len(sizes) if self.maybe(30) else i}]")
        ctx.env[part] = UNKNOWN
        text, ctx.shape = self.layer(ctx, Shape(*part_shape))
        *pre, last = text.split("\n")
        return out + pre + [f"{last} from {part}"]

    def l_flatten(self, ctx, shape, kind):
        return self.suffix(ctx, "flatten", kind), Shape(None, None, shape.h * shape.w * shape.c)

    def l_reshape(self, ctx, shape, kind):
        if shape.rank == 2:
            return self.suffix(ctx, f"reshape [-1, 1, 1, {shape.c}]", kind), Shape(1, 1, shape.c)
        if self.maybe(50):
            n = shape.h * shape.w * shape.c
            return self.suffix(ctx, f"reshape [-1, {n}]", kind), Shape(None, None, n)
        return (self.suffix(ctx, f"reshape [-1, {shape.w}, {shape.h}, {shape.c}]", kind),
                Shape(shape.w, shape.h, shape.c))

    # ---- blocks ----
    def call_block(self, ctx, inline):
        b = self.blocks[self.pick(sorted(n for n, info in self.blocks.items() if info.inline == inline))]
        if b.built * self.mult * 2 > self.room(ctx):
            return None  # too many layers here: the caller writes a plain layer instead
        roles = b.roles
        params = [p for p, _, _ in b.params]
        form = self.pick(["single", "repeat", "stack", "stack_tuples"]) if self.on("forms") and not inline \
            else "single"
        if b.built * self.mult * 3 > self.room(ctx):
            form = "single"
        if form != "single" and b.records_endpoints and ctx.fn != "model" and \
                not self.on("repeat_recording_block_in_block"):
            form = "single"
        if form != "single" and b.records_endpoints:
            self.no_until = True  # emit's E509 with `until`
        if b.records_endpoints:
            self.records = True
        from_defaults = ctx.defaults.get(b.name, {}) if not ctx.symbolic else {}

        def apply(shape, n_val, stride):
            h, w = shape.h, shape.w
            if b.out.h == TAG_DS and stride != 1:
                h, w = math.ceil(h / stride), math.ceil(w / stride)
            return Shape(h, w, subst(b.out.c, {"c_in": shape.c, "n": n_val}))

        stride_default = from_defaults.get("stride", 1)
        out = ctx.shape
        if form in ("single", "repeat"):
            ctext, cval = self.channels(ctx)
            args = [ctext if self.maybe(85) else f"n={ctext}"]
            stride = stride_default
            if "stride" in roles and (ctx.symbolic or self.maybe(50)):
                stride = 1 if ctx.symbolic else self.pick([1, 2])
                if params[1] == "stride" and "=" not in args[0] and self.maybe(50):
                    args.append(str(stride))
                else:
                    args.append(f"stride={stride}")
            for p, role, _ in b.params:
                if role in ("flag", "act", "k") and self.maybe(30):
                    args.append(f"{p}={self.block_arg(role)[0]}")
            repeat = self.pick([2, 3]) if form == "repeat" else 1
            self.charge(b.built * repeat)
            for _ in range(repeat):
                out = apply(out, cval, stride)
            text = f"{b.name} {' '.join(args)}" + (f" x{repeat}" if form == "repeat" else "")
        else:
            tuples = form == "stack_tuples" and "stride" in roles and params[1] == "stride" and \
                not ctx.symbolic and (self.on("stack_positional_defaults") or "stride" not in from_defaults)
            items = []
            for _ in range(self.pick([2, 3])):
                ctext, cval = self.channels(ctx)
                if tuples:
                    s = self.pick([1, 2])
                    items.append(f"({ctext}, {s})")
                else:
                    s = stride_default
                    items.append(ctext if form == "stack" else f"({ctext},)")
                out = apply(out, cval, s)
            text = f"{b.name} [{', '.join(items)}]"
            self.charge(b.built * len(items))
            if "stride" in roles and not tuples and ctx.symbolic:
                text += " stride=1"  # the caller's defaults are unknown here
        if self.as_name_allowed(ctx, b):
            text += self.as_name(ctx)
        return text, out

    @staticmethod
    def as_name_allowed(ctx, b):
        if b.inline:
            return True  # its `scope` parameter (as_name gives none where names are not distinct)
        return ctx.naming != "none"

    def s_block(self, ctx):
        call = self.call_block(ctx, inline=False)
        if call is None:
            return self.s_layer(ctx)
        text, ctx.shape = call
        return [text]

    def s_inline(self, ctx):
        call = self.call_block(ctx, inline=True)
        if call is None:
            return self.s_layer(ctx)
        text, ctx.shape = call
        return [text]

    # ---- structure ----
    def s_scope(self, ctx):
        name = self.fresh("S")
        head = f"scope {name}" if ctx.naming == "unique" else f'scope ("{name}_" + {ctx.loop_key})'
        inner = ctx.copy(depth=ctx.depth + 1, naming="unique")
        if self.on("defaults") and self.maybe(30):
            head += " defaults " + self.defaults_spec(inner)
        target = self.fresh("t") if self.on("named") and self.maybe(30) else None
        if ctx.tensors and self.on("named") and self.maybe(25):
            frm = self.pick(sorted(ctx.tensors))
            head += f" from {frm}"
            inner.shape = ctx.tensors[frm]
        if target:
            inner.no_return = True
        body = self.body(inner, self.num(1, 3))
        self.after_nested(ctx, inner, target)
        return [f"{target} = {head} {{" if target else f"{head} {{"] + _indent(body) + ["}"]

    def s_defaults(self, ctx):
        inner = ctx.copy(depth=ctx.depth + 1)
        spec = self.defaults_spec(inner)
        body = self.body(inner, self.num(1, 3))
        self.after_nested(ctx, inner)
        return [f"defaults {spec} {{"] + _indent(body) + ["}"]

    @staticmethod
    def after_nested(ctx, inner, target=None):
        """After a scope or defaults body: names bound inside stay visible (as after Python's `with`)."""
        ctx.env.update(inner.env)
        ctx.spelling.update(inner.spelling)
        ctx.tensors.update(inner.tensors)
        ctx.scope_param = ctx.scope_param and inner.scope_param
        ctx.returned = inner.returned
        if target:
            ctx.tensors[target] = inner.shape
            ctx.env[target] = UNKNOWN
        else:
            ctx.shape = inner.shape

    def s_let(self, ctx):
        ints = [n for n in self.int_names(ctx) if n not in ctx.spelling and n not in self.captured
                and (n not in self.globals or self.on("rebind_global"))]
        if ints and not ctx.loop_key and self.maybe(20):  # rebind a name (a let, a parameter, a top-level constant)
            old = self.pick(ints)
            ctx.env[old] = ctx.env[old] + 1
            return [f"let {old} = {old} + 1"]
        name = self.fresh("v")
        text, ctx.env[name] = self.channels(ctx)
        return [f"let {name} = {text}"]

    def s_function(self, ctx):
        name = self.fresh("f")
        a, b = self.pick([(1, 1), (2, 0), (1, 2)])
        ints = [n for n in self.int_names(ctx) if type(ctx.env[n]) is int]
        if ints and not ctx.symbolic and self.maybe(40):
            g = self.pick(ints)  # a closure over a value of the body (never rebound after: see the report)
            self.captured.add(g)
            ctx.env[name] = LetFn(lambda x, a=a, gv=ctx.env[g]: x * a + gv, True)
            return [f"let {name}(x) = x * {a} + {g}"]
        ctx.env[name] = LetFn(lambda x, a=a, b=b: x * a + b, True)
        return [f"let {name}(x, k = {a}) = x * k + {b}"]

    def s_branches(self, ctx):
        """`b0 = scope Branch_0 { ... }` twice or three times, joined by `concat`."""
        names, total, out = [], 0, []
        for _ in range(self.pick([2, 3])):
            t = self.fresh("b")
            inner = ctx.copy(depth=ctx.depth + 1, naming="unique", no_return=True)
            body = []
            for _ in range(self.num(1, 2)):
                text, inner.shape = self.layer(inner, inner.shape, preserve=True)
                body.append(text)
            scope = self.fresh("Branch_")
            if ctx.naming == "loop":
                scope = f'("{scope}_" + {ctx.loop_key})'
            out += [f"{t} = scope {scope} {{"] + _indent(body) + ["}"]
            names.append(t)
            total = total + inner.shape.c
            ctx.tensors[t] = inner.shape
            ctx.env[t] = UNKNOWN
        axes = [" axis=3", " axis=-1", " 3"] + ([""] if self.on("concat_no_axis") else [])
        axis = self.pick(axes)
        values = f"[{', '.join(names)}]"
        text = f"concat {values}{axis}"
        if self.maybe(15):
            text = f"concat values={values}" + (f" axis={axis.strip()}" if axis and "=" not in axis else axis)
        out.append(self.suffix(ctx, text, "concat"))
        ctx.shape = Shape(ctx.shape.h, ctx.shape.w, total)
        return out

    def s_residual(self, ctx):
        """`sc = ...` (or a tensor of the same shape), layers that keep the shape, `add sc`."""
        out = []
        same = [t for t in sorted(ctx.tensors) if ctx.tensors[t] == ctx.shape]
        spelled = spell(ctx.shape.c, ctx.spelling)
        if same and self.maybe(40):
            sc = self.pick(same)
        else:
            sc = self.fresh("sc")
            how = self.pick(["identity", "relu"] + (["conv"] if spelled is not None and ctx.shape.rank == 4 else []))
            if how == "conv":
                out.append(f"{sc} = conv {spelled} 1x1 stride=1 padding=SAME rate=1 activation=none"
                           + self.as_name(ctx))
            else:
                out.append(f"{sc} = {how}" + self.as_name(ctx))
            ctx.tensors[sc] = ctx.shape
            ctx.env[sc] = UNKNOWN
        for _ in range(self.num(0, 2)):
            kinds = ["relu", "batch_norm", "identity"]
            if spelled is not None and ctx.shape.rank == 4:
                kinds += ["conv", "sep_conv"]
            kind = self.pick(kinds)
            if kind in ("conv", "sep_conv"):
                self.layers += 1
                self.charge(1)
                args, _, _ = self.conv_args(ctx, ctx.shape, kind, True, (spelled, ctx.shape.c), allow_none=False)
                text = " ".join([f"{kind} {args}"] + self.kwargs_text(self.extra_kwargs(ctx, kind)))
                out.append(self.suffix(ctx, text, kind))
            else:
                text, _ = self.layer(ctx, ctx.shape, [kind])
                out.append(text)
        forms = [f"add {sc}"] + ([f"add other={sc}"] if self.on("add_keyword") else [])
        out.append(self.suffix(ctx, self.pick(forms), "add"))
        return out

    def s_for(self, ctx):
        """A loop: its body is generated once over symbols and applied per item."""
        if self.mult * 3 * 2 > self.room(ctx):
            return self.s_layer(ctx)  # no room for a loop here
        var = self.fresh("i")
        style = self.pick(["range", "list", "enumerate", "pairs"])
        usable = []  # loop variables that are channel counts (>= 1)
        if style == "range":
            n = self.pick([2, 3])
            names, items, head = [var], [(j,) for j in range(n)], f"for {var} in range({n})"
        elif style == "list":
            vals = sorted({self.num(1, 4) for _ in range(3)})
            vals = vals if len(vals) > 1 else [1, 3]
            names, items, head = [var], [(v,) for v in vals], f"for {var} in [{', '.join(map(str, vals))}]"
            usable = [var]
        elif style == "enumerate":
            d = self.fresh("d")
            vals = [self.num(1, 4) for _ in range(self.pick([2, 3]))]
            names, items = [var, d], list(enumerate(vals))
            head = f"for {var}, {d} in enumerate([{', '.join(map(str, vals))}])"
            usable = [d]
        else:
            d = self.fresh("k")
            items = [(j + 1, self.pick([1, 3])) for j in range(self.pick([2, 3]))]
            names = [var, d]
            head = f"for {var}, {d} in [{', '.join(f'({a}, {b})' for a, b in items)}]"
            usable = [var]
        cin = self.fresh("c")
        rank4 = ctx.shape.rank == 4
        start = Shape(TAG_IN if rank4 else None, TAG_IN if rank4 else None, Form.sym(cin))
        env, spelling = dict(ctx.env), dict(ctx.spelling)
        for nm in names:
            env[nm] = Form.sym(nm) if nm in usable else UNKNOWN
            spelling[nm] = nm
        # outer tensors of the loop's input size can be used inside (as the start size)
        tensors = {t: Shape(start.h, start.w, s.c) for t, s in ctx.tensors.items()
                   if s.rank == ctx.shape.rank and (s.h, s.w) == (ctx.shape.h, ctx.shape.w)}
        inner = ctx.copy(shape=start, tensors=tensors, env=env, spelling=spelling, symbolic=True,
                         naming="loop" if ctx.naming != "none" else "none",
                         loop_key=f"str({var})" if not ctx.loop_key else f'{ctx.loop_key} + "_" + str({var})',
                         control=True, depth=ctx.depth + 1, scope_param=False)
        body = []
        if self.maybe(30):
            body.append(f"let {cin} = depth_in")
            inner.spelling[cin] = cin
        if style == "pairs" and rank4:  # `conv i k` with k a kernel size from the list
            self.layers += 1
            self.charge(len(items))
            body.append(self.suffix(inner, f"conv {var} {names[1]} stride=1 padding=SAME", "conv"))
            inner.shape = Shape(start.h, start.w, Form.sym(var))
        outer_mult, self.mult = self.mult, self.mult * len(items)
        body += self.body(inner, self.num(1, 3))
        self.mult = outer_mult
        out = ctx.shape
        for item in items:
            values = dict(zip(names, item))
            values[cin] = out.c
            out = Shape(out.h, out.w, subst(inner.shape.c, values))
        ctx.shape = out
        return [f"{head} {{"] + _indent(body) + ["}"]

    def s_if(self, ctx):
        tests = [self.condition(ctx)]
        if self.maybe(30):
            tests.append(self.condition(ctx))
        has_else = self.maybe(60)
        taken = next((i for i, (_, v) in enumerate(tests) if v), len(tests) if has_else else None)
        results = []
        for i in range(len(tests) + (1 if has_else else 0)):
            live = ctx.symbolic or i == taken
            inner = ctx.copy(depth=ctx.depth + 1, control=True, dead=ctx.dead or not live,
                             until_keys=ctx.until_keys if live and not ctx.symbolic else [])
            results.append((self.body(inner, self.num(0, 2)), inner))
        if ctx.symbolic:
            # which branch runs depends on the call: every path must leave the same shape
            shapes = [inner.shape for _, inner in results] + ([] if has_else else [ctx.shape])
            if len(set(shapes)) > 1:
                target = next((s.c for s in shapes if spell(s.c, ctx.spelling) and self.ok_channels(s.c, 10)), 3)
                fix = f"conv {spell(target, ctx.spelling)} 1x1 stride=1 padding=SAME rate=1" if ctx.shape.rank == 4 \
                    else f"fc {spell(target, ctx.spelling)}"
                for body, inner in results:
                    if inner.shape.c != target:
                        body.append(fix)
                        inner.shape = Shape(inner.shape.h, inner.shape.w, target)
                if not has_else and ctx.shape.c != target:
                    results.append(([fix], ctx.copy(shape=Shape(ctx.shape.h, ctx.shape.w, target))))
                    has_else = True
            ctx.shape = results[0][1].shape
            ctx.scope_param = ctx.scope_param and all(inner.scope_param for _, inner in results)
        elif taken is not None:
            inner = results[taken][1]
            ctx.shape, ctx.returned = inner.shape, inner.returned
            for k, v in inner.env.items():  # a rebinding (`let x = x + 1`) in the branch that ran
                if k in ctx.env:
                    ctx.env[k] = v
        out = []
        for i, (body, _) in enumerate(results):
            if i == 0:
                out.append(f"if {tests[0][0]} {{")
            elif i < len(tests):
                out.append(f"}} else if {tests[i][0]} {{")
            else:
                out.append("} else {")
            out += _indent(body)
        return out + ["}"]

    def condition(self, ctx):
        """(text, truth value; None where it depends on the block call or the loop item)."""
        options = ["literal"]
        flags = sorted(k for k, v in ctx.env.items() if isinstance(v, bool))
        ints = sorted(k for k in self.int_names(ctx) if type(ctx.env[k]) is int)
        syms = sorted(k for k, v in ctx.env.items() if isinstance(v, Form))
        options += ["flag"] if flags else []
        options += ["int"] if ints else []
        options += ["depth_in", "shape"] if not ctx.symbolic and ctx.shape.rank == 4 else []
        options += ["mode"] if "mode" in ctx.env else []
        options += ["sym"] if ctx.symbolic and syms else []
        options += ["param"] if ctx.symbolic and self.roles else []
        how = self.pick(options)
        if how == "flag":
            f = self.pick(flags)
            return (f"not {f}", not ctx.env[f]) if self.maybe(30) else (f, ctx.env[f])
        if how == "int":
            n, k = self.pick(ints), self.num(1, 4)
            op = self.pick([">", "==", "<=", "!="])
            v = ctx.env[n]
            return f"{n} {op} {k}", {">": v > k, "==": v == k, "<=": v <= k, "!=": v != k}[op]
        if how == "depth_in":
            k = self.num(1, 4)
            return f"depth_in > {k}", ctx.shape.c > k
        if how == "shape":
            k = self.num(2, 6)
            return f"shape(net)[1] >= {k}", ctx.shape.h >= k
        if how == "mode":
            m = self.pick(["a", "b"])
            return f'mode == "{m}"', ctx.env["mode"] == m
        if how == "sym":
            return f"{self.pick(syms)} > {self.num(0, 2)}", None
        if how == "param":
            p, role = self.pick(sorted(self.roles.items()))
            return {"flag": p, "stride": "stride == 1", "act": "act == none", "scope": "scope == none",
                    "k": "k > 2", "n": "n > 2"}[role], None
        v = self.pick([True, False])
        return ("1 < 2" if v else "len([1, 2]) == 3"), v

    def s_endpoint(self, ctx):
        self.records = True
        key = self.fresh("ep")
        if ctx.naming == "loop":
            return [f'endpoint "{key}_" + {ctx.loop_key}']
        style = self.pick(["const", "scope_name", "from"])
        if style == "scope_name":
            return [f'endpoint scope_name() + "/{key}"']
        if not ctx.symbolic and not ctx.dead:
            ctx.until_keys.append(key)
        if style == "from" and ctx.tensors:
            return [f'endpoint "{key}" from {self.pick(sorted(ctx.tensors))}']
        return [f'endpoint "{key}"']

    def collect_stmt(self, ctx):
        kinds = ["conv", "fc", "pool", "avg_pool", "dropout", "sep_conv", "flatten", "conv_t"]
        if self.on("collect_normalizer"):
            kinds += ["batch_norm", "layer_norm"]
        if ctx.fn == "model":
            kinds += sorted(b for b, info in self.blocks.items() if not info.inline)
        chosen = {self.pick(kinds) for _ in range(self.num(1, 3))}
        if self.on("collect_normalizer") and self.maybe(40):
            chosen.add("batch_norm")  # (also the batch norms of `normalizer=batch_norm` and of blocks)
        return f"collect {', '.join(sorted(chosen))}"

    def s_return(self, ctx):
        ctx.returned = True
        out = ["return"]
        if self.maybe(30):  # never runs
            out += self.body(ctx.copy(dead=True, until_keys=[], returned=False), 1)
        return out


@st.composite
def programs(draw, features=ALL):
    return Gen(draw, features).program()


# ------------------------------------------------------------ comparison ---


@dataclass
class Built:
    """One lowering of a model: the graph, input, output and end points, or the error it raised."""

    graph: object = None
    x: object = None
    net: object = None
    end_points: dict = None
    error: str = ""

    @property
    def facts(self):
        return _facts(self.graph, self.net, self.end_points)


# Emitter refusals documented in docs/language.md (constructs with no faithful TF-Slim spelling): `collect`
# inside `if`/`for` (E504), a repeated block recording end points under `until` (E509), a statement built
# as different forms by different calls (E512).  Programs that meet one are not comparable.
NO_PYTHON_SPELLING = frozenset({"E504", "E509", "E512"})


def build_both(text: str, model: str = "m"):
    """(load, emitted): `model` of `text` built through slimlang.load and through the emitted module.

    The program must pass the checker (an invalid one is the generator's fault)."""
    try:
        prog = check_text(text, "gen.slim")
    except SlimError as e:
        raise AssertionError(f"the generated program is invalid:\n{e.render()}\n--- program ---\n{text}") from None
    shape = _input_shape(prog, model)
    load, emitted = Built(), Built()
    with tempfile.TemporaryDirectory() as tmp:  # a fresh directory: no stale bytecode of an earlier program
        tmp = Path(tmp)
        path = tmp / "gen.slim"
        path.write_text(text)
        try:
            load.graph, load.x, load.net, load.end_points = _build_direct(path, model, shape, {})
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            load.error = f"slimlang.load(...).{model} raised {_describe(e)}"
        try:
            source = emit_module(prog)
        except SlimError as e:
            if e.first.code in NO_PYTHON_SPELLING:
                reject()  # a construct the emitter refuses with a located error, by design: nothing to compare
            raise
        try:
            gen = _import(source, tmp, "gen")
            emitted.graph, emitted.x, emitted.net, emitted.end_points = _build_emitted(gen, prog, model, shape, {})
        except Exception as e:  # noqa: BLE001
            emitted.error = f"the emitted module raised {_describe(e)}"
    return load, emitted


def differences(text: str, model: str = "m") -> list:
    """How the two lowerings of `model` differ (empty: they agree): an error either raises, then
    test_emit's facts (variables, model and trainable variables, regularization losses, update ops,
    end point names and shapes, output shape), then the values of the output and of every end point."""
    from slimlang.tfcompat import tf

    load, emitted = build_both(text, model)
    problems = [b.error for b in (load, emitted) if b.error]
    if problems:
        return problems
    a, b = load.facts, emitted.facts
    for key in a:
        if a[key] != b[key]:
            if isinstance(a[key], list):
                only_a = [i for i in a[key] if i not in b[key]][:4]
                only_b = [i for i in b[key] if i not in a[key]][:4]
                problems.append(f"{key}: only in load() {only_a}, only in the emitted module {only_b}"
                                + ("" if only_a or only_b else " (the same items in another order)"))
            else:
                problems.append(f"{key}: load() {a[key]!r}, the emitted module {b[key]!r}")
    if problems:
        return problems
    # conformance._compare_values compares one tensor (random weights copied by name, moving statistics
    # set to non-trivial values, one session call each way): the output and end points, flattened and joined
    packed = []
    for built in (load, emitted):
        with built.graph.as_default():
            parts = [built.net] + [built.end_points[k] for k in sorted(built.end_points)]
            packed.append(tf.concat([tf.reshape(tf.cast(p, tf.float32), [-1]) for p in parts], 0))
    shape = load.x.shape.as_list()
    for attempt in (1, 2):
        try:
            diffs = _compare_values(load.graph, load.x, packed[0], emitted.graph, emitted.x, packed[1], shape,
                                    1e-5, 1e-5)
            return [f"{d} (the output and the end points, joined)" for d in diffs]
        except (tf.errors.AbortedError, tf.errors.UnimplementedError) as e:
            # TensorFlow's oneDNN build (never with TF_ENABLE_ONEDNN_OPTS=0) fails to run some graphs,
            # whichever lowering built them: now and then, more often on a loaded machine ("could not
            # create a primitive descriptor for the reorder primitive": it runs the next time), and always
            # for tanh after an inference-mode batch norm ("Fusion is not implemented:
            # [FusedBatchNorm,Tanh]", hand-written tf_slim too).  Try again, then leave the values
            # unchecked (the structure above was compared).
            if "primitive" not in str(e) and "Fusion is not implemented" not in str(e):
                raise
            if attempt == 2:
                why = next((line.strip() for line in str(e).splitlines() if "primitive" in line or "Fusion" in line),
                           type(e).__name__)
                warnings.warn(f"values not compared: TensorFlow's oneDNN failed twice: {why[:200]}", stacklevel=2)
    return []


def _describe(e) -> str:
    if isinstance(e, SlimError):
        d = e.diagnostics[0]
        return f"SlimError {d.code}: {d.message}"
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}"


# ------------------------------------------------------------ generated ---

SHRINK = os.environ.get("SLIMLANG_DIFF_SHRINK") == "1"
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if SHRINK else [])


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


# SLIMLANG_DIFF_WITHOUT=let_stack,add_keyword: leave known cases (KNOWN) out, to look past them locally
WITHOUT = frozenset(w for w in os.environ.get("SLIMLANG_DIFF_WITHOUT", "").split(",") if w)
assert WITHOUT <= ALL, f"SLIMLANG_DIFF_WITHOUT: unknown {sorted(WITHOUT - ALL)}; known cases: {sorted(KNOWN)}"
LAYERS_AND_DEFAULTS = ALL - WITHOUT - {"blocks", "inline", "loops", "ifs", "endpoints", "collect", "returns",
                                       "until", "repeat_recording_block_in_block"}
STRUCTURE = ALL - WITHOUT - {"endpoints", "collect", "returns", "until", "repeat_recording_block_in_block"}
EVERYTHING = ALL - WITHOUT


def _agree(program: Program):
    note(program.text)
    problems = differences(program.text, program.model)
    assert not problems, "slimlang.load and the emitted module disagree (the program is below):\n  " + \
        "\n  ".join(problems)


@pytest.mark.slow
@_settings(90)
@given(programs(LAYERS_AND_DEFAULTS))
def test_generated_layers_forms_and_defaults_agree(program):
    _agree(program)


@pytest.mark.slow
@_settings(80)
@given(programs(STRUCTURE))
def test_generated_blocks_and_control_flow_agree(program):
    _agree(program)


@pytest.mark.slow
@_settings(80)
@given(programs(EVERYTHING))
def test_generated_end_points_and_returns_agree(program):
    _agree(program)


# ----------------------------------------------------------- regressions ---
# The cases issue 14 names.  Each asserts what docs/language.md says, through both lowerings.


def _agreeing(text):
    problems = differences(text)
    assert not problems, "\n".join(problems)
    return build_both(text)


def test_pool_list_is_a_kernel_size():
    """docs: `[3, 3]` is a kernel size; `pool [2, 2] as p` is one 2x2 max-pool (stride 2), not a stack."""
    for built in _agreeing("model m(inputs: [6, 6, 4]) {\n  pool [2, 2] as p\n}\n"):
        assert built.facts["output shape"] == (2, 3, 3, 4)
        assert built.net.op.name == "m/p/MaxPool"


def test_let_bound_list_is_a_stack():
    """`let sizes = [32, 64]` then `fc sizes`: a stack, as `fc [32, 64]` is."""
    text = "let sizes = [32, 64]\nmodel m(inputs: [8]) {\n  fc sizes as f\n}\n"
    for built in _agreeing(text):
        assert [v for v in built.facts["global variables"] if v[0].endswith("weights")] == [
            ("m/f/f_1/weights", (8, 32)), ("m/f/f_2/weights", (32, 64))]


@pytest.mark.parametrize("opener", ["scope s", "defaults conv: padding=SAME", "scope s defaults conv: stride=1",
                                    "defaults conv: padding=SAME {\n    scope s"])
def test_return_in_a_nested_body_returns_the_current_tensor(opener):
    """`return` inside `scope { }` or a `defaults` statement returns the current tensor, not the input,
    and nothing after it is built."""
    close = "}\n  " * opener.count("{")
    text = (f"model m(inputs: [6, 6, 2]) {{\n  {opener} {{\n    conv 3 1x1 as c\n    return\n    conv 4 1x1 as dead\n"
            f"  {close}}}\n  conv 5 1x1 as after\n}}\n")
    for built in _agreeing(text):
        assert built.facts["output shape"] == (2, 6, 6, 3)
        names = [v for v, _ in built.facts["global variables"]]
        assert names and all("/c/" in v for v in names), names


def test_top_level_let_function_in_a_model():
    text = "let wide(x, k = 2) = x * k + 1\nmodel m(inputs: [6, 6, 2]) {\n  conv wide(2) 1x1 as c\n}\n"
    for built in _agreeing(text):
        assert built.facts["output shape"] == (2, 6, 6, 5)


def test_a_model_called_as_a_layer_and_a_partial_model():
    """A model used in another opens its own scope inside the caller's (`as NAME`, else its default),
    runs under the caller's defaults and `collect`, stops at its own `until`, and its end points
    join the caller's; a partial model keeps its target's scope and takes the new defaults."""
    inner = ('defaults d(w = 0.1) { conv: padding=VALID, weights_regularizer=l2(w) }\n'
             'model inner(inputs: [6, 6, 2], n = 3, final_endpoint = "b", scope = "Inner") until final_endpoint {\n'
             '  conv n 3x3 as a endpoint\n  conv n 1x1 as b endpoint\n  conv 5 1x1 as c endpoint\n}\n')
    caller = ('model m(inputs: [6, 6, 2]) uses d(w = 0.2) {\n  collect conv\n  inner n=4 as sub\n'
              '  conv 2 1x1 as head\n  endpoint "head"\n}\n')
    for built in _agreeing(inner + caller):
        facts = built.facts
        assert facts["output shape"] == (2, 4, 4, 2)
        assert sorted(v for v in facts["global variables"] if v[0].endswith("weights")) == [
            ("m/head/weights", (1, 1, 4, 2)), ("m/sub/a/weights", (3, 3, 2, 4)), ("m/sub/b/weights", (1, 1, 4, 4))]
        # (the caller's `collect conv` reaches the called model's convolutions too)
        assert sorted(built.end_points) == ["a", "b", "head", "m/head", "m/sub/a", "m/sub/b"]
        assert facts["regularization losses"] == 3  # the caller's defaults reach the called model
    for built in _agreeing(inner + 'model m = inner(n=2, final_endpoint="c")\n'):
        assert built.facts["output shape"] == (2, 6, 6, 5)  # (inner has no `uses`: SAME padding)
        assert sorted(v for v, _ in built.facts["global variables"] if v.endswith("weights")) == [
            "Inner/a/weights", "Inner/b/weights", "Inner/c/weights"]


def test_let_bound_stack_whose_items_give_an_argument_defaults_set():
    """`let sizes = [(4, [2, 2], 2)]` then `conv_t sizes` under `defaults conv_t: stride=1`: each item
    binds stride itself (slim.stack would pass it twice, positionally and from the arg_scope)."""
    text = ("let sizes = [(4, [2, 2], 2), (3, 1x1, 1)]\nmodel m(inputs: [3, 3, 2]) {\n"
            "  defaults conv_t: stride=1 {\n    conv_t sizes padding=SAME as up\n  }\n}\n")
    for built in _agreeing(text):
        assert built.facts["output shape"] == (2, 6, 6, 3)
        assert sorted(v for v, _ in built.facts["global variables"] if v.endswith("weights")) == [
            "m/up/up_1/weights", "m/up/up_2/weights"]


def test_add_other_by_keyword():
    text = "model m(inputs: [6, 6, 2]) {\n  x = conv 2 1x1 as a\n  add other=x\n}\n"
    for built in _agreeing(text):
        assert built.facts["output shape"] == (2, 6, 6, 2)
        assert built.net.op.type in ("Add", "AddV2")


def test_collect_batch_norm_with_a_normalizer():
    """`collect batch_norm` and `normalizer=batch_norm`: the same end points both ways (with the
    batch_norm layer's own output among them)."""
    text = ("model m(inputs: [6, 6, 2], is_training = false) {\n  collect conv, batch_norm\n"
            "  conv 3 1x1 normalizer=batch_norm normalizer_params=dict(is_training=is_training) as c\n"
            "  batch_norm is_training=is_training as bn\n}\n")
    for built in _agreeing(text):
        assert {"m/c", "m/bn"} <= set(built.end_points)


def test_concat_without_axis_joins_channels():
    """docs: `concat [b0, b1, b2, b3]` joins branches along channels (axis=3)."""
    text = ("model m(inputs: [6, 6, 2]) {\n  a = conv 2 1x1 as a\n  b = conv 3 1x1 as b\n  concat [a, b]\n}\n")
    for built in _agreeing(text):
        assert built.facts["output shape"] == (2, 6, 6, 5)


def test_strided_slice_and_split_agree():
    """Issue 12: Python's slicing and tf.split, each part picked by index, through both lowerings."""
    text = ("model m(inputs: [7, 6, 4]) {\n"
            "  strided_slice [none, -1, 1] [none, none, 100] [1, -2, 2] as s endpoint\n"
            "  parts = split [1, -1] axis=-2 as sp\n"
            "  let p = parts[-1]\n"
            "  conv 3 1x1 from p as c endpoint\n"
            "  halves = split 2 from inputs\n"
            "  concat halves axis=3 as joined\n"
            "}\n")
    for built in _agreeing(text):
        assert built.facts["output shape"] == (2, 7, 6, 4)
