"""Train stage, watched validation metrics: `keep_best`, `early_stop` and the plateau schedule.

Pure Python (the checker imports it): which metric names a section's
validation has (the names `slimlang eval` prints), whether a metric is
minimised or maximised, the improvement rule (Keras's: better than the best
by more than `min_delta`), and the logdir's state file that carries the
watchers' counters across a resume, so that a run resumed after an early
stop does not train again and a plateau's patience is not reset by a kill.
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass

from .kinds.losses import LOSS_KINDS
from .kinds.metrics import metrics_for

#: The logdir's record of the watchers (best value and step, waits, an early stop).
STATE = "slimlang-train-state.json"
#: The best checkpoint's folder inside the logdir (its own `checkpoint` state file).
BEST_DIR = "best"

_MINIMISED = ("loss", "error")


def infer_mode(metric: str) -> str:
    """"min" for losses and errors (loss, loss/NAME, mean_squared_error, ...), else "max"."""
    leaf = metric.rsplit("/", 1)[-1]
    if metric == "loss" or metric.startswith("loss/") or any(w in leaf for w in _MINIMISED):
        return "min"
    return "max"


def metric_names(losses) -> list[str] | None:
    """The metrics a validation of these losses (LossSpecs) reports, as `slimlang eval` names them;
    None when a custom loss makes them unknown before the graph is built.  top_5_accuracy is listed
    for every classification head; a head of five classes or fewer has none (found when built)."""
    if any(loss.custom for loss in losses):
        return None
    several = len(losses) > 1
    names = []
    for loss in losses:
        pre = f"{loss.name}/" if several else ""
        names += [pre + m.name for m in metrics_for(LOSS_KINDS[loss.kind].task)]
    names += [f"loss/{loss.name}" for loss in losses] + ["loss"]
    return names


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


@dataclass
class Watcher:
    """One watched metric: its best value and the validations since it improved."""

    metric: str
    mode: str
    patience: int = 0
    min_delta: float = 0.0
    best: float | None = None
    best_step: int | None = None
    wait: int = 0

    def update(self, value: float, step: int) -> bool:
        """Record a validation; True when it is an improvement."""
        if improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_step, self.wait = value, step, 0
            return True
        self.wait += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.patience > 0 and self.wait >= self.patience

    def state(self) -> dict:
        return {"metric": self.metric, "mode": self.mode, "best": self.best, "best_step": self.best_step,
                "wait": self.wait}

    def restore(self, saved: dict | None) -> None:
        """Take up a saved state of the same metric and mode (a kill between a validation and the
        next checkpoint leaves counters a few steps ahead of the resumed step; they are kept)."""
        if not saved or saved.get("metric") != self.metric or saved.get("mode") != self.mode:
            return
        self.best, self.best_step, self.wait = saved.get("best"), saved.get("best_step"), int(saved.get("wait", 0))


def read_state(logdir: pathlib.Path) -> dict:
    try:
        data = json.loads((pathlib.Path(logdir) / STATE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(logdir: pathlib.Path, state: dict) -> None:
    from .. import fsutil

    fsutil.atomic_write(pathlib.Path(logdir) / STATE, json.dumps(state, indent=1, sort_keys=True))
