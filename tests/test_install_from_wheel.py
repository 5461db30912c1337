"""A built wheel, not the checkout: ``pip install`` then ``corecruit init`` works anywhere.

The sheet templates live at the repo root; a wheel must carry them inside the package
(``setup.py``), or ``init`` in an empty folder fails for everyone who installs from PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def _build_and_install(tmp: Path) -> Path:
    """Build a wheel from a copy of the sources and install it (no deps) into a folder."""
    src = tmp / "src"
    src.mkdir()
    for name in (n for n in SOURCES if (ROOT / n).exists()):
        shutil.copy2(ROOT / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("automations", "sheets_templates"):
        shutil.copytree(ROOT / folder, src / folder, ignore=skip)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("corecruit-*.whl")
    target = tmp / "site"
    done = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return target


@pytest.mark.slow
def test_init_check_and_example_from_an_installed_wheel(tmp_path: Path) -> None:
    setuptools = metadata.version("setuptools")
    if int(setuptools.split(".")[0]) < 77:
        pytest.skip(f"building needs setuptools>=77 (found {setuptools}): pip install -e '.[test]'")
    site = _build_and_install(tmp_path)
    # The wheel's own copy is used, never the checkout: deps come from this venv.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORECRUIT_", "PYTHON"))}
    env["PYTHONPATH"] = str(site)

    def corecruit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(site / "bin" / "corecruit"), *args],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    empty = tmp_path / "empty"
    empty.mkdir()
    init = corecruit(empty, "init")
    assert init.returncode == 0, init.stdout + init.stderr
    assert "What to edit first:" in init.stdout
    assert (empty / "config" / "organisation.toml").is_file()
    assert (empty / "workspace" / "peer-support-2027" / "staff.xlsx").is_file()
    where = subprocess.run(
        [sys.executable, "-c", "from automations.templates import templates_root as t; print(t())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == site / "automations" / "_sheets_templates"

    check = corecruit(empty, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All good" in check.stdout

    example = tmp_path / "example"
    example.mkdir()
    loaded = corecruit(example, "init", "--example")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "Loaded" in loaded.stdout
    assert (example / "workspace" / "peer-support-2027" / "panel.xlsx").is_file()
