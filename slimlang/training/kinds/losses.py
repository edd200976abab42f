"""`loss KIND`: one entry per built-in loss, its task and the TF1 call computing it.

Every loss reads an end point (`on=`, made float32 and squeezed by
`helpers.loss_predictions`) and a label field (`labels=`).  The task says
how the labels become targets: `classification` passes them as they are
(class indices or one-hot rows, `helpers.softmax_cross_entropy` takes
both), `multilabel` and `regression` shape them like the predictions
(`helpers.targets_like`; multilabel turns class indices into one-hot rows).
The call gives the unweighted loss; the trainers add `weight * loss` to the
LOSSES collection.
"""

from __future__ import annotations

from ..argtypes import (
    BOOL,
    FRACTION,
    IDENTIFIER,
    INT,
    LABEL_FIELD,
    NONNEG_FLOAT,
    POS_FLOAT,
    STR,
    optional,
)
from .base import Arg, Call, Kind, Ref, kinds

PREDICTIONS = Ref("predictions")
TARGETS = Ref("targets")

COMMON = (
    Arg("on", STR, "net", "end point the loss reads: `net` (the model's output) or an end point name"),
    Arg("labels", optional(LABEL_FIELD), None, "label field of the data (default: the data's first)"),
    Arg("weight", NONNEG_FLOAT, 1.0, "weight of this loss in the total loss"),
    Arg("name", optional(IDENTIFIER), None,
        "name in summaries and eval output (default: the kind, or the end point when several)"),
    Arg("labels_offset", INT, 0, "subtracted from class-index labels (train_image_classifier's labels_offset: "
        "1 for a dataset whose class 0 is `background` and a model without it)"),
)

_NO_COLLECTION = (("loss_collection", None),)


def _tf_loss(fn: str, *options: tuple[str, str], predictions=PREDICTIONS, targets=TARGETS):
    def call(o: dict) -> Call:
        kw = tuple((key, o[opt]) for key, opt in options)
        return Call(f"compat.v1.losses.{fn}", (targets, predictions), kw + _NO_COLLECTION)
    return call


def _log_loss(o: dict) -> Call:
    probabilities = Call("sigmoid", (PREDICTIONS,)) if o["from_logits"] else PREDICTIONS
    return _tf_loss("log_loss", ("epsilon", "epsilon"), predictions=probabilities)(o)


def _cosine_distance(o: dict) -> Call:
    axis = int(o["axis"])
    return Call("compat.v1.losses.cosine_distance",
                (Call("math.l2_normalize", (TARGETS, axis)), Call("math.l2_normalize", (PREDICTIONS, axis))),
                (("axis", axis),) + _NO_COLLECTION)


LOSS_KINDS = kinds(
    Kind("softmax_cross_entropy", (
        Arg("label_smoothing", FRACTION, 0.0, "smooth one-hot targets towards uniform"),
    ), "logits [B, C]; integer labels [B] (sparse) or one-hot/probabilities [B, C]",
        aliases=("sparse_softmax_cross_entropy", "cross_entropy"), task="classification",
        call=lambda o: Call("helpers.softmax_cross_entropy", (PREDICTIONS, TARGETS),
                            (("label_smoothing", o["label_smoothing"]),))),
    Kind("sigmoid_cross_entropy", (
        Arg("label_smoothing", FRACTION, 0.0, "smooth targets towards 1/2"),
    ), "independent binary targets; labels [B, C] of 0/1 (integer [B] labels are one-hot encoded)",
        task="multilabel", call=_tf_loss("sigmoid_cross_entropy", ("label_smoothing", "label_smoothing"))),
    Kind("mean_squared_error", (), "regression; labels shaped as the predictions",
         aliases=("sum_of_squares", "mse"), task="regression", call=_tf_loss("mean_squared_error")),
    Kind("absolute_difference", (), "mean absolute error", aliases=("mae",), task="regression",
         call=_tf_loss("absolute_difference")),
    Kind("huber", (Arg("delta", POS_FLOAT, 1.0, "where the loss turns from quadratic to linear"),),
         "Huber loss", aliases=("huber_loss",), task="regression", call=_tf_loss("huber_loss", ("delta", "delta"))),
    Kind("log_loss", (
        Arg("epsilon", POS_FLOAT, 1e-7, "clamp of the probabilities"),
        Arg("from_logits", BOOL, False, "apply a sigmoid to the end point first"),
    ), "binary log loss on probabilities", task="multilabel", call=_log_loss),
    Kind("hinge", (), "hinge loss; logits against 0/1 labels", aliases=("hinge_loss",), task="multilabel",
         call=_tf_loss("hinge_loss")),
    Kind("cosine_distance", (Arg("axis", INT, -1, "axis of the vectors"),),
         "1 - cosine similarity (both sides are L2-normalised first)", task="regression", call=_cosine_distance),
)

#: Other names of the built-in losses (TF-Slim's and Keras's spellings).
ALIASES = {a: k.name for k in LOSS_KINDS.values() for a in k.aliases}


def canonical(name: str) -> str | None:
    """The built-in loss `name` stands for, or None."""
    if name in LOSS_KINDS:
        return name
    return ALIASES.get(name)
