"""``status`` tells the truth: jobs run by hand are logged, "next run" is stable, people counted.

Also: an interrupted ``run --once`` says which jobs did not run, and ``check`` checks
every campaign.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from automations import runner as runner_mod
from automations.cli import main
from automations.config import Settings
from automations.context import Context
from automations.jobs import JobResult
from automations.runner import next_run
from automations.store import make_frame


def _cli(config_dir: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["--config", str(config_dir), *args])
    return r.exit_code, r.output


def test_commands_run_by_hand_leave_a_run_log_row_and_show_in_status(
    ctx: Context, config_dir: Path
) -> None:
    code, out = _cli(config_dir, "merge")
    assert code == 0, out
    code, out = _cli(config_dir, "timetable")
    assert code == 0, out
    code, out = _cli(config_dir, "merge", "--dry-run")  # a dry run changes nothing, logs nothing
    assert code == 0, out
    ctx.stores.staff.forget()
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["job"]) == ["merge", "timetable"]
    assert list(log["outcome"]) == ["ok", "ok"]
    assert log["detail"].str.endswith("(run by hand)").iloc[0]
    code, out = _cli(config_dir, "status")
    assert code == 0, out
    merge_line = next(ln for ln in out.splitlines() if "(merge)" in ln)
    assert "not yet" not in merge_line and ", ok;" in merge_line


def test_next_run_is_the_last_run_plus_the_interval() -> None:
    last = dt.datetime(2027, 2, 1, 9, 5)
    assert next_run("every 10 minutes", last) == dt.datetime(2027, 2, 1, 9, 15)
    assert next_run("every 2 hours", last) == dt.datetime(2027, 2, 1, 11, 5)
    assert next_run("hourly", last) == dt.datetime(2027, 2, 1, 10, 5)
    assert next_run("daily at 22:00", last) == dt.datetime(2027, 2, 1, 22, 0)
    assert next_run("daily at 09:00", last) == dt.datetime(2027, 2, 2, 9, 0)
    assert next_run("every 10 minutes", None) is None


def test_status_next_run_does_not_move_between_asks(settings: Settings, config_dir: Path) -> None:
    state = settings.workspace / ".runner-state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    cid = next(iter(settings.campaigns))
    state.write_text(
        json.dumps(
            {
                f"{cid}/merge": {
                    "failures": 0,
                    "last_run": "2027-02-01 09:00:00",
                    "last_outcome": "ok",
                }
            }
        )
    )
    outs = [_cli(config_dir, "status")[1] for _ in range(2)]
    lines = [next(ln for ln in o.splitlines() if "(merge)" in ln) for o in outs]
    assert lines[0] == lines[1]
    assert "next run Mon 1 Feb 2027, 9:10am" in lines[0]  # merge runs every 10 minutes
    assert "at the next start" in outs[0]  # jobs that never ran


def test_contact_another_way_counts_people_not_messages(ctx: Context, config_dir: Path) -> None:
    st = ctx.stores.staff
    rows = [
        {"message_key": f"rule{i}|p05|x", "person_id": "p05", "status": "contact another way"}
        for i in range(4)
    ] + [{"message_key": "rule0|p06|x", "person_id": "p06", "status": "contact another way"}]
    st.write({"sent_messages": make_frame(st.tab("sent_messages"), rows)})
    code, out = _cli(config_dir, "status")
    assert code == 0, out
    other = [ln for ln in out.splitlines() if "another way" in ln]  # one line a person
    assert len(other) == 2, other
    assert "Messages sent, rows 2, 3, 4, 5: Contact p05 another way: 4 messages" in other[0]
    assert "Messages sent, row 6: Contact p06 another way: 1 message" in other[1]


@pytest.fixture
def two_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[str] = []

    def first(ctx: Context) -> JobResult:
        ran.append("first")
        os.kill(os.getpid(), signal.SIGTERM)  # someone stops the run while this job works
        return JobResult("first")

    def second(ctx: Context) -> JobResult:
        ran.append("second")
        return JobResult("second")

    fns = {"first": first, "second": second}
    monkeypatch.setattr(runner_mod, "JOBS", {n: (f"x:{n}", "merge") for n in fns})
    monkeypatch.setattr(runner_mod, "job_function", lambda n: fns[n])
    monkeypatch.setattr(runner_mod, "available_jobs", lambda: list(fns))
    from automations.cli import run_cmd

    # run_cmd looks the jobs up in the runner when it uses them; only its bound name moves
    monkeypatch.setattr(run_cmd, "available_jobs", runner_mod.available_jobs)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield ran
    for s, h in saved.items():
        signal.signal(s, h)


def test_an_interrupted_run_once_exits_non_zero_and_names_what_did_not_run(
    ctx: Context, config_dir: Path, two_jobs: list[str]
) -> None:
    r = CliRunner().invoke(main, ["--config", str(config_dir), "run", "--once"])
    assert two_jobs == ["first"]
    assert r.exit_code == 1
    cid = ctx.campaign.id
    assert f"Stopped before these job(s) ran: {cid} second." in r.output


def test_check_checks_every_campaign(ctx: Context, config_dir: Path) -> None:
    src = config_dir / "campaigns" / "example.toml"
    text = src.read_text().replace('id = "peer-support-2027"', 'id = "second-post"', 1)
    (config_dir / "campaigns" / "second.toml").write_text(text)
    code, out = _cli(config_dir, "check")
    assert code == 4  # the second campaign has no workbooks yet: said, not refused
    assert "Campaign second-post: 2 problem(s)" in out and "does not exist yet" in out
    assert "Campaign peer-support-2027: 0 problem(s)" in out
    shutil.copytree(
        ctx.settings.workspace / ctx.campaign.id, ctx.settings.workspace / "second-post"
    )
    code, out = _cli(config_dir, "check")
    assert code == 0, out
    assert "All good: all 2 campaigns" in out


def test_a_command_that_fails_by_hand_is_logged_as_failed(
    ctx: Context, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automations.errors import JobError
    from automations.jobs import merge as merge_mod

    def broken(c: Context, dry_run: bool = False) -> JobResult:
        raise JobError("the results could not be worked out")

    monkeypatch.setattr(merge_mod, "merge_job", broken)
    code, out = _cli(config_dir, "merge")
    assert code == 1 and "could not be worked out" in out
    ctx.stores.staff.forget()
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["outcome"]) == ["failed"]
    assert "could not be worked out" in log["detail"].iloc[0]
