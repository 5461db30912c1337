"""Builders for merge tests: raw score rows and People rows, straight from the templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from automations.store import make_frame
from automations.templates import load_workbook_spec

T0 = dt.datetime(2027, 1, 20, 10, 0)


def spec(tab: str) -> Any:
    return load_workbook_spec("staff").expand(4).tab(tab)


def person(pid: str, panel: str, role: str = "panel member", **kw: Any) -> dict[str, Any]:
    kind = kw.pop("kind", "council" if panel == "council" else "lived experience")
    return {
        "person_id": pid,
        "name": f"Name {pid}",
        "kind": kind,
        "role": role,
        "panel": panel,
        "shortlists": kw.pop("shortlists", True),
        "interviews": kw.pop("interviews", True),
        **kw,
    }


def people(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    df = make_frame(spec("people"), list(rows))
    df.index = pd.Index(range(2, len(df) + 2), name="row")
    return df


def score(
    pid: str,
    letter: str,
    qid: str,
    value: Any,
    *,
    stage: str = "interview",
    minutes: int = 0,
    comment: str = "",
    response: str | None = None,
) -> dict[str, Any]:
    return {
        "response_id": response or f"{stage}-{pid}-{letter}-{minutes}",
        "person_id": pid,
        "stage": stage,
        "candidate_letter": letter,
        "question_id": qid,
        "score": Decimal(str(value)) if isinstance(value, (int, str)) else value,
        "comment": comment,
        "submitted_at": T0 + dt.timedelta(minutes=minutes),
        "source": "local form",
    }


def raw(rows: Sequence[dict[str, Any]], first_row: int = 2) -> pd.DataFrame:
    df = make_frame(spec("raw_scores"), list(rows))
    df.index = pd.Index(range(first_row, first_row + len(df)), name="row")
    return df


def grid(
    pids: Sequence[str],
    letters: Sequence[str],
    qids: Sequence[str],
    value: Any,
    stage: str = "interview",
) -> list[dict[str, Any]]:
    """Every person scores every candidate on every question with ``value``(pid, letter, q)."""
    return [
        score(p, lt, q, value(p, lt, q) if callable(value) else value, stage=stage)
        for p in pids
        for lt in letters
        for q in qids
    ]
