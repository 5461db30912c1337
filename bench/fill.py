"""Fill in every pushed score form, as panel members would (for benchmarks and the harness).

Local forms: stored through the form server's own inbox (``Inbox.submit``, what the
"Send" button calls). Google forms: submitted on the emulator as a respondent.
Scores are a deterministic function of person, candidate and question, so two
runs fill the same answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from automations.context import Context
from automations.forms.base import FormSpec, ScaleItem, get_provider


def score_for(spec: FormSpec, item: ScaleItem) -> int:
    h = hashlib.sha256(f"{spec.person_id}|{item.item_id}".encode()).digest()[0]
    return item.min + h % (item.max - item.min + 1)


def _specs(ctx: Context) -> list[FormSpec]:
    from automations.jobs.forms import current_specs

    staff = ctx.stores.staff
    staff.forget()
    frames = staff.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    return current_specs(ctx, frames)


def fill_local(ctx: Context, when: dt.datetime | None = None) -> int:
    """Submit every pushed local form once; returns how many were sent."""
    from automations.forms.local import LocalFormsProvider

    provider = get_provider(ctx)
    assert isinstance(provider, LocalFormsProvider)
    stored = provider.inbox.forms()
    now = when or dt.datetime.now(dt.UTC)
    n = 0
    for spec in _specs(ctx):
        form = stored.get(spec.key)
        if form is None or provider.inbox.latest_submission(spec.key) is not None:
            continue
        answers = {i.item_id: str(score_for(spec, i)) for i in form.spec.scale_items()}
        provider.inbox.submit(
            form_key=spec.key,
            person_id=spec.person_id,
            token_id=form.token_id,
            answers=answers,
            nonce=f"bench-{spec.key}",
            now=now,
        )
        n += 1
    return n


def fill_google(ctx: Context, emu: Any, when: dt.datetime | None = None) -> int:
    """Submit every pushed Google form once on the emulator; returns how many were sent."""
    from automations.forms.google import FormState
    from tests.google_emulator.forms import forms, submit_response

    state = FormState(ctx.settings.workspace / ctx.campaign.id).forms
    n = 0
    for spec in _specs(ctx):
        entry = state.get(spec.key)
        if entry is None:
            continue
        fid = entry["form_id"]
        if forms(emu)[fid].get("responses"):
            continue
        qid = {item_id: q for q, item_id in entry["questions"].items()}
        answers = {qid[i.item_id]: score_for(spec, i) for i in spec.scale_items()}
        submit_response(emu, fid, answers, when=when or dt.datetime.now(dt.UTC))
        n += 1
    return n
