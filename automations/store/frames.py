"""Pure helpers on typed DataFrames: build, upsert by key, append new rows only.

Stores call these so that "run it again" is always safe: an upsert replaces the
row with the same key, an append adds only rows whose key is not there yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..templates import TabSpec
from .cells import dtype_for, empty_value, is_empty


def empty_frame(spec: TabSpec) -> pd.DataFrame:
    """An empty DataFrame with the tab's columns and dtypes."""
    return pd.DataFrame({c.id: pd.Series([], dtype=dtype_for(c.type)) for c in spec.columns})


def make_frame(spec: TabSpec, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a typed frame from dicts; missing columns are empty, unknown keys are an error."""
    rows = list(records)
    ids = spec.column_ids
    for r in rows:
        unknown = set(r) - set(ids)
        if unknown:
            raise KeyError(f"tab '{spec.id}' has no column '{sorted(unknown)[0]}'")
    data = {
        c.id: pd.Series(
            [
                r.get(c.id, empty_value(c.type))
                if not is_empty(r.get(c.id))
                else empty_value(c.type)
                for r in rows
            ],
            dtype=dtype_for(c.type),
        )
        for c in spec.columns
    }
    return pd.DataFrame(data, columns=ids)


def conform(spec: TabSpec, df: pd.DataFrame) -> pd.DataFrame:
    """Give ``df`` every template column (empty where missing) with the template's dtypes."""
    out = df.copy()
    for c in spec.columns:
        if c.id not in out.columns:
            out[c.id] = pd.Series(
                [empty_value(c.type)] * len(out), index=out.index, dtype=dtype_for(c.type)
            )
        else:
            col = out[c.id]
            if c.type == "text":
                out[c.id] = col.map(lambda v: "" if is_empty(v) else str(v)).astype(object)
            elif c.type in ("integer", "boolean"):
                out[c.id] = col.astype(dtype_for(c.type))
            else:
                out[c.id] = col.map(lambda v: None if is_empty(v) else v).astype(object)
    extras = [c for c in out.columns if c not in spec.column_ids]
    return out[spec.column_ids + extras]


def key_part(v: object) -> str:
    """One cell of a row's key as keys are compared: empty is "", anything else its text."""
    return "" if is_empty(v) else str(v)


def key_tuples(df: pd.DataFrame, key: Sequence[str]) -> list[tuple[str, ...]]:
    return [
        tuple(key_part(v) for v in row) for row in df[list(key)].itertuples(index=False, name=None)
    ]


def upsert_rows(
    spec: TabSpec, existing: pd.DataFrame, new: pd.DataFrame, key: Sequence[str] | None = None
) -> pd.DataFrame:
    """Replace rows of ``existing`` whose key is in ``new``; add the rest at the end.

    Only the columns present in ``new`` are replaced, so staff-filled columns of an
    existing row (a decision, an approval) are kept.
    """
    key = list(key or spec.key)
    if not key:
        raise ValueError(f"tab '{spec.id}' has no key to upsert by")
    existing = conform(spec, existing)
    if new.empty:
        return existing
    new = conform(spec, new)[[c for c in new.columns]]
    pos = {k: i for i, k in enumerate(key_tuples(existing, key))}
    out = existing.reset_index(drop=True)
    add: list[pd.Series] = []
    cols = [c for c in new.columns if c in out.columns]
    for k, (_, row) in zip(key_tuples(new, key), new.iterrows(), strict=True):
        if k in pos:
            i = pos[k]
            for c in cols:
                out.at[i, c] = row[c]
        else:
            pos[k] = len(out) + len(add)
            add.append(row)
    if add:
        out = pd.concat([out, conform(spec, pd.DataFrame(add))], ignore_index=True)
    return conform(spec, out)


def append_new(
    spec: TabSpec, existing: pd.DataFrame, new: pd.DataFrame, key: Sequence[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """Append rows of ``new`` whose key is not yet in ``existing``; return (frame, added)."""
    key = list(key or spec.key)
    existing = conform(spec, existing)
    if new.empty:
        return existing, 0
    seen = set(key_tuples(existing, key))
    keep = []
    for i, k in enumerate(key_tuples(new, key)):
        if k not in seen:
            seen.add(k)
            keep.append(i)
    if not keep:
        return existing, 0
    added = conform(spec, new.iloc[keep])
    out = pd.concat(
        [existing.reset_index(drop=True), added.reset_index(drop=True)], ignore_index=True
    )
    return conform(spec, out), len(keep)


def emptied(
    old: pd.DataFrame, new: pd.DataFrame, key: Sequence[str], columns: Sequence[str]
) -> list[str]:
    """Columns filled in some row of ``old`` and blank in every row of ``new`` that ``old`` had.

    What a job's output looks like when the input column it copies went missing (or was
    added back empty): a job checks this before writing, so answers are never replaced
    with blanks. A row that is gone from ``new`` does not count; nor does a column blank
    in only some rows (a person may clear one answer).
    """
    if old.empty or new.empty or any(k not in old.columns or k not in new.columns for k in key):
        return []
    kept = set(key_tuples(new, key)) & set(key_tuples(old, key))
    if not kept:
        return []
    was = old[[k in kept for k in key_tuples(old, key)]]
    now = new[[k in kept for k in key_tuples(new, key)]]
    return [
        c
        for c in columns
        if c in was.columns
        and c in now.columns
        and not all(is_empty(v) for v in was[c])
        and all(is_empty(v) for v in now[c])
    ]
