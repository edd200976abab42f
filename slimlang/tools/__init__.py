"""Tools a model author lives in: `graph` (network pictures), `fmt` (the
canonical layout), `explain` (where each resolved argument came from), and
editor support (Pygments lexer, `lsp` language server).

Nothing here imports TensorFlow; `graphviz` and `pygls` are imported only by
the sub-commands that need them.
"""
