"""Hostile programs too large to check in: each function returns the file's bytes.

They are written into a temporary directory at test time, so the repository
stays small while the corpus still covers issue 13's size cases.
"""

_TAIL = "  flatten\n  fc 10 as logits\n}\n"


def ten_megabytes_of_layers() -> bytes:
    """A 10 MB model body: ~800,000 layer statements."""
    line = "  conv 4 3x3 padding=SAME\n"
    body = line * (10_000_000 // len(line))
    return ("model m(inputs: [8, 8, 1]) {\n" + body + _TAIL).encode()


def ten_megabytes_of_comments() -> bytes:
    """A small model after 10 MB of comments: must pass, quickly."""
    line = "# " + "x" * 97 + "\n"
    return (line * 100_000 + "model m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n" + _TAIL).encode()


def ten_megabytes_one_line() -> bytes:
    """A single 10 MB line (a list literal)."""
    return ("let a = [" + "1, " * 3_300_000 + "1]\nmodel m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n" + _TAIL).encode()


def five_thousand_models() -> bytes:
    return "".join(f"model m{i}(inputs: [8, 8, 1]) {{\n  conv 4 3x3 as c\n  flatten\n  fc 10 as logits\n}}\n"
                   for i in range(5000)).encode()


def five_thousand_duplicate_models() -> bytes:
    return ("model m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n" * 5000).encode()


def nested_scopes_500() -> bytes:
    return ("model m(inputs: [8, 8, 1]) {\n" + "scope s {\n" * 500 + "conv 4 3x3\n" + "}\n" * 500 + "}\n").encode()


def nested_ifs_500() -> bytes:
    return ("model m(inputs: [8, 8, 1]) {\n" + "if true {\n" * 500 + "conv 4 3x3\n" + "}\n" * 500 + "}\n").encode()


def nested_fors_500() -> bytes:
    return ("model m(inputs: [8, 8, 1]) {\n" + "for i in [1] {\n" * 500 + "conv 4 3x3\n" + "}\n" * 500 + "}\n").encode()


def nested_brackets_500() -> bytes:
    return ("let a = " + "[" * 500 + "1" + "]" * 500 + "\nmodel m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n").encode()


def nested_parens_500() -> bytes:
    return ("let a = " + "(" * 500 + "1" + ")" * 500 + "\nmodel m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n").encode()


def unclosed_brackets_500() -> bytes:
    return ("let a = " + "[" * 500 + "\n").encode()


def nested_defaults_300() -> bytes:
    return ("model m(inputs: [8, 8, 1]) {\n" + "defaults conv: padding=SAME {\n" * 300 + "conv 4 3x3\n"
            + "}\n" * 300 + "}\n").encode()


def chained_named_defaults_300() -> bytes:
    """defaults d0 uses d1 uses ... d299: a 300-deep chain of `use`."""
    parts = [f"defaults d{i}() {{\n  use d{i + 1}()\n  conv: padding=SAME\n}}\n" for i in range(299)]
    parts.append("defaults d299() {\n  conv: padding=SAME\n}\n")
    return ("".join(parts) + "model m(inputs: [8, 8, 1]) uses d0 {\n  conv 4 3x3\n}\n").encode()


def block_chain_500() -> bytes:
    """block b0 calls b1 calls ... b499."""
    parts = [f"block b{i}(d) {{\n  b{i + 1} d\n}}\n" for i in range(499)]
    parts.append("block b499(d) {\n  conv d 1x1\n}\n")
    return ("".join(parts) + "model m(inputs: [8, 8, 1]) {\n  b0 4\n}\n").encode()


def let_function_chain_500() -> bytes:
    parts = ["let f0(x) = x\n"] + [f"let f{i}(x) = f{i - 1}(x) + 1\n" for i in range(1, 500)]
    return ("".join(parts) + "model m(inputs: [8, 8, 1]) {\n  conv f499(1) 3x3\n}\n").encode()


def deep_expression_5000() -> bytes:
    return ("let a = " + "(" * 5000 + "1" + ")" * 5000 + "\nmodel m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n").encode()


def many_errors() -> bytes:
    """100,000 misspelt layers: every error reported, in time."""
    return ("model m(inputs: [8, 8, 1]) {\n" + "  convv 4 3x3\n" * 100_000 + "}\n").encode()


def blocks_of_deep_scopes() -> bytes:
    """60 blocks calling each other, each call 95 scopes deep: within every single limit, past
    Python's stack together."""
    parts = [f"block b{i}(d) {{\n" + "scope s {\n" * 95 + f"  b{i + 1} d\n" + "}\n" * 95 + "}\n" for i in range(60)]
    parts.append("block b60(d) {\n  conv d 1x1\n}\n")
    return ("".join(parts) + "model m(inputs: [8, 8, 1]) {\n  b0 4\n}\n").encode()


def recursive_function_of_deep_expressions() -> bytes:
    """A function recursing 60 deep through an 80-level expression."""
    expr = "n" + " + 1" * 80
    return (f"let f(n) = 0 if n < 1 else f(n - 1) + {expr}\nlet y = f(60)\n"
            "model m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n").encode()


def twenty_thousand_layers() -> bytes:
    """A loop that elaborates 20,001 layers: one past the layer limit."""
    return b"model m(inputs: [8, 8, 1]) {\n  for i in range(20001) {\n    conv 4 3x3\n  }\n}\n"


GENERATORS = {name: fn for name, fn in list(globals().items())
              if callable(fn) and not name.startswith("_") and fn.__module__ == __name__}
