"""The jobs' own ledger under the table store (issue 17), on the local store.

A person saves an older copy of the staff workbook over the newer one, deletes rows
from *Messages sent* or the *Rewards ledger*, or deletes the workbook: nothing is sent
or paid twice, nothing recorded is lost, and the run says what happened in words.
Messages are counted where they really arrive: a loopback SMTP server (aiosmtpd).
"""

from __future__ import annotations

import datetime as dt
import email
import json
import threading
from collections.abc import Iterator
from decimal import Decimal as D
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from remind_support import NAMES, no_personal_data

from automations.cli import main
from automations.config import load_settings
from automations.context import Context, make_context
from automations.errors import StoreError
from automations.jobs import rewards as J
from automations.ledger import SqliteLedger, TabChange, open_ledger
from automations.pipelines import remind_job
from automations.store import make_frame
from automations.workspace import init_campaign

AGREED = dt.datetime(2026, 12, 1, 9)
INVITED = 3  # p03, p05 and p07 are invited when recruitment is agreed


# ------------------------------------------------------------------ helpers


class Inbox:
    """A loopback SMTP server's mailbox: every message that really arrived."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        return sorted(str(m["X-Corecruit-Key"]).strip() for m in self.received)


@pytest.fixture
def smtp(config_dir: Path) -> Iterator[tuple[Inbox, Context]]:
    """The example campaign sending over SMTP to a server on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    org = config_dir / "organisation.toml"
    text = org.read_text().replace('transport = "outbox"', 'transport = "smtp"')
    text = text.replace('host = "smtp.example.org"', 'host = "127.0.0.1"')
    text = text.replace("port = 587", f"port = {port}").replace(
        'security = "starttls"', 'security = "none"'
    )
    org.write_text(text)
    c = make_context(load_settings(config_dir), clock=lambda: AGREED)
    init_campaign(c, example=True)
    try:
        yield inbox, c
    finally:
        controller.stop()


def fresh(ctx: Context, when: dt.datetime = AGREED) -> Context:
    """A new context on the same campaign, as the next run (or another process) makes."""
    return make_context(ctx.settings, ctx.campaign.id, clock=lambda: when)


def journal_sends(ctx: Context) -> dict[str, int]:
    """How many times each message key was handed to the mail server (the mail journal)."""
    path = ctx.settings.workspace / ctx.campaign.id / "mail-journal.jsonl"
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["s"] == "sent":
            out[rec["k"]] = out.get(rec["k"], 0) + 1
    return out


def staff_path(ctx: Context) -> Path:
    return Path(ctx.stores.staff.location)


def cell_edit(path: Path, title: str, key: str, header: str, value: object) -> None:
    """A person types ``value`` in the row whose first cell is ``key`` (saved with openpyxl)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[title]
    col = [c.value for c in ws[1]].index(header) + 1
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == key:
            ws.cell(r, col).value = value
    wb.save(path)


def delete_rows(path: Path, title: str, keep: int = 0) -> int:
    """A person deletes every data row of a tab after the first ``keep``."""
    wb = openpyxl.load_workbook(path)
    ws = wb[title]
    gone = ws.max_row - 1 - keep
    ws.delete_rows(2 + keep, gone)
    wb.save(path)
    return gone


def rows_in_file(path: Path, title: str) -> int:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = wb[title].iter_rows(min_row=2, values_only=True)
        return sum(1 for r in rows if any(v for v in r))
    finally:
        wb.close()  # a read-only workbook holds its file open until closed


def people(ctx: Context) -> pd.DataFrame:
    ctx.stores.staff.forget()
    return ctx.stores.staff.read_one("people").set_index("person_id")


# ------------------------------------------------------------------ the ledger itself


def test_the_ledger_keeps_versions_so_any_recent_generation_can_be_rebuilt(
    tmp_path: Path,
) -> None:
    led = SqliteLedger(tmp_path / "c" / "ledger.sqlite3")
    a = led.commit("staff", {"t": TabChange({"k1": (0, "v1")})}, sheet_stamp=-1, kind="w", at="x")
    b = led.commit("staff", {"t": TabChange({"k2": (1, "v2")})}, sheet_stamp=-1, kind="w", at="x")
    c = led.commit(
        "staff",
        {"t": TabChange({"k1": (0, "v1b")}, removes={"k2"})},
        sheet_stamp=None,
        kind="read",
        at="x",
    )
    assert (a, b, c) == (1, 2, 3)
    assert led.rows("staff", ["t"], 1) == {"t": {"k1": (0, "v1")}}
    assert led.rows("staff", ["t"], 2) == {"t": {"k1": (0, "v1"), "k2": (1, "v2")}}
    assert led.rows("staff", ["t"], 3) == {"t": {"k1": (0, "v1b")}}
    assert led.base_generation("staff", 2) == 2 and led.base_generation("staff", 3) is None
    # an unchanged row is not stored again: storage grows with changes, not with runs
    for _ in range(5):
        led.commit("staff", {"t": TabChange({"k1": (0, "v1b")})}, sheet_stamp=-1, kind="w", at="")
    with led._read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0] == 3
    assert led.add_event("staff", "k", "words", "x") and not led.add_event(
        "staff", "k", "words", ""
    )
    mode = (tmp_path / "c" / "ledger.sqlite3").stat().st_mode & 0o777
    assert mode == 0o600
    assert open_ledger(tmp_path / "c") is open_ledger(tmp_path / "c")


# ------------------------------------------------------------------ stale copy


def test_an_older_copy_saved_back_sends_nothing_twice_and_keeps_every_change(
    smtp: tuple[Inbox, Context],
) -> None:
    inbox, ctx = smtp
    path = staff_path(ctx)
    their_copy = path.read_bytes()  # a colleague opens the workbook before the run
    first = remind_job(fresh(ctx))
    assert first.messages_sent == INVITED and len(inbox.received) == INVITED
    # after the run, someone types in the newer version, and a run reads it
    cell_edit(path, "People", "p02", "Access requirements", "step-free access")
    cell_edit(path, "People", "p01", "Access requirements", "a lift please")
    assert people(fresh(ctx)).loc["p02", "access_requirements"] == "step-free access"
    # the colleague edits their older copy and saves it over the newer workbook
    stale = path.with_suffix(".copy.xlsx")
    stale.write_bytes(their_copy)
    cell_edit(stale, "People", "p04", "Not available", "2027-02-09")
    cell_edit(stale, "People", "p01", "Access requirements", "a ramp please")
    stale.replace(path)

    again = fresh(ctx)
    res = remind_job(again)
    assert res.messages_sent == 0
    assert len(inbox.received) == INVITED  # nothing arrived twice
    assert inbox.keys() == sorted(set(inbox.keys()))
    assert set(journal_sends(ctx).values()) == {1}
    sent = again.stores.staff.read_one("sent_messages")
    assert len(sent) == INVITED + 1  # the three invitations and p06's 'contact another way'
    assert set(sent["status"]) == {"sent", "contact another way"}
    p = people(again)
    assert p.loc["p02", "access_requirements"] == "step-free access"  # typed since, kept
    assert p.loc["p04", "unavailable"] == "2027-02-09"  # the older copy's own edit, kept
    assert p.loc["p01", "access_requirements"] == "a ramp please"  # both changed: the sheet's
    notes = " ".join(again.stores.staff.notices)
    assert "The staff workbook was replaced by an older copy (saved before the run at" in notes
    assert "put back what it had recorded since (4 row(s) in Messages sent)" in notes
    assert "tab 'People', row 2, column 'Access requirements' was changed both" in notes
    assert "kept your changes in 2 cell(s)" in notes  # p04 and p01, in the older copy
    assert "please" not in notes and no_personal_data(notes) == []  # never a value
    assert not any(n in notes for n in NAMES)

    # the next write repairs the workbook itself: every row is back in the file
    again.stores.staff.write({"people": again.stores.staff.read_one("people")})
    assert rows_in_file(path, "Messages sent") == INVITED + 1
    later = fresh(ctx)
    assert people(later).loc["p04", "unavailable"] == "2027-02-09"
    assert later.stores.staff.notices == []  # the workbook is current again
    assert remind_job(later).messages_sent == 0 and len(inbox.received) == INVITED


def test_the_run_says_in_words_that_an_older_copy_was_put_right(
    smtp: tuple[Inbox, Context],
) -> None:
    inbox, ctx = smtp
    path = staff_path(ctx)
    their_copy = path.read_bytes()
    r = CliRunner().invoke(
        main, ["--config", str(ctx.settings.config_dir), "run", "--once", "remind"]
    )
    assert r.exit_code == 0, r.output
    sent = len(inbox.received)
    assert sent >= INVITED
    path.write_bytes(their_copy)
    r = CliRunner().invoke(
        main, ["--config", str(ctx.settings.config_dir), "run", "--once", "remind"]
    )
    assert r.exit_code == 0, r.output
    assert "Please note: The staff workbook was replaced by an older copy" in r.output
    assert len(inbox.received) == sent
    s = CliRunner().invoke(main, ["--config", str(ctx.settings.config_dir), "status"])
    assert "replaced by an older copy" in s.output


# ------------------------------------------------------------------ deleted rows


def test_rows_deleted_from_messages_sent_come_back_and_nothing_is_sent_again(
    smtp: tuple[Inbox, Context],
) -> None:
    inbox, ctx = smtp
    assert remind_job(fresh(ctx)).messages_sent == INVITED
    path = staff_path(ctx)
    assert delete_rows(path, "Messages sent") == INVITED + 1
    again = fresh(ctx)
    assert remind_job(again).messages_sent == 0
    assert len(inbox.received) == INVITED and set(journal_sends(ctx).values()) == {1}
    assert len(again.stores.staff.read_one("sent_messages")) == INVITED + 1
    notes = " ".join(again.stores.staff.notices)
    assert "put back 4 row(s) deleted from 'Messages sent'" in notes


def write_attendance(ctx: Context, who: str = "Priya") -> None:
    """A job that reads and saves only the Attendance tab (the workbook is saved whole)."""
    staff = ctx.stores.staff
    staff.read(["attendance"])
    rows = [{**r, "confirmed_by": who} for r in ATTENDANCE]
    staff.write({"attendance": make_frame(staff.tab("attendance"), rows)})


def test_a_save_of_other_tabs_keeps_an_untouched_tab_known_but_never_a_touched_one(
    smtp: tuple[Inbox, Context],
) -> None:
    inbox, ctx = smtp
    assert remind_job(fresh(ctx)).messages_sent == INVITED
    write_attendance(fresh(ctx))
    before = fresh(ctx).stores.staff.tab_tokens(["sent_messages"])
    # The rewards job saves its ledger with money formats: every tab's token moves (the
    # file's formats are part of it), yet Messages sent, untouched, still holds the
    # record's rows, so the next read takes it as it is, without keying it again.
    J.accrue_job(fresh(ctx))
    assert fresh(ctx).stores.staff.tab_tokens(["sent_messages"]) != before
    after = fresh(ctx)
    after.stores.staff.read(["sent_messages"])
    sync = after.stores.staff.sync
    assert sync is not None and "sent_messages" in sync.unparsed
    # A person deletes rows between runs, and a job saves another tab before anything
    # reads Messages sent: the deletion is still found (never taken as "not sent").
    assert delete_rows(staff_path(ctx), "Messages sent") == INVITED + 1
    write_attendance(fresh(ctx), who="Sam")
    again = fresh(ctx)
    assert remind_job(again).messages_sent == 0
    assert len(inbox.received) == INVITED and set(journal_sends(ctx).values()) == {1}
    assert len(again.stores.staff.read_one("sent_messages")) == INVITED + 1
    assert "put back 4 row(s) deleted from 'Messages sent'" in " ".join(again.stores.staff.notices)


def test_a_save_by_openpyxl_keeps_no_untouched_tab_known(
    smtp: tuple[Inbox, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl rewrites every tab (and drops the values formulas showed), so after its
    save no tab is taken as it is: each is read and checked against the record again."""
    from automations.store.local import LocalStore

    _, ctx = smtp
    assert remind_job(fresh(ctx)).messages_sent == INVITED
    write_attendance(fresh(ctx))
    monkeypatch.setattr(LocalStore, "fast_saves", False)
    J.accrue_job(fresh(ctx))
    after = fresh(ctx)
    after.stores.staff.read(["sent_messages"])
    sync = after.stores.staff.sync
    assert sync is not None and "sent_messages" not in sync.unparsed
    assert len(after.stores.staff.read_one("sent_messages")) == INVITED + 1


ATTENDANCE = [
    {"person_id": "p03", "activity": "interview day", "date": dt.date(2027, 2, 8),
     "confirmed_by": "Priya"},
    {"person_id": "p05", "activity": "interview day", "date": dt.date(2027, 2, 8),
     "confirmed_by": "Priya"},
]  # fmt: skip


def test_rows_deleted_from_the_rewards_ledger_come_back_and_nothing_is_paid_again(
    ctx: Context,
) -> None:
    staff = ctx.stores.staff
    staff.read(["attendance"])
    staff.write({"attendance": make_frame(staff.tab("attendance"), ATTENDANCE)})
    J.accrue_job(fresh(ctx))
    path = staff_path(ctx)
    first = fresh(ctx).stores.staff.read_one(J.LEDGER)
    p03 = next(k for k in first["line_key"] if k.startswith("p03|"))
    # finance pays p03's line and types it in; a run reads it
    cell_edit(path, "Rewards ledger", p03, "Paid on", "2027-02-20")
    cell_edit(path, "Rewards ledger", p03, "Payment reference", "BACS 7")
    J.accrue_job(fresh(ctx))
    before = fresh(ctx).stores.staff.read_one(J.LEDGER).reset_index(drop=True)
    assert before.set_index("line_key").loc[p03, "paid_on"] == dt.date(2027, 2, 20)
    # then every row of the ledger is deleted by mistake
    delete_rows(path, "Rewards ledger")
    again = fresh(ctx)
    res = J.accrue_job(again)
    after = again.stores.staff.read_one(J.LEDGER).reset_index(drop=True)
    pd.testing.assert_frame_equal(after, before)  # nothing new owed, p03 still paid
    assert res.rows_written == 0
    assert list(after["line_key"]).count(p03) == 1
    assert sum(after["amount"]) == sum(first["amount"]) == D("200.00")
    assert "deleted from 'Rewards ledger'" in " ".join(again.stores.staff.notices)


# ------------------------------------------------------------------ deleted workbook


def test_a_deleted_workbook_is_refused_with_its_path_and_restore_brings_it_back(
    smtp: tuple[Inbox, Context],
) -> None:
    inbox, ctx = smtp
    remind_job(fresh(ctx))
    cfg = ["--config", str(ctx.settings.config_dir)]
    path = staff_path(ctx)
    before = {t: fresh(ctx).stores.staff.read_one(t) for t in ("people", "sent_messages")}
    path.unlink()
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "remind"])
    assert r.exit_code != 0
    assert str(path) in r.output and "corecruit restore" in r.output
    assert not path.exists()  # never made again empty
    r = CliRunner().invoke(main, [*cfg, "init"])
    assert r.exit_code != 0 and "corecruit restore" in r.output and not path.exists()
    with pytest.raises(StoreError, match="corecruit restore"):
        fresh(ctx).stores.staff.read_one("people")
    r = CliRunner().invoke(main, [*cfg, "check"])
    assert "Run 'corecruit restore' to rebuild it" in r.output

    r = CliRunner().invoke(main, [*cfg, "restore"])
    assert r.exit_code == 0, r.output
    assert f"The staff workbook was rebuilt from corecruit's record: {path}" in r.output
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    back = fresh(ctx)
    for tab, df in before.items():
        pd.testing.assert_frame_equal(back.stores.staff.read_one(tab), df)
    assert rows_in_file(path, "Messages sent") == INVITED + 1
    assert remind_job(back).messages_sent == 0 and len(inbox.received) == INVITED
    r = CliRunner().invoke(main, [*cfg, "restore"])
    assert r.exit_code == 0 and "nothing needed restoring" in r.output


# ------------------------------------------------------------------ migration


def test_a_campaign_from_before_the_ledger_is_taken_in_without_sending_or_paying_again(
    smtp: tuple[Inbox, Context],
) -> None:
    inbox, ctx = smtp
    folder = ctx.settings.workspace / ctx.campaign.id
    # today's layout: the workbooks made and used by the current code without a ledger
    for p in folder.glob("ledger.sqlite3*"):
        p.unlink()
    for p in folder.glob("*.xlsx"):
        p.unlink()
    old = fresh(ctx)
    for s in (old.stores.staff, old.stores.panel):
        s.sync = None
    init_campaign(old, example=True)
    old.stores.staff.write(
        {"attendance": make_frame(old.stores.staff.tab("attendance"), ATTENDANCE)}
    )
    assert remind_job(old).messages_sent == INVITED
    J.accrue_job(old)
    lines = old.stores.staff.read_one(J.LEDGER)
    p03 = next(k for k in lines["line_key"] if k.startswith("p03|"))
    cell_edit(staff_path(ctx), "Rewards ledger", p03, "Paid on", "2027-02-20")
    assert not (folder / "ledger.sqlite3").exists()
    assert "About this workbook" not in openpyxl.load_workbook(staff_path(ctx)).sheetnames

    new = fresh(ctx)
    assert remind_job(new).messages_sent == 0
    J.accrue_job(new)
    assert len(inbox.received) == INVITED
    led = new.stores.staff.read_one(J.LEDGER).set_index("line_key")
    assert len(led) == len(lines) and led.loc[p03, "paid_on"] == dt.date(2027, 2, 20)
    events = [e.text for e in open_ledger(folder).events("staff")]
    assert any("took the staff workbook as its record" in e for e in events)
    # the ledger holds what the workbook held: deleted rows now come back
    delete_rows(staff_path(ctx), "Messages sent")
    delete_rows(staff_path(ctx), "Rewards ledger")
    later = fresh(ctx)
    assert remind_job(later).messages_sent == 0 and len(inbox.received) == INVITED
    back = later.stores.staff.read_one(J.LEDGER).set_index("line_key")
    assert back.loc[p03, "paid_on"] == dt.date(2027, 2, 20) and len(back) == len(lines)


# ------------------------------------------------------------------ no change, no write


def test_a_second_run_with_nothing_new_leaves_the_files_untouched(ctx: Context) -> None:
    cfg = ["--config", str(ctx.settings.config_dir)]
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server"])
    assert r.exit_code == 0, r.output
    files = [staff_path(ctx), Path(ctx.stores.panel.location)]
    seen = [(p.stat().st_mtime_ns, p.stat().st_ino) for p in files]
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server"])
    assert r.exit_code == 0, r.output
    assert [(p.stat().st_mtime_ns, p.stat().st_ino) for p in files] == seen
    log = fresh(ctx).stores.staff.read_one("run_log")  # the run log is kept all the same
    assert len(log) >= 2 * 8


def test_a_workbook_held_by_an_office_program_gets_the_change_on_the_next_write(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automations.store.local import LocalStore

    path = staff_path(ctx)
    staff = fresh(ctx).stores.staff
    staff.read(["attendance"])
    monkeypatch.setattr(LocalStore, "hold_export", lambda self: "it is open in another program")
    mtime = path.stat().st_mtime_ns
    staff.write({"attendance": make_frame(staff.tab("attendance"), ATTENDANCE)})
    assert path.stat().st_mtime_ns == mtime  # held: the file is not touched
    assert "not saved this time: it is open in another program" in " ".join(staff.notices)
    held = fresh(ctx).stores.staff
    assert len(held.read_one("attendance")) == 2  # the ledger holds the change meanwhile
    monkeypatch.undo()
    J.accrue_job(fresh(ctx))  # a later run exports what the ledger holds
    assert rows_in_file(path, "Attendance") == 2 and rows_in_file(path, "Rewards ledger") == 2


def test_a_write_after_one_that_never_reached_the_file_saves_every_tab_behind(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's change committed to the record but never exported (the run was killed
    between the two, or the file was open): the next write, even of another tab, saves
    it too. Before, it stamped the workbook with the new generation while the tab still
    held the old rows, so the next read took them as deleted by a person and dropped
    them (found by bench/fault_injection.py: a merge killed there left the reviewers tab
    empty; a remind killed there left sent messages 'intended')."""
    from automations.store.local import LocalStore

    path = staff_path(ctx)
    staff = fresh(ctx).stores.staff
    staff.read(["attendance"])
    monkeypatch.setattr(LocalStore, "hold_export", lambda self: "it is open in another program")
    staff.write({"attendance": make_frame(staff.tab("attendance"), ATTENDANCE)})
    monkeypatch.undo()
    assert rows_in_file(path, "Attendance") == 0  # in the record only
    other = fresh(ctx).stores.staff  # the next run writes another tab only
    other.read(["expense_claims"])
    claim = {"claim_id": "C1", "person_id": "p03", "kind": "mileage"}
    claim |= {"activity": "interview day", "date": dt.date(2027, 2, 8), "miles": D(12)}
    other.write({"expense_claims": make_frame(other.tab("expense_claims"), [claim])})
    assert rows_in_file(path, "Attendance") == 2 and rows_in_file(path, "Expense claims") == 1
    later = fresh(ctx).stores.staff
    assert len(later.read_one("attendance")) == 2
    assert later.notices == []  # nothing was typed or deleted by anyone
