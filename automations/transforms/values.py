"""The one reader of cell values: empty, text, yes/no, numbers and dates. Pure.

Cells arrive typed from the store, but staff type into spreadsheets, so a yes/no
column can still hold "yes" or "TRUE" as text, a date can be "15/02/2027", and an empty
cell can be None, pd.NA or NaN. Every job, report and store reads them through these
functions, so "what counts as yes" or "what is a date" has one answer. The store's
strict reader (:func:`automations.store.cells.parse_cell`) uses the same words and
date forms, and raises where these lenient readers give ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from .money import NumberError, parse_number

__all__ = [
    "NO",
    "YES",
    "as_date",
    "as_decimal",
    "cell_key",
    "column",
    "is_blank",
    "is_empty",
    "is_true",
    "parse_date",
    "same_rows",
    "same_values",
    "text",
    "uk_datetime",
    "yes_no",
]

# What a person may type in a yes/no column (compared lower-case, trimmed).
YES = frozenset({"true", "yes", "y", "1", "x", "✓"})
NO = frozenset({"false", "no", "n", "0"})

_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def column(df: pd.DataFrame, name: str) -> list[Any]:
    """A column's cells as Python objects, None in every row when the column is missing.

    Zipping a few of these is what ``iterrows`` does for a loop that reads a few columns,
    without building a Series per row (that was most of the time of some jobs).
    """
    return df[name].tolist() if name in df.columns else [None] * len(df)


def is_empty(v: Any) -> bool:
    """Nothing in the cell: None, '', pd.NA, NaN or NaT (a space is not empty: see is_blank)."""
    if v is None:
        return True
    if isinstance(v, str):
        return v == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def is_blank(v: Any) -> bool:
    """Empty as a person sees it: an empty cell, or one holding only spaces."""
    return is_empty(v) or (isinstance(v, str) and v.strip() == "")


def text(v: Any) -> str:
    """The cell as trimmed text; '' for an empty cell."""
    return "" if is_empty(v) else str(v).strip()


def yes_no(v: Any) -> bool | None:
    """True or False for a yes/no answer (TRUE, yes, y, 1, x, ✓ / FALSE, no, n, 0); None
    for anything else, so a strict reader can say it is not a yes/no answer."""
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in YES:
        return True
    if s in NO:
        return False
    return None


def is_true(v: Any) -> bool:
    """A yes in a yes/no column: True, or text in :data:`YES`. Empty, and anything else, is no."""
    if is_empty(v):
        return False
    if isinstance(v, str):
        return v.strip().lower() in YES
    try:
        return bool(v)
    except TypeError:
        return False


def as_decimal(v: Any) -> Decimal | None:
    """A number by the one strict grammar (£ allowed), or None when empty or not a number."""
    if is_blank(v):
        return None
    if isinstance(v, Decimal):
        return v if v.is_finite() else None
    try:
        return parse_number(v, currency=True)
    except NumberError:
        return None


def uk_datetime(s: str) -> dt.datetime | None:
    """'15/02/2027' or '15/02/2027 10:30' (day first, as UK staff type it), else None."""
    m = _UK_DATE.match(s)
    if not m:
        return None
    d, mo, y, h, mi, sec = m.groups()
    return dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))


def parse_date(v: Any) -> dt.date:
    """A date from a date, a datetime, '15/02/2027' or ISO text. Raises ValueError."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    uk = uk_datetime(s)
    if uk:
        return uk.date()
    return dt.date.fromisoformat(s[:10])


def as_date(v: Any) -> dt.date | None:
    """The day a cell holds, or None when it is empty or not a date."""
    if is_blank(v):
        return None
    try:
        return parse_date(v)
    except (ValueError, TypeError):
        return None


NUMBER_TYPES = ("integer", "decimal", "money")


def cell_key(v: Any, col_type: str | None = None) -> Any:
    """What a cell says, for telling whether writing it again would change anything.

    Empty (None, '', NA, NaN or only spaces) is None, whatever the type. ``text`` is
    trimmed; numbers compare by value (87.5 read back from a number cell is the 87.50
    worked out); ``boolean`` by the answer (empty is no); dates by the day; ``None``
    (type not known) as the value is. A value that does not read as its type stays as it is.
    """
    if col_type == "boolean":
        return is_true(v)
    if is_blank(v):
        return None
    if col_type == "text":
        return str(v).strip()
    if col_type in NUMBER_TYPES:
        d = as_decimal(v)
        return v if d is None else d
    if col_type == "date":
        return as_date(v) or v
    if col_type == "datetime" and isinstance(v, dt.datetime):
        return v.replace(tzinfo=None, microsecond=0)
    return v


def _types(columns: Mapping[str, str | None] | Iterable[str]) -> dict[str, str | None]:
    if isinstance(columns, Mapping):
        return dict(columns)
    return dict.fromkeys(columns)


def same_values(
    a: Mapping[str, Any], b: Mapping[str, Any], columns: Mapping[str, str | None] | Iterable[str]
) -> bool:
    """Whether two rows say the same in these columns (a mapping gives each column's type)."""
    return all(cell_key(a.get(c), t) == cell_key(b.get(c), t) for c, t in _types(columns).items())


def same_rows(
    a: pd.DataFrame | Iterable[Mapping[str, Any]],
    b: pd.DataFrame | Iterable[Mapping[str, Any]],
    columns: Mapping[str, str | None] | Iterable[str],
    *,
    ordered: bool = True,
) -> bool:
    """Whether two tables say the same in these columns: row by row, or (``ordered=False``)
    the same rows in any order. A frame without one of the columns is never the same."""
    types = _types(columns)

    def keys(t: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]] | None:
        if isinstance(t, pd.DataFrame):
            if any(c not in t.columns for c in types):
                return None
            t = t.to_dict("records")
        return [tuple(cell_key(r.get(c), ty) for c, ty in types.items()) for r in t]

    ka, kb = keys(a), keys(b)
    if ka is None or kb is None or len(ka) != len(kb):
        return False
    return ka == kb if ordered else Counter(ka) == Counter(kb)
