"""`slimlang eval`'s metrics: one entry per metric, the heads it scores and its TF builder.

A metric applies to the heads (losses) of its tasks; `build` names the
function that makes its per-batch sum from a head (None where it does not
apply, as top-5 on five classes or fewer); eval divides by the examples.
Metrics print in this table's order, after which come the losses.  The
emitted training program has no evaluation, so metrics have no `emit`.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable

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


class CustomMetric:
    """A metric registered from Python (`register_metric`), in the table's shape."""

    def __init__(self, name: str, fn, tasks: tuple):
        self.name, self.fn, self.task = name, fn, " ".join(tasks)
        self.doc = (getattr(fn, "__doc__", None) or "").strip().split("\n")[0]

    def builder(self):
        from ..metrics import custom

        return lambda head: custom(self, head)


def metrics_for(task: str) -> list:
    """The table's metrics for heads of `task`, then those registered from Python."""
    custom = [CustomMetric(n, fn, tasks) for n, (fn, tasks) in registered_metrics().items()]
    return [m for m in list(METRICS.values()) + custom if task in m.task.split()]


# ------------------------------------------------------------ metrics ---

TASKS = ("classification", "multilabel", "regression", "custom")
_METRICS: dict[str, tuple] = {}  # name -> (fn, tasks)


def register_metric(name: str, fn: Callable | None = None, *, tasks=("classification",)):
    """Make metric NAME part of `slimlang eval` (and of validation while training) for heads of `tasks`.

    `fn(predictions, labels)` gets a head's predictions (the end point its loss
    reads, squeezed to [batch, ...]) and labels as the loss sees them (class
    indices for a softmax head with integer labels) and returns one value per
    example ([batch]) or their mean (a scalar); eval reports the mean over the
    held-out split.  Usable as a decorator: ``@register_metric("recall_at_1")``.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"metric name must be an identifier, got {name!r}")
    if name in METRICS or name == "loss":
        raise ValueError(f"`{name}` is a built-in metric; register yours under another name")
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    bad = [t for t in tasks if t not in TASKS]
    if bad or not tasks:
        raise ValueError(f"tasks must be among {', '.join(TASKS)}, got {tasks!r}")

    def add(f: Callable) -> Callable:
        if not callable(f):
            raise TypeError(f"register_metric({name!r}, ...) needs a callable, got {f!r}")
        _METRICS[name] = (f, tasks)
        return f

    return add if fn is None else add(fn)


def unregister_metric(name: str) -> None:
    _METRICS.pop(name, None)


def registered_metrics() -> dict[str, tuple]:
    """{name: (fn, tasks)}."""
    return dict(_METRICS)
