"""Command line: `slimlang check | summary | build | train | eval | export | ...`.

Exit status: 0 success, 1 a user error in a .slim file or its data (reported
as located diagnostics), 2 bad command-line use.  Each sub-command lives in
the module that implements it and registers itself through `add_arguments`;
this module only dispatches, so `check`, `summary`, `fmt` and `build --emit py`
never import TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .diagnostics import SlimError, UsageError

# (module, description) for each group of sub-commands; imported lazily so a
# sub-command costs nothing until it runs.
COMMAND_MODULES = [
    "slimlang.commands",
    "slimlang.training.commands",
    "slimlang.tools.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slimlang",
        description="A small language for neural networks in the style of TF-Slim.",
        epilog="Run `slimlang COMMAND --help` for a command's options.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"slimlang {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # that group is not part of this build
            raise
        module.add_arguments(sub)
    return parser


def main(argv=None) -> int:
    # TensorFlow's C++ runtime logs startup notices (no GPU, CPU features) at
    # levels below 3; a command-line user only needs Python-level errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except SlimError as e:
        print(e.render(), file=sys.stderr)
        n = len(e.diagnostics)
        if n > 1:
            print(f"\n{n} errors", file=sys.stderr)
        return 1
    except UsageError as e:
        parser.print_usage(sys.stderr)
        print(f"slimlang: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
