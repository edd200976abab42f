"""Check stage for `train` sections: settings -> a frozen `TrainSpec`.

A `.slim` file may hold one or more `train [NAME] { ... }` sections.  Each
line of a section is a *setting*, written like a layer statement::

    train {
      model digits_net num_classes=10
      data npz "data/digits.npz" validation=0.2 seed=1
      loss softmax_cross_entropy label_smoothing=0.1
      optimizer adam lr=0.003
      schedule cosine warmup_steps=100
      steps 3000
    }

The language checker evaluates every argument to a plain Python value and
hands the section to :func:`check_train_section`, which validates it against
the one table of settings, :data:`TRAIN_SETTINGS` (names, arguments, types,
defaults and the one-line docs that `docs/training.md` is generated from),
reports every mistake of the section into a `Collector` (codes E301-E319,
did-you-mean for misspelt names) and returns a :class:`TrainSpec`.

This module is pure Python: it never imports TensorFlow, so `slimlang check`
stays fast.  The engine that runs a spec lives in `slimlang.training`.

Paths: `data` paths are inputs that travel with the .slim file, so a relative
path is resolved against the .slim file's folder.  `logdir` and `init_from`
name run outputs (a checkpoint is usually another run's logdir), so they are
resolved against the current working directory, like every CLI tool's paths.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .diagnostics import NO_SPAN, Collector, SlimError, Span, did_you_mean

__all__ = [
    "DATA_KINDS",
    "ERROR_CODES",
    "LOSS_KINDS",
    "OPTIMIZERS",
    "SCHEDULES",
    "TRAIN_SETTINGS",
    "DataSpec",
    "InitSpec",
    "LossSpec",
    "ModelRef",
    "ModelSig",
    "OptimizerSpec",
    "ScheduleSpec",
    "Setting",
    "TrainSpec",
    "build_spec",
    "check_data_fits",
    "check_data_path",
    "check_train_section",
    "reference_markdown",
    "setting",
    "with_overrides",
]


# ------------------------------------------------------------ interface ---


@dataclass(frozen=True, slots=True)
class Setting:
    """One line of a train section, its arguments already evaluated."""

    name: str
    args: tuple
    kwargs: dict
    span: Span = NO_SPAN
    name_span: Span = NO_SPAN
    arg_spans: tuple = ()
    kwarg_spans: dict = field(default_factory=dict)

    def arg_span(self, i: int) -> Span:
        return self.arg_spans[i] if i < len(self.arg_spans) else self.span

    def kwarg_span(self, key: str) -> Span:
        return self.kwarg_spans.get(key, self.span)


@dataclass(frozen=True, slots=True)
class ModelSig:
    """What the checker knows of a model: its parameters and their defaults.

    `params` is ordered and excludes the first parameter (the input tensor).
    `end_points`, when the checker knows them, lets `loss on=...` be checked
    before TensorFlow runs; left empty, it is checked when the graph is built.
    """

    name: str
    params: dict
    end_points: tuple = ()


def setting(name: str, /, *args, **kwargs) -> Setting:
    """A setting made in Python (no source text), for `build_spec`:
    `setting("loss", "huber", delta=2.0)` is the line `loss huber delta=2.0`."""
    return Setting(name, tuple(args), dict(kwargs))


# ------------------------------------------------------------ the spec ---


@dataclass(frozen=True, slots=True)
class ModelRef:
    name: str | None  # None: the file's only model, or chosen with --model
    params: dict
    span: Span = NO_SPAN


@dataclass(frozen=True, slots=True)
class DataSpec:
    kind: str  # npz | tfrecord | folder | csv
    path: str  # resolved (absolute unless the path was a glob given absolute)
    options: dict  # every option of the kind and the common ones, defaults filled
    span: Span = NO_SPAN
    path_span: Span = NO_SPAN
    option_spans: dict = field(default_factory=dict)

    def opt_span(self, key: str) -> Span:
        return self.option_spans.get(key, self.span)


@dataclass(frozen=True, slots=True)
class LossSpec:
    kind: str  # canonical kind, or a registered custom loss name
    name: str  # unique within the section; used in summaries and eval output
    on: str  # end point name, or "net" for the model's first output
    labels: str | int | None  # label field; None: the data's default labels
    weight: float
    options: dict  # kind-specific options
    custom: bool = False
    span: Span = NO_SPAN
    on_span: Span = NO_SPAN
    labels_span: Span = NO_SPAN


@dataclass(frozen=True, slots=True)
class OptimizerSpec:
    kind: str
    lr: float
    options: dict
    span: Span = NO_SPAN


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    kind: str
    warmup_steps: int
    options: dict
    span: Span = NO_SPAN


@dataclass(frozen=True, slots=True)
class InitSpec:
    path: str
    include: tuple
    exclude: tuple
    strip_prefix: str
    add_prefix: str
    rename: tuple  # ((regex, replacement), ...) applied in order
    ignore_missing: bool
    span: Span = NO_SPAN
    path_span: Span = NO_SPAN

    def name_in_checkpoint(self, var_name: str) -> str:
        """The primer's `name_in_checkpoint`: strip, regex-rename, add prefix."""
        name = var_name
        if self.strip_prefix and name.startswith(self.strip_prefix):
            name = name[len(self.strip_prefix):]
        for pattern, repl in self.rename:
            name = re.sub(pattern, repl, name)
        return self.add_prefix + name

    def selects(self, var_name: str) -> bool:
        """Whether include/exclude (prefixes, as train_image_classifier) keep it."""
        if self.include and not any(var_name.startswith(s) for s in self.include):
            return False
        return not any(var_name.startswith(s) for s in self.exclude)


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """Everything a train section says, checked.  `None` means "not given"."""

    name: str | None
    model: ModelRef
    data: DataSpec | None
    losses: tuple  # of LossSpec
    optimizer: OptimizerSpec
    schedule: ScheduleSpec
    batch_size: int = 32
    steps: int | None = None
    epochs: int | None = None
    regularization: bool = True
    clip_gradients: float | None = None
    clip_per_variable: bool = False
    log_every: int = 10
    save_summaries_secs: float | None = None
    save_summaries_steps: int | None = 100
    save_interval_secs: float | None = 600
    save_interval_steps: int | None = None
    keep_checkpoints: int = 5
    logdir: str | None = None
    init_from: InitSpec | None = None
    trainable: tuple | None = None
    seed: int | None = None
    base_dir: str = "."
    span: Span = NO_SPAN
    spans: dict = field(default_factory=dict)  # setting name -> span of its line

    def span_of(self, setting_name: str) -> Span:
        return self.spans.get(setting_name, self.span)


# ------------------------------------------------------------ types ---


class _Bad(Exception):
    """A value does not fit an argument's type; the message says why."""


@dataclass(frozen=True, slots=True)
class Type:
    doc: str
    convert: Callable


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(v, what="a number"):
    if not _is_num(v):
        raise _Bad(f"expected {what}, got {_show(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Bad(f"expected a finite number, got {v}")
    return v


def _show(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return f"{type(v).__name__} {list(v)!r}"
    return f"{type(v).__name__} {v!r}"


def _int(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise _Bad(f"expected an integer, got {_show(v)}")
    return v


def _pos_int(v):
    v = _int(v)
    if v <= 0:
        raise _Bad(f"expected an integer > 0, got {v}")
    return v


def _nonneg_int(v):
    v = _int(v)
    if v < 0:
        raise _Bad(f"expected an integer >= 0, got {v}")
    return v


def _float(v):
    return float(_num(v))


def _pos_float(v):
    v = float(_num(v))
    if v <= 0:
        raise _Bad(f"expected a number > 0, got {v:g}")
    return v


def _nonneg_float(v):
    v = float(_num(v))
    if v < 0:
        raise _Bad(f"expected a number >= 0, got {v:g}")
    return v


def _fraction(v):
    v = float(_num(v))
    if not 0.0 <= v < 1.0:
        raise _Bad(f"expected a fraction in [0, 1), got {v:g}")
    return v


def _bool(v):
    if not isinstance(v, bool):
        raise _Bad(f"expected true or false, got {_show(v)}")
    return v


def _str(v):
    if not isinstance(v, str):
        raise _Bad(f"expected a string, got {_show(v)}")
    return v


def _nonempty_str(v):
    v = _str(v)
    if not v:
        raise _Bad("expected a non-empty string")
    return v


def _seq(v):
    if isinstance(v, (list, tuple)):
        return tuple(v)
    raise _Bad(f"expected a list, got {_show(v)}")


def _str_list(v):
    if isinstance(v, str):
        return (v,)
    return tuple(_str(x) for x in _seq(v))


def _num_list(v):
    return tuple(_float(x) for x in _seq(v))


def _int_list(v):
    return tuple(_int(x) for x in _seq(v))


def _hw(v):
    if _is_num(v):
        n = _pos_int(v)
        return (n, n)
    items = _seq(v)
    if len(items) != 2:
        raise _Bad(f"expected [height, width], got {_show(v)}")
    return tuple(_pos_int(x) for x in items)


def _hwc(v):
    items = _seq(v)
    if len(items) not in (2, 3):
        raise _Bad(f"expected [height, width, channels], got {_show(v)}")
    return tuple(_pos_int(x) for x in items)


def _scale(v):
    if _is_num(v):
        return float(_num(v))
    items = _seq(v)
    if len(items) != 2:
        raise _Bad(f"expected a factor like 1/255 or a range (lo, hi), got {_show(v)}")
    lo, hi = (_float(x) for x in items)
    if lo == hi:
        raise _Bad("the range (lo, hi) needs lo != hi")
    return (lo, hi)


def _shuffle(v):
    if isinstance(v, bool):
        return v
    return _pos_int(v)


def _label_field(v):
    if isinstance(v, str):
        return v
    return _int(v)


def _label_fields(v):
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return (_label_field(v),)
    items = tuple(_label_field(x) for x in _seq(v))
    if not items:
        raise _Bad("expected at least one label field")
    return items


def _dtype_name(v):
    v = _str(v)
    allowed = ("uint8", "int8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64")
    if v not in allowed:
        raise _Bad(f"expected one of {', '.join(allowed)}, got {v!r}")
    return v


def _rename(v):
    """[("regex", "replacement"), ...] or one pair or dict(regex=repl)."""
    if isinstance(v, dict):
        pairs = tuple(v.items())
    else:
        items = _seq(v)
        if len(items) == 2 and all(isinstance(x, str) for x in items):
            items = (items,)
        pairs = tuple(_seq(p) for p in items)
    out = []
    for p in pairs:
        if len(p) != 2 or not all(isinstance(x, str) for x in p):
            raise _Bad(f"expected (\"regex\", \"replacement\") pairs, got {_show(p)}")
        try:
            re.compile(p[0])
        except re.error as e:
            raise _Bad(f"bad regular expression {p[0]!r}: {e}") from None
        out.append((p[0], p[1]))
    return tuple(out)


def _choice(*options):
    def conv(v):
        if v not in options:
            raise _Bad(f"expected one of {', '.join(map(str, options))}, got {_show(v)}")
        return v
    return conv


def _opt(t: Type) -> Type:
    def conv(v):
        return None if v is None else t.convert(v)
    return Type(f"{t.doc} or none", conv)


def _any(v):
    return v


INT = Type("integer", _int)
POS_INT = Type("integer > 0", _pos_int)
NONNEG_INT = Type("integer >= 0", _nonneg_int)
FLOAT = Type("number", _float)
POS_FLOAT = Type("number > 0", _pos_float)
NONNEG_FLOAT = Type("number >= 0", _nonneg_float)
FRACTION = Type("fraction in [0, 1)", _fraction)
BOOL = Type("true/false", _bool)
STR = Type("string", _str)
PATH = Type("path string", _nonempty_str)
STR_LIST = Type("string or list of strings", _str_list)
INT_LIST = Type("list of integers", _int_list)
NUM_LIST = Type("list of numbers", _num_list)
HW = Type("[height, width] or one integer", _hw)
HWC = Type("[height, width, channels]", _hwc)
SCALE = Type("factor (1/255) or range (lo, hi)", _scale)
SHUFFLE = Type("true/false or buffer size", _shuffle)
LABEL_FIELDS = Type("field name or list of names", _label_fields)
LABEL_FIELD = Type("label field name", _label_field)
DTYPE = Type("dtype name", _dtype_name)
RENAME = Type('[("regex", "replacement"), ...]', _rename)
ANY = Type("any value", _any)
CHANNELS = Type("1, 3 or 4", _choice(1, 3, 4))


# ------------------------------------------------------------ the table ---

REQUIRED = object()  # default marking a required argument


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    type: Type
    default: object = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True, slots=True)
class Kind:
    """One choice of a setting's first argument (`data npz`, `loss huber`)."""

    name: str
    args: tuple  # keyword Args of this kind
    doc: str
    aliases: tuple = ()


@dataclass(frozen=True, slots=True)
class SettingDef:
    name: str
    doc: str
    positional: tuple = ()  # Args, in order (after the kind, if any)
    keywords: tuple = ()  # Args common to every kind
    kinds: dict | None = None  # name -> Kind; then args[0] chooses the kind
    repeatable: bool = False
    variadic: Arg | None = None  # extra positional args all of this type
    usage: str = ""


def _kinds(*kinds: Kind) -> dict:
    return {k.name: k for k in kinds}


_COMMON_DATA = (
    Arg("shuffle", SHUFFLE, True, "shuffle the training examples each epoch (or the buffer size)"),
    Arg("validation", FRACTION, 0.0, "fraction held out for `slimlang eval` (a fixed split, by `seed`)"),
    Arg("seed", INT, 0, "seed of the held-out split and of the shuffle order"),
    Arg("classes", _opt(INT_LIST), None, "keep only these labels, renumbered 0.. in the order given"),
    Arg("resize", _opt(HW), None, "resize images to [height, width] (bilinear)"),
    Arg("crop", _opt(HW), None, "random crop of [height, width] while training; centre crop in eval"),
    Arg("flip", BOOL, False, "random left-right flip while training"),
    Arg("scale", _opt(SCALE), None,
        "multiply pixels by a factor (1/255), or map 0..255 onto (lo, hi); "
        "default: decoded image files to [0, 1], arrays unchanged"),
)

DATA_KINDS = _kinds(
    Kind("npz", (
        Arg("images", STR, "images", "array of inputs, shape [N, ...]"),
        Arg("labels", LABEL_FIELDS, ("labels",), "label array(s); the first is the default for losses"),
    ), "NumPy .npz file of arrays with the same first dimension; every other "
       "array is available as a label field too"),
    Kind("tfrecord", (
        Arg("images", STR, "image/encoded", "feature with the encoded JPEG/PNG, raw bytes or floats"),
        Arg("labels", LABEL_FIELDS, ("image/class/label",), "int64/float feature(s) used as labels"),
        Arg("image_shape", _opt(HWC), None, "shape of raw (not encoded) images"),
        Arg("dtype", DTYPE, "uint8", "dtype of raw image bytes"),
        Arg("channels", _opt(CHANNELS), None, "channels to decode JPEG/PNG to (default: as the first record)"),
        Arg("compression", Type('"", "GZIP" or "ZLIB"', _choice("", "GZIP", "ZLIB")), "", "record compression"),
    ), "TFRecord files (a glob) of tf.train.Example, as TF-Slim's datasets write them"),
    Kind("folder", (
        Arg("channels", CHANNELS, 3, "channels to decode images to"),
        Arg("extensions", STR_LIST, (".jpg", ".jpeg", ".png", ".bmp", ".gif"), "image file endings"),
    ), "a folder with one sub-folder of images per class, classes sorted by name; "
       "without `resize` every image is resized to the first image's size"),
    Kind("csv", (
        Arg("labels", LABEL_FIELDS, ("label",), "label column(s), by header name or index"),
        Arg("features", _opt(Type("list of column names or indices",
                                  lambda v: tuple(_label_field(x) for x in _seq(v)))), None,
            "feature columns (default: every column that is not a label)"),
        Arg("shape", _opt(HWC), None, "reshape each row's features, e.g. [8, 8, 1]"),
        Arg("header", BOOL, True, "first line names the columns"),
        Arg("delimiter", STR, ",", "column separator"),
    ), "a CSV file of numbers, one example per row"),
)

_COMMON_LOSS = (
    Arg("on", STR, "net", "end point the loss reads: `net` (the model's output) or an end point name"),
    Arg("labels", _opt(LABEL_FIELD), None, "label field of the data (default: the data's first)"),
    Arg("weight", NONNEG_FLOAT, 1.0, "weight of this loss in the total loss"),
    Arg("name", _opt(Type("identifier", _nonempty_str)), None,
        "name in summaries and eval output (default: the kind, or the end point when several)"),
)

LOSS_KINDS = _kinds(
    Kind("softmax_cross_entropy", (
        Arg("label_smoothing", FRACTION, 0.0, "smooth one-hot targets towards uniform"),
    ), "logits [B, C]; integer labels [B] (sparse) or one-hot/probabilities [B, C]",
        aliases=("sparse_softmax_cross_entropy", "cross_entropy")),
    Kind("sigmoid_cross_entropy", (
        Arg("label_smoothing", FRACTION, 0.0, "smooth targets towards 1/2"),
    ), "independent binary targets; labels [B, C] of 0/1 (integer [B] labels are one-hot encoded)"),
    Kind("mean_squared_error", (), "regression; labels shaped as the predictions",
         aliases=("sum_of_squares", "mse")),
    Kind("absolute_difference", (), "mean absolute error", aliases=("mae",)),
    Kind("huber", (Arg("delta", POS_FLOAT, 1.0, "where the loss turns from quadratic to linear"),),
         "Huber loss", aliases=("huber_loss",)),
    Kind("log_loss", (
        Arg("epsilon", POS_FLOAT, 1e-7, "clamp of the probabilities"),
        Arg("from_logits", BOOL, False, "apply a sigmoid to the end point first"),
    ), "binary log loss on probabilities"),
    Kind("hinge", (), "hinge loss; logits against 0/1 labels", aliases=("hinge_loss",)),
    Kind("cosine_distance", (Arg("axis", INT, -1, "axis of the vectors"),),
         "1 - cosine similarity (both sides are L2-normalised first)"),
)

_LOSS_ALIASES = {a: k.name for k in LOSS_KINDS.values() for a in k.aliases}

OPTIMIZERS = _kinds(
    Kind("sgd", (Arg("lr", POS_FLOAT, 0.01, "learning rate"),), "plain gradient descent"),
    Kind("momentum", (Arg("lr", POS_FLOAT, 0.01, "learning rate"),
                      Arg("momentum", NONNEG_FLOAT, 0.9, "momentum")), "SGD with momentum"),
    Kind("nesterov", (Arg("lr", POS_FLOAT, 0.01, "learning rate"),
                      Arg("momentum", NONNEG_FLOAT, 0.9, "momentum")), "SGD with Nesterov momentum"),
    Kind("adam", (Arg("lr", POS_FLOAT, 0.001, "learning rate"),
                  Arg("beta1", FRACTION, 0.9, "first-moment decay"),
                  Arg("beta2", FRACTION, 0.999, "second-moment decay"),
                  Arg("epsilon", POS_FLOAT, 1e-8, "numerical epsilon")), "Adam"),
    Kind("rmsprop", (Arg("lr", POS_FLOAT, 0.001, "learning rate"),
                     Arg("decay", FRACTION, 0.9, "decay of the squared-gradient average"),
                     Arg("momentum", NONNEG_FLOAT, 0.0, "momentum"),
                     Arg("epsilon", POS_FLOAT, 1e-10, "numerical epsilon")), "RMSProp"),
    Kind("adagrad", (Arg("lr", POS_FLOAT, 0.01, "learning rate"),
                     Arg("initial_accumulator", POS_FLOAT, 0.1, "starting accumulator value")), "Adagrad"),
    Kind("adadelta", (Arg("lr", POS_FLOAT, 1.0, "learning rate"),
                      Arg("rho", FRACTION, 0.95, "decay rate"),
                      Arg("epsilon", POS_FLOAT, 1e-8, "numerical epsilon")), "Adadelta"),
)

_COMMON_SCHEDULE = (
    Arg("warmup_steps", NONNEG_INT, 0, "ramp the rate linearly from 0 over this many steps first"),
)

SCHEDULES = _kinds(
    Kind("constant", (), "the optimizer's `lr` throughout"),
    Kind("exponential", (
        Arg("decay_steps", POS_INT, REQUIRED, "steps per decay"),
        Arg("decay_rate", POS_FLOAT, 0.94, "factor per `decay_steps`"),
        Arg("staircase", BOOL, False, "decay in steps rather than smoothly"),
    ), "lr * decay_rate ^ (step / decay_steps)"),
    Kind("piecewise", (
        Arg("boundaries", INT_LIST, REQUIRED, "increasing steps where the rate changes"),
        Arg("values", NUM_LIST, REQUIRED, "the rates, one more than boundaries (the optimizer's lr is not used)"),
    ), "piecewise constant rates"),
    Kind("polynomial", (
        Arg("decay_steps", _opt(POS_INT), None, "steps to reach `end_lr` (default: `steps`)"),
        Arg("end_lr", NONNEG_FLOAT, 0.0001, "final rate"),
        Arg("power", POS_FLOAT, 1.0, "1 is linear"),
        Arg("cycle", BOOL, False, "restart after `decay_steps`"),
    ), "polynomial decay from lr to end_lr"),
    Kind("cosine", (
        Arg("decay_steps", _opt(POS_INT), None, "length of the cosine (default: `steps` minus warm-up)"),
        Arg("alpha", FRACTION, 0.0, "final rate as a fraction of lr"),
    ), "cosine decay from lr to alpha * lr"),
)

TRAIN_SETTINGS: dict[str, SettingDef] = {d.name: d for d in (
    SettingDef("model", "which model of the file to train and its parameter values "
               "(`is_training` is set by the trainer)", usage="model NAME [param=value ...]"),
    SettingDef("data", "where the examples come from, how they are split and augmented",
               positional=(Arg("path", PATH, REQUIRED, "file, glob or folder; relative to the .slim file"),),
               keywords=_COMMON_DATA, kinds=DATA_KINDS, usage='data KIND "PATH" [option=value ...]'),
    SettingDef("batch_size", "examples per step", positional=(Arg("n", POS_INT, REQUIRED),), usage="batch_size N"),
    SettingDef("steps", "number of training steps (global_step to reach)",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="steps N"),
    SettingDef("epochs", "train for this many passes over the training split instead of `steps`",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="epochs N"),
    SettingDef("loss", "a loss on an output of the model; several losses are summed with their weights",
               keywords=_COMMON_LOSS, kinds=LOSS_KINDS, repeatable=True,
               usage="loss KIND [on=END_POINT] [labels=FIELD] [weight=W] [option=value ...]"),
    SettingDef("regularization", "add the model's regularization losses to the total loss",
               positional=(Arg("on", BOOL, True),), usage="regularization true|false"),
    SettingDef("optimizer", "how the gradients update the variables",
               kinds=OPTIMIZERS, usage="optimizer KIND [lr=RATE] [option=value ...]"),
    SettingDef("schedule", "learning-rate schedule over global_step",
               keywords=_COMMON_SCHEDULE, kinds=SCHEDULES, usage="schedule KIND [option=value ...]"),
    SettingDef("clip_gradients", "clip the gradients to this norm (global norm unless per_variable=true)",
               positional=(Arg("norm", POS_FLOAT, REQUIRED),),
               keywords=(Arg("per_variable", BOOL, False, "clip each gradient separately, as slim's create_train_op"),),
               usage="clip_gradients NORM [per_variable=true]"),
    SettingDef("log_every", "steps between progress updates (log lines when not on a terminal)",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="log_every N"),
    SettingDef("save_summaries_secs", "seconds between TensorBoard summaries",
               positional=(Arg("secs", POS_FLOAT, REQUIRED),), usage="save_summaries_secs S"),
    SettingDef("save_summaries_steps", "steps between TensorBoard summaries (default 100)",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="save_summaries_steps N"),
    SettingDef("save_interval_secs", "seconds between checkpoints (with neither interval set: every 60 s and every max(100, steps/10) steps; a last one is always written)",
               positional=(Arg("secs", POS_FLOAT, REQUIRED),), usage="save_interval_secs S"),
    SettingDef("save_interval_steps", "steps between checkpoints",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="save_interval_steps N"),
    SettingDef("keep_checkpoints", "how many recent checkpoints to keep",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="keep_checkpoints N"),
    SettingDef("logdir", "where checkpoints and summaries go; relative to the current directory "
               "(default runs/FILE[-SECTION])", positional=(Arg("path", PATH, REQUIRED),), usage='logdir "PATH"'),
    SettingDef("init_from", "start from a checkpoint (a file prefix or a logdir) when the logdir has none",
               positional=(Arg("path", PATH, REQUIRED, "relative to the current directory"),),
               keywords=(
                   Arg("include", STR_LIST, (), "restore only variables under these scopes"),
                   Arg("exclude", STR_LIST, (), "do not restore variables under these scopes (e.g. the last layer)"),
                   Arg("strip_prefix", STR, "", "remove this prefix from a variable's name"),
                   Arg("rename", RENAME, (), "then apply these regex replacements"),
                   Arg("add_prefix", STR, "", "then add this prefix: the result is the name in the checkpoint"),
                   Arg("ignore_missing", BOOL, False, "leave variables the checkpoint lacks initialised"),
               ), usage='init_from "PATH" [include=[...]] [exclude=[...]] [strip_prefix=...] '
                        '[rename=[(RE, REPL)]] [add_prefix=...] [ignore_missing=true]'),
    SettingDef("trainable", "train only variables under these scopes; the rest stay fixed",
               variadic=Arg("scopes", STR_LIST, REQUIRED), usage='trainable "SCOPE" ...'),
    SettingDef("seed", "graph-level random seed (weight initialisation, dropout)",
               positional=(Arg("n", INT, REQUIRED),), usage="seed N"),
)}

#: Codes of the errors of train sections and of the engine that runs them.
ERROR_CODES: dict[str, str] = {
    "E301": "unknown setting",
    "E302": "setting given more than once",
    "E303": "wrong number of positional arguments",
    "E304": "unknown option",
    "E305": "value of the wrong type or out of range",
    "E306": "unknown kind (data source, loss, optimizer, schedule)",
    "E307": "unknown or ambiguous model",
    "E308": "unknown or ill-typed model parameter",
    "E309": "a required setting or option is missing",
    "E310": "settings that contradict each other",
    "E311": "duplicate loss name",
    "E320": "data file, folder or glob not found or unreadable",
    "E321": "data field (array, feature, column) not found",
    "E322": "data of the wrong type or shape for the model",
    "E323": "label out of range",
    "E324": "empty dataset or split",
    "E325": "the model cannot be built on the data",
    "E326": "loss reads an end point the model does not have",
    "E327": "labels do not fit the predictions",
    "E328": "a data file is damaged: a truncated or corrupt TFRecord, an empty, cut-off or non-image image file",
    "E329": "the data's examples do not have the shape the model declares for its input",
    "E330": "checkpoint to start from not found",
    "E331": "variable shape differs from the checkpoint",
    "E332": "variable missing from the checkpoint",
    "E333": "trainable scope matches no variable",
    "E340": "the logdir or checkpoint holds a different model (the differences are listed)",
    "E341": "no readable checkpoint in the logdir",
    "E342": "loss became NaN or Inf",
    "E343": "nothing says how long to train",
    "E344": "no checkpoint to evaluate or export",
    "E345": "custom loss failed",
    "E350": "a file or folder cannot be written (permissions, read-only, a file in the path)",
    "E351": "the disk is full or a file is over the size limit; nothing was half-written",
    "E352": "the logdir is in use by another `slimlang train` (its pid is named)",
    "E353": "export --out is or holds the logdir, checkpoints, the .slim source or the data",
    "E354": "export --out is not empty: another folder, or a SavedModel without --overwrite",
    "E355": "a path that must be a folder (logdir, --out) is a file or lies under one",
    "E356": "build/graph -o names a folder, or the .slim file being read, not a new output file",
    "E357": "the exported SavedModel does not load back; nothing at --out was changed",
}


# ------------------------------------------------------------ checking ---


# Names people bring from TF-Slim, Keras or train_image_classifier.py.
_SYNONYMS = {
    "learning_rate": "lr", "weights": "weight", "label": "labels", "image": "images", "inputs": "images",
    "validation_split": "validation", "num_steps": "steps", "max_number_of_steps": "steps",
    "number_of_steps": "steps", "train_dir": "logdir", "checkpoint_path": "init_from",
    "checkpoint_exclude_scopes": "init_from", "trainable_scopes": "trainable", "batch": "batch_size",
    "num_epochs": "epochs", "clip_gradient_norm": "clip_gradients", "momentum_optimizer": "momentum",
    "gradient_descent": "sgd", "exponential_decay": "exponential", "cosine_decay": "cosine",
    "piecewise_constant": "piecewise", "polynomial_decay": "polynomial", "fixed": "constant",
    "decay_factor": "decay_rate", "end_learning_rate": "end_lr", "logits": "on",
}


def _suggest(word: str, candidates) -> str:
    cands = list(candidates)
    syn = _SYNONYMS.get(word)
    if syn is not None and syn in cands:
        return f"help: did you mean `{syn}`?"
    return did_you_mean(word, cands)


def _note(*parts: str) -> list[str]:
    return [p for p in parts if p]


#: A value whose expression already failed to evaluate (its error is reported).
INVALID = object()


def _convert(arg: Arg, value, span: Span, what: str, col: Collector):
    if value is INVALID:
        return False, None
    try:
        return True, arg.type.convert(value)
    except _Bad as e:
        col.error("E305", f"{what}: {e}", span)
        return False, None


def _bind(s: Setting, d: SettingDef, col: Collector):
    """Bind a setting's arguments to its definition; None if it cannot be used."""
    out: dict = {}
    ok = True
    args = list(s.args)
    kind = None
    keywords = list(d.keywords)
    if d.kinds is not None:
        if not args:
            names = ", ".join(sorted(d.kinds))
            col.error("E309", f"`{s.name}` needs a kind: one of {names}", s.span,
                      _note(f"help: {d.usage}"))
            return None
        kind_name = args.pop(0)
        kind_span = s.arg_span(0)
        if kind_name is INVALID:
            return None
        resolved = _resolve_kind(s.name, kind_name, d.kinds)
        if resolved is None:
            candidates = list(d.kinds)
            if s.name == "loss":
                candidates += list(_LOSS_ALIASES)
                from .training.registry import registered_losses
                candidates += list(registered_losses())
            if isinstance(kind_name, str):
                col.error("E306", f"unknown {s.name} kind `{kind_name}`", kind_span,
                          _note(_suggest(kind_name, candidates),
                                f"note: {s.name} kinds are " + ", ".join(sorted(set(candidates)))))
            else:
                col.error("E305", f"`{s.name}` kind must be a name, got {_show(kind_name)}", kind_span)
            return None
        kind = resolved
        out["kind"] = kind.name if isinstance(kind, Kind) else kind_name
        if isinstance(kind, Kind):
            keywords = list(kind.args) + keywords
        else:  # a registered custom loss: its options are free
            keywords = keywords + [None]
    offset = 1 if d.kinds is not None else 0
    positional = list(d.positional)
    if d.variadic is not None:
        values: list = []
        for i, v in enumerate(args):
            good, conv = _convert(d.variadic, v, s.arg_span(i + offset), f"`{s.name}`", col)
            if good:
                values.extend(conv)
            ok &= good
        if not args:
            col.error("E303", f"`{s.name}` needs at least one {d.variadic.name[:-1]}", s.span,
                      _note(f"help: {d.usage}"))
            ok = False
        out[d.variadic.name] = tuple(values)
    else:
        if len(args) > len(positional):
            n = len(positional)
            after = " after its kind" if d.kinds is not None else ""
            col.error("E303", f"`{s.name}` takes {n} positional argument{'s' if n != 1 else ''}{after}, "
                      f"got {len(args)}", s.arg_span(n + offset), _note(f"help: {d.usage}"))
            ok = False
        for i, a in enumerate(positional):
            if i < len(args):
                good, conv = _convert(a, args[i], s.arg_span(i + offset), f"`{s.name}`", col)
                ok &= good
                out[a.name] = conv
            elif a.required:
                col.error("E303", f"`{s.name}` needs {a.name.upper()}", s.span, _note(f"help: {d.usage}"))
                ok = False
            else:
                out[a.name] = a.default
    free = None in keywords
    known = {a.name: a for a in keywords if a is not None}
    extras = {}
    for key, value in s.kwargs.items():
        a = known.get(key)
        if a is None:
            if free:
                extras[key] = value
                continue
            what = f"`{s.name}{' ' + out['kind'] if 'kind' in out else ''}`"
            col.error("E304", f"unknown option `{key}` for {what}", s.kwarg_span(key),
                      _note(_suggest(key, known), "note: options are " + ", ".join(known) if known else
                            f"note: {what} takes no options"))
            ok = False
            continue
        good, conv = _convert(a, value, s.kwarg_span(key), f"`{key}`", col)
        ok &= good
        out[key] = conv
    for a in known.values():
        if a.name not in out:
            if a.required:
                col.error("E309", f"`{s.name} {out.get('kind', '')}` needs `{a.name}=`".replace("  ", " "),
                          s.span, _note(f"note: {a.doc}" if a.doc else ""))
                ok = False
            else:
                out[a.name] = a.default
    out["_extras"] = extras
    return out if ok else None


def _resolve_kind(setting_name: str, kind_name, kinds: dict):
    if not isinstance(kind_name, str):
        return None
    if kind_name in kinds:
        return kinds[kind_name]
    if setting_name == "loss":
        if kind_name in _LOSS_ALIASES:
            return kinds[_LOSS_ALIASES[kind_name]]
        from .training.registry import registered_losses
        if kind_name in registered_losses():
            return kind_name  # a str: custom loss
    return None


def _check_model(s: Setting, models: dict, col: Collector) -> ModelRef | None:
    if not s.args:
        col.error("E303", "`model` needs the name of a model of this file", s.span,
                  _note("note: models here: " + ", ".join(models) if models else ""))
        return None
    name = s.args[0]
    if name is INVALID or any(v is INVALID for v in s.args) or any(v is INVALID for v in s.kwargs.values()):
        return None
    if not isinstance(name, str):
        col.error("E305", f"`model` needs a model name, got {_show(name)}", s.arg_span(0))
        return None
    sig = models.get(name)
    if sig is None:
        col.error("E307", f"no model `{name}` in this file", s.arg_span(0),
                  _note(did_you_mean(name, models),
                        "note: models here: " + ", ".join(models) if models else "note: the file defines no model"))
        return None
    params: dict = {}
    names = list(sig.params)
    ok = True
    if len(s.args) - 1 > len(names):
        col.error("E303", f"model `{name}` takes {len(names)} parameters, got {len(s.args) - 1}",
                  s.arg_span(len(names) + 1))
        ok = False
    for i, v in enumerate(s.args[1:len(names) + 1]):
        params[names[i]] = (v, s.arg_span(i + 1))
    for key, v in s.kwargs.items():
        if key in params:
            col.error("E308", f"model parameter `{key}` given twice", s.kwarg_span(key))
            ok = False
        params[key] = (v, s.kwarg_span(key))
    out = {}
    for key, (v, span) in params.items():
        if key not in sig.params:
            col.error("E308", f"model `{name}` has no parameter `{key}`", span,
                      _note(did_you_mean(key, names), "note: its parameters are " + ", ".join(names)
                            if names else f"note: `{name}` takes no parameters"))
            ok = False
            continue
        if key == "is_training":
            col.error("E308", "`is_training` is set by the trainer: true while training, false in eval and export",
                      span, _note("help: remove it"))
            ok = False
            continue
        default = sig.params[key]
        if isinstance(default, bool) and not isinstance(v, bool):
            col.error("E308", f"model parameter `{key}` is true/false, got {_show(v)}", span)
            ok = False
            continue
        if _is_num(default) and not _is_num(v):
            col.error("E308", f"model parameter `{key}` is a number, got {_show(v)}", span)
            ok = False
            continue
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(v, float):
            if not v.is_integer():
                col.error("E308", f"model parameter `{key}` is an integer, got {v}", span)
                ok = False
                continue
            v = int(v)
        out[key] = v
    return ModelRef(name, out, s.span) if ok else None


def check_train_section(name: str | None, settings: list, models: dict, base_dir: pathlib.Path,
                        collector: Collector, span: Span = NO_SPAN) -> TrainSpec | None:
    """Check one train section.  Every mistake goes into `collector`.

    Returns the spec (None when the section has errors; the caller raises the
    collector).  `models` maps model names to `ModelSig`.
    """
    col = collector
    before = len(col.diagnostics)
    seen: dict[str, Setting] = {}
    bound: dict[str, object] = {}
    losses_raw: list = []
    model_ref: ModelRef | None = None
    model_given = False
    spans: dict = {}
    for s in settings:
        d = TRAIN_SETTINGS.get(s.name)
        if d is None:
            col.error("E301", f"unknown train setting `{s.name}`", s.name_span if s.name_span.source else s.span,
                      _note(_suggest(s.name, TRAIN_SETTINGS),
                            "note: settings are " + ", ".join(TRAIN_SETTINGS)))
            continue
        if s.name in seen and not d.repeatable:
            first = seen[s.name].span
            col.error("E302", f"`{s.name}` is set twice in this train section", s.span,
                      _note(f"note: first set at {first.location()}" if first.source else ""))
            continue
        seen[s.name] = s
        spans.setdefault(s.name, s.span)
        if s.name == "model":
            model_given = True
            model_ref = _check_model(s, models, col)
            continue
        b = _bind(s, d, col)
        if b is None:
            continue
        if s.name == "loss":
            losses_raw.append((s, b))
        else:
            bound[s.name] = (s, b)

    # -- model
    if not model_given:
        if len(models) == 1:
            model_ref = ModelRef(next(iter(models)), {}, span)
        else:
            # Several (or no) models: `slimlang train --model M` may still choose.
            model_ref = ModelRef(None, {}, span)

    # -- data
    data = None
    if "data" in bound:
        s, b = bound["data"]
        data = _data_spec(s, b, base_dir, col)
    elif "data" not in seen:
        col.error("E309", "train section has no `data` setting", span,
                  _note('help: add e.g. `data npz "examples.npz" validation=0.1`'))

    # -- losses
    losses = []
    if not losses_raw and "loss" not in seen:
        col.error("E309", "train section has no `loss`", span,
                  _note("help: add e.g. `loss softmax_cross_entropy`"))
    names_seen: dict = {}
    several = len(losses_raw) > 1
    for s, b in losses_raw:
        custom = b["kind"] not in LOSS_KINDS
        opts = {k: v for k, v in b.items() if k not in ("kind", "on", "labels", "weight", "name", "_extras")}
        opts.update(b["_extras"])
        lname = b["name"] or (_leaf(b["on"]) if several and b["on"] != "net" else b["kind"])
        base, i = lname, 1
        while lname in names_seen and b["name"] is None:
            lname = f"{base}_{i}"
            i += 1
        if lname in names_seen:
            col.error("E311", f"two losses are named `{lname}`", s.kwarg_span("name"),
                      _note("help: give each loss its own `name=`"))
            continue
        names_seen[lname] = s
        losses.append(LossSpec(b["kind"], lname, b["on"], b["labels"], b["weight"], opts, custom,
                               s.span, s.kwarg_span("on"), s.kwarg_span("labels")))

    # -- optimizer and schedule
    if "optimizer" in bound:
        s, b = bound["optimizer"]
        opts = {k: v for k, v in b.items() if k not in ("kind", "lr", "_extras")}
        optimizer = OptimizerSpec(b["kind"], b["lr"], opts, s.span)
    else:
        optimizer = OptimizerSpec("adam", 0.001, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, span)
    if "schedule" in bound:
        s, b = bound["schedule"]
        opts = {k: v for k, v in b.items() if k not in ("kind", "warmup_steps", "_extras")}
        schedule = ScheduleSpec(b["kind"], b["warmup_steps"], opts, s.span)
        if b["kind"] == "piecewise":
            bnd, vals = opts["boundaries"], opts["values"]
            if len(vals) != len(bnd) + 1:
                col.error("E310", f"piecewise schedule needs one more value than boundaries: "
                          f"{len(bnd)} boundaries, {len(vals)} values", s.kwarg_span("values"))
            if any(b2 <= b1 for b1, b2 in zip(bnd, bnd[1:])) or any(x < 0 for x in bnd):
                col.error("E310", "piecewise boundaries must be increasing steps >= 0", s.kwarg_span("boundaries"))
            if any(v <= 0 for v in vals):
                col.error("E305", "piecewise values are learning rates and must be > 0", s.kwarg_span("values"))
    else:
        schedule = ScheduleSpec("constant", 0, {}, span)

    def one(key, default=None):
        if key in bound:
            s, b = bound[key]
            return next(v for k, v in b.items() if k not in ("kind", "_extras"))
        return default

    steps, epochs = one("steps"), one("epochs")
    if steps is not None and epochs is not None:
        col.error("E310", "give `steps` or `epochs`, not both", bound["epochs"][0].span,
                  _note(f"note: steps set at {bound['steps'][0].span.location()}"
                        if bound["steps"][0].span.source else ""))
    if steps is not None:
        if schedule.warmup_steps and schedule.warmup_steps >= steps:
            col.error("E310", f"warmup_steps={schedule.warmup_steps} is not below steps={steps}",
                      bound["schedule"][0].kwarg_span("warmup_steps"))
        ds = schedule.options.get("decay_steps")
        if schedule.kind == "cosine" and ds is None and steps <= schedule.warmup_steps:
            pass  # reported above

    clip, per_var = None, False
    if "clip_gradients" in bound:
        _, b = bound["clip_gradients"]
        clip, per_var = b["norm"], b["per_variable"]

    init = None
    if "init_from" in bound:
        s, b = bound["init_from"]
        init = InitSpec(b["path"], b["include"], b["exclude"], b["strip_prefix"], b["add_prefix"],
                        b["rename"], b["ignore_missing"], s.span, s.arg_span(0))
        both = set(b["include"]) & set(b["exclude"])
        if both:
            col.error("E310", f"scope {sorted(both)[0]!r} is both included and excluded", s.span)

    trainable = None
    if "trainable" in bound:
        trainable = bound["trainable"][1]["scopes"]

    if data is not None and data.options.get("crop") and data.options.get("resize"):
        (ch, cw), (rh, rw) = data.options["crop"], data.options["resize"]
        if ch > rh or cw > rw:
            col.error("E310", f"crop {[ch, cw]} is larger than resize {[rh, rw]}", data.opt_span("crop"))

    if len(col.diagnostics) > before or model_ref is None:
        return None
    return TrainSpec(
        name=name, model=model_ref, data=data, losses=tuple(losses), optimizer=optimizer,
        schedule=schedule, batch_size=one("batch_size", 32), steps=steps, epochs=epochs,
        regularization=one("regularization", True), clip_gradients=clip, clip_per_variable=per_var,
        log_every=one("log_every", 10),
        save_summaries_secs=one("save_summaries_secs"),
        save_summaries_steps=one("save_summaries_steps", None if "save_summaries_secs" in bound else 100),
        save_interval_secs=one("save_interval_secs", None if "save_interval_steps" in bound else 600),
        save_interval_steps=one("save_interval_steps"),
        keep_checkpoints=one("keep_checkpoints", 5), logdir=one("logdir"), init_from=init,
        trainable=trainable, seed=one("seed"), base_dir=str(base_dir), span=span, spans=spans,
    )


def _leaf(end_point: str) -> str:
    return end_point.rstrip("/").rsplit("/", 1)[-1]


def _data_spec(s: Setting, b: dict, base_dir: pathlib.Path, col: Collector) -> DataSpec:
    raw = b["path"]
    p = pathlib.Path(raw).expanduser()
    if not p.is_absolute():
        p = pathlib.Path(base_dir) / p
    opts = {k: v for k, v in b.items() if k not in ("kind", "path", "_extras")}
    spans = {k: s.kwarg_span(k) for k in s.kwargs}
    return DataSpec(b["kind"], str(p), opts, s.span, s.arg_span(1), spans)


# ------------------------------------------------------------ data paths ---
# What can be known about a data line's files without TensorFlow: `slimlang
# check` and the train/eval/export commands (before importing TensorFlow) run
# these, and the engine's openers run them first too, so a mistyped path costs
# the same one message everywhere.

_DATA_WHAT = {"npz": "npz file", "csv": "CSV file", "folder": "image folder", "tfrecord": "TFRecord files"}


def _data_missing(spec: DataSpec, what: str) -> SlimError:
    p = pathlib.Path(spec.path)
    notes = []
    parent = p.parent
    if parent.is_dir():
        try:
            near = did_you_mean(p.name, os.listdir(parent))
        except OSError:
            near = ""
        notes.append(near.replace("help: did you mean", "help: did you mean the file"))
    else:
        notes.append(f"note: folder {parent} does not exist either")
    notes.append("note: data paths are relative to the .slim file's folder")
    return SlimError.single("E320", f"{what} {spec.path} not found", spec.path_span, notes)


def _file_kind(st_mode: int) -> str:
    import stat

    if stat.S_ISDIR(st_mode):
        return "a folder"
    if stat.S_ISCHR(st_mode):
        return "a character device"
    if stat.S_ISBLK(st_mode):
        return "a block device"
    if stat.S_ISFIFO(st_mode):
        return "a named pipe"
    if stat.S_ISSOCK(st_mode):
        return "a socket"
    return "a special file"


def _regular_file(spec: DataSpec, what: str) -> pathlib.Path:
    """The data file of `spec`, or E320 saying what it is instead."""
    import stat

    p = pathlib.Path(spec.path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise _data_missing(spec, what) from None
    except OSError as e:
        raise SlimError.single("E320", f"cannot read {what} {p}: {e.strerror or e}", spec.path_span) from None
    if stat.S_ISREG(st.st_mode):
        return p
    notes = []
    if stat.S_ISDIR(st.st_mode):
        ext = ".npz" if spec.kind == "npz" else ".csv"
        try:
            inside = sorted(f.name for f in p.iterdir() if f.suffix.lower() == ext and f.is_file())
        except OSError:
            inside = []
        if inside:
            notes.append(f"help: did you mean {p / inside[0]}?" if len(inside) == 1 else
                         f"note: {ext} files there: " + ", ".join(inside[:8]))
        if spec.kind in ("npz", "csv"):
            notes.append("help: for a folder of images use `data folder`, for TFRecord shards `data tfrecord`")
    raise SlimError.single("E320", f"{what} {p} is {_file_kind(st.st_mode)}, not a regular file", spec.path_span,
                           notes)


def npz_array_names(spec: DataSpec) -> list:
    """The array names of the npz file of `spec`, read from the zip directory
    (nothing is decompressed); E320 when the file is not an npz archive."""
    import zipfile

    p = _regular_file(spec, "npz file")
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise SlimError.single("E320", f"cannot read npz file {p}: {e.strerror or e}", spec.path_span) from None
    if magic == b"\x93NUMPY":
        raise SlimError.single("E320", f"{p} is a .npy file (one array), not an .npz archive of named arrays",
                               spec.path_span, ["help: save them with np.savez(path, images=..., labels=...)"])
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        what = "is empty (0 bytes)" if p.stat().st_size == 0 else (
            "is not a zip archive" if not magic.startswith(b"PK") else "is a damaged or cut-off zip archive")
        raise SlimError.single("E320", f"{p} is not an npz file: it {what}", spec.path_span,
                               ["note: an .npz is the zip archive np.savez / np.savez_compressed write",
                                "help: write it again with np.savez(path, images=..., labels=...)"]) from None
    return [n.removesuffix(".npy") for n in names]


def csv_header(spec: DataSpec) -> list:
    """The column names of a CSV data file from its first non-empty line
    (`0`, `1`, ... without `header`); the rest of the file is not read."""
    import csv

    p = pathlib.Path(spec.path)
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark
        with open(p, newline="", encoding="utf-8-sig") as f:
            first = next((r for r in csv.reader(f, delimiter=spec.options["delimiter"]) if any(c.strip() for c in r)),
                         [])
    except (UnicodeDecodeError, OSError, csv.Error) as e:
        raise csv_read_error(spec, e) from None
    return [c.strip() for c in first] if spec.options["header"] else [str(i) for i in range(len(first))]


def csv_read_error(spec: DataSpec, e: Exception) -> SlimError:
    p = spec.path
    if isinstance(e, UnicodeDecodeError):
        return SlimError.single("E320", f"{p} is not UTF-8 text: byte {e.start} is {e.object[e.start:e.start + 1]!r}",
                                spec.path_span, ["help: save the CSV as UTF-8 (numbers and a header line)"])
    return SlimError.single("E320", f"cannot read {p}: {e}", spec.path_span)


def csv_columns(spec: DataSpec, header: list) -> tuple[list, list]:
    """(label column indices, feature column indices) of a CSV data line;
    E321 for a column that is not there."""
    o = spec.options
    name = pathlib.Path(spec.path).name

    def index(c, key):
        if isinstance(c, int):
            if not 0 <= c < len(header):
                raise SlimError.single("E321", f"column {c} out of range: {name} has {len(header)} columns",
                                       spec.opt_span(key))
            return c
        if c not in header:
            raise SlimError.single("E321", f"no column {c!r} in {name}", spec.opt_span(key), [n for n in (
                did_you_mean(c, header),
                "note: columns: " + ", ".join(header[:20]) + (" ..." if len(header) > 20 else "")) if n])
        return header.index(c)

    labels = [index(c, "labels") for c in o["labels"]]
    if o["features"] is not None:
        feats = [index(c, "features") for c in o["features"]]
    else:
        feats = [i for i in range(len(header)) if i not in labels]
    return labels, feats


def check_data_path(spec: DataSpec | None) -> None:
    """Check a data line's path without TensorFlow: the file, folder or glob
    exists and is of the right type; for npz, that it is an npz archive
    holding the named arrays; for CSV, that its first line names the columns
    asked for.  Raises SlimError (E320, E321)."""
    if spec is None:
        return
    what = _DATA_WHAT[spec.kind]
    if "\0" in spec.path:
        raise SlimError.single("E320", f"{what} path {spec.path!r} holds a NUL character, which no file name can",
                               spec.path_span, ["help: remove the \\0 from the path"])
    if spec.kind == "npz":
        names = npz_array_names(spec)
        o = spec.options
        for key, wanted in (("images", [o["images"]]), ("labels", list(o["labels"]))):
            for name in wanted:
                if not isinstance(name, str) or name not in names:
                    raise SlimError.single("E321", f"no array {name!r} in {pathlib.Path(spec.path).name}",
                                           spec.opt_span(key), [n for n in (
                                               did_you_mean(str(name), names),
                                               "note: arrays there: " + ", ".join(names)) if n])
    elif spec.kind == "csv":
        _regular_file(spec, what)
        header = csv_header(spec)
        if header:
            csv_columns(spec, header)
    elif spec.kind == "folder":
        p = pathlib.Path(spec.path)
        if p.is_dir():
            return
        if not p.exists():
            raise _data_missing(spec, what)
        notes = ["help: `data folder` takes a folder with one sub-folder of images per class"]
        if p.suffix.lower() in (".npz", ".csv", ".tfrecord"):
            notes.append(f"help: for this file use `data {p.suffix.lower()[1:]}`")
        raise SlimError.single("E320", f"image folder {p} is a file, not a folder", spec.path_span, notes)
    else:  # tfrecord: a file, a glob or a folder of shards
        import glob as globlib

        pattern = spec.path
        if any(ch in pattern for ch in "*?["):
            if not globlib.glob(pattern):
                raise _data_missing(spec, what)
            return
        p = pathlib.Path(pattern)
        if p.is_dir():
            return
        _regular_file(spec, what)


def input_shape_after(spec: DataSpec, raw: tuple) -> tuple:
    """The per-example shape the model sees: `raw` after `resize` and `crop`."""
    o = spec.options
    shape = list(raw)
    if o.get("resize") and len(shape) == 3:
        shape[0], shape[1] = o["resize"]
    if o.get("crop") and len(shape) == 3:
        shape[0], shape[1] = o["crop"]
    return tuple(shape)


def _dims(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def declared_input_error(spec: DataSpec, got: tuple, declared, declared_span, model_name: str | None,
                         encoded: bool = False) -> SlimError | None:
    """E329 when examples of shape `got` (what the model sees, after resize
    and crop) do not fit the input shape a model declares (None: any)."""
    if declared is None:
        return None
    declared = tuple(declared)
    if len(got) == len(declared) and all(d is None or g is None or d == g for g, d in zip(got, declared)):
        return None
    o = spec.options
    name = pathlib.Path(spec.path).name
    src = {"npz": f"images {o.get('images')!r} in {name}", "csv": f"rows of {name}",
           "folder": f"images of {spec.path}", "tfrecord": f"images {o.get('images')!r} of the records"}
    notes = []
    if o.get("resize") or o.get("crop"):
        steps = " and ".join(f"{k}={list(o[k])}" for k in ("resize", "crop") if o.get(k))
        notes.append(f"note: that is after {steps}")
    if len(got) == len(declared) == 3:
        if got[:2] != declared[:2] and None not in declared[:2]:
            notes.append(f"help: resize={list(declared[:2])} on the data line resizes the images to the model's "
                         f"{declared[0]}x{declared[1]}")
        if got[2] != declared[2] and declared[2] is not None:
            if spec.kind in ("folder", "tfrecord") and encoded:
                notes.append(f"help: channels={declared[2]} on the data line decodes the images with "
                             f"{declared[2]} channel{'s' if declared[2] != 1 else ''}")
            else:
                notes.append(f"note: the data have {got[2]} channel{'s' if got[2] != 1 else ''}, the model "
                             f"takes {declared[2]}: convert the arrays, or change the model's input")
    elif len(got) != len(declared) and spec.kind in ("npz", "csv") and None not in declared + got \
            and math.prod(got) == math.prod(declared):
        notes.append(f"help: shape={list(declared)} on the data line reshapes each example"
                     if spec.kind == "csv" else
                     f"help: reshape the array to [N, {', '.join(map(str, declared))}] before saving it")
    who = f"model `{model_name}`" if model_name else "the model"
    if declared_span is not None and declared_span.source:
        notes.insert(0, f"note: {who} declares its input at {declared_span.location()}")
    notes.append(f"help: or declare the model's input as {_dims(got)}")
    return SlimError.single("E329", f"the {src[spec.kind]} are {_dims(got)} per example, but {who} "
                            f"declares its input as {_dims(declared)}", spec.span, notes)


def npz_array_shape(spec: DataSpec, name: str) -> tuple | None:
    """The shape of array `name` of an npz file, from its .npy header (nothing
    else is read); None when it cannot be read cheaply."""
    import zipfile

    import numpy as np

    try:
        with zipfile.ZipFile(spec.path) as z, z.open(name + ".npy") as f:
            version = np.lib.format.read_magic(f)
            shape, _, _ = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                           else np.lib.format.read_array_header_2_0(f))
        return tuple(shape)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def check_data_fits(spec: TrainSpec, prog, model_name: str | None = None) -> None:
    """Without TensorFlow: the data line's path (`check_data_path`) and, for
    npz arrays and CSV rows, their per-example shape against the model's
    declared input."""
    data = spec.data
    check_data_path(data)
    if data is None or data.kind not in ("npz", "csv") or prog is None:
        return
    name = model_name or spec.model.name or (next(iter(prog.models)) if len(prog.models) == 1 else None)
    if name not in getattr(prog, "models", {}):
        return
    declared = prog.input_shape(name)
    if data.kind == "csv":
        header = csv_header(data)
        n = len(csv_columns(data, header)[1])
        shape = (None,) + (tuple(data.options["shape"]) if data.options["shape"] else (n,))
        if not header or n == 0 or (data.options["shape"] and math.prod(data.options["shape"]) != n):
            return  # reported when the data are opened
    else:
        shape = npz_array_shape(data, data.options["images"])
    if not declared or shape is None or len(shape) < 2:
        return
    node = prog.models[name]
    err = declared_input_error(data, input_shape_after(data, tuple(shape[1:])), declared,
                               node.params[0].span if node.params else None, name)
    if err is not None:
        raise err


def check_data_paths(prog) -> list:
    """Diagnostics for the data lines of a checked program's train sections."""
    out = []
    for spec in getattr(prog, "train_specs", None) or []:
        try:
            check_data_fits(spec, prog)
        except SlimError as e:
            out.extend(e.diagnostics)
    return out


# ------------------------------------------------------------ from the AST ---


def check_program_trains(prog, collector: Collector) -> None:
    """The checker's hook: evaluate every train section of `prog` and check it.

    Setting arguments are expressions; top-level constants (`let`) and
    arithmetic work as anywhere else.  A bare name that is not a constant is
    the name itself (`optimizer adam`, `loss softmax_cross_entropy`,
    `on=logits`), also inside lists.  `model NAME(param=value)` is accepted as
    well as `model NAME param=value`.  Sets `prog.train_specs`.
    """
    from . import ast as A
    from .evaluate import Defaults, Evaluator, Frame, ModelRun

    ev = Evaluator(prog, None)

    def frame():
        return Frame(dict(prog.globals), None, Defaults(), frozenset(), ModelRun({}))

    def bare(node):
        """`logits`, `heads/digit`: bare names (and paths of them) are strings."""
        if isinstance(node, A.Name) and node.id not in prog.globals:
            return node.id
        if isinstance(node, A.BinOp) and node.op == "/":
            left, right = bare(node.left), bare(node.right)
            if left is not None and right is not None:
                return f"{left}/{right}"
        return None

    def value(node):
        name = bare(node)
        if name is not None:
            return name
        if isinstance(node, A.ListExpr):
            return [value(i) for i in node.items]
        if isinstance(node, A.TupleExpr):
            return tuple(value(i) for i in node.items)
        try:
            return ev.eval(node, frame())
        except SlimError as e:
            collector.extend(e)
            return INVALID

    models = {}
    for name, node in prog.models.items():
        params = {}
        for p in node.params[1:]:
            params[p.name] = None
            if p.default is not None:
                try:
                    params[p.name] = ev.eval(p.default, frame())
                except SlimError:
                    pass  # reported by the model checks
        models[name] = ModelSig(name, params)

    src = pathlib.Path(prog.source_name)
    base_dir = src.parent if prog.source_name and not prog.source_name.startswith("<") else pathlib.Path(".")
    specs = []
    for t in prog.trains:
        settings = []
        for sn in t.settings:
            arg_nodes = list(sn.args)
            kw_nodes = list(sn.kwargs)
            if sn.name == "model" and arg_nodes and isinstance(arg_nodes[0], A.Call) \
                    and isinstance(arg_nodes[0].func, A.Name):
                call = arg_nodes[0]
                arg_nodes = [call.func] + list(call.args) + arg_nodes[1:]
                kw_nodes = list(call.kwargs) + kw_nodes
            args = tuple(value(a) for a in arg_nodes)
            kwargs, kw_spans = {}, {}
            for kw in kw_nodes:
                if kw.name in kwargs:
                    collector.error("E302", f"option `{kw.name}` given twice", kw.span)
                kwargs[kw.name] = value(kw.value)
                kw_spans[kw.name] = kw.span
            settings.append(Setting(sn.name, args, kwargs, sn.span, sn.name_span,
                                    tuple(a.span for a in arg_nodes), kw_spans))
        spec = check_train_section(t.name, settings, models, base_dir, collector, t.span)
        if spec is not None:
            specs.append(spec)
    prog.train_specs = specs


# ------------------------------------------------------------ Python API ---


def build_spec(settings: Iterable[Setting], models: dict, *, name: str | None = None,
               base_dir: pathlib.Path | str = ".") -> TrainSpec:
    """Check settings made in Python (see `setting`) and return the spec, or raise SlimError.

    `models` maps names to `ModelSig`, or to plain callables whose keyword
    parameters and defaults are read with `inspect`.
    """
    sigs = {k: (v if isinstance(v, ModelSig) else model_sig(k, v)) for k, v in models.items()}
    col = Collector()
    spec = check_train_section(name, list(settings), sigs, pathlib.Path(base_dir), col)
    col.raise_if_any()
    assert spec is not None
    return spec


def model_sig(name: str, fn: Callable) -> ModelSig:
    """A `ModelSig` from a Python model function `fn(inputs, **params)`."""
    import inspect

    params = list(inspect.signature(fn).parameters.values())[1:]
    return ModelSig(name, {p.name: (None if p.default is inspect.Parameter.empty else p.default)
                           for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)})


def with_overrides(spec: TrainSpec, **overrides) -> TrainSpec:
    """The spec with command-line values replacing the file's (None = keep).

    Accepts any TrainSpec field plus `model` as a name; giving `steps` clears
    `epochs` and the other way round.
    """
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "model" in changes and isinstance(changes["model"], str):
        m = changes["model"]
        params = spec.model.params if spec.model.name == m else {}
        changes["model"] = ModelRef(m, params, spec.model.span)
    if "steps" in changes:
        changes.setdefault("epochs", None)
        changes["epochs"] = None
    elif "epochs" in changes:
        changes["steps"] = None
    for key in ("batch_size", "steps", "epochs"):
        v = changes.get(key)
        if v is not None and (not isinstance(v, int) or v <= 0):
            raise SlimError.single("E305", f"--{key.replace('_', '-')} must be an integer > 0, got {v}")
    return dataclasses.replace(spec, **changes)


# ------------------------------------------------------------ docs ---


def _default_text(a: Arg) -> str:
    if a.required:
        return "required"
    v = a.default
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, tuple):
        return "[" + ", ".join(f'"{x}"' if isinstance(x, str) else str(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _args_table(args: Iterable[Arg]) -> list[str]:
    rows = ["| option | type | default | meaning |", "|---|---|---|---|"]
    for a in args:
        rows.append(f"| `{a.name}` | {a.type.doc} | {_default_text(a)} | {a.doc} |")
    return rows


def reference_markdown() -> str:
    """The settings reference of docs/training.md, generated from the table."""
    out = ["<!-- generated from slimlang/trainspec.py TRAIN_SETTINGS; "
           "regenerate with `python -m slimlang.trainspec` -->", ""]
    out += ["| setting | usage | meaning |", "|---|---|---|"]
    for d in TRAIN_SETTINGS.values():
        usage = d.usage.replace("|", "\\|")
        out.append(f"| `{d.name}` | `{usage}` | {d.doc}{' (repeatable)' if d.repeatable else ''} |")
    for d in TRAIN_SETTINGS.values():
        if d.kinds is None and not d.keywords:
            continue
        out += ["", f"### `{d.name}`", "", d.doc + ".", ""]
        if d.keywords:
            title = "Options of every kind" if d.kinds else "Options"
            out += [f"{title}:", ""] + _args_table(d.keywords) + [""]
        if d.kinds:
            for k in d.kinds.values():
                alias = f" (also {', '.join(f'`{a}`' for a in k.aliases)})" if k.aliases else ""
                out += [f"#### `{d.name} {k.name}`{alias}", "", k.doc + ".", ""]
                if k.args:
                    out += _args_table(k.args) + [""]
    out += ["", "### Error codes", "", "| code | meaning |", "|---|---|"]
    out += [f"| {c} | {m} |" for c, m in ERROR_CODES.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover - docs helper
    print(reference_markdown(), end="")
