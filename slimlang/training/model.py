"""Train stage, calling the model: `model_fn(inputs, **params)` on the data's tensors.

A model is any callable `(inputs, **params) -> (net, end_points)` (or just
`net`): a model of a .slim file from `slimlang.load`, a tf_slim.nets function,
or one written by hand.  `is_training` is passed when the callable takes it.
A training graph's convolutions get slimlang's gradient formulations
(slimlang/gradients.py) unless told otherwise; graphs for eval, export and
predict get TensorFlow's, so a SavedModel never names a gradient that only
slimlang registers.
"""

from __future__ import annotations

import inspect

from .. import gradients as grads
from ..diagnostics import Diagnostic, SlimError
from ._tf import tf
from .data import Data, check_declared_input


def accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _fmt(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def call_model(model_fn, images, params: dict, *, is_training: bool, data: Data | None = None,
               model_name: str | None = None, gradients: str | None = None):
    """(net, end_points) of the model on `images`; build errors become SlimError at the data line.

    `gradients` ("fast" or "tensorflow", default: gradients.default()) chooses the convolution
    gradients of a training graph (is_training=True)."""
    if data is not None:
        check_declared_input(data, model_fn, model_name)
    kwargs = dict(params)
    if accepts(model_fn, "is_training"):
        kwargs["is_training"] = is_training
    where = f"model `{model_name}`" if model_name else "the model"
    dims = images.shape.as_list() if images.shape.rank is not None else None
    shape = f"{_fmt(dims[1:])} (batches of {_fmt(dims)})" if dims else "?"
    mode = (gradients or grads.default()) if is_training else "tensorflow"
    try:
        with grads.scope(mode):
            out = model_fn(images, **kwargs)
    except SlimError as e:
        if data is None:
            raise
        raise SlimError(e.diagnostics + [Diagnostic(
            "E325", f"{where} was built on examples of shape {shape} from this data line", data.spec.span,
            severity="note")]) from None
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
        msg = str(getattr(e, "message", e)).strip().splitlines()[0]
        notes = [f"note: TensorFlow said: {msg}"]
        if data is not None and images.shape.rank is not None and images.shape.rank == 3:
            notes.append("help: if these are grayscale images, store them as [N, height, width, 1]")
        if data is not None and images.shape.rank == 2:
            notes.append("help: for a convolutional model, give the data line shape=[height, width, channels]")
        span = data.spec.span if data is not None else None
        raise SlimError.single("E325", f"{where} cannot be built on the data's examples of shape {shape}", span, notes) from None
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        net, end_points = out
    elif isinstance(out, (list, tuple)) and out:
        net, end_points = out[0], {}
    else:
        net, end_points = out, {}
    if not isinstance(net, tf.Tensor):
        try:
            net = tf.convert_to_tensor(net)
        except (TypeError, ValueError):
            raise SlimError.single("E325", f"{where} returned {type(net).__name__}, not a tensor",
                                   data.spec.span if data else None) from None
    return net, dict(end_points or {})
