"""Who was involved in which stage, and how we know. Pure.

:func:`derive` builds the involvement rows from what the workbook already shows:
scores, question views, attendance, extra evidence, feedback and expressions of
interest. The panel's make-up (3-4 people with lived experience, one with support
from the team, the same people shortlisting and interviewing) is checked by
:func:`automations.transforms.panels.panel_problems`, as ``corecruit check`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .values import is_true
from .values import text as _text

ATTENDANCE_STAGE = {
    "shortlisting": "shortlisting",
    "preparation meeting": "preparation meeting",
    "interview day": "interview",
    "decision meeting": "decision meeting",
    "feedback meeting": "feedback meeting",
    "check-in": "check-in",
    "induction planning": "induction planning",
    "question shaping": "question shaping",
}
PLANNED_FLAG = {"shortlisting": "shortlists", "interview": "interviews"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def derive(
    people: pd.DataFrame,
    *,
    raw_scores: pd.DataFrame,
    views: pd.DataFrame,
    attendance: pd.DataFrame,
    evidence: pd.DataFrame,
    feedback: pd.DataFrame,
    eoi: pd.DataFrame,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """One row per person and stage with evidence or a plan (job-owned columns only)."""
    kinds = {_text(r["person_id"]): _text(r.get("kind")) for _, r in people.iterrows()}
    facts: dict[tuple[str, str], list[str]] = {}

    def add(pid: str, stage: str, what: str) -> None:
        if pid:
            facts.setdefault((pid, stage), []).append(what)

    if len(raw_scores):
        for (pid, stage), g in raw_scores.groupby(["person_id", "stage"]):
            n = g["candidate_letter"].nunique()
            paper = (g["source"] == "paper").any()
            add(
                str(pid),
                str(stage),
                f"scored {_plural(n, 'candidate')}" + (" (some on paper)" if paper else ""),
            )
    if len(views):
        for pid, g in views.groupby("person_id"):
            add(
                str(pid),
                "question shaping",
                f"gave views on {_plural(g['draft_id'].nunique(), 'draft question')}",
            )
    if len(attendance):
        for _, a in attendance.iterrows():
            stage = ATTENDANCE_STAGE.get(_text(a.get("activity")))
            if stage:
                d = a.get("date")
                add(
                    _text(a.get("person_id")),
                    stage,
                    f"attended on {d:%d %b %Y}" if isinstance(d, dt.date) else "attended",
                )
    if len(evidence):
        for pid, g in evidence.groupby("reviewer"):
            add(
                str(pid),
                "extra evidence",
                f"reviewed work by {_plural(g['candidate_letter'].nunique(), 'candidate')}",
            )
    if len(feedback):
        for pid in feedback["person_id"]:
            add(_text(pid), "feedback", "gave feedback")
    if len(eoi):
        for _, e in eoi.iterrows():
            add(
                _text(e.get("person_id")),
                "expression of interest",
                f"answered: {_text(e.get('interested')) or 'no answer'}",
            )
    planned: set[tuple[str, str]] = set()
    for _, r in people.iterrows():
        pid = _text(r.get("person_id"))
        for stage, flag in PLANNED_FLAG.items():
            if is_true(r.get(flag)) and _text(r.get("role")) in ("chair", "panel member"):
                planned.add((pid, stage))
    rows = []
    for key in sorted(set(facts) | planned):
        pid, stage = key
        took = key in facts and not (
            stage == "expression of interest" and "answered: no" in facts[key]
        )
        row: dict[str, Any] = {
            "person_id": pid,
            "stage": stage,
            "kind": kinds.get(pid, ""),
            "planned": key in planned,
            "evidence": "; ".join(sorted(set(facts.get(key, [])))),
        }
        if took:
            row["took_part"] = True
        rows.append(row)
    return rows


def merge_rows(
    existing: pd.DataFrame, derived: list[dict[str, Any]], now: dt.datetime
) -> tuple[list[dict[str, Any]], int]:
    """Rows to upsert: only those that changed (staff's own 'took part' is never cleared)."""
    by_key = {(_text(r["person_id"]), _text(r["stage"])): r for _, r in existing.iterrows()}
    out = []
    for d in derived:
        old = by_key.get((d["person_id"], d["stage"]))
        if old is not None:
            same = all(
                (_text(old.get(k)) == _text(v))
                if k != "planned" and k != "took_part"
                else (is_true(old.get(k)) == bool(v))
                for k, v in d.items()
            )
            if same:
                continue
        out.append({**d, "updated_at": now})
    return out, len(out)


def involved_in(involvement: pd.DataFrame, stage: str) -> list[str]:
    """Person ids who took part in ``stage`` (e.g. everyone who interviewed, for the check-in)."""
    if involvement.empty:
        return []
    m = (involvement["stage"] == stage) & involvement["took_part"].map(is_true)
    return sorted({_text(x) for x in involvement.loc[m, "person_id"]})


def copy_eoi_to_people(
    people: pd.DataFrame, eoi: pd.DataFrame, fields: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[int]]:
    """People rows to upsert from answers not yet copied (latest answer per person wins)."""
    if eoi.empty:
        return [], []
    todo = eoi[eoi["copied_at"].isna()] if "copied_at" in eoi else eoi
    latest = todo.sort_values("submitted_at", na_position="first", kind="stable").drop_duplicates(
        "person_id", keep="last"
    )
    known = {_text(x) for x in people["person_id"]}
    rows = []
    for _, e in latest.iterrows():
        pid = _text(e.get("person_id"))
        if pid not in known:
            continue
        row: dict[str, Any] = {"person_id": pid}
        for src, dst in fields.items():
            v = e.get(src)
            if v is None or v is pd.NA or _text(v) == "":
                continue
            row[dst] = v
        rows.append(row)
    return rows, [int(i) for i in todo.index]
