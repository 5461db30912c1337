"""Reading cell values the same way everywhere: empty, text and yes/no.

Cells arrive typed from the store, but staff type into spreadsheets, so a boolean
column can still hold "yes" or "TRUE" as text, and an empty cell can be None, pd.NA
or NaN. One definition keeps every job reading them alike.
"""

from __future__ import annotations

from typing import Any

from ..store.cells import is_empty

__all__ = ["is_empty", "is_true", "text"]


def text(v: Any) -> str:
    """The cell as trimmed text; '' for an empty cell."""
    return "" if is_empty(v) else str(v).strip()


def is_true(v: Any) -> bool:
    """A yes in a yes/no column: True, or text such as TRUE, yes, y, 1. Empty is no."""
    if is_empty(v):
        return False
    if isinstance(v, str):
        return v.strip().upper() in ("TRUE", "YES", "Y", "1")
    try:
        return bool(v)
    except TypeError:
        return False
