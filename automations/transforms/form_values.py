"""What a form is, what a response is, and how their ids are made: values only. Pure.

The forms seam (:mod:`automations.forms.base` and its local and Google providers) serves
and collects these; the transforms build and read them. They live here so a transform
never imports an I/O seam. Item ids are built only with :func:`score_item_id` /
:func:`comment_item_id` and are safe as HTML names and Google item descriptions
(``[A-Za-z0-9_-]``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CANT_SCORE",
    "CommentItem",
    "FormHandle",
    "FormPart",
    "FormSpec",
    "Item",
    "Response",
    "ScaleItem",
    "ScalePoint",
    "Section",
    "Source",
    "Stage",
    "cant_score_reason",
    "comment_item_id",
    "form_key",
    "letter_sort_key",
    "letters_words",
    "parse_form_key",
    "score_item_id",
]

Stage = Literal["shortlisting", "interview"]
Source = Literal["local form", "google form"]

_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _safe(part: str) -> str:
    return _SAFE.sub("-", part)


def form_key(campaign_id: str, stage: str, person_id: str) -> str:
    """One form per person per stage: ``peer-support-2027.shortlisting.p03``."""
    return f"{campaign_id}.{stage}.{person_id}"


def parse_form_key(key: str) -> tuple[str, str, str]:
    """(campaign_id, stage, person_id) from a form key."""
    campaign_id, stage, person_id = key.rsplit(".", 2)
    return campaign_id, stage, person_id


def score_item_id(candidate_letter: str, question_id: str) -> str:
    return f"score__{_safe(candidate_letter)}__{_safe(question_id)}"


def comment_item_id(candidate_letter: str, question_id: str) -> str:
    return f"comment__{_safe(candidate_letter)}__{_safe(question_id)}"


@dataclass(frozen=True, slots=True)
class ScalePoint:
    value: int
    label: str = ""  # what the point means, e.g. "Some evidence"


@dataclass(frozen=True)
class ScaleItem:
    """Score one candidate on one question (interview) or criterion (shortlisting)."""

    item_id: str
    candidate_letter: str
    question_id: str
    title: str  # e.g. "Candidate C: Working alongside people as equals"
    points: tuple[ScalePoint, ...]
    context: str = ""  # shown above the scale: the candidate's anonymised answer, if any
    required: bool = True
    # Co-production forms (issue 10): the question a non-score choice asks, shown as the
    # legend instead of "Your score for Candidate X" (e.g. "Would you like to be involved?")
    legend: str = ""
    # Score forms (issue 19): the scale is followed by "I can't score this one" choices
    # (:data:`CANT_SCORE`), so a conflict of interest is recorded, never a made-up score.
    cant_score: bool = False

    # Worked out once per item (the form server checks every score of a form on each send).
    @functools.cached_property
    def min(self) -> int:
        return min(p.value for p in self.points)

    @functools.cached_property
    def max(self) -> int:
        return max(p.value for p in self.points)


# "I can't score this one" (issue 19): the value a form sends -> the reason staff read.
# Fixed words only, so the reason can be shown to staff without any text a person typed.
CANT_SCORE = {
    "cant-score:conflict": "a conflict of interest",
    "cant-score:unreadable": "could not read it",
    "cant-score:other": "another reason",
}


def cant_score_reason(raw: str) -> str:
    """The reason behind an "I can't score this one" answer, or '' for anything else."""
    return CANT_SCORE.get(raw.strip(), "")


@dataclass(frozen=True, slots=True)
class CommentItem:
    """An optional comment box for one candidate and question."""

    item_id: str
    candidate_letter: str
    question_id: str
    title: str  # e.g. "Your notes on Candidate C (optional)"
    required: bool = False


Item = ScaleItem | CommentItem


@dataclass(frozen=True, slots=True)
class Section:
    """A page of the form (Google: a section)."""

    section_id: str
    title: str
    description: str = ""
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class FormSpec:
    """One person's own form for one stage. Never holds names or contact details."""

    key: str  # form_key(campaign, stage, person): the idempotency key
    campaign_id: str
    stage: Stage
    person_id: str
    title: str
    intro: str
    sections: tuple[Section, ...]
    candidate_order: tuple[str, ...] = ()  # candidate letters in the order this person sees
    question_order: tuple[str, ...] = ()  # criterion / question ids in page order
    order_seed: str = ""  # how candidate_order was drawn, so it can be explained later
    question_by_question: bool = False
    # "scores" (score forms) or "answers" (issue 10's interest, questions and feedback
    # forms): only the wording of the pages differs ("your answers", not "your scores")
    kind: str = "scores"
    # The person's format (people tab): "standard", "large print" or "easy read". The
    # form server reads it from here, never from the staff workbook (issue 20).
    format: str = "standard"

    def items(self) -> list[Item]:
        return [i for s in self.sections for i in s.items]

    def item(self, item_id: str) -> Item | None:
        for i in self.items():
            if i.item_id == item_id:
                return i
        return None

    def scale_items(self) -> list[ScaleItem]:
        return [i for i in self.items() if isinstance(i, ScaleItem)]


@dataclass(frozen=True)
class FormPart:
    """One part of a form split so each part stays a size people can complete (Google)."""

    number: int  # 1-based, in the order the parts are listed
    of: int
    letters: tuple[str, ...]  # the candidates on this part
    form_id: str
    url: str

    @property
    def label(self) -> str:
        """ "Part 2 of 3: Candidates Z to AX", as the email lists the links."""
        return f"Part {self.number} of {self.of}: {letters_words(self.letters)}"


def letter_sort_key(letter: str) -> tuple[int, str]:
    """Candidate letters in their order: A to Z, then AA, AB …"""
    return (len(letter), letter)


def letters_words(letters: tuple[str, ...]) -> str:
    """ "Candidates A to H" (first to last in letter order), or "Candidate C"."""
    ordered = sorted(letters, key=letter_sort_key)
    if not ordered:
        return "no candidates"
    if len(ordered) == 1:
        return f"Candidate {ordered[0]}"
    return f"Candidates {ordered[0]} to {ordered[-1]}"


@dataclass(frozen=True)
class FormHandle:
    """Where a form lives, as written to the staff workbook's form_links tab."""

    key: str
    form_id: str  # Google: the form id; local: the link's token id
    url: str  # the person's own link
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None  # local links expire; Google forms: None
    short_code: str = ""  # local links: a code to read out or type in ('' on Google)
    # A large Google form is split into parts, each its own form and link (form_id and
    # url above are part 1's); empty when the form is one part.
    parts: tuple[FormPart, ...] = ()


@dataclass(frozen=True)
class Response:
    """One submitted form. ``answers`` maps item_id -> the raw text submitted ('' = blank)."""

    response_id: str  # stable and unique for this submission
    form_key: str
    person_id: str  # who the link or form belongs to (never taken from the answers)
    answers: Mapping[str, str]
    submitted_at: dt.datetime  # timezone-aware (UTC is fine); shown in local time
    source: Source
    meta: Mapping[str, str] = field(default_factory=dict)  # e.g. token id; no personal data
