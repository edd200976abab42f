"""Train stage, the logdir: checkpoints that survive a kill, and the model fingerprint.

Layout (TF-Slim's): `model.ckpt-N.index`, `model.ckpt-N.data-00000-of-00001`
and the `checkpoint` state file, written by `tf.compat.v1.train.Saver`.

Why a SIGKILL cannot break the latest checkpoint: the V2 saver writes the
tensors under a temporary name (`model.ckpt-N_temp/...`), merges them into the
final `.index`/`.data` files, and only then rewrites `checkpoint`, itself
through a temporary file and an atomic rename.  A kill before the rename
leaves `checkpoint` naming the previous, complete step.  Because a disk can
still hand back a truncated or damaged file, resuming does not trust the state
file alone: it tries the checkpoints newest first, restores the first one that
reads back whole (TensorFlow checks every tensor's CRC on read), moves damaged
ones aside as `*.broken` and repoints `checkpoint` at the one used.

The fingerprint (`slimlang-model.json`) records the model's variables and
shapes when a logdir is first used; a later run whose model differs is
refused with the difference spelt out, instead of TensorFlow's "key not found".

TensorFlow is imported only by the functions that need it (reading a state
file or a checkpoint's index), and `find_checkpoint(..., tf_free=True)` makes
its checks without it: `eval`, `export` and `predict` report a missing
checkpoint at once instead of after TensorFlow's seconds-long import.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil

from ..diagnostics import SlimError, Span

PREFIX = "model.ckpt"
FINGERPRINT = "slimlang-model.json"
# Held (flock) by the one `slimlang train` writing the logdir; holds its pid.
# Its name matches none of the checkpoint patterns below, nor TensorBoard's.
LOCK = "slimlang-train.lock"
_STEP = re.compile(r"model\.ckpt-(\d+)\.index$")
_DATA = re.compile(r"model\.ckpt-(\d+)\.data-\d{5}-of-\d{5}$")


def checkpoint_step(path: str) -> int | None:
    m = re.search(r"-(\d+)$", str(path))
    return int(m.group(1)) if m else None


def _without_tensorflow(logdir: pathlib.Path) -> list[str]:
    """What `candidates` lists, as far as it is known without TensorFlow: the complete
    checkpoints on disk, or the state file itself when only it names some (not a prefix to
    restore; for checks that a folder holds checkpoints at all)."""
    found = [str(logdir / f"{PREFIX}-{s}") for s in sorted(_steps_on_disk(logdir), reverse=True)]
    return found or ([str(logdir / "checkpoint")] if (logdir / "checkpoint").is_file() else [])


def _steps_on_disk(logdir: pathlib.Path) -> list[int]:
    if not logdir.is_dir():
        return []
    return [int(m.group(1)) for m in map(_STEP.match, (f.name for f in logdir.iterdir())) if m]


def candidates(logdir: pathlib.Path) -> list[str]:
    """Checkpoint prefixes in `logdir`, newest step first.

    The union of what the `checkpoint` state file lists and the `.index`
    files on disk (a kill between writing a checkpoint and updating the state
    file leaves a complete checkpoint the state does not name yet).
    """
    found: dict[int, str] = {}
    state = None
    if (logdir / "checkpoint").is_file():  # (TensorFlow's reader returns None for a missing one)
        from ._tf import tf1

        try:
            state = tf1.train.get_checkpoint_state(str(logdir))
        except Exception:  # a damaged state file: fall back to the files on disk
            state = None
    if state is not None:
        for p in list(state.all_model_checkpoint_paths) + [state.model_checkpoint_path]:
            if not p:
                continue
            # TF-Slim layout: the files live in the logdir whatever path the
            # state recorded (relative, or absolute from before a move).
            full = str(logdir / os.path.basename(p))
            step = checkpoint_step(full)
            if step is not None:
                found[step] = full
    for step in _steps_on_disk(logdir):
        found.setdefault(step, str(logdir / f"{PREFIX}-{step}"))
    return [found[s] for s in sorted(found, reverse=True)]


def clean_stale(logdir: pathlib.Path) -> list[str]:
    """Remove what a killed save or a killed clean-up left behind; returns the names removed.

    Only ever called under the logdir lock, so no other trainer can be in the
    middle of writing what is removed here.
    """
    if not logdir.is_dir():
        return []
    removed = []
    names = {f.name for f in logdir.iterdir()}
    for f in logdir.iterdir():
        # model.ckpt-N_temp/ (the V2 saver's shards), model.ckpt-N.*.tempstate<n>
        # (TensorFlow's write-then-rename of one file) and checkpoint.tmp<hex>
        # (the state file's atomic write) of a save that was killed.
        if (f.name.startswith(PREFIX) and ("_temp" in f.name or ".tempstate" in f.name)) \
                or f.name.startswith("checkpoint.tmp") or f.name == FINGERPRINT + ".tmp":
            if f.is_dir():
                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)
            removed.append(f.name)
            continue
        # model.ckpt-N.data-* without its .index: the saver deletes an old
        # checkpoint index first, then its data, and a save writes the index
        # last, so a kill in between leaves data that nothing can ever read.
        m = _DATA.match(f.name)
        if m and f"{PREFIX}-{m.group(1)}.index" not in names and f.is_file():
            f.unlink(missing_ok=True)
            removed.append(f.name)
    return sorted(removed)


def files_of_step(logdir: pathlib.Path, step: int) -> set[str]:
    """Names of the logdir's files (and save temporaries) of checkpoint `step`."""
    if not logdir.is_dir():
        return set()
    stem = f"{PREFIX}-{step}"
    return {f.name for f in logdir.iterdir() if f.name == stem + "_temp" or f.name.startswith(stem + ".")}


def remove_new_files(logdir: pathlib.Path, step: int, before: set[str]) -> None:
    """Undo a failed save of `step`: remove its files that were not there before it began."""
    for name in files_of_step(logdir, step) - before:
        f = logdir / name
        if f.name.endswith(".broken"):
            continue
        if f.is_dir():
            shutil.rmtree(f, ignore_errors=True)
        else:
            f.unlink(missing_ok=True)


def default_logdir(slim_path: str | os.PathLike, section: str | None) -> str:
    """runs/STEM[-SECTION], relative to the current directory."""
    stem = pathlib.Path(slim_path).stem
    return str(pathlib.Path("runs") / (f"{stem}-{section}" if section else stem))


def check_logdir(logdir: pathlib.Path, span: Span | None) -> None:
    """Refuse, before any work, a logdir that is a file or lies under a file."""
    from .. import fsutil

    try:
        is_file = logdir.exists() and not logdir.is_dir()
        blocker = None if is_file else fsutil.file_ancestor(logdir)
    except OSError as e:  # a name too long for the file system, a loop of symlinks, ...
        raise fsutil.os_error(e, "using the logdir", logdir, span,
                              ("help: pass another --logdir (or set `logdir` in the train section)",)) from None
    if is_file:
        raise SlimError.single("E355", f"the logdir {logdir} is a file, not a folder", span,
                               ["help: pass another --logdir (or set `logdir` in the train section)"])
    if blocker is not None:
        raise SlimError.single("E355", f"the logdir {logdir} cannot be created: {blocker} is a file, not a folder",
                               span, ["help: pass another --logdir (or set `logdir` in the train section)"])


class LogdirLock:
    """An exclusive flock on LOGDIR/slimlang-train.lock, for one trainer at a time.

    The kernel drops the lock when the process ends, however it ends
    (SIGKILL included), so a killed run never leaves a stale lock.  The file is
    left in place: removing it would let a third process lock a fresh file
    while a second still holds the old one.
    """

    def __init__(self, logdir: pathlib.Path, span: Span | None = None):
        self.path = logdir / LOCK
        self.span = span
        self.fd = None

    def __enter__(self):
        import fcntl

        from .. import fsutil

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, fsutil.new_file_mode())
        except OSError as e:
            raise fsutil.os_error(e, "creating the logdir's lock file", self.path, self.span) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.read(fd, 64).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise SlimError.single(
                "E352", f"the logdir {self.path.parent} is in use by another `slimlang train` ({who})", self.span,
                ["note: two trainers in one logdir would overwrite each other's checkpoints",
                 "help: wait for it to finish (or stop it), or pass another --logdir; "
                 "`slimlang eval` and `export` can read the logdir while it trains"]) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as e:
            os.close(fd)
            raise fsutil.os_error(e, "writing the logdir's lock file", self.path, self.span) from None
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None


@contextlib.contextmanager
def claimed(logdir: pathlib.Path, span: Span | None, fp: dict, model_span: Span | None, class_names):
    """The logdir for one trainer: made, locked (LogdirLock) for as long as the block runs, cleaned of
    a killed run's leftovers, checked against the model's fingerprint, given labels.txt for the
    data's class names.  Yields the checkpoints a run may resume from (`candidates`)."""
    from .. import fsutil

    try:
        logdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise fsutil.os_error(e, "creating the logdir", logdir, span) from None
    with LogdirLock(logdir, span):
        # Under the lock: what another trainer was writing cannot be taken for a leftover.
        clean_stale(logdir)
        cands = candidates(logdir)
        try:
            if check_fingerprint(logdir, fp, model_span, bool(cands)):
                write_fingerprint(logdir, fp)
            if class_names:
                fsutil.atomic_write(logdir / "labels.txt", "".join(f"{i}:{c}\n" for i, c in enumerate(class_names)))
        except OSError as e:
            raise fsutil.os_error(e, "writing into the logdir", logdir, span) from None
        yield cands


def move_aside(prefix: str) -> list[str]:
    """Rename every file of checkpoint `prefix` to `*.broken`; returns the new names."""
    moved = []
    p = pathlib.Path(prefix)
    for f in p.parent.glob(p.name + ".*"):
        if f.name.endswith(".broken"):
            continue
        target = f.with_name(f.name + ".broken")
        f.replace(target)
        moved.append(str(target))
    return moved


def read_variables(prefix: str) -> dict:
    """{name: shape} of a checkpoint (reads only its index)."""
    from ._tf import tf

    return {name: list(shape) for name, shape in tf.train.list_variables(prefix)}


def resolve_checkpoint(path: str, span: Span | None, code: str = "E330", listing=candidates) -> str:
    """A checkpoint prefix from a prefix, a logdir, or a file of the checkpoint."""
    p = pathlib.Path(path).expanduser()
    if p.is_dir():
        cands = listing(p)
        if not cands:
            raise SlimError.single(code, f"no checkpoint in folder {path}", span,
                                   ["note: expected model.ckpt-N.index files or a `checkpoint` file there"])
        return cands[0]
    for suffix in (".index", ".meta"):
        if p.name.endswith(suffix):
            p = p.with_name(p.name[: -len(suffix)])
    m = re.match(r"(.*)\.data-\d+-of-\d+$", p.name)
    if m:
        p = p.with_name(m.group(1))
    if pathlib.Path(str(p) + ".index").is_file():
        return str(p)
    near = sorted(x.name for x in p.parent.glob(p.name.split("-")[0] + "*.index")) if p.parent.is_dir() else []
    notes = ["note: paths in init_from and --checkpoint are relative to the current directory"]
    if near:
        notes.insert(0, "note: there are: " + ", ".join(n[:-6] for n in near[-5:]))
    raise SlimError.single(code, f"checkpoint {path} not found", span, notes)


def find_checkpoint(logdir: str | None, checkpoint: str | None, span=None, best: bool = False, *,
                    tf_free: bool = False) -> list[str]:
    """Checkpoints to try, newest first: an explicit one, or the logdir's (its best one with `best`).

    With `tf_free` the same checks are made without TensorFlow (the commands make them before
    its import), trusting a state file to name checkpoints: it raises only what the engine's
    own call would, and what it returns is not for restoring.
    """
    listing = _without_tensorflow if tf_free else candidates
    if checkpoint:
        return [resolve_checkpoint(checkpoint, span, code="E344", listing=listing)]
    if logdir is None:
        raise SlimError.single("E344", "nothing to evaluate: pass --logdir DIR or --checkpoint PATH", span)
    ld = pathlib.Path(logdir)
    if best:
        found = best_checkpoint(ld, listing)
        if found is None:
            raise SlimError.single("E344", f"no best checkpoint in {logdir} (no {ld / 'best'} folder)", span,
                                   ["help: `keep_best on=METRIC` (with `validate every=N`) in the train section "
                                    "keeps one; without --best the newest checkpoint is used"])
        return [found]
    cands = listing(ld) if ld.is_dir() else []
    if not cands:
        raise SlimError.single("E344", f"no checkpoint in {logdir}", span,
                               ["help: train first (`slimlang train FILE --logdir DIR`) or pass --checkpoint PATH"])
    return cands


def best_checkpoint(logdir, listing=candidates) -> str | None:
    """The checkpoint `keep_best` kept in `logdir` (its prefix, in LOGDIR/best/), or None."""
    from .watch import BEST_DIR

    folder = pathlib.Path(logdir) / BEST_DIR
    found = listing(folder) if folder.is_dir() else []
    return found[0] if found else None


# ------------------------------------------------------------ fingerprint ---


def fingerprint(model_name: str | None, variables) -> dict:
    return {"format": 1, "model": model_name,
            "variables": {v.op.name: v.shape.as_list() for v in variables}}


def fingerprint_diff(old: dict, new: dict) -> list[str]:
    """What changed between two fingerprints, one line per difference."""
    a, b = old.get("variables", {}), new.get("variables", {})
    lines = []
    if old.get("model") and new.get("model") and old["model"] != new["model"]:
        lines.append(f"model: was `{old['model']}`, now `{new['model']}`")
    for name in sorted(set(a) - set(b)):
        lines.append(f"removed: {name} {a[name]}")
    for name in sorted(set(b) - set(a)):
        lines.append(f"added:   {name} {b[name]}")
    for name in sorted(set(a) & set(b)):
        if list(a[name]) != list(b[name]):
            lines.append(f"shape:   {name} {a[name]} -> {b[name]}")
    return lines


def check_fingerprint(logdir: pathlib.Path, new: dict, span: Span | None, has_checkpoint: bool) -> bool:
    """Refuse a logdir that holds another model.  Returns True if the file is new."""
    path = logdir / FINGERPRINT
    if not path.is_file():
        return True
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return True  # unreadable: rewritten below; the checkpoint restore still guards
    diff = fingerprint_diff(old, new)
    if diff and has_checkpoint:
        shown = diff[:12] + ([f"... and {len(diff) - 12} more"] if len(diff) > 12 else [])
        raise SlimError.single(
            "E340", f"the logdir {logdir} holds a different model ({len(diff)} difference"
            f"{'s' if len(diff) != 1 else ''}); refusing to resume", span,
            ["note: " + line for line in shown]
            + ["help: use a new --logdir for the changed model, or to start from these weights use "
               f"`init_from \"{logdir}\"` with exclude=[...] for the changed layers"])
    return bool(diff)


def write_fingerprint(logdir: pathlib.Path, fp: dict) -> None:
    from .. import fsutil

    fsutil.atomic_write(logdir / FINGERPRINT, json.dumps(fp, indent=1, sort_keys=True))


def point_state_at(logdir: pathlib.Path, good: list[str]) -> None:
    """Rewrite `checkpoint` to name `good` (newest last), atomically (TF's writer)."""
    if not good:
        return
    from ._tf import tf1

    tf1.train.update_checkpoint_state(str(logdir), good[-1], all_model_checkpoint_paths=good)
