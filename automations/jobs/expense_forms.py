"""The expense claim form: send each person their link once, bring their claims in.

``send_links`` makes sure each person with lived experience who shortlists or
interviews has their own expense form (the forms provider ensures it by key, never a
second one), writes the link to ``form_links`` (stage ``expenses``) in one write, and
emails it once through the mail seam (a renewed link is sent again, once).

``collect`` reads each person's latest form and puts their expenses in the
``expense_claims`` tab as claims ``F-<person>-<n>`` (upserted by key: a rerun changes
nothing; a changed answer changes that claim; a cleared expense withdraws it), with a
receipt reference that staff typed kept. Expenses that cannot be read go to 'Needs
attention' with a plain reason and no personal data. One read, at most one write.

The nightly rewards run (collect the forms, then accrue the ledger) is
:func:`automations.pipelines.rewards_job`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ..config.models import ReminderRule
from ..context import Context
from ..errors import Problem, SheetProblems
from ..forms.base import FormSpec, get_provider
from ..forms.links import links_not_emailed
from ..sending import Item, Part, SendResult, form_link_item, send_once
from ..store import append_new, make_frame, upsert_rows
from ..transforms import expense_forms as ef
from ..transforms import rewards as R
from ..transforms.forms import local_time, person_format
from ..transforms.messages import person_recipient
from ..transforms.reminders import events_from_dates, rule_day
from ..transforms.values import is_true, same_values
from ..transforms.values import text as _text
from . import JobResult

CLAIMS, EXCEPTIONS, LINKS = "expense_claims", "exceptions", "form_links"


@dataclass
class ClaimFormsResult(JobResult):
    links: dict[str, str] = field(default_factory=dict)  # person id -> url (tests, not logs)
    planned: list[str] = field(default_factory=list)


def claimants(people: pd.DataFrame) -> list[str]:
    """People with lived experience who shortlist or interview (as for the estimate)."""
    return sorted(
        _text(r["person_id"])
        for _, r in people.iterrows()
        if _text(r.get("kind")) == "lived experience"
        and _text(r.get("person_id"))
        and (is_true(r.get("shortlists")) or is_true(r.get("interviews")))
    )


def specs(
    ctx: Context, person_ids: list[str], people: pd.DataFrame | None = None
) -> list[FormSpec]:
    """Each claimant's form, in their format (large print, easy read) when ``people``
    is given: the form server shows it that way."""
    policy = ctx.settings.org.rewards
    out = [ef.expense_spec(ctx.campaign, p, policy) for p in person_ids]
    if people is None:
        return out
    fmt = {_text(r.get("person_id")): person_format(r.get("formats")) for _, r in people.iterrows()}
    return [replace(s, format=fmt.get(s.person_id, "standard")) for s in out]


class ClaimLinks:
    """The claim form links' share of a send (:class:`automations.sending.Part`).

    Planned from the batch read under the messages lock (people, form links, and the
    dates when a reminder rule decides the day): makes sure each claimant has their own
    form, writes a new or renewed link to ``form_links`` (read afresh under the
    workbook's lock, so a link another job wrote meanwhile is kept), and hands one
    link email per claimant to the sender.
    """

    def __init__(
        self, ctx: Context, *, dry_run: bool = False, rules: Sequence[ReminderRule] = ()
    ) -> None:
        self.ctx, self.dry_run, self.rules = ctx, dry_run, list(rules)
        self.res = ClaimFormsResult(job="expense forms")
        self.due = not self.rules  # by hand: always; by rule: once a rule's day has come
        self.wanted: list[FormSpec] = []
        tabs = ["people", LINKS, *(["dates"] if self.rules else [])]
        self.part = Part(self.plan, tabs)

    def _rule_due(self, dates: pd.DataFrame) -> bool:
        events = events_from_dates(dates, self.ctx.campaign)
        for rule in self.rules:
            day = rule_day(events, self.ctx.campaign, rule.event, first=bool(rule.days_before))
            if day is None:
                continue
            due = day - dt.timedelta(days=rule.days_before) + dt.timedelta(days=rule.days_after)
            if self.ctx.today() >= due:
                return True
        return False

    def plan(self, frames: dict[str, pd.DataFrame]) -> list[Item]:
        ctx, res = self.ctx, self.res
        if self.rules:
            self.due = self._rule_due(frames["dates"])
        if not self.due:
            return []
        people = frames["people"]
        who = claimants(people)
        if not who:
            res.detail = "no one to send an expense form to yet"
            return []
        self.wanted = wanted = specs(ctx, who, people)
        if self.dry_run:
            res.planned = [f"expense-form -> {p}" for p in who]
            res.detail = f"dry run: {len(who)} expense form(s); nothing was made or sent"
            return []
        tz = ctx.settings.org.organisation.timezone
        handles = get_provider(ctx).ensure_forms(wanted)
        rows = []
        for s in wanted:
            h = handles[s.key]
            rows.append(
                {
                    "person_id": s.person_id,
                    "stage": ef.STAGE,
                    "form_id": h.form_id,
                    "url": h.url,
                    "created_at": local_time(h.created_at, tz) if h.created_at else None,
                    "expires_at": local_time(h.expires_at, tz) if h.expires_at else None,
                }
            )
            res.links[s.person_id] = h.url
        self._write_links(frames[LINKS], rows)
        note = links_not_emailed(ctx.settings)
        if note:  # the links are written above; nobody is emailed
            res.attention.append(note)
            return []
        by_id = {_text(r["person_id"]): r.to_dict() for _, r in people.iterrows()}
        items = []
        for s in wanted:
            h = handles[s.key]
            expires = local_time(h.expires_at, tz) if h.expires_at else None
            recipient = person_recipient(by_id[s.person_id])
            items.append(
                form_link_item(
                    "expense-form", recipient, ef.STAGE, "rewards/claim_form", h.url, expires
                )
            )
        return items

    def _write_links(self, seen: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
        """New or renewed links in one write; nothing (and no read) when none changed."""
        staff = self.ctx.stores.staff
        spec_fl = staff.tab(LINKS)

        def changed(current: pd.DataFrame) -> pd.DataFrame | None:
            merged = upsert_rows(spec_fl, current, make_frame(spec_fl, rows))
            same = upsert_rows(spec_fl, current, current.iloc[0:0])
            unchanged = merged.reset_index(drop=True).equals(same.reset_index(drop=True))
            return None if unchanged else merged

        if changed(seen) is None:
            return
        with staff.locked():
            merged = changed(staff.read_one(LINKS, refresh=True, errors="collect"))
            self.res.api_calls += 1
            if merged is not None:
                self.res.rows_written += staff.write({LINKS: merged})
                self.res.api_calls += 1

    def finish(self, sent: SendResult) -> ClaimFormsResult | None:
        """The result of the send; None when a reminder rule did not make it due."""
        if not self.due:
            return None
        res = self.res
        res.api_calls += sent.api_calls
        res.attention.extend(sent.attention)
        if self.dry_run or not self.wanted:
            return res
        res.planned = sent.planned
        if sent.report is not None:
            res.messages_sent = len(sent.report.sent)
            res.rows_written += sent.report.rows_written
        if links_not_emailed(self.ctx.settings):
            res.detail = f"{len(self.wanted)} expense form(s) ready, no links emailed"
        else:
            res.detail = (
                f"{len(self.wanted)} expense form(s) ready, {res.messages_sent} link(s) sent"
            )
        return res


def send_links(ctx: Context, *, dry_run: bool = False) -> ClaimFormsResult:
    """Make sure each claimant has their own expense form; send each new link once."""
    due = ClaimLinks(ctx, dry_run=dry_run)
    out = due.finish(send_once(ctx, due.part.plan, dry_run=dry_run, tabs=due.part.tabs))
    assert out is not None
    return out


def claim_links_rule(ctx: Context, *, dry_run: bool = False) -> ClaimLinks | None:
    """The reminder rule for the claim form (run by ``corecruit remind``), or None.

    A rule with ``template = "rewards/claim_form"`` is due ``days_after`` days after (or
    ``days_before`` days before) its event; from then on each claimant without a link gets
    theirs, once (the sender is exactly once).
    """
    rules = [r for r in ctx.campaign.reminders if r.template == "rewards/claim_form"]
    return ClaimLinks(ctx, dry_run=dry_run, rules=rules) if rules else None


def links_due(ctx: Context, *, dry_run: bool = False) -> ClaimFormsResult | None:
    """The claim form's reminder rule on its own (the remind run sends it with the rest)."""
    due = claim_links_rule(ctx, dry_run=dry_run)
    if due is None:
        return None
    return due.finish(send_once(ctx, due.part.plan, dry_run=dry_run, tabs=due.part.tabs))


def collect(ctx: Context) -> ClaimFormsResult:
    """Bring each person's latest expense form into 'Expense claims'; once, by claim id."""
    res = ClaimFormsResult(job="expense forms collect")
    staff = ctx.stores.staff
    tz = ctx.settings.org.organisation.timezone
    with staff.locked():
        frames = staff.read(["people", LINKS, CLAIMS, EXCEPTIONS], errors="collect")
        res.api_calls += 1
        problems: list[Problem] = []
        for t in (CLAIMS, EXCEPTIONS):  # tabs written back must read cleanly
            problems.extend(frames[t].attrs.get("problems", []) or [])
        if problems:
            raise SheetProblems(problems)
        fl = frames[LINKS]
        who = sorted(
            {_text(r["person_id"]) for _, r in fl.iterrows() if _text(r["stage"]) == ef.STAGE}
        )
        if not who:
            res.detail = "no expense forms sent yet"
            return res
        responses = get_provider(ctx).fetch_responses(specs(ctx, who))
        res.rows_read = len(responses)
        got = ef.claims_from_responses(
            responses,
            ctx.settings.org.rewards,
            ctx.today(),
            lambda t: local_time(t, tz),
        )
        spec_c = staff.tab(CLAIMS)
        claims = frames[CLAIMS]
        existing = {_text(r["claim_id"]): r for _, r in claims.iterrows()}
        changed: list[dict[str, Any]] = []
        for row in got.rows:
            old = existing.get(row["claim_id"])
            if old is not None and not _text(row["receipt_reference"]):
                row["receipt_reference"] = _text(old.get("receipt_reference"))  # staff's
            if old is not None and same_values(old, row, row):
                continue
            changed.append(row)
        gone = [c for c in got.withdrawn if c in existing]
        writes: dict[str, pd.DataFrame] = {}
        if changed or gone:
            new = upsert_rows(spec_c, claims, make_frame(spec_c, changed))
            if gone:
                new = new[~new["claim_id"].astype(str).isin(gone)]
            writes[CLAIMS] = new
        spec_x = staff.tab(EXCEPTIONS)
        exc, added = append_new(
            spec_x,
            frames[EXCEPTIONS],
            make_frame(spec_x, R.issue_records(got.issues, ctx.now(), job="expense forms")),
        )
        if added:
            writes[EXCEPTIONS] = exc
        if writes:
            staff.write(writes)
            res.api_calls += 1
        get_provider(ctx).mark_collected(responses)  # only once written
    res.rows_written = len(changed) + len(gone) + added
    parts = [f"{len(responses)} form(s) seen", f"{len(changed)} claim(s) new or changed"]
    if gone:
        parts.append(f"{len(gone)} withdrawn by the person")
    if added:
        parts.append(f"{added} expense(s) could not be read: see 'Needs attention'")
        res.attention.append(
            f"{added} expense(s) on claim forms could not be read "
            f"({', '.join(sorted({i.person_id for i in got.issues}))}): see 'Needs attention'."
        )
    res.detail = "; ".join(parts) + "."
    return res
