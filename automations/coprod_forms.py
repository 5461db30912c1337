"""The co-production forms: make each person's own form, send the link once, collect answers.

Built on the score forms engine (``automations.forms``): the provider *ensures*
forms by key (never a second form), links go to the ``form_links`` tab (stage
``interest``, ``questions`` or ``feedback``) in one write, and each link is emailed
exactly once through the mail seam (a renewed link is sent again, once). Collecting
appends rows keyed by response id, so a rerun adds nothing it already added; the
answers themselves are safe in the form backend until then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .context import Context
from .forms.base import FormHandle, FormSpec, Response, get_provider
from .forms.links import links_not_emailed
from .jobs import JobResult
from .sending import form_link_item, send_once
from .store import append_new, make_frame, upsert_rows
from .transforms import coprod_forms as cf
from .transforms import questions as tq
from .transforms.forms import local_time, person_format
from .transforms.messages import person_recipient
from .transforms.reminders import reward_lines
from .transforms.values import text as _text

FEEDBACK_ROLES = ("chair", "panel member", "supporting worker", "advisor")


@dataclass
class FormsResult(JobResult):
    links: dict[str, str] = field(default_factory=dict)  # person id -> url (for tests, not logs)
    planned: list[str] = field(default_factory=list)


def _tz(ctx: Context) -> str:
    return ctx.settings.org.organisation.timezone


def _local(ctx: Context, when: dt.datetime | None) -> dt.datetime | None:
    return local_time(when, _tz(ctx)) if when is not None else None


def interest_people(people: pd.DataFrame) -> list[str]:
    return sorted(
        _text(r["person_id"])
        for _, r in people.iterrows()
        if _text(r.get("kind")) == "lived experience" and _text(r.get("person_id"))
    )


def feedback_people(people: pd.DataFrame) -> list[str]:
    return sorted(
        _text(r["person_id"])
        for _, r in people.iterrows()
        if _text(r.get("role")) in FEEDBACK_ROLES and _text(r.get("person_id"))
    )


def specs_for(ctx: Context, kind: str, frames: dict[str, pd.DataFrame]) -> list[FormSpec]:
    """Everyone's form of ``kind``, from what the staff workbook says now, each in the
    person's format (large print or easy read) from the people tab."""
    fmt = {
        _text(r.get("person_id")): person_format(r.get("formats"))
        for _, r in frames["people"].iterrows()
    }
    specs = _specs_for(ctx, kind, frames)
    return [replace(s, format=fmt.get(s.person_id, "standard")) for s in specs]


def _specs_for(ctx: Context, kind: str, frames: dict[str, pd.DataFrame]) -> list[FormSpec]:
    camp = ctx.campaign
    people = frames["people"]
    if kind == "interest":
        pay, _exp = reward_lines(ctx.settings.org)
        dates = cf.key_dates_text(frames["dates"])
        return [cf.interest_spec(camp, p, dates, pay) for p in interest_people(people)]
    if kind == "questions":
        drafts = [r.to_dict() for _, r in frames[tq.DRAFTS].iterrows()]
        if not drafts:
            return []
        return [cf.questions_spec(camp, p, drafts) for p in tq.advisors(people)]
    return [cf.feedback_spec(camp, p) for p in feedback_people(people)]


TABS = ["people", "dates", tq.DRAFTS, "form_links"]


def push_forms(ctx: Context, kind: str, *, send: bool = True) -> FormsResult:
    """Make sure each person has their own form of ``kind``; send new links, once."""
    res = FormsResult(job=f"{kind} forms")
    staff = ctx.stores.staff
    with staff.locked():
        frames = staff.read(TABS, errors="collect")
        res.api_calls += 1
        specs = specs_for(ctx, kind, frames)
        if not specs:
            res.detail = f"no one to send a {kind} form to yet"
            return res
        handles = get_provider(ctx).ensure_forms(specs)
        rows = []
        for spec in specs:
            h: FormHandle = handles[spec.key]
            rows.append(
                {
                    "person_id": spec.person_id,
                    "stage": kind,
                    "form_id": h.form_id,
                    "url": h.url,
                    "created_at": _local(ctx, h.created_at),
                    "expires_at": _local(ctx, h.expires_at),
                }
            )
            res.links[spec.person_id] = h.url
        spec_fl = staff.tab("form_links")
        current = frames["form_links"]
        merged = upsert_rows(spec_fl, current, make_frame(spec_fl, rows))
        if not merged.reset_index(drop=True).equals(
            upsert_rows(spec_fl, current, current.iloc[0:0]).reset_index(drop=True)
        ):
            res.rows_written = staff.write({"form_links": merged})
            res.api_calls += 1
    if send and (note := links_not_emailed(ctx.settings)):
        res.attention.append(note)  # the links are written above; nobody is emailed
        send = False
    if send:
        by_id = {_text(r["person_id"]): r.to_dict() for _, r in frames["people"].iterrows()}
        items = []
        for spec in specs:
            h = handles[spec.key]
            items.append(
                form_link_item(
                    f"{kind}-form",
                    person_recipient(by_id[spec.person_id]),
                    kind,
                    f"coprod/{kind}_form",
                    h.url,
                    _local(ctx, h.expires_at),
                )
            )
        send_once(ctx, items).add_to(res)
    res.detail = f"{len(specs)} {kind} form(s) ready, {res.messages_sent} link(s) sent"
    return res


def fetch(ctx: Context, kind: str, frames: dict[str, pd.DataFrame]) -> list[Response]:
    """Answers to the ``kind`` forms that were pushed (have a row in ``form_links``).

    A form never pushed has no link anyone was sent, so it has no answers: asking for
    it would cost a Drive search per person on every scheduled run, for nothing.
    """
    links = frames["form_links"]
    pushed = {(_text(r.get("person_id")), _text(r.get("stage"))) for _, r in links.iterrows()}
    specs = [s for s in specs_for(ctx, kind, frames) if (s.person_id, s.stage) in pushed]
    return get_provider(ctx).fetch_responses(specs) if specs else []


def _append(ctx: Context, tab: str, rows: Sequence[dict[str, Any]]) -> int:
    if not rows:
        return 0
    staff = ctx.stores.staff
    return staff.append(tab, make_frame(staff.tab(tab), rows))


def collect_forms(ctx: Context, kind: str) -> FormsResult:
    """Bring answers from the ``kind`` forms into the staff workbook (new ones only)."""
    res = FormsResult(job=f"{kind} forms collect")
    staff = ctx.stores.staff
    with staff.locked():
        frames = staff.read(TABS, errors="collect")
        res.api_calls += 1
        responses = fetch(ctx, kind, frames)
        res.rows_read = len(responses)
        tz = _tz(ctx)
        if kind == "interest":
            added = _append(ctx, "expressions_of_interest", cf.interest_rows(responses, tz))
        elif kind == "questions":
            ids = [_text(x) for x in frames[tq.DRAFTS]["draft_id"]]
            added = _append(ctx, tq.VIEWS, cf.view_rows(responses, ids, tz))
        else:
            kinds = {
                _text(r["person_id"]): _text(r.get("kind")) for _, r in frames["people"].iterrows()
            }
            added = _append(ctx, "feedback", cf.feedback_rows(responses, kinds, tz))
        res.rows_written = added
        res.api_calls += 1 if added else 0
        get_provider(ctx).mark_collected(responses)  # only once written
    res.detail = f"{len(responses)} response(s) seen, {added} new row(s)"
    return res


__all__ = ["FormsResult", "append_new", "collect_forms", "push_forms", "specs_for"]
