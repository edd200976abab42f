"""SIGKILL a training run and run the same command again: it resumes from the latest complete checkpoint."""

import os
import pathlib
import random
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "data" / "digits.npz"

SLIM = f"""\
model digits_net(inputs, num_classes = 10, is_training = true) {{
  conv 32 3x3 padding=SAME as conv1
  conv 64 3x3 padding=SAME as conv2
  flatten
  fc 128 as fc3
  fc num_classes activation=none as logits
}}

train {{
  data npz "{DIGITS}" validation=0.2
  loss softmax_cross_entropy
  optimizer momentum lr=0.01
  batch_size 64
  steps STEPS
  save_interval_steps EVERY
  keep_checkpoints 3
  log_every 10
}}
"""


def command(f, logdir):
    return [sys.executable, "-m", "slimlang.cli", "train", str(f), "--logdir", str(logdir), "--no-progress"]


def start(f, logdir):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(command(f, logdir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT, env=env)


def wait_for(path_glob, logdir, proc, timeout=240):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        found = sorted(logdir.glob(path_glob))
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail("training ended before its first checkpoint:\n" + proc.stdout.read())
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no checkpoint appeared")


def latest_step(logdir):
    text = (logdir / "checkpoint").read_text()
    return int(re.search(r'model_checkpoint_path: "[^"]*model\.ckpt-(\d+)"', text).group(1))


@pytest.mark.slow
def test_sigkill_after_first_checkpoint_then_resume_to_the_end(tmp_path):
    f = tmp_path / "digits.slim"
    f.write_text(SLIM.replace("STEPS", "3000").replace("EVERY", "25"))
    logdir = tmp_path / "L"
    proc = start(f, logdir)
    wait_for("model.ckpt-25.index", logdir, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = latest_step(logdir)
    assert killed_at >= 25
    # same command, a shorter run so the test stays quick: it continues from the checkpoint
    f.write_text(SLIM.replace("STEPS", str(killed_at + 60)).replace("EVERY", "25"))
    r = subprocess.run(command(f, logdir), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"resuming from {logdir}/model.ckpt-{killed_at} at step {killed_at}" in r.stderr
    assert f"trained steps {killed_at}..{killed_at + 60}" in r.stderr
    assert latest_step(logdir) == killed_at + 60


@pytest.mark.slow
def test_sigkill_at_random_moments_while_saving_every_step(tmp_path):
    """Kills land anywhere, including in the middle of writing a checkpoint; every restart succeeds."""
    f = tmp_path / "digits.slim"
    f.write_text(SLIM.replace("STEPS", "100000").replace("EVERY", "1"))
    logdir = tmp_path / "L"
    rng = random.Random(0)
    steps = []
    for _ in range(1):
        proc = start(f, logdir)
        before = steps[-1] if steps else 0
        wait_for(f"model.ckpt-{before + 3}.index", logdir, proc)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        steps.append(latest_step(logdir))
    final = steps[-1] + 5
    f.write_text(SLIM.replace("STEPS", str(final)).replace("EVERY", "1"))
    r = subprocess.run(command(f, logdir), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    m = re.search(r"resuming from \S+/model\.ckpt-(\d+) at step \1$", r.stderr, re.MULTILINE)
    assert m and int(m.group(1)) >= steps[-1] - 1, r.stderr
    assert latest_step(logdir) == final
    assert "Traceback" not in r.stderr
    # kills during the saver's deletion of old checkpoints leave data files without their index: removed
    for data in logdir.glob("model.ckpt-*.data-*"):
        assert (logdir / (data.name.split(".data-")[0] + ".index")).is_file(), f"orphan {data.name}"
    assert not list(logdir.glob("*_temp")) and not list(logdir.glob("checkpoint.tmp*"))


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exits_130(tmp_path):
    f = tmp_path / "digits.slim"
    f.write_text(SLIM.replace("STEPS", "100000").replace("EVERY", "1000000"))
    logdir = tmp_path / "L"
    proc = start(f, logdir)
    t0 = time.monotonic()
    out = ""
    while "training digits_net" not in out and time.monotonic() - t0 < 240:  # wait for the first steps
        line = proc.stdout.readline()
        if not line:
            break
        out += line
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    out += rest
    assert proc.returncode == 130, out
    m = re.search(r"stopped by SIGTERM at step (\d+); saved model\.ckpt-(\d+)", out)
    assert m and m.group(1) == m.group(2), out
    assert latest_step(logdir) == int(m.group(1)) > 0
