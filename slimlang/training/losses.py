"""Train stage, losses: `loss` lines -> TF1 losses in the LOSSES collection.

What each kind computes is its entry in `kinds.losses` (a task and a call
on `helpers` and tf.compat.v1.losses); this module checks the labels
against the predictions and builds that call.

Each loss reads an end point of the model (`on=`, default the model's output
`net`) and a label field of the data (`labels=`).  Its unweighted value is
kept for summaries and eval; `weight * value` goes into the LOSSES collection
(the primer's `slim.losses.add_loss`), so `tf.losses.get_total_loss()` sums
them, with the regularization losses unless `regularization false`.

Labels are checked against the predictions when the graph is built, before
any step: class indices must lie in [0, classes), one-hot labels must have
as many columns as the logits, regression targets as many values per example
as the predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import SlimError, did_you_mean
from . import helpers
from ._tf import tf, tf1
from .data import LABEL_ASSERT, Data
from .kinds.losses import LOSS_KINDS
from .registry import registered_losses
from .spec import LossSpec


@dataclass
class Head:
    """One loss as built: what eval needs to score it."""

    spec: LossSpec
    value: object  # unweighted scalar loss tensor
    predictions: object  # the end point, reshaped as the loss used it
    labels: object  # labels as the loss used them
    task: str  # "classification" | "multilabel" | "regression" | "custom"
    num_classes: int | None = None
    sparse: bool = False


def resolve_end_point(loss: LossSpec, net, end_points: dict):
    """The tensor `on=` names: `net`, an end point, or a unique end-point suffix."""
    if loss.on == "net":
        return net
    eps = dict(end_points or {})
    if loss.on in eps:
        return eps[loss.on]
    suffix = [k for k in eps if k.endswith("/" + loss.on)]
    if len(suffix) == 1:
        return eps[suffix[0]]
    if len(suffix) > 1:
        raise SlimError.single("E326", f"end point `{loss.on}` is ambiguous: " + ", ".join(suffix), loss.on_span,
                               ["help: write the full end point name"])
    names = list(eps) + sorted({k.rsplit("/", 1)[-1] for k in eps})
    raise SlimError.single("E326", f"the model has no end point `{loss.on}`", loss.on_span,
                           [did_you_mean(loss.on, names),
                            "note: end points: " + (", ".join(eps) if eps else "none (use on=net)")])


def _static(t) -> list:
    return t.shape.as_list() if t.shape.rank is not None else None


def _fmt(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def build_losses(specs, net, end_points: dict, labels: dict, data: Data, *, add_to_collection=True) -> list:
    """Build every loss; returns one `Head` per loss line."""
    heads = []
    for loss in specs:
        field_name = loss.labels if loss.labels is not None else data.default_field
        if field_name not in labels:
            raise SlimError.single("E321", f"the data has no label field `{field_name}`", loss.labels_span,
                                   [did_you_mean(str(field_name), labels),
                                    "note: label fields: " + ", ".join(map(str, labels))])
        field = data.fields[field_name]
        pred = resolve_end_point(loss, net, end_points)
        with tf1.name_scope(f"loss_{loss.name}"):
            head = _build_one(loss, pred, labels[field_name], field, data)
        if add_to_collection:
            tf1.losses.add_loss(head.value * loss.weight if loss.weight != 1.0 else head.value)
        heads.append(head)
    return heads


def _build_one(loss: LossSpec, pred, labels, field, data: Data) -> Head:
    kind = loss.kind
    opts = loss.options
    if loss.custom:
        fn = registered_losses().get(kind)
        if fn is None:
            raise SlimError.single("E345", f"loss `{kind}` is no longer registered", loss.span)
        try:
            value = fn(pred, labels, **opts)
            value = tf.convert_to_tensor(value)
        except SlimError:
            raise
        except Exception as e:
            raise SlimError.single("E345", f"custom loss `{kind}` failed: {type(e).__name__}: {e}", loss.span,
                                   ["note: it is called as fn(predictions, labels, **options)"]) from None
        if value.shape.rank not in (0, None):
            value = tf.reduce_mean(value)
        return Head(loss, tf.cast(value, tf.float32), pred, labels, "custom")

    if not pred.dtype.is_floating:
        raise SlimError.single("E327", f"`{loss.on}` is {pred.dtype.name}, not floating point", loss.on_span)
    pred = helpers.loss_predictions(pred)
    pshape = _static(pred)
    entry = LOSS_KINDS[kind]
    call = entry.call(opts)

    def head(targets, task, classes=None, sparse=False):
        value = call.build(tf, {"predictions": pred, "targets": targets})
        return Head(loss, value, pred, targets, task, classes, sparse)

    if entry.task == "classification":
        if pshape is None or len(pshape) != 2 or pshape[1] is None:
            raise SlimError.single("E327", f"{kind} needs logits [batch, classes]; `{loss.on}` has "
                                   f"shape {_fmt(pshape or [])}", loss.on_span,
                                   ["help: flatten or squeeze the end point in the model, or pick another with on="])
        classes = pshape[1]
        fshape = field.shape
        if fshape in ((), (1,)):
            if not field.integral:
                raise _label_err(loss, data, field, "E327", f"{kind} with one label per example needs "
                                 f"class indices; labels `{field.name}` are not whole numbers")
            _check_range(loss, data, field, classes)
            idx = _assert_range(helpers.class_indices(labels) - loss.labels_offset, classes, field)
            return head(idx, "classification", classes, sparse=True)
        if loss.labels_offset:
            raise _label_err(loss, data, field, "E327", f"labels_offset needs class indices; labels `{field.name}` "
                             f"are {_fmt(fshape)} per example")
        if fshape == (classes,):
            if field.lo is not None and (field.lo < 0 or field.hi > 1):
                raise _label_err(loss, data, field, "E327", f"labels `{field.name}` [{classes}] per example are read "
                                 f"as class probabilities, but range over {field.lo:g}..{field.hi:g}, not 0..1")
            return head(tf.cast(labels, tf.float32), "classification", classes)
        raise _label_err(loss, data, field, "E327", f"labels `{field.name}` of shape {_fmt(fshape)} per example do not "
                         f"fit logits of {classes} classes: give class indices (one number) or one-hot [{classes}]")

    if entry.task == "multilabel":
        if pshape is None or len(pshape) < 1:
            raise SlimError.single("E327", f"`{loss.on}` has no static shape", loss.on_span)
        per = pshape[1:]
        target = _fit_targets(loss, data, field, labels, pred, per, allow_onehot=True)
        return head(target, "multilabel", per[-1] if per else 1)

    per = (pshape or [None])[1:]
    return head(_fit_targets(loss, data, field, labels, pred, per, allow_onehot=False), "regression")


def _fit_targets(loss, data, field, labels, pred, per, allow_onehot):
    """Labels shaped like the predictions (per example `per`), as `helpers.targets_like` shapes them."""
    if any(d is None for d in per):
        return helpers.targets_like(labels, pred)
    fshape = tuple(field.shape)
    n_lab = 1
    for d in fshape:
        n_lab *= d
    n_pred = 1
    for d in per:
        n_pred *= d
    if n_lab == n_pred:
        if pred.shape.rank is None:  # helpers.targets_like reads the predictions' rank
            return tf.reshape(tf.cast(labels, tf.float32), [-1] + list(per))
        return helpers.targets_like(labels, pred)
    if allow_onehot and fshape in ((), (1,)) and field.integral and len(per) == 1:
        _check_range(loss, data, field, per[0])
        idx = _assert_range(helpers.class_indices(labels) - loss.labels_offset, per[0], field)
        return helpers.targets_like(idx, pred, one_hot=True)
    raise _label_err(loss, data, field, "E327", f"labels `{field.name}` have {_fmt(fshape)} per example but "
                     f"`{loss.on}` predicts {_fmt(per)} per example")


def _label_err(loss, data, field, code, msg) -> SlimError:
    from ..diagnostics import Diagnostic

    return SlimError([Diagnostic(code, msg, loss.span),
                      Diagnostic(code, f"labels `{field.name}` come from this data line", data.spec.span,
                                 severity="note")])


def _check_range(loss: LossSpec, data: Data, field, classes: int):
    if field.lo is None:
        return
    lo, hi = loss.labels_offset, classes - 1 + loss.labels_offset
    if field.lo < lo or field.hi > hi:
        bad = field.hi if field.hi > hi else field.lo
        where = "" if field.verified else " (in the records read so far)"
        offset = f" with labels_offset={lo}" if lo else ""
        raise SlimError.single(
            "E323", f"label {bad:g} in `{field.name}` is out of range{where}: the model's `{loss.on}` has "
            f"{classes} classes, so labels must be {lo}..{hi}{offset}", data.spec.span,
            [f"note: labels range over {field.lo:g}..{field.hi:g}",
             "help: set the model's number of classes to match, or pick labels with classes=[...]"
             + ("" if lo else "; labels_offset=1 on the loss if class 0 is a background class the model lacks")])


def _assert_range(idx, classes: int, field):
    if field.verified:
        return idx
    # Labels not all seen before training (large TFRecord sets): check in the graph.
    ok = tf.reduce_all(tf.logical_and(idx >= 0, idx < classes))
    check = tf.debugging.Assert(ok, [f"{LABEL_ASSERT}: labels must be 0..{classes - 1}; got", idx],
                                summarize=8)
    with tf.control_dependencies([check]):
        return tf.identity(idx)
