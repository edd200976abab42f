"""Property test: a mutated example file gives a clean SlimError or nothing, never a crash."""

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slimlang.checker import check_text
from slimlang.diagnostics import SlimError

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").rglob("*.slim"))
TEXTS = [p.read_text() for p in EXAMPLES]
ALPHABET = "abcxyz_019 \n\t;:,=()[]{}\"'#/*+-.<>!\\x3"


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(TEXTS))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    for _ in range(draw(st.integers(1, 4))):
        op = rng.choice(["delete", "insert", "swap", "dupline", "dropline"])
        if not text:
            break
        i = rng.randrange(len(text))
        if op == "delete":
            j = min(len(text), i + rng.randint(1, 8))
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))) + text[i:]
        elif op == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        else:
            lines = text.split("\n")
            k = rng.randrange(len(lines))
            if op == "dupline":
                lines.insert(k, lines[k])
            else:
                del lines[k]
            text = "\n".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_give_clean_errors(text):
    try:
        check_text(text, "mutant.slim")
    except SlimError as e:
        rendered = e.render()
        assert "error[E" in rendered
        for d in e.diagnostics:
            if d.span is not None and d.span.source is not None:
                assert d.span.line >= 1 and d.span.col >= 1
