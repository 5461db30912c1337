"""Helpers for the reminders and timetable tests: staff actions on the example campaign."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pandas as pd

from automations.context import Context
from automations.store import make_frame

LETTERS = {"0001": "C", "0002": "A", "0003": "F", "0004": "B", "0005": "E", "0006": "D"}
NAMES = [
    "Joy",
    "Hill",
    "Francis",
    "Frank",
    "Bell",
    "Siobh",
    "Brien",
    "Robert",
    "Mensah",
    "Lena",
    "Kowalczyk",
    "David",
    "Chen",
    "Aisha Rahman",
    "Rahman",
    "Whitfield",
    "Okafor",
    "Helen Price",
    "Nowak",
    "Bernadette",
    "Kelly",
    "Adeyemi",
    "Priya",
    "Shah",
]
EMAILS = ["@example.com", "@example.net", "@example.org"]


def give_letters(ctx: Context, letters: dict[str, str] | None = None) -> None:
    """What the redact job does: a stable letter for each application."""
    st = ctx.stores.staff
    st.append(
        "candidate_key",
        make_frame(
            st.tab("candidate_key"),
            [{"application_id": a, "candidate_letter": x} for a, x in (letters or LETTERS).items()],
        ),
    )


def set_status(ctx: Context, apps: list[str], status: str) -> None:
    ctx.stores.staff.forget()  # another context may have written since
    ctx.stores.staff.upsert(
        "applications", pd.DataFrame([{"application_id": a, "status": status} for a in apps])
    )


def set_cell(ctx: Context, tab: str, key: dict[str, str], **values: object) -> None:
    ctx.stores.staff.forget()
    ctx.stores.staff.upsert(tab, pd.DataFrame([{**key, **values}]), key=list(key))


def move_event(ctx: Context, event: str, starts: dt.datetime) -> None:
    set_cell(ctx, "dates", {"event": event}, starts_at=starts)


def form_links(ctx: Context, stage: str = "shortlisting") -> None:
    st = ctx.stores.staff
    st.append(
        "form_links",
        make_frame(
            st.tab("form_links"),
            [
                {
                    "person_id": p,
                    "stage": stage,
                    "url": f"http://127.0.0.1:8765/f/{stage}/{p}-token",
                }
                for p in ["p01", "p02", "p03", "p05", "p06", "p07"]
            ],
        ),
    )


def outbox(ctx: Context) -> list[EmailMessage]:
    folder = ctx.settings.path(ctx.settings.org.mail.outbox)
    out = []
    for f in sorted(Path(folder).glob("*.eml")):
        out.append(email.message_from_bytes(f.read_bytes(), policy=policy.default))
    return out  # type: ignore[return-value]


def by_key(msgs: list[EmailMessage]) -> dict[str, EmailMessage]:
    return {str(m["X-Corecruit-Key"]).strip(): m for m in msgs}


def text_of(m: EmailMessage) -> str:
    body = m.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def html_of(m: EmailMessage) -> str:
    body = m.get_body(("html",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def ics_of(m: EmailMessage) -> str:
    for part in m.iter_attachments():
        if part.get_content_type() == "text/calendar":
            c = part.get_content()  # type: ignore[attr-defined]
            return c.decode() if isinstance(c, bytes) else str(c)
    return ""


def sent_log(ctx: Context) -> pd.DataFrame:
    return ctx.stores.staff.read_one("sent_messages")


def no_personal_data(text: str) -> list[str]:
    """Names or emails from the example data found in ``text`` (for logs and errors)."""
    for ours in ("recruitment@example.org", "corecruit-admin@example.org"):
        text = text.replace(ours, "")  # the team's own addresses are not personal data
    found = [n for n in NAMES if n in text]
    found += [e for e in EMAILS if e in text]
    return found
