"""Sub-commands `graph`, `fmt`, `explain` and `lsp`.

Importing this module is cheap: each handler imports what it needs
(graphviz, pygls, the shape backend) only when it runs."""

from __future__ import annotations

import sys

from ..cli import model_arguments, nonnegative_int


def add_arguments(sub):
    p = sub.add_parser("graph", help="draw a model as a picture (svg, png, pdf or dot)",
                       description="Draw one model with Graphviz: a node per layer (scope, kind, kernel/stride, "
                                   "output shape), edges for the data flow, clusters for scopes, blocks and "
                                   "repeat/stack. svg/png/pdf need the Graphviz `dot` program; .dot does not.")
    p.add_argument("file", metavar="FILE")
    model_arguments(p)
    p.add_argument("--depth", type=nonnegative_int, default=None, metavar="N",
                   help="collapse scopes nested deeper than N into one node each (0: top-level scopes collapsed)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file; its extension picks the format: .svg, .png, .pdf or .dot")
    p.set_defaults(handler=cmd_graph)

    p = sub.add_parser("fmt", help="rewrite .slim files in the canonical layout",
                       description="Rewrite .slim files in place in the canonical layout (2-space indentation, "
                                   "one statement per line, arguments in table order, comments kept). "
                                   "With --check, change nothing and exit 1 if any file would change.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--check", action="store_true", help="list files that would change and exit 1; write nothing")
    p.add_argument("--diff", action="store_true", help="print a unified diff instead of writing")
    p.set_defaults(handler=cmd_fmt)

    p = sub.add_parser("explain", help="where each resolved argument of a layer came from",
                       description="Show one layer's resolved arguments and where each came from (the layer's "
                                   "text, a block parameter, a `defaults` at file:line, or TF-Slim's default), "
                                   "its input and output shapes and its parameter count.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("scope", metavar="SCOPE", help="the layer's scope name, e.g. vgg_16/conv3/conv3_2")
    model_arguments(p, model_help="which model (default: the one SCOPE starts with, else the last one)")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("lsp", help="language server for editors (stdio)",
                       description="Run the slimlang language server on standard input/output: diagnostics as "
                                   "you type, hover with shapes and resolved defaults, completion, go to definition.")
    p.set_defaults(handler=cmd_lsp)


def cmd_graph(args) -> int:
    from pathlib import Path

    from ..diagnostics import UsageError
    from . import graph
    from .analysis import load

    out = Path(args.output)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in graph.FORMATS:
        raise UsageError(f"-o {args.output}: the extension picks the format; use one of "
                         + ", ".join("." + f for f in graph.FORMATS))
    analysis = load(args.file, args.model, args.input_shape, args.set)
    gm = graph.build(analysis, args.depth)
    g = graph.to_graphviz(gm, analysis.summary.model)
    data = graph.render(g, fmt)
    from ..commands import write_output

    write_output(data, args.output, sources=[args.file], example="net." + fmt)
    return 0


def cmd_fmt(args) -> int:
    import difflib
    from pathlib import Path

    from .. import fsutil
    from ..checker import read_source
    from ..diagnostics import SlimError
    from .fmt import FormatError, format_text

    errors, changed = [], []
    for f in args.files:
        p = Path(f)
        try:
            text = read_source(p)
        except SlimError as e:
            errors.append(e)
            continue
        try:
            new = format_text(text, str(p))
        except SlimError as e:
            errors.append(e)
            continue
        except FormatError as e:
            if e.span is not None:
                errors.append(SlimError.single("E930", str(e), e.span, e.notes))
            else:
                errors.append(SlimError.single("E930", f"{p}: {e}", None, e.notes))
            continue
        if new == text:
            continue
        changed.append(f)
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                       f"{f} (original)", f"{f} (formatted)"))
        elif not args.check:
            # Through a symlink the target is rewritten (its mode kept) and the link stays a link.
            try:
                fsutil.atomic_write(p, new)
            except OSError as e:
                errors.append(fsutil.os_error(e, f"writing the formatted {p}", fsutil.write_target(p)))
    if args.check:
        for f in changed:
            print(f"would reformat {f}")
    if errors:
        raise SlimError([d for e in errors for d in e.diagnostics])
    return 1 if (args.check and changed) else 0


def cmd_explain(args) -> int:
    from ..checker import check_file
    from ..commands import pick_model
    from .analysis import for_command
    from .explain import explain_row, find_row

    program = check_file(args.file)
    model = args.model
    if model is None:
        head = args.scope.split("/", 1)[0]
        model = head if head in program.models else None
    model = pick_model(program, model)
    analysis = for_command(program, model, args.input_shape, args.set)
    print(explain_row(analysis, find_row(analysis, args.scope)).render())
    return 0


def cmd_lsp(args) -> int:
    from .lsp import main

    main()
    return 0
