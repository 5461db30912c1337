"""The reminders job: send the letters and reminders due today, each exactly once.

Reads the staff workbook in one batch (people, applications, dates, form links,
candidate key, timetable, the sent-messages log), settles anything an earlier run
left unconfirmed, plans what is due with the pure planner, renders it, and hands
it to the exactly-once delivery. ``dry_run`` stops after planning: nothing is
sent, written or journalled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from ..context import Context
from ..errors import ConfigError, JobError, Problem
from ..files import private_dir
from ..forms.links import links_not_emailed
from ..mail import get_transport
from ..mail.delivery import Journal, Outgoing, apply_changes, deliver, settle
from ..mail.render import Rendered, Renderer, build_email, message_id
from ..transforms.reminders import (
    Planned,
    World,
    events_from_dates,
    form_links_map,
    letters_from_key,
    plan_messages,
    summarise,
)
from ..transforms.timetable import blocks_from_frame
from . import JobResult

log = logging.getLogger("corecruit.remind")
TABS = [
    "people",
    "applications",
    "dates",
    "form_links",
    "candidate_key",
    "timetable",
    "sent_messages",
]


@dataclass
class RemindResult(JobResult):
    planned: list[str] = field(default_factory=list)  # one line per message (ids, not names)
    waiting: list[str] = field(default_factory=list)


@contextlib.contextmanager
def job_lock(ctx: Context, name: str) -> Iterator[None]:
    """One run of a job per campaign at a time (two reminder runs could both send)."""
    folder = ctx.settings.workspace / ctx.campaign.id
    private_dir(folder)
    lock = FileLock(
        str(folder / f".{name}.lock"),
        timeout=ctx.settings.org.storage.lock_timeout_seconds,
        mode=0o600,
    )
    try:
        with lock:
            yield
    except Timeout:
        raise JobError(
            f"another '{name}' run for this campaign is still going; nothing was "
            "done. Try again in a few minutes."
        ) from None


def check_templates(ctx: Context, renderer: Renderer) -> None:
    """Every rule names a template that exists (a typo is a config problem, said once)."""
    file = str(ctx.settings.campaign_files.get(ctx.campaign.id, "campaign"))
    for i, rule in enumerate(ctx.campaign.reminders):
        if not renderer.exists(f"{rule.template}.txt.j2"):
            raise ConfigError(
                file,
                f"reminders[{i}].template",
                f"there is no email template called '{rule.template}' "
                f"(looked in {renderer.team_folder} and corecruit's own)",
            )


def to_outgoing(ctx: Context, renderer: Renderer, p: Planned) -> Outgoing:
    rendered = renderer.render(p.rule.template, p.context)
    r = p.recipient
    common: dict[str, Any] = dict(
        key=p.key,
        rule=p.rule.id,
        person_id=r.id,
        role=r.role,
        occasion=p.occasion,
        version=p.version,
        content_hash=p.content_hash,
        retry=p.retry,
    )
    if r.channel != "email":
        return Outgoing(
            **common,
            message=None,
            reason=r.reason,
            letter_text=f"Subject: {rendered.subject}\n\n{rendered.text}",
            letter_html=rendered.html,
        )
    domain = ctx.settings.org.mail.from_address.rpartition("@")[2] or "corecruit.local"
    msg = build_email(
        ctx.settings,
        rendered,
        to=formataddr(("", r.email)),
        cc=r.copy_to,
        msgid=message_id(p.key, domain),
        now=ctx.now(),
        events=p.calendar,
        method=p.calendar_method,
        key=p.key,
    )
    return Outgoing(**common, message=msg)


def make_world(ctx: Context, frames: dict[str, pd.DataFrame], log_df: pd.DataFrame) -> World:
    """What the planner looks at, from the staff workbook's tabs."""
    return World(
        campaign=ctx.campaign,
        org=ctx.settings.org,
        now=ctx.now(),
        people=frames["people"],
        applications=frames["applications"],
        letters=letters_from_key(frames["candidate_key"]),
        events=events_from_dates(frames["dates"], ctx.campaign),
        timetable=blocks_from_frame(frames["timetable"]),
        form_links=form_links_map(frames["form_links"]),
        log=log_df,
    )


def preview(ctx: Context) -> list[tuple[Planned, Rendered]]:
    """Every message due now, rendered, without sending or writing anything."""
    renderer = Renderer(ctx.settings)
    frames = ctx.stores.staff.read(TABS, errors="collect")
    plan = plan_messages(make_world(ctx, frames, frames["sent_messages"]))
    return [(p, renderer.render(p.rule.template, p.context)) for p in plan.messages]


def without_unopenable_links(
    ctx: Context, messages: list[Planned], res: RemindResult
) -> list[Planned]:
    """Emails carrying a form link nobody could open wait, unlogged: they go out once,
    when the links can be opened (as ``forms push`` does with its own links)."""
    note = links_not_emailed(ctx.settings)
    if not note:
        return messages
    keep = [
        m
        for m in messages
        if m.recipient.channel != "email"
        or not (m.context.get("form_link") or m.context.get("feedback_link"))
    ]
    if len(keep) < len(messages):
        res.attention.append(f"{note} {len(messages) - len(keep)} message(s) with a link wait.")
    return keep


def remind_job(ctx: Context, dry_run: bool = False) -> RemindResult:
    """Send what is due today under the campaign's reminder rules; never anything twice."""
    res = RemindResult(job="remind")
    renderer = Renderer(ctx.settings)
    check_templates(ctx, renderer)
    staff = ctx.stores.staff
    folder = ctx.settings.workspace / ctx.campaign.id
    with job_lock(ctx, "remind"):
        frames = staff.read(TABS, errors="collect")
        res.api_calls += 1
        res.rows_read = sum(len(df) for df in frames.values())
        problems: list[Problem] = [
            p for df in frames.values() for p in df.attrs.get("problems", [])
        ]
        res.attention.extend(f"{p} (this cell was left out)" for p in problems)
        now = ctx.now()
        log_df = frames["sent_messages"]
        journal = Journal(folder / "mail-journal.jsonl")
        changes: dict[str, dict[str, object]] = {}
        if dry_run:
            n = int((log_df["status"] == "intended").sum()) if len(log_df) else 0
            if n:
                res.waiting.append(
                    f"{n} message(s) from an earlier run are unconfirmed and "
                    "would be checked first."
                )
            transport = None
        else:
            transport = get_transport(ctx)
            changes, _held, notes = settle(log_df, transport, journal, now)
            log_df = apply_changes(log_df, changes)
            res.attention.extend(notes)
        plan = plan_messages(make_world(ctx, frames, log_df))
        res.attention.extend(plan.attention)
        res.waiting.extend(plan.waiting)
        messages = without_unopenable_links(ctx, plan.messages, res)
        res.planned = summarise(messages)
        outgoing = [to_outgoing(ctx, renderer, p) for p in messages]
        if dry_run:
            res.detail = (
                f"dry run: {len(outgoing)} message(s) would go out; nothing was sent or written"
            )
            _rewards_statements(ctx, res, dry_run)
            _claim_form_links(ctx, res, dry_run)  # a dry run takes no lock
            return res
        assert transport is not None
        rep = deliver(
            staff,
            transport,
            journal,
            outgoing,
            now=now,
            letters_dir=folder / "letters",
            settled=changes,
        )
        res.messages_sent = len(rep.sent)
        res.rows_written = rep.rows_written
        res.api_calls += rep.store_calls + int(getattr(transport, "calls", 0))
        res.attention.extend(rep.attention)
        parts = [f"{len(rep.sent)} sent"]
        if rep.other_way:
            parts.append(f"{len(rep.other_way)} for staff to pass on another way")
        if rep.failed:
            parts.append(f"{len(rep.failed)} failed (will be tried again)")
        if rep.held:
            parts.append(f"{len(rep.held)} to check")
        settled = sum(1 for c in changes.values() if "status" in c)
        if settled:
            parts.append(f"{settled} earlier send(s) settled")
        res.detail = ", ".join(parts)
        # Under the same lock: settling (above) looks at every unconfirmed row of the log.
        _rewards_statements(ctx, res, dry_run)
        for line in res.planned:
            log.info("%s", line)
    _claim_form_links(ctx, res, dry_run)  # takes the reminders' lock itself
    return res


def _claim_form_links(ctx: Context, res: RemindResult, dry_run: bool) -> None:
    """The expense claim form's link, when its rule is due: its own path, same log."""
    from .expense_forms import links_due

    got = links_due(ctx, dry_run=dry_run)
    if got is None:
        return
    res.planned.extend(got.planned)
    res.messages_sent += got.messages_sent
    res.api_calls += got.api_calls
    res.attention.extend(got.attention)
    if not dry_run and got.messages_sent:
        res.detail += f"; expense forms: {got.detail}"


def _rewards_statements(ctx: Context, res: RemindResult, dry_run: bool) -> None:
    """The statement after the campaign: its own path (built from the ledger), same log."""
    from .rewards import statements_due

    due = statements_due(ctx, dry_run=dry_run)
    if due is None:
        return
    res.planned.extend(due.planned)
    res.messages_sent += due.messages_sent
    res.api_calls += due.api_calls
    res.rows_read += due.rows_read
    res.attention.extend(due.attention)
    if not dry_run and (due.messages_sent or due.attention):
        res.detail += f"; rewards statements: {due.detail}"
