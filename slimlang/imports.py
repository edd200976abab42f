"""Imports between .slim files: `import "nets/vgg.slim"` and `from "nets/vgg.slim" import vgg_16`.

A path is relative to the importing file's folder (to the working directory for text that has no
file, such as `slimlang.loads`), ends in `.slim`, and may use `..`; an absolute path is an error
(E123), so a file means the same on every machine and in every checkout.

An imported file is parsed and checked on its own first, so a mistake in it is reported there,
with a note naming the import.  Then its definitions join the importing file's one namespace:
`import "f"` brings every model, block, defaults block and top-level `let` of `f` (and what `f`
itself imports; never its train sections), `from "f" import a, b` brings `a`, `b` and the
definitions they use.  Both lowerings then see one program, so `--emit py` writes one
self-contained module.  A name that would mean two different definitions (a local one and an
imported one, or two imported ones of different files) is an error (E122), never a silent pick;
the same definition reached along two paths (a diamond) is one definition.

Cycles (E120, with the chain), missing or unreadable files (E900, at the import's path) and files
that are not UTF-8 (E901) are located errors.  Files are read with `checker.read_source`, which
never follows a directory, a device or a symlink loop into a hang or a traceback.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .diagnostics import Collector, SlimError, did_you_mean


@dataclass
class Context:
    """One check's imports: the chain of files being imported (for cycles) and the files already
    checked (a file imported twice is read and checked once)."""

    chain: tuple = ()  # (resolved path, display name, ast.Import span) from the outermost file in
    cache: dict = field(default_factory=dict)  # resolved path -> checker.Program


def definitions(prog) -> dict:
    """name -> item: everything a checked file makes visible to a file that imports it all."""
    out = {}
    for item in (*prog.imported, *prog.module.items):
        if isinstance(item, (ast.Model, ast.DefaultsDef, ast.Let, ast.LetFunction, ast.Partial)):
            out.setdefault(item.name, item)
    return out


def _refers_to(item) -> set:
    """Every top-level name an item may refer to (a superset: local names are included)."""
    names = set()
    for n in ast.nodes(item):
        t = type(n)
        if t is ast.Name:
            names.add(n.id)
        elif t is ast.Layer:
            names.add(n.kind)
        elif t is ast.CallRef:
            names.add(n.name)
        elif t is ast.Collect or t is ast.DefaultsRule:
            names.update(n.kinds)
    return names


def _closure(wanted, defs: dict) -> set:
    """`wanted` and the definitions of `defs` they use, directly or through each other."""
    todo, seen = list(wanted), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        todo.extend(_refers_to(defs[name]) - seen)
    return seen


def _display(base: str, path: str) -> str:
    """How errors and the emitted code name an imported file: as the importer's path joined with
    the import's, normalized (`examples/nets/vgg.slim`)."""
    return os.path.normpath(os.path.join(base, path)) if base else os.path.normpath(path)


def expand(module: ast.Module, filename: str, c: Collector, ctx: Context | None, check_module, read_source) -> tuple:
    """The definitions `module`'s imports bring in, in an order that evaluates (a file's own
    imports before its definitions).  Errors go to `c`.  `check_module` and `read_source` are the
    checker's (passed in: the checker calls this, so importing it here would be a cycle)."""
    from .parser import parse

    imports = [i for i in module.items if isinstance(i, ast.Import)]
    if not imports:
        return ()
    ctx = ctx or Context()
    real = filename and not filename.startswith("<")
    base = os.path.dirname(filename) if real else ""
    here = Path(base or ".")
    local = {i.name: i for i in module.items if isinstance(i, (ast.Model, ast.DefaultsDef, ast.Let, ast.LetFunction,
                                                                 ast.Partial))}
    chosen: dict = {}  # name -> (item, the import that brought it)
    order: list = []
    for imp in imports:
        where = imp.path_span
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in imp.path):
            c.error("E123", f"cannot import {imp.path!r}: a path holds no control characters", where)
            continue
        if not imp.path.endswith(".slim") or os.path.basename(imp.path) == ".slim":
            c.error("E123", f"cannot import {imp.path!r}: an import names a .slim file", where,
                    ['help: e.g. `import "nets/vgg.slim"`, relative to this file'])
            continue
        if os.path.isabs(imp.path) or imp.path.startswith("~"):
            c.error("E123", f"cannot import {imp.path!r}: an import path is relative to the importing file, "
                    "never absolute", where,
                    ["note: so the file means the same on every machine and in every checkout",
                     "help: write the path from this file's folder; `..` goes up one folder"])
            continue
        display = _display(base, imp.path)
        try:
            resolved = (here / imp.path).resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop (RuntimeError before Python 3.13)
            c.error("E900", f"cannot import {imp.path!r}: {display} is a symbolic link that leads back to "
                    "itself", where)
            continue
        chain = ctx.chain or (((Path(filename).resolve(), filename, None),) if real else ())
        paths = [entry[0] for entry in chain]
        if resolved in paths:
            loop = chain[paths.index(resolved):]
            shown = " -> ".join([*(entry[1] for entry in loop), display])
            notes = [f"note: {entry[1]} is imported at {entry[2].location()}" for entry in loop[1:]]
            c.error("E120", f"import cycle: {shown}", where,
                    [*notes, "help: move what both files need into a third file that both import"])
            continue
        sub = ctx.cache.get(resolved)
        if sub is None:
            problem = _unreadable(resolved, display)
            if problem:
                c.error("E900", f"cannot import {imp.path!r}: {problem[0]}", where, problem[1:])
                continue
            try:
                parsed = parse(read_source(display), display)
                inner = Context(chain + ((resolved, display, where),), ctx.cache)
                sub = check_module(parsed, display, elaborate=False, imports=inner)
            except SlimError as e:
                c.extend(_imported_at(e, imp, display))
                continue
            ctx.cache[resolved] = sub
        defs = definitions(sub)
        if imp.names is None:
            wanted = set(defs)
        else:
            wanted = set()
            for name, span in zip(imp.names, imp.name_spans or [imp.span] * len(imp.names)):
                if name in defs:
                    wanted.add(name)
                else:
                    train = any(isinstance(i, ast.Train) and i.name == name for i in sub.module.items)
                    c.error("E121", f"{display} defines no model, block, defaults or `let` named `{name}`", span,
                            ["note: train sections are not imported; write the train section in the "
                             "importing file"] if train else [did_you_mean(name, list(defs))])
        needed = _closure(wanted, defs)
        for name, item in defs.items():
            if name not in needed:
                continue
            if name in local:
                mine = local[name]
                c.error("E122", f"`{name}` is defined in this file and imported from {display}",
                        getattr(mine, "name_span", None) or mine.span,
                        [f"note: {display} defines it at {_name_span(item).location()}",
                         f"note: imported at {imp.span.location()}",
                         "help: rename one of them" + ("" if imp.names is None or name in imp.names else
                                                       f" (the imported `{name}` is used by "
                                                       f"{', '.join(sorted(_users(name, wanted, defs)))})")])
                continue
            if name in chosen:
                if chosen[name][0] is not item:
                    c.error("E122", f"`{name}` is imported from two files that define it differently",
                            imp.span, [f"note: {display} defines it at {_name_span(item).location()}",
                                       f"note: {chosen[name][1].span.location()} imports the other one, "
                                       f"defined at {_name_span(chosen[name][0]).location()}",
                                       "help: import from one of them only, or rename one"])
                continue
            chosen[name] = (item, imp)
            order.append(item)
    return tuple(order)


def _unreadable(resolved: Path, display: str):
    """(problem, notes...) when `resolved` is no .slim file to read, else None."""
    try:
        st = resolved.stat()
    except FileNotFoundError:
        folder = resolved.parent
        try:
            near = [f.name for f in folder.iterdir() if f.suffix == ".slim"] if folder.is_dir() else []
        except OSError:
            near = []
        return (f"no such file {display}", did_you_mean(resolved.name, near))
    except OSError as e:
        return (f"cannot read {display}: {e.strerror or e}",)
    if stat.S_ISDIR(st.st_mode):
        return (f"{display} is a folder, not a .slim file",)
    if not stat.S_ISREG(st.st_mode):
        return (f"{display} is not a regular file",)
    return None


def _users(name: str, wanted: set, defs: dict) -> set:
    """The imported names whose definitions need `name` (for E122's note)."""
    return {w for w in wanted if w != name and name in _closure({w}, defs)} or {name}


def _name_span(item):
    return getattr(item, "name_span", None) or item.span


def _imported_at(e: SlimError, imp: ast.Import, display: str) -> SlimError:
    """An error of an imported file, located in that file, with a note naming the import (a
    file-level error without a location, E900, is located at the import's path)."""
    from .records import replace

    out = []
    for d in e.diagnostics:
        if d.code == "E120":  # its notes name every import of the cycle already
            out.append(d)
        elif d.span is None or d.span.source is None:
            out.append(replace(d, message=d.message, span=imp.path_span,
                               notes=(*d.notes, f"note: {display} is imported here")))
        else:
            out.append(replace(d, notes=(*d.notes, f"note: {display} is imported at {imp.span.location()}")))
    return SlimError(out)
