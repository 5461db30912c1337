"""Saving only the changed tabs straight into the .xlsx zip (automations/store/xlsx_write).

The fast save must give exactly what the openpyxl save gives (to openpyxl, to calamine
and to LibreOffice), keep every other part of the file byte for byte, and step aside to
openpyxl whenever it cannot be sure.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import python_calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from automations.errors import StoreError
from automations.store import LocalStore, make_frame, xlsx_write
from automations.store import local as local_mod
from automations.templates import ColumnSpec, TabSpec, WorkbookSpec


def _spec() -> WorkbookSpec:
    things = TabSpec(
        id="things",
        label="Things",
        workbook="staff",
        key=("id",),
        columns=(
            ColumnSpec("id", "ID", required=True),
            ColumnSpec("a", "A"),
            ColumnSpec("b", "B", allowed=("yes", "no", "maybe")),
            ColumnSpec("n", "Number", type="integer"),
            ColumnSpec("score", "Score", type="decimal"),
            ColumnSpec("money", "Money", type="money", filled_by="job"),
            ColumnSpec("day", "Day", type="date"),
            ColumnSpec("at", "At", type="datetime"),
            ColumnSpec("ok", "OK", type="boolean"),
        ),
    )
    other = TabSpec(
        id="other",
        label="Other",
        workbook="staff",
        key=("id",),
        columns=(ColumnSpec("id", "ID", required=True), ColumnSpec("note", "Note")),
    )
    return WorkbookSpec("staff", {"things": things, "other": other})


# Every kind of value the openpyxl path has written once, so the file has the styles.
SEED = [
    {
        "id": "seed",
        "a": "=quoted",
        "b": "yes",
        "n": 1,
        "score": Decimal("1"),
        "money": Decimal("1.50"),
        "day": dt.date(2027, 1, 1),
        "at": dt.datetime(2027, 1, 1, 9, 30),
        "ok": True,
    },
    {"id": "seed2", "score": Decimal("1.5")},
    {"id": "seed3", "score": Decimal("1.25")},
]


class Paths:
    """Which save path each write took (True: the fast one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[bool] = []
        real = LocalStore._save_changed_tabs

        def spy(store: LocalStore, grids: Any) -> bool:
            got = real(store, grids)
            self.taken.append(got)
            return got

        monkeypatch.setattr(LocalStore, "_save_changed_tabs", spy)


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    return Paths(monkeypatch)


def _new_store(path: Path, *, fast: bool = True, seed: bool = True) -> LocalStore:
    store = LocalStore(_spec(), path)
    store.init()
    if seed:
        store.fast_saves = False
        store.write({"things": make_frame(store.tab("things"), SEED)})
    store.fast_saves = fast
    return store


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _outside_sheet_data(xml: bytes) -> tuple[bytes, bytes]:
    start, end = xml.index(b"<sheetData>"), xml.rindex(b"</sheetData>")
    head = xlsx_write._DIMENSION.sub(b"", xml[:start])
    return head, xml[end:]


def _openpyxl_cells(path: Path, title: str) -> list[list[Any]]:
    wb = openpyxl.load_workbook(path)
    try:
        return [
            [(c.value, c.data_type, c.number_format, bool(c.quotePrefix)) for c in row]
            for row in wb[title].iter_rows()
        ]
    finally:
        wb.close()


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    out = [list(r) for r in rows]
    for r in out:
        while r and r[-1] in (None, ""):
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def _calamine(path: Path, title: str) -> list[list[Any]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return _trimmed(wb.get_sheet_by_name(title).to_python(skip_empty_area=False))


def _blank_spaces(rows: list[list[Any]]) -> list[list[Any]]:
    """Text of only white space as calamine reads it from an openpyxl save: empty."""
    return _trimmed(
        [["" if isinstance(v, str) and not v.strip(" \t\r\n") else v for v in r] for r in rows]
    )


def _read(path: Path) -> dict[str, Any]:
    """What a fresh store reads (calamine, or openpyxl where it must), as grids."""
    local_mod._READS.clear()
    local_mod._CACHE.clear()  # the openpyxl copy kept after a save holds the values given
    fresh = LocalStore(_spec(), path)
    grids = fresh._read_grids(list(fresh.spec.tabs.values()))
    return {k: (g.title, g.header, _trimmed(g.rows)) if g else None for k, g in grids.items()}


# ------------------------------------------------------------------------ the property

hostile = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "=1+1",
            "+44 7700 900123",
            "-5",
            "@SUM(A1)",
            "<b>bold</b> & 'quotes' \"double\"",
            "😀 naïve café 日本",
            "ctrl\x01\x02\x0b\x1f end",
            "line\r\nbreak",
            "_x0041_ and _X0042_",
            "  ",
            "\n",
            "\t",
            " lead and trail ",
            "0012",
            "]]> <![CDATA[",
            "#N/A",
            "TRUE",
        ]
    ),
    st.text(min_size=1, max_size=5).map(lambda s: s * (4000 // len(s))),
)

row = st.fixed_dictionaries(
    {
        "a": st.one_of(st.none(), hostile),
        "b": st.one_of(st.none(), st.sampled_from(["yes", "no", "=no"])),
        "n": st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        "score": st.one_of(
            st.none(),
            st.decimals(
                min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False
            ),
            st.sampled_from([Decimal("3"), Decimal("2.5"), Decimal("0.125")]),
        ),
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


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    writes=st.lists(st.lists(row, max_size=6), min_size=1, max_size=3),
    seeded=st.booleans(),
)
def test_fast_save_reads_back_as_the_openpyxl_save(
    tmp_path_factory: pytest.TempPathFactory, writes: list[list[dict[str, Any]]], seeded: bool
) -> None:
    """The same writes through both paths: every reader sees the same cells and formats.

    ``seeded``: the file already holds every format (else the fast path adds them).
    """
    folder = tmp_path_factory.mktemp("prop")
    fast = _new_store(folder / "fast.xlsx", seed=seeded)
    # a person's formatting on data cells, and a value right of the header
    wb = openpyxl.load_workbook(fast.path)
    ws = wb["Things"]
    ws["C3"].fill = PatternFill("solid", fgColor="FFFF00")
    ws["J2"] = "staff's own note"
    wb.save(fast.path)
    shutil.copy(fast.path, folder / "slow.xlsx")
    slow = LocalStore(_spec(), folder / "slow.xlsx")
    slow.fast_saves = False
    taken: list[bool] = []
    real = fast._save_changed_tabs
    fast._save_changed_tabs = lambda grids: taken.append(real(grids)) or taken[-1]  # type: ignore[method-assign]
    for k, rows in enumerate(writes):
        records = [{"id": f"{k}-{i}", **r} for i, r in enumerate(rows)]
        for store in (fast, slow):
            store.forget()
            store.write({"things": make_frame(store.tab("things"), records)})
        assert _read(fast.path) == _read(slow.path)
        # calamine reads text of only spaces as empty when openpyxl wrote it (no
        # xml:space="preserve"; the store then reads that tab with openpyxl); the fast
        # path writes it preserved, so calamine reads it as it is there
        assert _blank_spaces(_calamine(fast.path, "Things")) == _calamine(slow.path, "Things")
        assert _trimmed(_openpyxl_cells(fast.path, "Things")) == _trimmed(
            _openpyxl_cells(slow.path, "Things")
        )
        back = LocalStore(_spec(), fast.path).read_one("things")
        assert list(back["id"]) == [r["id"] for r in records]
    assert all(taken)  # every write that changed something took the fast path


def test_the_fast_path_is_taken_for_ordinary_saves(tmp_path: Path, paths: Paths) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    spec = store.tab("things")
    paths.taken.clear()
    for n in range(3):
        records = [{**SEED[0], "id": f"{n}-{i}", "a": f"text {i}", "n": i} for i in range(n + 2)]
        store.write({"things": make_frame(spec, records)})
    store.write({"other": make_frame(store.tab("other"), [{"id": "1", "note": "=hello"}])})
    assert paths.taken == [True, True, True, True]
    got = LocalStore(_spec(), store.path).read(["things", "other"])
    assert list(got["things"]["a"]) == ["text 0", "text 1", "text 2", "text 3"]
    assert list(got["other"]["note"]) == ["=hello"]


# -------------------------------------------------------- what is kept, byte for byte


def test_other_parts_and_the_sheet_around_its_rows_are_kept(tmp_path: Path, paths: Paths) -> None:
    """Drop-downs, header notes, widths, frozen header, hidden tabs: all as they were."""
    store = _new_store(tmp_path / "wb.xlsx")
    wb = openpyxl.load_workbook(store.path)
    wb["Other"].sheet_state = "hidden"
    wb["Things"].column_dimensions["B"].width = 55
    wb["Things"]["B1"].comment = Comment("A person's own note on the header", "staff")
    wb.save(store.path)
    store.forget()
    before = _parts(store.path)
    store.write({"things": make_frame(store.tab("things"), [{**SEED[0], "id": "x", "a": "new"}])})
    assert paths.taken == [True]
    after = _parts(store.path)
    assert list(after) == list(before)
    things = LocalStore(_spec(), store.path)._snapshot().parts["Things"]
    for name in before:
        if name != things:
            assert after[name] == before[name], name
    assert _outside_sheet_data(after[things]) == _outside_sheet_data(before[things])
    header = before[things].split(b"<row ")[1].split(b"</row>")[0]
    assert header in after[things]  # the header row, with its styles, as it was
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    assert wb["Other"].sheet_state == "hidden"
    assert ws.column_dimensions["B"].width == 55
    assert ws.freeze_panes == "A2"
    assert ws["B1"].comment is not None and "own note" in ws["B1"].comment.text
    assert {str(dv.sqref) for dv in ws.data_validations.dataValidation} >= {"C2:C5000", "I2:I5000"}
    assert ws["B2"].value == "new" and ws["A1"].font.b


def test_a_persons_formatting_and_cells_right_of_the_header_are_kept(
    tmp_path: Path, paths: Paths
) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    spec = store.tab("things")
    store.write({"things": make_frame(spec, [{"id": str(i), "a": "x"} for i in range(4)])})
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    ws["B2"].fill = PatternFill("solid", fgColor="FFFF00")  # a yellow cell
    ws["K2"] = "kept"  # right of the header
    ws["K5"] = "cleared with its row"
    ws.row_dimensions[3].height = 30
    wb.save(store.path)
    store.forget()
    store.write({"things": make_frame(spec, [{"id": "0", "a": "y"}, {"id": "1"}])})
    assert paths.taken[-1] is True
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    assert ws["B2"].value == "y" and ws["B2"].fill.fgColor.rgb == "00FFFF00"
    assert ws["K2"].value == "kept" and ws["K5"].value is None
    assert ws.row_dimensions[3].height == 30
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True) if any(r)] == ["0", "1"]


# -------------------------------------------------------------------- second readers


def _libreoffice_csv(path: Path, tmp_path: Path) -> dict[str, pd.DataFrame]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is missing in CI")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    out = tmp_path / "csv"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return {
        p.stem.rsplit("-", 1)[-1]: pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in sorted(out.glob("*.csv"))
    }


HOSTILE = [
    "=1+1",
    "+44 7700 900123",
    "-5",
    "@SUM(A1)",
    "<b>x</b> & \"q\" 'a'",
    "😀 Zoë 日本",
    "ctrl\x01\x1f here",
    "_x0041_",
    "  ",
    "tab\there",
    "long " * 6000,
]


def test_second_readers_see_the_same_cells_after_fast_saves(tmp_path: Path, paths: Paths) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    spec = store.tab("things")
    records = [
        {
            "id": f"{i:04d}",
            "a": text,
            "n": i,
            "score": Decimal("2.5"),
            "money": Decimal("12.50"),
            "day": dt.date(2027, 2, 8),
            "at": dt.datetime(2027, 2, 8, 10, 30),
            "ok": i % 2 == 0,
        }
        for i, text in enumerate(HOSTILE)
    ]
    store.write({"things": make_frame(spec, records[:3])})  # then a longer write
    store.write({"things": make_frame(spec, records)})
    assert paths.taken == [True, True]
    back = LocalStore(_spec(), store.path).read_one("things")
    assert list(back["a"]) == HOSTILE
    # openpyxl (as Excel would show it, _xHHHH_ escapes decoded by the store)
    ws = openpyxl.load_workbook(store.path)["Things"]
    assert [ws.cell(r, 2).data_type for r in range(2, len(HOSTILE) + 2)] == ["s"] * len(HOSTILE)
    assert ws["B2"].quotePrefix and ws["B3"].quotePrefix and not ws["B7"].quotePrefix
    assert ws["E2"].value == 2.5 and ws["E2"].number_format == "0.0"
    assert ws["G2"].value == dt.datetime(2027, 2, 8) and ws["G2"].number_format == "yyyy-mm-dd"
    # calamine
    cal = _calamine(store.path, "Things")
    assert [r[1] for r in cal[1:]][:6] == HOSTILE[:6]
    assert cal[1][7] == dt.datetime(2027, 2, 8, 10, 30) and cal[1][8] is True
    # LibreOffice
    sheets = _libreoffice_csv(store.path, tmp_path)
    lo = sheets.get("Things", next(iter(sheets.values())))
    assert list(lo["ID"]) == [r["id"] for r in records]
    assert list(lo["A"])[:6] == HOSTILE[:6]  # not evaluated, not mangled
    assert lo.loc[9, "A"] == "tab\there" and lo.loc[10, "A"] == HOSTILE[10]
    assert lo.loc[0, "Money"] == "12.50" and lo.loc[0, "Number"] == "0"


def test_a_workbook_saved_by_libreoffice_is_saved_fast_and_reads_the_same(
    tmp_path: Path, paths: Paths
) -> None:
    """Shared strings, its own XML layout, rows with heights: all read and kept.

    (LibreOffice saves TRUE and FALSE as formulas, so a tab holding them is saved by
    openpyxl; here the OK column is left empty.)
    """
    store = _new_store(tmp_path / "wb.xlsx")
    spec = store.tab("things")
    plain = {**SEED[0], "ok": None}
    store.write({"things": make_frame(spec, [{**plain, "id": str(i)} for i in range(3)])})
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    out = tmp_path / "lo"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(store.path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    shutil.copy(out / "wb.xlsx", store.path)
    before = _parts(store.path)
    fresh = LocalStore(_spec(), store.path)
    texts = [HOSTILE[4], HOSTILE[5], HOSTILE[9]]
    records = [{**plain, "id": str(i), "a": t} for i, t in enumerate(texts)]
    fresh.write({"things": make_frame(spec, records)})
    assert paths.taken[-1] is True  # LibreOffice's layout is one the fast path reads
    after = _parts(store.path)
    assert [n for n in before if before[n] != after.get(n)] == [fresh._snapshot().parts["Things"]]
    back = LocalStore(_spec(), store.path).read_one("things")
    assert list(back["a"]) == texts and list(back["n"]) == [1] * 3
    assert list(back["day"]) == [dt.date(2027, 1, 1)] * 3
    sheets = _libreoffice_csv(store.path, tmp_path / "again")
    lo = sheets.get("Things", next(iter(sheets.values())))
    assert list(lo["A"]) == texts
    # a new row, with a text that needs the quoted format LibreOffice dropped and a date
    # in openpyxl's format: both added to LibreOffice's styles
    fresh.write({"things": make_frame(spec, [*records, {**plain, "id": "q", "a": "=1+1"}])})
    assert paths.taken[-1] is True
    lo = _libreoffice_csv(store.path, tmp_path / "third")
    lo_things = lo.get("Things", next(iter(lo.values())))
    assert list(lo_things["A"]) == [*texts, "=1+1"] and lo_things.loc[3, "Day"] == "2027-01-01"
    assert LocalStore(_spec(), store.path).read_one("things")["a"].tolist() == [*texts, "=1+1"]


# --------------------------------------------------------------------- stepping aside


def test_a_formula_in_the_tab_is_saved_by_openpyxl(tmp_path: Path, paths: Paths) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    wb = openpyxl.load_workbook(store.path)
    wb["Things"]["J2"] = "=1+1"  # right of the header: kept by both paths
    wb.save(store.path)
    store.forget()
    store.write({"things": make_frame(store.tab("things"), [{"id": "1", "a": "x"}])})
    assert paths.taken == [False]
    wb = openpyxl.load_workbook(store.path)
    assert wb["Things"]["J2"].value == "=1+1" and wb["Things"]["B2"].value == "x"


def test_a_format_the_file_lacks_is_added_as_openpyxl_would(tmp_path: Path, paths: Paths) -> None:
    """A first date, decimal or quoted text: the format is added to styles.xml, once."""
    store = _new_store(tmp_path / "wb.xlsx", seed=False)
    spec = store.tab("things")
    styles_before = _parts(store.path)["xl/styles.xml"]
    rows = [
        {
            "id": "1",
            "a": "=x",
            "day": dt.date(2027, 3, 1),
            "at": dt.datetime(2027, 3, 1, 9, 5),
            "score": Decimal("2.125"),
        }
    ]
    store.write({"things": make_frame(spec, rows)})
    styles_after = _parts(store.path)["xl/styles.xml"]
    assert styles_after != styles_before
    store.write({"things": make_frame(spec, [*rows, {**rows[0], "id": "2", "a": "=y"}])})
    assert paths.taken == [True, True]
    assert _parts(store.path)["xl/styles.xml"] == styles_after  # nothing added twice
    ws = openpyxl.load_workbook(store.path)["Things"]
    for r in (2, 3):
        assert ws.cell(r, 2).quotePrefix and ws.cell(r, 2).data_type == "s"
        assert ws.cell(r, 5).number_format == "0.000" and ws.cell(r, 5).value == 2.125
        assert ws.cell(r, 7).number_format == "yyyy-mm-dd"
        assert ws.cell(r, 8).number_format == "yyyy-mm-dd h:mm:ss"
    back = LocalStore(_spec(), store.path).read_one("things")
    assert list(back["day"]) == [dt.date(2027, 3, 1)] * 2
    assert list(back["score"]) == [Decimal("2.125")] * 2
    # the same cells as the openpyxl path gives them
    slow = _new_store(tmp_path / "slow.xlsx", fast=False, seed=False)
    slow.write({"things": make_frame(spec, [*rows, {**rows[0], "id": "2", "a": "=y"}])})
    assert _trimmed(_openpyxl_cells(store.path, "Things")) == _trimmed(
        _openpyxl_cells(slow.path, "Things")
    )


def test_a_changed_header_or_a_new_tab_is_saved_by_openpyxl(tmp_path: Path, paths: Paths) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    ws.delete_cols(9)  # the OK column: a write adds it back to the header
    wb.save(store.path)
    store.forget()
    store.write({"things": make_frame(store.tab("things"), [{"id": "1", "ok": True}])})
    assert paths.taken == [False]
    assert openpyxl.load_workbook(store.path)["Things"]["I1"].value == "OK"


def test_a_table_on_the_sheet_is_saved_by_openpyxl(tmp_path: Path, paths: Paths) -> None:
    from openpyxl.worksheet.table import Table

    store = _new_store(tmp_path / "wb.xlsx")
    wb = openpyxl.load_workbook(store.path)
    wb["Other"].append(["1", "n"])
    wb["Other"].add_table(Table(displayName="Notes", ref="A1:B2"))
    wb.save(store.path)
    store.forget()
    store.write({"other": make_frame(store.tab("other"), [{"id": "1", "note": "m"}])})
    assert paths.taken == [False]


def test_refused_layouts_raise_refused_before_writing(tmp_path: Path) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    snap = store._snapshot()
    part = snap.parts["Things"]
    edit = xlsx_write.SheetEdit("Things", ["ID"], [["1"]])
    with zipfile.ZipFile(io.BytesIO(snap.data)) as zf:
        xml = zf.read(part)
        styles = xlsx_write.Styles(zf.read("xl/styles.xml"))
    bad = {
        "prefixed namespace": xml.replace(b"<sheetData>", b"<x:sheetData>"),
        "row without number": xml.replace(b'<row r="2"', b"<row"),
        "cell in the wrong row": xml.replace(b'<c r="A2"', b'<c r="A3"', 1),
        "formula": xml.replace(
            b"</sheetData>", b'<row r="9"><c r="A9"><f>1+1</f></c></row></sheetData>'
        ),
    }
    for why, x in bad.items():
        with pytest.raises(xlsx_write.Refused):
            xlsx_write.rebuild_sheet(x, edit, styles, store._too_long)
        assert why
    with pytest.raises(xlsx_write.Refused):  # a value of a kind the stores never write
        xlsx_write.rebuild_sheet(
            xml, xlsx_write.SheetEdit("Things", ["ID"], [[1.5]]), styles, store._too_long
        )
    with pytest.raises(xlsx_write.Refused):
        xlsx_write.save_changed(b"not a zip", snap.parts, {}, store._too_long)


# ---------------------------------------------------------- atomic, private, seen by reads


def test_a_fast_save_is_a_new_private_file_that_reads_see(tmp_path: Path, paths: Paths) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    spec = store.tab("things")
    store.read_one("things")  # calamine's read is kept for this version of the file
    st1 = store.path.stat()
    store.write({"things": make_frame(spec, [{"id": "new", "a": "one"}])})
    st2 = store.path.stat()
    assert paths.taken == [True]
    assert st2.st_ino != st1.st_ino and (st2.st_mode & 0o777) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert list(store.read_one("things")["a"]) == ["one"]  # the kept read is of the new file
    other = LocalStore(_spec(), store.path)
    assert list(other.read_one("things")["id"]) == ["new"]
    with zipfile.ZipFile(store.path) as zf:
        assert zf.testzip() is None


def test_text_too_long_for_a_cell_writes_nothing_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    before = store.path.read_bytes()
    loads: list[int] = []
    monkeypatch.setattr(local_mod.openpyxl, "load_workbook", lambda *a, **k: loads.append(1))
    with pytest.raises(StoreError, match="row 3: the text is longer than a spreadsheet cell"):
        store.write(
            {
                "things": make_frame(
                    store.tab("things"), [{"id": "1"}, {"id": "2", "a": "x" * 40_000}]
                )
            }
        )
    assert store.path.read_bytes() == before and loads == []


def test_text_longer_once_escaped_is_kept_whole_by_both_paths(tmp_path: Path) -> None:
    """32,767 characters, some that XML cannot hold: escaped longer than a cell, read whole."""
    text = ("a\x01" * 16_383) + "z"
    assert len(text) == 32_767
    for fast in (True, False):
        store = _new_store(tmp_path / f"{fast}.xlsx", fast=fast)
        store.write({"things": make_frame(store.tab("things"), [{"id": "1", "a": text}])})
        assert LocalStore(_spec(), store.path).read_one("things")["a"].tolist() == [text]


KILL_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from automations.store import LocalStore, make_frame
    from test_store_xlsx_write import _spec
    s = LocalStore(_spec(), {path!r})
    s.read_one("things")
    df = make_frame(s.tab("things"), [{{"id": str(i), "a": "new " * 20}} for i in range(60000)])
    print("writing", flush=True)
    s.write({{"things": df}})
    print("done", flush=True)
""")


@pytest.mark.slow
def test_kill_during_a_fast_save_leaves_the_old_file_or_the_whole_new_one(
    tmp_path: Path,
) -> None:
    store = _new_store(tmp_path / "wb.xlsx")
    store.write({"things": make_frame(store.tab("things"), [{"id": "old", "a": "kept"}])})
    before = store.path.read_bytes()
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), path=str(store.path))
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            p.name.endswith(".tmp") for p in tmp_path.iterdir()
        ):
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ids = list(LocalStore(_spec(), store.path).read_one("things")["id"])
    if store.path.read_bytes() == before:
        assert ids == ["old"]
    else:  # the rename had happened: then it is the whole new file
        assert ids == [str(i) for i in range(60000)]
    store.forget()
    store.write({"things": make_frame(store.tab("things"), [{"id": "after"}])})
    assert list(LocalStore(_spec(), store.path).read_one("things")["id"]) == ["after"]


def _zip_entries(data: bytes) -> Iterator[tuple[str, int]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            yield info.filename, info.compress_type


def test_unchanged_entries_are_copied_still_compressed(tmp_path: Path) -> None:
    """The zip is rebuilt from raw entries: sizes, methods and CRCs of the others kept."""
    store = _new_store(tmp_path / "wb.xlsx")
    data = store.path.read_bytes()
    snap = store._snapshot()
    edit = xlsx_write.SheetEdit("Other", ["ID", "Note"], [["1", "n"]])
    new = xlsx_write.save_changed(data, snap.parts, {"Other": edit}, store._too_long)
    with zipfile.ZipFile(io.BytesIO(data)) as a, zipfile.ZipFile(io.BytesIO(new)) as b:
        assert b.testzip() is None
        for old in a.infolist():
            got = b.getinfo(old.filename)
            if old.filename != snap.parts["Other"]:
                assert (got.CRC, got.compress_size, got.compress_type) == (
                    old.CRC,
                    old.compress_size,
                    old.compress_type,
                )
    assert [n for n, _ in _zip_entries(new)] == [n for n, _ in _zip_entries(data)]
