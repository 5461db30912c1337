"""Turning sheet cells into typed values and back, the same for every store.

Text stays text: a phone number, an id with leading zeros or ``=1+1`` is read as
the string it is. Money and scores are ``Decimal``; nothing here makes a float.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from ..transforms.money import NumberError, parse_money, parse_number
from ..transforms.values import is_empty, parse_date, uk_datetime, yes_no


class NoSavedValue:
    """A formula cell whose file holds no saved result.

    openpyxl (and some other tools) save a formula without calculating it, so reading
    the values gives nothing: that is not an empty cell, and must never be read as one.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<formula with no saved value>"

    def __str__(self) -> str:
        return ""


NO_SAVED_VALUE = NoSavedValue()
FORMULA_NO_VALUE = "this cell holds a formula with no saved value; type the value instead"

Cell = str | int | float | bool | dt.date | dt.datetime | Decimal | NoSavedValue | None

FORMULA_START = ("=", "+", "-", "@")


class CellError(ValueError):
    """A cell's value does not fit its column type. The message never holds the value."""


def _float_to_text(v: float) -> str:
    return str(int(v)) if v.is_integer() else repr(v)


def to_text(v: Cell) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return _float_to_text(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ", timespec="seconds" if v.microsecond == 0 else "auto")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def parse_cell(v: Cell, col_type: str, *, negative: bool = True) -> Any:
    """Convert one cell to the column's Python type. Empty gives the empty value.

    ``negative=False`` refuses an amount below £0.00 in a money column people type in
    (an earnings limit, a claim): only amounts a job wrote (reversals) may be negative."""
    if isinstance(v, NoSavedValue):
        raise CellError(FORMULA_NO_VALUE)
    if isinstance(v, str):
        if col_type == "text":
            return v
        v = v.strip()
        if v == "":
            v = None
    if col_type == "text":
        return to_text(v)
    if v is None:
        return pd.NA if col_type in ("integer", "boolean") else None
    try:
        if col_type == "integer":
            if isinstance(v, bool):
                raise CellError("expected a whole number")
            if isinstance(v, int):
                return v
            if isinstance(v, float) and v.is_integer():
                return int(v)
            if isinstance(v, (str, Decimal)) and re.fullmatch(r"[+-]?\d+(\.0*)?", str(v)):
                return int(Decimal(str(v)))
            raise CellError("expected a whole number")
        if col_type in ("decimal", "money"):
            if isinstance(v, (bool, dt.date, dt.datetime)):
                raise CellError("expected a number")
            try:  # one strict reader: no exponent, NaN or decimal comma
                if col_type == "money":
                    return parse_money(v, negative=negative)
                return parse_number(v, currency=True)
            except NumberError as exc:
                raise CellError(str(exc)) from None
        if col_type == "boolean":
            answer = yes_no(v)
            if answer is None:
                raise CellError("expected TRUE or FALSE")
            return answer
        if col_type == "date":
            return parse_date(v)
        if col_type == "datetime":
            if isinstance(v, dt.datetime):
                return v.replace(tzinfo=None) if v.tzinfo else v
            if isinstance(v, dt.date):
                return dt.datetime(v.year, v.month, v.day)
            s = str(v)
            uk = uk_datetime(s)
            if uk:
                return uk
            parsed = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed
    except CellError:
        raise
    except (ValueError, InvalidOperation, TypeError):
        pass
    expected = {
        "integer": "a whole number",
        "decimal": "a number such as 12.50",
        "date": "a date such as 2027-02-15 or 15/02/2027",
        "datetime": "a date and time such as 2027-02-15 10:30",
        "boolean": "TRUE or FALSE",
    }[col_type]
    raise CellError(f"expected {expected}")


_MISSING = object()


def parse_column(
    cells: Sequence[Cell], col_type: str, *, negative: bool = True
) -> tuple[list[Any], dict[int, CellError]]:
    """:func:`parse_cell` down a whole column: the values, and the error at each bad place
    (its value left empty). The same answers, cheaper: a text cell that is text is
    itself, and each distinct text or whole number elsewhere is read once (a score
    column of thousands of rows holds a handful of distinct values)."""
    out: list[Any] = []
    bad: dict[int, CellError] = {}
    seen: dict[tuple[type, Any], Any] = {}
    text = col_type == "text"
    for i, v in enumerate(cells):
        tv = type(v)
        if text and tv is str:
            out.append(v)
            continue
        exact = tv is str or tv is int or v is None  # equal means the same cell
        got = seen.get((tv, v), _MISSING) if exact else _MISSING
        if got is _MISSING:
            try:
                got = parse_cell(v, col_type, negative=negative)
            except CellError as exc:
                got = exc
            if exact:
                seen[(tv, v)] = got
        if isinstance(got, CellError):
            bad[i] = got
            got = parse_cell(None, col_type)
        out.append(got)
    return out, bad


def empty_value(col_type: str) -> Any:
    if col_type == "text":
        return ""
    if col_type in ("integer", "boolean"):
        return pd.NA
    return None


def dtype_for(col_type: str) -> str:
    return {"integer": "Int64", "boolean": "boolean"}.get(col_type, "object")


def exact_as_number(d: Decimal) -> bool:
    """Whether a spreadsheet number (a double) holds ``d`` exactly as written back.

    Up to 15 significant digits survive the round trip through a double and its
    shortest text, so the value read back is the same Decimal (a trailing zero
    aside: 87.50 comes back as 87.5, the same number).
    """
    return d.is_finite() and len(d.normalize().as_tuple().digits) <= 15 and abs(d) < Decimal("1e15")


def to_storable(v: Any, col_type: str, *, as_number: bool = False) -> Cell:
    """Typed value -> the cell value a store writes (``None`` for empty).

    ``as_number``: a decimal (a score, not money) is written as a number cell, so it
    sorts and sums in Excel and Sheets; money (type ``money``) stays exact text.
    """
    if is_empty(v):
        return None
    if col_type == "text":
        return to_text(v)
    if col_type == "integer":
        return int(v)
    if col_type in ("decimal", "money"):
        d = v if isinstance(v, Decimal) else Decimal(str(v))
        if as_number and exact_as_number(d):
            return d  # a number cell (never a float here: the store writes its digits)
        return format(d, "f")  # kept as text: money is never a float
    if col_type == "boolean":
        return bool(v)
    if col_type == "date":
        return v.date() if isinstance(v, dt.datetime) else v
    if col_type == "datetime":
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        return v.replace(tzinfo=None, microsecond=0) if isinstance(v, dt.datetime) else v
    return to_text(v)


def storable_column(values: Sequence[Any], col_type: str, *, as_number: bool = False) -> list[Cell]:
    """:func:`to_storable` down a column (text that is text is written as it is)."""
    if col_type == "text":
        return share_equal(
            [
                (v or None) if type(v) is str else to_storable(v, col_type, as_number=as_number)
                for v in values
            ]
        )
    out: list[Cell] = []
    seen: dict[tuple[Any, ...], Cell] = {}
    for v in values:
        t = type(v)
        if t not in _SAME_STORED or (t is dt.datetime and v.tzinfo is not None):
            out.append(to_storable(v, col_type, as_number=as_number))
            continue
        if t is Decimal:  # equal Decimals can be written differently: 87.50 is not 87.5
            if not v.is_finite():
                out.append(to_storable(v, col_type, as_number=as_number))
                continue
            k: tuple[Any, ...] = (t, v, str(v))
        else:
            k = (t, v)
        got = seen.get(k, _MISSING)
        if got is _MISSING:  # each distinct value once (a score column has a handful)
            got = to_storable(v, col_type, as_number=as_number)
            if len(seen) < SHARE_LIMIT:
                seen[k] = got
        out.append(got)  # type: ignore[arg-type]
    return share_equal(out)


# Kinds whose equal values (of one type; a Decimal with the same text) are stored alike
_SAME_STORED = frozenset({str, int, Decimal, dt.date, dt.datetime})


_SHAREABLE = frozenset({str, int, float, dt.date, dt.datetime})
SHARE_LIMIT = 50_000  # distinct values a column remembers (a column of free text stops early)


def share_equal(column: list[Cell]) -> list[Cell]:
    """The column with equal cells made one object (in place, and returned).

    Why: a tab of 160,000 rows repeats the same reviewer, candidate, question, time and
    score in every row, each as its own object when read or built; one object per
    distinct value is a third of the memory. Only values whose equal ones read back
    alike are shared, of the same type (1, 1.0 and True are equal but not the same cell;
    Decimal 87.50 is not 87.5, a float 0.0 not -0.0, an aware datetime keeps its zone);
    new values once the column has seen :data:`SHARE_LIMIT` of them are left as they are.
    """
    seen: dict[tuple[type, Any], Cell] = {}
    for i, v in enumerate(column):
        t = type(v)
        if t not in _SHAREABLE or (t is float and v == 0) or (t is dt.datetime and v.tzinfo):  # type: ignore[union-attr]
            continue
        k = (t, v)
        got = seen.get(k)
        if got is None:
            if len(seen) < SHARE_LIMIT:
                seen[k] = v
        elif got is not v:
            column[i] = got
    return column


def share_equal_rows(rows: list[list[Cell]]) -> list[list[Cell]]:
    """:func:`share_equal` down each column of a grid's rows (in place, and returned)."""
    width = max(map(len, rows), default=0)
    for j in range(width):
        col = [r[j] if j < len(r) else None for r in rows]
        share_equal(col)
        for r, v in zip(rows, col, strict=True):
            if v is not None and r[j] is not v:
                r[j] = v
    return rows
