"""One way to send a message exactly once: :func:`send_once`, used by every job that emails.

Reminders, form links (score forms, co-production forms, the expense claim form),
the candidate pack, and rewards statements and estimates all hand their messages
here as :class:`Item` s. Under one lock for the sent-messages log
(:func:`automations.locks.messages_lock`, whichever job sends), it

1. reads the log (with any other tabs the caller plans from, in one batch),
2. settles what an earlier run left unsure (journal, then the transport),
3. versions each item from the log (first time, retry, or a corrected version),
4. renders it, and
5. delivers it through :func:`automations.mail.delivery.deliver`: intention logged and
   journalled before sending, outcome after.

The log is reached only through :class:`automations.mail.delivery.MessagesLog`. This
module is a shared engine, not a job: jobs import it, it imports no job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any

import pandas as pd

from .context import Context
from .forms.codes import codes_by_link
from .forms.links import base_url
from .locks import messages_lock
from .mail import MailTransport, get_transport
from .mail.delivery import (
    TAB,
    DeliveryReport,
    Journal,
    MessagesLog,
    Outgoing,
    apply_changes,
    deliver,
    settle,
)
from .mail.render import Rendered, Renderer, build_email
from .transforms.ics import CalendarEvent
from .transforms.messages import (
    DELIVERED,
    Recipient,
    base_key,
    fingerprint,
    letter_read_out,
    log_index,
    long_date,
    mail_domain,
    message_id,
    next_version,
    recipient_context,
    version_key,
)
from .transforms.short_codes import address_words
from .transforms.values import text as _text

SENT = TAB
Plan = Callable[[dict[str, pd.DataFrame]], Sequence["Item"]]


@dataclass
class Item:
    """One message a job wants to send (once).

    Without ``key`` the item is versioned here from its ``facts`` (a corrected version
    when they change). With ``key`` it was keyed elsewhere (the reminders' planner, or
    a message meant once per key whatever its content): it goes unless that key is
    already delivered or unsettled.
    """

    rule: str
    recipient: Recipient
    occasion: str
    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    attachments: list[tuple[str, bytes, str, str]] = field(default_factory=list)
    # (filename, data, maintype, subtype)
    calendar: list[CalendarEvent] = field(default_factory=list)
    calendar_method: str = "REQUEST"
    key: str = ""
    version: int = 1
    content_hash: str = ""
    correction: bool = False
    retry: bool = False
    rendered: Rendered | None = None  # already rendered by the job (its own words)
    planned: str = ""  # the line for logs and --dry-run (ids and roles only)
    also: dict[str, dict[str, Any]] = field(default_factory=dict)
    # log rows (keyed) of other messages this one stands in for: they share its fate


@dataclass
class SendResult:
    report: DeliveryReport | None = None
    planned: list[str] = field(default_factory=list)  # ids and roles only
    attention: list[str] = field(default_factory=list)
    sent_keys: dict[str, Item] = field(default_factory=dict)  # key -> item, as versioned
    already: list[str] = field(default_factory=list)  # keys delivered before
    held: list[str] = field(default_factory=list)  # keys still unsure: left for staff
    settled: int = 0  # earlier sends settled now
    waiting: int = 0  # unconfirmed rows a dry run would check first
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # what was read
    api_calls: int = 0

    @property
    def sent(self) -> list[str]:
        return self.report.sent if self.report is not None else []

    def add_to(self, res: Any) -> None:
        """Count what was sent into a job's result (planned, attention, sent, rows)."""
        res.planned = self.planned
        res.attention.extend(self.attention)
        res.api_calls += self.api_calls
        if self.report is not None:
            res.messages_sent = len(self.report.sent)
            res.rows_written += self.report.rows_written

    def summary(self) -> str:
        """'3 sent, 1 for staff to pass on another way, …' (ids never shown)."""
        rep = self.report or DeliveryReport()
        parts = [f"{len(rep.sent)} sent"]
        if rep.other_way:
            parts.append(f"{len(rep.other_way)} for staff to pass on another way")
        if rep.failed:
            parts.append(f"{len(rep.failed)} failed (will be tried again)")
        if rep.held:
            parts.append(f"{len(rep.held)} to check")
        if self.settled:
            parts.append(f"{self.settled} earlier send(s) settled")
        return ", ".join(parts)


def form_link_item(
    rule: str,
    recipient: Recipient,
    occasion: str,
    template: str,
    url: str,
    expires: dt.datetime | None,
) -> Item:
    """The email that gives a person their own form link (the link is what counts as changed)."""
    return Item(
        rule=rule,
        recipient=recipient,
        occasion=occasion,
        template=template,
        context={"form_link": url, "expires": long_date(expires.date()) if expires else ""},
        facts={"url": url},
    )


def common_context(ctx: Context, r: Recipient) -> dict[str, Any]:
    """What every template knows (campaign, team, how to write to ``r``). A letter staff
    read out or post (``read_out``) gives each form link's short code, not the link."""
    out = recipient_context(ctx.campaign, ctx.settings.org, r) | {
        "correction": False,
        "reminder": False,
    }
    if letter_read_out(r):
        out["read_out"] = True
        out["letter_codes"] = codes_by_link(ctx.settings)
        out["code_address"] = address_words(base_url(ctx.settings))
    return out


def _versioned(
    it: Item, cid: str, index: Mapping[str, list[dict[str, Any]]]
) -> tuple[str, int, str, bool, bool] | None:
    """(key, version, content hash, correction, retry) for an item without a key."""
    base = base_key(it.rule, it.recipient.id, cid, it.occasion)
    h = fingerprint(it.facts)
    s = next_version(index.get(base, []), h)
    if s is None:
        return None
    return version_key(base, s.version), s.version, h, s.correction, s.retry


def _planned_line(it: Item, version: int, correction: bool, retry: bool) -> str:
    tag = " [corrected]" if correction else " [retry]" if retry else ""
    return f"{it.rule} -> {it.recipient.label}, v{version}{tag}"


def to_outgoing(
    ctx: Context,
    renderer: Renderer,
    it: Item,
    key: str,
    version: int,
    content_hash: str,
    *,
    correction: bool,
    retry: bool,
    also: Mapping[str, Mapping[str, Any]] | None = None,
) -> Outgoing:
    """The item rendered: an email, or a letter for staff when the person is not emailed."""
    r = it.recipient
    rendered = it.rendered
    if rendered is None:
        values = {**common_context(ctx, r), **it.context, "correction": correction}
        rendered = renderer.render(it.template, values)
    common: dict[str, Any] = dict(
        also=dict(also or {}),
        key=key,
        rule=it.rule,
        person_id=r.id,
        role=r.role,
        occasion=it.occasion,
        version=version,
        content_hash=content_hash,
        retry=retry,
    )
    if r.channel != "email":
        return Outgoing(
            **common,
            message=None,
            reason=r.reason,
            letter_text=f"Subject: {rendered.subject}\n\n{rendered.text}",
            letter_html=rendered.html,
        )
    msg = build_email(
        ctx.settings,
        rendered,
        to=formataddr(("", r.email)),
        cc=r.copy_to,
        msgid=message_id(key, mail_domain(ctx.settings.org.mail.from_address)),
        now=ctx.now(),
        events=it.calendar,
        method=it.calendar_method,
        key=key,
    )
    for name, data, maintype, subtype in it.attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return Outgoing(**common, message=msg)


@dataclass
class Part:
    """One job's share of a send made together with others (:func:`send_together`).

    ``plan`` is called once, under the messages lock, with the tabs read (``tabs`` and
    the settled log); ``record`` holds log rows to write with the intentions, keyed (a
    message another path already sent); the planner may fill it as it plans.
    """

    plan: Plan
    tabs: Sequence[str] = ()
    record: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def send_once(
    ctx: Context,
    items: Sequence[Item] | Plan,
    *,
    dry_run: bool = False,
    tabs: Sequence[str] = (),
    record: Mapping[str, Mapping[str, Any]] | None = None,
) -> SendResult:
    """Send each item unless it already went (a corrected version if its facts changed).

    ``items`` may be a function of the tabs read (``tabs`` and the settled log, in one
    batch under the lock), for a job that plans from the log, as the reminders do.
    ``record``: log rows to write with the intentions (keyed), such as a message that
    another path already sent. A dry run settles nothing and sends, writes nothing.
    """
    plan: Plan = items if callable(items) else (lambda _frames: items)
    part = Part(plan, tabs, record if record is not None else {})
    return send_together(ctx, [part], dry_run=dry_run)[0]


def _split(rep: DeliveryReport, keys: set[str]) -> DeliveryReport:
    """The part of ``rep`` about the messages ``keys`` (counts of the writes stay whole)."""
    return DeliveryReport(
        sent=[k for k in rep.sent if k in keys],
        other_way=[k for k in rep.other_way if k in keys],
        failed=[k for k in rep.failed if k in keys],
        held=[k for k in rep.held if k in keys],
        attention=[a for a, k in zip(rep.attention, rep.about, strict=True) if k in keys],
        about=[k for k in rep.about if k in keys],
    )


def send_together(
    ctx: Context, parts: Sequence[Part], *, dry_run: bool = False
) -> list[SendResult]:
    """:func:`send_once` for several jobs' messages in one go: one read of every tab
    they plan from, one write of the intentions, one of the outcomes.

    One result per part, each about its own messages; what belongs to the whole send
    (settling earlier runs, the reads and writes, their calls) is in the first.
    """
    outs = [SendResult() for _ in parts]
    out = outs[0]
    folder = ctx.settings.workspace / ctx.campaign.id
    now = ctx.now()
    tabs = list(dict.fromkeys(t for p in parts for t in p.tabs if t != SENT))
    with messages_lock(ctx):
        journal = Journal(folder / "mail-journal.jsonl")
        log = MessagesLog(ctx.stores.staff, journal)
        frames = log.read(tabs)
        out.api_calls += 1
        log_df = frames[SENT]
        changes: dict[str, dict[str, Any]] = {}
        transport: MailTransport | None = None
        held: list[str] = []
        if dry_run:
            out.waiting = int((log_df["status"] == "intended").sum()) if len(log_df) else 0
        else:
            transport = get_transport(ctx)
            changes, held, notes = settle(log_df, transport, journal, now)
            out.attention.extend(notes)
            log_df = apply_changes(log_df, changes)
            out.settled = sum(1 for c in changes.values() if "status" in c)
        frames[SENT] = log_df
        out.frames = frames
        index = log_index(log_df)
        status = {_text(r.get("message_key")): _text(r.get("status")) for _, r in log_df.iterrows()}
        renderer = Renderer(ctx.settings)
        outgoing: list[Outgoing] = []
        keys: list[set[str]] = []
        for part, res in zip(parts, outs, strict=True):
            mine: set[str] = set()
            keys.append(mine)
            for it in part.plan(frames):
                if it.key:
                    mine.add(it.key)
                    was = status.get(it.key, "")
                    if was in DELIVERED:
                        res.already.append(it.key)
                        continue
                    if was == "intended" or it.key in held:
                        res.held.append(it.key)  # unsettled: never risk a second copy
                        continue
                    key, version, h = it.key, it.version, it.content_hash or fingerprint(it.facts)
                    correction, retry = it.correction, it.retry or was == "failed"
                else:
                    got = _versioned(it, ctx.campaign.id, index)
                    if got is None:
                        continue
                    key, version, h, correction, retry = got
                    mine.add(key)
                res.planned.append(it.planned or _planned_line(it, version, correction, retry))
                res.sent_keys[key] = it
                if not dry_run:
                    # a message it stands in for that already went (or may have) stays as is
                    also = {
                        k: row
                        for k, row in it.also.items()
                        if status.get(k, "") not in (*DELIVERED, "intended")
                    }
                    outgoing.append(
                        to_outgoing(
                            ctx,
                            renderer,
                            it,
                            key,
                            version,
                            h,
                            correction=correction,
                            retry=retry,
                            also=also,
                        )
                    )
        extra = dict(changes)
        for part in parts:
            extra.update({k: dict(v) for k, v in part.record.items()})
        if dry_run or (not outgoing and not extra):
            return outs
        assert transport is not None
        rep = deliver(
            log,
            transport,
            journal,
            outgoing,
            now=now,
            letters_dir=folder / "letters",
            settled=extra,
        )
    for i, (res, mine) in enumerate(zip(outs, keys, strict=True)):
        res.report = _split(rep, mine)
        res.attention.extend(res.report.attention)
        if i == 0:
            res.report.rows_written, res.report.store_calls = rep.rows_written, rep.store_calls
            res.api_calls += rep.store_calls
    return outs


__all__ = [
    "Item",
    "Part",
    "SendResult",
    "common_context",
    "form_link_item",
    "send_once",
    "send_together",
    "to_outgoing",
]
