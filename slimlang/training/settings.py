"""Train stage, the table of settings: every line a train section may hold.

Each `SettingDef` gives a setting's arguments (types, defaults, docs) and,
for `data`, `loss`, `optimizer` and `schedule`, its kinds, from the family
tables of `slimlang.training.kinds`.  The checker (`check.py`) and the docs
(`reference.py`) read this table; nothing else says what a setting takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .argtypes import (
    BOOL,
    FRACTION,
    HISTOGRAMS,
    INT,
    METRIC,
    MODE,
    NONNEG_FLOAT,
    PATH,
    POS_FLOAT,
    POS_INT,
    RENAME,
    STR,
    STR_LIST,
    optional,
)
from .kinds import data, losses, optimizers, schedules
from .kinds.base import REQUIRED, Arg


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


TRAIN_SETTINGS: dict[str, SettingDef] = {d.name: d for d in (
    SettingDef("model", "which model of the file to train and its parameter values, or values of the "
               "defaults block it `uses` (weight_decay=...) (`is_training` is set by the trainer)",
               usage="model NAME [param=value ...]"),
    SettingDef("data", "where the examples come from, how they are split and augmented",
               positional=(Arg("path", PATH, REQUIRED, "file, glob or folder; relative to the .slim file"),),
               keywords=data.COMMON, kinds=data.DATA_KINDS, usage='data KIND "PATH" [option=value ...]'),
    SettingDef("batch_size", "examples per step", positional=(Arg("n", POS_INT, REQUIRED),), usage="batch_size N"),
    SettingDef("steps", "number of training steps (global_step to reach); `none` (or neither `steps` nor `epochs`): "
               "until Ctrl-C or SIGTERM", positional=(Arg("n", optional(POS_INT), REQUIRED),), usage="steps N|none"),
    SettingDef("epochs", "train for this many passes over the training split instead of `steps`",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="epochs N"),
    SettingDef("loss", "a loss on an output of the model; several losses are summed with their weights",
               keywords=losses.COMMON, kinds=losses.LOSS_KINDS, repeatable=True,
               usage="loss KIND [on=END_POINT] [labels=FIELD] [weight=W] [option=value ...]"),
    SettingDef("regularization", "add the model's regularization losses to the total loss",
               positional=(Arg("on", BOOL, True),), usage="regularization true|false"),
    SettingDef("optimizer", "how the gradients update the variables",
               kinds=optimizers.OPTIMIZERS, usage="optimizer KIND [lr=RATE] [option=value ...]"),
    SettingDef("schedule", "learning-rate schedule over global_step",
               keywords=schedules.COMMON, kinds=schedules.SCHEDULES, usage="schedule KIND [option=value ...]"),
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
    SettingDef("clones", "copies of the model trained together on this machine's devices (GPUs, else the CPU), "
               "as model_deploy's num_clones: batch_size is per clone (docs/distributed.md)",
               positional=(Arg("n", POS_INT, REQUIRED),), usage="clones N"),
    SettingDef("validate", "evaluate the held-out split every N steps while training: metrics in the progress "
               "line, in TensorBoard (eval/...) and for keep_best, early_stop and the plateau schedule",
               keywords=(Arg("every", POS_INT, REQUIRED, "steps between validations (and one at the end)"),
                         Arg("batches", optional(POS_INT), None, "batches per validation (default: the whole "
                             "held-out split)")),
               usage="validate every=N [batches=N]"),
    SettingDef("keep_best", "keep the checkpoint of the best validation in logdir/best/, apart from the rolling ones "
               "(`eval`/`export --best` use it)",
               keywords=(Arg("on", METRIC, REQUIRED, "the validation metric, as `slimlang eval` names it"),
                         Arg("mode", MODE, None, "min or max (default: min for losses and errors, else max)")),
               usage="keep_best on=METRIC [mode=min|max]"),
    SettingDef("early_stop", "stop training when the validation metric has not improved for `patience` validations",
               keywords=(Arg("on", METRIC, REQUIRED, "the validation metric, as `slimlang eval` names it"),
                         Arg("patience", POS_INT, REQUIRED, "validations without improvement before stopping"),
                         Arg("min_delta", NONNEG_FLOAT, 0.0, "smallest change that counts as an improvement"),
                         Arg("mode", MODE, None, "min or max (default: min for losses and errors, else max)")),
               usage="early_stop on=METRIC patience=K [min_delta=D] [mode=min|max]"),
    SettingDef("moving_average", "train exponential moving averages of the model variables (train_image_classifier's "
               "--moving_average_decay); eval, export and init_from use them unless told otherwise",
               keywords=(Arg("decay", FRACTION, REQUIRED, "decay per step, e.g. 0.9999"),),
               usage="moving_average decay=D"),
    SettingDef("summaries", "extra TensorBoard summaries, as train_image_classifier writes them",
               keywords=(Arg("histograms", HISTOGRAMS, (), "histograms of `activations` (end points) and/or "
                             "`variables`"),
                         Arg("sparsity", BOOL, False, "the fraction of zeros of each end point")),
               usage="summaries [histograms=[activations, variables]] [sparsity=true]"),
)}

#: Codes of the errors of train sections and of the engine that runs them.
