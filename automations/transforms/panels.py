"""Panel composition checks, pure: the warnings ``corecruit check`` gives about panels.

Each warning says what is wrong and why it matters, in plain words, following the
co-production guide (3 to 4 people with lived experience, at least one with
experience of support from the team, the same people shortlist and interview, a
trained supporting worker who takes no part in scoring, one question per asker,
and a chair). Warnings name person ids and question ids, never names.
"""

from __future__ import annotations

import pandas as pd

from ..config import CampaignConfig
from ..errors import Problem
from .values import is_true as _true
from .values import text as _text

SCORING_ROLES = ("chair", "panel member")


def _ids(ids: set[str] | list[str]) -> str:
    return ", ".join(sorted(ids))


def panel_problems(campaign: CampaignConfig, people: pd.DataFrame) -> list[Problem]:
    """Warnings about who is on the panels and who asks what."""
    out: list[Problem] = []

    def warn(message: str, row: int | None = None, column: str | None = None) -> None:
        out.append(Problem("staff", "people", message, row=row, column=column, severity="warning"))

    rows = [(int(idx), r) for idx, r in people.iterrows() if _text(r.get("person_id"))]
    by_id = {_text(r.get("person_id")): (idx, r) for idx, r in rows}

    involved = [
        (idx, r)
        for idx, r in rows
        if _text(r.get("role")) in SCORING_ROLES
        and (_true(r.get("shortlists")) or _true(r.get("interviews")))
    ]
    pwle = [(idx, r) for idx, r in involved if _text(r.get("kind")) == "lived experience"]
    n = len(pwle)
    if n < 3 or n > 4:
        said = "nobody" if n == 0 else f"{n} {'person' if n == 1 else 'people'}"
        warn(
            f"{said} with lived experience {'is' if n <= 1 else 'are'} down to shortlist or "
            "interview. The guidance asks for 3 to 4, so that lived experience is heard "
            "properly without resting on one or two people.",
            column="kind",
        )
    if pwle and not any(_true(r.get("team_experience")) for _, r in pwle):
        warn(
            f"None of the people with lived experience on the panel is marked as having "
            f"experience of support from the {campaign.campaign.team}. The guidance asks "
            "for at least one, because they know the service from the inside. (Only mark "
            "this if the person chose to tell you.)",
            column="team_experience",
        )

    short = {_text(r.get("person_id")) for idx, r in involved if _true(r.get("shortlists"))}
    inter = {_text(r.get("person_id")) for idx, r in involved if _true(r.get("interviews"))}
    if short and inter and short != inter:
        parts = []
        if short - inter:
            parts.append(
                f"{_ids(short - inter)} shortlist{'s' if len(short - inter) == 1 else ''} "
                "but will not interview"
            )
        if inter - short:
            parts.append(
                f"{_ids(inter - short)} will interview but "
                f"{'does' if len(inter - short) == 1 else 'do'} not shortlist"
            )
        warn(
            "The people who shortlist should be the same people who interview, so the "
            "panel knows the applications it is interviewing: " + "; ".join(parts) + ".",
            column="shortlists",
        )

    workers = [(idx, r) for idx, r in rows if _text(r.get("role")) == "supporting worker"]
    for idx, r in workers:
        pid = _text(r.get("person_id"))
        if not _true(r.get("training_completed")):
            warn(
                f"{pid} is a supporting worker but has not completed the recruitment and "
                "selection training. The guidance asks that whoever supports the lived "
                "experience panel has done it.",
                row=idx,
                column="training_completed",
            )
        if _true(r.get("shortlists")) or _true(r.get("interviews")):
            warn(
                f"{pid} is a supporting worker and is marked to shortlist or interview. A "
                "supporting worker takes no part in scoring and must not influence the "
                "decision, so they get no score form.",
                row=idx,
                column="shortlists" if _true(r.get("shortlists")) else "interviews",
            )
    if campaign.campaign.panel_mode == "separate" and pwle and not workers:
        warn(
            "There is a separate lived experience panel but no supporting worker. The "
            "guidance asks for a named Council worker to support the panel (someone who "
            "takes no part in scoring).",
            column="role",
        )

    if not any(_text(r.get("role")) == "chair" for _, r in rows):
        warn(
            "Nobody is set as chair. Please agree together who will chair the interview "
            "panel and set their role to 'chair'.",
            column="role",
        )

    # Questions: each has an asker, and each person asks one question.
    asked: dict[str, list[str]] = {}
    for i, q in enumerate(campaign.questions):
        qrow = i + 2  # the panel workbook's questions tab lists them in config order
        if not q.asker:
            out.append(
                Problem(
                    "panel",
                    "questions",
                    f"question {q.id} has nobody to ask it. Agree who asks it at the "
                    "preparation meeting and set its asker in the campaign file.",
                    row=qrow,
                    column="asked_by",
                    severity="warning",
                )
            )
            continue
        asked.setdefault(q.asker, []).append(q.id)
        hit = by_id.get(q.asker)
        if hit is None:
            out.append(
                Problem(
                    "panel",
                    "questions",
                    f"question {q.id} is to be asked by {q.asker}, who is not on the people tab.",
                    row=qrow,
                    column="asked_by",
                    severity="warning",
                )
            )
        elif _text(hit[1].get("role")) not in SCORING_ROLES or not _true(hit[1].get("interviews")):
            out.append(
                Problem(
                    "panel",
                    "questions",
                    f"question {q.id} is to be asked by {q.asker}, who is not down to "
                    "interview (or is a supporting worker, who does not take part).",
                    row=qrow,
                    column="asked_by",
                    severity="warning",
                )
            )
    for pid, qids in sorted(asked.items()):
        if len(qids) > 1:
            out.append(
                Problem(
                    "panel",
                    "questions",
                    f"{pid} is down to ask {len(qids)} questions ({_ids(qids)}). One "
                    "question for each panel member is usually enough, and shares the "
                    "interview out.",
                    column="asked_by",
                    severity="warning",
                )
            )
    return out
