"""Docs stage: the layer, builtin and error-code reference in docs/language.md, generated
from the layer table (slimlang.layers), the builtins (slimlang.values) and the error codes
(slimlang.errors), so the docs cannot drift from what the checker accepts.

    python -m slimlang.docgen          # rewrite the generated part of docs/language.md
    python -m slimlang.docgen --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import errors
from .layers import CHECK_WORDS, LAYERS, REQUIRED
from .values import BUILTINS, Op

BEGIN = "<!-- BEGIN GENERATED: python -m slimlang.docgen -->"
END = "<!-- END GENERATED -->"
DOC = Path(__file__).resolve().parent.parent / "docs" / "language.md"


def _default(p) -> str:
    if p.default is REQUIRED:
        return "*required*"
    if isinstance(p.default, Op):
        return f"`{p.default}`"
    if p.default is None:
        return "`none`"
    if isinstance(p.default, bool):
        return "`true`" if p.default else "`false`"
    return f"`{p.default!r}`" if isinstance(p.default, str) else f"`{p.default}`"


def reference() -> str:
    out = ["## Layer reference", "",
           "Positional arguments bind in the order listed. Defaults are TF-Slim's own; "
           "`defaults` blocks and the layer's own arguments override them.", ""]
    for kind in LAYERS.values():
        out.append(f"### `{kind.name}` — {kind.doc}")
        out.append("")
        out.append(f"Builds with `{kind.fn}`; default scope name `{kind.default_scope or '(needs as NAME)'}`.")
        out.append("")
        if kind.params:
            out.append("| argument | type | default | TF-Slim keyword | meaning |")
            out.append("|---|---|---|---|---|")
            for p in kind.params:
                kind_of = f"{p.type}, {CHECK_WORDS[p.check]}" if p.check else p.type
                out.append(f"| `{p.name}` | {kind_of} | {_default(p)} | `{p.py_name}` | {p.doc} |")
            out.append("")
    out += ["## Builtin values", "", "| name | kind | Python | arguments | meaning |", "|---|---|---|---|---|"]
    for b in BUILTINS.values():
        args = ", ".join(f"{n}" for n, _ in b.params) if b.callable else "—"
        out.append(f"| `{b.name}` | {b.kind} | `{b.py}` | {args} | {b.doc} |")
    out.append("")
    return "\n".join(out) + "\n" + errors.reference()


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference()}\n{END}{tail}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = DOC.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{DOC} is out of date: run python -m slimlang.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
