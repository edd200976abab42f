"""Train stage, optimisation: schedule, optimizer, gradient clipping, train op.

The schedules and optimizers themselves are entries of `kinds.schedules`
and `kinds.optimizers`, built here from their calls.

The train op is `slim.learning.create_train_op` (update ops such as batch
norm's moving averages run with every step; the loss is checked for NaN/Inf).
Global-norm clipping replaces the optimizer's compute_gradients
(`helpers.clip_by_global_norm`) so create_train_op stays the one place the
op is made; `per_variable=true` uses slim's own
`clip_gradient_norm`.
"""

from __future__ import annotations

import math

from ..diagnostics import SlimError
from . import distributed, helpers
from ._tf import slim, tf, tf1
from .kinds.optimizers import OPTIMIZERS
from .kinds.schedules import VALIDATION_DRIVEN, rate_call
from .restore import in_scope, model_scope, unmatched_scope_error
from .spec import OptimizerSpec, ScheduleSpec, TrainSpec

#: The collection holding the plateau schedule's scale variable (the trainer lowers it).
PLATEAU_SCALE = "slimlang_plateau_scale"


def learning_rate(sched: ScheduleSpec, opt: OptimizerSpec, global_step, total_steps: int | None,
                  steps_per_epoch: float | None = None):
    """The learning-rate tensor at `global_step`: the schedule's call
    (`kinds.schedules`) under the shared warm-up (`helpers.warm_up`)."""
    warm = int(sched.warmup_steps)
    call = rate_call(sched.kind, opt.lr, sched.options, warm)
    refs = {"decay_steps": max(1, (total_steps or 1) - warm), "steps_per_epoch": steps_per_epoch}
    if sched.options.get("decay_epochs") and not steps_per_epoch:
        raise SlimError.single("E343", "cannot count the training examples to turn decay_epochs into steps",
                               sched.span, ["help: give the schedule decay_steps=N instead"])
    if sched.kind in VALIDATION_DRIVEN:
        with tf1.variable_scope("learning_rate"):
            scale = tf1.get_variable("plateau_scale", [], tf.float32, tf1.ones_initializer(), trainable=False)
        tf1.add_to_collection(PLATEAU_SCALE, scale)
        refs["plateau_scale"] = scale

    def rate_at(step):
        return call.build(tf, {"step": step, **refs})

    with tf1.name_scope("learning_rate"):
        return tf.identity(helpers.warm_up(rate_at, global_step, warm), name="value")


def make_optimizer(opt: OptimizerSpec, lr):
    return OPTIMIZERS[opt.kind].call(opt.options).build(tf, {"learning_rate": lr})


def variables_to_train(spec: TrainSpec):
    """Trainable variables under the `trainable` scopes (all when not given)."""
    all_vars = tf1.trainable_variables()
    if not spec.trainable:
        return all_vars
    chosen = []
    span = spec.span_of("trainable")
    names = [v.op.name for v in all_vars]
    top = model_scope(names)
    for scope in spec.trainable:
        hit = [v for v in all_vars if in_scope(v.op.name, scope, top)]
        if not hit:
            raise unmatched_scope_error("E333", "trainable", scope, names, span)
        chosen += [v for v in hit if v not in chosen]
    return chosen


def make_train_op(spec: TrainSpec, total_loss, global_step, total_steps: int | None, n_train: int | None = None):
    """(train_op, learning_rate tensor, trained variables)."""
    lr = learning_rate(spec.schedule, spec.optimizer, global_step, total_steps,
                       n_train / spec.batch_size if n_train else None)
    opt = make_optimizer(spec.optimizer, lr)
    clip = 0
    if spec.clip_gradients:
        if spec.clip_per_variable:
            clip = spec.clip_gradients
        else:
            opt = helpers.clip_by_global_norm(opt, spec.clip_gradients)
    train_vars = variables_to_train(spec)
    # Clones and replicas (distributed.py): SyncReplicasOptimizer around the optimizer, only the
    # first clone's update ops, each clone's gradients computed on its own device.
    deploy = distributed.current(total_loss.graph)
    train_op = slim.learning.create_train_op(total_loss, distributed.wrap_optimizer(deploy, opt),
                                             global_step=global_step, variables_to_train=train_vars,
                                             clip_gradient_norm=clip, check_numerics=True,
                                             update_ops=deploy.update_ops if deploy else None,
                                             colocate_gradients_with_ops=bool(deploy and deploy.clones > 1))
    return train_op, lr, train_vars


def steps_for(spec: TrainSpec, n_train: int | None) -> int:
    """Total steps: `steps`, or `epochs` passes over the training split; None until stopped."""
    if spec.until_stopped:
        return None
    if spec.steps is not None:
        return spec.steps
    if spec.epochs is not None:
        if not n_train:
            raise SlimError.single("E343", "cannot count the training examples to turn epochs into steps",
                                   spec.span_of("epochs"), ["help: give `steps N` instead"])
        return spec.epochs * math.ceil(n_train / spec.batch_size)
    raise SlimError.single("E343", "the train section does not say how long to train", spec.span,
                           ["help: add `steps 1000` or `epochs 10` to it, or pass --steps N"])
