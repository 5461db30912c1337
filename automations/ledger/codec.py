"""Cells and keys as JSON text, so equal values always make equal text.

A cell is first read the way its column is read (:func:`parse_cell`) and turned
back into what a store writes (:func:`to_storable`), so the same value read from
an ``.xlsx`` file, from Google Sheets or from a job's frame compares equal
(a score 87.50 written and 87.5 read back are one value). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from ..store.cells import Cell, CellError, NoSavedValue, parse_cell, to_storable, to_text

Tagged = Any  # a JSON value


def tag(v: Cell) -> Tagged:
    """A storable cell as a JSON value that keeps its type."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, Decimal):
        d = v.normalize()
        return {"n": format(d, "f")}
    if isinstance(v, dt.datetime):
        return {"t": v.isoformat(sep=" ")}
    if isinstance(v, dt.date):
        return {"d": v.isoformat()}
    return {"x": to_text(v)}


def untag(j: Tagged) -> Cell:
    """The storable cell back from :func:`tag` (a bad cell comes back as its text)."""
    if j is None or isinstance(j, bool | int | str):
        return j
    if isinstance(j, dict):
        if "n" in j:
            return Decimal(j["n"])
        if "t" in j:
            return dt.datetime.fromisoformat(j["t"])
        if "d" in j:
            return dt.date.fromisoformat(j["d"])
        if "x" in j:
            return str(j["x"])
    return to_text(j)


def canon(raw: Cell, col_type: str, *, as_number: bool = False) -> Tagged:
    """One cell as the ledger keeps it: parsed by its column's type, then tagged.

    A cell that does not fit its type is kept as its text (``{"x": …}``), so a
    person's typing is never lost or taken for an empty cell.
    """
    if col_type == "text":  # the common case, without the general path (same result)
        if type(raw) is str:
            return raw or None
        if raw is None:
            return None
        if isinstance(raw, NoSavedValue):
            return {"x": ""}
        return to_text(raw) or None
    try:
        value = parse_cell(raw, col_type, negative=True)
    except CellError:
        return {"x": to_text(raw)}
    stored = to_storable(value, col_type, as_number=as_number)
    if isinstance(stored, str) and stored == "":
        return None
    return tag(stored)


# One encoder for every call: json.dumps with options builds a new one each time
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def dumps(obj: Any) -> str:
    return _ENCODER.encode(obj)


def loads(text: str) -> Any:
    return json.loads(text)
