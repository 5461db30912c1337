"""The score-form jobs: ``push`` (make each person's forms and send their own link)
and ``collect`` (bring new responses into the raw scores, or into exceptions).

Both are safe to kill at any line and run again:

- ``push`` asks the provider to *ensure* forms by key (never a second form), writes
  every link to ``form_links`` in one batch, then emails each link through the
  exactly-once delivery (a message key per person, stage and link), so nobody gets
  the same link twice.
- ``collect`` appends ``raw_scores`` rows keyed (response, candidate, question) and
  ``exceptions`` rows keyed by a stable id, both in one write, so a rerun adds
  nothing it already added. Submissions themselves are safe before ``collect``
  runs: the local inbox (or Google Forms) keeps them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ..context import Context
from ..forms.base import FormHandle, FormPart, FormSpec, get_provider
from ..forms.links import base_url, links_not_emailed
from ..locks import job_lock
from ..mail.render import Renderer
from ..sending import Item, SendResult, common_context, send_once
from ..store import make_frame, upsert_rows
from ..transforms.form_values import letter_sort_key, letters_words
from ..transforms.forms import (
    SCORE_COLUMNS,
    Candidate,
    Scorer,
    build_specs,
    candidate_label,
    interview_letters,
    interview_spec,
    local_time,
    panel_candidates,
    shortlisting_spec,
    validate_responses,
)
from ..transforms.late import late_letters
from ..transforms.messages import form_link_key, person_recipient
from ..transforms.messages import scores_on_paper as on_paper
from ..transforms.reminders import events_from_dates, opening_reminder_due
from ..transforms.review import FORM_LINK_RULE, NEXT_STEP, ReviewState, released, review_state
from ..transforms.short_codes import address_words, spoken
from ..transforms.values import is_true as _true
from ..transforms.values import text as _text
from . import JobResult

log = logging.getLogger("corecruit.forms")
RULE = FORM_LINK_RULE  # one name, kept with the review rules that read it
NEW_RULE = "new-candidate"  # a late application added to a form already sent
STAFF_TABS = ["people", "applications", "candidate_key", "timetable", "form_links"]
STAGE_WORDS = {"shortlisting": "shortlisting", "interview": "interview scores"}
DOING_WORDS = {"shortlisting": "shortlisting", "interview": "interviewing"}
OVERLAP = dt.timedelta(days=1)  # collect looks back this far past the last score it has


def _review(ctx: Context, frames: dict[str, pd.DataFrame]) -> ReviewState | None:
    """The review gate, when the redaction report was read with the other tabs."""
    if "redaction_report" not in frames:
        return None
    return review_state(
        frames["redaction_report"],
        frames["candidate_key"],
        required=ctx.campaign.campaign.require_review,
    )


def _candidates(
    ctx: Context, frames: dict[str, pd.DataFrame], collecting: bool = False
) -> list[Candidate]:
    """Anonymised candidates from the panel workbook, less any retired letter and any
    application waiting for a check of its redaction report (when that was read).

    ``collecting``: scores already given for an application that is held now (its
    findings changed after the panel had it) are still scores on checked text, so
    ``collect`` keeps its letter (with no text) rather than filing them as exceptions."""
    panel_apps = ctx.stores.panel.read_one("applications", errors="collect")
    cands = panel_candidates(ctx.campaign, panel_apps)
    key = frames["candidate_key"]
    retired = {
        _text(r.get("candidate_letter")) for _, r in key.iterrows() if _true(r.get("retired"))
    }
    review = _review(ctx, frames)
    held = review.held_letters if review is not None else set()
    if collecting:
        have = {c.letter for c in cands}
        cands += [Candidate(x) for x in sorted(held - have)]
        return [c for c in cands if c.letter not in retired]
    if review is not None and not released(
        review, frames["form_links"], frames.get("sent_messages"), frames.get("raw_scores")
    ):
        return []  # the panel starts on the whole set, once every application is checked
    return [c for c in cands if c.letter not in retired and c.letter not in held]


def current_specs(
    ctx: Context, frames: dict[str, pd.DataFrame], collecting: bool = False
) -> list[FormSpec]:
    return build_specs(
        ctx.campaign,
        frames["people"],
        _candidates(ctx, frames, collecting),
        interview_letters(frames["applications"], frames["candidate_key"], frames["timetable"]),
    )


def _aware(ctx: Context, naive: dt.datetime) -> dt.datetime:
    return naive.replace(tzinfo=ZoneInfo(ctx.settings.org.organisation.timezone))


def _local(ctx: Context, when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    return local_time(when, ctx.settings.org.organisation.timezone)


# ------------------------------------------------------------------ push


def scoring_over(ctx: Context, dates: pd.DataFrame) -> dt.datetime | None:
    """When the decision meeting began, once it has (dates tab first, then config).

    The panels bring every score to that meeting, so from then on there is nothing
    to score: push makes no new forms, renews no expiring link and emails no link.
    """
    ev = events_from_dates(dates, ctx.campaign).get("decision meeting")
    when = ev.starts if ev is not None else ctx.campaign.dates.decision_meeting
    return when if when is not None and ctx.now() >= when else None


def shortlisting_opens(ctx: Context, dates: pd.DataFrame) -> dt.date:
    """The day shortlisting opens (dates tab first, then config): links go out from then."""
    ev = events_from_dates(dates, ctx.campaign).get("shortlisting opens")
    return ev.starts.date() if ev is not None else ctx.campaign.dates.shortlisting_opens


def scores_on_paper(person: pd.Series) -> bool:
    """Whether this People row scores on paper (see :func:`transforms.messages.scores_on_paper`)."""
    return on_paper(person_recipient(person.to_dict()))


def _link_key(
    ctx: Context, spec: FormSpec, handle: FormHandle, logged: set[str]
) -> tuple[str, tuple[FormPart, ...]]:
    """The key of a person's link email, and the parts added since it went.

    The key names the link (a renewed link is a new form id: it goes again, once) and,
    for a form split into parts, how many parts it listed. A part added later (a late
    application with no room in the last part) does not send every link again: the key
    already in the Sent messages log is kept, and the parts after the ones it listed
    are returned, each to go as a short note of its own (see :func:`push_job`).
    """
    base = form_link_key(spec.person_id, ctx.campaign.id, spec.stage, handle.form_id)
    n = len(handle.parts)
    key = f"{base}+{n}parts" if n else base
    if not n or key in logged:
        return key, ()
    for had in range(n - 1, 0, -1):  # the email listed fewer parts (one: no parts)
        old = f"{base}+{had}parts" if had > 1 else base
        if old in logged:
            return old, handle.parts[had:]
    return key, ()


def _link_item(
    ctx: Context,
    renderer: Renderer,
    spec: FormSpec,
    handle: FormHandle,
    person: pd.Series,
    new_letter: str | None = None,
    *,
    key: str = "",
    new_part: FormPart | None = None,
    scored: bool = True,
) -> Item:
    """The email with a person's own form link (under ``key``, see :func:`_link_key`);
    or, with ``new_letter``, the short note that a late application has been added to
    their form: to someone who already sent their scores (``scored``), or the first
    candidate of a part added since their links went (``new_part``, with its link).
    A note is keyed by person and candidate, so it goes once whichever way it is due."""
    r = person_recipient(person.to_dict())
    expires = _local(ctx, handle.expires_at)
    # A form split into parts (Google) is a link per part, listed in order; a late
    # application's note links the part it was added to.
    link = next((p.url for p in handle.parts if new_letter in p.letters), handle.url)
    context: dict[str, Any] = {
        "stage_words": STAGE_WORDS[spec.stage],
        "doing_words": DOING_WORDS[spec.stage],
        "form_link": link,
        "form_parts": [{"label": p.label, "url": p.url} for p in handle.parts],
        "expires": f"{expires:%A} {expires.day} {expires:%B %Y}" if expires else "the form closes",
        "candidate": candidate_label(new_letter or ""),
        "stage": spec.stage,
        "scored": scored,
        "new_part": f"part {new_part.number} of {new_part.of}" if new_part is not None else "",
    }
    on_paper = scores_on_paper(person)
    context["on_paper"] = on_paper
    # A letter read out or posted gets the short code of the link (local forms only).
    code = handle.short_code if r.channel != "email" else ""
    context["short_code"] = code
    context["code_words"] = spoken(code) if code else ""
    context["code_address"] = address_words(base_url(ctx.settings)) if code else ""
    template = "new_candidate" if new_letter else "form_link"
    if on_paper and not new_letter:
        template = "form_link_paper"
    rendered = renderer.render(template, {**common_context(ctx, r), **context})
    key = key or _link_key(ctx, spec, handle, set())[0]
    rule, occasion = RULE, str(spec.stage)
    if new_letter:  # once per person and candidate, whatever happens to the link
        rule, occasion = NEW_RULE, f"{spec.stage} {new_letter}"
        key = f"{NEW_RULE}|{spec.person_id}|{ctx.campaign.id}|{spec.stage}|{new_letter}"
    urls = "|".join([handle.url, *(p.url for p in handle.parts)])
    digest = hashlib.sha256(f"{urls}|{rendered.subject}".encode()).hexdigest()[:16]
    return Item(
        rule=rule,
        recipient=r,
        occasion=occasion,
        key=key,
        content_hash=digest,
        rendered=rendered,
        planned=f"{rule} -> {r.label}, {occasion}",
    )


def _parts_cell(handle: FormHandle) -> str:
    """Every part's link, one a line, as staff passing links on another way need them
    (the row stays one per person and stage: its key never changes)."""
    return "\n".join(
        f"Part {p.number} of {p.of}, {letters_words(p.letters)}: {p.url}" for p in handle.parts
    )


def _link_items(
    ctx: Context,
    frames: dict[str, pd.DataFrame],
    specs: list[FormSpec],
    handles: dict[str, FormHandle],
    now: dt.datetime,
    early: bool,
    res: JobResult,
) -> tuple[dict[str, Item], dict[str, pd.Series]]:
    """The link emails to send (keyed, so a person is sent each link once): each person's
    own links, a note per late candidate, a note per part added since; and the people."""
    # Email each person their own link, once per link.
    people = {_text(r.get("person_id")): r for _, r in frames["people"].iterrows()}
    renderer = Renderer(ctx.settings)
    events = events_from_dates(frames["dates"], ctx.campaign)
    items: dict[str, Item] = {}
    carried = 0
    logged = {_text(k) for k in frames["sent_messages"].get("message_key", [])}
    added: dict[str, tuple[FormPart, ...]] = {}  # person -> parts added since links went
    for spec in specs:
        if early and spec.stage == "shortlisting":
            continue  # not before the day shortlisting opens
        person = people[spec.person_id]
        if (
            spec.stage == "shortlisting"
            and not handles[spec.key].parts  # the reminder carries one link, not parts
            and not scores_on_paper(person)
            and opening_reminder_due(ctx.campaign, events, now.date(), person.to_dict())
        ):
            carried += 1  # the reminder that shortlisting opens carries it: one email
            continue
        key, new_parts = _link_key(ctx, spec, handles[spec.key], logged)
        if spec.stage == "shortlisting" and new_parts:
            added[spec.person_id] = new_parts
        it = _link_item(ctx, renderer, spec, handles[spec.key], person, key=key)
        items[it.key] = it
    if carried:
        res.detail += (
            f"; {carried} shortlisting link(s) go with the message that shortlisting "
            "opens (corecruit remind)"
        )
    # A late application: each shortlister who already sent scores is told once.
    by_person = {s.person_id: s for s in specs if s.stage == "shortlisting"}
    late = late_letters(
        {pid: s.candidate_order for pid, s in by_person.items()},
        frames["raw_scores"],
        frames["candidate_key"],
    )
    for pid, letters in late.items():
        spec = by_person[pid]
        for letter in letters:
            it = _link_item(ctx, renderer, spec, handles[spec.key], people[pid], letter)
            items[it.key] = it
    # A part added since a person's links went: one short note with its link (the
    # late-candidate note, about the part's first candidate), not every link again.
    for pid, new_parts in added.items():
        spec = by_person[pid]
        for part in new_parts:
            first = min(part.letters, key=letter_sort_key)
            it = _link_item(
                ctx,
                renderer,
                spec,
                handles[spec.key],
                people[pid],
                first,
                new_part=part,
                scored=first in late.get(pid, []),
            )
            items[it.key] = it  # the same key as its late-candidate note: one email
    return items, people


def _take_sent(res: JobResult, sent: SendResult, people: dict[str, pd.Series]) -> None:
    """What the send did, in the job's result (and who scores on paper, to print for)."""
    for key, it in sent.sent_keys.items():
        pid = it.recipient.id
        if it.rule == RULE and scores_on_paper(people[pid]):
            stage = key.split("|")[3]
            res.attention.append(
                f"{pid} scores on paper: print their sheets with "
                f"'corecruit scoresheets print --stage {stage} --people "
                f"{pid} --pdf' for them."
            )
    res.attention.extend(sent.attention)
    res.api_calls += sent.api_calls
    rep = sent.report
    if rep is not None:
        res.messages_sent = len(rep.sent)
        res.rows_written += rep.rows_written
        res.detail += f", {len(rep.sent)} link(s) emailed"
        if rep.other_way:
            res.detail += f", {len(rep.other_way)} for staff to pass on another way"


def push_job(ctx: Context, send: bool = True) -> JobResult:
    """Make sure every panel member has their own forms; write the links; email each
    person their own link once."""
    res = JobResult(job="forms push")
    staff = ctx.stores.staff
    with job_lock(ctx, "forms"):
        frames = staff.read(
            [*STAFF_TABS, "sent_messages", "dates", "redaction_report", "raw_scores"],
            errors="collect",
        )
        res.api_calls += 1
        res.rows_read = sum(len(df) for df in frames.values())
        over = scoring_over(ctx, frames["dates"])
        if over is not None:
            res.detail = (
                f"the decision meeting began on {over:%A} {over.day} {over:%B %Y}, so scoring "
                "is over: no forms made or renewed, no links sent"
            )
            return res
        res.api_calls += 1  # the panel read in current_specs
        specs = current_specs(ctx, frames)
        review = _review(ctx, frames)
        waiting = f"{review.summary()}. {NEXT_STEP}" if review and review.held else ""
        if not specs:
            res.detail = (
                "no forms to make yet: there are no anonymised applications in the panel "
                "workbook and nobody on the interview list"
            )
            if waiting:
                res.detail = f"no score forms yet: {waiting}"
            return res
        provider = get_provider(ctx)
        handles = provider.ensure_forms(specs)
        now = ctx.now()
        rows = []
        for spec in specs:
            h = handles[spec.key]
            rows.append(
                {
                    "person_id": spec.person_id,
                    "stage": spec.stage,
                    "form_id": h.form_id,
                    "url": h.url,
                    "created_at": _local(ctx, h.created_at) or now,
                    "expires_at": _local(ctx, h.expires_at),
                    "candidate_order": ", ".join(spec.candidate_order),
                    "order_seed": spec.order_seed,
                    "parts": _parts_cell(h),
                }
            )
        spec_tab = staff.tab("form_links")
        new = make_frame(spec_tab, rows)
        with staff.locked():
            current = staff.read_one("form_links", refresh=True)
            merged = upsert_rows(spec_tab, current, new)
            res.rows_written += staff.write({"form_links": merged})  # 0 when nothing changed
        res.api_calls += 2
        res.detail = f"{len(specs)} form(s) ready"
        if waiting:
            res.detail += f"; {waiting}"
        if not send:
            return res
        note = links_not_emailed(ctx.settings)
        if note:  # links nobody could open: write them, email nothing
            res.detail += "; no links emailed"
            res.attention.append(note)
            return res
        opens = shortlisting_opens(ctx, frames["dates"])
        early = now.date() < opens
        if early and any(s.stage == "shortlisting" for s in specs):
            res.detail += (
                f"; shortlisting links go out when shortlisting opens, on "
                f"{opens:%A} {opens.day} {opens:%B %Y}"
            )

        items, people = _link_items(ctx, frames, specs, handles, now, early, res)
        sent = send_once(ctx, list(items.values()))
        _take_sent(res, sent, people)
    return res


# ------------------------------------------------------------------ collect


def _specs_for_links(
    ctx: Context, frames: dict[str, pd.DataFrame], specs: list[FormSpec]
) -> list[FormSpec]:
    """Current specs, plus a stand-in for every form that was pushed but is no longer
    current (say, a person taken off the panel), so its responses are still fetched
    and reported rather than silently left behind."""
    have = {s.key for s in specs}
    extra: list[FormSpec] = []
    for _, r in frames["form_links"].iterrows():
        pid, stage = _text(r.get("person_id")), _text(r.get("stage"))
        key = f"{ctx.campaign.id}.{stage}.{pid}"
        if not pid or key in have or stage not in ("shortlisting", "interview"):
            continue
        have.add(key)
        if stage == "shortlisting":
            extra.append(shortlisting_spec(ctx.campaign, pid, []))
        else:
            extra.append(interview_spec(ctx.campaign, Scorer(pid, "", ""), []))
    return specs + extra


def _since(ctx: Context, raw: Mapping[str, Sequence[Any]], source: str) -> dt.datetime | None:
    """Where to fetch from: a day before the latest score of ``source`` already collected
    (``raw``: the source and submitted_at columns of raw_scores)."""
    times = [
        t
        for s, t in zip(raw["source"], raw["submitted_at"], strict=True)
        if isinstance(t, dt.datetime) and str(s) == source
    ]
    if not times:
        return None
    return _aware(ctx, max(times)) - OVERLAP


def collect_job(ctx: Context) -> JobResult:
    """Fetch new responses; append valid scores to raw_scores and everything that
    cannot be used to exceptions (with a plain reason), in one write.

    Raw scores is read for two columns only (where to fetch from), and the new rows are
    added at its end as tuples (at 5,000 applications a run brings 160,000 scores: frames
    of every old and new row cost seconds and hundreds of MB)."""
    res = JobResult(job="forms collect")
    staff = ctx.stores.staff
    with job_lock(ctx, "forms"):
        tabs = [*STAFF_TABS, "exceptions", "redaction_report"]
        staff.prefetch([*tabs, "raw_scores"])  # one batch (one Google call) for both reads
        frames = staff.read(tabs, errors="collect")
        raw = staff.read_columns("raw_scores", ["source", "submitted_at"])
        res.api_calls += 2
        res.rows_read = sum(len(df) for df in frames.values()) + len(raw["source"])
        specs = _specs_for_links(ctx, frames, current_specs(ctx, frames, collecting=True))
        if not specs:
            res.detail = "no forms yet, so nothing to collect"
            return res
        provider = get_provider(ctx)
        source = "google form" if ctx.settings.org.forms.backend == "google" else "local form"
        responses = provider.fetch_responses(specs, _since(ctx, raw, source))
        by_key = {s.key: s for s in specs}
        got = validate_responses(
            by_key,
            [r for r in responses if r.form_key in by_key],
            frames["people"],
            now=ctx.now(),
            tz=ctx.settings.org.organisation.timezone,
        )
        del specs, by_key  # every form's items: not needed to write
        # Marking needs which responses, not their answers (160,000 at 5,000 applications)
        responses = [dataclasses.replace(r, answers={}) for r in responses]
        exc_cols = staff.tab("exceptions").column_ids
        exc_rows = [tuple(e.get(c) for c in exc_cols) for e in got.exceptions]
        with staff.locked():  # only rows whose key is not there yet, in one write
            added = staff.append_rows(
                {
                    "raw_scores": (SCORE_COLUMNS, got.score_rows),
                    "exceptions": (exc_cols, exc_rows),
                }
            )
            n_raw, n_exc = added["raw_scores"], added["exceptions"]
            if n_raw or n_exc:
                res.api_calls += 1
        provider.mark_collected(responses)  # only now: they are safe in the workbook
        res.api_calls += 1
        res.rows_written = n_raw + n_exc
        if n_exc:
            res.attention.append(
                f"{n_exc} score(s) or response(s) could not be used. The 'Needs attention' "
                "tab says why."
            )
        res.detail = (
            f"{len(responses)} response(s) seen, {n_raw} new score(s), {n_exc} new exception(s)"
        )
        log.info("collect: %s", res.detail)
    return res


__all__ = ["collect_job", "current_specs", "push_job"]
