"""Shared by the store tests: rows of every cell type the stores must round-trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st


def rows_of(cell_text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A row of the test tab: three text columns from ``cell_text`` and one of each type."""
    return st.fixed_dictionaries(
        {
            "a": cell_text,
            "b": cell_text,
            "c": cell_text,
            "n": st.one_of(st.none(), st.integers(-(10**12), 10**12)),
            "money": st.one_of(
                st.none(),
                st.decimals(
                    min_value=-(10**6),
                    max_value=10**6,
                    places=2,
                    allow_nan=False,
                    allow_infinity=False,
                ),
            ),
            "day": st.one_of(st.none(), st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1))),
            "at": st.one_of(
                st.none(),
                st.datetimes(dt.datetime(1950, 1, 1), dt.datetime(2100, 1, 1)).map(
                    lambda d: d.replace(microsecond=0)
                ),
            ),
            "ok": st.one_of(st.none(), st.booleans()),
        }
    )
