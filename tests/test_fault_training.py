"""Fault tests for the logdir and export (issue 13, "Data loss" and the file-system tracebacks).

- export --out: refused (nothing touched) when it is or holds the logdir or checkpoints,
  a folder of other files, a file, a path under a file; --overwrite swaps a verified
  SavedModel in and a failed export leaves the previous one as it was;
- train: one trainer per logdir (flock; the error names the holder's pid; a SIGKILL
  frees it), orphan `model.ckpt-N.data-*` removed at start, a logdir that is a file,
  under a file, read-only or on a full disk is a located error, never a traceback,
  and never a half-written checkpoint.
"""

import errno
import os
import pathlib
import signal
import subprocess
import sys
import threading

import pytest

from slimlang.cli import main
from slimlang.diagnostics import SlimError, UsageError

tfc = pytest.importorskip("slimlang.tfcompat")
tf = tfc.tf
tf1 = tf.compat.v1

from slimlang.training import checkpoints, loop, saved_model  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "data" / "digits.npz"
SLIM = f"""\
model tiny(inputs: [8, 8, 1], num_classes = 10, is_training = true) {{
  conv 4 3x3 as conv1
  flatten
  fc num_classes activation=none as logits
}}

train {{
  data npz "{DIGITS}" validation=0.2 seed=1
  loss softmax_cross_entropy
  optimizer adam lr=0.01
  batch_size 32
  steps STEPS
}}
"""


def write(tmp_path, steps=10, name="tiny.slim"):
    f = tmp_path / name
    f.write_text(SLIM.replace("STEPS", str(steps)))
    return f


def tree(folder: pathlib.Path) -> dict:
    """{relative path: bytes or 'dir'} of everything under `folder`."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "dir" if p.is_dir() else p.read_bytes()
    return out


def run(capsys, argv):
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return rc, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fault")
    f = write(tmp)
    logdir = tmp / "runs" / "L"
    assert main(["train", str(f), "--logdir", str(logdir), "--no-progress"]) == 0
    return tmp, f, logdir


# ------------------------------------------------------------ export --out ---


def test_guard_out_refusals(tmp_path):
    logdir = tmp_path / "runs" / "L"
    logdir.mkdir(parents=True)
    (logdir / "model.ckpt-5.index").write_text("")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "notes.txt").write_text("mine")
    (tmp_path / "ckpts").mkdir()
    (tmp_path / "ckpts" / "checkpoint").write_text("")
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "link").symlink_to("runs/L")
    before = tree(tmp_path)
    cases = [
        (logdir, "E353", "is the logdir"),
        (tmp_path / "link", "E353", "is the logdir"),  # a symlink to it
        (tmp_path / "runs", "E353", "contains the logdir"),
        (tmp_path, "E353", "contains the logdir"),
        (logdir / "sub", "E353", "is inside the logdir"),
        (tmp_path / "ckpts", "E353", "holds checkpoints"),
        (tmp_path / "proj", "E354", "folder of other files"),
        (tmp_path / "afile", "E355", "is a file"),
        (tmp_path / "afile" / "x", "E355", "is a file, not a folder"),
    ]
    for out, code, words in cases:
        with pytest.raises(SlimError) as e:
            saved_model.guard_out(str(out), overwrite=True, logdir=str(logdir))
        d = e.value.diagnostics[0]
        assert d.code == code and words in d.message, (out, d.message)
    with pytest.raises(UsageError):
        saved_model.guard_out("  ", overwrite=True, logdir=str(logdir))
    src = tmp_path / "exports" / "net.slim"
    src.parent.mkdir()
    src.write_text("")
    with pytest.raises(SlimError) as e:
        saved_model.guard_out(str(tmp_path / "exports"), overwrite=True, protected=[str(src)])
    assert e.value.diagnostics[0].code == "E353" and "net.slim" in e.value.diagnostics[0].message
    src.unlink()
    (tmp_path / "exports").rmdir()
    assert tree(tmp_path) == before


def test_guard_out_accepts_a_new_folder_or_a_previous_savedmodel(tmp_path):
    assert saved_model.guard_out(str(tmp_path / "new"), overwrite=False) == tmp_path / "new"
    sm = tmp_path / "sm"
    (sm / "variables").mkdir(parents=True)
    (sm / "saved_model.pb").write_bytes(b"")
    with pytest.raises(SlimError) as e:
        saved_model.guard_out(str(sm), overwrite=False)
    assert e.value.diagnostics[0].code == "E354" and "--overwrite" in e.value.diagnostics[0].notes[0]
    assert saved_model.guard_out(str(sm), overwrite=True) == sm
    (tmp_path / "empty").mkdir()
    assert saved_model.guard_out(str(tmp_path / "empty"), overwrite=False) == tmp_path / "empty"


def test_export_refusals_from_the_command_line_touch_nothing(trained, capsys):
    tmp, f, logdir = trained
    (tmp / "proj").mkdir(exist_ok=True)
    (tmp / "proj" / "notes.txt").write_text("mine")
    (tmp / "afile").write_text("mine")
    before = tree(tmp)
    for out, code in [(logdir, "E353"), (logdir.parent, "E353"), (tmp / "proj", "E354"), (tmp / "afile", "E355"),
                      (tmp / "afile" / "sub", "E355")]:
        rc, err = run(capsys, ["export", f, "--logdir", logdir, "--out", out, "--overwrite"])
        assert rc == 1 and f"error[{code}]" in err, (out, err)
    rc, err = run(capsys, ["export", f, "--logdir", logdir, "--out", ""])
    assert rc == 2 and "needs a folder name" in err
    assert tree(tmp) == before


def test_export_overwrite_swaps_in_a_new_savedmodel_and_a_failed_one_changes_nothing(trained, capsys, monkeypatch):
    tmp, f, logdir = trained
    out = tmp / "exports" / "sm"
    rc, err = run(capsys, ["export", f, "--logdir", logdir, "--out", out])
    assert rc == 0 and (out / "saved_model.pb").is_file()
    rc, err = run(capsys, ["export", f, "--logdir", logdir, "--out", out])
    assert rc == 1 and "error[E354]" in err and "--overwrite" in err
    (out / "saved_model.pb").write_bytes(b"old export")  # marks the previous export
    rc, err = run(capsys, ["export", f, "--logdir", logdir, "--out", out, "--overwrite"])
    assert rc == 0 and (out / "saved_model.pb").read_bytes() != b"old export"
    assert sorted(p.name for p in out.parent.iterdir()) == ["sm"]  # no staging or old folder left
    tf.saved_model.load(str(out)).signatures["serving_default"](images=tf.zeros([1, 8, 8, 1]))

    # Failures after the staging folder exists: the previous export stays whole, nothing is left over.
    (out / "saved_model.pb").write_bytes(b"old export")
    before_parent, before_logdir = tree(out.parent), tree(logdir)

    def disk_full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    def does_not_load(folder, out_):
        raise SlimError.single("E357", f"the new SavedModel for --out {out_} does not load back: test", None,
                               ["note: nothing at --out was changed"])

    def swap_fails(staging, target):
        raise OSError(errno.EACCES, "Permission denied")

    for attr, fake, code in [("_write", disk_full, "E351"), ("_verify", does_not_load, "E357"),
                             ("_swap_in", swap_fails, "E350")]:
        with monkeypatch.context() as m:
            m.setattr(saved_model, attr, fake)
            rc, err = run(capsys, ["export", f, "--logdir", logdir, "--out", out, "--overwrite"])
        assert rc == 1 and f"error[{code}]" in err, (attr, err)
        assert tree(out.parent) == before_parent, attr
        assert tree(logdir) == before_logdir, attr


def test_export_of_a_checkpoint_of_another_model_is_e340_and_writes_nothing(trained, capsys):
    tmp, f, logdir = trained
    other = tmp / "wider.slim"
    other.write_text(f.read_text().replace("conv 4 3x3", "conv 8 3x3"))
    before = tree(tmp)
    rc, err = run(capsys, ["export", other, "--checkpoint", logdir, "--out", tmp / "exp-other"])
    assert rc == 1 and "error[E340]" in err and "holds a different model than `tiny`" in err, err
    assert "3 variables of another shape" in err and "tiny/conv1/weights is [3, 3, 1, 8] in the model" in err
    assert tree(tmp) == before


def test_swap_in_restores_the_previous_export_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "sm"
    target.mkdir()
    (target / "saved_model.pb").write_text("old")
    staging = tmp_path / ".sm.export-1"
    staging.mkdir()
    (staging / "saved_model.pb").write_text("new")
    real_rename = os.rename

    def rename(a, b):
        if pathlib.Path(a) == staging:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError):
        saved_model._swap_in(staging, target)
    assert (target / "saved_model.pb").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sm.export-1", "sm"]  # export() removes its staging


# ------------------------------------------------------------ logdir lock ---


def test_a_second_lock_on_a_logdir_is_e352_naming_the_holders_pid(tmp_path):
    with checkpoints.LogdirLock(tmp_path):
        assert (tmp_path / checkpoints.LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(SlimError) as e:
            with checkpoints.LogdirLock(tmp_path):
                pass
        d = e.value.diagnostics[0]
        assert d.code == "E352" and f"(pid {os.getpid()})" in d.message
    with checkpoints.LogdirLock(tmp_path):  # released on exit
        pass


HOLD = """\
import sys, time
from slimlang.training.checkpoints import LogdirLock
import pathlib
with LogdirLock(pathlib.Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_the_lock_of_a_killed_trainer_is_released_by_the_kernel(tmp_path, capsys):
    logdir = tmp_path / "L"
    logdir.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(logdir)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "locked"
        f = write(tmp_path, steps=5)
        before = tree(logdir)
        rc, err = run(capsys, ["train", f, "--logdir", logdir, "--no-progress"])
        assert rc == 1 and "error[E352]" in err and f"(pid {proc.pid})" in err
        assert f"{f}:7:1:" in err  # located at the train section
        assert tree(logdir) == before  # the second trainer wrote nothing
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    rc, err = run(capsys, ["train", f, "--logdir", logdir, "--no-progress"])
    assert rc == 0 and (logdir / "model.ckpt-5.index").is_file()


# ------------------------------------------------------------ leftovers ---


def test_clean_stale_removes_what_killed_saves_left_and_nothing_else(tmp_path):
    keep = ["model.ckpt-6.index", "model.ckpt-6.data-00000-of-00001", "checkpoint", "notes.txt",
            "events.out.tfevents.1.host", "model.ckpt-3.data-00000-of-00001.broken", "model.ckpt-3.index.broken",
            checkpoints.FINGERPRINT, checkpoints.LOCK]
    gone = ["model.ckpt-5.data-00000-of-00001", "model.ckpt-7.data-00000-of-00002",
            "model.ckpt-7.data-00001-of-00002", "checkpoint.tmp3f2a", checkpoints.FINGERPRINT + ".tmp"]
    for name in keep + gone:
        (tmp_path / name).write_text("x")
    (tmp_path / "model.ckpt-8_temp").mkdir()
    (tmp_path / "model.ckpt-8_temp" / "part-00000-of-00001.index").write_text("x")
    removed = checkpoints.clean_stale(tmp_path)
    assert removed == sorted(gone + ["model.ckpt-8_temp"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def test_train_removes_orphan_data_files_and_keeps_the_rest(trained, capsys):
    tmp, f, logdir = trained
    data = next(logdir.glob("model.ckpt-*.data-*"))
    orphan = logdir / "model.ckpt-3.data-00000-of-00001"
    orphan.write_bytes(data.read_bytes())
    (logdir / "notes.txt").write_text("mine")
    rc, err = run(capsys, ["train", f, "--logdir", logdir, "--steps", "12", "--no-progress"])
    assert rc == 0 and not orphan.exists() and (logdir / "notes.txt").read_text() == "mine"
    for d in logdir.glob("model.ckpt-*.data-*"):
        assert (logdir / (d.name.split(".data-")[0] + ".index")).is_file(), d


# ------------------------------------------------------------ bad logdirs ---


def test_set_of_a_parameter_the_model_lacks_is_exit_2_for_train_eval_and_export(tmp_path, capsys):
    f = write(tmp_path)
    for argv in (["train", f, "--logdir", tmp_path / "L"], ["eval", f, "--logdir", tmp_path / "L"],
                 ["export", f, "--logdir", tmp_path / "L", "--out", tmp_path / "sm"]):
        rc, err = run(capsys, [*argv, "--set", "num_clases=3"])
        assert rc == 2 and "has no parameter 'num_clases' (did you mean `num_classes`?)" in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.slim"]



def test_logdir_that_is_a_file_or_under_one_is_a_located_e355(tmp_path, capsys):
    f = write(tmp_path)
    (tmp_path / "afile").write_text("mine")
    for logdir in (tmp_path / "afile", tmp_path / "afile" / "L"):
        rc, err = run(capsys, ["train", f, "--logdir", logdir, "--no-progress"])
        assert rc == 1 and "error[E355]" in err and f"{f}:7:1:" in err and "^" in err, err
    assert (tmp_path / "afile").read_text() == "mine"
    rc, err = run(capsys, ["train", f, "--logdir", "", "--no-progress"])
    assert rc == 2 and "--logdir needs a path" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "tiny.slim"]  # not runs/tiny either


def test_logdir_in_the_train_section_too_long_for_the_file_system_is_located(tmp_path, capsys):
    f = tmp_path / "long.slim"
    f.write_text(SLIM.replace("STEPS", "5").replace("  batch_size 32", f'  batch_size 32\n  logdir "{"a" * 300}"'))
    rc, err = run(capsys, ["train", f, "--no-progress"])
    assert rc == 1 and "error[E350]" in err and "File name too long" in err and f"{f}:12:3:" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.slim"]


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.EACCES, "write permission")])
def test_logdir_that_cannot_be_written_is_a_located_e350(tmp_path, capsys, monkeypatch, code, words):
    f = write(tmp_path)
    logdir = tmp_path / "L"
    logdir.mkdir()
    real_open = os.open

    def failing_open(path, *a, **kw):
        if str(path).startswith(str(logdir)):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", failing_open)
    rc, err = run(capsys, ["train", f, "--logdir", logdir, "--no-progress"])
    assert rc == 1 and "error[E350]" in err and words in err and f"{f}:7:1:" in err, err
    assert list(logdir.iterdir()) == []


def test_disk_full_while_saving_is_e351_and_leaves_no_partial_checkpoint(tmp_path, capsys, monkeypatch):
    f = write(tmp_path)
    logdir = tmp_path / "L"

    def full(self, sess, prefix, global_step=None, **kw):
        # What the V2 saver leaves when the disk fills: its temporary shard folder.
        pathlib.Path(f"{prefix}-{global_step}_temp").mkdir()
        pathlib.Path(f"{prefix}-{global_step}.data-00000-of-00001").write_bytes(b"part")
        raise tf.errors.ResourceExhaustedError(
            None, None, f"Graph execution error:\n\n{prefix}-{global_step}.data-00000-of-00001.tempstate1; "
                        "No space left on device")

    monkeypatch.setattr(tf1.train.Saver, "save", full)
    rc, err = run(capsys, ["train", f, "--logdir", logdir, "--no-progress"])
    assert rc == 1 and "error[E351]" in err and f"{f}:7:1:" in err, err
    assert "No space left on device" in err and "Graph execution error" not in err
    assert not list(logdir.glob("model.ckpt*")) and not (logdir / "checkpoint").exists()


class _FailingWriter:
    """A FileWriter whose disk is full: add_graph, add_summary and close fail, as TensorFlow's do."""

    def __init__(self, *a, **kw):
        pass

    def add_graph(self, *a, **kw):
        raise RuntimeError("events.out.tfevents.1.host; No space left on device")

    def add_summary(self, *a, **kw):
        raise RuntimeError("events.out.tfevents.1.host; No space left on device")

    def close(self):
        raise RuntimeError("events.out.tfevents.1.host; No space left on device")


def test_summaries_that_cannot_be_written_do_not_stop_training_nor_hide_the_real_error(tmp_path, capsys,
                                                                                        monkeypatch):
    f = write(tmp_path)
    monkeypatch.setattr(tf1.summary, "FileWriter", _FailingWriter)
    rc, err = run(capsys, ["train", f, "--logdir", tmp_path / "L", "--no-progress"])
    assert rc == 0 and "warning: TensorBoard summaries stopped at step" in err and "No space left" in err
    assert (tmp_path / "L" / "model.ckpt-10.index").is_file()

    def full(self, sess, prefix, global_step=None, **kw):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(tf1.train.Saver, "save", full)
    rc, err = run(capsys, ["train", f, "--logdir", tmp_path / "L2", "--no-progress"])
    assert rc == 1 and "error[E351]" in err, err  # the checkpoint's error, not the summary writer's


def test_the_event_writer_threads_traceback_is_not_printed():
    seen = []
    ev = loop._EventLog.__new__(loop._EventLog)
    ev._old_hook = seen.append  # what would print the traceback (threading.excepthook, or pytest's)
    saved, threading.excepthook = threading.excepthook, ev._hook
    try:
        def fail():
            raise RuntimeError("events; No space left on device")

        for name in (loop._EventLog.THREAD, "someone-else"):
            t = threading.Thread(target=fail, name=name)
            t.start()
            t.join()
    finally:
        threading.excepthook = saved
    assert [a.thread.name for a in seen] == ["someone-else"]  # other threads' errors still show
