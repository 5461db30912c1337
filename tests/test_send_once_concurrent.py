"""A reminder send and a forms push settling the same messages log at once never send a
message twice: both go through the one sender, under the one messages lock.

Real SMTP on loopback (aiosmtpd), real threads, each with its own context (its own
store objects, as two processes would have).

The first test lets the two jobs run together and hopes they overlap. The second forces
the race issue 16 describes, step by step, with events instead of sleeps:

1. ``remind`` writes its intentions (three invitations 'intended', the journal says
   'planned') and starts sending; the SMTP server holds the first invitation inside
   DATA, so the other two are still only 'planned'.
2. ``forms push`` starts then. Before the one sender, it read the log and settled it
   under its own "forms" lock: the two invitations it found 'planned' it took for
   a run that had stopped and marked them 'failed'. It writes that after the reminder
   run has finished (the test holds it there), over the reminder's 'sent'.
3. The next ``remind`` sends those two again.

On the code before the one sender (commit 3e6b83c, with the imports adapted:
``remind_job`` from ``automations.jobs.remind``, ``settle`` patched where
``jobs/forms.py`` and ``jobs/remind.py`` import it, no ledger to compare) the second
test fails, the same way each of three runs: the invitations to p05 and p07 reach the
SMTP server twice; after the race the log says 'failed' for both although the reminder
run sent them (p03, inside DATA, was 'attempt' in the journal, so it was only held).
On main it passes (three runs out of three): ``forms push`` asks for the messages
lock while the reminder holds it inside DATA, waits, and settles a log in which the
reminder's rows are already 'sent'.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import json
import threading
from collections import Counter
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import automations.sending as sending
from automations.config import load_settings
from automations.context import Context, make_context
from automations.jobs import JobResult
from automations.jobs.forms import push_job
from automations.ledger import open_ledger
from automations.ledger.codec import loads
from automations.pipelines import remind_job
from tests.forms_support import seed_candidates
from tests.remind_support import sent_log
from tests.test_mail_smtp import AGREED, Inbox, free_port, smtp_ctx


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def at_once(config_dir: Path, when: dt.datetime) -> dict[str, JobResult]:
    """``remind`` and ``forms push`` started together, each in its own thread and context."""
    out: dict[str, JobResult] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def go(name: str) -> None:
        try:
            c = make_context(load_settings(config_dir), clock=lambda: when)
            start.wait()
            out[name] = remind_job(c) if name == "remind" else push_job(c)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("remind", "push")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and set(out) == {"remind", "push"}
    return out


def test_remind_and_forms_push_settling_the_same_log_never_send_twice(
    smtp: tuple[Inbox, int], config_dir: Path
) -> None:
    inbox, port = smtp
    org = config_dir / "organisation.toml"  # links people can open, so they are emailed
    org.write_text(
        org.read_text().replace('public_url = ""', 'public_url = "https://forms.example.org"')
    )
    ctx: Context = smtp_ctx(config_dir, port, "none")
    seed_candidates(ctx, interview=("A", "B"))
    # A first reminder run whose answers were lost after the data went: three rows
    # 'intended' that SMTP cannot confirm, left for both jobs to settle.
    inbox.drop_after_data = True
    remind_job(ctx)
    assert len(inbox.received) == 3
    inbox.drop_after_data = False

    for hours in (1, 2, 3):  # both at once, several times over
        at_once(config_dir, AGREED + dt.timedelta(hours=hours))

    keys = inbox.keys()
    twice = {k: n for k, n in Counter(keys).items() if n > 1}
    assert twice == {}
    # the three unsure invitations were held for staff, never sent again; each of the
    # five emailed panel members got their interview link once
    assert sum(1 for k in keys if k.startswith("pwle-invitation|")) == 3
    links = [k for k in keys if k.startswith("form-link|")]
    assert len(links) == 5 and all(k.split("|")[3] == "interview" for k in links)
    log = sent_log(ctx)
    assert log["message_key"].is_unique
    status = dict(zip(log["message_key"], log["status"], strict=True))
    assert all(status[k] == "sent" for k in links)
    held = [k for k, s in status.items() if k.startswith("pwle-invitation|") and s == "intended"]
    assert len(held) == 3  # for staff to check in the sent mail


# ------------------------------------------------------------------ the race, forced

WAIT = 60.0  # seconds: only a guard against a hung test, never how the steps are ordered
REMINDER = "pwle-invitation|"


class GatedInbox(Inbox):
    """Holds the first reminder inside DATA until ``release`` is set (by the forms push)."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release
        self.in_data = threading.Event()
        self.released: bool | None = None  # True: the push let it go, not the guard

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        if str(msg["X-Corecruit-Key"]).startswith(REMINDER) and not self.in_data.is_set():
            self.in_data.set()
            loop = asyncio.get_running_loop()  # wait off the event loop: others may connect
            self.released = await loop.run_in_executor(None, self.release.wait, WAIT)
        return await super().handle_DATA(server, session, envelope)


def _in_push() -> bool:
    return threading.current_thread().name == "forms-push"


def _journal_states(ctx: Context) -> dict[str, str]:
    """Message key -> its last state in the mail journal."""
    path = ctx.settings.workspace / ctx.campaign.id / "mail-journal.jsonl"
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        out[rec["k"]] = rec["s"]
    return out


def _ledger_statuses(ctx: Context) -> dict[str, str]:
    """Message key -> status in corecruit's own record of the Messages sent tab."""
    led = open_ledger(ctx.settings.workspace / ctx.campaign.id)
    rows = led.rows("staff", ["sent_messages"], led.generation("staff"))["sent_messages"]
    cells = [loads(c) for _pos, c in rows.values()]
    return {c["message_key"]: c["status"] for c in cells}


def test_push_settling_while_a_reminder_is_inside_smtp_data_sends_nothing_twice(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_settling = threading.Event()  # the push reached its settling step
    remind_done = threading.Event()
    inbox = GatedInbox(release=push_settling)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        org = config_dir / "organisation.toml"  # links people can open, so they are emailed
        org.write_text(
            org.read_text().replace('public_url = ""', 'public_url = "https://forms.example.org"')
        )
        ctx = smtp_ctx(config_dir, port, "none", timeout=WAIT)
        seed_candidates(ctx, interview=("A", "B"))

        settled_by_push: list[dict[str, dict[str, Any]]] = []
        real_settle = sending.settle
        real_lock = sending.messages_lock

        def settle_spy(*args: Any) -> Any:
            out = real_settle(*args)
            if _in_push():
                settled_by_push.append(out[0])
                push_settling.set()  # what it decided is decided: the reminder may go on
                # ...and what it decided is written only after the reminder run ended
                assert remind_done.wait(WAIT), "the reminder run did not finish"
            return out

        @contextlib.contextmanager
        def lock_spy(c: Context) -> Iterator[None]:
            if _in_push():
                push_settling.set()  # settling starts by taking the messages lock
            with real_lock(c):
                yield

        monkeypatch.setattr(sending, "settle", settle_spy)
        monkeypatch.setattr(sending, "messages_lock", lock_spy)

        errors: list[BaseException] = []

        def run(job: str) -> None:
            try:
                c = make_context(load_settings(config_dir), clock=lambda: AGREED)
                if job == "remind":
                    remind_job(c)
                else:
                    push_job(c)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                if job == "remind":
                    remind_done.set()

        remind = threading.Thread(target=run, args=("remind",), name="remind")
        push = threading.Thread(target=run, args=("push",), name="forms-push")
        remind.start()
        assert inbox.in_data.wait(WAIT), "no reminder reached the SMTP server"
        push.start()  # the reminder is inside DATA, its other invitations only planned
        remind.join(2 * WAIT)
        push.join(2 * WAIT)
        assert errors == []
        assert inbox.released is True  # the push reached settling while DATA was held
        between = sent_log(ctx)
        after_race = dict(zip(between["message_key"], between["status"], strict=True))

        # the next runs, one after the other, as cron would start them
        later = make_context(
            load_settings(config_dir), clock=lambda: AGREED + dt.timedelta(hours=1)
        )
        remind_job(later)
        push_job(later)
    finally:
        controller.stop()

    keys = inbox.keys()
    twice = {k: n for k, n in Counter(keys).items() if n > 1}
    assert twice == {}  # each message key reached the SMTP server once
    assert sum(1 for k in keys if k.startswith(REMINDER)) == 3
    # ...because the race left no reminder the reminder run sent marked 'failed'
    assert [k for k, s in after_race.items() if s == "failed"] == []
    assert sum(1 for k in keys if k.startswith("form-link|")) == 5

    log = sent_log(ctx)
    assert log["message_key"].is_unique
    tab = dict(zip(log["message_key"], log["status"], strict=True))
    emailed = {k for k, s in tab.items() if s == "sent"}
    assert emailed == set(keys)  # the tab says sent exactly what arrived
    assert set(tab.values()) <= {"sent", "contact another way"}
    assert _ledger_statuses(ctx) == tab  # corecruit's own record agrees with the tab
    journal = _journal_states(ctx)
    assert {k for k, s in journal.items() if s == "sent"} == set(keys)
    # the push settled a log in which the reminder's rows were no longer unsure
    assert len(settled_by_push) == 1
    assert not [k for changes in settled_by_push for k in changes if k.startswith(REMINDER)]
