"""A Pygments lexer for .slim files: `pygmentize -l slim FILE`.

Registered through the `pygments.lexers` entry point in pyproject.toml.
Layer kinds and builtin values come from slimlang's own tables, so a new
layer is highlighted as soon as it is in slimlang.layers.LAYERS."""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

try:
    from ..layers import LAYERS
    from ..values import BUILTINS

    _LAYERS = tuple(sorted(LAYERS, key=len, reverse=True))
    _BUILTINS = tuple(sorted(set(BUILTINS) - set(LAYERS), key=len, reverse=True))
except Exception:  # noqa: BLE001  # pragma: no cover - the lexer must load even if slimlang is half-installed
    _LAYERS = ("conv", "conv_t", "sep_conv", "fc", "pool", "avg_pool", "dropout", "flatten", "batch_norm",
               "layer_norm", "softmax", "squeeze", "mean", "pad", "concat", "add", "reshape", "variable",
               "model_variable", "mul", "clip", "lrn", "instance_norm", "resize", "slice", "conv3d", "pool3d",
               "avg_pool3d", "activation", "relu", "relu6", "elu", "tanh", "sigmoid", "identity")
    _BUILTINS = ("selu", "leaky_relu", "softplus", "swish", "zeros", "ones", "constant", "truncated_normal",
                 "random_normal", "xavier", "variance_scaling", "l1", "l2")

_FUNCTIONS = ("min", "max", "int", "float", "str", "bool", "abs", "len", "round", "range", "enumerate", "zip",
              "list", "tuple", "dict", "sum", "ceil", "floor", "sqrt", "shape", "depth", "scope_name")


class SlimLexer(RegexLexer):
    name = "Slim (slimlang)"
    aliases = ["slim", "slimlang"]  # noqa: RUF012 - Pygments reads these class attributes
    filenames = ["*.slim"]  # noqa: RUF012 - Pygments reads these class attributes
    mimetypes = ["text/x-slimlang"]  # noqa: RUF012 - Pygments reads these class attributes
    url = "https://github.com/slimlang/slimlang"

    tokens = {  # noqa: RUF012
        "root": [
            (r"[ \t\f]+", Whitespace),
            (r"\\?\r?\n", Whitespace),
            (r"#.*$", Comment.Single),
            (r'"([^"\\\n]|\\.)*"', String.Double),
            (r"'([^'\\\n]|\\.)*'", String.Single),
            (r"(model|inline\s+block|block|defaults|train)(\s+)([A-Za-z_]\w*)",
             bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (r"(as)(\s+)([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)", bygroups(Keyword, Whitespace, Name.Namespace)),
            (r"(scope)(\s+)([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)", bygroups(Keyword, Whitespace, Name.Namespace)),
            (words(("uses", "until", "use", "scope", "as", "from", "import", "endpoint", "collect", "if", "else", "for",
                    "in", "let", "return", "fail", "and", "or", "not"), suffix=r"\b"), Keyword),
            (words(("true", "false", "none", "SAME", "VALID", "UPDATE_OPS"), suffix=r"\b"), Keyword.Constant),
            (r"[0-9]+x[0-9]+(?![A-Za-z0-9_])", Number.Integer),  # 3x3
            (r"x[0-9]+(?![A-Za-z0-9_])", Keyword.Pseudo),  # x2 repeat
            (r"([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+", Number.Float),
            (r"[0-9]+", Number.Integer),
            (words(_LAYERS, suffix=r"\b"), Name.Builtin),
            (words(_BUILTINS, suffix=r"\b"), Name.Builtin.Pseudo),
            (words(_FUNCTIONS, suffix=r"(?=\()"), Name.Builtin),
            (words(("net", "inputs", "depth_in"), suffix=r"\b"), Name.Variable.Magic),
            (r"([A-Za-z_]\w*)(\s*)(=)(?!=)", bygroups(Name.Attribute, Text, Operator)),
            (r"[A-Za-z_]\w*", Name),
            (r"\*\*|//|==|!=|<=|>=|[-+*/%<>=]", Operator),
            (r"[{}()\[\],:;]", Punctuation),
        ],
    }
