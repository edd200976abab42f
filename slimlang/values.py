"""Builtin values of the language: activations, initializers, regularizers,
normalizers and the constants and functions expressions may use.

A builtin value is an `Op`: a name plus evaluated arguments.  It is plain data
(hashable, printable), so the checker and the Python emitter never need
TensorFlow; `to_tf` turns it into the TensorFlow object for the graph
lowering, `to_py` into the source text for the emitted module.  This one table
is also what the docs list.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Builtin:
    """What a builtin name is: its kind, TF-Slim/TF spelling, parameters, doc."""

    name: str
    kind: str  # activation | initializer | regularizer | normalizer | constant
    py: str  # Python spelling in emitted code (callable path, or the constant's text)
    params: tuple = ()  # (name, default) pairs for calls; () for plain references
    callable: bool = False  # must be called: `l2(0.001)`; otherwise referenced: `relu`
    doc: str = ""
    # Python source of the function named `py`, for a builtin TensorFlow has no function for: the
    # emitted module defines it once, and the graph lowering runs the same text (HELPERS).
    source: str = ""


_R = object()  # required argument

# MobileNetV3's piecewise-linear activations (Howard et al. 2019, https://arxiv.org/abs/1905.02244).
# tf.nn has neither; keras' would pull Keras into a TF-Slim graph.
_HARD_SWISH = '''def hard_swish(x, name=None):
    """x * relu6(x + 3) / 6: MobileNetV3's swish, piecewise linear."""
    with tf.name_scope(name or "hard_swish"):
        return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
'''
_HARD_SIGMOID = '''def hard_sigmoid(x, name=None):
    """relu6(x + 3) / 6: MobileNetV3's sigmoid, piecewise linear (its squeeze-and-excite gate)."""
    with tf.name_scope(name or "hard_sigmoid"):
        return tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
'''

# I3D's and S3D-G's temporal convolutions start as the identity (i3d_utils.center_initializer); TensorFlow's
# own identity initializer is for matrices only.
_CENTER_IDENTITY = '''def center_identity_initializer():
    """Kernels that pass input channel i to output channel i at the window's center."""

    def initializer(shape, dtype=None, partition_info=None):
        *window, channels_in, channels_out = [int(d) for d in shape]
        eye = tf.eye(channels_in, channels_out, batch_shape=[1] * len(window), dtype=dtype or tf.float32)
        return tf.pad(eye, [[k // 2, k - 1 - k // 2] for k in window] + [[0, 0], [0, 0]])

    return initializer
'''

BUILTINS: dict[str, Builtin] = {b.name: b for b in [
    # activations (also usable as layers of the same name)
    Builtin("relu", "activation", "tf.nn.relu", doc="max(x, 0)"),
    Builtin("relu6", "activation", "tf.nn.relu6", doc="min(max(x, 0), 6)"),
    Builtin("elu", "activation", "tf.nn.elu", doc="exponential linear unit"),
    Builtin("selu", "activation", "tf.nn.selu", doc="scaled exponential linear unit"),
    Builtin("leaky_relu", "activation", "tf.nn.leaky_relu", doc="leaky ReLU (alpha 0.2)"),
    Builtin("tanh", "activation", "tf.nn.tanh", doc="hyperbolic tangent"),
    Builtin("sigmoid", "activation", "tf.nn.sigmoid", doc="logistic sigmoid"),
    Builtin("softplus", "activation", "tf.nn.softplus", doc="log(exp(x) + 1)"),
    Builtin("swish", "activation", "tf.nn.swish", doc="x * sigmoid(x)"),
    Builtin("hard_swish", "activation", "hard_swish", doc="x * relu6(x + 3) / 6 (MobileNetV3)",
            source=_HARD_SWISH),
    Builtin("hard_sigmoid", "activation", "hard_sigmoid",
            doc="relu6(x + 3) / 6 (MobileNetV3's squeeze-and-excite gate)", source=_HARD_SIGMOID),
    # normalizers (for `normalizer=`)
    Builtin("batch_norm", "normalizer", "slim.batch_norm", doc="slim.batch_norm; its `defaults` apply"),
    Builtin("layer_norm", "normalizer", "slim.layer_norm", doc="slim.layer_norm"),
    Builtin("instance_norm", "normalizer", "slim.instance_norm", doc="slim.instance_norm (pix2pix, CycleGAN)"),
    # initializers
    Builtin("zeros", "initializer", "tf.compat.v1.zeros_initializer", doc="all zeros"),
    Builtin("ones", "initializer", "tf.compat.v1.ones_initializer", doc="all ones"),
    Builtin("center_identity", "initializer", "center_identity_initializer",
            doc="a kernel that starts as the identity: 1 at the window's center (index k // 2 of each axis) from "
                "input channel i to output channel i (I3D's and S3D-G's temporal convolutions)",
            source=_CENTER_IDENTITY),
    Builtin("constant", "initializer", "tf.compat.v1.constant_initializer", (("value", 0.0),), True, "a constant value"),
    Builtin("truncated_normal", "initializer", "tf.compat.v1.truncated_normal_initializer",
            (("mean", 0.0), ("stddev", 1.0), ("seed", None)), True, "normal, cut at two standard deviations"),
    Builtin("random_normal", "initializer", "tf.compat.v1.random_normal_initializer",
            (("mean", 0.0), ("stddev", 1.0), ("seed", None)), True, "normal distribution"),
    Builtin("random_uniform", "initializer", "tf.compat.v1.random_uniform_initializer",
            (("minval", 0.0), ("maxval", None), ("seed", None)), True, "uniform distribution"),
    Builtin("xavier", "initializer", "slim.xavier_initializer",
            (("uniform", True), ("seed", None)), True, "Glorot/Xavier (slim's default for weights)"),
    Builtin("variance_scaling", "initializer", "slim.variance_scaling_initializer",
            (("factor", 2.0), ("mode", "FAN_IN"), ("uniform", False), ("seed", None)), True,
            "He et al. scaling (ResNet's weights)"),
    # regularizers
    Builtin("l2", "regularizer", "slim.l2_regularizer", (("scale", _R),), True, "scale * sum(w ** 2) / 2"),
    Builtin("l1", "regularizer", "slim.l1_regularizer", (("scale", _R),), True, "scale * sum(|w|)"),
    Builtin("l1_l2", "regularizer", "slim.l1_l2_regularizer", (("scale_l1", 1.0), ("scale_l2", 1.0)), True,
            "l1 and l2 together"),
    # constants
    Builtin("UPDATE_OPS", "constant", "tf.compat.v1.GraphKeys.UPDATE_OPS",
            doc="the graph collection batch-norm updates go to (`updates_collections=`)"),
]}

# Plain string constants: `padding=SAME` reads better than `padding="SAME"`.
STRING_CONSTANTS = {"SAME": "SAME", "VALID": "VALID", "NHWC": "NHWC", "NCHW": "NCHW",
                    "CONSTANT": "CONSTANT", "REFLECT": "REFLECT", "SYMMETRIC": "SYMMETRIC",
                    "FAN_IN": "FAN_IN", "FAN_OUT": "FAN_OUT", "FAN_AVG": "FAN_AVG"}


@dataclass(frozen=True, slots=True)
class Op:
    """A builtin value: `relu`, `l2(0.0005)`, `truncated_normal(stddev=0.01)`."""

    name: str
    args: tuple = ()  # ((param, value), ...) with every given argument, in declaration order

    @property
    def builtin(self) -> Builtin:
        return BUILTINS[self.name]

    @property
    def kind(self) -> str:
        return self.builtin.kind

    def __str__(self) -> str:
        if not self.builtin.callable:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args)})"

    def to_tf(self, tf, slim):
        """The TensorFlow object this value stands for (graph lowering only)."""
        b = self.builtin
        obj = _resolve(b.py, tf, slim)
        if b.kind == "constant" or not b.callable and b.kind in ("activation", "normalizer"):
            return obj
        if b.kind == "initializer" and not b.callable:
            return obj()
        return obj(**dict(self.args))

    def to_py(self) -> str:
        """Python source for the emitted module; arguments via `repr` only."""
        b = self.builtin
        if b.kind == "constant" or not b.callable and b.kind in ("activation", "normalizer"):
            return b.py
        if not b.callable:
            return f"{b.py}()"
        return f"{b.py}({', '.join(f'{k}={py_literal(v)}' for k, v in self.args)})"


# NASNet's drop path (the `drop_path` layer): neither tf nor tf_slim has it.  The global step is
# read before the name scope opens, so it is made where the reference makes it (in the variable
# scope of the first layer that drops).  Decorated for slim.arg_scope, as the reference's is.
_DROP_PATH = '''@slim.add_arg_scope
def drop_path(inputs, keep_prob, is_training=True, burn_in_steps=0, scope=None):
    """NASNet's drop path: keep each example with probability keep_prob, else zero it.

    Kept examples are scaled by 1 / keep_prob.  With burn_in_steps, the drop
    probability 1 - keep_prob ramps in linearly over that many global steps.
    The identity when not training or when keep_prob is 1.
    """
    if not is_training or keep_prob >= 1.0:
        return inputs
    if burn_in_steps:
        step = tf.cast(tf.compat.v1.train.get_or_create_global_step(), tf.float32)
        keep_prob = 1.0 - tf.minimum(1.0, step / burn_in_steps) * (1.0 - keep_prob)
    with tf.compat.v1.name_scope(scope, "DropPath", [inputs]):
        noise_shape = [tf.shape(inputs)[0]] + [1] * (inputs.shape.rank - 1)
        kept = tf.floor(keep_prob + tf.random.uniform(noise_shape, dtype=tf.float32))
        return inputs * tf.cast(1.0 / keep_prob, inputs.dtype) * tf.cast(kept, inputs.dtype)
'''

# The `strided_slice` layer: Python's `net[b:e:s, ...]`, whose omitted bounds tf.strided_slice spells as
# mask bits; `none` in the .slim lists is the omitted bound, so a graph equals the one `net[:, 1:, 1:, :]`
# builds (NASNet's) without the user counting bits.
_STRIDED_SLICE = '''def strided_slice(input_, begin, end, strides=None, name=None):
    """input_[begin[0]:end[0]:strides[0], ...]; a bound that is None is omitted, as in Python."""
    begin_mask = sum(1 << i for i, b in enumerate(begin) if b is None)
    end_mask = sum(1 << i for i, e in enumerate(end) if e is None)
    return tf.strided_slice(input_, [0 if b is None else b for b in begin], [0 if e is None else e for e in end],
                            [1] * len(begin) if strides is None else strides, begin_mask=begin_mask,
                            end_mask=end_mask, name=name)
'''

# Functions defined by their own Python source, by the name they define: builtins
# (`Builtin.source`) and layer kinds TensorFlow has no function for.
HELPERS: dict[str, str] = {**{b.py: b.source for b in BUILTINS.values() if b.source}, "drop_path": _DROP_PATH,
                           "strided_slice": _STRIDED_SLICE}


@functools.lru_cache(maxsize=None)
def helper_function(name: str, tf, slim=None):
    """The function HELPERS[name] defines, built against `tf` and `slim` (the graph lowering's)."""
    namespace = {"tf": tf, "slim": slim}
    exec(compile(HELPERS[name], f"<slimlang builtin {name}>", "exec"), namespace)  # our own source
    return namespace[name]


def _resolve(path: str, tf, slim):
    if path in HELPERS:
        return helper_function(path, tf, slim)
    root, *rest = path.split(".")
    obj = {"tf": tf, "slim": slim}[root]
    for part in rest:
        obj = getattr(obj, part)
    return obj


def show(v, *, kernels: bool = False) -> str:
    """A value as a .slim file spells it, for messages and tools: `true`, `none`, `'SAME'`, `[32, 64]`,
    `relu`, `l2(0.0005)`, `dict(decay=0.9)`; with `kernels`, pairs of integers as `3x3`.

    Interpreter values that are not data (tensors, functions) say what they are through a `shown`
    attribute."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, Op)):
        return str(v)
    if isinstance(v, str):
        return repr(v)
    if kernels and isinstance(v, tuple) and len(v) == 2 and all(
            isinstance(i, int) and not isinstance(i, bool) for i in v):
        return f"{v[0]}x{v[1]}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(show(x, kernels=kernels) for x in v) + "]"
    if isinstance(v, dict):
        return "dict(" + ", ".join(f"{k}={show(x, kernels=kernels)}" for k, x in v.items()) + ")"
    shown = getattr(v, "shown", None)
    return shown if isinstance(shown, str) else type(v).__name__


def py_literal(value) -> str:
    """Python source for an evaluated value: builtins by name, data by repr."""
    if isinstance(value, Op):
        return value.to_py()
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {py_literal(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"no Python literal for {type(value).__name__}")


def make_op(name: str, args: tuple, kwargs: dict) -> Op:
    """Bind call arguments to a builtin's parameters; raises ValueError/TypeError with a user message."""
    b = BUILTINS[name]
    if not b.callable:
        raise TypeError(f"`{name}` is not called: write `{name}` without parentheses")
    names = [p for p, _ in b.params]
    if len(args) > len(names):
        n = len(names)
        raise TypeError(f"`{name}` takes at most {n} argument{'s' if n > 1 else ''} ({', '.join(names)}), got {len(args)}")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise KeyError(k)
        if k in bound:
            raise TypeError(f"`{name}` got `{k}` twice")
        bound[k] = v
    for p, default in b.params:
        if default is _R and p not in bound:
            raise TypeError(f"`{name}` needs its `{p}` argument")
    return Op(name, tuple((p, bound[p]) for p in names if p in bound))
