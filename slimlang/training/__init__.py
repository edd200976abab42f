"""Train stage: a checked `TrainSpec` -> data, losses, optimizer, loop, checkpoints.

Importing this package does not import TensorFlow; the engine modules
(`data`, `losses`, `optim`, `loop`, `restore`, `evaluation`, `saved_model`)
import it lazily through `slimlang.tfcompat`.  (The modules are not named
`evaluate` / `export`: importing a submodule binds its name on the package,
which would replace the functions of the same name below.)

Python entry points::

    from slimlang.training import train, evaluate, export, register_loss
    train(spec, model_fn, logdir="runs/x")
"""

from __future__ import annotations

from .registry import register_loss, registered_losses, unregister_loss

__all__ = [
    "evaluate",
    "export",
    "register_loss",
    "registered_losses",
    "restore_plan",
    "train",
    "unregister_loss",
]


def train(spec, model_fn, **kwargs):
    """Train `model_fn` as `spec` says.  See `slimlang.training.loop.train`."""
    from .loop import train as _train

    return _train(spec, model_fn, **kwargs)


def evaluate(spec, model_fn, **kwargs):
    """Evaluate on the held-out split.  See `slimlang.training.evaluation.evaluate`."""
    from .evaluation import evaluate as _evaluate

    return _evaluate(spec, model_fn, **kwargs)


def export(spec, model_fn, **kwargs):
    """Write a SavedModel.  See `slimlang.training.saved_model.export`."""
    from .saved_model import export as _export

    return _export(spec, model_fn, **kwargs)


def restore_plan(spec, model_fn, **kwargs):
    """The fine-tuning restore plan.  See `slimlang.training.restore.plan_for_spec`."""
    from .restore import plan_for_spec

    return plan_for_spec(spec, model_fn, **kwargs)
