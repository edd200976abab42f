"""The train-stage sub-commands: `slimlang train`, `eval`, `export`.

Each loads the .slim file with `slimlang.load` (parse + check, no TensorFlow),
picks a train section and a model, applies the command-line overrides and
hands them to the engine.  Registered into the CLI by `add_arguments`.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..cli import model_arguments, positive_int
from ..diagnostics import SlimError, UsageError, did_you_mean


def add_arguments(sub) -> None:
    def common(p, logdir_help):
        p.add_argument("file", metavar="FILE", help="the .slim file")
        p.add_argument("-s", "--section", metavar="NAME", help="which train section (default: the only one)")
        p.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                       help="run this Python file first: it registers losses and metrics (repeatable)")
        model_arguments(p, model_help="which model (default: the train section's, or the only one)",
                        input_shape=False)
        p.add_argument("--logdir", metavar="DIR", help=logdir_help)

    p = sub.add_parser(
        "train", help="train a model as the file's train section says",
        description="Train a model of FILE as its train section says. Flags override the file. Resumes from the "
                    "latest checkpoint in the logdir; Ctrl-C saves a checkpoint first.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p, "checkpoints and summaries (default: the section's logdir, else runs/FILE[-SECTION])")
    p.add_argument("--steps", type=positive_int, metavar="N", help="train until global_step N")
    p.add_argument("--epochs", type=positive_int, metavar="N", help="train N passes over the training split")
    p.add_argument("--batch-size", type=positive_int, metavar="N")
    p.add_argument("--init-from", metavar="CKPT", help="start from this checkpoint (as `init_from`)")
    p.add_argument("--plan", action="store_true",
                   help="print what each variable is restored from, then stop (no training)")
    p.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    p.add_argument("--tf-gradients", action="store_true",
                   help="TensorFlow's own convolution gradients instead of slimlang's faster formulations "
                        "(docs/training.md, \"Gradients\")")
    from .cluster import add_eval_arguments, add_train_arguments

    add_train_arguments(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint on the held-out data",
                       description="Run the whole held-out split (the data line's validation=) through the newest "
                                   "checkpoint and print one `name: value` line per metric.")
    common(p, "evaluate the newest checkpoint here (default: as for train)")
    p.add_argument("--checkpoint", metavar="PATH", help="evaluate this checkpoint instead")
    which_weights(p)
    p.add_argument("--batch-size", type=positive_int, metavar="N")
    add_eval_arguments(p)
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("export", help="write a SavedModel (or a frozen graph, or a TFLite model) for serving",
                       description="Write a SavedModel with a serving_default signature (input `images`), or "
                                   "with --format a frozen GraphDef or a TFLite model (input node `images`, "
                                   "output nodes outputs/NAME).")
    common(p, "export the newest checkpoint here (default: as for train)")
    p.add_argument("--checkpoint", metavar="PATH", help="export this checkpoint instead")
    which_weights(p)
    p.add_argument("--out", required=True, metavar="PATH",
                   help="the SavedModel folder to write (the .pb or .tflite file with --format frozen|tflite)")
    p.add_argument("--format", choices=("savedmodel", "frozen", "tflite"), default="savedmodel",
                   help="savedmodel (default), frozen (a GraphDef with the weights as constants) or tflite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a previous export at PATH (swapped in once the new one loads; "
                        "never a logdir, a checkpoint or a folder or file of anything else)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("predict", help="print the top classes of images, .npz or .csv inputs",
                       description="Run inputs (image files, .npz, .csv) through the newest checkpoint with the "
                                   "data line's deterministic preprocessing and print the top classes of each, "
                                   "with their names (labels.txt) and probabilities; one line per input.")
    common(p, "predict with the newest checkpoint here (default: as for train)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, .npz or .csv files")
    p.add_argument("--checkpoint", metavar="PATH", help="predict with this checkpoint instead")
    which_weights(p)
    p.add_argument("--top", type=positive_int, default=5, metavar="K", help="classes shown per input (default 5)")
    p.add_argument("-o", "--out", metavar="FILE.csv", help="write a CSV (one row per input) instead of printing")
    p.set_defaults(handler=cmd_predict)


def which_weights(p) -> None:
    """--best and --raw-weights, for eval, export and predict."""
    p.add_argument("--best", action="store_true",
                   help="use the best checkpoint keep_best kept (LOGDIR/best/) instead of the newest")
    p.add_argument("--raw-weights", action="store_true",
                   help="use the trained weights, not their moving averages (when the checkpoint holds them)")


def _weights(args) -> dict:
    if args.best and args.checkpoint:
        raise UsageError("give --best or --checkpoint, not both")
    return {"best": args.best, "raw_weights": args.raw_weights}


def resolve(args):
    """(spec, model_fn, model_name, logdir) for a command's FILE/--section/--model/--set/--logdir."""
    import slimlang

    from ..trainspec import check_data_fits, with_overrides

    if getattr(args, "best", False) and args.checkpoint:
        _weights(args)  # bad command-line use: said before any file is read
    if getattr(args, "timeout", None) is not None and not args.watch:
        raise UsageError("--timeout goes with --watch (how long to wait for a new checkpoint); "
                         "without --watch, eval evaluates one checkpoint and does not wait")
    for flag in ("logdir", "checkpoint", "init_from"):
        value = getattr(args, flag, None)
        if value is not None and not value.strip():
            # An empty path would silently mean the default logdir, or the current folder.
            raise UsageError(f"--{flag.replace('_', '-')} needs a path, got an empty one")
    for plugin in getattr(args, "plugin", None) or []:
        slimlang.load_plugin(plugin)  # before the check: its losses are names train sections use
    module = slimlang.load(args.file)
    specs = list(getattr(module, "train_specs", []) or [])
    broken = dict(getattr(module, "train_errors", {}) or {})  # sections using losses nobody registered
    if not specs and not broken:
        raise UsageError(f"{args.file} has no train section; add `train {{ ... }}` (see docs/training.md)")
    names = [s.name for s in specs] + list(broken)
    if args.section in broken or (args.section is None and not specs and len(broken) == 1):
        raise broken[args.section if args.section in broken else next(iter(broken))]
    if args.section is not None:
        chosen = [s for s in specs if s.name == args.section]
        if not chosen:
            hint = did_you_mean(args.section, [n for n in names if n])
            raise UsageError(f"{args.file} has no train section {args.section!r}"
                             + (f" ({hint})" if hint else "")
                             + "; sections: " + ", ".join(n or "(unnamed)" for n in names))
        spec = chosen[0]
    elif len(specs) == 1 and not broken:
        spec = specs[0]
    else:
        raise UsageError(f"{args.file} has {len(names)} train sections; pick one with --section: "
                         + ", ".join(n or "(unnamed)" for n in names))
    models = module.models
    model_name = args.model or spec.model.name
    if model_name is None:
        if len(models) == 1:
            model_name = next(iter(models))
        else:
            raise SlimError.single("E307", "the train section does not say which model to train", spec.span,
                                   ["help: add `model NAME` to it, or pass --model; models: " + ", ".join(models)])
    if model_name not in models:
        hint = did_you_mean(model_name, models)
        raise UsageError(f"{args.file} has no model {model_name!r}" + (f" ({hint})" if hint else "")
                         + "; models: " + ", ".join(models))
    overrides = {"model": model_name}
    for key in ("steps", "epochs", "batch_size"):
        if getattr(args, key, None) is not None:
            overrides[key] = getattr(args, key)
    spec = with_overrides(spec, **overrides)
    if getattr(args, "set", None):
        import dataclasses

        from ..commands import check_set_names, parse_sets

        sets = parse_sets(args.set)
        program = getattr(models[model_name], "_program", None)
        if program is not None and model_name in program.models:
            check_set_names(program, model_name, sets)  # a name the model lacks: exit 2, as for summary
        params = dict(spec.model.params)
        params.update(sets)
        spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, params=params))
    if getattr(args, "init_from", None):
        import dataclasses

        from ..trainspec import InitSpec

        init = spec.init_from or InitSpec(args.init_from, (), (), "", "", (), False, spec.span, spec.span)
        spec = dataclasses.replace(spec, init_from=dataclasses.replace(init, path=args.init_from))
    from .checkpoints import default_logdir

    logdir = args.logdir or spec.logdir or default_logdir(args.file, spec.name)
    # What can be found wrong without TensorFlow is reported now, not after its import
    # (seconds): a missing checkpoint (eval, export, predict: the engine's own check, in
    # the order the engine makes it), a mistyped data path, predict's inputs.
    # Both a missing checkpoint and a bad data path are reported when both are wrong.
    found = []
    if args.handler in (cmd_eval, cmd_export, cmd_predict) and not getattr(args, "watch", False):
        from .checkpoints import find_checkpoint

        _weights(args)  # --best with --checkpoint: the usage error comes first, as it always has
        found += _errors_of(find_checkpoint, None if args.checkpoint else logdir, args.checkpoint, spec.span,
                            best=args.best, tf_free=True)
    found += _errors_of(check_data_fits, spec, getattr(models[model_name], "_program", None), model_name)
    if found:
        raise SlimError(found)
    if args.handler is cmd_predict:
        from .datapaths import check_inputs

        check_inputs(args.inputs)
    return spec, models[model_name], model_name, logdir


def _errors_of(check, *args, **kwargs) -> list:
    """The diagnostics of a check that raises SlimError (a UsageError, exit 2, is not one: it passes)."""
    try:
        check(*args, **kwargs)
    except SlimError as e:
        return list(e.diagnostics)
    return []


def cmd_train(args) -> int:
    spec, model_fn, name, logdir = resolve(args)
    if args.tf_gradients:
        from .. import gradients

        # through the environment, so replica processes this command starts make the same choice
        os.environ[gradients.ENV] = "tensorflow"
    from . import cluster
    from .loop import train

    if args.local_cluster:
        return cluster.run_local_cluster(args, spec, logdir)
    progress = False if args.no_progress else None
    result = train(spec, model_fn, logdir=logdir, plan=args.plan, model_name=name, progress=progress,
                   deploy=cluster.deploy_of(args, spec))
    return 130 if result.interrupted else 0


def cmd_eval(args) -> int:
    spec, model_fn, name, logdir = resolve(args)
    if args.watch:
        from .cluster import eval_watch

        return eval_watch(args, spec, model_fn, name, logdir)
    from .evaluation import evaluate

    result = evaluate(spec, model_fn, logdir=None if args.checkpoint else logdir, checkpoint=args.checkpoint,
                      batch_size=args.batch_size, model_name=name, **_weights(args))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    what = "eval examples" if result.split == "eval" else "examples (all the data)"
    print(f"{result.checkpoint} (step {result.step}): {result.examples} {what}", file=sys.stderr)
    for line in result.lines():
        print(line)
    return 0


def cmd_export(args) -> int:
    spec, model_fn, name, logdir = resolve(args)
    from .saved_model import export

    used = export(spec, model_fn, out=args.out, logdir=None if args.checkpoint else logdir,
                  checkpoint=args.checkpoint, model_name=name, overwrite=args.overwrite, source=args.file,
                  format=args.format, **_weights(args))
    what = ("signature serving_default, input `images`" if args.format == "savedmodel"
            else f"{args.format}: input `images`, outputs under `outputs/`")
    print(f"exported {used} to {args.out} ({what})", file=sys.stderr)
    return 0


def cmd_predict(args) -> int:
    spec, model_fn, name, logdir = resolve(args)
    from .predict import predict

    result = predict(spec, model_fn, args.inputs, logdir=None if args.checkpoint else logdir,
                     checkpoint=args.checkpoint, model_name=name, top=args.top, **_weights(args))
    print(f"{result.checkpoint} (step {result.step}): {len(result.rows)} inputs", file=sys.stderr)
    if args.out:
        import csv
        import io

        from .. import fsutil

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(result.csv_rows())
        try:
            fsutil.atomic_write(args.out, buf.getvalue())
        except OSError as e:
            raise fsutil.os_error(e, f"writing -o {args.out}", args.out) from None
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        for line in result.lines():
            print(line)
    return 0
