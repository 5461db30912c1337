"""Extra evidence: a lived-experience reviewer's view on a candidate's work. Pure.

Recorded against the candidate letter, checked, summarised for each letter beside
the panels' overall score, and counted in the score only when the campaign's
``[extra_evidence] counts_in_score`` is true (then it carries ``share`` of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from ..config.models import ExtraEvidence
from ..errors import Problem
from .values import text as _text

TAB = "extra_evidence"
HUNDRED = Decimal(100)


def check(
    evidence: pd.DataFrame, people_ids: set[str], letters: set[str], cfg: ExtraEvidence
) -> list[Problem]:
    out = []
    for i, r in evidence.iterrows():
        row = int(i)
        if _text(r.get("candidate_letter")).upper() not in letters:
            out.append(
                Problem(
                    "staff",
                    TAB,
                    "this is not a candidate letter in use",
                    row=row,
                    column="candidate_letter",
                )
            )
        if _text(r.get("reviewer")) not in people_ids:
            out.append(
                Problem(
                    "staff",
                    TAB,
                    "there is no one with this Person ID in the people tab",
                    row=row,
                    column="reviewer",
                )
            )
        s = r.get("score")
        if s is not None and s is not pd.NA and _text(s) != "":
            d = Decimal(str(s))
            if d != d.to_integral_value() or not cfg.scale.min <= int(d) <= cfg.scale.max:
                out.append(
                    Problem(
                        "staff",
                        TAB,
                        f"the score must be a whole number from {cfg.scale.min} "
                        f"to {cfg.scale.max}, or empty",
                        row=row,
                        column="score",
                    )
                )
    return out


def _q(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def summarise(
    evidence: pd.DataFrame,
    overall: Mapping[str, Decimal],
    cfg: ExtraEvidence,
) -> list[dict[str, Any]]:
    """One row per letter with evidence: views, evidence score, combined score if it counts."""
    rows: list[dict[str, Any]] = []
    if evidence.empty:
        return rows
    span = Decimal(cfg.scale.max - cfg.scale.min)
    ev = evidence.assign(_letter=evidence["candidate_letter"].map(lambda x: _text(x).upper()))
    for letter, g in sorted(ev.groupby("_letter"), key=lambda kv: (len(str(kv[0])), str(kv[0]))):
        scores = [
            (Decimal(str(s)) - cfg.scale.min) / span * HUNDRED
            for s in g["score"]
            if s is not None and s is not pd.NA and _text(s) != ""
        ]
        ev_score = _q(sum(scores, Decimal(0)) / len(scores)) if scores else None
        base = overall.get(str(letter))
        combined = None
        if cfg.counts_in_score and ev_score is not None and base is not None:
            combined = _q(base * (1 - cfg.share) + ev_score * cfg.share)
        views = [
            f"{_text(r.get('kind')) or 'work'}: {_text(r.get('view'))}" for _, r in g.iterrows()
        ]
        rows.append(
            {
                "candidate_letter": str(letter),
                "overall_score": base,
                "reviews": len(g),
                "evidence_score": ev_score,
                "counts": cfg.counts_in_score,
                "score_with_evidence": combined,
                "views": "\n".join(views),
            }
        )
    return rows


def overall_from_results(results: pd.DataFrame) -> dict[str, Decimal]:
    if results.empty:
        return {}
    r = results[results["stage"] == "interview"]
    return {
        _text(x["candidate_letter"]).upper(): Decimal(str(x["overall_score"]))
        for _, x in r.iterrows()
        if x["overall_score"] is not None and x["overall_score"] is not pd.NA
    }
