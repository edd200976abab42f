"""slimlang.parser._RootFirstLexer: Lark's contextual lexing, one scanner.

The AST and error agreement with Lark's stock contextual lexer on every file
and on mutated examples is in test_parser_flat.py (its reference parser uses
the stock lexer); here: the cases that need the per-state fallback, and that
ordinary files need no per-state scanner at all (the start-up it saves).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slimlang import ast
from slimlang.diagnostics import SlimError
from slimlang.parser import _parser, _parser_and_builder, _RootFirstLexer, parse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted(ROOT.glob("examples/**/*.slim")), ids=lambda p: p.name)
def test_example_files_need_at_most_a_few_state_scanners(path):
    # Lark's own ContextualLexer compiles one per distinct state it meets
    # (33 for vgg.slim); here only the rare names that need the fallback do
    # (a parameter named like a repeat, `x1`; none in most files).
    _parser_and_builder.cache_clear()  # a parser of its own, so its scanners can be counted
    parse(path.read_text(), path.name)
    lexer = _parser().parser.lexer.lexer
    assert isinstance(lexer, _RootFirstLexer)
    assert len(lexer._by_accepts) <= 2, sorted(map(sorted, lexer._by_accepts))


def test_names_that_look_like_repeats_or_keywords_are_names_where_only_a_name_fits():
    m = parse("let x2 = 3\n"
              "model m(inputs: [8, 8, 3], x1 = 2) {\n"
              "  conv 8 3x3 x2 as c\n"            # here `x2` is the repeat suffix, as always
              "  conv (x2 * 4) 3x3 as d\n"        # and here the constant
              "  for x3 in [1, 2] { relu as (\"r\" + str(x3)) }\n"
              "}\n"
              "train {\n  model m\n  steps 10\n}\n", "t.slim")
    let, model, train = m.items
    assert let.name == "x2" and [p.name for p in model.params] == ["inputs", "x1"]
    conv_c, conv_d, loop = model.body
    assert conv_c.repeat == 2 and conv_d.args[0] == ast.BinOp("*", ast.Name("x2"), ast.Const(4))
    assert loop.targets == ("x3",)
    assert train.settings[0].name == "model"


def test_errors_read_as_lark_contextual_errors():
    with pytest.raises(SlimError) as e:
        parse("model m() {\n  conv 8 3x3 @\n}\n", "t.slim")
    assert e.value.diagnostics[0].span.line == 2 and e.value.diagnostics[0].span.col == 14
