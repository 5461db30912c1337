"""Build hook: a wheel carries the sheet templates as ``automations/_sheets_templates``.

The templates stay at the repo root (``sheets_templates/``) where staff read them; an
editable install reads them there, and ``automations.templates.templates_root`` is the
one place that finds either copy. Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithTemplates(build_py):
    """Copy ``sheets_templates/`` into the built package (not in editable mode)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "automations" / "_sheets_templates"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(HERE / "sheets_templates", dest, ignore=shutil.ignore_patterns("*.md"))


setup(cmdclass={"build_py": BuildWithTemplates})
