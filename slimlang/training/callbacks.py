"""Train stage, what happens during training besides the step: validation, the best checkpoint,
early stopping, the plateau schedule, moving averages and extra summaries.

`DuringTraining` is built into the training graph by the loop (`build`),
takes up the logdir's state when the session starts (`start`), and is
called after every step (`after_step`).  Validation runs the model a second
time in the same graph and session, on the held-out split, with
`is_training=false` and the variables of the training model (their moving
averages when `moving_average` is on, the weights eval and export then
use), and reports the metrics `slimlang eval` prints (`evaluation.metric_values`),
so a best checkpoint's `eval --best` repeats what validation logged.
Metrics go to the progress line, to log lines, and to TensorBoard as
`eval/NAME`.  The watchers' counters are kept in the logdir
(`watch.STATE`) so that a resume continues them and a run that stopped
early stays stopped.
"""

from __future__ import annotations

import pathlib

from ..diagnostics import SlimError
from . import averages, checkpoints
from ._tf import OpError, tf, tf1
from .build import build_inputs, runtime_error
from .evaluation import metric_fetches, metric_values, run_metrics
from .losses import build_losses
from .model import call_model
from .optim import PLATEAU_SCALE
from .watch import BEST_DIR, Watcher, read_state, write_state

#: Validation batch size when the section's is smaller (as `slimlang eval`'s).
VALIDATION_BATCH = 256


class DuringTraining:
    def __init__(self, spec, data, logdir: pathlib.Path, say, model_name):
        self.spec, self.data, self.logdir, self.say, self.model_name = spec, data, logdir, say, model_name
        self.ema = None
        self.ema_reset = None
        self.summary_op = None
        self.val_fetch = None
        self.last: dict = {}  # the latest validation's metrics
        self.watchers: dict = {}  # keep_best / early_stop / plateau -> Watcher
        self.best_saver = None
        self.scale = self.scale_in = self.scale_set = None
        self.cooldown = 0
        self.state: dict = {}

    # ------------------------------------------------------------ graph --
    def build(self, train_op, model_fn, model_vars, global_step, end_points):
        """Add the averages, summaries and the validation model to the graph; returns the train op."""
        spec = self.spec
        if spec.moving_average_decay:
            train_op, self.ema = averages.apply(spec.moving_average_decay, train_op, model_vars, global_step)
            self.ema_reset = tf.group(*[self.ema.average(v).assign(v) for v in model_vars])
        self._summaries(model_vars, end_points)
        if spec.validate_every:
            self._validation(model_fn)
        plateau = tf1.get_collection(PLATEAU_SCALE)
        if plateau:
            self.scale = plateau[0]
            self.scale_in = tf1.placeholder(tf.float32, [], name="plateau_scale_value")
            self.scale_set = self.scale.assign(self.scale_in)
        if spec.keep_best:
            self.best_saver = tf1.train.Saver(max_to_keep=1, save_relative_paths=True, pad_step_number=False)
        return train_op

    def _summaries(self, model_vars, end_points):
        spec = self.spec
        found = []
        if "activations" in spec.histograms:
            found += [tf1.summary.histogram(f"activations/{k}", t, collections=[]) for k, t in end_points.items()
                      if t.dtype.is_floating]
        if spec.sparsity:
            found += [tf1.summary.scalar(f"sparsity/{k}", tf.nn.zero_fraction(t), collections=[])
                      for k, t in end_points.items() if t.dtype.is_floating]
        if "variables" in spec.histograms:
            found += [tf1.summary.histogram(f"variables/{v.op.name}", v, collections=[]) for v in model_vars]
        self.summary_op = tf1.summary.merge(found) if found else None

    def _validation(self, model_fn):
        spec, data = self.spec, self.data
        self.val_it, images, labels, self.val_feed = build_inputs(
            data, "eval", max(spec.batch_size, VALIDATION_BATCH), training=False, repeat=False, drop_remainder=False)
        getter = averages.averaged_getter(self.ema) if self.ema is not None else None
        with tf1.name_scope("validation"), \
                tf1.variable_scope(tf1.get_variable_scope(), reuse=True, custom_getter=getter):
            net, end_points = call_model(model_fn, images, spec.model.params, is_training=False, data=data,
                                         model_name=self.model_name)
            heads = build_losses(spec.losses, net, end_points, labels, data, add_to_collection=False)
            self.val_fetch = metric_fetches(heads, images)
        self.val_heads = heads
        names = list(metric_values(heads, {k: 0.0 for k in self.val_fetch}, 1))
        for key, w in self._watched():
            if w.metric not in names:
                from ..diagnostics import did_you_mean

                raise SlimError.single("E313", f"`{key}` watches `{w.metric}`, which validation does not report",
                                       w.span, [did_you_mean(w.metric, names),
                                                "note: validation reports " + ", ".join(names)])
            self.watchers[key] = Watcher(w.metric, w.mode, w.patience, w.min_delta)

    def _watched(self):
        spec = self.spec
        out = []
        if spec.keep_best:
            out.append(("keep_best", spec.keep_best))
        if spec.early_stop:
            out.append(("early_stop", spec.early_stop))
        if spec.schedule.kind == "plateau":
            from .spec import WatchSpec

            o = spec.schedule.options
            out.append(("plateau", WatchSpec(o["on"], o["mode"], o["patience"], o["min_delta"], spec.schedule.span)))
        return out

    def refuse_distributed(self) -> None:
        """Validation, its watchers and the extra summaries run in this module's training loop, which a
        cluster's replicas (distributed.train_replica) do not use: refuse them rather than drop them."""
        spec = self.spec
        given = [k for k in ("validate", "keep_best", "early_stop", "summaries") if k in spec.spans]
        if spec.schedule.kind == "plateau":
            given.append("schedule")
        if given:
            raise SlimError.single(
                "E310", f"`{given[0]}` runs in single-machine training only; this run trains on a cluster",
                spec.spans.get(given[0], spec.span),
                ["help: evaluate a cluster's checkpoints as they appear with `slimlang eval --watch`, or train "
                 "on one machine"])

    # ------------------------------------------------------------ session --
    def start(self, sess, step: int, init_plan=None, model_vars=()) -> str | None:
        """Take up the logdir's state at `step`; a message when there is nothing to do (an early stop).

        `init_plan`: init_from just restored the variables by this plan.  Where its checkpoint holds
        moving averages, the variables take them; this run's own averages then start at the variables.
        """
        if init_plan is not None:
            n = averages.load_init_averages(sess, init_plan, model_vars)
            if n:
                self.say(f"note: {n} variables start from the moving averages in {init_plan.checkpoint}")
            if self.ema_reset is not None:
                sess.run(self.ema_reset)
        self.state = read_state(self.logdir) if step > 0 else {}
        for key, w in self.watchers.items():
            w.restore(self.state.get(key))
        self.cooldown = int(self.state.get("plateau_cooldown", 0))
        stopped = self.state.get("early_stopped")
        es = self.spec.early_stop
        if stopped and es is not None and step >= stopped.get("step", 0) and stopped.get("rule") == self._rule(es):
            return (f"{self.logdir} stopped early at step {stopped['step']} ({stopped['why']}); nothing to do "
                    "(to train on, change or remove `early_stop`, or use another --logdir)")
        if self.best_saver is not None:
            best = self.logdir / BEST_DIR
            checkpoints.clean_stale(best)
            if best.is_dir():
                self.best_saver.recover_last_checkpoints(list(reversed(checkpoints.candidates(best))))
        return None

    @staticmethod
    def _rule(w) -> str:
        return f"{w.metric} {w.mode} patience={w.patience} min_delta={w.min_delta:g}"

    def wants_validation(self, step: int, total: int | None) -> bool:
        every = self.spec.validate_every
        return bool(every) and (step % every == 0 or step == total)

    def validate(self, sess, step: int, writer, save_best) -> str | None:
        """Run validation at `step`; returns why training must stop, or None."""
        try:
            sess.run(self.val_it.initializer, feed_dict=self.val_feed)
            sums, n = run_metrics(sess, self.val_fetch, self.spec.validate_batches)
        except OpError as e:  # a damaged held-out file, a label out of range: located, as in training
            raise runtime_error(e, self.data, self.spec, step) from None
        if n == 0:
            raise SlimError.single("E324", "the held-out split is empty", self.data.spec.span)
        m = self.last = metric_values(self.val_heads, sums, n)
        writer.add_summary(tf1.Summary(value=[tf1.Summary.Value(tag=f"eval/{k}", simple_value=float(v))
                                              for k, v in m.items()]), step)
        notes = []
        stop = None
        kb = self.watchers.get("keep_best")
        if kb is not None and kb.update(m[kb.metric], step):
            path = save_best(step)
            notes.append(f"best {kb.metric} so far: saved {pathlib.Path(path).relative_to(self.logdir)}")
        pl = self.watchers.get("plateau")
        if pl is not None:
            notes += self._plateau(sess, pl, m[pl.metric], step)
        es = self.watchers.get("early_stop")
        if es is not None:
            es.update(m[es.metric], step)
            if es.exhausted:
                stop = (f"{es.metric} has not improved by more than {es.min_delta:g} for {es.wait} validations; "
                        f"best {es.best:.4f} at step {es.best_step}")
                self.state["early_stopped"] = {"step": step, "why": stop, "rule": self._rule(self.spec.early_stop)}
        shown = "  ".join(f"{k} {v:.4f}" for k, v in m.items())
        self.say(f"validation at step {step} ({n} examples): {shown}" + "".join(f"; {x}" for x in notes))
        for key, w in self.watchers.items():
            self.state[key] = {**w.state(), "step": step}
        self.state["plateau_cooldown"] = self.cooldown
        try:
            write_state(self.logdir, self.state)
        except OSError as e:
            from .. import fsutil

            raise fsutil.os_error(e, "writing the training state", self.logdir / "slimlang-train-state.json",
                                  self.spec.span_of("logdir")) from None
        if stop:
            self.say(f"early stop at step {step}: {stop}")
        return stop

    def _plateau(self, sess, w: Watcher, value: float, step: int) -> list:
        if self.cooldown > 0:
            self.cooldown -= 1
            w.wait = 0
        if w.update(value, step) or not w.exhausted:
            return []
        o, lr = self.spec.schedule.options, float(self.spec.optimizer.lr)
        old = float(sess.run(self.scale))
        new = max(old * o["factor"], o["min_lr"] / lr)
        w.wait = 0
        if new >= old:
            return []
        sess.run(self.scale_set, {self.scale_in: new})
        self.cooldown = int(o["cooldown"])
        return [f"{w.metric} stalled for {w.patience} validations: learning rate lowered to {lr * new:.3g}"]

    def postfix(self) -> str:
        if not self.last:
            return ""
        keys = [w.metric for w in self.watchers.values()] or list(self.last)[:2]
        return "".join(f" val_{k}={self.last[k]:.4f}" for k in dict.fromkeys(keys))
