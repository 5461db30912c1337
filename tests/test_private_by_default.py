"""Live links stay out of logs, and the workspace is readable by its owner only."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.runner import Runner
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
