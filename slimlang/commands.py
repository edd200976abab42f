"""The front-end sub-commands: `check`, `summary`, `build`.  None imports TensorFlow
except `build --emit pbtxt`."""

from __future__ import annotations

import os
import sys

from .checker import check_file
from .cli import model_arguments
from .diagnostics import Diagnostic, SlimError, did_you_mean
from .layers import fmt_shape


def add_arguments(sub):
    p = sub.add_parser("check", help="parse and check .slim files (silent on success)",
                       description="Parse and check .slim files: syntax, names, defaults, shapes. "
                                   "Prints nothing and exits 0 when every file is correct.")
    p.add_argument("files", nargs="+", metavar="FILE")
    plugin_argument(p)
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("summary", help="layer table with output shapes and parameter counts",
                       description="Print one row per layer (scope name, kind, output shape, parameters) "
                                   "and the totals, like Keras's model.summary().")
    p.add_argument("file", metavar="FILE")
    model_arguments(p)
    plugin_argument(p)
    p.set_defaults(handler=cmd_summary)

    p = sub.add_parser("build", help="compile a .slim file: --emit py | summary | pbtxt",
                       description="Compile a .slim file to readable TF-Slim Python (--emit py), a summary "
                                   "table, or the GraphDef of one model (--emit pbtxt).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--emit", choices=["py", "summary", "pbtxt"], default="py")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")
    model_arguments(p, model_help="the model for summary / pbtxt (default: the only one, or the last one)")
    p.add_argument("--train", action="store_true", help="with --emit py: also emit the training program")
    plugin_argument(p)
    p.set_defaults(handler=cmd_build)


def plugin_argument(p) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="run this Python file first: it registers layers, losses and metrics (repeatable; "
                        "it may import TensorFlow, which this command otherwise never does)")


def load_plugins(args) -> None:
    """Run the --plugin files the command line names: a file using their layers then checks."""
    if args.plugin:
        import slimlang

        for plugin in args.plugin:
            slimlang.load_plugin(plugin)


def cmd_check(args) -> int:
    errors = []
    from .trainspec import check_data_paths

    load_plugins(args)

    for f in args.files:
        try:
            program = check_file(f)
            errors.extend(check_data_paths(program))
        except SlimError as e:
            errors.extend(e.diagnostics)
            continue
        # A section whose loss no plugin registered here fails only when used (`train --plugin`);
        # check says so without failing, so a misspelt loss does not pass unnoticed.
        for err in getattr(program, "train_errors", {}).values():
            for d in err.diagnostics:
                print(Diagnostic(d.code, d.message, d.span, d.notes, "warning").render(), file=sys.stderr)
    if errors:
        raise SlimError(errors)
    return 0


def pick_model(program, name: str | None) -> str:
    from .diagnostics import UsageError

    if not program.models:
        raise UsageError(f"{program.source_name} defines no model")
    if name is None:
        return list(program.models)[-1]
    if name not in program.models:
        hint = did_you_mean(name, program.models)
        raise UsageError(f"{program.source_name} has no model {name!r}" + (f" ({hint})" if hint else "")
                         + f"; models: {', '.join(program.models)}")
    return name


def parse_shape(text: str | None, program, model: str):
    from .diagnostics import UsageError

    if text is None:
        declared = program.input_shape(model)
        if declared is None:
            raise UsageError(f"model {model!r} declares no input shape; pass --input-shape, e.g. 1,224,224,3")
        return (1,) + tuple(declared)
    try:
        dims = tuple(None if d.strip() in ("?", "None", "none", "") else int(d) for d in text.split(","))
    except ValueError:
        raise UsageError(f"--input-shape takes integers separated by commas, e.g. 1,224,224,3; got {text!r}") from None
    if any(d is not None and d <= 0 for d in dims):
        raise UsageError(f"--input-shape dimensions must be positive, got {text!r}")
    declared = program.input_shape(model)
    if declared is not None and len(dims) == len(declared):
        # The model header's form (one example, no batch) given where the batch is included.
        example = ",".join("?" if d is None else str(d) for d in dims)
        raise UsageError(f"--input-shape includes the batch dimension: model {model!r} takes "
                         f"{len(declared)}-D examples ({', '.join('?' if d is None else str(d) for d in declared)}), "
                         f"so write --input-shape 1,{example} for a batch of 1")
    return dims


_SET_PREFIX = "let _v = "


def parse_sets(items) -> dict:
    """--set NAME=VALUE, the value read as one constant .slim expression (a number, string,
    true/false/none, a list, arithmetic on those, or a builtin such as relu or l2(0.001))."""
    from .diagnostics import UsageError
    from .evaluate import Defaults, Evaluator, Frame, ModelRun
    from .parser import parse

    out = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set takes PARAM=VALUE, got {item!r}")
        name, value = item.split("=", 1)
        name = name.strip()
        if not name.isidentifier():
            raise UsageError(f"--set {item!r}: {'a parameter name is missing before =' if not name else f'{name!r} is not a parameter name'}")
        if not value.strip():
            raise UsageError(f"--set {name}: no value after =, e.g. --set {name}=10")
        try:
            mod = parse(f"{_SET_PREFIX}{value}\n", "--set")
        except SlimError as e:
            d = e.first
            where = ""
            if d.span is not None and d.span.line == 1 and d.span.col > len(_SET_PREFIX):
                at = d.span.col - 1 - len(_SET_PREFIX)
                rest = value[at:]
                where = (f" at character {at + 1}" + (f" ({rest!r}): text after the value; quote the whole "
                                                      "value for the shell if it has spaces, or remove the rest"
                                                      if at > 0 and rest.strip() and d.code == "E002" else ""))
            raise UsageError(f"--set {name}: cannot read {value!r} as a value: {d.message}{where}") from None
        if len(mod.items) != 1:
            raise UsageError(f"--set {name}: {value!r} is more than one value (a line break or `;` starts "
                             "another statement)")
        expr = mod.items[0].value
        bad = _set_name(expr)
        if bad is not None:
            raise UsageError(f"--set {name}: `{bad}` " + (
                "is a tensor of the model, not a value" if bad in ("net", "inputs", "depth_in")
                else "is not a value a command line can give") + "; --set takes a constant: a number, a string, "
                "true/false/none, a list, or a builtin such as relu")
        try:
            out[name] = Evaluator(None, None).eval(expr, Frame({}, None, Defaults(), frozenset(), ModelRun({})))
        except SlimError as e:
            raise UsageError(f"--set {name}: cannot read {value!r} as a value: {e.first.message}") from None
    return out


def _set_name(expr):
    """The first name in a --set value that is not a builtin constant, or None."""
    from . import ast
    from .values import BUILTINS, STRING_CONSTANTS

    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, ast.Name):
            if e.id not in BUILTINS and e.id not in STRING_CONSTANTS:
                return e.id
        elif isinstance(e, ast.Call):
            if not (isinstance(e.func, ast.Name) and e.func.id in BUILTINS):
                from .evaluate import PURE_FUNCTIONS

                if not (isinstance(e.func, ast.Name) and e.func.id in PURE_FUNCTIONS):
                    return getattr(e.func, "id", "(call)")
            stack.extend(e.args)
            stack.extend(k.value for k in e.kwargs)
        else:
            for attr in ("items", "values", "rights"):
                stack.extend(getattr(e, attr, ()) or ())
            for attr in ("left", "right", "operand", "body", "test", "orelse", "value", "index"):
                sub = getattr(e, attr, None)
                if sub is not None and not isinstance(sub, (str, int, float, bool)):
                    stack.append(sub)
    return None


def check_set_names(program, model: str, sets: dict):
    """Every --set name is a parameter of the model (besides its input)."""
    from .diagnostics import UsageError

    names = [p.name for p in program.models[model].params[1:]]
    for k in sets:
        if k not in names:
            hint = did_you_mean(k, names)
            raise UsageError(f"--set {k}: model {model!r} has no parameter {k!r}"
                             + (f" ({hint[len('help: '):]})" if hint else "")
                             + (f"; its parameters: {', '.join(names)}" if names else "; it takes none"))
    return sets


def summarize(program, model: str, shape, sets: dict, input_shape: str | None, span=None):
    """shapes.summarize_model for a command, where `input_shape` is the --input-shape text (None when
    the model's declared shape is used).  A shape the model's layers would take with a batch
    dimension in front is bad command-line use (exit 2): the batch was left out, as the model
    header leaves it out."""
    from .diagnostics import UsageError
    from .shapes import InputRankError, summarize_model

    try:
        return summarize_model(program, model, shape, sets, span=span)
    except InputRankError as e:
        if input_shape is None or e.batch != "missing":
            raise
        example = ",".join("?" if d is None else str(d) for d in shape)
        raise UsageError(f"--input-shape includes the batch dimension: model {model!r} gives its input to the "
                         f"`{e.call.kind.name}` at {e.call.span.location()}, which needs it with the batch first, "
                         f"as in {fmt_shape(e.needs)}; write --input-shape 1,{example} for a batch of 1") from None


def cmd_summary(args) -> int:
    load_plugins(args)
    program = check_file(args.file)
    model = pick_model(program, args.model)
    shape = parse_shape(args.input_shape, program, model)
    sets = check_set_names(program, model, parse_sets(args.set))
    summary = summarize(program, model, shape, sets, args.input_shape, span=program.models[model].name_span)
    print(summary.render())
    return 0


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)  # a hard link to the input, too
    except (OSError, ValueError):
        return False


def write_output(text: str | bytes, output: str | None, *, sources=(), example: str = "model.py"):
    """Write to OUT atomically (see fsutil) or to stdout.

    An unusable OUT is exit 1 (a file-system problem, E350/E351/E356), not a
    traceback; an empty OUT is bad command-line use (exit 2).  OUT naming one
    of `sources` (the .slim file read) is refused: it would be overwritten by
    the output.  A device or FIFO (/dev/stdout) is written to, not replaced.
    """
    from . import fsutil
    from .diagnostics import UsageError

    if output is None:
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    if not output.strip():
        raise UsageError("-o/--output needs a file name, got an empty one")
    try:
        _write_output(text, output, sources, example)
    except OSError as e:  # a name too long for the file system, a loop of links, no permission, ...
        try:
            where = fsutil.write_target(output)
        except (OSError, ValueError):
            where = output
        raise fsutil.os_error(e, f"writing -o {output}", where) from None


def _write_output(text, output: str, sources, example: str):
    from . import fsutil

    target = fsutil.write_target(output)
    if target.is_dir():
        raise SlimError.single("E356", f"-o {output} is a folder; it must name a file", None,
                               [f"help: name a file in it, e.g. -o {os.path.join(output, example)}"])
    for src in sources:
        if src and (target == fsutil.write_target(src) or _same_file(target, src)):
            raise SlimError.single("E356", f"-o {output} is the input file {src}; refusing to overwrite it", None,
                                   [f"help: write the output to another file, e.g. -o {example}"])
    blocker = fsutil.file_ancestor(target)
    if blocker is not None:
        raise SlimError.single("E350", f"cannot write -o {output}: {blocker} is a file, not a folder", None,
                               ["help: choose another path"])
    if not target.parent.is_dir() and not os.path.exists(output):
        target.parent.mkdir(parents=True, exist_ok=True)
    fsutil.atomic_write(output, text)


def cmd_build(args) -> int:
    from .diagnostics import UsageError

    # Options that mean nothing for the chosen output are refused, not ignored: a user who wrote
    # them expected an effect.
    if args.train and args.emit != "py":
        raise UsageError(f"--train goes with --emit py (it adds the training program); --emit {args.emit} "
                         "has no training part")
    if args.emit == "py":
        given = [flag for flag, value in (("--model", args.model), ("--input-shape", args.input_shape),
                                          ("--set", args.set)) if value]
        if given:
            raise UsageError(f"{', '.join(given)}: --emit py compiles every model of the file with its declared "
                             "parameters; these options pick and configure one model for --emit summary or pbtxt")
    load_plugins(args)
    program = check_file(args.file)
    if args.emit == "summary":
        model = pick_model(program, args.model)
        shape = parse_shape(args.input_shape, program, model)
        sets = check_set_names(program, model, parse_sets(args.set))
        text = summarize(program, model, shape, sets, args.input_shape).render() + "\n"
    elif args.emit == "py":
        from .emit import emit_module

        text = emit_module(program, train=args.train)
    else:
        model = pick_model(program, args.model)
        shape = parse_shape(args.input_shape, program, model)
        sets = check_set_names(program, model, parse_sets(args.set))
        # The shape backend first: shape and scope errors are located errors, not TensorFlow's traceback
        # (the check elaborates only models with a declared input shape, and only at their defaults).
        summarize(program, model, shape, sets, args.input_shape)
        from .lower_graph import graph_def_text

        text = graph_def_text(program, model, shape, sets)
    write_output(text, args.output, sources=[args.file],
                 example="model.pbtxt" if args.emit == "pbtxt" else "model.py" if args.emit == "py" else "summary.txt")
    return 0
