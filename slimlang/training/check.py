"""Train stage, checking: the settings of a train section -> a `TrainSpec`.

`check_train_section` binds every setting to its definition in the table
(`settings.TRAIN_SETTINGS`), converts its values (`argtypes`), reports
every mistake of the section into a `Collector` (codes E302-E312, with
did-you-mean for misspelt names) and returns the checked spec.
`build_spec` does the same for settings made in Python.

Paths: `data` paths are inputs that travel with the .slim file, so a relative
path is resolved against the .slim file's folder.  `logdir` and `init_from`
name run outputs (a checkpoint is usually another run's logdir), so they are
resolved against the current working directory, like every CLI tool's paths.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable, Iterable

from ..diagnostics import NO_SPAN, Collector, SlimError, Span, did_you_mean
from .argtypes import BadValue, is_num, show
from .kinds import losses as loss_kinds
from .kinds import optimizers
from .kinds.base import Arg, Kind
from .kinds.preprocessing import conflicts as preprocessing_conflicts
from .registry import registered_losses
from .settings import TRAIN_SETTINGS, SettingDef
from .spec import (
    DataSpec,
    InitSpec,
    LossSpec,
    ModelRef,
    ModelSig,
    OptimizerSpec,
    ScheduleSpec,
    Setting,
    TrainSpec,
    WatchSpec,
)
from .watch import infer_mode, metric_names

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
    # Keras callbacks and train_image_classifier flags of "during training"
    "early_stopping": "early_stop", "earlystopping": "early_stop", "moving_average_decay": "moving_average",
    "validation_freq": "validate", "eval_every": "validate", "validate_every": "validate",
    "model_checkpoint": "keep_best", "save_best_only": "keep_best", "best_checkpoint": "keep_best",
    "monitor": "on", "reduce_lr_on_plateau": "plateau", "reducelronplateau": "plateau",
    "num_epochs_per_decay": "decay_epochs", "max_steps": "steps", "ftrl_l1": "l1", "ftrl_l2": "l2",
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
    except BadValue as e:
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
                candidates += list(loss_kinds.ALIASES) + list(registered_losses())
            if isinstance(kind_name, str):
                col.error("E306", f"unknown {s.name} kind `{kind_name}`", kind_span,
                          _note(_suggest(kind_name, candidates),
                                f"note: {s.name} kinds are " + ", ".join(sorted(set(candidates))),
                                "help: a loss written in Python is registered by a plugin: "
                                "`slimlang train FILE --plugin my_losses.py` (docs/training.md, Plugins)"
                                if s.name == "loss" else ""))
            else:
                col.error("E305", f"`{s.name}` kind must be a name, got {show(kind_name)}", kind_span)
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
                col.error("E309", f"`{' '.join([s.name] + ([out['kind']] if 'kind' in out else []))}` needs "
                          f"`{a.name}=`",
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
        if kind_name in loss_kinds.ALIASES:
            return kinds[loss_kinds.ALIASES[kind_name]]
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
        col.error("E305", f"`model` needs a model name, got {show(name)}", s.arg_span(0))
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
        if key not in sig.params and key in sig.defaults_params:
            # A parameter of the defaults block the model uses (weight_decay): model.call_model passes it there.
            if sig.defaults_params[key] is not None and is_num(sig.defaults_params[key]) and not is_num(v):
                col.error("E308", f"defaults parameter `{key}` is a number, got {show(v)}", span)
                ok = False
                continue
            out[key] = v
            continue
        if key not in sig.params:
            extra = list(sig.defaults_params)
            col.error("E308", f"model `{name}` has no parameter `{key}`", span,
                      _note(did_you_mean(key, names + extra), "note: its parameters are " + ", ".join(names)
                            if names else f"note: `{name}` takes no parameters",
                            "note: parameters of the defaults it uses: " + ", ".join(extra) if extra else ""))
            ok = False
            continue
        if key == "is_training":
            col.error("E308", "`is_training` is set by the trainer: true while training, false in eval and export",
                      span, _note("help: remove it"))
            ok = False
            continue
        default = sig.params[key]
        if isinstance(default, bool) and not isinstance(v, bool):
            col.error("E308", f"model parameter `{key}` is true/false, got {show(v)}", span)
            ok = False
            continue
        if is_num(default) and not is_num(v):
            col.error("E308", f"model parameter `{key}` is a number, got {show(v)}", span)
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
            col.error("E312", f"unknown train setting `{s.name}`", s.name_span if s.name_span.source else s.span,
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
        custom = b["kind"] not in loss_kinds.LOSS_KINDS
        opts = {k: v for k, v in b.items()
                if k not in ("kind", "on", "labels", "weight", "name", "labels_offset", "_extras")}
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
        if b["labels_offset"] and (custom or loss_kinds.LOSS_KINDS[b["kind"]].task == "regression"):
            col.error("E310", f"labels_offset applies to class labels, and `{b['kind']}` "
                      f"{'is a custom loss' if custom else 'is a regression loss'}", s.kwarg_span("labels_offset"))
        losses.append(LossSpec(b["kind"], lname, b["on"], b["labels"], b["weight"], opts, custom,
                               s.span, s.kwarg_span("on"), s.kwarg_span("labels"), b["labels_offset"]))

    # -- optimizer and schedule
    if "optimizer" in bound:
        s, b = bound["optimizer"]
        opts = {k: v for k, v in b.items() if k not in ("kind", "lr", "_extras")}
        optimizer = OptimizerSpec(b["kind"], b["lr"], opts, s.span)
    else:
        kind, lr, options = optimizers.DEFAULT
        optimizer = OptimizerSpec(kind, lr, dict(options), span)
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

    validate_every = validate_batches = None
    if "validate" in bound:
        s, b = bound["validate"]
        validate_every, validate_batches = b["every"], b["batches"]
        if data is not None and not data.options.get("validation"):
            col.error("E310", "`validate` needs a held-out split, and the data line holds nothing out", s.span,
                      _note(f"note: data at {data.span.location()}" if data.span.source else "",
                            "help: add e.g. validation=0.2 to the data line"))
    names = metric_names(losses) if len(losses) == len(losses_raw) else None

    def watch(key: str, s: Setting, b: dict, patience: int = 0, min_delta: float = 0.0) -> WatchSpec | None:
        metric = b["on"]
        if names is not None and metric not in names:
            col.error("E313", f"`{key}` watches `{metric}`, which validation does not report", s.kwarg_span("on"),
                      _note(did_you_mean(metric, names), "note: validation reports " + ", ".join(names)))
            return None
        if validate_every is None and "validate" not in seen:
            col.error("E309", f"`{key}` needs validation while training: add `validate every=N`", s.span)
            return None
        return WatchSpec(metric, b["mode"] or infer_mode(metric), patience, min_delta, s.kwarg_span("on"))

    keep_best = early_stop = None
    if "keep_best" in bound:
        s, b = bound["keep_best"]
        keep_best = watch("keep_best", s, b)
    if "early_stop" in bound:
        s, b = bound["early_stop"]
        early_stop = watch("early_stop", s, b, b["patience"], b["min_delta"])
    if "schedule" in bound and schedule.kind == "plateau":
        s, b = bound["schedule"]
        w = watch("schedule plateau", s, b, b["patience"], b["min_delta"])
        if w is not None:
            schedule = dataclasses.replace(schedule, options={**schedule.options, "mode": w.mode})
        if b["factor"] >= 1:
            col.error("E305", f"`factor` must be below 1, got {b['factor']:g}", s.kwarg_span("factor"))
    if "schedule" in bound:
        s, b = bound["schedule"]
        if "decay_epochs" in b:
            given = [k for k in ("decay_steps", "decay_epochs") if b.get(k) is not None]
            if len(given) == 2:
                col.error("E310", "give `decay_steps` or `decay_epochs`, not both", s.kwarg_span("decay_epochs"))
            elif not given and b["kind"] == "exponential":
                col.error("E309", "`schedule exponential` needs `decay_steps=` or `decay_epochs=`", s.span)
    moving_average = bound["moving_average"][1]["decay"] if "moving_average" in bound else None
    histograms, sparsity = (), False
    if "summaries" in bound:
        histograms, sparsity = bound["summaries"][1]["histograms"], bound["summaries"][1]["sparsity"]
    until_stopped = steps is None and epochs is None
    if until_stopped and schedule.kind in ("cosine", "polynomial") and not schedule.options.get("decay_steps") \
            and not schedule.options.get("decay_epochs"):
        col.error("E310", f"`schedule {schedule.kind}` decays over the run, and the run has no length "
                  "(no `steps` or `epochs`)", bound["schedule"][0].span if "schedule" in bound else span,
                  _note("help: give the schedule decay_steps=N, or the section `steps N`"))

    if data is not None and data.options.get("crop") and data.options.get("resize"):
        (ch, cw), (rh, rw) = data.options["crop"], data.options["resize"]
        if ch > rh or cw > rw:
            col.error("E310", f"crop {[ch, cw]} is larger than resize {[rh, rw]}", data.opt_span("crop"))
    if data is not None:
        for code, message, key in preprocessing_conflicts(data.options):
            col.error(code, message, data.opt_span(key))

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
        trainable=trainable, seed=one("seed"), clones=one("clones", 1), validate_every=validate_every, validate_batches=validate_batches,
        keep_best=keep_best, early_stop=early_stop, moving_average_decay=moving_average, histograms=histograms,
        sparsity=sparsity, until_stopped=until_stopped, base_dir=str(base_dir), span=span, spans=spans,
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




# ------------------------------------------------------------ settings made in Python ---


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
    if "steps" in changes or "epochs" in changes:
        changes["until_stopped"] = False
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
