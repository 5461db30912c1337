"""Calendar invitations (.ics, RFC 5545), written by hand: they are short and simple.

Pure text: the reminders transform builds events and the mail seam attaches them, so
it lives with the transforms (no I/O).

Each event has a UID that never changes for the same thing (the same meeting, the
same candidate's interview), so a corrected invitation replaces the old one in the
person's calendar; SEQUENCE goes up by one for every corrected version.
Times are written in UTC so no time zone table is needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    summary: str
    starts: dt.datetime  # naive local time in the organisation's time zone
    ends: dt.datetime
    location: str = ""
    description: str = ""
    url: str = ""
    sequence: int = 0
    cancelled: bool = False
    attendees: tuple[str, ...] = field(default=())


def make_uid(*parts: str, domain: str = "corecruit") -> str:
    """A stable UID for the same thing (e.g. campaign, event name, person)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"{digest}@{domain}"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never splitting a UTF-8 character."""
    out: list[str] = []
    cur, size = "", 0
    for ch in line:
        n = len(ch.encode())
        if size + n > (75 if not out else 74):
            out.append(cur)
            cur, size = "", 0
        cur += ch
        size += n
    out.append(cur)
    return "\r\n ".join(out)


def _utc(t: dt.datetime, tz: str) -> str:
    aware = t.replace(tzinfo=ZoneInfo(tz)) if t.tzinfo is None else t
    return aware.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(
    events: Sequence[CalendarEvent],
    *,
    tz: str,
    organiser: str = "",
    organiser_name: str = "",
    stamp: dt.datetime | None = None,
    method: str | None = None,
) -> str:
    """An iCalendar file with ``events``.

    ``method`` REQUEST makes an invitation that calendars add and update by UID;
    CANCEL removes it. Without a method the file is a plain calendar to import.
    """
    stamp = stamp or dt.datetime.now(dt.UTC)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//corecruit//recruitment//EN",
        "CALSCALE:GREGORIAN",
    ]
    if method:
        lines.append(f"METHOD:{method}")
    for ev in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{ev.uid}",
            f"DTSTAMP:{_utc(stamp, tz)}",
            f"SEQUENCE:{ev.sequence}",
            f"DTSTART:{_utc(ev.starts, tz)}",
            f"DTEND:{_utc(ev.ends, tz)}",
            f"SUMMARY:{_escape(ev.summary)}",
            f"STATUS:{'CANCELLED' if ev.cancelled else 'CONFIRMED'}",
            "TRANSP:OPAQUE",
        ]
        if ev.location:
            lines.append(f"LOCATION:{_escape(ev.location)}")
        if ev.description:
            lines.append(f"DESCRIPTION:{_escape(ev.description)}")
        if ev.url:
            lines.append(f"URL:{ev.url}")
        if organiser:
            cn = f";CN={_escape(organiser_name)}" if organiser_name else ""
            lines.append(f"ORGANIZER{cn}:mailto:{organiser}")
        for a in ev.attendees:
            lines.append(f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{a}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(x) for x in lines) + "\r\n"


def parse_events(text: str) -> list[dict[str, str]]:
    """Read back the VEVENTs of a calendar (unfolded, unescaped): for tests and settling."""
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    events: list[dict[str, str]] = []
    cur: dict[str, str] | None = None
    for line in unfolded.splitlines():
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT" and cur is not None:
            events.append(cur)
            cur = None
        elif cur is not None and ":" in line:
            name, _, value = line.partition(":")
            key = name.split(";")[0]
            value = (
                value.replace("\\n", "\n")
                .replace("\\,", ",")
                .replace("\\;", ";")
                .replace("\\\\", "\\")
            )
            cur[key] = value if key not in cur else cur[key] + "\n" + value
    return events
