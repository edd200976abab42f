"""Train stage, moving averages of the weights (`moving_average decay=D`).

As train_image_classifier.py with --moving_average_decay: a
`tf.train.ExponentialMovingAverage` of every model variable (TF-Slim's
model variables, batch-norm statistics included), updated after each
training step and saved in the checkpoints as `VAR/ExponentialMovingAverage`.
Eval, export and init_from read the averages in place of the variables
when a checkpoint holds them, as eval_image_classifier.py does (`raw=True`,
`--raw-weights`, reads the variables themselves).
"""

from __future__ import annotations

from . import helpers
from ._tf import tf1

#: The suffix ExponentialMovingAverage gives the average of a variable in checkpoints.
SUFFIX = "/ExponentialMovingAverage"


def average_name(var_name: str) -> str:
    return var_name + SUFFIX


def has_averages(ckpt_names) -> bool:
    return any(n.endswith(SUFFIX) for n in ckpt_names)


def apply(decay: float, train_op, variables, global_step):
    """(train_op that also updates the averages, the ExponentialMovingAverage): `helpers.moving_averages`,
    the code the emitted training program holds too."""
    return helpers.moving_averages(decay, train_op, variables, global_step)


def averaged_getter(ema):
    """A variable-scope custom getter returning a variable's average (for a model built on the averages)."""
    def getter(get, *args, **kwargs):
        var = get(*args, **kwargs)
        avg = ema.average(var)
        return avg if avg is not None else var
    return getter


def load_averages(sess, ckpt: str, variables, ckpt_names) -> int:
    """Overwrite each variable with its average from `ckpt` where it holds one; returns how many.

    Done by feeding the variables' initializers (Variable.load), so it needs no
    new op and works in a finalized graph, after a plain restore.
    """
    reader = tf1.train.load_checkpoint(ckpt)
    n = 0
    for v in variables:
        avg = average_name(v.op.name)
        if avg in ckpt_names:
            v.load(reader.get_tensor(avg), sess)
            n += 1
    return n


def load_init_averages(sess, plan, variables) -> int:
    """After init_from restored `plan`: each restored variable whose checkpoint name has an
    average in the checkpoint takes the average (the weights eval and export of that run used)."""
    from . import checkpoints

    names = checkpoints.read_variables(plan.checkpoint)
    by_name = {v.op.name: v for v in variables}
    reader = None
    n = 0
    for r in plan.rows:
        avg = average_name(r.ckpt_name) if r.action == "restore" else None
        if avg in names and r.name in by_name:
            reader = reader or tf1.train.load_checkpoint(plan.checkpoint)
            by_name[r.name].load(reader.get_tensor(avg), sess)
            n += 1
    return n
