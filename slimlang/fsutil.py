"""Writing a user's files so that a failure never leaves them lost or half-written.

Every file slimlang writes goes through `atomic_write`: the bytes go to a
temporary name in the same folder (same file system, so the rename is atomic),
are flushed to disk, and only then replace the old file with `os.replace`.  A
kill, a full disk or a permission error at any point leaves either the old file
or the new one, never a mixture.

What a plain `tempfile.mkstemp` + rename gets wrong:

- mkstemp creates files with mode 0600; a new file gets the mode `open()`
  would give it (0666 minus the umask) and a replaced file keeps its own;
- renaming onto a symlink replaces the link by a regular file and leaves the
  file it pointed to untouched; the link is resolved first so the target is
  the file replaced;
- renaming needs write permission on the folder only, so a read-only file
  would be replaced; it is refused (EACCES) as writing into it would be;
- renaming onto a device or a FIFO (`-o /dev/stdout`, `/dev/null`) would
  replace the device by a regular file; those are written to instead.

`os_error` turns an OSError into a located, readable SlimError.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .diagnostics import SlimError, Span


def current_umask() -> int:
    # os.umask is the only portable way to read it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The permission bits `open(path, "w")` gives a new file."""
    return 0o666 & ~current_umask()


def write_target(path: str | os.PathLike) -> Path:
    """The file a write to `path` should replace: symlinks resolved (also dangling ones)."""
    return Path(os.path.realpath(os.fspath(path)))


def _special_file(path: str | os.PathLike) -> Path | None:
    """`path` (links followed) if it exists and is neither a regular file nor a folder, else None."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return Path(path)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some file systems do not open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Replace the file at `path` (its target, if a symlink) by `data`; returns the file written.

    Raises OSError (the folder's, not a temporary name's) and leaves the old
    file as it was if anything fails.
    """
    if isinstance(data, str):
        data = data.encode(encoding)
    special = _special_file(path)
    if special is not None:
        # /dev/stdout, /dev/null, a FIFO, a terminal: written to, never replaced (a rename
        # would put a regular file in the device's place). Looked up through the path as
        # given: /dev/stdout's link resolves to a name that cannot be opened when it is a pipe.
        with open(path, "wb") as fh:
            fh.write(data)
        return special
    target = write_target(path)
    folder = target.parent
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = new_file_mode()
    else:
        if not os.access(target, os.W_OK):
            # A rename would replace a file its owner made read-only; writing in place would fail.
            raise PermissionError(errno.EACCES, "the file is read-only", str(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)
    return target


def file_ancestor(path: str | os.PathLike) -> Path | None:
    """The nearest existing ancestor of `path` that is not a folder (so `path` cannot be created), or None."""
    p = Path(os.path.abspath(os.fspath(path)))
    for parent in p.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(e: BaseException) -> bool:
    """True for 'no space left', 'file too large' and quota errors, from Python or from TensorFlow."""
    if isinstance(e, OSError) and e.errno in _FULL:
        return True
    text = (getattr(e, "message", None) or str(e)).lower()
    return any(s in text for s in ("no space left", "file too large", "quota exceeded", "disk quota"))


def os_error(e: OSError, what: str, path: str | os.PathLike, span: Span | None = None,
             notes: tuple = ()) -> SlimError:
    """A SlimError for an OSError met while `what` (e.g. "writing the checkpoint") at `path`.

    E351 for a full disk or a file over the size limit, E350 otherwise.
    """
    reason = e.strerror or str(e)
    if is_disk_full(e):
        return SlimError.single("E351", f"{what} failed: {reason} ({path})", span,
                                ["note: nothing was half-written: the files already there are unchanged",
                                 "help: free some space (or raise the file-size limit) and run the same command "
                                 "again", *notes])
    hint = {
        errno.EACCES: "help: you have no write permission there; choose another path or fix the permissions",
        errno.EPERM: "help: you have no write permission there; choose another path or fix the permissions",
        errno.EROFS: "help: that file system is mounted read-only; choose another path",
        errno.ENOTDIR: "help: a part of the path is a file, not a folder; choose another path",
        errno.EISDIR: "help: that is a folder; name a file instead",
    }.get(e.errno, "")
    return SlimError.single("E350", f"{what} failed: {reason} ({path})", span, [*notes, hint])
