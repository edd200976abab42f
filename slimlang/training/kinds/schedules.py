"""`schedule KIND`: one entry per learning-rate schedule, the TF1 call giving the rate at a step.

Every schedule shares the warm-up (`helpers.warm_up`): the rate ramps up
linearly to the rate the schedule gives when the warm-up ends.  constant,
exponential and piecewise count absolute steps; polynomial and cosine start
decaying after the warm-up and by default end with training.
"""

from __future__ import annotations

from ..argtypes import (
    BOOL,
    FRACTION,
    INT_LIST,
    METRIC,
    MODE,
    NONNEG_FLOAT,
    NONNEG_INT,
    NUM_LIST,
    POS_FLOAT,
    POS_INT,
    optional,
)
from .base import REQUIRED, Arg, Call, Kind, Ref, kinds

#: The step the rate is asked for (`step` in the emitted `learning_rate_at(step)`).
STEP = Ref("step")
#: The default length of a decay: the steps after the warm-up (needs the run's step count).
DECAY_STEPS = Ref("decay_steps")
#: Steps per epoch of the training split (`decay_epochs`; needs the number of training examples).
STEPS_PER_EPOCH = Ref("steps_per_epoch")
#: The plateau schedule's factor so far: a variable of the graph, lowered by the trainer on a plateau.
PLATEAU_SCALE = Ref("plateau_scale")
#: Schedules that read PLATEAU_SCALE, driven by the validation metric.
VALIDATION_DRIVEN = frozenset({"plateau"})

_DECAY_EPOCHS = Arg("decay_epochs", optional(POS_FLOAT), None,
                    "the decay's length in passes over the training split, instead of `decay_steps` "
                    "(train_image_classifier's num_epochs_per_decay)")

COMMON = (
    Arg("warmup_steps", NONNEG_INT, 0, "ramp the rate linearly from 0 over this many steps first"),
)


def _decay_steps(o: dict):
    if o.get("decay_epochs"):
        return Call("helpers.epochs_to_steps", (float(o["decay_epochs"]), STEPS_PER_EPOCH))
    return int(o["decay_steps"]) if o["decay_steps"] else DECAY_STEPS


def _after_warm_up(warm: int):
    return Call("helpers.after_warm_up", (STEP, warm)) if warm else STEP


SCHEDULES = kinds(
    Kind("constant", (), "the optimizer's `lr` throughout",
         call=lambda lr, o, warm: Call("constant", (lr,))),
    Kind("exponential", (
        Arg("decay_steps", optional(POS_INT), None, "steps per decay (this or `decay_epochs` is required)"),
        _DECAY_EPOCHS,
        Arg("decay_rate", POS_FLOAT, 0.94, "factor per `decay_steps`"),
        Arg("staircase", BOOL, False, "decay in steps rather than smoothly"),
    ), "lr * decay_rate ^ (step / decay_steps)",
        call=lambda lr, o, warm: Call("compat.v1.train.exponential_decay",
                                      (lr, STEP, _decay_steps(o), float(o["decay_rate"])),
                                      (("staircase", bool(o["staircase"])),))),
    Kind("piecewise", (
        Arg("boundaries", INT_LIST, REQUIRED, "increasing steps where the rate changes"),
        Arg("values", NUM_LIST, REQUIRED, "the rates, one more than boundaries (the optimizer's lr is not used)"),
    ), "piecewise constant rates",
        call=lambda lr, o, warm: Call("compat.v1.train.piecewise_constant",
                                      (STEP, [int(b) for b in o["boundaries"]], [float(v) for v in o["values"]]))),
    Kind("polynomial", (
        Arg("decay_steps", optional(POS_INT), None, "steps to reach `end_lr` (default: `steps`)"),
        _DECAY_EPOCHS,
        Arg("end_lr", NONNEG_FLOAT, 0.0001, "final rate"),
        Arg("power", POS_FLOAT, 1.0, "1 is linear"),
        Arg("cycle", BOOL, False, "restart after `decay_steps`"),
    ), "polynomial decay from lr to end_lr",
        call=lambda lr, o, warm: Call("compat.v1.train.polynomial_decay",
                                      (lr, _after_warm_up(warm), _decay_steps(o), float(o["end_lr"])),
                                      (("power", float(o["power"])), ("cycle", bool(o["cycle"]))))),
    Kind("cosine", (
        Arg("decay_steps", optional(POS_INT), None, "length of the cosine (default: `steps` minus warm-up)"),
        _DECAY_EPOCHS,
        Arg("alpha", FRACTION, 0.0, "final rate as a fraction of lr"),
    ), "cosine decay from lr to alpha * lr",
        call=lambda lr, o, warm: Call("compat.v1.train.cosine_decay",
                                      (lr, _after_warm_up(warm), _decay_steps(o)),
                                      (("alpha", float(o["alpha"])),))),
    Kind("plateau", (
        Arg("on", METRIC, REQUIRED, "the validation metric watched (needs `validate every=N`)"),
        Arg("factor", POS_FLOAT, 0.1, "multiply the rate by this (below 1) on a plateau"),
        Arg("patience", POS_INT, 3, "validations without improvement before lowering the rate"),
        Arg("min_delta", NONNEG_FLOAT, 0.0, "smallest change that counts as an improvement"),
        Arg("min_lr", NONNEG_FLOAT, 0.0, "never lower the rate below this"),
        Arg("cooldown", NONNEG_INT, 0, "validations to wait after lowering before watching again"),
        Arg("mode", MODE, None, "min or max (default: min for losses and errors, else max)"),
    ), "the optimizer's `lr`, multiplied by `factor` whenever the validation metric stalls for `patience` "
       "validations (Keras's ReduceLROnPlateau); the factor reached is saved in the checkpoints",
        call=lambda lr, o, warm: Call("math.multiply", (lr, PLATEAU_SCALE))),
)


def rate_call(kind: str, lr: float, options: dict, warmup_steps: int) -> Call:
    """The call giving schedule `kind`'s rate at STEP (before the warm-up ramp)."""
    return SCHEDULES[kind].call(float(lr), options, int(warmup_steps))
