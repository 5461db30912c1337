"""What a job found that staff should look at, as rows for the 'Needs attention' tab. Pure.

Merge, rewards and expense forms raise the same kind of :class:`Issue`: a short code, a
key saying what it is about (stable across runs) and a reason in plain words that never
holds a name, an email or a value typed in a cell. Its ``exception_id`` is a hash of
those three, so a job run again lists nothing twice and staff's notes stay beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Issue", "issue_records"]


@dataclass(frozen=True)
class Issue:
    """Something staff should look at. ``reason`` is plain words and holds no names."""

    code: str
    key: str  # what it is about, stable across runs (a claim id, an attendance key, a row)
    reason: str
    source: str = ""  # where, in the tab title, row and column header staff see
    person_id: str = ""
    warning: bool = False  # True: handled (e.g. paid up to a cap), staff should still know
    origin: str = "rewards"  # the rules that raised it: the exception id's prefix

    @property
    def exception_id(self) -> str:
        h = hashlib.sha256(f"{self.code}\n{self.key}\n{self.reason}".encode()).hexdigest()
        return f"{self.origin}-{h[:12]}"


def issue_records(
    issues: Iterable[Issue], now: dt.datetime, job: str | None = None
) -> list[dict[str, Any]]:
    """Rows for the staff 'Needs attention' tab, one per distinct issue.

    ``job`` is the job named on each row; by default the rules that raised the issue."""
    seen: set[str] = set()
    out = []
    for i in issues:
        if i.exception_id in seen:
            continue
        seen.add(i.exception_id)
        out.append(
            {
                "exception_id": i.exception_id,
                "job": job or i.origin,
                "source": i.source,
                "reason": i.reason,
                "raised_at": now,
            }
        )
    return out
