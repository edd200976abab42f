"""The source of `helpers` functions, for the training program `--emit py --train` writes.

Read from helpers.py with `ast` (importing it would import TensorFlow);
a function brings the helpers it calls along.
"""

from __future__ import annotations

import ast
import functools
import textwrap
from pathlib import Path

from ..pyview import FunctionView, Stmt, _wrap

_FILE = Path(__file__).resolve().parent / "helpers.py"


@functools.lru_cache(maxsize=1)
def _functions() -> dict:
    text = _FILE.read_text(encoding="utf-8")
    tree = ast.parse(text)
    return {n.name: (n, text.splitlines()) for n in tree.body if isinstance(n, ast.FunctionDef)}


def helper_names() -> frozenset:
    """Every helper's name: names the emitted program may define."""
    return frozenset(_functions())


def _calls(node) -> set:
    names = set(_functions())
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names} - {node.name}


def with_dependencies(names) -> list:
    """`names` and the helpers they call, in the order of helpers.py."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += _calls(_functions()[name][0])
    return [n for n in _functions() if n in found]


def function_view(name: str) -> FunctionView:
    """The helper as the template prints a function: signature, docstring, body lines."""
    node, lines = _functions()[name]
    doc = (ast.get_docstring(node) or "").splitlines()
    first = node.body[1] if doc else node.body[0]
    body = textwrap.dedent("\n".join(lines[first.lineno - 1:node.end_lineno])).splitlines()
    return FunctionView(name, [], [ast.unparse(node.args)], _wrap(doc, 80), [Stmt(line) for line in body])
