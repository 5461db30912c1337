"""Messages sent once: who they are for, their keys, versions and fingerprints. Pure.

Every message corecruit sends has a deterministic key ``rule|person|campaign|occasion``
(``|v2`` … for corrected versions) and a fingerprint of its *facts*. The
``sent_messages`` log, read as :func:`log_index`, says what already went, and
:func:`next_version` says whether to send (a first time, a retry after a failure,
a corrected version when the facts changed) or not. The same rules serve the
reminders' planner and every job that emails a person (form links, statements,
estimates, the candidate pack), so there is one idea of who can be emailed, one
greeting, one mail domain and one Message-ID.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from ..config.models import CampaignConfig, OrganisationConfig
from .addresses import one_mailbox
from .values import text as _text

DELIVERED = ("sent", "contact another way")

OTHER_WAY = {
    "phone": "prefer a phone call",
    "post": "prefer letters by post",
    "text message": "prefer text messages",
}
BAD_ADDRESS = "have an email address that cannot be used (please check it on the {tab} tab)"
BAD_COPY = "have a 'Copy to' address that cannot be used (please check it on the People tab)"


# --------------------------------------------------------------------- words


def long_date(d: dt.date) -> str:
    """'Monday 8 February 2027'."""
    return f"{d:%A} {d.day} {d:%B %Y}"


def clock(t: dt.datetime | dt.time) -> str:
    """'9:45am', '10am', '12:30pm' (how people say it)."""
    h, m = t.hour, t.minute
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    return f"{h12}{suffix}" if m == 0 else f"{h12}:{m:02d}{suffix}"


def when(starts: dt.datetime, ends: dt.datetime | None = None, *, timed: bool = True) -> str:
    """'Monday 8 February 2027, 9:45am to 4pm'."""
    if not timed:
        return long_date(starts.date())
    text = f"{long_date(starts.date())}, {clock(starts)}"
    if ends and ends.date() == starts.date() and ends > starts:
        text += f" to {clock(ends)}"
    return text


def money(x: Decimal) -> str:
    return f"£{x:,.2f}"


def plain_number(x: Decimal) -> str:
    """A quantity without trailing zeros: 0.45 -> '0.45', 8.0 -> '8'."""
    return f"{x.normalize():f}"


def short_name(intro: str, name: str, fallback: str) -> str:
    """The name a person goes by: their introduction up to the first comma, else first name.

    One line whatever was typed: a line break in a cell never reaches a greeting."""
    if intro.strip():
        return " ".join(intro.split(",")[0].split())
    return name.split()[0] if name.strip() else fallback


# --------------------------------------------------------------- recipients


@dataclass(frozen=True)
class Recipient:
    """Who a message is for. ``id`` is a person id or application id: logs show only that."""

    id: str
    role: str
    greeting: str
    email: str = ""
    copy_to: str = ""
    channel: str = "email"  # "email" or "other" (staff contact them another way)
    reason: str = ""
    large_print: bool = False
    easy_read: bool = False
    has_access_needs: bool = False
    letter: str = ""  # for candidates

    @property
    def label(self) -> str:
        return f"{self.id} ({self.role})"


def recipient_context(
    camp: CampaignConfig, org: OrganisationConfig, r: Recipient
) -> dict[str, Any]:
    """What every email's template knows: the campaign, the team and how to write to ``r``."""
    c = camp.campaign
    return {
        "org_name": org.organisation.name,
        "team_contact": org.organisation.team_contact or org.mail.from_address,
        "sender": org.mail.from_name,
        "title": c.title,
        "post": c.post,
        "team": c.team,
        "summary": " ".join(c.summary.split()),
        "greeting": r.greeting,
        "role": r.role,
        "large_print": r.large_print,
        "easy_read": r.easy_read,
        "has_access_needs": r.has_access_needs,
        "has_copy": bool(r.copy_to),
    }


def person_recipient(row: Mapping[str, Any]) -> Recipient:
    pid = _text(row.get("person_id"))
    email, bad = one_mailbox(row.get("email"))
    copy_to, bad_copy = one_mailbox(row.get("copy_to"))
    pref = _text(row.get("preferred_contact")).lower()
    channel, reason = "email", ""
    if pref in OTHER_WAY:
        channel, reason = "other", OTHER_WAY[pref]
    elif not email:
        channel, reason = "other", "have no email address"
    elif bad:
        channel, reason = "other", BAD_ADDRESS.format(tab="People")
    elif bad_copy:
        channel, reason = "other", BAD_COPY
    fmt = _text(row.get("formats")).lower()
    name = _text(row.get("name"))
    return Recipient(
        id=pid,
        role=_text(row.get("role")) or "panel member",
        greeting=short_name(_text(row.get("introduction")), name, "there"),
        email="" if bad else email,
        copy_to="" if bad_copy else copy_to,
        channel=channel,
        reason=reason,
        large_print=fmt == "large print",
        easy_read=fmt == "easy read",
        has_access_needs=bool(_text(row.get("access_requirements"))),
    )


def candidate_recipient(row: Mapping[str, Any], letter: str, role: str = "candidate") -> Recipient:
    email, bad = one_mailbox(row.get("email"))
    greet = _text(row.get("preferred_name")) or _text(row.get("first_name")) or "there"
    ok = bool(email) and bad is None
    why = "have no email address" if not email else BAD_ADDRESS.format(tab="Applications")
    return Recipient(
        id=_text(row.get("application_id")),
        role=role,
        greeting=greet,
        email=email if ok else "",
        channel="email" if ok else "other",
        reason="" if ok else why,
        letter=letter,
    )


# ------------------------------------------------------- keys and versions


FORM_LINK_RULE = "form-link"  # the message that sends a person their own score form


def form_link_key(person: str, campaign: str, stage: str, form_id: str) -> str:
    """The key of the email with a person's own score form link: one per link (a renewed
    link is a new form id, so it goes again, once)."""
    return f"{FORM_LINK_RULE}|{person}|{campaign}|{stage}|{form_id}"


def scores_on_paper(r: Recipient) -> bool:
    """By phone or post a long link cannot be read out or typed in: such a person
    scores on paper (and can ask for the link by text message or email instead)."""
    return r.channel != "email" and r.reason != OTHER_WAY["text message"]


def letter_read_out(r: Recipient) -> bool:
    """Whether ``r``'s letter is read out on the phone or posted because of how they asked
    to be contacted (a phone call, post, or no email address we can use): such a letter
    carries short codes, not links. A letter to send by text message keeps its links, and
    so does one a job writes for its own reason to someone with an email address (the
    papers posted when Google cannot share a workbook with them)."""
    if r.channel == "email" or r.reason == OTHER_WAY["text message"]:
        return False
    return r.reason in (OTHER_WAY["phone"], OTHER_WAY["post"]) or not r.email


def fingerprint(facts: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def base_key(rule_id: str, person: str, campaign: str, occasion: str) -> str:
    return f"{rule_id}|{person}|{campaign}|{occasion}"


def version_key(base: str, version: int) -> str:
    return base if version == 1 else f"{base}|v{version}"


def log_index(log: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Rows of the sent_messages log grouped by base key, oldest version first."""
    out: dict[str, list[dict[str, Any]]] = {}
    if log is None or log.empty or "message_key" not in log.columns:
        return out
    for _, row in log.iterrows():
        key = _text(row.get("message_key"))
        if not key:
            continue
        base, _, v = key.partition("|v")
        try:
            version = int(v) if v else 1
        except ValueError:
            continue
        r = row.to_dict()
        r["_version"] = version
        out.setdefault(base, []).append(r)
    for rows in out.values():
        rows.sort(key=lambda r: r["_version"])
    return out


@dataclass(frozen=True)
class Send:
    """What to do for one base key: send this version (a correction? a retry?)."""

    version: int
    correction: bool
    retry: bool


def next_version(history: Sequence[Mapping[str, Any]], content_hash: str) -> Send | None:
    """What to do for one base key, given its rows in the log (oldest version first)."""
    if any(_text(h.get("status")) == "intended" for h in history):
        return None  # an earlier send is not settled yet: never risk a second copy
    if not history:
        return Send(1, False, False)
    latest = history[-1]
    status = _text(latest.get("status"))
    if status == "failed":
        told = [h for h in history[:-1] if _text(h.get("status")) in DELIVERED]
        return Send(int(latest["_version"]), bool(told), True)
    if status in DELIVERED and _text(latest.get("content_hash")) == content_hash:
        return None
    if status not in DELIVERED:
        return None
    return Send(int(latest["_version"]) + 1, True, False)


def mail_domain(from_address: str) -> str:
    """The sender's mail domain (for Message-IDs and calendar UIDs): one rule, one default."""
    return from_address.rpartition("@")[2].strip() if "@" in from_address else "corecruit.local"


def message_id(key: str, domain: str) -> str:
    """A Message-ID made from the message key, so a retry or a crashed send is looked up
    by it, never guessed: ``<rule.digest@domain>`` for every message corecruit sends."""
    rule = re.sub(r"[^A-Za-z0-9-]+", "-", key.split("|", 1)[0]) or "message"
    return f"<{rule}.{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}>"
