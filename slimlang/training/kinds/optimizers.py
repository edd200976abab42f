"""`optimizer KIND`: one entry per optimizer, its TF1 class and the options passed to it."""

from __future__ import annotations

from ..argtypes import FRACTION, NONNEG_FLOAT, NONPOS_FLOAT, POS_FLOAT
from .base import Arg, Call, Kind, Ref, kinds

#: The learning-rate tensor (`learning_rate` in the emitted code).
LEARNING_RATE = Ref("learning_rate")


def _optimizer(cls: str, *options: tuple[str, str], **fixed):
    """options: (keyword of the TF class, option of the setting); fixed: keywords with one value."""
    def call(o: dict) -> Call:
        kw = tuple((key, float(o[opt])) for key, opt in options) + tuple(fixed.items())
        return Call(f"compat.v1.train.{cls}", (LEARNING_RATE,), kw)
    return call


def _lr(default: float) -> Arg:
    return Arg("lr", POS_FLOAT, default, "learning rate")


OPTIMIZERS = kinds(
    Kind("sgd", (_lr(0.01),), "plain gradient descent", call=_optimizer("GradientDescentOptimizer")),
    Kind("momentum", (_lr(0.01), Arg("momentum", NONNEG_FLOAT, 0.9, "momentum")), "SGD with momentum",
         call=_optimizer("MomentumOptimizer", ("momentum", "momentum"))),
    Kind("nesterov", (_lr(0.01), Arg("momentum", NONNEG_FLOAT, 0.9, "momentum")), "SGD with Nesterov momentum",
         call=_optimizer("MomentumOptimizer", ("momentum", "momentum"), use_nesterov=True)),
    Kind("adam", (_lr(0.001),
                  Arg("beta1", FRACTION, 0.9, "first-moment decay"),
                  Arg("beta2", FRACTION, 0.999, "second-moment decay"),
                  Arg("epsilon", POS_FLOAT, 1e-8, "numerical epsilon")), "Adam",
         call=_optimizer("AdamOptimizer", ("beta1", "beta1"), ("beta2", "beta2"), ("epsilon", "epsilon"))),
    Kind("rmsprop", (_lr(0.001),
                     Arg("decay", FRACTION, 0.9, "decay of the squared-gradient average"),
                     Arg("momentum", NONNEG_FLOAT, 0.0, "momentum"),
                     Arg("epsilon", POS_FLOAT, 1e-10, "numerical epsilon")), "RMSProp",
         call=_optimizer("RMSPropOptimizer", ("decay", "decay"), ("momentum", "momentum"), ("epsilon", "epsilon"))),
    Kind("adagrad", (_lr(0.01), Arg("initial_accumulator", POS_FLOAT, 0.1, "starting accumulator value")), "Adagrad",
         call=_optimizer("AdagradOptimizer", ("initial_accumulator_value", "initial_accumulator"))),
    Kind("adadelta", (_lr(1.0),
                      Arg("rho", FRACTION, 0.95, "decay rate"),
                      Arg("epsilon", POS_FLOAT, 1e-8, "numerical epsilon")), "Adadelta",
         call=_optimizer("AdadeltaOptimizer", ("rho", "rho"), ("epsilon", "epsilon"))),
    Kind("ftrl", (_lr(0.01),
                  Arg("learning_rate_power", NONPOS_FLOAT, -0.5, "how the rate decreases (0 keeps it fixed)"),
                  Arg("initial_accumulator", POS_FLOAT, 0.1, "starting accumulator value"),
                  Arg("l1", NONNEG_FLOAT, 0.0, "L1 regularization strength"),
                  Arg("l2", NONNEG_FLOAT, 0.0, "L2 regularization strength")),
         "FTRL-Proximal (train_image_classifier's ftrl)",
         call=_optimizer("FtrlOptimizer", ("learning_rate_power", "learning_rate_power"),
                         ("initial_accumulator_value", "initial_accumulator"),
                         ("l1_regularization_strength", "l1"), ("l2_regularization_strength", "l2"))),
)

#: The optimizer of a section without an `optimizer` line.
DEFAULT = ("adam", 0.001, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})
