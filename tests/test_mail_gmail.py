"""The Gmail path: the real googleapiclient and google-auth against the local Google emulator."""

from __future__ import annotations

import base64
import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from google_emulator.core import Emulator
from google_emulator.gmail import mailbox
from remind_support import sent_log

from automations.config import load_settings
from automations.context import Context, make_context
from automations.mail import get_transport
from automations.mail.transports import GMAIL_SCOPES, GmailTransport, gmail_service
from automations.pipelines import remind_job
from automations.transforms.ics import parse_events
from automations.workspace import init_campaign

AGREED = dt.datetime(2026, 12, 1, 9)
KEY = "pwle-invitation|{}|peer-support-2027|recruitment agreed"


def gmail_ctx(
    config_dir: Path, key_file: Path, session: requests.Session, when: dt.datetime = AGREED
) -> Context:
    org = config_dir / "organisation.toml"
    text = org.read_text().replace('transport = "outbox"', 'transport = "gmail"')
    text = text.replace('credentials_file = ""', f'credentials_file = "{key_file}"')
    org.write_text(text)
    c = make_context(load_settings(config_dir), clock=lambda: when)
    c.extras["google_transport"] = session
    if not (c.settings.workspace / c.campaign.id / "staff.xlsx").exists():
        init_campaign(c, example=True)
    return c


def parsed(emu: Emulator) -> list[EmailMessage]:
    return [
        email.message_from_bytes(m["raw"], policy=policy.default)  # type: ignore[misc]
        for m in mailbox(emu)
    ]


def keys(emu: Emulator) -> list[str]:
    return sorted(str(m["X-Corecruit-Key"]).strip() for m in parsed(emu))


@pytest.fixture
def gctx(config_dir: Path, google_key_file: Path, google_transport: requests.Session) -> Context:
    return gmail_ctx(config_dir, google_key_file, google_transport)


def test_messages_go_through_gmail_once(gctx: Context, google_emulator: Emulator) -> None:
    res = remind_job(gctx)
    assert res.messages_sent == 3
    assert keys(google_emulator) == sorted(KEY.format(p) for p in ("p03", "p05", "p07"))
    assert google_emulator.counts("gmail") == {"gmail.users.messages.send": 3}
    log = sent_log(gctx).set_index("person_id")
    for m in parsed(google_emulator):
        assert m.get_content_type() == "multipart/alternative"
        pid = str(m["X-Corecruit-Key"]).strip().split("|")[1]
        assert log.loc[pid, "transport_id"] == m["Message-ID"]
        assert log.loc[pid, "status"] == "sent"
    marek = next(m for m in parsed(google_emulator) if "p05" in m["X-Corecruit-Key"])
    assert marek["Cc"] == "support.worker@example.net"
    again = remind_job(gctx)
    assert again.messages_sent == 0 and google_emulator.calls("gmail") == 3
    assert isinstance(get_transport(gctx), GmailTransport)


def test_calendar_invitations_survive_the_trip(gctx: Context, google_emulator: Emulator) -> None:
    gctx.clock = lambda: dt.datetime(2027, 1, 15, 9)
    remind_job(gctx)
    prep = next(
        m for m in parsed(google_emulator) if "preparation-meeting|p03" in m["X-Corecruit-Key"]
    )
    cal = next(p for p in prep.iter_attachments() if p.get_content_type() == "text/calendar")
    ev = parse_events(cal.get_content())[0]  # type: ignore[attr-defined]
    assert ev["DTSTART"] == "20270129T100000Z"


def test_answers_lost_after_google_took_the_message_are_not_sent_twice(
    gctx: Context, google_emulator: Emulator
) -> None:
    t = get_transport(gctx)
    t.sleep = lambda s: None  # type: ignore[attr-defined]
    google_emulator.fail(500, match="gmail.users.messages.send", when="after")
    google_emulator.drop(match="gmail.users.messages.send", when="after")
    res = remind_job(gctx)
    assert res.messages_sent == 3
    assert keys(google_emulator) == sorted(KEY.format(p) for p in ("p03", "p05", "p07"))
    counts = google_emulator.counts("gmail")
    assert counts["gmail.users.messages.list"] == 2  # looked before trying again
    assert counts["gmail.users.messages.send"] == 3


def test_rate_limits_are_retried_and_bounded(gctx: Context, google_emulator: Emulator) -> None:
    t = get_transport(gctx)
    waits: list[float] = []
    t.sleep = waits.append  # type: ignore[attr-defined]
    google_emulator.fail(429, times=2, match="gmail.users.messages.send")
    assert remind_job(gctx).messages_sent == 3
    assert waits == [1.0, 2.0]
    google_emulator.fail(429, times=50, match="gmail.users.messages.send")
    gctx.clock = lambda: dt.datetime(2027, 1, 11, 9)  # shortlisting opens: 5 more
    res = remind_job(gctx)
    assert res.messages_sent == 0
    assert any("after 8 tries (HTTP 429); nothing was sent" in a for a in res.attention)
    assert set(sent_log(gctx).set_index("rule").loc["shortlisting-opens", "status"]) == {
        "failed",
        "contact another way",
    }
    google_emulator.clear_faults()
    gctx.clock = lambda: dt.datetime(2027, 1, 12, 9)
    assert remind_job(gctx).messages_sent == 5


class Interrupting:
    """Send for real, then stop the run as a kill would, before anything is recorded."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.n = inner, after, 0

    def send(self, msg: EmailMessage) -> str:
        mid = self.inner.send(msg)
        self.n += 1
        if self.n == self.after:
            raise KeyboardInterrupt
        return str(mid)

    def confirm(self, mid: str) -> bool | None:
        return self.inner.confirm(mid)  # type: ignore[no-any-return]


def test_after_a_kill_gmail_is_searched_not_resent(
    config_dir: Path,
    google_key_file: Path,
    google_transport: requests.Session,
    google_emulator: Emulator,
) -> None:
    c = gmail_ctx(config_dir, google_key_file, google_transport)
    c.extras["mail"] = Interrupting(get_transport(c), after=2)
    with pytest.raises(KeyboardInterrupt):
        remind_job(c)
    assert len(mailbox(google_emulator)) == 2
    # on another machine: no journal, only the sheet and Gmail to go by
    (c.settings.workspace / c.campaign.id / "mail-journal.jsonl").unlink()
    c2 = gmail_ctx(config_dir, google_key_file, google_transport, AGREED + dt.timedelta(hours=1))
    res = remind_job(c2)
    assert "settled" in res.detail
    assert keys(google_emulator) == sorted(KEY.format(p) for p in ("p03", "p05", "p07"))
    assert set(sent_log(c2)["status"]) == {"sent", "contact another way"}


def test_without_permission_to_search_an_unsure_send_is_held(
    config_dir: Path,
    google_key_file: Path,
    google_transport: requests.Session,
    google_emulator: Emulator,
) -> None:
    from google.oauth2 import service_account

    c = gmail_ctx(config_dir, google_key_file, google_transport)
    send_only = service_account.Credentials.from_service_account_file(
        str(google_key_file),
        scopes=["https://www.googleapis.com/auth/gmail.send"],
        subject=c.settings.org.mail.from_address,
    )
    svc = gmail_service(c.settings, session=google_transport, credentials=send_only)
    c.extras["mail"] = Interrupting(GmailTransport(svc), after=1)
    with pytest.raises(KeyboardInterrupt):
        remind_job(c)
    c2 = gmail_ctx(config_dir, google_key_file, google_transport, AGREED + dt.timedelta(hours=1))
    c2.extras["mail"] = GmailTransport(svc)
    res = remind_job(c2)
    # the journal says the first was being sent; Gmail will not say (403): held, not resent.
    # The journal says the other two were never tried: they go now.
    assert len([a for a in res.attention if "may or may not have gone out" in a]) == 1
    assert len(mailbox(google_emulator)) == 3
    assert sorted(set(keys(google_emulator))) == keys(google_emulator)
    # without the journal as well, nothing can be known: everything unconfirmed is held
    c3 = gmail_ctx(config_dir, google_key_file, google_transport, AGREED + dt.timedelta(hours=2))
    c3.extras["mail"] = GmailTransport(svc)
    (c3.settings.workspace / c3.campaign.id / "mail-journal.jsonl").unlink()
    assert remind_job(c3).messages_sent == 0 and len(mailbox(google_emulator)) == 3


def test_the_service_asks_only_for_mail_scopes(gctx: Context, google_emulator: Emulator) -> None:
    remind_job(gctx)
    principal = next(iter(google_emulator.tokens.values()))[0]
    assert set(principal.scopes) == set(GMAIL_SCOPES)
    raw = mailbox(google_emulator)[0]["raw"]
    assert base64.urlsafe_b64encode(raw)  # stored as sent: the raw RFC 822 bytes


def test_gmail_refusals_are_definite(gctx: Context, google_emulator: Emulator) -> None:
    from automations.mail import MailError

    t = get_transport(gctx)
    m = EmailMessage()
    m["From"], m["Subject"], m["Message-ID"] = "recruitment@example.org", "Hi", "<x@example.org>"
    m.set_content("No one to send to")
    with pytest.raises(MailError) as exc:
        t.send(m)
    assert exc.value.definite and "HTTP 400" in str(exc.value)
    other = GmailTransport(t.service, "someone.else@example.org")  # type: ignore[attr-defined]
    m.replace_header("Subject", "Hi again")
    m["To"] = "p@example.net"
    with pytest.raises(MailError, match="HTTP 403"):
        other.send(m)
    assert mailbox(google_emulator) == []
