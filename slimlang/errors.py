"""The error codes: one registry, one meaning per code.

Every `SlimError` slimlang raises carries one of these codes; a test checks
that each code the source uses is here (and nothing here is unused), and
docs/language.md's code table is generated from this registry.  The train
stage keeps its own E3xx codes beside its tables (training/codes.py); `ALL`
holds both.  Imports nothing of TensorFlow.
"""

from __future__ import annotations

from .training.codes import ERROR_CODES as _TRAIN_CODES

# Families, by the code's first digits.
FAMILIES = {
    "E0": "syntax", "E1": "definitions", "E2": "names, arguments and types", "E30": "shapes",
    "E3": "train sections, data, checkpoints and files written", "E4": "`fail` and end points",
    "E5": "`build --emit py`", "E90": "source files", "E91": "`explain`", "E92": "`graph` (Graphviz)",
    "E93": "`fmt` and numbers", "E94": "limits (docs/language.md, Limits)", "E99": "internal",
}

CODES: dict[str, str] = {
    "E001": "a character no token starts with",
    "E002": "a token or line end where it cannot stand",
    "E003": "a construct the parser cannot read",
    "E004": "a `{` that is never closed",
    "E101": "a name defined twice",
    "E102": "a definition named like a built-in layer",
    "E103": "unknown layer or block",
    "E104": "a model used as a layer repeated with `xN`",
    "E105": "unknown defaults block",
    "E106": "blocks that call each other in a cycle",
    "E107": "defaults blocks that `use` each other in a cycle",
    "E110": "a model without an input parameter",
    "E111": "`until` on a block",
    "E113": "`collect` of a kind that has no outputs collection",
    "E114": "a repeat of a plain TensorFlow op",
    "E115": "`defaults` for a plain TensorFlow op",
    "E120": "files that import each other in a cycle",
    "E121": "an imported name the file does not define",
    "E122": "a name that an import would give two meanings",
    "E123": "an import path that is not a relative path to a .slim file",
    "E124": "a partial of an unknown model or block",
    "E125": "partial models or blocks defined by each other in a cycle",
    "E201": "undefined name or function",
    "E202": "unknown argument",
    "E203": "too many positional arguments",
    "E204": "an argument given twice",
    "E205": "a required argument missing",
    "E206": "unknown parameter of a model, block, defaults block or function",
    "E207": "a parameter without a value",
    "E208": "`arg_scope=` that is not a defaults block",
    "E210": "an argument of the wrong type",
    "E212": "a repeat count below 1",
    "E220": "`for` over something that is not a list",
    "E221": "`for` targets that do not unpack",
    "E222": "an end point name that is not a string",
    "E223": "a scope name that is not a string",
    "E224": "a name that is not a tensor where a tensor is needed",
    "E225": "a tensor used as a condition",
    "E226": "an expression that cannot be evaluated",
    "E227": "a builtin that must be called",
    "E228": "arithmetic on tensors",
    "E229": "a call of something that is not a named function",
    "E230": "a layer with no input tensor",
    "E231": "`as NAME` on an inline block without a `scope` parameter",
    "E232": "a variable without a name",
    "E233": "an argument out of range",
    "E234": "a parameter declared twice",
    "E235": "two layers under one scope name",
    "E236": "an input size that is not a positive integer",
    "E237": "a kernel written as a product (`3*3`)",
    "E238": "a list of tensors (a `split`'s parts) used as one tensor: unnamed, repeated or an end point",
    "E301": "a shape rule that fails (checked before TensorFlow runs)",
    "E400": "`fail` reached",
    "E402": "unknown final end point",
    "E501": "a name that cannot be a Python name in the emitted module",
    "E502": "a parameter without a default after one with a default",
    "E504": "`collect` inside `if` or `for`",
    "E506": "`endpoint` on a layer without `as NAME`",
    "E509": "a repeated or stacked block that records end points under `until`",
    "E510": "a construct the emitter cannot spell",
    "E511": "a keyword argument that is not a Python name",
    "E512": "a layer built as different forms by different calls",
    "E515": "`--train` without a `data` setting",
    "E516": "a custom loss in `--train` output",
    "E517": "a name the emitted training code uses itself",
    "E519": "a data line's `preprocess=` in `--train` output",
    "E518": "a train setting `--train` output cannot reproduce (validation, keep_best, early_stop, plateau)",
    "E520": "a train section with `clones` in `--train` output (model_deploy is not part of tf_slim)",
    "E521": "a layer registered by a plugin in `--emit py` output",
    "E900": "a file that cannot be read",
    "E901": "a file that is not UTF-8",
    "E903": "an optional package missing",
    "E910": "`explain` of a scope the model does not have",
    "E920": "Graphviz's `dot` not installed",
    "E921": "Graphviz's `dot` failed",
    "E930": "`fmt` would change the meaning (an internal check)",
    "E931": "a number literal beyond the largest float",
    "E932": "`int`/`round`/`ceil`/`floor` of infinity or nan",
    "E940": "a file with more code than the limit",
    "E941": "nesting deeper than the limit",
    "E942": "more statements and calls than the limit",
    "E943": "block or function calls nested deeper than the limit",
    "E944": "an integer, list or string larger than the limit",
    "E945": "a caller's deadline passed",
    "E946": "more layers in a model than the limit",
    "E947": "more top-level definitions in a file than the limit",
    "E948": "more parameters in a model than the limit",
    "E999": "an internal error (please report it)",
}

ALL: dict[str, str] = dict(sorted({**CODES, **_TRAIN_CODES}.items()))


def family(code: str) -> str:
    """The family a code belongs to (its longest matching prefix in FAMILIES)."""
    for n in (3, 2):
        if code[:n] in FAMILIES:
            return FAMILIES[code[:n]]
    return ""


def reference() -> str:
    """The code table of docs/language.md."""
    out = ["## Error codes", "", "Every error names its code; this table is generated from `slimlang/errors.py`.", "",
           "| code | family | meaning |", "|---|---|---|"]
    out += [f"| {code} | {family(code)} | {meaning} |" for code, meaning in ALL.items()]
    out.append("")
    return "\n".join(out)
