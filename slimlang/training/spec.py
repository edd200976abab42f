"""Train stage, records: what a checked train section says (`TrainSpec` and its parts).

Frozen dataclasses, pure Python: the checker builds them (`check.py`), the
engine (`loop.py`, `data.py`, ...) and the training-program emitter read them.
`None` in a field means "not given".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..diagnostics import NO_SPAN, Span

# ------------------------------------------------------------ settings as given ---


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
    # Parameters of the defaults block the model `uses` (weight_decay, ...), settable on the `model` line.
    defaults_params: dict = field(default_factory=dict)


def setting(name: str, /, *args, **kwargs) -> Setting:
    """A setting made in Python (no source text), for `build_spec`:
    `setting("loss", "huber", delta=2.0)` is the line `loss huber delta=2.0`."""
    return Setting(name, tuple(args), dict(kwargs))


# ------------------------------------------------------------ the checked spec ---


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
    labels_offset: int = 0  # subtracted from class-index labels


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
class WatchSpec:
    """A validation metric watched by `keep_best`, `early_stop` or a plateau schedule."""

    metric: str  # a name `slimlang eval` prints: accuracy, loss, loss/NAME, HEAD/accuracy, ...
    mode: str  # "min" or "max"
    patience: int = 0  # validations without improvement before acting (early_stop, plateau)
    min_delta: float = 0.0  # what counts as an improvement
    span: Span = NO_SPAN


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
    clones: int = 1
    # During training (docs/training.md, "During training"): validation every N steps,
    # the best checkpoint, early stopping, moving averages of the weights, summaries.
    validate_every: int | None = None
    validate_batches: int | None = None  # None: the whole held-out split
    keep_best: WatchSpec | None = None
    early_stop: WatchSpec | None = None
    moving_average_decay: float | None = None
    histograms: tuple = ()  # of "activations", "variables"
    sparsity: bool = False
    until_stopped: bool = False  # `steps none`, or neither steps nor epochs: until Ctrl-C/SIGTERM
    base_dir: str = "."
    span: Span = NO_SPAN
    spans: dict = field(default_factory=dict)  # setting name -> span of its line

    def span_of(self, setting_name: str) -> Span:
        return self.spans.get(setting_name, self.span)


# ------------------------------------------------------------ checkpoints ---

# When a train section sets neither save_interval_secs nor save_interval_steps:
# a checkpoint every DEFAULT_SAVE_SECS and every max(DEFAULT_SAVE_STEPS,
# steps/10) steps, whichever comes first, so a kill loses at most a minute or
# a tenth of a run (TF-Slim's 600 s lost all of a run shorter than that).
DEFAULT_SAVE_SECS = 60.0
DEFAULT_SAVE_STEPS = 100


def save_policy(spec, total: int | None) -> tuple[float | None, int | None]:
    """(seconds, steps) between checkpoints for a run of `total` steps (`slimlang train` and the
    emitted training program alike; a run of unknown length gets the default steps)."""
    if not saves_by_default(spec):
        return spec.save_interval_secs, spec.save_interval_steps
    return DEFAULT_SAVE_SECS, max(DEFAULT_SAVE_STEPS, (total or 0) // 10)


def saves_by_default(spec) -> bool:
    """Whether the section leaves checkpointing to `save_policy`'s defaults."""
    given = "save_interval_secs" in spec.spans or "save_interval_steps" in spec.spans
    return not given and (spec.save_interval_secs, spec.save_interval_steps) == (600, None)
