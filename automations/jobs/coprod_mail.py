"""Sending the co-production jobs' messages exactly once, through the mail seam.

Every message goes through :func:`automations.mail.delivery.deliver` (intention
logged before sending, outcome after, journal on disk), after settling anything an
earlier run left unconfirmed. The jobs share the reminders' lock, because settling
looks at every unconfirmed row of the sent-messages log, whichever job wrote it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any

from ..context import Context
from ..mail import get_transport
from ..mail.delivery import DeliveryReport, Journal, Outgoing, apply_changes, deliver, settle
from ..mail.render import Renderer, build_email, message_id
from ..transforms.coprod_mail import fingerprint, log_index, next_version
from ..transforms.reminders import Recipient, base_key, long_date, recipient_context
from .remind import job_lock


@dataclass
class Item:
    """One message a job wants to send (once)."""

    rule: str
    recipient: Recipient
    occasion: str
    template: str
    context: dict[str, Any]
    facts: dict[str, Any]
    attachments: list[tuple[str, bytes, str, str]] = field(default_factory=list)
    # (filename, data, maintype, subtype)


@dataclass
class SendResult:
    report: DeliveryReport | None = None
    planned: list[str] = field(default_factory=list)  # ids and roles only
    attention: list[str] = field(default_factory=list)

    def add_to(self, res: Any) -> None:
        """Count what was sent into a job's result (planned, attention, sent, rows)."""
        res.planned = self.planned
        res.attention.extend(self.attention)
        if self.report is not None:
            res.messages_sent = len(self.report.sent)
            res.rows_written += self.report.rows_written


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
    return recipient_context(ctx.campaign, ctx.settings.org, r) | {
        "correction": False,
        "reminder": False,
    }


def send_once(ctx: Context, items: Sequence[Item], *, dry_run: bool = False) -> SendResult:
    """Send each item unless it already went (a corrected version if its facts changed)."""
    out = SendResult()
    renderer = Renderer(ctx.settings)
    staff = ctx.stores.staff
    folder = ctx.settings.workspace / ctx.campaign.id
    now = ctx.now()
    domain = ctx.settings.org.mail.from_address.rpartition("@")[2] or "corecruit.local"
    with job_lock(ctx, "remind"):
        log_df = staff.read_one("sent_messages", refresh=True, errors="collect")
        journal = Journal(folder / "mail-journal.jsonl")
        changes: dict[str, dict[str, Any]] = {}
        transport = None
        if not dry_run:
            transport = get_transport(ctx)
            changes, _held, notes = settle(log_df, transport, journal, now)
            out.attention.extend(notes)
            log_df = apply_changes(log_df, changes)
        index = log_index(log_df)
        outgoing: list[Outgoing] = []
        for it in items:
            base = base_key(it.rule, it.recipient.id, ctx.campaign.id, it.occasion)
            h = fingerprint(it.facts)
            s = next_version(index.get(base, []), h)
            if s is None:
                continue
            key = base if s.version == 1 else f"{base}|v{s.version}"
            r = it.recipient
            out.planned.append(
                f"{it.rule} -> {r.label}, v{s.version}"
                + (" [corrected]" if s.correction else " [retry]" if s.retry else "")
            )
            if dry_run:
                continue
            values = {**common_context(ctx, r), **it.context, "correction": s.correction}
            rendered = renderer.render(it.template, values)
            common: dict[str, Any] = dict(
                key=key,
                rule=it.rule,
                person_id=r.id,
                role=r.role,
                occasion=it.occasion,
                version=s.version,
                content_hash=h,
                retry=s.retry,
            )
            if r.channel != "email":
                outgoing.append(
                    Outgoing(
                        **common,
                        message=None,
                        reason=r.reason,
                        letter_text=f"Subject: {rendered.subject}\n\n{rendered.text}",
                        letter_html=rendered.html,
                    )
                )
                continue
            msg = build_email(
                ctx.settings,
                rendered,
                to=formataddr(("", r.email)),
                cc=r.copy_to,
                msgid=message_id(key, domain),
                now=now,
                key=key,
            )
            for name, data, maintype, subtype in it.attachments:
                msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
            outgoing.append(Outgoing(**common, message=msg))
        if dry_run or (not outgoing and not changes):
            return out
        assert transport is not None
        out.report = deliver(
            staff,
            transport,
            journal,
            outgoing,
            now=now,
            letters_dir=folder / "letters",
            settled=changes,
        )
        out.attention.extend(out.report.attention)
    return out
