"""Source files that are not UTF-8 (E901), numbers that overflow to infinity (E931, E932), and
fmt's round-trip check (E930): every one a located error, never a bare file name (issue 13)."""

from __future__ import annotations

import codecs
import re
import shutil
from pathlib import Path

import pytest

from slimlang.checker import check_text, read_source
from slimlang.cli import main
from slimlang.diagnostics import SlimError
from slimlang.parser import parse
from slimlang.tools import fmt

HOSTILE = Path(__file__).resolve().parent / "hostile"
MODEL = "model m(inputs: [8, 8, 1]) {\n  conv 4 3x3\n}\n"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def copy(tmp_path, name):
    dst = tmp_path / f"{name}.slim"
    shutil.copy(HOSTILE / f"{name}.slim", dst)
    return dst


def snippet(err: str) -> tuple[str, str]:
    """The source line and the caret line of the first diagnostic in `err`."""
    lines = err.splitlines()
    i = next(i for i, line in enumerate(lines) if re.match(r"\s*\d+ \| ", line))
    return lines[i].split(" | ", 1)[1], lines[i + 1].split(" | ", 1)[1]


# ------------------------------------------------------------- not UTF-8 ---

# name -> (line:col, message, a note, the text before the caret on the shown line, the caret)
ENCODINGS = {
    "bad_utf8": ("2:17", "this file is not UTF-8: byte 0xFF cannot start a character", "re-save it as UTF-8",
                 "  conv 4 3x3 as ", "^"),
    "bad_utf8_in_comment": ("1:6", "byte 0xE9 starts a character that the next byte does not continue",
                            "byte 0xE9 is `é`", "# caf", "^"),
    "latin1_file": ("1:5", "byte 0xF6 cannot start a character", "in Latin-1 / Windows-1252, byte 0xF6 is `ö`",
                    "# gr", "^"),
    "surrogate_escape_bytes": ("2:18", "bytes 0xED 0xA0 0x80 encode U+D800, a UTF-16 surrogate", "CESU-8",
                               '  conv 4 3x3 as "', "^^^"),
    "utf16_file": ("1:1", "this file is UTF-16 text; slimlang reads UTF-8", "UTF-16 byte-order mark 0xFF 0xFE",
                   "", "^^"),
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
@pytest.mark.parametrize("command", [["check"], ["summary"], ["build", "--emit", "py"], ["fmt", "--check"]])
def test_not_utf8_is_located_at_the_first_bad_byte(name, command, tmp_path, capsys):
    path = copy(tmp_path, name)
    where, message, note, before, caret = ENCODINGS[name]
    argv = [command[0], str(path), *command[1:]]
    code, out, err = run(capsys, *argv)
    assert code == 1, err
    assert err.startswith(f"{path}:{where}: error[E901]: "), err
    assert message in err.splitlines()[0]
    assert note in err
    shown, carets = snippet(err)
    assert shown.startswith(before + "\ufffd"), shown  # the bad bytes shown as U+FFFD
    assert carets == " " * len(before) + caret
    assert "Traceback" not in err and out == ""


def test_utf16_line_is_shown_without_its_nul_bytes(tmp_path, capsys):
    path = copy(tmp_path, "utf16_file")
    _, _, err = run(capsys, "check", str(path))
    shown, _ = snippet(err)
    assert shown == "\ufffd\ufffdmodel m(inputs: [8, 8, 1]) {"
    assert f"iconv -f UTF-16 -t UTF-8 {path}" in err


def test_utf32_byte_order_mark_is_named(tmp_path, capsys):
    path = tmp_path / "m.slim"
    path.write_bytes(MODEL.encode("utf-32"))
    code, _, err = run(capsys, "check", str(path))
    assert code == 1
    assert err.startswith(f"{path}:1:1: error[E901]: this file is UTF-32 text; slimlang reads UTF-8"), err


def test_bad_byte_on_a_later_line_counts_lines_and_columns_in_characters(tmp_path):
    path = tmp_path / "m.slim"
    # two-byte and three-byte characters before the bad byte count as one column each
    path.write_bytes("# é ✓\nlet s = \"ü\"\n".encode() + b"let t = \"\xc3(\"\n" + MODEL.encode())
    with pytest.raises(SlimError) as e:
        read_source(path)
    d = e.value.first
    assert (d.code, d.span.line, d.span.col) == ("E901", 3, 10)
    assert "byte 0xC3 starts a character that the next byte does not continue" in d.message


def test_utf8_byte_order_mark_is_accepted(tmp_path, capsys):
    path = tmp_path / "m.slim"
    data = codecs.BOM_UTF8 + MODEL.encode()
    path.write_bytes(data)
    assert run(capsys, "check", str(path))[0] == 0
    assert run(capsys, "fmt", "--check", str(path))[0] == 0
    assert run(capsys, "fmt", str(path))[0] == 0
    assert path.read_bytes() == data  # already canonical: fmt leaves the file alone


def test_unreadable_paths_stay_e900(tmp_path, capsys):
    code, _, err = run(capsys, "check", str(tmp_path / "missing.slim"), str(tmp_path))
    assert code == 1
    assert f"error[E900]: no such file: {tmp_path / 'missing.slim'}" in err
    assert f"error[E900]: cannot read {tmp_path}: it is a directory" in err


# ------------------------------------------------------------- infinity ---

# name -> (line:col of the overflowing literal)
OVERFLOWS = {"ceil_inf": "1:14", "float_overflow": "1:9", "float_overflow_direct": "2:11", "inf_outputs": "1:9",
             "int_of_inf": "1:13", "int_of_nan": "1:13", "nan_computed": "1:9", "round_inf": "1:15",
             "train_steps_huge": "10:9"}


@pytest.mark.parametrize("name", sorted(OVERFLOWS))
def test_overflowing_literal_is_located_by_check(name, tmp_path, capsys):
    path = copy(tmp_path, name)
    code, _, err = run(capsys, "check", str(path))
    assert code == 1
    first = err.splitlines()[0]
    assert first == (f"{path}:{OVERFLOWS[name]}: error[E931]: the number `1e309` is too large: "
                     "floats stop at about 1.8e308, so it would be infinity"), err
    shown, carets = snippet(err)
    col = int(OVERFLOWS[name].split(":")[1])
    assert carets == " " * (col - 1) + "^^^^^"
    assert shown[col - 1:col + 4] == "1e309"
    # one error per overflowing literal, and no follow-on error from evaluating infinity
    assert err.count("error[") == err.count("error[E931]") == path.read_text().count("1e309")


@pytest.mark.parametrize("name", sorted(OVERFLOWS))
def test_fmt_keeps_overflowing_literals(name, tmp_path, capsys):
    path = copy(tmp_path, name)
    out = fmt.format_text(path.read_text(), str(path))
    assert "1e309" in out and "inf" not in out.replace("inf_", "")
    code, _, err = run(capsys, "fmt", "--check", str(path))
    assert code in (0, 1) and err == "", err  # at most "would reformat", never E930


def test_integer_of_infinity_or_nan_is_located():
    src = ("let big = 1e308 * 10\nlet a = int(big)\nlet b = round(big - big)\nlet c = ceil(-big)\n"
           "let d = floor(big)\nlet e = round(big, 2)\n" + MODEL)
    with pytest.raises(SlimError) as e:
        check_text(src, "m.slim")
    got = [(d.code, d.span.line, d.span.col, d.message) for d in e.value.diagnostics]
    assert got == [
        ("E932", 2, 9, "cannot take `int` of infinity: it has no integer value"),
        ("E932", 3, 9, "cannot take `round` of nan (not a number): it has no integer value"),
        ("E932", 4, 9, "cannot take `ceil` of -infinity: it has no integer value"),
        ("E932", 5, 9, "cannot take `floor` of infinity: it has no integer value"),
    ]  # round(x, 2) of infinity is infinity, not an error
    assert "overflowing" in e.value.diagnostics[0].notes[0]
    assert "inf - inf" in e.value.diagnostics[1].notes[0]


def test_largest_float_literal_is_fine():
    check_text("let a = 1.7e308\nlet b = 1e-400\n" + MODEL)


# ----------------------------------------------------- fmt's round trip ---


def test_fmt_prints_infinity_as_a_literal_without_the_source_text(monkeypatch):
    # Without the spelling from the source, infinity must still print as a number (repr's `inf`
    # would read back as a name).
    monkeypatch.setattr(fmt, "_number_as_written", lambda e: None)
    out = fmt.format_text((HOSTILE / "train_steps_huge.slim").read_text())
    assert "steps 1e309" in out
    assert parse(out).items[-1].settings[-1].args[0].value == float("inf")


def _break_float_printing(monkeypatch):
    """Make fmt print floats with repr, as it once did: `1e309` becomes `inf`, a name."""
    monkeypatch.setattr(fmt, "_number_as_written", lambda e: None)
    const = fmt._const
    monkeypatch.setattr(fmt, "_const", lambda v: repr(v) if isinstance(v, float) else const(v))


def test_fmt_meaning_change_names_the_first_place(monkeypatch, tmp_path, capsys):
    _break_float_printing(monkeypatch)
    path = copy(tmp_path, "train_steps_huge")
    before = path.read_bytes()
    code, _, err = run(capsys, "fmt", str(path))
    assert code == 1
    assert err.splitlines()[0] == (f"{path}:10:9: error[E930]: fmt would change the meaning of this file here; "
                                   "please report this with the input file")
    shown, carets = snippet(err)
    assert (shown, carets) == ("  steps 1e309", "        ^^^^^")
    assert "= note: fmt would write `inf` here" in err
    assert path.read_bytes() == before


def test_fmt_meaning_change_inside_an_expression(monkeypatch):
    _break_float_printing(monkeypatch)
    with pytest.raises(fmt.FormatError) as e:
        fmt.format_text("let a = 2\n\nlet b = [1, 2.5, 3 * 1e309]\n" + MODEL, "m.slim")
    assert (e.value.span.line, e.value.span.col, e.value.span.end_col) == (3, 22, 27)
    assert e.value.notes == ("note: fmt would write `inf` here",)


def test_fmt_output_that_does_not_parse_is_located_at_its_source_line(monkeypatch):
    monkeypatch.setattr(fmt, "positional_layer_arg", lambda e: ")")
    with pytest.raises(fmt.FormatError) as e:
        fmt.format_text("let a = 1\n\nmodel m(inputs: [8, 8, 1]) {\n  flatten\n  conv 4 3x3\n}\n", "m.slim")
    assert str(e.value).startswith("fmt produced text that does not parse (")
    span = e.value.span
    assert (span.line, span.col, span.end_col) == (5, 3, 13)
    assert e.value.notes == ("note: fmt would write: conv ) )",)


def test_fmt_dropped_comment_is_located(monkeypatch):
    monkeypatch.setattr(fmt, "scan_comments", _no_comments_in_output(fmt.scan_comments))
    with pytest.raises(fmt.FormatError) as e:
        fmt.format_text("let a = 1  # one\n" + MODEL, "m.slim")
    span = e.value.span
    assert (span.line, span.col, span.end_col) == (1, 12, 17)
    assert str(e.value).startswith("fmt would drop the comment '# one'")


def _no_comments_in_output(scan):
    """scan_comments that finds no comments in the formatted text (the third call: the printer's,
    then the check's scans of the input and of the output)."""
    calls = []

    def fake(text):
        calls.append(text)
        return [] if len(calls) == 3 else scan(text)

    return fake


@pytest.mark.parametrize("literal", ["1E+309", "1e0309", "2.5e400", "1" + "0" * 309 + ".0"])
def test_every_spelling_of_an_overflowing_literal_is_found(literal):
    # check_module skips the walk over the tree when the text cannot hold such a literal
    with pytest.raises(SlimError) as e:
        check_text(f"let a = {literal}\n" + MODEL, "m.slim")
    d = e.value.first
    assert (d.code, d.span.line, d.span.col, d.span.end_col) == ("E931", 1, 9, 9 + len(literal))
