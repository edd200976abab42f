"""Losses registered from Python (the primer's `slim.losses.add_loss`).

Pure Python, so the checker can validate `loss NAME` against registered losses
without importing TensorFlow.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable

from .kinds.losses import canonical

_LOSSES: dict[str, Callable] = {}


def register_loss(name: str, fn: Callable | None = None):
    """Make `loss NAME` available in train sections.

    `fn(predictions, labels, **options)` builds the loss from two tensors (the
    end point named by `on=` and the labels field named by `labels=`) and
    returns a scalar tensor; `options` are the loss line's other `key=value`
    arguments.  Its `weight=` is applied by the trainer and the result added to
    the LOSSES collection, so it is part of `get_total_loss()`.

    Usable as a decorator: ``@register_loss("focal")``.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"loss name must be an identifier, got {name!r}")
    if canonical(name) is not None:
        raise ValueError(f"`{name}` is a built-in loss; register yours under another name")

    def add(f: Callable) -> Callable:
        if not callable(f):
            raise TypeError(f"register_loss({name!r}, ...) needs a callable, got {f!r}")
        _LOSSES[name] = f
        return f

    return add if fn is None else add(fn)


def unregister_loss(name: str) -> None:
    _LOSSES.pop(name, None)


def registered_losses() -> dict[str, Callable]:
    return dict(_LOSSES)



# Metrics registered from Python live beside the metric table (kinds/metrics.py).
from .kinds.metrics import register_metric, registered_metrics, unregister_metric  # noqa: F401
