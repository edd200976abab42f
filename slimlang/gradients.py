"""Convolution gradients: faster formulations of the same gradients, installed
through TensorFlow's own gradient registry.

A convolution's gradients are themselves convolutions, and TensorFlow's CPU
kernels for them (Conv2DBackpropInput, Conv2DBackpropFilter) are not always
the fastest way to compute them.  Measured on a 2-core x86 CPU (TensorFlow
2.21, batch 16, see docs/training.md, "Gradients"):

- with oneDNN's kernels off (TF_ENABLE_ONEDNN_OPTS=0, and TensorFlow builds
  without oneDNN), Eigen's Conv2DBackpropInput is pathological on small maps:
  644 ms at 2x2x512 with a 3x3 kernel, where the same result computed as a
  forward convolution of the output gradient with the kernel flipped
  spatially and its in/out channels swapped takes 33 ms; a 1x1 convolution's
  input gradient as one matrix product: 250 -> 6-18 ms;
- with oneDNN (the default on x86 Linux), its backprop kernels are as fast as
  the forward ones, and bit-identical to them, except the filter gradients of
  1x1 convolutions (one matrix product x^T dy: 1.2-1.8x) and of convolutions
  whose output map has at most 4 positions (the input's patches times dy:
  8.2 -> 4.5 ms at 2x2x512, 3x3).

So each gradient below is computed by the formulation that measured fastest
for its form and for the kernels in use, and by TensorFlow's own gradient
function everywhere else (other data formats, explicit padding, dilations
on the op, unknown shapes).  Every formulation is exact math, not an
approximation: the results differ from TensorFlow's only by float rounding
(tests/test_gradients.py checks 1e-4 relative on random shapes).

Dilated (atrous) convolutions reach here as SpaceToBatch + a plain Conv2D +
BatchToSpace (tf.nn.convolution's lowering), separable ones as a depthwise
convolution and a 1x1 Conv2D, and `conv_t` as a Conv2DBackpropInput whose
gradients are a forward Conv2D (already the fast one) and a filter gradient.

Use::

    with gradients.scope("fast"):      # around building the model
        net = model(images)
    tf.gradients(loss, variables)      # anywhere later: the override is an attribute of each op

`scope` records the choice on each convolution op it creates
(`graph.gradient_override_map`); nothing changes in the forward computation.
TensorFlow is imported when a scope is entered, never when this module is.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

MODES = ("fast", "tensorflow")
DEFAULT = "fast"
#: Process-wide default (`slimlang train --tf-gradients` sets it, as does SLIMLANG_GRADIENTS=tensorflow).
ENV = "SLIMLANG_GRADIENTS"

# The registered names; an op carries one in its `_gradient_op_type` attribute.
_OVERRIDES = {
    "Conv2D": "SlimlangFastConv2D",
    "Conv2DBackpropInput": "SlimlangFastConv2DBackpropInput",
}

_current: contextvars.ContextVar = contextvars.ContextVar("slimlang_gradients", default=None)
_registered = False

# Output maps of at most this many positions get the patches x dy filter gradient
# (measured: 2x2 outputs win 1.5-2.7x, 4x4 lose 1.2x, in both kernel families).
_TINY_MAP = 4


def current() -> str | None:
    """The mode of the innermost active `scope`, or None outside any."""
    return _current.get()


def default() -> str:
    """The mode used where nothing more specific chose one: $SLIMLANG_GRADIENTS, else "fast"."""
    mode = os.environ.get(ENV, "").strip().lower()
    return mode if mode in MODES else DEFAULT


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"gradients must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


@contextlib.contextmanager
def scope(mode: str | None = DEFAULT):
    """Ops created inside get `mode`'s convolution gradients (None: keep the enclosing choice)."""
    if mode is None:
        yield
        return
    check_mode(mode)
    from .tfcompat import tf

    token = _current.set(mode)
    try:
        if mode == "fast":
            register()
            with tf.compat.v1.get_default_graph().gradient_override_map(_OVERRIDES):
                yield
        else:
            # inside a fast scope, map the types back to themselves: TensorFlow's own gradients
            outer = tf.compat.v1.get_default_graph()._gradient_override_map  # noqa: SLF001 (read only)
            if any(k in outer for k in _OVERRIDES):
                with tf.compat.v1.get_default_graph().gradient_override_map({k: k for k in _OVERRIDES}):
                    yield
            else:
                yield
    finally:
        _current.reset(token)


def onednn() -> bool:
    """Whether TensorFlow runs oneDNN's kernels in this process (they change which formulation wins)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # a build without the query: decide from the switch
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false", "False")


def register():
    """Register slimlang's gradient functions with TensorFlow (once a process; entering a "fast"
    scope does it).  A process that imports a graph built with them (a MetaGraph, a GraphDef) and
    differentiates it calls this first."""
    global _registered
    if _registered:
        return
    from .tfcompat import tf

    for op_type, fn in (("Conv2D", _conv2d_grad), ("Conv2DBackpropInput", _conv2d_backprop_input_grad)):
        try:
            tf.RegisterGradient(_OVERRIDES[op_type])(fn)
        except KeyError:  # registered already in this process (a reloaded module): TensorFlow keeps the first
            pass
    _registered = True


# ------------------------------------------------------------------ geometry ---


def _same_pads(size: int, k: int, s: int) -> tuple:
    """(before, after) padding of SAME, as TensorFlow computes it."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _plain(op) -> dict | None:
    """The geometry of an NHWC, undilated, SAME/VALID op with static shapes; None for anything else."""
    if op.get_attr("data_format") not in (b"NHWC", "NHWC"):
        return None
    padding = op.get_attr("padding")
    padding = padding.decode() if isinstance(padding, bytes) else padding
    if padding not in ("SAME", "VALID"):
        return None
    strides = list(op.get_attr("strides"))
    dilations = list(op.get_attr("dilations"))
    if dilations != [1, 1, 1, 1] or strides[0] != 1 or strides[3] != 1:
        return None
    return {"padding": padding, "sh": strides[1], "sw": strides[2]}


def _static(t) -> list | None:
    if t.shape.rank is None:
        return None
    dims = t.shape.as_list()
    return None if any(d is None for d in dims[1:]) else dims


# ------------------------------------------------------------ formulations ---


def _zero_insert(t, sh: int, sw: int, height: int, width: int, tf):
    """`t` [N, h, w, C] spread to [N, height, width, C]: t[i, j] at (i*sh, j*sw), zeros between."""
    if sh == 1 and sw == 1:
        return t[:, :height, :width, :]
    _, h, w, c = t.shape.as_list()
    z = tf.reshape(t, [-1, h, 1, w, 1, c])
    z = tf.pad(z, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]])
    z = tf.reshape(z, [-1, h * sh, w * sw, c])
    return z[:, :height, :width, :]


def _input_grad_1x1(dy, kernel, g, in_hw, tf):
    """A 1x1 convolution's input gradient: dy [M, O] x kernel [C, O]^T, spread back over the strides."""
    c, o = kernel.shape.as_list()[2:]
    _, h, w, _ = dy.shape.as_list()
    dx = tf.matmul(tf.reshape(dy, [-1, o]), tf.reshape(kernel, [c, o]), transpose_b=True)
    dx = tf.reshape(dx, [-1, h, w, c])
    return _zero_insert(dx, g["sh"], g["sw"], in_hw[0], in_hw[1], tf)


def _input_grad_flipped(dy, kernel, g, in_hw, tf):
    """A stride-1 convolution's input gradient as the forward convolution of dy with the kernel
    flipped spatially and its in/out channels swapped (a 'full' correlation)."""
    kh, kw = kernel.shape.as_list()[:2]
    (pt, pb), (pl, pr) = ((0, 0), (0, 0)) if g["padding"] == "VALID" else (
        _same_pads(in_hw[0], kh, 1), _same_pads(in_hw[1], kw, 1))
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    return tf.nn.conv2d(dy, flipped, 1, [[0, 0], [kh - 1 - pt, kh - 1 - pb], [kw - 1 - pl, kw - 1 - pr], [0, 0]])


def _input_grad_strided(dy, kernel, g, in_hw, tf):
    """A strided convolution's input gradient: dy spread over the strides, then the stride-1 form."""
    kh, kw = kernel.shape.as_list()[:2]
    sh, sw = g["sh"], g["sw"]
    (pt, _), (pl, _) = ((0, 0), (0, 0)) if g["padding"] == "VALID" else (
        _same_pads(in_hw[0], kh, sh), _same_pads(in_hw[1], kw, sw))
    _, h, w, _ = dy.shape.as_list()
    z = _zero_insert(dy, sh, sw, (h - 1) * sh + 1, (w - 1) * sw + 1, tf)
    zh, zw = (h - 1) * sh + 1, (w - 1) * sw + 1
    bt, bl = kh - 1 - pt, kw - 1 - pl
    at, al = in_hw[0] + kh - 1 - bt - zh, in_hw[1] + kw - 1 - bl - zw
    if at < 0 or al < 0:  # rows/columns the forward pass never read get no gradient from them
        z = z[:, :zh + min(at, 0), :zw + min(al, 0), :]
        at, al = max(at, 0), max(al, 0)
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    return tf.nn.conv2d(z, flipped, 1, [[0, 0], [bt, at], [bl, al], [0, 0]])


def _filter_grad_1x1(x, dy, g, tf):
    """A 1x1 convolution's filter gradient: x^T dy over every position (x sampled at the strides)."""
    if g["sh"] > 1 or g["sw"] > 1:
        x = x[:, ::g["sh"], ::g["sw"], :]
    c, o = x.shape.as_list()[3], dy.shape.as_list()[3]
    return tf.reshape(tf.matmul(tf.reshape(x, [-1, c]), tf.reshape(dy, [-1, o]), transpose_a=True), [1, 1, c, o])


def _filter_grad_patches(x, dy, kshape, g, tf):
    """The filter gradient as the input's patches (one row per output position) times dy."""
    kh, kw, c, o = kshape
    _, height, width, _ = x.shape.as_list()
    if g["padding"] == "SAME":
        (pt, pb), (pl, pr) = _same_pads(height, kh, g["sh"]), _same_pads(width, kw, g["sw"])
        if pt or pb or pl or pr:
            x = tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]])
    patches = tf.image.extract_patches(x, [1, kh, kw, 1], [1, g["sh"], g["sw"], 1], [1, 1, 1, 1], "VALID")
    dk = tf.matmul(tf.reshape(patches, [-1, kh * kw * c]), tf.reshape(dy, [-1, o]), transpose_a=True)
    return tf.reshape(dk, [kh, kw, c, o])


# ---------------------------------------------------------- the rule table ---
#
# (form, kernels) -> formulation; measured per form, paired and interleaved,
# at the map sizes of a ResNet on 64x64 inputs (2x2 to 32x32).  A form absent
# here keeps TensorFlow's kernel, which measured fastest for it.


def _choose_input(kh, kw, g, onednn_on: bool):
    one = kh == 1 and kw == 1
    stride1 = g["sh"] == 1 and g["sw"] == 1
    if onednn_on:
        return None  # oneDNN's backprop-input equals the flipped forward convolution, op for op
    if one:
        return "1x1"
    return "flipped" if stride1 else "strided"


def _choose_filter(kh, kw, g, out_hw, onednn_on: bool):
    one = kh == 1 and kw == 1
    stride1 = g["sh"] == 1 and g["sw"] == 1
    if one:
        # strided: x sampled at the strides first; that slice costs more than it saves except on tiny
        # maps without oneDNN (20 -> 4.6 ms at 4x4x1024 -> 2048; 3.9 -> 5.6 ms at 8x8x512 -> 1024)
        return "1x1" if stride1 or (not onednn_on and out_hw[0] * out_hw[1] <= _TINY_MAP) else None
    if not one and out_hw[0] * out_hw[1] <= _TINY_MAP:
        return "patches"
    return None


def _conv2d_grad(op, grad):
    from tensorflow.python.framework import ops as tf_ops

    from .tfcompat import tf

    tf_own = tf_ops._gradient_registry.lookup("Conv2D")  # noqa: SLF001 (TensorFlow's registered function)
    g = _plain(op)
    x, kernel = op.inputs[0], op.inputs[1]
    xs, ks, dys = _static(x), _static(kernel), _static(grad)
    if g is None or xs is None or ks is None or dys is None or kernel.shape.rank != 4 \
            or any(d is None for d in kernel.shape.as_list()):
        return tf_own(op, grad)
    kh, kw = kernel.shape.as_list()[:2]
    on = onednn()
    how_in = _choose_input(kh, kw, g, on)
    how_f = _choose_filter(kh, kw, g, dys[1:3], on)
    if how_in is None and how_f is None:
        return tf_own(op, grad)
    in_hw = xs[1:3]
    strides, padding = [1, g["sh"], g["sw"], 1], g["padding"]
    if how_in == "1x1":
        dx = _input_grad_1x1(grad, kernel, g, in_hw, tf)
    elif how_in == "flipped":
        dx = _input_grad_flipped(grad, kernel, g, in_hw, tf)
    elif how_in == "strided":
        dx = _input_grad_strided(grad, kernel, g, in_hw, tf)
    else:
        sizes = xs if xs[0] is not None else tf.shape(x)
        dx = tf.compat.v1.nn.conv2d_backprop_input(sizes, kernel, grad, strides, padding)
    if how_f == "1x1":
        dk = _filter_grad_1x1(x, grad, g, tf)
    elif how_f == "patches":
        dk = _filter_grad_patches(x, grad, kernel.shape.as_list(), g, tf)
    else:
        dk = tf.compat.v1.nn.conv2d_backprop_filter(x, kernel.shape.as_list(), grad, strides, padding)
    return dx, dk


def _conv2d_backprop_input_grad(op, grad):
    """`conv_t` (Conv2DBackpropInput as a forward op): its input gradient is a forward Conv2D
    (TensorFlow's, kept); its filter gradient is the filter gradient of that convolution."""
    from tensorflow.python.framework import ops as tf_ops

    from .tfcompat import tf

    tf_own = tf_ops._gradient_registry.lookup("Conv2DBackpropInput")  # noqa: SLF001
    g = _plain(op)
    kernel, dy = op.inputs[1], op.inputs[2]
    gs, ds, ks = _static(grad), _static(dy), _static(kernel)
    if g is None or gs is None or ds is None or ks is None or any(d is None for d in kernel.shape.as_list()):
        return tf_own(op, grad)
    kh, kw = kernel.shape.as_list()[:2]
    how_f = _choose_filter(kh, kw, g, ds[1:3], onednn())
    if how_f is None:
        return tf_own(op, grad)
    # Here `grad` plays the convolution's input and `dy` its output gradient.
    if how_f == "1x1":
        dk = _filter_grad_1x1(grad, dy, g, tf)
    else:
        dk = _filter_grad_patches(grad, dy, kernel.shape.as_list(), g, tf)
    dy_grad = tf.nn.conv2d(grad, kernel, [1, g["sh"], g["sw"], 1], g["padding"])
    return None, dk, dy_grad
