"""A reminder send and a forms push settling the same messages log at once never send a
message twice: both go through the one sender, under the one messages lock.

Real SMTP on loopback (aiosmtpd), real threads, each with its own context (its own
store objects, as two processes would have).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from automations.config import load_settings
from automations.context import Context, make_context
from automations.jobs import JobResult
from automations.jobs.forms import push_job
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
