"""The jobs' own ledger on the emulated Google Sheets path (issue 17).

The same stories as ``test_ledger.py``: a version restored over a newer one (what
"Restore this version" in Sheets does), rows deleted, the spreadsheet deleted, and a
second run with nothing new, which must make no write call at all.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_ledger import ATTENDANCE  # one attendance for the ledger stories
from test_runner import fake_jobs  # noqa: F401  (a fixture: jobs that do nothing)

from automations.context import Context, make_context
from automations.errors import StoreError
from automations.google.http import RetryPolicy
from automations.jobs import rewards as J
from automations.pipelines import remind_job
from automations.runner import Runner
from automations.store import make_frame
from automations.store.base import Grid, TableStore
from automations.store.record import STAMP, stamp_spec
from automations.workspace import init_campaign

AGREED = dt.datetime(2026, 12, 1, 9)
INVITED = 3
WRITES = ("values.batchUpdate", "values.update", "values.clear", "spreadsheets.batchUpdate")


@pytest.fixture
def make(google_settings: Any, google_transport: Any, google_credentials: Any) -> Any:
    """A new context on the emulated campaign, as the next run makes."""

    def _make(when: dt.datetime = AGREED) -> Context:
        return make_context(
            google_settings,
            clock=lambda: when,
            transport=google_transport,
            credentials=google_credentials,
            retry=RetryPolicy(sleep=lambda s: None),
        )

    return _make


def journal_sends(ctx: Context) -> dict[str, int]:
    path = ctx.settings.workspace / ctx.campaign.id / "mail-journal.jsonl"
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["s"] == "sent":
            out[rec["k"]] = out.get(rec["k"], 0) + 1
    return out


def snapshot(store: TableStore) -> dict[str, Grid | None]:
    """Every tab as the spreadsheet holds it, the hidden stamp too (a version in its history)."""
    return store._read_grids([*store.spec.tabs.values(), stamp_spec(store.spec.name)])


def put_back(store: TableStore, version: dict[str, Grid | None]) -> None:
    """A person restores an older version of the spreadsheet over the newer one."""
    now = snapshot(store)
    store._write_grids(
        {
            t: (g, len(now[t].rows))  # type: ignore[union-attr]
            for t, g in version.items()
            if g is not None and now.get(t) is not None
        }
    )


def set_in(grid: Grid | None, key: str, header: str, value: Any) -> Grid:
    """``value`` in the row whose first cell is ``key``, under ``header``."""
    assert grid is not None
    j = grid.header.index(header)
    for row in grid.rows:
        if row and row[0] == key:
            row.extend([None] * (j + 1 - len(row)))
            row[j] = value
    return grid


def typed(store: TableStore, tab: str, key: str, header: str, value: object) -> None:
    """A person types ``value`` in the row whose first cell is ``key``."""
    grid = set_in(store._read_grids([store.tab(tab)])[tab], key, header, value)
    store._write_grids({tab: (grid, len(grid.rows))})


def writes(emu: Any) -> int:
    return sum(n for k, n in emu.counts("sheets.").items() if k.endswith(WRITES))


def test_on_google_a_version_restored_over_a_newer_one_sends_nothing_twice(
    google_ctx: Any, make: Any
) -> None:
    staff = make().stores.staff
    their_version = snapshot(staff)  # the version a colleague will restore
    assert remind_job(make()).messages_sent == INVITED
    typed(staff, "people", "p02", "Access requirements", "step-free access")
    assert make().stores.staff.read_one("people").set_index("person_id").loc[
        "p02", "access_requirements"
    ] == ("step-free access")  # typed in the newer version and read by a run
    set_in(their_version["people"], "p04", "Not available", "2027-02-09")  # their own edit
    put_back(staff, their_version)

    again = make()
    assert remind_job(again).messages_sent == 0
    assert set(journal_sends(again).values()) == {1} and len(journal_sends(again)) == INVITED
    sent = again.stores.staff.read_one("sent_messages")
    assert len(sent) == INVITED + 1 and set(sent["status"]) == {"sent", "contact another way"}
    p = again.stores.staff.read_one("people").set_index("person_id")
    assert p.loc["p02", "access_requirements"] == "step-free access"
    assert p.loc["p04", "unavailable"] == "2027-02-09"
    notes = " ".join(again.stores.staff.notices)
    assert "The staff workbook was replaced by an older copy" in notes
    assert "(4 row(s) in Messages sent)" in notes and "step-free" not in notes
    # the next write repairs the spreadsheet itself
    again.stores.staff.write({"people": again.stores.staff.read_one("people")})
    raw = snapshot(staff)
    assert len([r for r in raw["sent_messages"].rows if any(r)]) == INVITED + 1  # type: ignore[union-attr]
    assert make().stores.staff.notices == [] or not any(
        "older copy" in n for n in make().stores.staff.notices
    )


def test_on_google_rows_deleted_from_messages_sent_come_back(google_ctx: Any, make: Any) -> None:
    assert remind_job(make()).messages_sent == INVITED
    staff = make().stores.staff
    grid = staff._read_grids([staff.tab("sent_messages")])["sent_messages"]
    assert grid is not None
    staff._write_grids({"sent_messages": (Grid(grid.title, grid.header, []), len(grid.rows))})
    again = make()
    assert remind_job(again).messages_sent == 0
    assert set(journal_sends(again).values()) == {1}
    assert len(again.stores.staff.read_one("sent_messages")) == INVITED + 1
    assert "put back 4 row(s) deleted from 'Messages sent'" in " ".join(again.stores.staff.notices)


def test_on_google_rows_deleted_from_the_rewards_ledger_come_back_and_nothing_is_paid_again(
    google_ctx: Any, make: Any
) -> None:
    staff = make().stores.staff
    staff.read(["attendance"])
    staff.write({"attendance": make_frame(staff.tab("attendance"), ATTENDANCE)})
    J.accrue_job(make())
    first = make().stores.staff.read_one(J.LEDGER)
    p03 = next(k for k in first["line_key"] if k.startswith("p03|"))
    # finance pays p03's line and types it in the spreadsheet; a run reads it
    typed(staff, J.LEDGER, p03, "Paid on", "2027-02-20")
    typed(staff, J.LEDGER, p03, "Payment reference", "BACS 7")
    J.accrue_job(make())
    before = make().stores.staff.read_one(J.LEDGER).reset_index(drop=True)
    assert before.set_index("line_key").loc[p03, "paid_on"] == dt.date(2027, 2, 20)
    # then every row of the ledger is deleted by mistake, in the browser
    grid = staff._read_grids([staff.tab(J.LEDGER)])[J.LEDGER]
    assert grid is not None and len(grid.rows) >= 2
    staff._write_grids({J.LEDGER: (Grid(grid.title, grid.header, []), len(grid.rows))})
    again = make()
    res = J.accrue_job(again)
    after = again.stores.staff.read_one(J.LEDGER).reset_index(drop=True)
    pd.testing.assert_frame_equal(after, before)  # nothing new owed, p03 still paid
    assert res.rows_written == 0
    assert list(after["line_key"]).count(p03) == 1
    assert sum(after["amount"]) == sum(first["amount"]) == Decimal("200.00")
    notes = " ".join(again.stores.staff.notices)
    assert "deleted from 'Rewards ledger'" in notes and "BACS" not in notes
    # the next write puts the rows back in the spreadsheet itself
    again.stores.staff.write({"people": again.stores.staff.read_one("people")})
    back = staff._read_grids([staff.tab(J.LEDGER)])[J.LEDGER]
    assert back is not None and len([r for r in back.rows if any(r)]) == len(before)


def test_on_google_a_deleted_spreadsheet_is_refused_and_restored(
    google_ctx: Any, google_emulator: Any, make: Any
) -> None:
    remind_job(make())
    before = {t: make().stores.staff.read_one(t) for t in ("people", "sent_messages")}
    old = make().stores.staff.spreadsheet_id  # type: ignore[attr-defined]
    del google_emulator.state("drive")["files"][old]
    del google_emulator.state("sheets")["spreadsheets"][old]
    with pytest.raises(StoreError, match="corecruit restore") as exc:
        remind_job(make())
    assert old in str(exc.value)  # the spreadsheet's address
    with pytest.raises(StoreError, match="corecruit restore"):
        init_campaign(make())
    assert old not in google_emulator.state("sheets")["spreadsheets"]
    store = make().stores.staff
    rep = store.restore()
    assert store.spreadsheet_id != old and store.spreadsheet_id in rep.location  # type: ignore[attr-defined]
    back = make()
    for tab, df in before.items():
        pd.testing.assert_frame_equal(back.stores.staff.read_one(tab), df)
    assert remind_job(back).messages_sent == 0
    assert set(journal_sends(back).values()) == {1}


def test_on_google_a_second_run_with_nothing_new_makes_no_write_call(
    google_ctx: Any, google_emulator: Any, make: Any, google_settings: Any
) -> None:
    runner = Runner(google_settings, context_factory=lambda s, cid: make(dt.datetime(2027, 1, 25)))
    for _ in range(2):  # the first run does the work; the second settles anything it started
        init_campaign(make(), add_tabs=False)
        runner.run_once()
    google_emulator.reset_counts()
    init_campaign(make(), add_tabs=False)  # what 'corecruit run' does at each start
    recs = runner.run_once()
    assert {r.outcome for r in recs} == {"ok"}, [r.detail for r in recs if r.outcome != "ok"]
    assert writes(google_emulator) == 0, google_emulator.counts("sheets.")
    assert google_emulator.counts("sheets.").get("sheets.spreadsheets.values.batchGet", 0) > 0
    log = make().stores.staff.read_one("run_log")  # the run log waits in the ledger
    assert len(log) == 3 * len(recs)


def test_on_google_the_run_log_tab_keeps_its_latest_rows_and_nothing_is_put_back(
    google_ctx: Any,
    google_emulator: Any,
    make: Any,
    google_settings: Any,
    fake_jobs: dict,  # noqa: F811  (the fixture imported above)
) -> None:
    """Issue 17: the Run log keeps its latest rows on Google Sheets too."""
    from test_runner import capped

    settings = capped(google_settings, 10)
    runner = Runner(settings, context_factory=lambda s, cid: make())
    ids: list[str] = []
    for n in range(8):  # an outcome that changes: the Status tab is saved each run
        fake_jobs["mode"]["flaky_fails"] = n % 2 == 0
        ids += [rec.run_id for rec in runner.run_once(["flaky", "good"])]
    staff = make().stores.staff
    ss = google_emulator.state("sheets")["spreadsheets"][staff.spreadsheet_id]
    sheet = next(sh for sh in ss.sheets if sh.props["title"] == "Run log")
    first = sorted((r, str(c.value)) for (r, col), c in sheet.cells.items() if col == 0 and r)
    assert [v for _, v in first if v not in ("", "None")] == ids[-10:]  # the sheet itself
    fake_jobs["mode"]["flaky_fails"] = True
    recs = runner.run_once(["flaky", "good"])
    assert not [a for rec in recs for a in rec.attention if "put back" in a or "deleted" in a]
    log = make().stores.staff.read_one("run_log")
    assert list(log["run_id"]) == [*ids, *(x.run_id for x in recs)][-10:]


def test_the_stamp_tab_is_hidden_on_google(google_ctx: Any, google_emulator: Any) -> None:
    staff = google_ctx.stores.staff
    staff.forget()
    staff.read(["people"])
    ss = google_emulator.state("sheets")["spreadsheets"][staff.spreadsheet_id]
    stamp = [sh for sh in ss.sheets if sh.props["title"] == stamp_spec("staff").label]
    assert len(stamp) == 1 and stamp[0].props.get("hidden") is True
    assert STAMP == "_corecruit" and Path(staff.sync.folder).is_dir()  # type: ignore[union-attr]
