"""``init`` at the start of each run reads header rows only, and only those of tabs whose
token moved: a tab is read up to the end of its first row in the sheet's XML, the same
cells calamine reads there (or by calamine, where the row holds anything less sure).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from automations.context import Context
from automations.store import local
from automations.store.local import LocalStore, _cell, _sheet_parts, _Snapshot


def _calamine_first_row(data: bytes, title: str) -> list[Any]:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    raw = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    row = [_cell(v) for v in raw[0]] if raw else []
    while row and row[-1] is None:
        row.pop()
    return row


def _snapshot(path: Path) -> _Snapshot:
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = _sheet_parts(zf)
    return _Snapshot((0,), data, parts)


def test_first_rows_read_as_calamine_reads_them(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Plain"
    ws.append(["Person id", "Name & role", "<Stage>", 'He said "hi"', "Café ✓", None, "Last"])
    ws.append(["p01", "x", "y", "z", "w", None, "v"])
    odd = wb.create_sheet("Odd")
    odd.append(["  spaced  ", "x", 3, "=1+1"])
    rich = wb.create_sheet("Rich")
    rich["A1"] = CellRichText(["Bold", TextBlock(InlineFont(b=True), " part")])
    rich["B1"] = "after"
    wb.create_sheet("Empty")
    late = wb.create_sheet("Starts late")
    late["A3"] = "row three"
    esc = wb.create_sheet("Escaped")
    esc.append(["a_x000D_b", "tail"])
    path = tmp_path / "odd.xlsx"
    wb.save(path)
    snap = _snapshot(path)
    data = path.read_bytes()
    sure = 0
    for title in snap.parts:
        got = snap.first_row(title)
        want = _calamine_first_row(data, title)
        if got is not None:  # when it is sure, it is right
            sure += 1
            assert got == want, title
        assert snap.header(title) == want, title  # and the header a save checks, always
    assert sure >= 3  # the plain, the empty and the late one at least
    assert snap.first_row("Plain") == [
        "Person id",
        "Name & role",
        "<Stage>",
        'He said "hi"',
        "Café ✓",
        None,
        "Last",
    ]


def test_a_run_start_after_an_export_reads_no_grid(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = ctx.stores.staff
    assert isinstance(st, LocalStore)
    first = st.init(add_tabs=False)  # checked once: each tab's header kept with its token
    log = st.read_one("run_log")
    st.write({"run_log": log})  # nothing changed: no save
    people = st.read_one("people")
    people.loc[people.index[0], "name"] = "Someone Else"
    st.write({"people": people})  # the record exports one tab

    grids: list[str] = []
    real_rows = _Snapshot.rows

    def rows(self: _Snapshot, title: str) -> Any:
        grids.append(title)
        return real_rows(self, title)

    monkeypatch.setattr(_Snapshot, "rows", rows)
    firsts: list[str] = []
    real_first = _Snapshot.first_row

    def first_row(self: _Snapshot, title: str) -> Any:
        firsts.append(title)
        return real_first(self, title)

    monkeypatch.setattr(_Snapshot, "first_row", first_row)
    again = st.init(add_tabs=False)
    assert grids == []  # no tab read in full
    assert firsts == ["People"]  # only the header of the tab whose token moved
    assert (again.tabs_missing, again.columns_missing) == (
        first.tabs_missing,
        first.columns_missing,
    )
    assert not again.columns_added and not again.tabs_added

    # A header renamed by hand is still seen (and the same as a full check finds it).
    monkeypatch.setattr(_Snapshot, "rows", real_rows)
    monkeypatch.setattr(_Snapshot, "first_row", real_first)
    path = Path(st.location)
    wb = openpyxl.load_workbook(path)
    wb["People"]["B1"] = "Full name"
    wb.save(path)
    local._READS.clear()
    fresh = st.init(add_tabs=False)
    assert st.sync is not None
    st.sync.ledger.set_mark(st.spec.name, local.INIT_MARK, None)  # a full check of every tab
    local._READS.clear()
    full = st.init(add_tabs=False)
    assert (fresh.tabs_missing, fresh.columns_missing, fresh.columns_added) == (
        full.tabs_missing,
        full.columns_missing,
        full.columns_added,
    )
