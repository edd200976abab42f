"""Fault tests for the files slimlang writes (issue 13, "Data loss"): fmt, build -o and graph -o.

Each command writes only the file it exists to write, through fsutil.atomic_write:
through a symlink the target is replaced and the link kept; a device or FIFO is
written to, never replaced; a failure at any point leaves the old file whole and
no temporary file behind; a bad path is a readable error (exit 1), an empty one
bad command-line use (exit 2).  None of this imports TensorFlow.
"""

import errno
import os
import stat

import pytest

from slimlang import fsutil
from slimlang.cli import main

UNFORMATTED = "model m(inputs: [4,4,1]) {\n    conv 4    3x3\n}\n"
FORMATTED = "model m(inputs: [4, 4, 1]) {\n  conv 4 3x3\n}\n"


# As root, a regression (a rename onto the device) would replace /dev/null or /dev/full by a
# regular file for the whole machine: those tests run only unprivileged; the FIFO tests cover
# the same code path for everyone.
unprivileged = pytest.mark.skipif(os.geteuid() == 0, reason="as root a regression would replace a system device")


def _no_traceback(err):
    assert "Traceback" not in err, err


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- fsutil ---


def test_atomic_write_keeps_the_mode_of_a_replaced_file(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("old")
    os.chmod(f, 0o640)
    fsutil.atomic_write(f, "new")
    assert f.read_text() == "new" and stat.S_IMODE(f.stat().st_mode) == 0o640
    assert _listing(tmp_path) == ["a.txt"]


def test_atomic_write_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "src").mkdir()
    target = tmp_path / "src" / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to("src/real.txt")
    assert fsutil.atomic_write(link, "new") == target
    assert link.is_symlink() and os.readlink(link) == "src/real.txt"
    assert target.read_text() == "new"


@pytest.mark.parametrize("fail", ["write", "replace"])
def test_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, fail):
    f = tmp_path / "a.txt"
    f.write_text("old")
    if fail == "replace":
        monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EACCES, "denied")))
    else:
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        fsutil.atomic_write(f, "new" * 1000)
    assert f.read_text() == "old"
    assert _listing(tmp_path) == ["a.txt"]


def test_atomic_write_into_a_fifo_writes_to_it_and_keeps_the_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so that opening for writing does not block
    try:
        fsutil.atomic_write(fifo, "hello")
        assert os.read(r, 100) == b"hello"
    finally:
        os.close(r)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert _listing(tmp_path) == ["pipe"]


@unprivileged
def test_atomic_write_to_dev_null_leaves_the_device(tmp_path):
    fsutil.atomic_write("/dev/null", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@unprivileged
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_atomic_write_to_dev_full_is_a_disk_full_error_not_a_replaced_device():
    with pytest.raises(OSError) as e:
        fsutil.atomic_write("/dev/full", "x")
    assert fsutil.is_disk_full(e.value)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


# ------------------------------------------------------------------- fmt ---


def test_fmt_on_a_symlink_formats_the_target_in_place_and_keeps_the_link(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    target = tmp_path / "src" / "real.slim"
    target.write_text(UNFORMATTED)
    os.chmod(target, 0o640)
    link = tmp_path / "link.slim"
    link.symlink_to("src/real.slim")
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == "src/real.slim"
    assert target.read_text() == FORMATTED
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _listing(tmp_path) == ["link.slim", "src"] and _listing(tmp_path / "src") == ["real.slim"]
    _no_traceback(capsys.readouterr().err)


def test_fmt_through_a_chain_of_links(tmp_path):
    real = tmp_path / "real.slim"
    real.write_text(UNFORMATTED)
    (tmp_path / "l1.slim").symlink_to("real.slim")
    (tmp_path / "l2.slim").symlink_to("l1.slim")
    assert main(["fmt", str(tmp_path / "l2.slim")]) == 0
    assert real.read_text() == FORMATTED
    assert (tmp_path / "l1.slim").is_symlink() and (tmp_path / "l2.slim").is_symlink()


def test_fmt_on_a_dangling_symlink_is_an_error_and_creates_nothing(tmp_path, capsys):
    (tmp_path / "link.slim").symlink_to("nowhere.slim")
    assert main(["fmt", str(tmp_path / "link.slim")]) == 1
    err = capsys.readouterr().err
    assert "error[E900]" in err
    _no_traceback(err)
    assert _listing(tmp_path) == ["link.slim"]


@pytest.mark.parametrize("code, word", [(errno.EACCES, "write permission"), (errno.EROFS, "read-only"),
                                        (errno.ENOSPC, "free some space")])
def test_fmt_that_cannot_write_leaves_the_file_and_says_why(tmp_path, monkeypatch, capsys, code, word):
    f = tmp_path / "a.slim"
    f.write_text(UNFORMATTED)
    real_replace = os.replace

    def failing_replace(a, b):
        if str(b) == str(f):
            raise OSError(code, os.strerror(code))
        return real_replace(a, b)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(["fmt", str(f)]) == 1
    err = capsys.readouterr().err
    assert ("error[E351]" if code == errno.ENOSPC else "error[E350]") in err and word in err, err
    _no_traceback(err)
    assert f.read_text() == UNFORMATTED
    assert _listing(tmp_path) == ["a.slim"]


def test_fmt_check_and_diff_write_nothing(tmp_path, capsys):
    f = tmp_path / "a.slim"
    f.write_text(UNFORMATTED)
    assert main(["fmt", "--check", str(f)]) == 1
    assert main(["fmt", "--diff", str(f)]) == 0
    assert f.read_text() == UNFORMATTED and _listing(tmp_path) == ["a.slim"]


# ---------------------------------------------------------- build/graph -o ---

SOURCE = "model tiny(inputs: [4, 4, 1]) {\n  conv 2 3x3 as c\n}\n"


@pytest.fixture
def slim(tmp_path):
    f = tmp_path / "tiny.slim"
    f.write_text(SOURCE)
    return f


def _commands(out):
    return [["build", "--emit", "py", "-o", out], ["graph", "-o", out]]


def _run(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err
    _no_traceback(err)
    return rc, err


@pytest.mark.parametrize("which", [0, 1])
def test_output_that_is_a_folder_is_e356(slim, tmp_path, capsys, which):
    folder = tmp_path / "out.dot"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    cmd = _commands(str(folder))[which]
    rc, err = _run(capsys, [cmd[0], str(slim), *cmd[1:]])
    assert rc == 1 and "error[E356]" in err and "is a folder" in err
    assert _listing(folder) == ["keep.txt"]


@pytest.mark.parametrize("which", [0, 1])
def test_output_under_a_file_is_e350(slim, tmp_path, capsys, which):
    (tmp_path / "afile").write_text("mine")
    cmd = _commands(str(tmp_path / "afile" / "x.dot"))[which]
    rc, err = _run(capsys, [cmd[0], str(slim), *cmd[1:]])
    assert rc == 1 and "error[E350]" in err and "is a file, not a folder" in err
    assert (tmp_path / "afile").read_text() == "mine"


def test_empty_output_is_bad_command_line_use(slim, capsys):
    assert main(["build", str(slim), "--emit", "py", "-o", ""]) == 2
    assert "needs a file name" in capsys.readouterr().err
    assert main(["graph", str(slim), "-o", ""]) == 2


def test_output_that_is_the_input_file_is_refused(tmp_path, capsys):
    f = tmp_path / "net.dot"  # graph picks its format from the extension: a .slim file named .dot
    f.write_text(SOURCE)
    link = tmp_path / "link.py"
    link.symlink_to("net.dot")
    for argv in (["build", str(f), "--emit", "py", "-o", str(f)], ["build", str(f), "-o", str(link)],
                 ["graph", str(f), "-o", str(f)]):
        rc, err = _run(capsys, argv)
        assert rc == 1 and "error[E356]" in err and "is the input file" in err, argv
    assert f.read_text() == SOURCE and link.is_symlink()


@pytest.mark.parametrize("code, error", [(errno.EACCES, "E350"), (errno.EROFS, "E350"), (errno.ENOSPC, "E351"),
                                         (errno.EDQUOT, "E351")])
@pytest.mark.parametrize("which", [0, 1])
def test_output_that_cannot_be_written_keeps_the_old_file(slim, tmp_path, monkeypatch, capsys, code, error, which):
    out = tmp_path / "old.dot"
    out.write_text("previous output")
    import tempfile

    def failing_mkstemp(*a, **kw):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", failing_mkstemp)
    cmd = _commands(str(out))[which]
    rc, err = _run(capsys, [cmd[0], str(slim), *cmd[1:]])
    assert rc == 1 and f"error[{error}]" in err and str(out.name) in err, err
    assert out.read_text() == "previous output"
    assert _listing(tmp_path) == ["old.dot", "tiny.slim"]


@pytest.mark.parametrize("which", [0, 1])
def test_output_into_a_fifo_or_dev_null_keeps_the_special_file(slim, tmp_path, capsys, which):
    if which == 0 and os.geteuid() != 0:  # graph picks the format from the extension: /dev/null has none
        rc, _ = _run(capsys, ["build", str(slim), "--emit", "py", "-o", "/dev/null"])
        assert rc == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe.dot"
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        cmd = _commands(str(fifo))[which]
        rc, _ = _run(capsys, [cmd[0], str(slim), *cmd[1:]])
        assert rc == 0
        assert os.read(r, 1 << 16)
    finally:
        os.close(r)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@unprivileged
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_output_to_dev_full_is_e351_and_the_device_stays(slim, capsys):
    rc, err = _run(capsys, ["build", str(slim), "--emit", "py", "-o", "/dev/full"])
    assert rc == 1 and "error[E351]" in err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_output_through_a_symlink_replaces_the_target(slim, tmp_path, capsys):
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "model.py").write_text("old")
    (tmp_path / "model.py").symlink_to("gen/model.py")
    rc, _ = _run(capsys, ["build", str(slim), "--emit", "py", "-o", str(tmp_path / "model.py")])
    assert rc == 0 and (tmp_path / "model.py").is_symlink()
    assert "def tiny(" in (tmp_path / "gen" / "model.py").read_text()


def test_output_into_a_new_folder_creates_it(slim, tmp_path, capsys):
    rc, _ = _run(capsys, ["graph", str(slim), "-o", str(tmp_path / "a" / "b" / "net.dot")])
    assert rc == 0 and (tmp_path / "a" / "b" / "net.dot").read_text().startswith("digraph")



def test_a_read_only_file_is_not_replaced(tmp_path, monkeypatch, capsys):
    """A rename needs only the folder's write permission: without this check fmt would rewrite a
    file its owner made read-only (as root os.access says yes, so the test fakes the answer)."""
    f = tmp_path / "a.slim"
    f.write_text(UNFORMATTED)
    os.chmod(f, 0o444)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **kw: False if str(p) == str(f) and m == os.W_OK
                        else real_access(p, m, **kw))
    rc, err = _run(capsys, ["fmt", str(f)])
    assert rc == 1 and "error[E350]" in err and "read-only" in err and "write permission" in err, err
    assert f.read_text() == UNFORMATTED and stat.S_IMODE(f.stat().st_mode) == 0o444
    assert _listing(tmp_path) == ["a.slim"]
