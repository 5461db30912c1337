"""The co-production forms as data, and their answers as sheet rows. Pure.

Three forms, built on the score forms engine's :class:`FormSpec` (``kind="answers"``,
so the pages say "your answers", and choices show their words, not numbers):

* ``interest``: the expression of interest sent to people with lived experience when
  recruitment is agreed: interest, the parts they would like to help with, dates
  (with room for caring responsibilities and other needs), access requirements and
  reasonable adjustments, reward, how to be introduced, and support from the team.
* ``questions``: for each draft interview question, keep / change (with their
  wording) / drop, and comments.
* ``feedback``: how the process felt, whether they felt listened to, what worked,
  what to change, and whether the team may know it was them.

Choices are :class:`ScaleItem`s whose points carry the words; the numbers are only
how the engine stores a choice, and :data:`CHOICES` maps them back to words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..config.models import CampaignConfig
from .form_values import (
    CommentItem,
    FormSpec,
    Response,
    ScaleItem,
    ScalePoint,
    Section,
    comment_item_id,
    form_key,
    score_item_id,
)
from .forms import local_time
from .values import text as _text

KINDS = ("interest", "questions", "feedback")
_ME = "x"  # the "candidate letter" part of item ids on forms about the person themselves

CHOICES: dict[str, dict[int, Any]] = {
    "interested": {2: "yes", 1: "maybe", 0: "no"},
    "formats": {0: "standard", 1: "large print", 2: "easy read"},
    "reward_choice": {0: "payment", 1: "vouchers", 2: "no payment"},
    "team_experience": {1: True, 0: False, 2: None},
    "view": {2: "keep", 1: "change", 0: "drop"},
    "share_name": {1: True, 0: False},
}


def choice_id(name: str, about: str = _ME) -> str:
    return score_item_id(about, name)


def text_id(name: str, about: str = _ME) -> str:
    return comment_item_id(about, name)


def _choice(
    name: str,
    legend: str,
    points: Sequence[tuple[int, str]],
    *,
    about: str = _ME,
    context: str = "",
    required: bool = True,
) -> ScaleItem:
    return ScaleItem(
        item_id=choice_id(name, about),
        candidate_letter=about,
        question_id=name,
        title=legend,
        points=tuple(ScalePoint(v, label) for v, label in points),
        context=context,
        required=required,
        legend=legend,
    )


def _text_item(name: str, title: str, about: str = _ME) -> CommentItem:
    return CommentItem(
        item_id=text_id(name, about), candidate_letter=about, question_id=name, title=title
    )


# ---------------------------------------------------------------------- specs


def interest_spec(
    campaign: CampaignConfig,
    person_id: str,
    dates: Mapping[str, str],
    reward_lines: Sequence[str] = (),
) -> FormSpec:
    c = campaign.campaign
    summary = " ".join(c.summary.split())
    date_text = (
        "; ".join(f"{k}: {v}" for k, v in dates.items()) or "We will agree the dates together."
    )
    sections = (
        Section(
            "taking-part",
            "Taking part",
            f"We are recruiting a {c.post} for the {c.team}. {summary}",
            (
                _choice(
                    "interested",
                    f"Would you like to help us choose our new {c.post}?",
                    [
                        (2, "Yes"),
                        (1, "Maybe: I would like to talk about it first"),
                        (0, "No, not this time"),
                    ],
                ),
                _text_item(
                    "stages",
                    "Which parts would you like to help with? For example: reading "
                    "applications, shaping the interview questions, interviews, the decision.",
                ),
            ),
        ),
        Section(
            "dates",
            "Dates",
            f"The dates we have in mind: {date_text}. We will agree them together and be as "
            "flexible as we can.",
            (
                _text_item("available", "Which of these dates could you do?"),
                _text_item(
                    "unavailable",
                    "Are there times you cannot do? For example because of caring "
                    "responsibilities, work, or other needs.",
                ),
            ),
        ),
        Section(
            "support",
            "Support to take part",
            "Tell us what would help you take part fully. We use your Working with me "
            "profile if you have one, and we can help you fill one in. Only the "
            "recruitment team sees these answers.",
            (
                _text_item(
                    "access_requirements",
                    "What would help you take part? For example: large print, breaks, "
                    "step-free access, a support worker with you, or joining online.",
                ),
                _choice(
                    "formats",
                    "How would you like papers and forms?",
                    [(0, "Standard"), (1, "Large print"), (2, "Easy read")],
                ),
            ),
        ),
        Section(
            "reward",
            "Thanking you for your time",
            "We follow our Co-production recognition and reward policy. " + " ".join(reward_lines),
            (
                _choice(
                    "reward_choice",
                    "How would you like us to thank you for your time?",
                    [(0, "Payment"), (1, "Vouchers"), (2, "No payment, thank you")],
                ),
            ),
        ),
        Section(
            "about-you",
            "About you",
            "You only need to tell us what you are happy to share.",
            (
                _text_item(
                    "introduction",
                    "How would you like to be introduced to candidates? You do not have to "
                    "mention your own experience.",
                ),
                _choice(
                    "team_experience",
                    f"Have you had support from the {c.team}?",
                    [(1, "Yes"), (0, "No"), (2, "I would rather not say")],
                    required=False,
                ),
                _text_item("comments", "Is there anything else you would like us to know?"),
            ),
        ),
    )
    return FormSpec(
        key=form_key(campaign.id, "interest", person_id),
        campaign_id=campaign.id,
        stage="interest",  # type: ignore[arg-type]
        person_id=person_id,
        title=f"Helping to choose our new {c.post}",
        intro="This short form asks if you would like to be involved, and what would help "
        "you take part. There are no wrong answers, and it is fine to say no.",
        sections=sections,
        kind="answers",
    )


def questions_spec(
    campaign: CampaignConfig, person_id: str, drafts: Sequence[Mapping[str, Any]]
) -> FormSpec:
    words = {c.id: c.text for c in campaign.criteria}
    sections = []
    for n, d in enumerate(drafts, start=1):
        did = _text(d["draft_id"])
        about = "; ".join(
            words.get(x.strip(), x.strip())
            for x in _text(d.get("criteria")).split(",")
            if x.strip()
        )
        sections.append(
            Section(
                f"draft-{did}",
                f"Question {n}",
                f"{_text(d['text'])} (What it is about: {about}.)",
                (
                    _choice(
                        "view",
                        f"Keep, change or drop question {n}?",
                        [(2, "Keep it"), (1, "Change it"), (0, "Drop it")],
                        about=did,
                        context=_text(d["text"]),
                    ),
                    _text_item("wording", "If you would change it, how would you ask it?", did),
                    _text_item("comment", "Any comments? (optional)", did),
                ),
            )
        )
    return FormSpec(
        key=form_key(campaign.id, "questions", person_id),
        campaign_id=campaign.id,
        stage="questions",  # type: ignore[arg-type]
        person_id=person_id,
        title=f"Shaping the interview questions for the {campaign.campaign.post} job",
        intro="These are our first ideas for the interview questions, drafted from what the "
        "job needs. For each one, tell us to keep it, change it (and how you would ask "
        "it), or drop it. We agree the questions together at the pre-meeting.",
        sections=tuple(sections),
        kind="answers",
    )


def feedback_spec(campaign: CampaignConfig, person_id: str) -> FormSpec:
    c = campaign.campaign
    five = [(1, "1: not good at all"), (2, "2"), (3, "3: OK"), (4, "4"), (5, "5: very good")]
    heard = [(1, "1: not at all"), (2, "2"), (3, "3: partly"), (4, "4"), (5, "5: completely")]
    section = Section(
        "feedback",
        "How it went",
        f"Tell us how recruiting our {c.post} felt for you, and what we should change. "
        "It takes a few minutes.",
        (
            _choice("how_it_felt", "Overall, how did taking part feel?", five),
            _choice("listened_to", "Did you feel listened to?", heard),
            _text_item("what_worked", "What worked well?"),
            _text_item("what_to_change", "What should we change next time?"),
            _choice(
                "share_name",
                "Can we know this feedback came from you?",
                [(1, "Yes"), (0, "No, please keep it anonymous")],
            ),
        ),
    )
    return FormSpec(
        key=form_key(campaign.id, "feedback", person_id),
        campaign_id=campaign.id,
        stage="feedback",  # type: ignore[arg-type]
        person_id=person_id,
        title=f"How did recruiting our {c.post} go?",
        intro="Thank you for taking part. Your feedback helps us make the next recruitment "
        "better for everyone.",
        sections=(section,),
        kind="answers",
    )


# ------------------------------------------------------------------- answers


def _choice_value(answers: Mapping[str, str], name: str, about: str = _ME) -> Any:
    raw = _text(answers.get(choice_id(name, about)))
    if not raw.lstrip("-").isdigit():
        return None
    return CHOICES[name].get(int(raw))


def _t(answers: Mapping[str, str], name: str, about: str = _ME) -> str:
    return _text(answers.get(text_id(name, about)))


def interest_rows(responses: Sequence[Response], tz: str) -> list[dict[str, Any]]:
    out = []
    for r in responses:
        a = r.answers
        out.append(
            {
                "response_id": r.response_id,
                "person_id": r.person_id,
                "submitted_at": local_time(r.submitted_at, tz),
                "interested": _choice_value(a, "interested") or "",
                "stages": _t(a, "stages"),
                "available": _t(a, "available"),
                "unavailable": _t(a, "unavailable"),
                "access_requirements": _t(a, "access_requirements"),
                "reward_choice": _choice_value(a, "reward_choice") or "",
                "introduction": _t(a, "introduction"),
                "team_experience": _choice_value(a, "team_experience"),
                "formats": _choice_value(a, "formats") or "",
                "comments": _t(a, "comments"),
            }
        )
    return out


def view_rows(
    responses: Sequence[Response], draft_ids: Sequence[str], tz: str
) -> list[dict[str, Any]]:
    out = []
    for r in responses:
        for did in draft_ids:
            if choice_id("view", did) not in r.answers:
                continue  # this draft was not on the form when it was sent
            choice = _choice_value(r.answers, "view", did)
            if choice is None:
                continue
            out.append(
                {
                    "response_id": r.response_id,
                    "person_id": r.person_id,
                    "draft_id": did,
                    "choice": choice,
                    "wording": _t(r.answers, "wording", did),
                    "comment": _t(r.answers, "comment", did),
                    "submitted_at": local_time(r.submitted_at, tz),
                    "source": r.source,
                }
            )
    return out


def _one_to_five(answers: Mapping[str, str], name: str) -> int | None:
    raw = _text(answers.get(choice_id(name)))
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 5 else None


def feedback_rows(
    responses: Sequence[Response], kinds: Mapping[str, str], tz: str
) -> list[dict[str, Any]]:
    out = []
    for r in responses:
        a = r.answers
        share = _choice_value(a, "share_name")

        out.append(
            {
                "response_id": r.response_id,
                "person_id": r.person_id if share else "",
                "kind": kinds.get(r.person_id, ""),
                "how_it_felt": _one_to_five(a, "how_it_felt"),
                "listened_to": _one_to_five(a, "listened_to"),
                "what_worked": _t(a, "what_worked"),
                "what_to_change": _t(a, "what_to_change"),
                "submitted_at": local_time(r.submitted_at, tz),
                "source": r.source,
            }
        )
    return out


def is_mine(spec_key: str, kind: str) -> bool:
    return spec_key.split(".")[-2:-1] == [kind]


def key_dates_text(dates: pd.DataFrame) -> dict[str, str]:
    """The dates tab as words for the interest form ('Interview day: 8 February 2027')."""
    out = {}
    for _, r in dates.iterrows():
        when = r.get("starts_at")
        if isinstance(when, dt.datetime):
            out[_text(r.get("event")).capitalize()] = f"{when.day} {when:%B %Y}"
    return out
