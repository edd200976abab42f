"""Golden cases: each folder in tests/cases holds `input.slim` and either
`expected.err` (what `slimlang check` prints, exit 1) or `expected.summary`
(what `slimlang summary` prints with the arguments in `args`, exit 0).
Run `pytest tests/test_cases.py --update-golden` to rewrite the expectations.
"""

import contextlib
import io
import shlex
from pathlib import Path

import pytest

from slimlang.cli import main

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, request, monkeypatch):
    monkeypatch.chdir(case)
    update = request.config.getoption("--update-golden")
    if (case / "expected.err").exists():
        code, out, err = run_cli(["check", "input.slim"])
        assert code == 1, f"expected a user error, got exit {code}: {out}{err}"
        assert "Traceback" not in err
        expected = case / "expected.err"
        got = err
    else:
        args = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
        code, out, err = run_cli(["summary", "input.slim", *args])
        assert code == 0, err
        expected = case / "expected.summary"
        got = out
    if update:
        expected.write_text(got)
    assert got == expected.read_text()


def test_there_are_at_least_30_distinct_error_cases():
    codes = {(c / "expected.err").read_text().split("error[")[1][:4]
             for c in CASES if (c / "expected.err").exists() and (c / "expected.err").read_text()}
    errors = [c for c in CASES if (c / "expected.err").exists()]
    assert len(errors) >= 30 and len(codes) >= 20, (len(errors), sorted(codes))


def test_error_lines_carry_file_line_column_and_caret():
    for c in CASES:
        if (c / "expected.err").exists():
            text = (c / "expected.err").read_text()
            first = text.splitlines()[0]
            assert first.startswith("input.slim:") and ": error[E" in first, (c.name, first)
            assert "^" in text, c.name
