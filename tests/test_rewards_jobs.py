"""The rewards jobs on the example campaign's local workbooks and outbox.

Accrual is idempotent (run N times, or after a kill mid-write: same ledger), statements and
estimates reach each person once in their format (checked by parsing the .eml files), and
the finance export never puts a line in two batches.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import io
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal as D
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automations.context import Context, make_context
from automations.errors import JobError, SheetProblems
from automations.jobs import rewards as J
from automations.mail import OutboxTransport
from automations.store import LocalStore, make_frame
from automations.transforms import rewards as R

FEB8, FEB9, FEB10 = dt.date(2027, 2, 8), dt.date(2027, 2, 9), dt.date(2027, 2, 10)


def put(ctx: Context, tab: str, rows: list[dict[str, Any]]) -> None:
    staff = ctx.stores.staff
    staff.read([tab])
    staff.write({tab: make_frame(staff.tab(tab), rows)})


def ledger(ctx: Context) -> pd.DataFrame:
    return ctx.stores.staff.read_one(J.LEDGER)


def keyed(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["line_key"]: r for r in df.to_dict("records")}


ATTENDANCE = [
    # p03 (payment, large print): 3 h shortlisting (£45.00), both interview days (£200.00)
    {"person_id": "p03", "activity": "shortlisting", "date": dt.date(2027, 1, 20),
     "hours": D(3), "confirmed_by": "Priya"},
    {"person_id": "p03", "activity": "interview day", "date": FEB8, "confirmed_by": "Priya"},
    {"person_id": "p03", "activity": "interview day", "date": FEB9, "confirmed_by": "Priya"},
    # p05 (vouchers, easy read, copy to support worker): one interview day (£100.00)
    {"person_id": "p05", "activity": "interview day", "date": FEB8, "confirmed_by": "Priya"},
    # p06 (payment, no email): one interview day (£100.00)
    {"person_id": "p06", "activity": "interview day", "date": FEB8, "confirmed_by": "Priya"},
    # p07 (no payment): one interview day (£0.00, not claimed)
    {"person_id": "p07", "activity": "interview day", "date": FEB8, "confirmed_by": "Priya"},
    # not yet confirmed: waits
    {"person_id": "p03", "activity": "decision meeting", "date": FEB10, "hours": D(1)},
]  # fmt: skip
CLAIMS = [
    # 20 miles x £0.45 = £9.00
    {"claim_id": "C1", "person_id": "p03", "kind": "mileage", "activity": "interview day",
     "date": FEB8, "miles": D(20)},
    # no receipt: goes to 'Needs attention'
    {"claim_id": "C2", "person_id": "p06", "kind": "travel", "date": FEB8, "amount": D("3.50")},
]  # fmt: skip


@pytest.fixture
def rctx(ctx: Context) -> Context:
    put(ctx, "attendance", ATTENDANCE)
    put(ctx, "expense_claims", CLAIMS)
    return ctx


class Calls:
    """Counts backend calls, to show they do not grow with rows."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = self.writes = 0
        real_r, real_w = LocalStore._read_grids, LocalStore._write_grids

        def r(store: LocalStore, *a: Any) -> Any:
            self.reads += 1
            return real_r(store, *a)

        def w(store: LocalStore, *a: Any) -> Any:
            self.writes += 1
            return real_w(store, *a)

        monkeypatch.setattr(LocalStore, "_read_grids", r)
        monkeypatch.setattr(LocalStore, "_write_grids", w)


# ---------------------------------------------------------------------------- accrual


def test_accrual_builds_the_ledger_in_one_read_and_one_write(
    rctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(monkeypatch)
    res = J.accrue_job(rctx)
    assert (calls.reads, calls.writes) == (1, 1)
    assert res.api_calls == 2
    got = {k: (v["amount"], v["status"]) for k, v in keyed(ledger(rctx)).items()}
    c = "peer-support-2027"
    assert got == {
        f"p03|{c}|shortlisting|2027-01-20|time": (D("45.00"), "owed"),
        f"p03|{c}|interview day|2027-02-08|mileage#C1": (D("9.00"), "owed"),
        f"p03|{c}|interview day|2027-02-08|time": (D("100.00"), "owed"),
        f"p03|{c}|interview day|2027-02-09|time": (D("100.00"), "owed"),
        f"p05|{c}|interview day|2027-02-08|time": (D("100.00"), "owed"),
        f"p06|{c}|interview day|2027-02-08|time": (D("100.00"), "owed"),
        f"p07|{c}|interview day|2027-02-08|time": (D("0.00"), "not claimed"),
    }
    assert "1 attendance row(s) waiting for staff to confirm" in res.detail
    exc = rctx.stores.staff.read_one(J.EXCEPTIONS)
    reasons = list(exc["reason"])
    # p03's £200.00 in February reaches the 80% warning point (£160.00) of the £200.00 limit.
    assert any("receipt reference" in r for r in reasons)
    assert any("close to their earnings limit" in r for r in reasons)
    assert not any(n in " ".join(reasons) for n in ("Grace", "Okafor", "Bernadette"))


def test_accrual_run_many_times_gives_the_same_ledger(
    rctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    J.accrue_job(rctx)
    first = ledger(rctx)
    exc = rctx.stores.staff.read_one(J.EXCEPTIONS)
    calls = Calls(monkeypatch)
    for _ in range(4):
        res = J.accrue_job(rctx)
        assert res.rows_written == 0
    assert (calls.reads, calls.writes) == (4, 0)  # nothing changed: nothing written
    pd.testing.assert_frame_equal(ledger(rctx), first)
    pd.testing.assert_frame_equal(rctx.stores.staff.read_one(J.EXCEPTIONS), exc)


def test_a_kill_mid_write_then_a_rerun_gives_the_same_ledger(
    rctx: Context, settings: Any, fixed_now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while saving (before the new file replaces the old): the rerun completes it."""
    import automations.store.local as local

    clean = make_context(settings, clock=lambda: fixed_now)
    real_replace = local.os.replace

    def killed(*a: Any) -> None:
        raise KeyboardInterrupt("killed while saving")

    monkeypatch.setattr(local.os, "replace", killed)
    before = rctx.stores.staff.path.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        J.accrue_job(rctx)
    assert rctx.stores.staff.path.read_bytes() == before  # nothing half-written
    monkeypatch.setattr(local.os, "replace", real_replace)
    J.accrue_job(make_context(settings, clock=lambda: fixed_now))
    J.accrue_job(clean)
    pd.testing.assert_frame_equal(ledger(clean), ledger(rctx))
    assert len(ledger(clean)) == 7


@pytest.mark.parametrize("cut", [0, 1, 3, 6])
def test_a_ledger_cut_short_by_a_crash_is_completed_without_duplicates(
    rctx: Context, cut: int
) -> None:
    """As if a backend had written only the first ``cut`` new lines before dying."""
    J.accrue_job(rctx)
    full = ledger(rctx)
    staff = rctx.stores.staff
    staff.read([J.LEDGER])
    staff.write({J.LEDGER: full.iloc[:cut]})
    J.accrue_job(rctx)
    pd.testing.assert_frame_equal(ledger(rctx).reset_index(drop=True),
                                  full.reset_index(drop=True))  # fmt: skip


KILL_SCRIPT = textwrap.dedent("""
    import datetime as dt, sys, time
    import automations.store.local as local
    from automations.config import load_settings
    from automations.context import make_context
    from automations.jobs.rewards import accrue_job
    if {hold_save!r}:  # the new file is written and synced; hold before it replaces the old
        real = local.os.replace
        def held(*a):
            print("saving", flush=True)
            time.sleep(30)
            real(*a)
        local.os.replace = held
    ctx = make_context(load_settings({config!r}), clock=lambda: dt.datetime(2027, 1, 25, 9))
    print("go", flush=True)
    accrue_job(ctx)
    print("done", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("when", ["after 0.1 s", "after 0.4 s", "while saving"])
def test_a_real_sigkill_during_accrual_then_a_rerun_gives_the_same_ledger(
    ctx: Context, settings: Any, fixed_now: dt.datetime, when: str
) -> None:
    # Enough rows that the job takes a while even on an idle machine: 40 people x 30
    # confirmed attendance rows (at 12 it sometimes finished inside 0.4 s).
    staff = ctx.stores.staff
    staff.read(["people"])
    people = [{"person_id": f"x{i:03d}", "name": "Invented", "kind": "lived experience",
               "role": "panel member", "reward_choice": "payment"} for i in range(40)]  # fmt: skip
    rows = [{"person_id": f"x{i:03d}", "activity": "decision meeting",
             "date": dt.date(2027, 2, 1) + dt.timedelta(days=d), "hours": D("1.5"),
             "confirmed_by": "Priya"} for i in range(40) for d in range(30)]  # fmt: skip
    staff.write({"people": make_frame(staff.tab("people"), people)})
    put(ctx, "attendance", rows)
    script = KILL_SCRIPT.format(config=str(settings.config_dir), hold_save=when == "while saving")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                          cwd=Path(__file__).parent.parent) as proc:  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "go"
        if when == "while saving":  # a save takes milliseconds now: the child says when
            line = proc.stdout.readline().strip()
            assert line == "saving", line
            folder = staff.path.parent  # type: ignore[attr-defined]
            assert list(folder.glob(".*.tmp"))  # the new file is there, not yet in place
        else:
            time.sleep(float(when.split()[1]))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the job finished before it could be killed"
    # Whatever the kill left (nothing, or the whole batch), a rerun gives the clean result.
    J.accrue_job(make_context(settings, clock=lambda: fixed_now))
    after_kill = ledger(make_context(settings, clock=lambda: fixed_now))
    J.accrue_job(make_context(settings, clock=lambda: fixed_now))
    assert len(after_kill) == 1200
    assert len(set(after_kill["line_key"])) == 1200
    assert sum(after_kill["amount"]) == D("27000.00")  # 1,200 x 1.5 h x £15.00
    pd.testing.assert_frame_equal(ledger(make_context(settings, clock=lambda: fixed_now)),
                                  after_kill)  # fmt: skip


def test_a_bad_cell_in_the_ledger_stops_the_job_before_anything_is_lost(rctx: Context) -> None:
    J.accrue_job(rctx)
    import openpyxl

    path = rctx.stores.staff.path
    wb = openpyxl.load_workbook(path)
    ws = wb["Rewards ledger"]
    col = [c.value for c in ws[1]].index("Paid on") + 1
    ws.cell(row=2, column=col).value = "last Tuesday"
    wb.save(path)
    rctx.stores.staff.forget()
    with pytest.raises(SheetProblems, match="tab 'Rewards ledger', row 2, column 'Paid on'"):
        J.accrue_job(rctx)
    wb = openpyxl.load_workbook(path)
    assert wb["Rewards ledger"].cell(row=2, column=col).value == "last Tuesday"


# ------------------------------------------------------------------------- statements


def outbox(ctx: Context) -> dict[str, EmailMessage]:
    folder = ctx.settings.path(ctx.settings.org.mail.outbox)
    out = {}
    for p in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email_policy.default)
        assert isinstance(msg, EmailMessage)
        out[str(msg["To"]).split("<")[-1].rstrip(">")] = msg
    return out


def bodies(msg: EmailMessage) -> tuple[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_statements_reach_each_person_in_their_format_once(rctx: Context) -> None:
    J.accrue_job(rctx)
    res = J.statement(rctx, all_people=True)
    assert res.messages_sent == 3  # p03, p05, p07 by email; p06 has no email
    mails = outbox(rctx)
    assert set(mails) == {"grace.okafor@example.net", "marek.nowak@example.net",
                          "sam.adeyemi@example.net"}  # fmt: skip

    # p03: standard words, large print HTML. 45.00 + 9.00 + 100.00 + 100.00 = £254.00.
    text, html = bodies(mails["grace.okafor@example.net"])
    assert text.startswith("Dear Grace,")
    assert "Reading applications and shortlisting: 3 hours at £15.00 an hour. £45.00" in text
    assert "Mileage for interview day: 20 miles at £0.45 a mile. £9.00" in text
    assert "Total: £254.00" in text and "Paid so far: £0.00" in text
    assert "Still to come: £254.00" in text
    assert "font-size: 24px" in html and "£254.00" in html

    # p05: easy read, copied to their support worker, vouchers.
    m5 = mails["marek.nowak@example.net"]
    assert m5["Cc"] == "support.worker@example.net"
    text, html = bodies(m5)
    assert "This letter tells you about your money." in text
    assert "you helped with the interviews for a whole day. This is £100.00." in text
    assert "You chose vouchers for your time." in text
    assert "font-size: 20px" in html

    # p07: gave their time without payment.
    text, _ = bodies(mails["sam.adeyemi@example.net"])
    assert "You chose to give your time without payment. Thank you." in text
    assert "would have been worth £100.00" in text and "Total: £0.00" in text

    # p06 has no email: listed for staff, with a letter saved to post or read out.
    assert any(a.startswith("p06 has no email address") for a in res.attention)
    letters = list((rctx.settings.workspace / rctx.campaign.id / "letters").glob("*p06*.html"))
    assert len(letters) == 1 and "£100.00" in letters[0].read_text()
    assert not any("Bernadette" in a for a in res.attention)

    sent = rctx.stores.staff.read_one(J.SENT).set_index("person_id")["status"].to_dict()
    assert sent == {"p03": "sent", "p05": "sent", "p06": "contact another way", "p07": "sent"}

    # Again: nothing new is sent.
    again = J.statement(rctx, all_people=True)
    assert again.messages_sent == 0 and len(outbox(rctx)) == 3


def test_a_statement_is_sent_again_only_when_something_on_it_changed(rctx: Context) -> None:
    J.accrue_job(rctx)
    assert J.statement(rctx, "p03").messages_sent == 1
    assert J.statement(rctx, "p03").messages_sent == 0
    staff = rctx.stores.staff
    led = staff.read_one(J.LEDGER)
    mask = led["person_id"] == "p03"
    led.loc[mask, "approved_by"] = "Priya"
    led.loc[mask, "paid_on"] = dt.date(2027, 2, 20)
    led.loc[mask, "payment_reference"] = "FIN-77"
    staff.write({J.LEDGER: led})
    J.accrue_job(rctx)
    assert J.statement(rctx, "p03").messages_sent == 1
    folder = rctx.settings.path(rctx.settings.org.mail.outbox)
    newest = max(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    msg = email.message_from_bytes(newest.read_bytes(), policy=email_policy.default)
    assert isinstance(msg, EmailMessage)
    text, _ = bodies(msg)
    assert "Paid so far: £254.00" in text and "Still to come: £0.00" in text
    assert "£254.00 paid on 20 February 2027 (reference FIN-77)." in text


def test_statement_for_an_unknown_or_empty_person_is_a_clear_error(rctx: Context) -> None:
    J.accrue_job(rctx)
    with pytest.raises(JobError, match="p99 is not on the People tab"):
        J.statement(rctx, "p99")
    with pytest.raises(JobError, match="nothing in the rewards ledger for p01"):
        J.statement(rctx, "p01")


class Crashing(OutboxTransport):
    """Writes the first ``n`` messages, then the process 'dies'."""

    def __init__(self, folder: Path, n: int) -> None:
        super().__init__(folder)
        self.n = n

    def send(self, msg: EmailMessage) -> str:
        if self.n == 0:
            raise KeyboardInterrupt("killed while sending")
        self.n -= 1
        return super().send(msg)


def test_statements_killed_mid_send_are_not_sent_twice(rctx: Context) -> None:
    J.accrue_job(rctx)
    folder = rctx.settings.path(rctx.settings.org.mail.outbox)
    rctx.extras["mail"] = Crashing(folder, 1)
    with pytest.raises(KeyboardInterrupt):
        J.statement(rctx, all_people=True)
    assert len(list(folder.glob("*.eml"))) == 1
    status = rctx.stores.staff.read_one(J.SENT)["status"].tolist()
    assert status.count("intended") == 3  # recorded before sending
    rctx.extras["mail"] = OutboxTransport(folder)
    res = J.statement(rctx, all_people=True)
    # The one that went is found in the outbox by its Message-ID and not sent again.
    assert res.messages_sent == 2 and len(list(folder.glob("*.eml"))) == 3
    assert set(rctx.stores.staff.read_one(J.SENT)["status"]) == {"sent", "contact another way"}


class Blind:
    """A transport that cannot say what it sent (like plain SMTP)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, msg: EmailMessage) -> str:
        self.sent.append(msg)
        return str(msg["Message-ID"])


def test_unconfirmed_sends_are_left_for_staff_when_the_transport_cannot_tell(
    rctx: Context,
) -> None:
    J.accrue_job(rctx)
    folder = rctx.settings.path(rctx.settings.org.mail.outbox)
    rctx.extras["mail"] = Crashing(folder, 0)
    with pytest.raises(KeyboardInterrupt):
        J.statement(rctx, "p03")
    blind = Blind()
    rctx.extras["mail"] = blind
    res = J.statement(rctx, "p03")
    assert blind.sent == [] and res.messages_sent == 0
    assert "cannot say whether it went" in res.attention[0]


def test_a_failed_send_is_recorded_and_tried_again(rctx: Context) -> None:
    from automations.errors import CorecruitError

    class Down:
        def send(self, msg: EmailMessage) -> str:
            raise CorecruitError("the mail server did not answer")

    J.accrue_job(rctx)
    rctx.extras["mail"] = Down()
    res = J.statement(rctx, "p03")
    assert res.messages_sent == 0 and "could not be sent" in res.attention[0]
    assert rctx.stores.staff.read_one(J.SENT)["status"].tolist() == ["failed"]
    rctx.extras["mail"] = OutboxTransport(rctx.settings.path(rctx.settings.org.mail.outbox))
    assert J.statement(rctx, "p03").messages_sent == 1


def test_a_send_that_may_have_gone_is_never_sent_blind_again(rctx: Context) -> None:
    """A lost connection after the data went: held 'intended', settled by asking the
    transport (Gmail can say), or left for staff (SMTP cannot) - never sent twice."""
    from automations.mail import MailError

    class LostAnswer:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, msg: EmailMessage) -> str:
            self.sent.append(str(msg["Message-ID"]))
            raise MailError("the connection was lost after sending", definite=False)

    class Asks(Blind):
        def __init__(self, went: set[str]) -> None:
            super().__init__()
            self.went = went

        def confirm(self, message_id: str) -> bool:
            return message_id in self.went

    J.accrue_job(rctx)
    lost = LostAnswer()
    rctx.extras["mail"] = lost
    res = J.statement(rctx, "p03")
    assert res.messages_sent == 0 and len(lost.sent) == 1
    assert rctx.stores.staff.read_one(J.SENT)["status"].tolist() == ["intended"]
    blind = Blind()  # SMTP: cannot tell, so staff are asked and nothing is sent
    rctx.extras["mail"] = blind
    res = J.statement(rctx, "p03")
    assert blind.sent == [] and "cannot say whether it went" in " ".join(res.attention)
    asks = Asks(set(lost.sent))  # Gmail: it went, so it is marked sent, not sent again
    rctx.extras["mail"] = asks
    res = J.statement(rctx, "p03")
    assert asks.sent == [] and res.messages_sent == 0
    assert rctx.stores.staff.read_one(J.SENT)["status"].tolist() == ["sent"]


def test_statements_go_through_a_real_smtp_server_on_loopback(rctx: Context) -> None:
    import smtplib

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    got: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            got.append(message)

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctl = Controller(Keep(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:

        class Smtp:
            def send(self, msg: EmailMessage) -> str:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                    s.send_message(msg)
                return str(msg["Message-ID"])

        J.accrue_job(rctx)
        rctx.extras["mail"] = Smtp()
        assert J.statement(rctx, "p05").messages_sent == 1
    finally:
        ctl.stop()
    (m,) = got
    assert m["Subject"] == "Your money for helping us find a new Peer Support Worker"
    assert m["Cc"] == "support.worker@example.net"
    body = m.get_payload()[0].get_payload(decode=True).decode()
    assert "£100.00" in body


# ---------------------------------------------------------------------------- estimate


def _resolve_all(ctx: Context) -> None:
    """As staff do after talking to each person: mark the items on 'Needs attention' done."""
    staff = ctx.stores.staff
    exc = staff.read_one(J.EXCEPTIONS)
    exc["resolved"] = True
    staff.write({J.EXCEPTIONS: exc})


def test_estimates_tell_each_invited_person_what_they_will_be_paid(ctx: Context) -> None:
    res = J.estimate_job(ctx)
    # Example plan: shortlisting 4 h £60.00, preparation meeting half a day £50.00, two
    # interview days £200.00, decision meeting 1 h £15.00, feedback meeting 1 h £15.00
    # = £340.00. February: £230.00 > £200.00 limit -> staff warned for p03, p05, p06,
    # and warned first: nothing goes to them until staff have talked to them. p07 gives
    # their time without payment, so has no limit to pass: theirs goes at once.
    assert res.messages_sent == 1 and list(outbox(ctx)) == ["sam.adeyemi@example.net"]
    assert "p03, p05, p06" in res.attention[0] and "earnings limit" in res.attention[0]
    assert "not sent until you mark the item resolved" in res.attention[0]
    exc = ctx.stores.staff.read_one(J.EXCEPTIONS)
    assert sum("February 2027 come to £230.00" in r for r in exc["reason"]) == 3
    _resolve_all(ctx)
    res = J.estimate_job(ctx)
    assert res.messages_sent == 2  # p03 and p05 by email; p06's letter is for staff
    mails = outbox(ctx)
    text, html = bodies(mails["grace.okafor@example.net"])
    assert "Total for these activities: £340.00" in text
    assert "you will be paid £340.00 for these activities" in text
    assert "Driving your own car, at 45p a mile (up to £60.00 a claim)" in text
    assert "font-size: 24px" in html
    text, _ = bodies(mails["marek.nowak@example.net"])
    assert "You will get vouchers worth £340.00." in text
    text, _ = bodies(mails["sam.adeyemi@example.net"])
    assert "You chose to give your time without payment" in text
    # Once only; a changed plan sends a new estimate.
    assert J.estimate_job(ctx).messages_sent == 0
    staff = ctx.stores.staff
    dates = staff.read_one("dates")
    dates = dates[dates["event"] != "interview day 2"]
    staff.write({"dates": dates})
    again = J.estimate_job(ctx)
    assert again.messages_sent == 3
    assert len(list(ctx.settings.path(ctx.settings.org.mail.outbox).glob("*.eml"))) == 6


def test_estimates_count_only_the_interview_days_the_timetable_uses(ctx: Context) -> None:
    from automations.jobs.timetable import timetable_job
    from tests.remind_support import give_letters, set_status

    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0004"], "invited")  # three interviews: one day
    timetable_job(ctx)
    res = J.estimate_job(ctx)
    # one interview day (£100.00), not two: £240.00, and February (£130.00) is now under
    # the £200.00 limit, so nobody is held back
    assert res.messages_sent == 3 and not any("earnings limit" in a for a in res.attention)
    text, _ = bodies(outbox(ctx)["grace.okafor@example.net"])
    assert "Total for these activities: £240.00" in text


# ------------------------------------------------------------------------------ export


def approve(ctx: Context, who: str = "Priya") -> None:
    """As staff do: write a name in 'Approved by' (export then sees it straight away)."""
    staff = ctx.stores.staff
    led = staff.read_one(J.LEDGER)
    led.loc[led["status"].isin(["owed", "held"]), "approved_by"] = who
    staff.write({J.LEDGER: led})


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_export_writes_approved_payment_lines_with_totals_once(rctx: Context) -> None:
    J.accrue_job(rctx)
    approve(rctx)
    res = J.export_job(rctx)
    (path,) = (rctx.settings.workspace / rctx.campaign.id / "exports").glob("*.csv")
    batch = "peer-support-2027-20270125-090000"
    assert path.name == f"finance-{batch}.csv"
    rows = read_csv(path)
    lines = [r for r in rows if r["row_type"] == "line"]
    # p03: 45.00 + 9.00 + 100.00 + 100.00 = 254.00; p06: 100.00. p05 (vouchers) and
    # p07 (no payment) are not paid through finance.
    assert [(r["person_id"], r["amount"]) for r in lines] == [
        ("p03", "45.00"), ("p03", "9.00"), ("p03", "100.00"), ("p03", "100.00"),
        ("p06", "100.00"),
    ]  # fmt: skip
    assert lines[0]["name"] == "Grace Okafor" and {r["batch"] for r in rows} == {batch}
    totals = [(r["row_type"], r["person_id"], r["amount"]) for r in rows if r["row_type"] != "line"]
    assert totals == [("person total", "p03", "254.00"), ("person total", "p06", "100.00"),
                      ("batch total", "", "354.00")]  # fmt: skip
    assert "5 line(s), £354.00 in all" in res.detail
    led = ledger(rctx)
    exported = led[led["export_batch"] != ""]
    assert len(exported) == 5 and exported["exported_at"].notna().all()
    # A second export finds nothing new.
    again = J.export_job(rctx)
    assert again.detail.startswith("Nothing new to export")
    assert len(list(path.parent.glob("*.csv"))) == 1
    # Statement: the lines have gone to finance.
    st = R.build_statement(led, "p03", rctx.campaign.id, rctx.settings.org.rewards)
    assert {i.state for i in st.items} == {"sent for payment"}


@pytest.mark.parametrize("step", ["before the file", "before marking exported"])
def test_an_export_killed_between_steps_is_finished_once(
    rctx: Context, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    J.accrue_job(rctx)
    approve(rctx)
    if step == "before the file":
        monkeypatch.setattr(J, "_atomic_write", lambda *a: (_ for _ in ()).throw(
            KeyboardInterrupt()))  # fmt: skip
    else:
        real = LocalStore.write
        n = {"calls": 0}

        def second_write_dies(store: LocalStore, frames: Any) -> int:
            n["calls"] += 1
            if n["calls"] == 2:
                raise KeyboardInterrupt("killed before marking exported")
            return real(store, frames)

        monkeypatch.setattr(LocalStore, "write", second_write_dies)
    with pytest.raises(KeyboardInterrupt):
        J.export_job(rctx)
    monkeypatch.undo()
    led = ledger(rctx)
    assert (led["export_batch"] != "").sum() == 5 and led["exported_at"].isna().all()
    folder = rctx.settings.workspace / rctx.campaign.id / "exports"
    first_bytes = [p.read_bytes() for p in folder.glob("*.csv")]
    # Later, with more lines approved meanwhile (a new claim), the rerun finishes the same
    # batch with the same file and rows, and puts the new line in a batch of its own.
    later = make_context(rctx.settings, clock=lambda: dt.datetime(2027, 1, 26, 9))
    put(
        later,
        "expense_claims",
        [
            *CLAIMS,
            {
                "claim_id": "C3",
                "person_id": "p06",
                "kind": "meal",
                "activity": "decision meeting",
                "date": FEB10,
                "amount": D("7.00"),
            },
        ],
    )
    J.accrue_job(later)
    approve(later)
    J.export_job(later)
    files = sorted(folder.glob("*.csv"))
    assert [f.name for f in files] == [
        "finance-peer-support-2027-20270125-090000.csv",
        "finance-peer-support-2027-20270126-090000.csv",
    ]
    if first_bytes:
        assert files[0].read_bytes() == first_bytes[0]
    first, second = read_csv(files[0]), read_csv(files[1])
    keys1 = {r["line_key"] for r in first if r["row_type"] == "line"}
    keys2 = {r["line_key"] for r in second if r["row_type"] == "line"}
    assert len(keys1) == 5 and len(keys2) == 1 and not keys1 & keys2
    assert first[-1]["amount"] == "354.00" and second[-1]["amount"] == "7.00"
    assert ledger(later)["exported_at"].notna().sum() == 6


def test_export_refuses_a_vouchers_person_with_a_plain_reason(rctx: Context) -> None:
    J.accrue_job(rctx)
    approve(rctx)
    staff = rctx.stores.staff
    people = staff.read_one("people")
    people.loc[people["person_id"] == "p06", "reward_choice"] = "vouchers"
    staff.write({"people": people})
    res = J.export_job(rctx)
    assert "4 line(s), £254.00" in res.detail
    exc = staff.read_one(J.EXCEPTIONS)
    assert any("p06's reward choice is now 'vouchers'" in r for r in exc["reason"])
    assert any("export-choice" in a for a in res.attention)


def test_export_to_a_named_file(rctx: Context, tmp_path: Path) -> None:
    J.accrue_job(rctx)
    approve(rctx)
    out = tmp_path / "finance.csv"
    J.export_job(rctx, out)
    assert read_csv(out)[-1]["amount"] == "354.00"


def test_user_text_is_escaped_in_html_and_kept_out_of_headers(rctx: Context) -> None:
    J.accrue_job(rctx)
    person = {
        "person_id": "p03",
        "name": "<b>Al</b>\nBcc: x@evil.example",
        "email": "al@example.net\nBcc: y@evil.example",
        "formats": "standard",
    }
    st = R.build_statement(ledger(rctx), "p03", rctx.campaign.id, rctx.settings.org.rewards,
                           "payment")  # fmt: skip
    letter = J.statement_letter(rctx, person, st)
    assert "<b>Al</b>" not in letter.html and "&lt;b&gt;Al&lt;/b&gt;" in letter.html
    # Built by the one sender, as every message is: an address with a line break in it
    # is never used (a letter for staff instead); a hostile name never reaches a header.
    from automations.mail.render import Rendered, Renderer
    from automations.sending import Item, to_outgoing

    def built(who: dict[str, str]) -> Any:
        x = J.statement_letter(rctx, who, st)
        item = Item(x.rule, x.recipient, x.occasion, rendered=Rendered(x.subject, x.text, x.html))
        return to_outgoing(rctx, Renderer(rctx.settings), item, "k", 1, "h",
                           correction=False, retry=False)  # fmt: skip

    assert built(person).message is None
    msg = built(person | {"email": "al@example.net"}).message
    raw = msg.as_bytes()
    assert b"\nBcc:" not in raw and msg["Bcc"] is None and "Al" not in str(msg["To"])
