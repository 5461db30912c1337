"""Scores land in the workbook as numbers (they sort and sum); text stays text; money stays exact.

Both stores: the local .xlsx (looked at with openpyxl and a second reader, calamine)
and Google Sheets (the emulator, written with valueInputOption RAW).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import openpyxl
import pandas as pd

from automations.context import Context
from automations.store import make_frame
from automations.store.base import TableStore

RESULTS = [
    {
        "stage": "shortlisting",
        "candidate_letter": "A",
        "council_score": Decimal("87.50"),
        "lived_experience_score": Decimal("3.25"),
        "overall_score": Decimal("0.1"),
        "rank": 1,
        "flags": "=1+1",  # a person's text: never a formula
    },
    {
        "stage": "shortlisting",
        "candidate_letter": "B",
        "overall_score": Decimal("1.23456789012345678"),  # more digits than a number cell holds
        "rank": 2,
        "flags": "+44 7700 900123",
    },
]
LEDGER = [{"line_key": "k1", "person_id": "p03", "amount": Decimal("12.50")}]


def _write_and_look(store: TableStore) -> dict[str, list[Any]]:
    store.write({"results": make_frame(store.tab("results"), RESULTS)})
    store.write({"rewards_ledger": make_frame(store.tab("rewards_ledger"), LEDGER)})
    store.forget()
    grids = store._read_grids([store.tab("results"), store.tab("rewards_ledger")])
    out: dict[str, list[Any]] = {}
    for tab, grid in grids.items():
        assert grid is not None
        ids = store._map_header(store.tab(tab), grid.header)
        for i, cid in enumerate(ids):
            out[f"{tab}.{cid}"] = [r[i] if i < len(r) else None for r in grid.rows]
    return out


def _same_typed_values_back(store: TableStore) -> None:
    store.forget()
    back = store.read_one("results")
    assert back["council_score"].iloc[0] == Decimal("87.50")
    assert list(back["overall_score"]) == [Decimal("0.1"), Decimal("1.23456789012345678")]
    assert list(back["flags"]) == ["=1+1", "+44 7700 900123"]
    assert store.read_one("rewards_ledger")["amount"].iloc[0] == Decimal("12.50")


def _number(v: Any) -> Decimal:
    """A number cell's value (float from Google, Decimal from the xlsx reader); never text."""
    assert isinstance(v, int | float | Decimal) and not isinstance(v, bool), repr(v)
    return Decimal(str(v))


def _check(cells: dict[str, list[Any]]) -> None:
    assert _number(cells["results.council_score"][0]) == Decimal("87.5")
    assert _number(cells["results.lived_experience_score"][0]) == Decimal("3.25")
    assert _number(cells["results.overall_score"][0]) == Decimal("0.1")
    assert [_number(v) for v in cells["results.rank"]] == [1, 2]
    # too many digits for a number cell to hold exactly: kept as exact text
    assert cells["results.overall_score"][1] == "1.23456789012345678"
    assert cells["results.flags"] == ["=1+1", "+44 7700 900123"]
    assert cells["rewards_ledger.amount"] == ["12.50"]  # money: exact text, as ever


def test_local_scores_are_number_cells(ctx: Context) -> None:
    staff = ctx.stores.staff
    _check(_write_and_look(staff))
    path = staff.path  # type: ignore[attr-defined]
    ws = openpyxl.load_workbook(path)["Results"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index("Council panel score") + 1)
    assert cell.data_type == "n" and cell.number_format == "0.00"  # shows 87.50
    flags = ws.cell(2, header.index("Flags") + 1)
    assert flags.data_type == "s" and flags.quotePrefix
    other = pd.read_excel(path, sheet_name="Results", engine="calamine")
    assert other["Council panel score"].dtype.kind == "f"  # a second reader sees a number
    assert other["Council panel score"].sum() == 87.5
    _same_typed_values_back(staff)


def test_google_scores_are_json_numbers(google_ctx: Any) -> None:
    staff = google_ctx.stores.staff
    _check(_write_and_look(staff))
    _same_typed_values_back(staff)
