"""Printable pages: accessible HTML from Jinja2 templates, and PDF through chromium.

Templates live in ``automations/print_templates/``; a team can override any of them
by putting a file with the same name in its mail templates folder (``[mail]
templates``). HTML is autoescaped, so text typed into a sheet is shown, never run.

PDF printing uses Playwright to drive a chromium already on the machine
(``[printing] chromium`` in ``organisation.toml``, Debian's ``/usr/bin/chromium`` by
default). Without it, the HTML files still print from any browser.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from .config import Settings
from .errors import ConfigError, JobError
from .files import private_dir, private_file

PRINT_TEMPLATES = Path(__file__).resolve().parent / "print_templates"


def environment(settings: Settings | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if settings is not None:
        team = settings.path(settings.org.mail.templates)
        if team.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(team)))
    loaders.append(jinja2.FileSystemLoader(str(PRINT_TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(template: str, context: dict[str, Any], settings: Settings | None = None) -> str:
    """One HTML page from ``template`` (a missing value is an error, not a gap)."""
    try:
        return environment(settings).get_template(template).render(**context)
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            template, None, f"the page uses a value that is not there: {exc}"
        ) from None
    except jinja2.TemplateError as exc:
        raise ConfigError(template, None, f"the page template has a mistake: {exc}") from None


def write_atomic(path: Path, text: str) -> None:
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def html_to_pdf(pages: Sequence[Path], chromium: str) -> list[Path]:
    """Print each HTML file to a PDF beside it (A4, backgrounds on), with one browser."""
    if not pages:
        return []
    if not Path(chromium).exists():
        raise JobError(
            f"cannot make PDFs: there is no chromium at {chromium}. Install it "
            "(apt-get install chromium) or set [printing] chromium in organisation.toml. "
            "The HTML files print from any browser."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on what is installed
        raise JobError(
            "cannot make PDFs: the 'playwright' package is not installed "
            "(pip install playwright). The HTML files print from any browser."
        ) from None
    out: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            for html_path in pages:
                page.goto(html_path.resolve().as_uri())
                pdf = html_path.with_suffix(".pdf")
                tmp = pdf.with_name("." + pdf.name + ".tmp")
                page.pdf(
                    path=str(tmp), format="A4", print_background=True, prefer_css_page_size=True
                )
                os.replace(private_file(tmp), pdf)  # the browser writes it with the umask
                out.append(pdf)
        finally:
            browser.close()
    return out
