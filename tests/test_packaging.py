"""The installed wheel works outside the checkout: grammar and templates ship as package data."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_works_outside_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)],
                   check=True, timeout=300)
    wheel = next(tmp_path.glob("slimlang-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300)
    vgg = ROOT / "examples" / "nets" / "vgg.slim"
    run = lambda *a: subprocess.run([str(py), "-m", "slimlang.cli", *a], capture_output=True, text=True,  # noqa: E731
                                    cwd=tmp_path, timeout=300)
    where = subprocess.run([str(py), "-c", "import slimlang; print(slimlang.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path, check=True).stdout
    assert str(venv) in where, where  # the installed copy, not the checkout
    r = run("summary", str(vgg), "--model", "vgg_16")
    assert r.returncode == 0 and "Total params: 138,357,544" in r.stdout, r.stderr
    r = run("build", str(vgg), "--emit", "py")
    assert r.returncode == 0 and "def vgg_16(" in r.stdout, r.stderr
