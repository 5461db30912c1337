"""Paper scores typed in by staff: checked, then turned into Raw scores rows. Pure.

Every row of the ``paper_scores`` tab is checked the same way a form answer is:
the person must score at that stage, the letter must be a live candidate letter,
the question (or criterion) must be one that person's panel scores, and the score a
whole number on its scale. Problems name the tab, row and column, never the value.

A row is copied once. Its *fingerprint* (what was copied) is written back beside
it in the same write as the Raw scores rows, so running again copies nothing; if
staff change a score, the fingerprint no longer matches and the row is copied
again as a correction (a new response, later, so it is the one that counts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from ..config.models import CampaignConfig, Scale
from ..errors import Problem
from .form_values import ScaleItem, score_item_id
from .forms import check_score, questions_for, scale_points
from .scoresheets import is_scorer, person_panel
from .values import is_true
from .values import text as _text

TAB = "paper_scores"
PANELS = ("mixed", "council", "lived experience")
WB = "staff"


@dataclass
class PaperEntry:
    raw_rows: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # sheet row -> job columns
    problems: list[Problem] = field(default_factory=list)


def fingerprint(row: Mapping[str, Any]) -> str:
    parts = [
        _text(row.get(c))
        for c in ("person_id", "stage", "candidate_letter", "question_id", "score", "comment")
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def live_letters(candidate_key: pd.DataFrame) -> set[str]:
    return {
        _text(r.get("candidate_letter"))
        for _, r in candidate_key.iterrows()
        if _text(r.get("candidate_letter")) and not is_true(r.get("retired"))
    }


def _scales(campaign: CampaignConfig, stage: str, panel: str) -> dict[str, Scale]:
    """What the person's web form would ask them to score (``transforms.forms``)."""
    if stage == "shortlisting":
        return {c.id: c.scale for c in campaign.criteria}
    return {q.id: q.scale for q in questions_for(campaign, panel)}


def check_row(
    sheet_row: int,
    row: Mapping[str, Any],
    campaign: CampaignConfig,
    people: Mapping[str, Mapping[str, Any]],
    letters: set[str],
    unreadable_score: bool = False,
) -> list[Problem]:
    """Everything wrong with one typed-in row (empty list when it is fine).

    ``unreadable_score``: the store could not read the score cell as a number (a
    word, say); the message then gives this question's scale, never the value.
    """

    def bad(column: str, message: str) -> Problem:
        return Problem(WB, TAB, message, row=sheet_row, column=column)

    out: list[Problem] = []
    pid = _text(row.get("person_id"))
    stage = _text(row.get("stage"))
    if stage not in ("shortlisting", "interview"):
        out.append(bad("stage", "write 'shortlisting' or 'interview'"))
        return out
    person = people.get(pid)
    if person is None:
        out.append(bad("person_id", "there is no one with this Person ID in the people tab"))
        return out
    if not is_scorer(person, stage):  # type: ignore[arg-type]
        flag = "Shortlists" if stage == "shortlisting" else "Interviews"
        out.append(
            bad(
                "person_id",
                f"this person does not score at {stage}: only a chair or panel member with "
                f"'{flag}' TRUE in the people tab does (supporting workers never score)",
            )
        )
    letter = _text(row.get("candidate_letter")).upper()
    if letter.lower().startswith("candidate "):
        letter = letter[len("candidate ") :].strip()
    if not letter:
        out.append(bad("candidate_letter", "the candidate letter is missing"))
    elif letter not in letters:
        out.append(
            bad(
                "candidate_letter",
                "this is not a candidate letter in use (see the candidate key; withdrawn "
                "letters cannot be scored)",
            )
        )
    panel = person_panel(person, campaign)
    scales = _scales(campaign, stage, panel)
    qid = _text(row.get("question_id"))
    what = "question" if stage == "interview" else "criterion"
    scale = scales.get(qid)
    if scale is None:
        known = ", ".join(scales) or "none"
        out.append(
            bad(
                "question_id",
                f"this is not a {what} the {panel} panel scores at {stage} "
                f"(expected one of {known})",
            )
        )
    score = row.get("score")
    if unreadable_score:
        rule = f"from {scale.min} to {scale.max}" if scale is not None else "on its scale"
        out.append(
            bad("score", f"this is not a score for this {what}: write a whole number {rule}")
        )
    elif score is None or score is pd.NA or _text(score) == "":
        out.append(bad("score", "the score is missing"))
    elif scale is not None:
        # the same check a web form answer gets (transforms.forms.check_score)
        item = ScaleItem(score_item_id(letter or "?", qid), letter, qid, qid, scale_points(scale))
        _value, why = check_score(item, format(Decimal(str(score)), "f"))
        if why:
            out.append(bad("score", f"{why}: write a whole number from {scale.min} to {scale.max}"))
    return out


def plan_paper_entry(
    paper: pd.DataFrame,
    campaign: CampaignConfig,
    people: pd.DataFrame,
    candidate_key: pd.DataFrame,
    now: dt.datetime,
    unreadable: Collection[int] = (),
) -> PaperEntry:
    """Rows to add to Raw scores and what to write back beside each paper row.

    ``unreadable``: sheet rows whose score cell was not a number at all.
    """
    out = PaperEntry()
    by_id = {
        _text(r.get("person_id")): r.to_dict()
        for _, r in people.iterrows()
        if _text(r.get("person_id"))
    }
    letters = live_letters(candidate_key)
    for sheet_row, r in paper.iterrows():
        row = r.to_dict()
        fp = fingerprint(row)
        if _text(row.get("fingerprint")) == fp:
            continue  # already copied, unchanged
        probs = check_row(
            int(sheet_row), row, campaign, by_id, letters, int(sheet_row) in unreadable
        )
        if probs:
            out.problems.extend(probs)
            continue
        pid = _text(row["person_id"])
        letter = _text(row["candidate_letter"]).upper().removeprefix("CANDIDATE ").strip()
        rid = "paper-" + hashlib.sha256(f"{fp}|{now.isoformat()}".encode()).hexdigest()[:12]
        scored = row.get("scored_on")
        submitted = now
        if isinstance(scored, dt.date) and not _text(row.get("fingerprint")):
            # first entry: the day on the sheet, so it sorts before later corrections
            submitted = dt.datetime.combine(scored, dt.time(12)) if scored < now.date() else now
        out.raw_rows.append(
            {
                "response_id": rid,
                "person_id": pid,
                "panel": panel if (panel := person_panel(by_id[pid], campaign)) in PANELS else "",
                "stage": _text(row["stage"]),
                "candidate_letter": letter,
                "question_id": _text(row["question_id"]),
                "score": Decimal(str(row["score"])),
                "comment": _text(row.get("comment")),
                "submitted_at": submitted,
                "collected_at": now,
                "source": "paper",
            }
        )
        out.updates[int(sheet_row)] = {"response_id": rid, "entered_at": now, "fingerprint": fp}
    return out
