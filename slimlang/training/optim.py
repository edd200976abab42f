"""Train stage, optimisation: schedule, optimizer, gradient clipping, train op.

The train op is `slim.learning.create_train_op` (update ops such as batch
norm's moving averages run with every step; the loss is checked for NaN/Inf).
Global-norm clipping goes through a thin optimizer wrapper so create_train_op
stays the one place the op is made; `per_variable=true` uses slim's own
`clip_gradient_norm`.
"""

from __future__ import annotations

import math

from ..diagnostics import SlimError, did_you_mean
from ..trainspec import OptimizerSpec, ScheduleSpec, TrainSpec
from ._tf import slim, tf, tf1


def learning_rate(sched: ScheduleSpec, opt: OptimizerSpec, global_step, total_steps: int):
    """The learning-rate tensor at `global_step`.

    constant, exponential and piecewise count absolute steps; cosine and
    polynomial start decaying after the warm-up and by default end with
    training.  During warm-up the rate rises linearly to the rate the schedule
    gives at the end of the warm-up.
    """
    lr = float(opt.lr)
    o = sched.options
    warm = int(sched.warmup_steps)
    step = tf.cast(global_step, tf.int64)

    def at(s):
        s = tf.cast(s, tf.int64)
        if sched.kind == "constant":
            return tf.constant(lr, tf.float32)
        if sched.kind == "exponential":
            return tf1.train.exponential_decay(lr, s, o["decay_steps"], o["decay_rate"], staircase=o["staircase"])
        if sched.kind == "piecewise":
            return tf1.train.piecewise_constant(s, [int(b) for b in o["boundaries"]], [float(v) for v in o["values"]])
        rest = max(1, total_steps - warm)
        decay = o["decay_steps"] or rest
        shifted = tf.maximum(s - warm, 0)
        if sched.kind == "polynomial":
            return tf1.train.polynomial_decay(lr, shifted, decay, o["end_lr"], power=o["power"], cycle=o["cycle"])
        if sched.kind == "cosine":
            return tf1.train.cosine_decay(lr, shifted, decay, alpha=o["alpha"])
        raise AssertionError(sched.kind)  # pragma: no cover

    with tf1.name_scope("learning_rate"):
        rate = tf.cast(at(step), tf.float32)
        if warm > 0:
            ramp = at(tf.constant(warm, tf.int64)) * tf.cast(step + 1, tf.float32) / float(warm)
            rate = tf.where(step < warm, ramp, rate)
        return tf.identity(rate, name="value")


def make_optimizer(opt: OptimizerSpec, lr):
    o = opt.options
    k = opt.kind
    if k == "sgd":
        return tf1.train.GradientDescentOptimizer(lr)
    if k in ("momentum", "nesterov"):
        return tf1.train.MomentumOptimizer(lr, o["momentum"], use_nesterov=(k == "nesterov"))
    if k == "adam":
        return tf1.train.AdamOptimizer(lr, beta1=o["beta1"], beta2=o["beta2"], epsilon=o["epsilon"])
    if k == "rmsprop":
        return tf1.train.RMSPropOptimizer(lr, decay=o["decay"], momentum=o["momentum"], epsilon=o["epsilon"])
    if k == "adagrad":
        return tf1.train.AdagradOptimizer(lr, initial_accumulator_value=o["initial_accumulator"])
    if k == "adadelta":
        return tf1.train.AdadeltaOptimizer(lr, rho=o["rho"], epsilon=o["epsilon"])
    raise AssertionError(k)  # pragma: no cover


class GlobalNormClip:
    """Wraps an optimizer so its gradients are clipped to one global norm.

    `slim.learning.create_train_op` only calls compute_gradients and
    apply_gradients, so wrapping keeps it in charge of everything else.
    """

    def __init__(self, optimizer, norm: float):
        self._opt = optimizer
        self._norm = norm

    def compute_gradients(self, *args, **kwargs):
        pairs = [(g, v) for g, v in self._opt.compute_gradients(*args, **kwargs)]
        grads = [g for g, _ in pairs]
        live = [i for i, g in enumerate(grads) if g is not None]
        clipped, _ = tf.clip_by_global_norm([grads[i] for i in live], self._norm)
        for i, g in zip(live, clipped):
            pairs[i] = (g, pairs[i][1])
        return pairs

    def apply_gradients(self, *args, **kwargs):
        return self._opt.apply_gradients(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._opt, name)


def variables_to_train(spec: TrainSpec):
    """Trainable variables under the `trainable` scopes (all when not given)."""
    all_vars = tf1.trainable_variables()
    if not spec.trainable:
        return all_vars
    chosen = []
    span = spec.span_of("trainable")
    for scope in spec.trainable:
        hit = [v for v in all_vars if v.op.name.startswith(scope)]
        if not hit:
            scopes = sorted({v.op.name.rsplit("/", 1)[0] for v in all_vars}
                            | {v.op.name.split("/", 1)[0] for v in all_vars})
            raise SlimError.single("E333", f"trainable scope `{scope}` matches no trainable variable", span,
                                   [did_you_mean(scope, scopes), "note: scopes: " + ", ".join(scopes[:15])])
        chosen += [v for v in hit if v not in chosen]
    return chosen


def make_train_op(spec: TrainSpec, total_loss, global_step, total_steps: int):
    """(train_op, learning_rate tensor, trained variables)."""
    lr = learning_rate(spec.schedule, spec.optimizer, global_step, total_steps)
    opt = make_optimizer(spec.optimizer, lr)
    clip = 0
    if spec.clip_gradients:
        if spec.clip_per_variable:
            clip = spec.clip_gradients
        else:
            opt = GlobalNormClip(opt, spec.clip_gradients)
    train_vars = variables_to_train(spec)
    train_op = slim.learning.create_train_op(total_loss, opt, global_step=global_step,
                                             variables_to_train=train_vars, clip_gradient_norm=clip,
                                             check_numerics=True)
    return train_op, lr, train_vars


def steps_for(spec: TrainSpec, n_train: int | None) -> int:
    """Total steps: `steps`, or `epochs` passes over the training split."""
    if spec.steps is not None:
        return spec.steps
    if spec.epochs is not None:
        if not n_train:
            raise SlimError.single("E343", "cannot count the training examples to turn epochs into steps",
                                   spec.span_of("epochs"), ["help: give `steps N` instead"])
        return spec.epochs * math.ceil(n_train / spec.batch_size)
    raise SlimError.single("E343", "the train section does not say how long to train", spec.span,
                           ["help: add `steps 1000` or `epochs 10` to it, or pass --steps N"])
