"""The local .xlsx store: round trips, atomic writes, locks and a second reader."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations.errors import SheetProblems, StoreError, WorkbookLockedError
from automations.store import LocalStore, make_frame
from automations.templates import ColumnSpec, TabSpec, WorkbookSpec
from tests.store_support import rows_of

TEXT_COLS = ("a", "b", "c")


def _spec() -> WorkbookSpec:
    tab = TabSpec(
        id="things",
        label="Things",
        workbook="staff",
        key=("id",),
        columns=(
            ColumnSpec("id", "ID", required=True),
            *(ColumnSpec(c, c.upper()) for c in TEXT_COLS),
            ColumnSpec("n", "Number", type="integer"),
            ColumnSpec("money", "Money", type="money", filled_by="job"),
            ColumnSpec("day", "Day", type="date"),
            ColumnSpec("at", "At", type="datetime"),
            ColumnSpec("ok", "OK", type="boolean"),
        ),
    )
    return WorkbookSpec("staff", {"things": tab})


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(_spec(), tmp_path / "wb.xlsx")
    s.init()
    return s


# Text Excel can hold: anything but lone surrogates, up to the cell limit.
cell_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "=1+1",
            "+44 7700 900123",
            "@x",
            "-5",
            "0012",
            "007",
            "'quoted",
            " lead",
            "trail ",
            "line\r\nbreak",
            "_x0041_",
            "naïve café 日本",
            "",
            "=HYPERLINK(1)",
        ]
    ),
    st.text(min_size=1, max_size=12).map(lambda s: s * (3000 // len(s))),  # long text
)

row_strategy = rows_of(cell_text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_strategy, max_size=8))
def test_round_trip_gives_the_same_frame(store: LocalStore, rows: list[dict]) -> None:
    spec = store.tab("things")
    records = [{"id": f"{i:04d}", **r} for i, r in enumerate(rows)]
    df = make_frame(spec, records)
    store.write({"things": df})
    fresh = LocalStore(store.spec, store.path)
    back = fresh.read_one("things").reset_index(drop=True)
    # Fully empty rows are not rows: a row always has its id here.
    pd.testing.assert_frame_equal(back, df, check_dtype=True)


def test_text_never_becomes_a_number_or_formula(store: LocalStore) -> None:
    df = make_frame(
        store.tab("things"),
        [
            {"id": "0007", "a": "=1+1", "b": "+447700900123", "c": "@SUM(A1)"},
        ],
    )
    store.write({"things": df})
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    cells = {ws.cell(1, j).value: ws.cell(2, j) for j in range(1, ws.max_column + 1)}
    assert cells["ID"].value == "0007" and cells["ID"].data_type == "s"
    for label in ("A", "B", "C"):
        assert cells[label].data_type == "s"  # a string cell, not a formula
        assert cells[label].quotePrefix is True  # stays text when someone edits it
    with zipfile.ZipFile(store.path) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml


def test_second_reader_sees_the_same_data(store: LocalStore, tmp_path: Path) -> None:
    """python-calamine (a Rust xlsx reader) and LibreOffice open what we write."""
    df = make_frame(
        store.tab("things"),
        [
            {
                "id": "0001",
                "a": "=1+1",
                "b": "07700 900123",
                "c": "Zoë",
                "n": 3,
                "money": Decimal("12.50"),
                "day": dt.date(2027, 2, 8),
                "ok": True,
            },
            {"id": "0002", "a": "plain", "b": "", "c": "line\nbreak"},
        ],
    )
    store.write({"things": df})
    other = pd.read_excel(store.path, sheet_name="Things", engine="calamine", dtype=str)
    assert list(other["ID"]) == ["0001", "0002"]
    assert other.loc[0, "A"] == "=1+1"
    assert other.loc[0, "B"] == "07700 900123"
    assert other.loc[0, "C"] == "Zoë"
    assert other.loc[0, "Money"] == "12.50"
    assert other.loc[1, "C"] == "line\nbreak"

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
            str(store.path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    csvs = sorted(out.glob("*.csv"))
    assert csvs, "LibreOffice wrote no CSV"
    things = next(p for p in csvs if "Things" in p.name) if len(csvs) > 1 else csvs[0]
    lo = pd.read_csv(things, dtype=str, keep_default_na=False)
    assert list(lo["ID"]) == ["0001", "0002"]
    assert lo.loc[0, "A"] == "=1+1"  # LibreOffice did not evaluate it
    assert lo.loc[0, "B"] == "07700 900123"
    assert lo.loc[0, "C"] == "Zoë"


def test_upsert_keeps_other_rows_and_staff_columns(store: LocalStore) -> None:
    spec = store.tab("things")
    store.write(
        {
            "things": make_frame(
                spec, [{"id": "1", "a": "x", "b": "staff note"}, {"id": "2", "a": "y"}]
            )
        }
    )
    new = pd.DataFrame({"id": ["2", "3"], "a": ["y2", "z"]})
    store.upsert("things", new)
    back = LocalStore(store.spec, store.path).read_one("things")
    assert list(back["id"]) == ["1", "2", "3"]
    assert list(back["a"]) == ["x", "y2", "z"]
    assert back["b"].iloc[0] == "staff note"


def test_append_is_idempotent(store: LocalStore) -> None:
    spec = store.tab("things")
    rows = make_frame(spec, [{"id": "1", "a": "x"}, {"id": "2", "a": "y"}])
    assert store.append("things", rows) == 2
    assert store.append("things", rows) == 0
    assert len(LocalStore(store.spec, store.path).read_one("things")) == 2


def test_shorter_write_clears_old_rows(store: LocalStore) -> None:
    spec = store.tab("things")
    store.write({"things": make_frame(spec, [{"id": str(i)} for i in range(10)])})
    store.write({"things": make_frame(spec, [{"id": "only"}])})
    back = LocalStore(store.spec, store.path).read_one("things")
    assert list(back["id"]) == ["only"]


def test_staff_columns_the_template_does_not_know_are_kept(store: LocalStore) -> None:
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    col = ws.max_column + 1
    ws.cell(1, col).value = "My notes"
    ws.cell(2, col).value = "keep me"
    ws.cell(2, 1).value = "1"
    wb.save(store.path)
    store.forget()
    df = store.read_one("things")
    assert df["My notes"].iloc[0] == "keep me"
    df.loc[df.index[0], "a"] = "changed"
    store.write({"things": df})
    back = LocalStore(store.spec, store.path).read_one("things")
    assert back["My notes"].iloc[0] == "keep me" and back["a"].iloc[0] == "changed"


def test_wrong_type_is_reported_with_row_and_column(store: LocalStore) -> None:
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    header = [c.value for c in ws[1]]
    ws.cell(2, 1).value = "1"
    ws.cell(2, header.index("Number") + 1).value = "three"
    ws.cell(3, 1).value = "2"
    ws.cell(3, header.index("Day") + 1).value = "next tuesday"
    wb.save(store.path)
    with pytest.raises(SheetProblems) as err:
        store.read_one("things")
    text = str(err.value)
    assert "row 2, column 'Number': expected a whole number" in text
    assert "row 3, column 'Day': expected a date" in text
    assert "three" not in text and "tuesday" not in text  # never echo cell values
    df = store.read_one("things", errors="collect")
    assert len(df.attrs["problems"]) == 2 and pd.isna(df["n"].iloc[0])


def test_missing_column_and_tab_are_named(store: LocalStore) -> None:
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    header = [c.value for c in ws[1]]
    ws.delete_cols(header.index("Money") + 1)
    wb.save(store.path)
    with pytest.raises(
        SheetProblems, match=r"tab 'Things', column 'Money': this column is missing"
    ):
        store.read_one("things")
    del wb["Things"]
    wb.create_sheet("Other")
    wb.save(store.path)
    with pytest.raises(SheetProblems, match=r"tab 'Things': this tab is missing"):
        store.read_one("things")


def test_duplicate_key_is_reported(store: LocalStore) -> None:
    wb = openpyxl.load_workbook(store.path)
    ws = wb["Things"]
    ws.cell(2, 1).value = "7"
    ws.cell(3, 1).value = "8"
    ws.cell(4, 1).value = "7"
    wb.save(store.path)
    with pytest.raises(SheetProblems, match=r"row 4, column 'ID': the same ID is on row 2 too"):
        store.read_one("things")


def test_unreadable_file_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "wb.xlsx"
    path.write_bytes(b"this is not a spreadsheet")
    s = LocalStore(_spec(), path)
    with pytest.raises(StoreError, match=r"not a valid \.xlsx file"):
        s.read_one("things")
    with pytest.raises(StoreError, match="does not exist yet"):
        LocalStore(_spec(), tmp_path / "none.xlsx").read_one("things")


def test_locked_workbook_times_out_and_writes_nothing(store: LocalStore) -> None:
    spec = store.tab("things")
    other = LocalStore(store.spec, store.path, lock_timeout=0.2)
    before = store.path.read_bytes()
    with store.locked(), pytest.raises(WorkbookLockedError, match="in use by another job"):
        other.write({"things": make_frame(spec, [{"id": "x"}])})
    assert store.path.read_bytes() == before


def test_change_by_someone_else_between_read_and_write_is_refused(store: LocalStore) -> None:
    spec = store.tab("things")
    store.read_one("things")
    LocalStore(store.spec, store.path).write({"things": make_frame(spec, [{"id": "theirs"}])})
    with pytest.raises(StoreError, match="changed by someone else"):
        store.write({"things": make_frame(spec, [{"id": "mine"}])})
    assert list(LocalStore(store.spec, store.path).read_one("things")["id"]) == ["theirs"]


def test_text_too_long_for_a_cell_writes_nothing(store: LocalStore) -> None:
    spec = store.tab("things")
    before = store.path.read_bytes()
    with pytest.raises(StoreError, match="longer than a spreadsheet cell can hold"):
        store.write({"things": make_frame(spec, [{"id": "1", "a": "x" * 40_000}])})
    assert store.path.read_bytes() == before


KILL_SCRIPT = textwrap.dedent("""
    import sys, os
    from automations.store import LocalStore, make_frame
    from automations.templates import ColumnSpec, TabSpec, WorkbookSpec
    sys.path.insert(0, {tests!r})
    from test_store_local import _spec
    s = LocalStore(_spec(), {path!r})
    s.fast_saves = {fast!r}
    spec = s.tab("things")
    df = make_frame(spec, [{{"id": str(i), "a": "new text " * 20}} for i in range(50000)])
    print("writing", flush=True)
    s.write({{"things": df}})
    print("done", flush=True)
""")


def _tmp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("when", ["while saving", "after 0.5 s", "after 1.5 s"])
def test_kill_during_write_leaves_the_old_file_intact(store: LocalStore, when: str) -> None:
    """Through openpyxl (slow enough to be killed at set times while it saves)."""
    spec = store.tab("things")
    store.write({"things": make_frame(spec, [{"id": "old", "a": "kept"}])})
    before = store.path.read_bytes()
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), path=str(store.path), fast=False)
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        if when == "while saving":
            deadline = time.monotonic() + 60
            while not _tmp_files(store.path.parent) and time.monotonic() < deadline:
                time.sleep(0.005)
            assert _tmp_files(store.path.parent), "the writer never started saving"
        else:
            time.sleep(float(when.split()[1]))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the writer finished before it could be killed"
    assert store.path.read_bytes() == before, "a killed write changed the workbook"
    back = LocalStore(store.spec, store.path).read_one("things")
    assert list(back["id"]) == ["old"]
    # The next write works and tidies nothing it should not.
    store.write({"things": make_frame(spec, [{"id": "after"}])})
    assert list(LocalStore(store.spec, store.path).read_one("things")["id"]) == ["after"]


def test_kept_copy_is_used_only_while_the_file_is_unchanged(store: LocalStore) -> None:
    """A workbook this process loaded is reused, but an edit by a person is always seen."""
    from automations.store import local as local_mod

    store.fast_saves = False  # the openpyxl save path, the one that keeps a copy
    spec = store.tab("things")
    store.write({"things": make_frame(spec, [{"id": "1", "a": "ours"}])})
    assert store._key in local_mod._CACHE  # just saved: kept for the next job
    # Someone edits the file in Excel (a new file on disk): the kept copy is not used.
    wb = openpyxl.load_workbook(store.path)
    wb["Things"]["B2"] = "edited by a person"
    wb["Things"]["G2"] = "=1+1"  # a formula typed in the Number column
    wb.save(store.path)
    got = LocalStore(store.spec, store.path).read_one("things", errors="collect")
    assert list(got["a"]) == ["edited by a person"]
    # A failed write drops the half-changed copy; the file and later reads are untouched.
    store.forget()
    store.read_one("things", errors="collect")
    with pytest.raises(StoreError, match="longer than a spreadsheet cell can hold"):
        store.write({"things": make_frame(spec, [{"id": "2", "a": "x" * 40_000}])})
    assert store._key not in local_mod._CACHE
    again = LocalStore(store.spec, store.path).read_one("things", errors="collect")
    assert list(again["id"]) == ["1"] and list(again["a"]) == ["edited by a person"]


def test_a_typed_formula_is_read_as_the_value_it_showed(store: LocalStore) -> None:
    """As before the kept copy existed: formulas give the value Excel saved (data only)."""
    spec = store.tab("things")
    store.write({"things": make_frame(spec, [{"id": "1"}])})
    store.read_one("things")  # the workbook is now kept in memory
    wb = openpyxl.load_workbook(store.path)
    wb["Things"]["E2"] = "=2+3"  # openpyxl saves no cached value
    wb.save(store.path)
    fresh = LocalStore(store.spec, store.path)
    with pytest.raises(
        SheetProblems, match="row 2, column 'Number': this cell holds a formula with no"
    ):
        fresh.read_one("things")  # never read as an empty cell
    got = fresh.read_one("things", errors="collect")
    assert got["n"].isna().all() and list(got["id"]) == ["1"]
    assert [p.column for p in got.attrs["problems"]] == ["n"]


def test_a_formula_calculated_to_empty_text_is_an_empty_cell(store: LocalStore) -> None:
    """Excel and LibreOffice save '=IF(..., "", ...)' as an empty text result: not a problem."""
    spec = store.tab("things")
    store.write({"things": make_frame(spec, [{"id": "1"}, {"id": "2"}])})
    wb = openpyxl.load_workbook(store.path)
    wb["Things"]["B2"] = '=IF(TRUE,"","x")'
    wb["Things"]["B3"] = '=IF(TRUE,"","x")'
    wb.save(store.path)
    with zipfile.ZipFile(store.path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for n, data in parts.items():  # as a spreadsheet saves it: B2 calculated, B3 not
        if n.startswith("xl/worksheets/") and b'r="B2"' in data:
            parts[n] = data.replace(b'<c r="B2">', b'<c r="B2" t="str">')
    with zipfile.ZipFile(store.path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    got = LocalStore(store.spec, store.path).read_one("things", errors="collect")
    assert list(got["a"]) == ["", ""]
    assert [(p.row, p.column) for p in got.attrs["problems"]] == [(3, "a")]
