"""Command line: `slimlang check | summary | build | train | eval | export | ...`.

Exit status: 0 success, 1 a user error in a .slim file or its data (reported
as located diagnostics), 2 bad command-line use (with the sub-command's
usage).  `--verbose` (before or after the command) shows what TensorFlow
prints; otherwise slimlang.tfcompat keeps its start-up and deprecation notices
out of the way.  Each sub-command lives in
the module that implements it and registers itself through `add_arguments`;
this module only dispatches, so `check`, `summary`, `fmt` and `build --emit py`
never import TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .diagnostics import SlimError, UsageError, closest, did_you_mean

# The module of each stage's sub-commands (front end, training, tools); each
# registers its parsers through `add_arguments` and imports its heavy
# dependencies only inside the handlers.
COMMAND_MODULES = [
    "slimlang.commands",
    "slimlang.training.commands",
    "slimlang.tools.commands",
]
# Which module registers each command, so that running one builds only its own stage's parsers
# (tests/test_cli.py checks this against what the modules register).
COMMANDS = {
    "check": "slimlang.commands", "summary": "slimlang.commands", "build": "slimlang.commands",
    "train": "slimlang.training.commands", "eval": "slimlang.training.commands",
    "export": "slimlang.training.commands", "predict": "slimlang.training.commands",
    "graph": "slimlang.tools.commands", "fmt": "slimlang.tools.commands", "explain": "slimlang.tools.commands",
    "lsp": "slimlang.tools.commands",
}

VERBOSE_HELP = ("show everything TensorFlow prints (start-up notices, deprecation warnings); "
                "the same as SLIMLANG_VERBOSE=1")


def model_arguments(p, *, model_help="which model (default: the only one, or the last one in the file)",
                    input_shape=True) -> None:
    """--model, --input-shape and --set, the same on every sub-command that picks and configures a model."""
    p.add_argument("--model", metavar="M", help=model_help)
    if input_shape:
        p.add_argument("--input-shape", metavar="SHAPE",
                       help="input shape with batch, e.g. 1,224,224,3 (default: the model's declared input)")
    p.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                   help="a model parameter value, e.g. --set num_classes=10 (repeatable)")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (steps, epochs, batch sizes)."""
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a whole number >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"takes a whole number >= {low}, got {value}")
    return value


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `slimlang` parser; `parser.commands` maps each sub-command to its parser.

    With `command` (a name in COMMANDS), only the module that defines it registers its parsers."""
    parser = argparse.ArgumentParser(
        prog="slimlang",
        description="A small language for neural networks in the style of TF-Slim.",
        epilog="Run `slimlang COMMAND --help` for a command's options.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"slimlang {__version__}")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # that group is not part of this build
            raise
        module.add_arguments(sub)
    for p in sub.choices.values():
        # also after the command (`slimlang train x.slim --verbose`); SUPPRESS
        # keeps a `--verbose` given before the command
        p.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        p.set_defaults(command_parser=p)
    parser.commands = dict(sub.choices)
    return parser


def _check_command(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """An unknown command exits 2 with a did-you-mean (argparse lists the choices only)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    if word is None or word in parser.commands:
        return
    hint = did_you_mean(word, parser.commands)
    parser.error(f"unknown command {word!r}" + (f" ({hint.removeprefix('help: ')})" if hint else "")
                 + "; commands: " + ", ".join(parser.commands))


def _unrecognized(parser: argparse.ArgumentParser, args, argv: list[str], extras: list[str]) -> None:
    """Exit 2 for arguments no parser took.  argparse reports them with the top-level usage even
    when they follow the command; there they are that command's: its usage, and a did-you-mean for
    a misspelt option (`train --stepz 5`)."""
    command = args.command_parser
    after = argv[argv.index(args.command) + 1:]
    if not all(e in after for e in extras):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    # Compared without their dashes, which every option shares (`--bogus` is not close to `--verbose`).
    options = {o.lstrip("-"): o for action in command._actions for o in action.option_strings}
    nearest = (closest(e.split("=", 1)[0].lstrip("-"), options) for e in extras if e.startswith("-"))
    word = next((w for w in nearest if w is not None), None)
    command.error(f"unrecognized arguments: {' '.join(extras)}"
                  + (f" (did you mean `{options[word]}`?)" if word else ""))


# Path arguments of the sub-commands (argparse dest -> how the user spelt it).
PATH_ARGS = {"file": "FILE", "files": "FILE", "output": "-o", "logdir": "--logdir", "out": "--out",
             "checkpoint": "--checkpoint", "init_from": "--init-from"}
NAME_MAX, PATH_MAX = 255, 4096  # bytes, as Linux and macOS file systems allow


def _check_paths(args) -> None:
    """UsageError for a path no file system accepts (empty, or a name over NAME_MAX bytes)."""
    for dest, flag in PATH_ARGS.items():
        value = getattr(args, dest, None)
        for v in (value if isinstance(value, list) else [value]):
            if not isinstance(v, str):
                continue
            if not v.strip():
                if dest in ("file", "files"):
                    # Path("") is the current folder: "cannot read .: it is a directory" would mislead.
                    raise UsageError("FILE is an empty name; give the path of a .slim file")
                continue  # each command says what its empty option means
            raw = os.fsencode(v)
            longest = max(raw.split(b"/"), key=len)
            if len(longest) > NAME_MAX or len(raw) >= PATH_MAX:
                what = (f"a name in it is {len(longest)} bytes long" if len(longest) > NAME_MAX
                        else f"it is {len(raw)} bytes long")
                raise UsageError(f"{flag} {v[:40]}...: {what}, longer than file systems allow "
                                 f"({NAME_MAX} bytes a name, {PATH_MAX} a path)")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    _check_command(parser, argv)
    args, extras = parser.parse_known_args(argv)
    if extras:
        _unrecognized(parser, args, argv, extras)
    if args.verbose:
        os.environ["SLIMLANG_VERBOSE"] = "1"  # read by slimlang.tfcompat when TensorFlow loads
    else:
        # TensorFlow's C++ runtime logs start-up notices (no GPU, CPU features)
        # at levels below 3; errors a command-line user can act on arrive as
        # Python exceptions and are reported as diagnostics.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        _check_paths(args)
        return int(args.handler(args) or 0)
    except SlimError as e:
        print(e.render(), file=sys.stderr)
        n = len(e.diagnostics)
        if n > 1:
            print(f"\n{n} errors", file=sys.stderr)
        return 1
    except UsageError as e:
        command = getattr(args, "command_parser", parser)
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as e:
        # Last resort: a file-system error no command turned into a diagnostic of its own
        # (its own checks come first and say more). Still a readable error, not a traceback.
        from .fsutil import os_error

        where = e.filename if e.filename is not None else "?"
        print(os_error(e, "a file operation", where).render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
