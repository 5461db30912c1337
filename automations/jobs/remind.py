"""The reminders job: send the letters and reminders due today, each exactly once.

Hands the pure planner to :func:`automations.sending.send_once`, which reads the
staff workbook in one batch (people, applications, dates, form links, candidate key,
timetable and the sent-messages log) under the messages lock, settles anything an
earlier run left unconfirmed, and sends what the planner says is due. ``dry_run``
stops after planning: nothing is sent, written or journalled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..context import Context
from ..errors import ConfigError, Problem
from ..forms.links import links_not_emailed
from ..mail.render import Rendered, Renderer
from ..sending import Item, Part, SendResult, send_once
from ..transforms.reminders import (
    Planned,
    World,
    events_from_dates,
    form_links_map,
    letters_from_key,
    link_carried,
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


def to_item(p: Planned, also: dict[str, dict[str, Any]] | None = None) -> Item:
    """A planned reminder as the sender takes it: keyed and versioned by the planner
    (``also``: the log rows of a form link email it stands in for)."""
    return Item(
        rule=p.rule.id,
        recipient=p.recipient,
        occasion=p.occasion,
        template=p.rule.template,
        context=p.context,
        calendar=p.calendar,
        calendar_method=p.calendar_method,
        key=p.key,
        version=p.version,
        content_hash=p.content_hash,
        correction=p.correction,
        retry=p.retry,
        planned=summarise([p])[0],
        also=also or {},
    )


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


class Reminders:
    """The reminders' share of a send (:class:`automations.sending.Part`): planned from
    the batch read under the messages lock, after the log is settled."""

    def __init__(self, ctx: Context, *, dry_run: bool = False) -> None:
        self.ctx, self.dry_run = ctx, dry_run
        self.res = RemindResult(job="remind")
        check_templates(ctx, Renderer(ctx.settings))
        self.part = Part(self.plan, [t for t in TABS if t != "sent_messages"])

    def plan(self, frames: dict[str, pd.DataFrame]) -> list[Item]:
        ctx, res = self.ctx, self.res
        mine = [frames[t] for t in TABS]
        res.rows_read = sum(len(df) for df in mine)
        problems: list[Problem] = [p for df in mine for p in df.attrs.get("problems", [])]
        res.attention.extend(f"{p} (this cell was left out)" for p in problems)
        planned = plan_messages(make_world(ctx, frames, frames["sent_messages"]))
        res.attention.extend(planned.attention)
        res.waiting.extend(planned.waiting)
        links, cid = frames["form_links"], ctx.campaign.id
        keep = without_unopenable_links(ctx, planned.messages, res)
        return [to_item(p, link_carried(p, links, cid)) for p in keep]

    def finish(self, sent: SendResult) -> RemindResult:
        """The result of the send (with what the whole send did, when sent with others)."""
        res = self.res
        res.planned = sent.planned
        res.api_calls += sent.api_calls + int(getattr(self.ctx.seams.mail, "calls", 0))
        if self.dry_run:
            if sent.waiting:
                res.waiting.append(
                    f"{sent.waiting} message(s) from an earlier run are unconfirmed and "
                    "would be checked first."
                )
            res.detail = (
                f"dry run: {len(sent.planned)} message(s) would go out; nothing was sent or written"
            )
            return res
        res.attention.extend(sent.attention)
        if sent.report is not None:
            res.messages_sent = len(sent.report.sent)
            res.rows_written = sent.report.rows_written
        res.detail = sent.summary()
        for line in res.planned:
            log.info("%s", line)
        return res


def reminders_job(ctx: Context, dry_run: bool = False) -> RemindResult:
    """Send what is due today under the campaign's reminder rules; never anything twice.

    The rules sent by their own path (the rewards statement, the claim form link) go in
    the same send in :func:`automations.pipelines.remind_job`."""
    due = Reminders(ctx, dry_run=dry_run)
    return due.finish(send_once(ctx, due.part.plan, dry_run=dry_run, tabs=due.part.tabs))
