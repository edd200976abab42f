"""Eval stage: a checkpoint -> metrics over the whole held-out split.

One `name: value` line per metric, in the order of the metric table
(`kinds.metrics`):

    accuracy: 0.9806            classification heads (softmax cross entropy)
    top_5_accuracy: 0.9994      when a head has more than 5 classes
    mean_squared_error: 0.0123  regression heads (and mean_absolute_error)
    loss/NAME: 0.0712           each loss line, unweighted
    loss: 0.0712                the weighted sum of the losses (no regularization)

With several heads, head metrics are prefixed by the loss name
(`digit/accuracy`).  Without a held-out split (`validation` 0) the training
data is evaluated and a note says so.
"""

from __future__ import annotations

import pathlib
import sys
from dataclasses import dataclass, field

import numpy as np

from ..diagnostics import SlimError
from . import averages, checkpoints
from ._tf import OpError, session_config, tf, tf1
from .build import build_inputs, need_data, runtime_error
from .checkpoints import find_checkpoint
from .data import Data, open_data
from .kinds.metrics import metrics_for
from .losses import build_losses
from .model import call_model
from .restore import CheckpointSaver, different_model_error
from .spec import TrainSpec


@dataclass
class EvalResult:
    metrics: dict  # name -> float, in print order
    examples: int
    checkpoint: str
    step: int | None
    split: str
    notes: list = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{k}: {v:.4f}" for k, v in self.metrics.items()]


def restore_any(sess, saver, cands: list[str], span, variables=None, model_name: str | None = None,
                raw_weights: bool = False) -> str:
    """Restore the first readable of `cands` (newest first); E340 naming the
    differences when one holds another model's variables.  A checkpoint with
    moving averages (`moving_average`) gives its averages unless `raw_weights`."""
    errors = []
    variables = tf1.global_variables() if variables is None else variables
    for c in cands:
        try:
            names = checkpoints.read_variables(c)
        except (OpError, ValueError) as e:
            errors.append(f"note: {pathlib.Path(c).name}: {getattr(e, 'message', str(e)).strip().splitlines()[0][:200]}")
            continue
        err = different_model_error(c, variables, names, span, model_name, saver=saver)
        if err is not None:
            raise err
        try:
            saver.restore(sess, c)
            if not raw_weights:
                averages.load_averages(sess, c, variables, names)
            return c
        except (OpError, ValueError) as e:
            msg = getattr(e, "message", str(e)).strip().splitlines()[0][:200]
            if isinstance(e, tf.errors.NotFoundError) and "not found in checkpoint" in msg:
                raise SlimError.single("E340", f"checkpoint {c} does not hold this model: {msg}", span,
                                       ["help: evaluate with the model and train section that wrote it"]) from None
            errors.append(f"note: {pathlib.Path(c).name}: {msg}")
    raise SlimError.single("E341", "no readable checkpoint", span, errors)


def evaluate(spec: TrainSpec, model_fn, *, logdir: str | None = None, checkpoint: str | None = None,
             batch_size: int | None = None, model_name: str | None = None, data: Data | None = None,
             stream=None, best: bool = False, raw_weights: bool = False) -> EvalResult:
    """Evaluate the newest readable checkpoint of `logdir` (or `checkpoint`)."""
    stream = stream or sys.stderr
    name = model_name or spec.model.name
    ld = logdir if logdir is not None else (spec.logdir if checkpoint is None else None)
    cands = find_checkpoint(ld, checkpoint, spec.span, best=best)
    if data is None:
        data = open_data(need_data(spec))
    split = "eval"
    notes = []
    if not data.opts["validation"]:
        split = "all"
        notes.append("the data line holds nothing out (validation=0): evaluating on the training data")
    bs = batch_size or max(spec.batch_size, 256)
    graph = tf.Graph()
    with graph.as_default():
        it, images, labels, feed = build_inputs(data, split, bs, training=False, repeat=False, drop_remainder=False)
        net, end_points = call_model(model_fn, images, spec.model.params, is_training=False, data=data,
                                     model_name=name)
        heads = build_losses(spec.losses, net, end_points, labels, data, add_to_collection=False)
        fetch = metric_fetches(heads, images)
        saver = CheckpointSaver(tf1.global_variables(), spec.init_from)
        graph.finalize()
        with tf1.Session(config=session_config()) as sess:
            used = restore_any(sess, saver, cands, spec.span, model_name=name, raw_weights=raw_weights)
            sess.run(it.initializer, feed_dict=feed)
            try:
                sums, n = run_metrics(sess, fetch)
            except OpError as e:
                raise runtime_error(e, data, spec, 0) from None
    if n == 0:
        raise SlimError.single("E324", "the held-out split is empty", data.spec.span)
    metrics = metric_values(heads, sums, n)
    if not raw_weights and averages.has_averages(checkpoints.read_variables(used)):
        notes.append("the weights are the checkpoint's moving averages (--raw-weights for the trained weights)")
    step = checkpoints.checkpoint_step(used)
    return EvalResult(metrics, n, used, step, split, notes)


# ------------------------------------------------------------ shared with validation while training ---


def metric_fetches(heads, images) -> dict:
    """The per-batch tensors of every metric of every head (and the batch size `n`)."""
    fetch = {"n": tf.shape(images)[0]}
    for i, h in enumerate(heads):
        fetch[f"loss{i}"] = h.value
        for m in metrics_for(h.task):
            value = m.builder()(h)
            if value is not None:
                fetch[f"{m.name}/{i}"] = value
    return fetch


def run_metrics(sess, fetch, max_batches: int | None = None) -> tuple[dict, int]:
    """(sums over the batches, examples): runs `fetch` until the iterator ends (or `max_batches`)."""
    sums: dict = {}
    n = batches = 0
    while max_batches is None or batches < max_batches:
        try:
            out = sess.run(fetch)
        except tf.errors.OutOfRangeError:
            break
        batches += 1
        b = int(out["n"])
        n += b
        for k, v in out.items():
            if k != "n":
                sums[k] = sums.get(k, 0.0) + (float(v) * b if k.startswith("loss") else float(v))
    return sums, n


def metric_values(heads, sums: dict, n: int) -> dict:
    """{name: value} in print order: head metrics (prefixed by the loss name when several),
    `loss/NAME` per loss, and `loss`, the weighted sum."""
    several = len(heads) > 1
    metrics: dict = {}
    for i, h in enumerate(heads):
        pre = f"{h.spec.name}/" if several else ""
        for m in metrics_for(h.task):
            if f"{m.name}/{i}" in sums:
                metrics[pre + m.name] = sums[f"{m.name}/{i}"] / n
    for i, h in enumerate(heads):
        metrics[f"loss/{h.spec.name}"] = sums[f"loss{i}"] / n
    metrics["loss"] = float(np.sum([h.spec.weight * sums[f"loss{i}"] / n for i, h in enumerate(heads)]))
    return metrics
