"""Issue 18: what a command can find wrong without TensorFlow it reports before importing it.

A mistyped data path once cost ~30 s (TensorFlow's import) before `E320 not found`; a missing
checkpoint or predict input cost the same.  Each case runs the command in one subprocess and
asserts on `sys.modules` there, not on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NET = """\
model net(inputs: [8, 8, 1], num_classes = 10) {
  conv 8 3x3 padding=SAME
  flatten
  fc num_classes activation=none as logits
}

train {
  model net
  data npz "DATA" validation=0.2
  loss softmax_cross_entropy
  batch_size 16
  steps 10
}
"""

# Every command in one process: (argv, ...) -> [(exit status, stderr)], and whether TensorFlow was imported.
RUN = """
import contextlib, io, json, sys
from slimlang.cli import main
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    out.append((code, err.getvalue()))
print(json.dumps({"runs": out, "tensorflow": "tensorflow" in sys.modules}))
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("before_tf")
    (tmp / "data").mkdir()
    (tmp / "data" / "digits.npz").write_bytes((ROOT / "examples" / "data" / "digits.npz").read_bytes())
    (tmp / "typo.slim").write_text(NET.replace("DATA", "data/digitz.npz"))
    (tmp / "good.slim").write_text(NET.replace("DATA", "data/digits.npz"))
    (tmp / "folder.slim").write_text(NET.replace("DATA", "data"))
    # A logdir that holds a checkpoint as far as a look at its names can tell (TensorFlow would
    # find it unreadable; nothing here gets that far).
    (tmp / "run").mkdir()
    (tmp / "run" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-5"\n')
    (tmp / "run" / "model.ckpt-5.index").write_bytes(b"")
    (tmp / "empty_run").mkdir()
    return tmp


CASES = {
    "check": (["check", "typo.slim"], "typo.slim:9:12: error[E320]: npz file data/digitz.npz not found",
              "help: did you mean the file `digits.npz`?"),
    "train": (["train", "typo.slim", "--logdir", "new_run"],
              "typo.slim:9:12: error[E320]: npz file data/digitz.npz not found", "did you mean the file `digits.npz`?"),
    "train-folder": (["train", "folder.slim", "--logdir", "new_run"],
                     "folder.slim:9:12: error[E320]: npz file data is a folder, not a regular file",
                     "help: did you mean data/digits.npz?"),
    "eval-data": (["eval", "typo.slim", "--logdir", "run"], "error[E320]: npz file data/digitz.npz not found", ""),
    "eval-no-logdir": (["eval", "good.slim", "--logdir", "nowhere"], "good.slim:7:1: error[E344]: no checkpoint in nowhere",
                       "help: train first"),
    "export-empty": (["export", "good.slim", "--logdir", "empty_run", "--out", "exported"],
                     "error[E344]: no checkpoint in empty_run", ""),
    "eval-best": (["eval", "good.slim", "--logdir", "run", "--best"],
                  "error[E344]: no best checkpoint in run (no run/best folder)", ""),
    "eval-checkpoint": (["eval", "good.slim", "--checkpoint", "run/model.ckpt-7"],
                        "error[E344]: checkpoint run/model.ckpt-7 not found", "note: there are: model.ckpt-5"),
    "predict-missing": (["predict", "good.slim", "--logdir", "run", "data/digitz.npz"],
                        "error[E360]: input data/digitz.npz not found", "help: did you mean `digits.npz`?"),
    "predict-folder": (["predict", "good.slim", "--logdir", "run", "data"], "error[E360]: input data is a folder", ""),
    "predict-kind": (["predict", "good.slim", "--logdir", "run", "good.slim"],
                     "error[E360]: input good.slim: cannot tell what it holds from `.slim`", ""),
}


@pytest.fixture(scope="module")
def outcomes(project):
    env = {k: v for k, v in os.environ.items() if k != "SLIMLANG_VERBOSE"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", RUN, json.dumps([argv for argv, _, _ in CASES.values()])],
                       capture_output=True, text=True, cwd=project, env=env, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.splitlines()[-1])
    return dict(zip(CASES, result["runs"])), result["tensorflow"]


def test_none_of_these_mistakes_imports_tensorflow(outcomes):
    _, imported = outcomes
    assert imported is False


@pytest.mark.parametrize("case", list(CASES))
def test_the_mistake_is_reported_before_tensorflow(outcomes, project, case):
    runs, _ = outcomes
    code, err = runs[case]
    _, first, note = CASES[case]
    assert code == 1, err
    assert first in err.splitlines()[0], err
    assert note in err
    assert "Traceback" not in err
    assert not (project / "new_run").exists() and not (project / "exported").exists()
