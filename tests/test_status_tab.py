"""The Status tab staff can trust: the first tab of the staff workbook, written at the end
of every run, the same as ``corecruit status`` prints.

Checked from the user's side: the tab as a second reader (python-calamine) sees it after
a scripted campaign, the terminal's output line by line against it, a second run with
nothing new leaving it alone, a workbook made before the tab existed, and the emulated
Google path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from click.testing import CliRunner

from automations.cli import main
from automations.config import Settings
from automations.context import Context, make_context
from automations.runner import Runner
from automations.store import TableStore, make_frame
from automations.transforms.status import NEEDS, NEXT, RUNS
from automations.workspace import init_campaign
from tests.review_support import mark_reviewed
from tests.test_end_to_end import leaks, personal_data, xlsx_cells

LONDON = ZoneInfo("Europe/London")
CID = "peer-support-2027"
HEADER = ["Section", "What", "Go to", "When", "Outcome", "Next run"]
JOB_COUNT = 9


class Clock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


def status_sheet(ctx: Context) -> list[list[str]]:
    """The Status tab as a second reader sees it (header first)."""
    return xlsx_cells(Path(str(ctx.stores.staff.location)))["Status"]


def section(rows: list[list[str]], name: str) -> list[list[str]]:
    return [r for r in rows[1:] if r[0] == name]


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[set[str]]]:
    """The tabs of each write the stores make, in order (local and Google alike)."""
    calls: list[set[str]] = []
    real = TableStore.write

    def spy(self: TableStore, frames: Any, **kw: Any) -> int:
        if self.spec.name == "staff":
            calls.append(set(frames))
        return real(self, frames, **kw)

    monkeypatch.setattr(TableStore, "write", spy)
    yield calls


def test_the_status_tab_after_a_scripted_campaign(
    settings: Settings, written: list[set[str]]
) -> None:
    clock = Clock(dt.datetime(2027, 1, 6, 9, 0))  # applications in; nothing checked yet
    ctx = make_context(settings, clock=clock)
    init_campaign(ctx, example=True)
    runner = Runner(settings, clock=clock)
    everyone = personal_data(ctx)

    runner.run_once()
    book = xlsx_cells(Path(str(ctx.stores.staff.location)))
    assert next(iter(book)) == "Status"  # the first tab
    rows = book["Status"]
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == sorted(
        (r[0] for r in rows[1:]), key=[NEEDS, NEXT, RUNS].index
    )
    needs = section(rows, NEEDS)
    held = [r for r in needs if r[2] == "Redaction report, rows 2, 3, 4, 5, 6, 7"]
    assert len(held) == 1 and "6 applications wait for a check" in held[0][1]
    nxt = [r[1] for r in section(rows, NEXT)]
    assert nxt[0] == "Shortlisting links go out on Mon 11 Jan"
    assert "Interviews on Mon 8 Feb and Tue 9 Feb" in nxt
    assert "Preparation meeting on Fri 29 Jan at 10am" in nxt
    assert "Shortlisting deadline reminders go to shortlisters on Wed 20 Jan at 9am" in nxt
    assert "3-month check-in letters go to the new worker on Mon 14 Jun at 9am" in nxt
    assert "3-month check-in on Mon 5 Jul at 10am" in nxt
    assert not any("recruitment" in x.lower() for x in nxt)  # 1 December has passed
    runs = {r[1]: r[3:] for r in section(rows, RUNS)}
    assert len(runs) == JOB_COUNT
    assert runs["Merge the panels' scores (merge)"] == ["Wed 6 Jan, 9am", "ok", "Wed 6 Jan, 9:10am"]
    assert runs["Reminders and letters (remind)"] == ["Wed 6 Jan, 9am", "ok", "Thu 7 Jan, 9am"]
    assert runs["Rewards ledger (rewards)"] == ["Wed 6 Jan, 9am", "ok", "Wed 6 Jan, 10pm"]

    # Staff check the report; shortlisting opens; a send is left unsure and a response
    # could not be used (as a crash mid-send and a blank score would leave them).
    assert mark_reviewed(ctx) == 6
    clock.t = dt.datetime(2027, 1, 11, 9, 0)
    runner.run_once()
    st = ctx.stores.staff
    st.forget()
    sent = st.read_one("sent_messages")
    unsure = int(sent.index[sent["person_id"].eq("p03")][0])
    sent.loc[unsure, "status"] = "intended"
    exc = [
        {
            "exception_id": "x1",
            "job": "forms_collect",
            "source": "form p05 shortlisting",
            "reason": "p05 left the score for Candidate B on criterion 2 blank",
        },
        {"exception_id": "x2", "job": "merge", "reason": "an old problem", "resolved": True},
    ]
    st.write({"sent_messages": sent, "exceptions": make_frame(st.tab("exceptions"), exc)})
    clock.t = dt.datetime(2027, 1, 11, 9, 10)
    written.clear()
    runner.run_once(["forms_collect", "merge"])
    assert written[-1] == {"run_log", "status"}  # the run's end: one write of both
    rows = status_sheet(ctx)
    needs = section(rows, NEEDS)
    assert not any("wait for a check" in r[1] for r in needs)  # checked: off the list
    go = {r[2]: r[1] for r in needs}
    assert go[f"Messages sent, row {unsure}"].startswith("Check whether this message went")
    assert go["Needs attention, row 2"].startswith(
        "p05 left the score for Candidate B on criterion 2 blank."
    )
    assert not any("an old problem" in r[1] for r in needs)  # resolved: not listed
    other = [r for r in needs if "another way" in r[1]]
    assert [r[1].split(":")[0] for r in other] == ["Contact p06 another way"]  # once a person
    waits = [r for r in needs if "shortlisting results wait for" in r[1]]
    assert len(waits) == 1 and "p01 (not sent yet)" in waits[0][1]
    assert len({r[1] for r in needs}) == len(needs)  # each item once
    nxt = [r[1] for r in section(rows, NEXT)]
    # the links went this morning (Messages sent says so): said as done, not as still to go
    assert nxt[0] == "Shortlisting links went out on Mon 11 Jan"
    assert not any("links go out" in x for x in nxt)
    runs = {r[1]: r[3:] for r in section(rows, RUNS)}
    assert runs["Merge the panels' scores (merge)"] == [
        "Mon 11 Jan, 9:10am",
        "ok",
        "Mon 11 Jan, 9:20am",
    ]
    assert runs["Anonymise applications (redact)"] == ["Mon 11 Jan, 9am", "ok", "Mon 11 Jan, 10am"]

    # Nothing new, same minute: the Status tab is not written again.
    written.clear()
    runner.run_once(["forms_collect", "merge"])
    assert written == [{"run_log"}]
    assert status_sheet(ctx) == rows

    # No names, emails or phone numbers anywhere on it.
    assert leaks([c for r in rows for c in r if c], everyone) == []


def test_status_prints_what_the_tab_holds(settings: Settings, config_dir: Path) -> None:
    with time_machine.travel(dt.datetime(2027, 1, 12, 9, 0, tzinfo=LONDON), tick=False):
        init_campaign(make_context(settings), example=True)
        cli = CliRunner()
        run = cli.invoke(main, ["--config", str(config_dir), "run", "--once"])
        assert run.exit_code == 0, run.output
        out = cli.invoke(main, ["--config", str(config_dir), "status"])
        assert out.exit_code == 0, out.output
    rows = status_sheet(make_context(settings))[1:]
    lines = out.output.splitlines()
    assert lines[0] == "Peer Support Worker, Community Mental Health Team (peer-support-2027)"
    body = [ln for ln in lines[1:] if ln not in (NEEDS, NEXT, RUNS)]
    assert len(body) == len(rows) and len(rows) > JOB_COUNT
    for row, line in zip(rows, body, strict=True):  # the same rows, in the same order
        for cell in row[1:]:
            assert cell in line, (cell, line)
    assert [ln for ln in lines if ln in (NEEDS, NEXT, RUNS)] == [NEEDS, NEXT, RUNS]


def test_a_workbook_without_a_status_tab_gets_one_and_run_carries_on(
    ctx: Context, config_dir: Path
) -> None:
    path = Path(str(ctx.stores.staff.location))
    wb = openpyxl.load_workbook(path)
    del wb["Status"]  # as a workbook made by an older version of corecruit
    wb.save(path)
    r = CliRunner().invoke(main, ["--config", str(config_dir), "run", "--once", "merge"])
    assert r.exit_code == 0, r.output
    assert "Status" not in r.output  # no warning: it holds nothing a person typed
    book = xlsx_cells(path)
    assert list(book)[-1] == "Status"  # added where a new tab goes
    rows = book["Status"]
    assert rows[0] == HEADER and len(section(rows, RUNS)) == JOB_COUNT
    log = ctx.stores.staff.read_one("run_log")
    assert list(log["job"]) == ["merge"]  # the run log row was written with it


def test_a_command_run_by_hand_updates_the_status_tab(ctx: Context, config_dir: Path) -> None:
    code = CliRunner().invoke(main, ["--config", str(config_dir), "timetable"]).exit_code
    assert code == 0
    runs = {r[1]: r[3:] for r in section(status_sheet(ctx), RUNS)}
    when, outcome, _ = runs["Interview timetable (timetable)"]
    assert when != "not yet" and outcome == "ok"
    assert runs["Merge the panels' scores (merge)"] == ["not yet", "", "at the next start"]


def test_the_status_tab_on_emulated_google(
    google_ctx: Context, google_settings: Settings, written: list[set[str]]
) -> None:
    clock = Clock(dt.datetime(2027, 1, 25, 9, 0))
    runner = Runner(google_settings, clock=clock, context_factory=lambda s, cid: google_ctx)
    everyone = personal_data(google_ctx)
    runner.run_once(["redact", "merge"])
    assert written[-1] == {"run_log", "status"}
    st = google_ctx.stores.staff
    st.forget()
    tab = st.read_one("status")
    rows = [[str(v) for v in r] for r in tab.itertuples(index=False)]
    needs = section([HEADER, *rows], NEEDS)
    assert any(r[2] == "Redaction report, rows 2, 3, 4, 5, 6, 7" for r in needs)
    nxt = [r[1] for r in section([HEADER, *rows], NEXT)]
    assert nxt[0] == "Preparation meeting reminders go to the panel on Wed 27 Jan at 9am"
    runs = {r[1]: r[3:] for r in section([HEADER, *rows], RUNS)}
    assert runs["Merge the panels' scores (merge)"] == [
        "Mon 25 Jan, 9am",
        "ok",
        "Mon 25 Jan, 9:10am",
    ]
    assert leaks([c for r in rows for c in r if c], everyone) == []
    written.clear()
    runner.run_once(["redact", "merge"])  # nothing new: the Status tab is left alone
    assert written == [{"run_log"}]
