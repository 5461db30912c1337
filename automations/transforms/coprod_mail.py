"""The candidate pack's content: the questions with who asks them, and the panel. Pure.

(The keys and versions of once-only messages live in :mod:`.messages`.)
"""

from __future__ import annotations

import pandas as pd

from ..config.models import CampaignConfig
from .messages import short_name
from .values import is_true
from .values import text as _text

__all__ = ["pack_panel", "pack_questions"]


def pack_questions(campaign: CampaignConfig, people: pd.DataFrame) -> list[dict[str, str]]:
    """The questions as candidates get them, each with who asks it (their chosen name)."""
    rows = {_text(r.get("person_id")): r for _, r in people.iterrows()}
    out = []
    for q in campaign.questions:
        asker = ""
        if q.asker and q.asker in rows:
            r = rows[q.asker]
            asker = short_name(_text(r.get("introduction")), _text(r.get("name")), "")
        out.append({"text": q.text, "asker": asker})
    return out


def pack_panel(people: pd.DataFrame) -> list[str]:
    """How each interview panel member chose to be introduced (chair first). Nothing else."""
    rows = []
    for _, r in people.iterrows():
        role = _text(r.get("role"))
        if not (is_true(r.get("interviews")) or role == "supporting worker"):
            continue
        pid = _text(r.get("person_id"))
        intro = _text(r.get("introduction")) or short_name("", _text(r.get("name")), pid)
        rows.append((0 if role == "chair" else 1, intro.casefold(), intro))
    return [x[2] for x in sorted(rows)]
