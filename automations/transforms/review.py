"""The review gate: which applications may reach the panel yet. Pure: no I/O.

Staff check each application's row of the Redaction report (what the job took
out, where it was unsure) and fill in *Reviewed by*. Until they have, the
application is *held*: its anonymised answers are not written to the panel
workbook and it is not put in anyone's score form. When an application's
findings change after it was checked, the redact job clears *Reviewed by*
(:func:`automations.transforms.redact.merge_report`), so it is held again until
someone checks it again; the others stay with the panel.

Before the panel has anything (no shortlisting form made yet) the release waits
for every application, so panel members never start on a partial set; after
that, a held application (a late one, or one that changed) simply waits on its
own. Everything here is worked out from the report, the candidate key and the
form links each time: there is no extra cell to keep in step.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field

import pandas as pd

from .messages import FORM_LINK_RULE
from .values import column, is_true
from .values import text as _text


def _letter(v: object) -> str:
    return _text(v).removeprefix("Candidate ").strip()


@dataclass(frozen=True)
class Held:
    """An application waiting for a check: ids and sheet rows only, never its text."""

    application_id: str
    letter: str
    row: int | None  # its row on the Redaction report tab (None: no row there yet)


@dataclass
class ReviewState:
    required: bool
    held: list[Held] = field(default_factory=list)
    cleared: set[str] = field(default_factory=set)  # application ids that may be shown

    @property
    def held_letters(self) -> set[str]:
        return {h.letter for h in self.held if h.letter}

    @property
    def held_ids(self) -> set[str]:
        return {h.application_id for h in self.held}

    def summary(self) -> str:
        """'3 applications wait for a check of their redaction report: Redaction report
        rows 4, 7, 9' (empty when nothing is held)."""
        if not self.held:
            return ""
        n = len(self.held)
        rows = sorted(h.row for h in self.held if h.row is not None)
        words = (
            "1 application waits" if n == 1 else f"{n} applications wait"
        ) + " for a check of their redaction report"
        if rows:
            words += ": Redaction report row" + ("s " if len(rows) > 1 else " ")
            words += ", ".join(str(r) for r in rows)
        missing = n - len(rows)
        if missing:
            words += ("; " if rows else ": ") + (
                f"{missing} ha{'s' if missing == 1 else 've'} no row there yet "
                "(run 'corecruit redact')"
            )
        return words


NEXT_STEP = (
    "Read each of those rows and the anonymised answers, then fill in 'Reviewed by'. "
    "Until then they are not in the panel workbook or anyone's score form; the next run "
    "adds them."
)


def review_state(
    report: pd.DataFrame,
    key: pd.DataFrame,
    *,
    required: bool = True,
    rows: list[int] | None = None,
) -> ReviewState:
    """Which applications with a current (not retired) letter are held, and where.

    ``rows`` gives the sheet row of each report row when the frame's index is not
    the sheet row (a report built in memory, about to be written: row 2 onwards).
    """
    state = ReviewState(required=required)
    sheet_rows = rows if rows is not None else [_row(i) for i in report.index]
    reviewed: dict[str, tuple[bool, int | None]] = {}
    for app_id, by, sheet_row in zip(
        column(report, "application_id"), column(report, "reviewed_by"), sheet_rows, strict=True
    ):
        app = _text(app_id)
        if app:
            reviewed[app] = (bool(_text(by)), sheet_row)
    for app_id, retired, letter in zip(
        column(key, "application_id"),
        column(key, "retired"),
        column(key, "candidate_letter"),
        strict=True,
    ):
        app = _text(app_id)
        if not app or is_true(retired):
            continue
        ok, sheet_row = reviewed.get(app, (False, None))
        if ok or not required:
            state.cleared.add(app)
        else:
            state.held.append(Held(app, _letter(letter), sheet_row))
    state.held.sort(key=lambda h: (h.row is None, h.row or 0, h.application_id))
    return state


def _row(index: object) -> int | None:
    """The sheet row a store frame's index gives (numpy or Python integer), if it is one."""
    return int(index) if isinstance(index, numbers.Integral) and int(index) >= 2 else None


def _has_stage(df: pd.DataFrame | None, col: str, rule: str | None = None) -> bool:
    if df is None or not len(df) or col not in df.columns:
        return False
    return any(
        _text(r.get(col)) == "shortlisting" and (rule is None or _text(r.get("rule")) == rule)
        for _, r in df.iterrows()
    )


def panel_has_forms(
    form_links: pd.DataFrame,
    sent_messages: pd.DataFrame | None = None,
    raw_scores: pd.DataFrame | None = None,
) -> bool:
    """Whether the panel has started shortlisting: a shortlisting form on *Form links*, a
    shortlisting link in the job's own *Messages sent* log, or a shortlisting score. The
    logs count too because staff may clear or sort *Form links*; the panel must then
    keep what it has rather than lose every application while one is held."""
    return (
        _has_stage(form_links, "stage")
        or _has_stage(sent_messages, "occasion", rule=FORM_LINK_RULE)
        or _has_stage(raw_scores, "stage")
    )


def released(
    state: ReviewState,
    form_links: pd.DataFrame,
    sent_messages: pd.DataFrame | None = None,
    raw_scores: pd.DataFrame | None = None,
) -> bool:
    """May the panel have its workbook, forms and links? Only once nothing is held and
    there is something to show, or once the panel has started (see
    :func:`panel_has_forms`; then a held application waits on its own and the others
    stay). Always, with no review asked for."""
    return open_anyway(state) or panel_has_forms(form_links, sent_messages, raw_scores)


def open_anyway(state: ReviewState) -> bool:
    """Released whatever the panel has done (no review asked for, or nothing held and
    something cleared): then :func:`released` needs no form links, messages or scores,
    so a job need not read them."""
    return not state.required or (not state.held and bool(state.cleared))


def _day(d: dt.date) -> str:
    return f"{d:%A} {d.day} {d:%B %Y}"


def gate_words(
    state: ReviewState,
    form_links: pd.DataFrame,
    opens: dt.date,
    today: dt.date,
    sent_messages: pd.DataFrame | None = None,
    raw_scores: pd.DataFrame | None = None,
) -> str:
    """What is held, why, and what happens next, in plain words ('' when nothing is)."""
    if not state.held:
        return ""
    links = (
        f"the shortlisting links go out on {_day(opens)}, when shortlisting opens"
        if today < opens
        else "the shortlisting links go out at the next run"
    )
    if released(state, form_links, sent_messages, raw_scores):
        return (
            f"{state.summary()}. What was taken out of them is new or has changed since it "
            "was checked, so they are kept out of the panel workbook and the score forms "
            "(the other applications stay). Fill in 'Reviewed by' on those rows once you "
            "have read them; the next run adds them back."
        )
    return (
        f"{state.summary()}. Nothing has gone to the panel yet: the panel workbook's "
        "applications, the score forms and their links wait until every application has "
        "been checked. Fill in 'Reviewed by' on those rows once you have read them; then "
        f"the next run makes the forms, and {links}."
    )
