"""Pygments lexer, TextMate grammar, and the cost of importing the tools' commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from pygments.token import Error, Name

ROOT = Path(__file__).resolve().parent.parent


def test_pygments_lexer_on_examples():
    from slimlang.tools.pygments_lexer import SlimLexer

    for path in sorted(ROOT.glob("examples/**/*.slim")):
        tokens = list(SlimLexer().get_tokens(path.read_text(encoding="utf-8")))
        assert not [t for t in tokens if t[0] is Error], path
    tokens = list(SlimLexer().get_tokens("conv 64 3x3 x2 as conv1  # c\n"))
    assert (Name.Builtin, "conv") in tokens


def test_pygments_entry_point():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert type(get_lexer_by_name("slim")).__name__ == "SlimLexer"
    assert type(get_lexer_for_filename("net.slim")).__name__ == "SlimLexer"


def test_textmate_grammar():
    g = json.loads((ROOT / "editors/vscode/syntaxes/slim.tmLanguage.json").read_text())
    assert g["scopeName"] == "source.slim"
    for rule in g["repository"].values():
        for r in rule.get("patterns", [rule]):
            if "match" in r:
                re.compile(r["match"])
    pkg = json.loads((ROOT / "editors/vscode/package.json").read_text())
    assert pkg["contributes"]["grammars"][0]["path"] == "./syntaxes/slim.tmLanguage.json"
    from slimlang.layers import LAYERS

    layer_rule = g["repository"]["layer"]["match"]
    assert all(re.search(rf"\b{k}\b", layer_rule) for k in LAYERS), "regenerate the TextMate grammar (docs/tools.md)"


def test_commands_module_is_light():
    code = ("import sys, slimlang.tools.commands\n"
            "heavy = [m for m in ('graphviz', 'pygls', 'lsprotocol', 'tensorflow', 'pygments') if m in sys.modules]\n"
            "print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
