"""`slimlang eval`'s metrics: one entry per metric, the heads it scores and its TF builder.

A metric applies to the heads (losses) of its tasks; `build` names the
function that makes its per-batch sum from a head (None where it does not
apply, as top-5 on five classes or fewer); eval divides by the examples.
Metrics print in this table's order, after which come the losses.  The
emitted training program has no evaluation, so metrics have no `emit`.
"""

from __future__ import annotations

from .base import Kind, kinds

METRICS = kinds(
    Kind("accuracy", (), "share of examples whose class (or every 0/1 target) is predicted right",
         task="classification multilabel", build="slimlang.training.metrics:accuracy"),
    Kind("top_5_accuracy", (), "share of examples whose class is among the five highest logits (over 5 classes)",
         task="classification", build="slimlang.training.metrics:top_5_accuracy"),
    Kind("mean_squared_error", (), "mean over examples of the mean squared difference",
         task="regression", build="slimlang.training.metrics:mean_squared_error"),
    Kind("mean_absolute_error", (), "mean over examples of the mean absolute difference",
         task="regression", build="slimlang.training.metrics:mean_absolute_error"),
)


def metrics_for(task: str) -> list:
    return [m for m in METRICS.values() if task in m.task.split()]
