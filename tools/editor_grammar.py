"""Rewrite the layer-kind rule of the VS Code TextMate grammar from the layer table.

    python tools/editor_grammar.py

editors/vscode/syntaxes/slim.tmLanguage.json lists the layer kinds in one
alternation (longest first, so `conv3d` is not read as `conv`);
tests/test_tools_editors.py fails when a kind of slimlang.layers.LAYERS is
missing from it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "slim.tmLanguage.json"


def layer_rule(kinds) -> str:
    ordered = sorted(kinds, key=lambda k: (-len(k), k))
    return r"\b(" + "|".join(re.escape(k) for k in ordered) + r")\b"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from slimlang.layers import LAYERS

    grammar = json.loads(GRAMMAR.read_text())
    grammar["repository"]["layer"]["match"] = layer_rule(LAYERS)
    tmp = GRAMMAR.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(grammar, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(GRAMMAR)
    print(f"{GRAMMAR.relative_to(ROOT)}: {len(LAYERS)} layer kinds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
