"""The local store reads with calamine, only when the file changed, and saves only changes.

calamine and openpyxl must read every cell the same (the store's contract was written
against openpyxl); a workbook untouched since the last read is not read again; a write
that changes nothing leaves the file as it is (same inode, same time, no save).
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import time_machine
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.jobs.redact import redact_job
from automations.review import mark_example_reviewed
from automations.store import LocalStore, make_frame
from automations.store import local as local_mod
from automations.store.base import Grid
from automations.store.cells import Cell
from automations.templates import ColumnSpec, TabSpec, WorkbookSpec
from automations.workspace import init_campaign


def _spec() -> WorkbookSpec:
    things = TabSpec(
        id="things",
        label="Things",
        workbook="staff",
        key=("id",),
        columns=(
            ColumnSpec("id", "ID", required=True),
            ColumnSpec("a", "A"),
            ColumnSpec("n", "Number", type="integer"),
            ColumnSpec("money", "Money", type="decimal"),
            ColumnSpec("day", "Day", type="date"),
            ColumnSpec("at", "At", type="datetime"),
            ColumnSpec("ok", "OK", type="boolean"),
        ),
    )
    odd = TabSpec(id="odd", label="Odd", workbook="staff", columns=(ColumnSpec("x", "X"),))
    return WorkbookSpec("staff", {"things": things, "odd": odd})


def _rows(grid: Grid | None) -> tuple[list[str], list[list[Cell]]]:
    """A grid without trailing empty cells and rows (the readers pad differently)."""
    assert grid is not None
    rows = [list(r) for r in grid.rows]
    for r in rows:
        while r and r[-1] is None:
            r.pop()
    while rows and not rows[-1]:
        rows.pop()
    return grid.header, rows


def _agree(store: LocalStore, fast_expected: bool = True) -> int:
    """Both readers give the same grid for every tab; returns how many cells were compared."""
    tabs = list(store.spec.tabs.values())
    store.forget()
    fast = store._read_grids(tabs)
    store._drop_cached()  # openpyxl from the file, not the copy a write left in memory
    slow = store._read_openpyxl(tabs)
    cells = 0
    for spec in tabs:
        if slow[spec.id] is None:
            assert fast[spec.id] is None
            continue
        f, s = _rows(fast[spec.id]), _rows(slow[spec.id])
        assert f[0] == s[0], spec.id
        assert len(f[1]) == len(s[1]), spec.id
        for i, (a, b) in enumerate(zip(f[1], s[1], strict=True)):
            assert len(a) == len(b), (spec.id, i)
            for j, (x, y) in enumerate(zip(a, b, strict=True)):
                # the same value and the same kind of value (3 == 3.0 would hide a change)
                assert x == y and type(x) is type(y), (spec.id, i + 2, j + 1, x, y)
                cells += 1
    if fast_expected:
        snap = local_mod._READS[store._key]
        assert all(snap.rows(t) is not None for t in snap.titles), "calamine was not used"
    return cells


HOSTILE: list[Any] = [
    "_x0041_ literal",  # an escape written as text: the openpyxl path reads it
    "a\x01b",
    "line\r\nbreak",
    "tab\there",
    "naïve café 日本 😀",
    "  spaces  ",
    "'quoted",
    "0012",
    "+44 7700 900123",
    "=1+1",  # text that looks like a formula (written as text)
    "@x",
    "",
]


def _hostile(path: Path, with_escape: bool) -> LocalStore:
    store = LocalStore(_spec(), path)
    store.init()
    frame = make_frame(
        store.tab("things"),
        [
            {
                "id": f"r{i}",
                "a": text,
                "n": i * 1000 if i % 3 else pd_na(),
                "money": [Decimal("12.50"), Decimal("0.1"), Decimal("3"), None][i % 4],
                "day": dt.date(2027, 1, 1 + i),
                "at": dt.datetime(2027, 2, 3, 10, 30 + i, 15 if i % 2 else 0),
                "ok": [True, False, None][i % 3],
            }
            for i, text in enumerate(HOSTILE if with_escape else HOSTILE[1:])
        ],
    )
    store.write({"things": frame})
    # Cells people make in Excel: numbers of every kind, dates with other formats, a time,
    # a sparse layout (row and column gaps) and text in an unheaded column.
    wb = openpyxl.load_workbook(path)
    ws = wb["Odd"]
    ws["A1"] = "X"
    cells: list[tuple[str, Any, str | None]] = [
        ("A3", 3, None),
        ("A4", 2.5, None),
        ("A5", 123456789012, None),
        ("A6", 1e17, None),
        ("A7", -0.000125, None),
        ("A8", True, None),
        ("A9", dt.datetime(2027, 3, 4), "dd/mm/yyyy"),
        ("A10", dt.datetime(2027, 3, 4, 17, 5), "d mmm yyyy h:mm"),
        ("A11", dt.time(9, 45), "h:mm"),
        ("A12", 0.5, "0%"),
        ("A13", 1234.5, "#,##0.00"),
        ("D15", "far away", None),
        ("A20", "after a gap", None),
    ]
    for ref, value, fmt in cells:
        ws[ref] = value
        if fmt:
            ws[ref].number_format = fmt
    ws["A2"].font = openpyxl.styles.Font(bold=True)  # a styled empty cell
    wb.save(path)
    return store


def pd_na() -> Any:
    import pandas as pd

    return pd.NA


@pytest.mark.parametrize("with_escape", [False, True])
def test_calamine_reads_a_hostile_workbook_as_openpyxl_does(
    tmp_path: Path, with_escape: bool
) -> None:
    store = _hostile(tmp_path / "wb.xlsx", with_escape)
    assert _agree(store, fast_expected=not with_escape) > 80
    # and the typed frames the jobs see are the same through either reader
    store.forget()
    fast = store.read_one("things")
    store._read_grids = store._read_openpyxl  # type: ignore[method-assign]
    store.forget()
    assert fast.equals(store.read_one("things"))


def test_calamine_reads_the_example_workbooks_as_openpyxl_does(ctx: Context) -> None:
    redact_job(ctx)
    mark_example_reviewed(ctx)
    total = sum(_agree(s) for s in (ctx.stores.staff, ctx.stores.panel))
    assert total > 300


def test_a_formula_or_error_cell_takes_the_openpyxl_path(tmp_path: Path) -> None:
    store = _hostile(tmp_path / "wb.xlsx", False)
    wb = openpyxl.load_workbook(store.path)
    wb["Odd"]["B3"] = "=1+1"  # openpyxl saves no value: must be reported, never read as empty
    wb.save(store.path)
    store.forget()
    grids = store._read_grids([store.tab("odd")])
    assert local_mod._READS[store._key].rows("Odd") is None
    assert isinstance(grids["odd"], Grid)
    assert grids["odd"].rows[1][1] is local_mod.NO_SAVED_VALUE


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real = local_mod._sheet_parts

    def parts(zf: Any) -> dict[str, str]:
        opened.append("read")
        return real(zf)

    monkeypatch.setattr(local_mod, "_sheet_parts", parts)
    return opened


def test_an_untouched_file_is_not_read_again_and_an_edited_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _hostile(tmp_path / "wb.xlsx", False)
    opened = _counting_reads(monkeypatch)
    store.forget()
    store.read_one("things")
    assert opened == ["read"]
    # the same file through another store (the next job of the run): not read again
    other = LocalStore(store.spec, store.path)
    assert list(other.read_one("things")["id"])[:2] == ["r0", "r1"]
    store.read_one("things", refresh=True)
    assert opened == ["read"]
    # a person edits it in Excel: read again, and the edit is seen
    wb = openpyxl.load_workbook(store.path)
    wb["Things"]["B2"] = "edited by a person"
    wb.save(store.path)
    assert other.read_one("things")["a"].iloc[0] == "edited by a person"
    assert len(opened) == 2
    # the same bytes with a new time (a save with no change) are read again too
    st = store.path.stat()
    os.utime(store.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    other.read_one("things")
    assert len(opened) == 3


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def test_a_write_that_changes_nothing_leaves_the_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _hostile(tmp_path / "wb.xlsx", True)
    store.forget()
    frame = store.read_one("things")
    before, data = _stamp(store.path), store.path.read_bytes()
    saves: list[int] = []
    monkeypatch.setattr(LocalStore, "_save", lambda self, wb: saves.append(1))
    fresh = LocalStore(store.spec, store.path)
    assert fresh.write({"things": frame}) == 0  # nothing written, and it says so
    assert store.write({"things": frame.copy()}) == 0
    assert saves == [] and _stamp(store.path) == before and store.path.read_bytes() == data
    # one changed cell is a change
    changed = frame.copy()
    changed.loc[changed.index[0], "money"] = Decimal("12.51")
    assert store.write({"things": changed}) == len(frame)
    assert saves == [1]


def test_init_at_the_start_of_a_run_does_nothing_when_nothing_is_missing(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = (ctx.stores.staff, ctx.stores.panel)
    before = [_stamp(s.path) for s in stores]  # type: ignore[attr-defined]
    loads: list[str] = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(
        local_mod.openpyxl, "load_workbook", lambda *a, **k: loads.append("load") or real(*a, **k)
    )
    res = init_campaign(ctx, add_tabs=False)
    assert not res.staff.tabs_added and not res.panel.tabs_added and not res.loaded.get("dates")
    assert loads == []  # no openpyxl load, no save
    assert [_stamp(s.path) for s in stores] == before  # type: ignore[attr-defined]
    # a column missing is still added (and that needs the full init)
    wb = real(ctx.stores.panel.path)  # type: ignore[attr-defined]
    ws = wb["Criteria"] if "Criteria" in wb.sheetnames else wb[wb.sheetnames[0]]
    ws.delete_cols(ws.max_column)
    wb.save(ctx.stores.panel.path)  # type: ignore[attr-defined]
    res = init_campaign(ctx, add_tabs=False)
    assert res.panel.columns_added and loads


@time_machine.travel(dt.datetime(2027, 1, 25, 9, 0), tick=True)
def test_a_second_run_with_nothing_new_saves_nothing(
    ctx: Context, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redact_job(ctx)
    mark_example_reviewed(ctx)
    cli = ["--config", str(config_dir), "run", "--once"]
    first = CliRunner().invoke(main, cli)
    assert first.exit_code == 0, first.output
    staff, panel = ctx.stores.staff, ctx.stores.panel
    tabs = list(staff.spec.tabs)
    staff.forget()
    before_staff = staff.read(tabs, errors="collect")
    before_staff_file = _stamp(staff.path)  # type: ignore[attr-defined]
    before_panel = _stamp(panel.path)  # type: ignore[attr-defined]
    saves: list[str] = []
    real = LocalStore._save

    def save(self: LocalStore, wb: Any) -> None:
        saves.append(self.path.name)
        real(self, wb)

    monkeypatch.setattr(LocalStore, "_save", save)
    again = CliRunner().invoke(main, cli)
    assert again.exit_code == 0, again.output
    # init, every job, the Run log line and the Status tab: nothing saved. The run's
    # line and the Status tab wait in corecruit's record for the next real change.
    assert saves == []
    assert _stamp(staff.path) == before_staff_file  # type: ignore[attr-defined]
    assert _stamp(panel.path) == before_panel  # type: ignore[attr-defined]
    staff.forget()
    after_staff = staff.read(tabs, errors="collect")
    for t in tabs:  # what a job reads is the same: the record still holds the run's line
        if t != "run_log":
            assert after_staff[t].equals(before_staff[t]), t
    assert len(after_staff["run_log"]) > len(before_staff["run_log"])


def test_text_of_only_spaces_and_line_breaks_is_read_as_written(tmp_path: Path) -> None:
    """openpyxl writes it without xml:space="preserve"; calamine would read it empty."""
    store = LocalStore(_spec(), tmp_path / "wb.xlsx")
    store.init()
    texts = ["\n", " ", "\t", "\r\n", "a\n"]
    frame = make_frame(store.tab("things"), [{"id": str(i), "a": t} for i, t in enumerate(texts)])
    store.write({"things": frame})
    back = LocalStore(store.spec, store.path).read_one("things")
    assert list(back["a"]) == texts
