"""One registry of error codes (slimlang/errors.py), one meaning each, and the docs made from it."""

import re
from pathlib import Path

import slimlang
from slimlang import errors

PACKAGE = Path(slimlang.__file__).resolve().parent
CODE = re.compile(r"""["'](E\d{3})["']""")


def codes_in_source() -> dict:
    used = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("errors.py", "codes.py"):
            continue
        for m in CODE.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(m.group(1), path.relative_to(PACKAGE).as_posix())
    return used


def test_every_code_the_source_raises_is_registered():
    missing = {c: where for c, where in codes_in_source().items() if c not in errors.ALL}
    assert not missing, f"codes used but not in slimlang/errors.py or training/codes.py: {missing}"


def test_every_registered_code_is_used():
    unused = sorted(set(errors.ALL) - set(codes_in_source()))
    assert not unused, f"registered codes nothing raises: {unused}"


def test_each_code_has_one_meaning_and_a_family():
    assert not set(errors.CODES) & set(errors._TRAIN_CODES), "a code in both registries"
    for code, meaning in errors.ALL.items():
        assert re.fullmatch(r"E\d{3}", code) and meaning.strip() and errors.family(code), code


def test_the_docs_list_every_code():
    text = (PACKAGE.parent / "docs" / "language.md").read_text(encoding="utf-8")
    for code, meaning in errors.ALL.items():
        assert f"| {code} | {errors.family(code)} | {meaning} |" in text, code
