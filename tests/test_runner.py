"""The runner: failures isolated, locks, the admin told once, run log, timings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import schedule

from automations import runner as runner_mod
from automations.config import Settings
from automations.context import Context
from automations.errors import JobError, StoreError
from automations.jobs import JobResult
from automations.runner import Runner, every, job_lock


@pytest.fixture
def fake_jobs(monkeypatch: pytest.MonkeyPatch) -> dict:
    calls: list[str] = []

    def good(ctx: Context) -> JobResult:
        calls.append("good")
        return JobResult("good", rows_read=3, rows_written=2, messages_sent=1)

    def broken(ctx: Context) -> JobResult:
        calls.append("broken")
        raise StoreError("staff workbook, tab 'people', row 3: something is wrong")

    def buggy(ctx: Context) -> JobResult:
        calls.append("buggy")
        raise KeyError("jane.doe@example.com")  # a bug whose message holds personal data

    mode = {"flaky_fails": True}

    def flaky(ctx: Context) -> JobResult:
        calls.append("flaky")
        if mode["flaky_fails"]:
            raise StoreError("the Google Sheets API did not answer in time")
        return JobResult("flaky")

    fns = {"good": good, "broken": broken, "buggy": buggy, "flaky": flaky}
    monkeypatch.setattr(runner_mod, "JOBS", {n: (f"x:{n}", "merge") for n in fns})
    monkeypatch.setattr(runner_mod, "job_function", lambda n: fns[n])
    monkeypatch.setattr(runner_mod, "available_jobs", lambda: list(fns))
    return {"calls": calls, "mode": mode}


def test_a_failing_job_never_stops_the_others(
    ctx: Context, settings: Settings, fake_jobs: dict
) -> None:
    r = Runner(settings, clock=ctx.clock)
    records = r.run_once(["broken", "buggy", "good"])
    assert [x.outcome for x in records] == ["failed", "failed", "ok"]
    assert fake_jobs["calls"] == ["broken", "buggy", "good"]
    assert "row 3" in records[0].detail
    assert "KeyError" in records[1].detail and "example.com" not in records[1].detail
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["job"]) == ["broken", "buggy", "good"]
    assert list(log["outcome"]) == ["failed", "failed", "ok"]
    assert log["rows_read"].iloc[2] == 3 and log["messages_sent"].iloc[2] == 1
    assert not log["detail"].str.contains("example.com").any()


def test_admin_is_told_once_after_repeated_failures(
    ctx: Context, settings: Settings, fake_jobs: dict
) -> None:
    outbox = settings.path(settings.org.mail.outbox)
    r = Runner(settings, clock=ctx.clock)
    for _ in range(6):
        r.run_job(ctx.campaign.id, "flaky")
    mails = list(outbox.glob("*.eml"))
    assert len(mails) == 1  # after the 3rd failure, and not again
    msg = email.message_from_bytes(mails[0].read_bytes())
    assert msg["To"] == settings.org.organisation.admin_email
    assert "'flaky' job keeps failing" in msg["Subject"]
    # A success of the same job resets the count; three more failures report again.
    fake_jobs["mode"]["flaky_fails"] = False
    r.run_job(ctx.campaign.id, "flaky")
    fake_jobs["mode"]["flaky_fails"] = True
    for _ in range(3):
        r.run_job(ctx.campaign.id, "flaky")
    assert len(list(outbox.glob("*.eml"))) == 2
    # The state survives a restart of the runner.
    r2 = Runner(settings, clock=ctx.clock)
    assert r2.state.entry(ctx.campaign.id, "flaky")["failures"] == 3


def test_the_admin_email_goes_through_the_same_address_guard(
    ctx: Context, settings: Settings, fake_jobs: dict, caplog: pytest.LogCaptureFixture
) -> None:
    """Two addresses in admin_email (set past the config check) send nothing to either."""
    org = settings.org
    who = org.organisation.model_copy(update={"admin_email": "a@zq.org, b@zq.org"})
    settings = dataclasses.replace(settings, org=org.model_copy(update={"organisation": who}))
    outbox = settings.path(settings.org.mail.outbox)
    r = Runner(settings, clock=ctx.clock)
    for _ in range(3):
        r.run_job(ctx.campaign.id, "flaky")
    assert list(outbox.glob("*.eml")) == []
    assert "admin_email is not one usable email address" in caplog.text
    assert "zq" not in caplog.text


def test_a_held_lock_skips_the_job(ctx: Context, settings: Settings, fake_jobs: dict) -> None:
    r = Runner(settings, clock=ctx.clock)
    with job_lock(r.lock_dir, ctx.campaign.id, "good"):
        rec = r.run_job(ctx.campaign.id, "good")
    assert rec.outcome == "skipped" and "already running" in rec.detail
    assert fake_jobs["calls"] == []
    assert r.run_job(ctx.campaign.id, "good").outcome == "ok"


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from automations.runner import job_lock
        with job_lock(Path({str(tmp_path)!r}), "c", "j"):
            print("held", flush=True)
            time.sleep(60)
    """)
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(JobError, match="already running"), job_lock(tmp_path, "c", "j"):
            pass
        proc.kill()
        proc.wait()
    with job_lock(tmp_path, "c", "j"):  # the kernel released the dead process's lock
        assert "pid" in (tmp_path / "c.j.lock").read_text()


@pytest.mark.parametrize(
    ("spec", "unit", "interval", "at"),
    [
        ("every 10 minutes", "minutes", 10, None),
        ("every 1 hours", "hours", 1, None),
        ("hourly", "hours", 1, None),
        ("daily at 09:00", "days", 1, "09:00:00"),
        ("Daily at 22:30", "days", 1, "22:30:00"),
    ],
)
def test_timings(spec: str, unit: str, interval: int, at: str | None) -> None:
    job = every(schedule.Scheduler(), spec)
    assert job.unit == unit and job.interval == interval
    assert (str(job.at_time) if job.at_time else None) == at


@pytest.mark.parametrize("spec", ["sometimes", "daily at 25:00", "every ten minutes"])
def test_bad_timing_is_explained(spec: str) -> None:
    with pytest.raises(JobError, match="not understood"):
        every(schedule.Scheduler(), spec)


def test_stop_request_finishes_the_current_job_and_starts_no_more(
    ctx: Context, settings: Settings, fake_jobs: dict, monkeypatch
) -> None:
    r = Runner(settings, clock=ctx.clock)

    def slow_good(c: Context) -> JobResult:
        r.stop_requested.set()  # a SIGTERM arrives while this job runs
        time.sleep(0.1)
        fake_jobs["calls"].append("slow")
        return JobResult("slow")

    monkeypatch.setattr(runner_mod, "job_function", lambda n: slow_good)
    records = r.run_once(["good", "broken"])
    assert [x.outcome for x in records] == ["ok"] and fake_jobs["calls"] == ["slow"]


def test_scheduler_is_explicit_and_has_one_entry_per_campaign_and_job(
    settings: Settings, fake_jobs: dict
) -> None:
    before = len(schedule.get_jobs())
    sched = Runner(settings).build_scheduler()
    assert len(sched.get_jobs()) == 4 * len(settings.campaigns)
    assert len(schedule.get_jobs()) == before  # the module's default scheduler is untouched


def test_run_once_shows_progress_only_when_a_person_watches(
    ctx: Context, settings: Settings, fake_jobs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from automations.cli import run_cmd

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    watched = Tty()
    monkeypatch.setattr(sys, "stderr", watched)
    recs = run_cmd._run_once(Runner(settings, clock=ctx.clock), ["good", "broken"])
    assert [r.outcome for r in recs] == ["ok", "failed"]
    assert "Running jobs" in watched.getvalue()

    quiet = io.StringIO()  # under the scheduler, cron or a pipe: no progress bar
    monkeypatch.setattr(sys, "stderr", quiet)
    recs = run_cmd._run_once(Runner(settings, clock=ctx.clock), ["good"])
    assert [r.outcome for r in recs] == ["ok"] and quiet.getvalue() == ""


def test_run_once_writes_the_run_log_in_one_append(
    ctx: Context, settings: Settings, fake_jobs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each append rewrites the workbook, so a run of every job logs in one write."""
    from automations.store.local import LocalStore

    saves: list[str] = []
    real_save = LocalStore._save

    def counting(self: LocalStore, wb: object) -> None:
        saves.append(self.path.name)
        real_save(self, wb)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStore, "_save", counting)
    recs = Runner(settings, clock=ctx.clock).run_once(["good", "broken", "good"])
    assert [r.outcome for r in recs] == ["ok", "failed", "ok"]
    assert saves == ["staff.xlsx"]  # the fake jobs write nothing; the log is one write
    ctx.stores.staff.forget()
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["outcome"]) == ["ok", "failed", "ok"]


def capped(settings: Settings, rows: int) -> Settings:
    """The same settings with the Run log tab kept to ``rows`` rows."""
    schedule_ = settings.org.schedule.model_copy(update={"run_log_rows": rows})
    return dataclasses.replace(
        settings, org=settings.org.model_copy(update={"schedule": schedule_})
    )


def test_the_run_log_tab_keeps_its_latest_rows_and_the_record_does_not_put_old_ones_back(
    ctx: Context, settings: Settings, fake_jobs: dict
) -> None:
    """Issue 17: a row per job per run grew the tab for ever; it keeps the latest rows."""
    import openpyxl

    from automations.ledger import open_ledger

    r = Runner(capped(settings, 10), clock=ctx.clock)
    ids: list[str] = []
    for n in range(8):  # an outcome that changes: the Status tab is saved each run
        fake_jobs["mode"]["flaky_fails"] = n % 2 == 0
        ids += [rec.run_id for rec in r.run_once(["flaky", "good"])]
    assert len(ids) == 16
    ctx.stores.staff.forget()
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["run_id"]) == ids[-10:]  # the latest, in order
    sheet = openpyxl.load_workbook(ctx.stores.staff.path)["Run log"]  # type: ignore[attr-defined]
    assert [c.value for c in sheet["A"][1:] if c.value] == ids[-10:]  # the file itself
    # Rows the job took out of the tab are not "deleted by a person": no notice, nothing
    # put back at the next run.
    fake_jobs["mode"]["flaky_fails"] = True
    recs = r.run_once(["flaky", "good"])
    assert not [a for rec in recs for a in rec.attention if "put back" in a or "deleted" in a]
    ctx.stores.staff.forget()
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["run_id"]) == [*ids, *(x.run_id for x in recs)][-10:]
    # The record took them out on purpose: gone from the live rows, kept as history until
    # its usual tidying (see LedgerSync's prune).
    led = open_ledger(settings.workspace / ctx.campaign.id)
    live = led.rows("staff", ["run_log"], led.generation("staff"))["run_log"]
    assert len(live) == 10

    with sqlite3.connect(led.path) as db:
        (kept,) = db.execute(
            "SELECT COUNT(DISTINCT key) FROM rows WHERE tab = 'run_log'"
        ).fetchone()
    assert kept == 18
    # Runs with nothing new hold their rows in the record, not saved; at twice the cap
    # they are trimmed in one save, so neither the record's view nor the file grows.
    seen = []
    for _ in range(32):
        r.run_once(["good"])
        ctx.stores.staff.forget()
        seen.append(len(ctx.stores.staff.read_one("run_log")))
    assert max(seen) == 20 and seen.count(10) > 1, seen  # held, then trimmed in one save
    sheet = openpyxl.load_workbook(ctx.stores.staff.path)["Run log"]  # type: ignore[attr-defined]
    assert 10 <= len([c for c in sheet["A"][1:] if c.value]) <= 20


def test_run_adds_columns_a_newer_version_needs_before_the_jobs(
    ctx: Context, config_dir: Path
) -> None:
    """An upgrade adds a column to a template: 'run' brings the workbook up to date first."""
    import openpyxl
    from click.testing import CliRunner

    from automations.cli import main

    path = ctx.stores.staff.path  # type: ignore[attr-defined]
    wb = openpyxl.load_workbook(path)
    ws = wb["Results"]
    last = ws.max_column
    dropped = ws.cell(1, last).value
    ws.delete_cols(last)  # as a workbook made by an older version would be
    wb.save(path)
    r = CliRunner().invoke(main, ["--config", str(config_dir), "run", "--once", "merge"])
    assert r.exit_code == 0, r.output
    assert "merge: ok" in r.output
    headers = [c.value for c in openpyxl.load_workbook(path)["Results"][1]]
    assert dropped in headers


def test_run_gives_back_the_signal_handlers_it_found(ctx: Context, config_dir: Path) -> None:
    """After 'run' returns, a stop signal reaches whatever started it (a test run too)."""
    import signal

    from click.testing import CliRunner

    from automations.cli import main

    def mine(signum: int, frame: object) -> None:
        """A caller's own handler, which the runner must hand back."""

    sigs = (signal.SIGTERM, signal.SIGINT)
    found = {s: signal.signal(s, mine) for s in sigs}
    try:
        r = CliRunner().invoke(main, ["--config", str(config_dir), "run", "--once", "merge"])
        assert r.exit_code == 0, r.output
        assert {s: signal.getsignal(s) for s in sigs} == {s: mine for s in sigs}
        runner = Runner(ctx.settings, clock=ctx.clock)
        with runner.signal_handlers():
            assert signal.getsignal(signal.SIGTERM) is not mine  # the runner's, meanwhile
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        for s, h in found.items():
            signal.signal(s, h)


def test_what_a_job_read_dies_with_it(
    ctx: Context, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: at 5,000 applications a job's tabs (Raw scores: 160,000 rows, read and
    keyed) kept alive through the next job put 300 MB under that job's own peak."""
    from automations.ledger import merge as ledger_merge

    seen: dict[str, object] = {}
    r = Runner(settings, clock=ctx.clock, skip_unchanged=False)

    def reader(c: Context) -> JobResult:
        seen["ctx"] = c
        people = c.stores.staff.read_one("people")
        c.stores.staff.write({"people": people.iloc[:-1]})  # a write keys the tab
        seen["kept in the job"] = (len(c.stores.staff._grids), len(ledger_merge._LAST))
        return JobResult("reader", rows_read=len(people), rows_written=len(people) - 1)

    def next_job(c: Context) -> JobResult:
        first = seen["ctx"]
        assert isinstance(first, Context) and first is not c
        staff = first.stores.staff
        seen["kept after"] = (len(staff._grids), len(staff.sync.raw), len(ledger_merge._LAST))
        seen["held by the runner"] = [x for x in r._pending_ctx.values() if x is first]
        return JobResult("next")

    fns = {"reader": reader, "next": next_job}
    monkeypatch.setattr(runner_mod, "JOBS", {n: (f"x:{n}", "merge") for n in fns})
    monkeypatch.setattr(runner_mod, "job_function", lambda n: fns[n])
    monkeypatch.setattr(runner_mod, "available_jobs", lambda: list(fns))
    recs = r.run_once(["reader", "next"])
    assert [x.outcome for x in recs] == ["ok", "ok"], [x.detail for x in recs]
    grids, keyings = seen["kept in the job"]  # type: ignore[misc]
    assert grids > 0 and keyings > 0
    assert seen["kept after"] == (0, 0, 0)
    assert seen["held by the runner"] == []
    ctx.stores.staff.forget()  # the run's end still logs both jobs, the campaign opened afresh
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["job"])[-2:] == ["reader", "next"]
    assert len(ctx.stores.staff.read_one("people")) == recs[0].rows_read - 1


def test_the_run_log_cap_keeps_the_latest_runs_however_the_tab_is_sorted() -> None:
    """A person sorts the Run log newest first: the cap keeps the newest runs, in the
    order the tab has them, and a row with no start time goes first."""
    from automations.status import latest_rows

    t = [dt.datetime(2027, 1, 1, 9) + dt.timedelta(minutes=15 * i) for i in range(6)]
    newest_first = pd.DataFrame(
        {"run_id": ["r5", "r4", "r3", "r2", "r1", "r0", "rx"], "started_at": [*t[::-1], None]}
    )
    kept = latest_rows(newest_first, 3)
    assert kept["run_id"].tolist() == ["r5", "r4", "r3"]
    oldest_first = newest_first.iloc[::-1]
    assert latest_rows(oldest_first, 3)["run_id"].tolist() == ["r3", "r4", "r5"]
    assert latest_rows(oldest_first, 10)["run_id"].tolist() == oldest_first["run_id"].tolist()
    as_read = newest_first.astype(object).where(newest_first.notna(), None)  # as a store reads
    assert latest_rows(as_read, 3)["run_id"].tolist() == ["r5", "r4", "r3"]
