"""Docs stage for training: the settings reference of docs/training.md, generated from the tables.

    python -m slimlang.training.reference    # prints it; paste it over the generated part

Reads `settings.TRAIN_SETTINGS` (and through it the kind tables),
`kinds.metrics.METRICS` and `codes.ERROR_CODES`, so the docs cannot drift
from what the checker accepts.
"""

from __future__ import annotations

from collections.abc import Iterable

from .codes import ERROR_CODES
from .kinds.base import Arg
from .kinds.metrics import METRICS
from .settings import TRAIN_SETTINGS


def _default_text(a: Arg) -> str:
    if a.required:
        return "required"
    v = a.default
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, tuple):
        return "[" + ", ".join(f'"{x}"' if isinstance(x, str) else str(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _args_table(args: Iterable[Arg]) -> list[str]:
    rows = ["| option | type | default | meaning |", "|---|---|---|---|"]
    for a in args:
        rows.append(f"| `{a.name}` | {a.type.doc} | {_default_text(a)} | {a.doc} |")
    return rows


def reference_markdown() -> str:
    """The settings reference of docs/training.md, generated from the table."""
    out = ["<!-- generated from the tables of slimlang/training (settings.py, kinds/); "
           "regenerate with `python -m slimlang.training.reference` -->", ""]
    out += ["| setting | usage | meaning |", "|---|---|---|"]
    for d in TRAIN_SETTINGS.values():
        usage = d.usage.replace("|", "\\|")
        out.append(f"| `{d.name}` | `{usage}` | {d.doc}{' (repeatable)' if d.repeatable else ''} |")
    for d in TRAIN_SETTINGS.values():
        if d.kinds is None and not d.keywords:
            continue
        out += ["", f"### `{d.name}`", "", d.doc + ".", ""]
        if d.keywords:
            title = "Options of every kind" if d.kinds else "Options"
            out += [f"{title}:", ""] + _args_table(d.keywords) + [""]
        if d.kinds:
            for k in d.kinds.values():
                alias = f" (also {', '.join(f'`{a}`' for a in k.aliases)})" if k.aliases else ""
                out += [f"#### `{d.name} {k.name}`{alias}", "", k.doc + ".", ""]
                if k.args:
                    out += _args_table(k.args) + [""]
    out += ["", "### Metrics of `slimlang eval`", "", "| metric | heads | meaning |", "|---|---|---|"]
    out += [f"| `{m.name}` | {m.task.replace(' ', ', ')} | {m.doc} |" for m in METRICS.values()]
    out += ["", "### Error codes", "", "| code | meaning |", "|---|---|"]
    out += [f"| {c} | {m} |" for c, m in ERROR_CODES.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover - docs helper
    print(reference_markdown(), end="")
