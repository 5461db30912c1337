"""Feedback from everyone involved, summarised for the campaign. Pure.

The summary counts answers by group (lived experience, Council, candidates, the new
worker), gives the average of the two 1-to-5 questions, and lists what worked and
what to change in people's own words, without saying who wrote what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from .values import text as _text

GROUPS = ("lived experience", "council", "candidate", "new worker")


@dataclass
class Summary:
    responses: int = 0
    by_group: dict[str, int] = field(default_factory=dict)
    how_it_felt: Decimal | None = None
    listened_to: dict[str, Decimal | None] = field(default_factory=dict)  # by group
    what_worked: list[str] = field(default_factory=list)
    what_to_change: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.responses} feedback response(s)"]
        if self.by_group:
            out.append("From: " + ", ".join(f"{g} {n}" for g, n in self.by_group.items()))
        if self.how_it_felt is not None:
            out.append(f"How it felt: {self.how_it_felt} out of 5 on average")
        for g, v in self.listened_to.items():
            if v is not None:
                out.append(f"Felt listened to ({g}): {v} out of 5 on average")
        return out


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _ints(series: pd.Series) -> list[int]:
    out = []
    for v in series:
        try:
            if v is not None and v is not pd.NA and 1 <= int(v) <= 5:
                out.append(int(v))
        except (TypeError, ValueError):
            continue
    return out


def summarise(feedback: pd.DataFrame) -> Summary:
    s = Summary()
    if feedback.empty:
        return s
    fb = feedback.sort_values("submitted_at", na_position="first", kind="stable")
    s.responses = len(fb)
    kinds = fb["kind"].map(_text).replace("", "not said")
    for g in (*GROUPS, "not said"):
        n = int((kinds == g).sum())
        if n:
            s.by_group[g] = n
    s.how_it_felt = _mean(_ints(fb["how_it_felt"]))
    for g in s.by_group:
        s.listened_to[g] = _mean(_ints(fb.loc[kinds == g, "listened_to"]))
    s.what_worked = [t for t in (_text(x) for x in fb["what_worked"]) if t]
    s.what_to_change = [t for t in (_text(x) for x in fb["what_to_change"]) if t]
    return s


def summary_context(s: Summary) -> dict[str, Any]:
    return {
        "responses": s.responses,
        "by_group": s.by_group,
        "how_it_felt": s.how_it_felt,
        "listened_to": s.listened_to,
        "what_worked": s.what_worked,
        "what_to_change": s.what_to_change,
    }
