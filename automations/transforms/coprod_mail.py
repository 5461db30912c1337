"""Once-only messages for the co-production jobs, and the candidate pack's content. Pure.

Each message has a base key ``rule|person|campaign|occasion`` and a fingerprint
of its facts, like the reminders. :func:`next_version` reads the sent-messages log
and says whether to send (first time, a retry after a failure, or a corrected
version when the facts changed) or not (already sent, or not yet settled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..config.models import CampaignConfig
from .reminders import DELIVERED, _log_index, fingerprint, short_name
from .values import is_true
from .values import text as _text

__all__ = ["Send", "fingerprint", "log_index", "next_version", "pack_panel", "pack_questions"]


@dataclass(frozen=True)
class Send:
    version: int
    correction: bool
    retry: bool


def log_index(log: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    return _log_index(log)


def next_version(history: Sequence[Mapping[str, Any]], content_hash: str) -> Send | None:
    """What to do for one base key, given its rows in the log (oldest version first)."""
    if any(_text(h.get("status")) == "intended" for h in history):
        return None  # an earlier send is not settled yet: never risk a second copy
    if not history:
        return Send(1, False, False)
    latest = history[-1]
    status = _text(latest.get("status"))
    if status == "failed":
        told = [h for h in history[:-1] if _text(h.get("status")) in DELIVERED]
        return Send(int(latest["_version"]), bool(told), True)
    if status in DELIVERED and _text(latest.get("content_hash")) == content_hash:
        return None
    if status not in DELIVERED:
        return None
    return Send(int(latest["_version"]) + 1, True, False)


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
