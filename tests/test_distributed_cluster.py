"""Clusters on 127.0.0.1 (issue 15): 1 ps + 2 workers train examples/digits.slim, asynchronously and with
--sync-replicas; a worker and the chief killed and restarted; a ps killed, then the whole cluster
restarted.

Every process a test starts is stopped by its pid in a `finally`, and each
test checks that none is left running.
"""

import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from slimlang.training import cluster

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")]

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = str(ROOT / "examples" / "digits.slim")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) is not running
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class Tasks:
    """The tasks of one cluster, started as `slimlang train` processes with their TF_CONFIG."""

    def __init__(self, argv, counts):
        self.argv = argv
        self.cfg = cluster.local_cluster_config(counts)
        self.procs: dict = {}
        self.pids: list[int] = []
        self.out: dict = {}

    def start(self, job, i):
        p = cluster.start_task(self.argv, self.cfg, job, i)
        self.procs[(job, i)] = p
        self.pids.append(p.pid)
        lines = self.out.setdefault((job, i), [])

        def pump():
            for line in p.stdout:
                lines.append(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        return p

    def text(self, job, i) -> str:
        return "\n".join(self.out.get((job, i), []))

    def wait_for(self, job, i, pattern, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text(job, i))
            if m:
                return m
            p = self.procs[(job, i)]
            if p.poll() is not None and not re.search(pattern, self.text(job, i)):
                raise AssertionError(f"{job} {i} exited ({p.returncode}) before /{pattern}/:\n{self.text(job, i)[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"{job} {i}: no /{pattern}/ within {timeout} s:\n{self.text(job, i)[-3000:]}")

    def kill(self, job, i):
        p = self.procs[(job, i)]
        p.kill()
        p.wait()

    def wait(self, job, i, timeout=240) -> int:
        return self.procs[(job, i)].wait(timeout=timeout)

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
        for p in self.procs.values():
            p.wait()


@pytest.fixture
def tasks():
    made = []

    def make(argv, counts):
        t = Tasks(argv, counts)
        made.append(t)
        return t

    try:
        yield make
    finally:
        for t in made:
            t.stop_all()
    for t in made:
        assert not [pid for pid in t.pids if alive(pid)], "a task is still running"


def accuracy(logdir) -> float:
    from types import SimpleNamespace

    from slimlang.training import evaluate
    from slimlang.training.commands import resolve

    args = SimpleNamespace(file=DIGITS, section=None, model=None, set=[], logdir=str(logdir), steps=None, epochs=None,
                           batch_size=None, init_from=None, checkpoint=None, plugin=[], handler=None)
    spec, model_fn, name, _ = resolve(args)
    return evaluate(spec, model_fn, logdir=str(logdir), model_name=name).metrics["accuracy"]


def local_cluster(tmp_path, *flags, timeout=400):
    """`slimlang train digits.slim --local-cluster ...` as a user runs it; (status, output)."""
    cmd = [sys.executable, "-c", cluster.PYTHON_MAIN, "train", DIGITS, "--logdir", str(tmp_path / "run"), *flags]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)  # the supervisor and the tasks it started
            p.wait()
    return p.returncode, out


def task_pids(out: str) -> list[int]:
    return [int(x) for x in re.findall(r"pid (\d+)", out)]


def test_local_cluster_async_with_evaluator_trains_digits(tmp_path):
    status, out = local_cluster(tmp_path, "--steps", "300", "--local-cluster", "workers=2,ps=1,evaluator=1")
    assert status == 0, out[-4000:]
    for role in ("[ps 0]", "[worker 0]", "[worker 1]", "[evaluator 0]"):
        assert role in out
    assert "asynchronous" in out and "every training task finished; exiting" in out
    # the chief's last checkpoint is at the final step (or the one after it another worker's update made)
    assert re.search(r"\[worker 0\] worker 0 trained .*checkpoint .*model\.ckpt-30[0-9]$", out, re.M), out[-3000:]
    # the evaluator evaluated the final checkpoint and wrote its summaries under LOGDIR/eval
    assert re.search(r"\[evaluator 0\] model\.ckpt-3\d\d \(step 3\d\d\): accuracy", out), out[-3000:]
    assert list((tmp_path / "run" / "eval").glob("events.out.tfevents.*"))
    assert accuracy(tmp_path / "run") >= 0.97
    assert not [pid for pid in task_pids(out) if alive(pid)]


def test_local_cluster_sync_replicas_trains_digits(tmp_path):
    status, out = local_cluster(tmp_path, "--steps", "200", "--sync-replicas", "--local-cluster", "workers=2,ps=1")
    assert status == 0, out[-4000:]
    assert "synchronous, 2 of 2 per update" in out
    # 200 updates of 2 gradients each: the two workers ran about 400 steps between them
    ran = [int(n) for n in re.findall(r"worker \d trained (\d+) steps", out)]
    assert len(ran) == 2 and 390 <= sum(ran) <= 410, ran
    assert accuracy(tmp_path / "run") >= 0.97


def test_port_in_use_and_peer_that_never_comes_up_are_errors_in_bounded_time(tmp_path, tasks):
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        argv = ["train", DIGITS, "--logdir", str(tmp_path / "run"), "--steps", "10", "--no-progress",
                "--peer-timeout", "3"]
        port, nobody = cluster.free_ports(2)
        # worker 0's own port is taken; worker 1's ps never comes up
        taken = tasks(argv, {})
        taken.cfg = {"worker": [f"127.0.0.1:{busy.getsockname()[1]}"], "ps": [f"127.0.0.1:{nobody}"]}
        lonely = tasks(argv, {})
        lonely.cfg = {"worker": [f"127.0.0.1:{port}"], "ps": [f"127.0.0.1:{nobody}"]}
        t0 = time.monotonic()
        taken.start("worker", 0)
        lonely.start("worker", 0)
        assert taken.wait("worker", 0, timeout=200) == 1
        assert lonely.wait("worker", 0, timeout=200) == 1
        assert time.monotonic() - t0 < 200
    finally:
        busy.close()
    assert "error[E372]: worker 0 cannot listen on 127.0.0.1:" in taken.text("worker", 0)
    assert "error[E371]: ps 0 at 127.0.0.1:" in lonely.text("worker", 0)
    assert "did not come up within 3 s" in lonely.text("worker", 0)


def test_a_failing_task_stops_the_local_cluster_naming_it(tmp_path):
    # A missing init_from is E330 in each worker that checks it; the first to fail stops the others.
    status, out = local_cluster(tmp_path, "--steps", "50", "--init-from", str(tmp_path / "nothing"),
                                "--local-cluster", "workers=2,ps=1")
    assert status == 1, out[-3000:]
    assert re.search(r"\[worker \d\] .*error\[E330\]", out), out[-3000:]
    assert re.search(r"error\[E374\]: worker \d of the local cluster failed \(exit status 1\); every other task was "
                     r"stopped", out), out[-3000:]
    assert "Traceback" not in out


def test_worker_and_chief_killed_and_restarted(tmp_path, tasks):
    logdir = tmp_path / "run"
    argv = ["train", DIGITS, "--logdir", str(logdir), "--steps", "900", "--no-progress", "--peer-timeout", "120"]
    c = tasks(argv, {"worker": 2, "ps": 1})
    c.start("ps", 0)
    c.start("worker", 0)
    c.start("worker", 1)
    c.wait_for("worker", 1, r"step \d+/900")
    c.kill("worker", 1)
    c.start("worker", 1)  # the same command: it rejoins
    c.wait_for("worker", 0, r"step [2-9]\d\d/900")
    # the chief: killed after a checkpoint, restarted, it resumes from that checkpoint
    deadline = time.monotonic() + 120
    while not list(logdir.glob("model.ckpt-*.index")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(logdir.glob("model.ckpt-*.index"))
    c.kill("worker", 0)
    before = sorted(int(re.search(r"-(\d+)\.index", f.name).group(1)) for f in logdir.glob("model.ckpt-*.index"))
    c.start("worker", 0)
    assert c.wait("worker", 0) == 0, c.text("worker", 0)[-3000:]
    assert c.wait("worker", 1) == 0, c.text("worker", 1)[-3000:]
    assert c.wait("ps", 0, timeout=60) == 0
    lines = c.out[("worker", 0)]
    restart = max(i for i, line in enumerate(lines) if "starting at step 0" in line or "resuming from" in line)
    assert f"resuming from {logdir}/model.ckpt-{before[-1]} at step {before[-1]}" in lines[restart]
    assert c.text("worker", 1).count("training digits_net on shard 1 of 2") == 2  # rejoined
    assert re.search(r"model\.ckpt-9\d\d$", c.text("worker", 0), re.M)  # finished at the target step
    assert accuracy(logdir) >= 0.9


def checkpoint_files(logdir) -> dict:
    """Every file of every checkpoint in logdir: name -> (size, mtime)."""
    return {f.name: (f.stat().st_size, f.stat().st_mtime_ns) for f in logdir.glob("model.ckpt-*")}


def test_ps_killed_stops_the_workers_then_the_restarted_cluster_resumes(tmp_path, tasks):
    """A ps killed: the workers exit with E373 in bounded time and nothing written before is lost;
    the same commands started again resume from the last checkpoint and finish."""
    logdir = tmp_path / "run"
    argv = ["train", DIGITS, "--logdir", str(logdir), "--steps", "2000", "--no-progress", "--peer-timeout", "15"]
    c = tasks(argv, {"worker": 2, "ps": 1})
    c.start("ps", 0)
    c.start("worker", 0)
    c.start("worker", 1)
    c.wait_for("worker", 1, r"step \d+/2000")
    deadline = time.monotonic() + 180
    while not list(logdir.glob("model.ckpt-*.index")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(logdir.glob("model.ckpt-*.index")), c.text("worker", 0)[-3000:]
    c.kill("ps", 0)
    t0 = time.monotonic()
    for i in (0, 1):
        assert c.wait("worker", i, timeout=120) == 1
        assert "error[E373]" in c.text("worker", i), c.text("worker", i)[-3000:]
        assert "Traceback" not in c.text("worker", i)
    assert time.monotonic() - t0 < 120  # --peer-timeout 15, closing bounded at 10 s, on a loaded machine
    kept = checkpoint_files(logdir)
    last = max(int(re.search(r"-(\d+)\.index$", n).group(1)) for n in kept if n.endswith(".index"))
    assert last < 2000

    for job, i in (("ps", 0), ("worker", 0), ("worker", 1)):  # the whole cluster, the same commands
        c.start(job, i)
    assert c.wait("worker", 0) == 0, c.text("worker", 0)[-3000:]
    assert c.wait("worker", 1) == 0, c.text("worker", 1)[-3000:]
    assert c.wait("ps", 0, timeout=60) == 0
    assert f"resuming from {logdir}/model.ckpt-{last} at step {last}" in c.text("worker", 0)
    # nothing written before the kill was lost or rewritten, but for old checkpoints the chief
    # rotated out (keep_checkpoints) after the restart
    now = checkpoint_files(logdir)
    assert all(now[n] == kept[n] for n in kept if n in now)
    assert f"model.ckpt-{last}.index" in kept
    assert re.search(r"model\.ckpt-2\d\d\d$", c.text("worker", 0), re.M), c.text("worker", 0)[-2000:]
    assert accuracy(logdir) >= 0.9
