"""Live links stay out of logs, and the workspace is readable by its owner only."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.config import Settings, load_settings
from automations.context import Context
from automations.forms.inbox import Inbox
from automations.forms.tokens import load_secret
from automations.runner import Runner
from automations.workspace import init_campaign
from tests.remind_support import form_links


@pytest.mark.parametrize("example", [False, True])
def test_run_prints_a_live_link_only_for_the_example(
    ctx: Context, config_dir: Path, monkeypatch: pytest.MonkeyPatch, example: bool
) -> None:
    form_links(ctx)
    url = ctx.stores.staff.read_one("form_links")["url"].iloc[0]
    monkeypatch.setattr(Runner, "loop", lambda self, sched, **kw: None)  # stop at once
    args = ["--config", str(config_dir), "run", "--no-forms-server", "merge"]
    r = CliRunner().invoke(main, args + (["--example"] if example else []))
    assert r.exit_code == 0, r.output
    assert "Running every job once now" in r.output
    assert ("Try a form" in r.output) is example
    assert (url in r.output) is example


@pytest.fixture(autouse=True)
def corecruit_logger() -> Iterator[None]:
    """'run' points the corecruit logger at its own handler: put it back afterwards."""
    log = logging.getLogger("corecruit")
    handlers, propagate, level = list(log.handlers), log.propagate, log.level
    yield
    for h in log.handlers:
        if h not in handlers:
            h.close()
    log.handlers[:], log.propagate, log.level = handlers, propagate, level


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which plain writes are readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, set[str]]:
    """Relative path -> mode, files and folders apart (the root folder included)."""
    out: dict[str, set[str]] = {"files": set(), "dirs": set()}
    for p in [root, *root.rglob("*")]:
        kind = "dirs" if p.is_dir() else "files"
        out[kind].add(f"{oct(stat.S_IMODE(p.stat().st_mode))} {p.relative_to(root)}")
    return out


def test_a_run_of_the_example_leaves_only_owner_only_files_and_folders(
    config_dir: Path, umask_022: None
) -> None:
    log_file = config_dir.parent / "workspace" / "corecruit.log"
    jobs = ["redact", "forms_push", "remind", "timetable"]
    args = ["--config", str(config_dir), "run", "--once", "--example", "--log-file"]
    r = CliRunner().invoke(main, [*args, str(log_file), *jobs])
    assert r.exit_code == 0, r.output
    ws = load_settings(config_dir).workspace
    Inbox(ws / "forms" / "inbox.sqlite3")  # the form server's inbox, as 'forms serve' makes it
    found = modes(ws)
    names = " ".join(found["files"])
    for kind in ("letters/", "outbox/", "mail-journal.jsonl", ".runner-state.json", "staff.xlsx"):
        assert kind in names, kind  # the run really wrote each kind of file
    assert "corecruit.log" in names and ".ics" in names
    assert {m.split(" ")[0] for m in found["files"]} == {"0o600"}, found["files"]
    assert {m.split(" ")[0] for m in found["dirs"]} == {"0o700"}, found["dirs"]


def test_a_workspace_from_an_older_version_is_tightened_at_the_next_start(
    ctx: Context, umask_022: None
) -> None:
    ws = ctx.settings.workspace
    old = ws / ctx.campaign.id / "letters"
    old.mkdir(parents=True)
    (old / "a.txt").write_text("Dear Grace")
    for p in (ws, ws / ctx.campaign.id, old):
        p.chmod(0o755)
    (ws / ctx.campaign.id / "staff.xlsx").chmod(0o644)
    init_campaign(ctx)
    found = modes(ws)
    assert {m.split(" ")[0] for m in found["files"]} == {"0o600"}, found["files"]
    assert {m.split(" ")[0] for m in found["dirs"]} == {"0o700"}, found["dirs"]


def test_a_forms_secret_others_can_read_is_warned_about_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = settings.path(settings.org.forms.secret_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("s" * 40 + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="corecruit"):
        load_secret(settings)
        load_secret(settings)
    said = [r.getMessage() for r in caplog.records if "forms secret" in r.getMessage()]
    assert len(said) == 1 and "can be read by other people" in said[0]
    assert "chmod 600" in said[0] and "s" * 40 not in said[0]
    path.chmod(0o600)
    caplog.clear()
    load_secret(settings)
    assert not caplog.records
