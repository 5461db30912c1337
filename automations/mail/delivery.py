"""Exactly-once delivery: the sent_messages log, a local journal, and settling after a crash.

The rule is *record the intention, then send, then confirm*:

1. Each message gets a deterministic key (``rule|person|campaign|occasion``, with
   ``|v2`` … for corrected versions) and a Message-ID made from that key.
2. A line "planned" goes to the local journal (``<workspace>/<campaign>/mail-journal.jsonl``,
   fsync'd), then every new row goes to the ``sent_messages`` tab with status
   ``intended`` in one write.
3. For each message: journal "attempt", send, journal "sent" (each fsync'd).
4. Every outcome goes to ``sent_messages`` in one write.

A later run first *settles* any row still ``intended``: the journal says "sent"
(confirmed) or "planned" (never attempted: safe to send); otherwise the transport
is asked. The outbox can always tell (the ``.eml`` file is there or not); Gmail is
searched for the Message-ID; SMTP cannot be asked, so such a message is held and
staff are asked to look in the sent mail. That leaves one honest window: a run
killed *during* an SMTP conversation, or between the server's "250 OK" and the
journal line a moment later. Nothing is ever sent twice by corecruit in that
case; instead a person is asked to check.

The journal and the log hold keys, person ids and Message-IDs only: no names or
addresses.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import CorecruitError
from ..files import open_append, private_dir, write_private
from ..store import TableStore, upsert_rows
from ..transforms.addresses import mailbox_problem
from .base import MailError, MailTransport, OutboxTransport, confirm
from .render import letter_page

log = logging.getLogger("corecruit.mail")
TAB = "sent_messages"
CHECK_NOTE = (
    "Please check: the run stopped while this was being sent, and the mail server "
    "cannot say whether it went. Look in the sent mail, then set Status to 'sent' if it "
    "went, or 'failed' to send it again."
)


@dataclass
class Outgoing:
    """One message ready to go (``message``), or to hand to staff (``message`` is None)."""

    key: str
    rule: str
    person_id: str
    role: str
    occasion: str
    version: int
    content_hash: str
    message: EmailMessage | None
    reason: str = ""  # why staff should contact the person another way
    letter_text: str = ""  # the message as text, for staff to read out or post
    letter_html: str = ""
    retry: bool = False
    also: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # log rows of messages this one stands in for (keyed): written with it, same outcome

    @property
    def label(self) -> str:
        return f"{self.person_id} ({self.role})"

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]) if self.message is not None else ""


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    other_way: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    settled: dict[str, str] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)
    about: list[str] = field(default_factory=list)  # the message key of each attention line
    rows_written: int = 0
    store_calls: int = 0

    def tell(self, key: str, text: str) -> None:
        """Something for staff about message ``key``."""
        self.attention.append(text)
        self.about.append(key)


class Journal:
    """An append-only, fsync'd record of each send, on the machine that sends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._states: dict[str, tuple[str, str]] | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def states(self) -> dict[str, tuple[str, str]]:
        """Message-ID -> (last state, when)."""
        if self._states is None:
            out: dict[str, tuple[str, str]] = {}
            if self.path.exists():
                for line in self.path.read_text(encoding="utf-8").splitlines():
                    try:
                        rec = json.loads(line)
                        out[rec["mid"]] = (rec["s"], rec.get("t", ""))
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line after a crash
            self._states = out
        return self._states

    def record(self, entries: Iterable[tuple[str, str, str]], now: dt.datetime) -> None:
        """Append (key, message id, state) lines and fsync once."""
        items = list(entries)
        if not items:
            return
        stamp = now.isoformat()
        lines = [json.dumps({"k": k, "mid": m, "s": s, "t": stamp}) for k, m, s in items]
        with open_append(self.path) as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        states = self.states()
        for _k, m, s in items:
            states[m] = (s, stamp)


def _text(v: Any) -> str:
    return "" if v is None or v is pd.NA else str(v)


def settle(
    log_df: pd.DataFrame, transport: MailTransport, journal: Journal, now: dt.datetime
) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Decide what happened to rows left 'intended'. Returns (changes by key, held keys, notes)."""
    changes: dict[str, dict[str, Any]] = {}
    held: list[str] = []
    notes: list[str] = []
    if log_df is None or log_df.empty:
        return changes, held, notes
    states = journal.states()
    for _, row in log_df.iterrows():
        if _text(row.get("status")) != "intended":
            continue
        key, mid = _text(row.get("message_key")), _text(row.get("transport_id"))
        state, when = states.get(mid, ("", ""))
        if state == "sent":
            at = dt.datetime.fromisoformat(when) if when else now
            changes[key] = {
                "status": "sent",
                "sent_at": at,
                "note": "Confirmed from the journal after an interrupted run.",
            }
            continue
        if state in ("planned", "failed"):
            changes[key] = {
                "status": "failed",
                "note": "Not sent: the run stopped before sending it. It will be "
                "sent on the next run.",
            }
            continue
        seen = confirm(transport, mid) if mid else None
        if seen is True:
            changes[key] = {
                "status": "sent",
                "sent_at": now,
                "note": "Confirmed by the mail service after an interrupted run.",
            }
        elif seen is False:
            changes[key] = {
                "status": "failed",
                "note": "The mail service has no record of it, so it did not go. "
                "It will be sent on the next run.",
            }
        else:
            held.append(key)
            if _text(row.get("note")) != CHECK_NOTE:
                changes[key] = {"note": CHECK_NOTE}
            notes.append(
                f"A message may or may not have gone out ({key}). Please check the "
                "sent mail and set its status in the 'Messages sent' tab."
            )
    return changes, held, notes


def apply_changes(log_df: pd.DataFrame, changes: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The log with ``changes`` applied (in memory, for planning after settling)."""
    if not changes or log_df.empty:
        return log_df
    out = log_df.copy()
    for idx, row in out.iterrows():
        ch = changes.get(_text(row.get("message_key")))
        if ch:
            for k, v in ch.items():
                out.at[idx, k] = v
    return out


class MessagesLog:
    """The ``sent_messages`` log, reached through this one small object: read it,
    record what is about to go (``intended``), record what happened (outcomes).

    Everything that sends goes through it, so moving where the log lives (a tab, or a
    ledger under the tab) is a change in one place.
    """

    def __init__(self, store: TableStore, journal: Journal) -> None:
        self.store = store
        self.journal = journal

    def read(self, tabs: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
        """The log (and any other ``tabs`` wanted with it), fresh, in one batch read."""
        return self.store.read([*tabs, TAB], errors="collect")

    def record_intended(self, rows: Mapping[str, Mapping[str, Any]]) -> int:
        """Rows written before anything is sent (and what settling found), in one write."""
        return write_rows(self.store, rows)

    def record_outcomes(self, rows: Mapping[str, Mapping[str, Any]]) -> int:
        """What happened to each message sent, in one write."""
        return write_rows(self.store, rows)


def write_rows(store: TableStore, changes: Mapping[str, Mapping[str, Any]]) -> int:
    """Insert or update sent_messages rows by key, in one write, on a fresh read."""
    if not changes:
        return 0
    spec = store.tab(TAB)
    with store.locked():
        current = store.read_one(TAB, refresh=True)
        by_key = {_text(r.get("message_key")): r.to_dict() for _, r in current.iterrows()}
        rows = []
        for key, ch in changes.items():
            base = {c: by_key.get(key, {}).get(c) for c in spec.column_ids}
            base.update(ch)
            base["message_key"] = key
            rows.append(base)
        new = pd.DataFrame(rows, columns=spec.column_ids)
        merged = upsert_rows(spec, current, new)
        store.write({TAB: merged})
    return len(rows)


BAD_ADDRESS = "have an email address that cannot be used (please check it)"


def recipients_problem(msg: EmailMessage) -> str | None:
    """Why ``msg`` must not go (None: fine): one To, and every To/Cc/Bcc is one mailbox.

    The last guard before sending: a cell holding two addresses would send one
    person's private link to both.
    """
    to = msg.get_all("To") or []
    if len(to) != 1:
        return BAD_ADDRESS
    for name in ("To", "Cc", "Bcc"):
        for header in msg.get_all(name) or []:
            found = getattr(header, "addresses", None)
            if not found or len(found) != 1 or getattr(header, "defects", None):
                return BAD_ADDRESS
            if mailbox_problem(str(found[0].addr_spec)):
                return BAD_ADDRESS
    return None


def _as_letter(o: Outgoing, reason: str) -> Outgoing:
    """``o`` for staff to pass on another way, with the message as text and HTML."""
    assert o.message is not None
    msg = o.message
    text = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    body = str(text.get_content()) if text is not None else ""
    return replace(
        o,
        message=None,
        reason=reason,
        letter_text=f"Subject: {msg['Subject']}\n\n{body}",
        letter_html=str(page.get_content()) if page is not None else "",
    )


def letter_stem(key: str) -> str:
    """The file name (without suffix) of the letter saved for staff for message ``key``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:150]


def deliver(
    store: TableStore | MessagesLog,
    transport: MailTransport,
    journal: Journal,
    outgoing: list[Outgoing],
    *,
    now: dt.datetime,
    letters_dir: Path,
    settled: Mapping[str, Mapping[str, Any]] | None = None,
) -> DeliveryReport:
    """Send ``outgoing`` exactly once, recording intention and outcome in the log."""
    log_ = store if isinstance(store, MessagesLog) else MessagesLog(store, journal)
    rep = DeliveryReport()
    outgoing = [
        _as_letter(o, why)
        if o.message is not None and (why := recipients_problem(o.message))
        else o
        for o in outgoing
    ]
    emails = [o for o in outgoing if o.message is not None]
    others = [o for o in outgoing if o.message is None]
    first: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (settled or {}).items()}
    for o in outgoing:
        first[o.key] = {
            "rule": o.rule,
            "person_id": o.person_id,
            "occasion": o.occasion,
            "version": o.version,
            "content_hash": o.content_hash,
            "status": "intended" if o.message is not None else "contact another way",
            "intended_at": now,
            "sent_at": None,
            "transport_id": o.message_id,
            "note": (
                ""
                if o.message is not None
                else f"Please contact this person another way: they {o.reason}."
            ),
        }
        for k, row in o.also.items():
            first[k] = {**first[o.key], "version": 1, "content_hash": "", **row}
    for o in others:
        private_dir(letters_dir)
        write_private(letters_dir / f"{letter_stem(o.key)}.txt", o.letter_text)
        if o.letter_html:
            write_private(letters_dir / f"{letter_stem(o.key)}.html", letter_page(o.letter_html))
        rep.other_way.append(o.key)
        rep.tell(
            o.key,
            f"Please contact {o.label} another way (they {o.reason}) about '{o.rule}' "
            f"({o.occasion}). The message is in {letters_dir / (letter_stem(o.key) + '.txt')}.",
        )
    journal.record([(o.key, o.message_id, "planned") for o in emails], now)
    if first:
        rep.rows_written += log_.record_intended(first)
        rep.store_calls += 2
    outcome: dict[str, dict[str, Any]] = {}
    # Outcomes are written once at the end, or on an error; a kill (KeyboardInterrupt,
    # as a SIGKILL) writes nothing more: the journal has every send, and the next run
    # settles from it.
    try:
        for o in emails:
            assert o.message is not None
            journal.record([(o.key, o.message_id, "attempt")], now)
            try:
                transport.send(o.message)
            except CorecruitError as exc:  # a MailError says whether it may have gone
                if not isinstance(exc, MailError) or exc.definite:
                    journal.record([(o.key, o.message_id, "failed")], now)
                    outcome[o.key] = {"status": "failed", "note": f"Not sent: {exc}"}
                    outcome.update({k: dict(outcome[o.key]) for k in o.also})
                    rep.failed.append(o.key)
                    rep.tell(
                        o.key,
                        f"A message to {o.label} ('{o.rule}') could not be sent: "
                        f"{exc}. It will be tried again on the next run.",
                    )
                else:
                    journal.record([(o.key, o.message_id, "unsure")], now)
                    outcome[o.key] = {"note": f"Unsure: {exc}. It will be checked on the next run."}
                    rep.held.append(o.key)
                    rep.tell(
                        o.key,
                        f"A message to {o.label} ('{o.rule}') may or may not "
                        f"have gone out: {exc}. It will be checked before "
                        "anything is sent again.",
                    )
                continue
            journal.record([(o.key, o.message_id, "sent")], now)
            outcome[o.key] = {
                "status": "sent",
                "sent_at": now,
                "note": "Corrected version." if o.version > 1 else "",
            }
            outcome.update({k: {"status": "sent", "sent_at": now} for k in o.also})
            rep.sent.append(o.key)
            log.info("sent %s to %s (%s, v%d)", o.rule, o.label, o.occasion, o.version)
    except Exception:
        if outcome:
            log_.record_outcomes(outcome)
        raise
    if outcome:
        rep.rows_written += log_.record_outcomes(outcome)
        rep.store_calls += 2
    return rep


__all__ = [
    "DeliveryReport",
    "Journal",
    "MessagesLog",
    "OutboxTransport",
    "Outgoing",
    "apply_changes",
    "deliver",
    "letter_stem",
    "settle",
    "write_rows",
]
