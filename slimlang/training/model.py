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


def _uses_defaults(model_fn, kwargs: dict):
    """For a model of a .slim file: take the parameters of the defaults block it `uses`
    (weight_decay=...) out of `kwargs` and return that block applied with them, as the
    model's `arg_scope=`; None when there are none."""
    node, program = getattr(model_fn, "_node", None), getattr(model_fn, "_program", None)
    if node is None or program is None or node.uses is None:
        return None
    own = {p.name for p in node.params[1:]}
    block = program.defaults.get(getattr(node.uses, "name", None))
    if block is None:
        return None
    names = [p.name for p in block.params]
    given = {k: kwargs.pop(k) for k in list(kwargs) if k not in own and k in names}
    if not given:
        return None
    from ..api import DefaultsValue
    from ..evaluate import Defaults, Evaluator, Frame, ModelRun

    ev = Evaluator(program, None)
    frame = Frame(dict(program.globals), None, Defaults(), frozenset(), ModelRun({}))
    args = dict(zip(names, [ev.eval(a, frame) for a in node.uses.args]))
    args.update({kw.name: ev.eval(kw.value, frame) for kw in node.uses.kwargs})
    args.update(given)
    return DefaultsValue(block.name, ev.apply_named_defaults(block, args, Defaults()))


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
    uses = _uses_defaults(model_fn, kwargs)
    if uses is not None:
        kwargs["arg_scope"] = uses
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
