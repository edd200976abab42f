"""The installed wheel works outside the checkout: grammar and templates ship as package data."""

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _outer_site_dirs():
    """The running interpreter's site-packages (a venv's own when run in one, not the base's)."""
    dirs = list(site.getsitepackages()) + [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _run(argv, **kw):
    """Run and fail with the command's own stderr, so the reason is visible."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, argv))} exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.mark.slow
def test_wheel_works_outside_the_checkout(tmp_path):
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)])
    wheel = next(tmp_path.glob("slimlang-*.whl"))
    venv = tmp_path / "venv"
    # No --system-site-packages: inside a venv that would expose the base interpreter's packages.
    # Instead a .pth lists the outer environment's site dirs as plain paths: their dependencies
    # (lark, jinja2, ...) are importable, but their own .pth files, such as an editable
    # slimlang's finder, are not processed, so only the wheel provides slimlang.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    inner_site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (inner_site / "_outer_env.pth").write_text("\n".join(_outer_site_dirs()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(wheel)], env=env, cwd=tmp_path)
    where = _run([str(py), "-c", "import slimlang; print(slimlang.__file__)"], env=env, cwd=tmp_path).stdout
    assert str(venv) in where, where  # the installed copy, not the checkout
    vgg = ROOT / "examples" / "nets" / "vgg.slim"
    r = _run([str(py), "-m", "slimlang.cli", "summary", str(vgg), "--model", "vgg_16"], env=env, cwd=tmp_path)
    assert "Total params: 138,357,544" in r.stdout, r.stderr
    r = _run([str(py), "-m", "slimlang.cli", "build", str(vgg), "--emit", "py"], env=env, cwd=tmp_path)
    assert "def vgg_16(" in r.stdout, r.stderr


def test_every_subpackage_is_listed_in_pyproject():
    """pyproject lists the packages by name: a new folder with an __init__.py left out of the list is
    missing from the wheel (and only the slow wheel test above would notice)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "slimlang").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
