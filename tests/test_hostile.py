"""Issue 13: every hostile program ends in success or a located error, never a traceback or a hang.

Each program runs in its own subprocess, which calls slimlang.cli.main in-process
for `check`, `summary`, `build --emit py` and `fmt --check` (on a temporary copy)
and reports each result as one JSON line; the parent allows 10 s per command.
"""

import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile"
sys.path.insert(0, str(CORPUS))
from generated import GENERATORS  # noqa: E402

LIMIT = 10.0
LOCATED = re.compile(r"^[^:\n]+:\d+:\d+: error\[E\d{3}\]", re.M)
CARET = re.compile(r"^\s*\d*\s*\|.*\^", re.M)

DRIVER = r"""
import contextlib, io, json, os, resource, sys, time, traceback
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway allocation fails, not the machine
proto = os.fdopen(os.dup(1), "w")
from slimlang.cli import main
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    t = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
        except BaseException:
            traceback.print_exc()
            code = "exception"
    clip = lambda s: s if len(s) < 300000 else s[:200000] + "\n...\n" + s[-5000:]  # the header is at the start
    proto.write(json.dumps({"argv": argv, "code": code, "out": clip(out.getvalue()),
                            "err": clip(err.getvalue()), "secs": time.monotonic() - t}) + "\n")
    proto.flush()
"""

PROGRAMS = sorted(p.name[:-5] for p in CORPUS.glob("*.slim"))

# Command-line inputs: (name, extra summary arguments).
SET_CASES = {
    "set_value_is_tensor_name": ["--set", "num_classes=net"],
    "set_value_pow_tower": ["--set", "num_classes=10**10**9"],
    "set_text_after_value": ["--set", "num_classes=10 conv 4 3x3"],
    "set_unterminated_string": ["--set", "num_classes='abc"],
    "set_no_equals": ["--set", "num_classes"],
    "set_unknown_param": ["--set", "num_clases=10"],
    "set_empty_value": ["--set", "num_classes="],
    "set_nul_byte": ["--set", "num_classes=1\x01"],
    "set_newline_injection": ["--set", "num_classes=1\nmodel x() {}"],
    "set_huge_float": ["--set", "num_classes=1e309"],
}
SET_BASE = "model m(inputs: [8, 8, 1], num_classes = 10) {\n  conv 4 3x3\n  flatten\n  fc num_classes as logits\n}\n"


def judge(r):
    """The reason a command's result is unacceptable, or None."""
    text = r["out"] + r["err"]
    if r["code"] == "exception" or "Traceback" in text:
        return "traceback"
    if r["code"] not in (0, 1, 2):
        return f"exit code {r['code']}"
    if r["secs"] > LIMIT:
        return f"took {r['secs']:.1f} s"
    if r["code"] == 1:
        if r["argv"][0] == "fmt" and r["out"].startswith("would reformat") and not r["err"].strip():
            return None
        if not (LOCATED.search(r["err"]) and CARET.search(r["err"])):
            return "unlocated error"
    if r["code"] == 2 and "error" not in r["err"]:
        return "exit 2 without an error message"
    return None


def run_all(commands, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(commands)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results, buf = [], ""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + LIMIT + 5  # the first command also pays for the import
    try:
        while len(results) < len(commands):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                pytest.fail(f"hang: `{' '.join(commands[len(results)])}` ran over {LIMIT:.0f} s")
            chunk = os.read(proc.stdout.fileno(), 1 << 16).decode()
            if not chunk:
                pytest.fail(f"the driver died at `{' '.join(commands[len(results)])}`: {proc.stderr.read()[-3000:]}")
            buf += chunk
            while "\n" in buf:
                line, buf = buf.split("\n", 1)
                results.append(json.loads(line))
                deadline = time.monotonic() + LIMIT
    finally:
        proc.kill()
        proc.wait()
    return results


def check_results(results):
    bad = [(r, judge(r)) for r in results]
    bad = [(r, why) for r, why in bad if why]
    assert not bad, "\n\n".join(f"`slimlang {' '.join(r['argv'])}`: {why} (exit {r['code']})\n{r['err'][-1500:]}"
                                for r, why in bad)


def commands_for(path):
    return [["check", str(path)], ["summary", str(path)], ["build", str(path), "--emit", "py"],
            ["fmt", "--check", str(path)]]


@pytest.mark.parametrize("name", PROGRAMS)
def test_hostile_program(name, tmp_path):
    # A copy beside its relative data paths' targets would write nothing anyway, but fmt --check
    # must never run on tests/ itself; the copy lives in a directory of the same depth.
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    shutil.copy(CORPUS / f"{name}.slim", work / f"{name}.slim")
    check_results(run_all(commands_for(work / f"{name}.slim"), work))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_hostile_program(name, tmp_path):
    path = tmp_path / f"{name}.slim"
    path.write_bytes(GENERATORS[name]())
    check_results(run_all(commands_for(path), tmp_path))


@pytest.mark.parametrize("name", sorted(SET_CASES))
def test_hostile_set_flag(name, tmp_path):
    path = tmp_path / "m.slim"
    path.write_text(SET_BASE)
    check_results(run_all([["summary", str(path), *SET_CASES[name]],
                           ["build", str(path), "--emit", "summary", *SET_CASES[name]]], tmp_path))


def test_corpus_is_large_enough():
    assert len(PROGRAMS) + len(GENERATORS) >= 150
