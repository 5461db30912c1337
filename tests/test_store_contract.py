"""One contract, two stores: the local .xlsx store and the Google Sheets store.

Every test runs against both (the Google one through real gspread/google-auth on
the emulator): the same frames in give the same frames out, text stays text,
shorter writes clear old rows, missing tabs and columns are named, headers are
mapped, upsert and append work by key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations.errors import SheetProblems
from automations.google.http import RetryingHTTPClient, RetryPolicy, authorized_session
from automations.store import LocalStore, TableStore, make_frame
from automations.store.google import SHEETS_API, GoogleStore, IdMemory, quote, to_json
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
            ColumnSpec("done_at", "Done at", type="datetime", filled_by="job"),
        ),
    )
    return WorkbookSpec("staff", {"things": tab})


class Backend:
    """A store plus the means to play 'staff editing the sheet by hand'."""

    name: str
    store: TableStore

    def fresh(self, header_map: dict[str, dict[str, str]] | None = None) -> TableStore:
        raise NotImplementedError

    def set_grid(self, title: str, rows: list[list[Any]]) -> None:
        """Replace everything on the tab with ``rows`` (header first), as a person would."""
        raise NotImplementedError

    def replace_tab(self, title: str, new_title: str) -> None:
        raise NotImplementedError

    def cell_is_text(self, title: str, a1: str) -> bool:
        raise NotImplementedError


class LocalBackend(Backend):
    name = "local"

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "wb.xlsx"
        self.store = LocalStore(_spec(), self.path)
        self.store.init()

    def fresh(self, header_map: dict[str, dict[str, str]] | None = None) -> TableStore:
        return LocalStore(_spec(), self.path, header_map)

    def set_grid(self, title: str, rows: list[list[Any]]) -> None:
        wb = openpyxl.load_workbook(self.path)
        ws = wb[title]
        ws.delete_rows(1, ws.max_row)
        for r in rows:
            ws.append(r)
        wb.save(self.path)
        self.store.forget()

    def replace_tab(self, title: str, new_title: str) -> None:
        wb = openpyxl.load_workbook(self.path)
        del wb[title]
        wb.create_sheet(new_title)
        wb.save(self.path)
        self.store.forget()

    def cell_is_text(self, title: str, a1: str) -> bool:
        ws = openpyxl.load_workbook(self.path)[title]
        return ws[a1].data_type == "s"


class GoogleBackend(Backend):
    name = "google"

    def __init__(self, tmp: Path, emu: Any, transport: Any, credentials: Any) -> None:
        self.emu = emu
        self.http = RetryingHTTPClient(
            credentials,
            session=authorized_session(credentials, transport),
            policy=RetryPolicy(sleep=lambda s: None),
        )
        self.ids = IdMemory(tmp / "google_ids.json")
        self.store = GoogleStore(_spec(), self.http, title="contract", ids=self.ids)
        self.store.init()

    @property
    def sid(self) -> str:
        return self.store.spreadsheet_id  # type: ignore[attr-defined,no-any-return]

    def fresh(self, header_map: dict[str, dict[str, str]] | None = None) -> TableStore:
        return GoogleStore(
            _spec(), self.http, title="contract", spreadsheet_id=self.sid, header_map=header_map
        )

    def set_grid(self, title: str, rows: list[list[Any]]) -> None:
        self.http.call(
            "POST", f"{SHEETS_API}/{self.sid}/values:batchClear", json={"ranges": [quote(title)]}
        )
        self.http.call(
            "PUT",
            f"{SHEETS_API}/{self.sid}/values/{quote(title)}!A1",
            params={"valueInputOption": "RAW"},
            json={"values": [[to_json(v) for v in r] for r in rows]},
        )
        self.store.forget()

    def replace_tab(self, title: str, new_title: str) -> None:
        meta = self.http.call("GET", f"{SHEETS_API}/{self.sid}").json()
        sheet_id = next(
            s["properties"]["sheetId"] for s in meta["sheets"] if s["properties"]["title"] == title
        )
        self.http.call(
            "POST",
            f"{SHEETS_API}/{self.sid}:batchUpdate",
            json={
                "requests": [
                    {"addSheet": {"properties": {"title": new_title}}},
                    {"deleteSheet": {"sheetId": sheet_id}},
                ]
            },
        )
        self.store.forget()

    def cell_is_text(self, title: str, a1: str) -> bool:
        got = self.http.call(
            "GET",
            f"{SHEETS_API}/{self.sid}",
            params={"ranges": f"{quote(title)}!{a1}", "includeGridData": "true"},
        ).json()
        cell = got["sheets"][0]["data"][0]["rowData"][0]["values"][0]
        return "stringValue" in cell["userEnteredValue"] and "formulaValue" not in str(cell)


@pytest.fixture(params=["local", "google"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield LocalBackend(tmp_path)
    else:
        emu = request.getfixturevalue("google_emulator")
        yield GoogleBackend(
            tmp_path,
            emu,
            request.getfixturevalue("google_transport"),
            request.getfixturevalue("google_credentials"),
        )


cell_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "=1+1",
            "+44 7700 900123",
            "@x",
            "-5",
            "0012",
            "TRUE",
            "1e3",
            "2027-02-08",
            "'quoted",
            " lead",
            "trail ",
            "line\nbreak",
            "naïve café 日本",
            "",
            "=HYPERLINK(1)",
        ]
    ),
)

row_strategy = rows_of(cell_text)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_strategy, max_size=6))
def test_same_frames_in_same_frames_out(backend: Backend, rows: list[dict[str, Any]]) -> None:
    spec = backend.store.tab("things")
    df = make_frame(spec, [{"id": f"{i:04d}", **r} for i, r in enumerate(rows)])
    backend.store.write({"things": df})
    back = backend.fresh().read_one("things").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, df, check_dtype=True)


def test_formula_looking_text_stays_text(backend: Backend) -> None:
    spec = backend.store.tab("things")
    df = make_frame(
        spec, [{"id": "0007", "a": "=1+1", "b": "+447700900123", "c": "@SUM(A1)", "n": 2}]
    )
    backend.store.write({"things": df})
    back = backend.fresh().read_one("things")
    assert list(back.loc[2, ["id", "a", "b", "c"]]) == ["0007", "=1+1", "+447700900123", "@SUM(A1)"]
    for a1 in ("A2", "B2", "C2", "D2"):
        assert backend.cell_is_text("Things", a1), a1


def test_types_round_trip_exactly(backend: Backend) -> None:
    spec = backend.store.tab("things")
    row = {
        "id": "1",
        "n": 3,
        "money": Decimal("12.50"),
        "day": dt.date(2027, 2, 8),
        "at": dt.datetime(2027, 2, 8, 10, 30),
        "ok": False,
    }
    backend.store.write({"things": make_frame(spec, [row])})
    back = backend.fresh().read_one("things")
    got = back.iloc[0]
    assert got["money"] == Decimal("12.50") and isinstance(got["money"], Decimal)
    assert got["day"] == dt.date(2027, 2, 8) and got["at"] == dt.datetime(2027, 2, 8, 10, 30)
    assert got["ok"] is False or got["ok"] == False  # noqa: E712 (pandas boolean)
    assert int(got["n"]) == 3


def test_trailing_empties_and_shorter_writes(backend: Backend) -> None:
    spec = backend.store.tab("things")
    backend.store.write({"things": make_frame(spec, [{"id": str(i), "c": "x"} for i in range(12)])})
    backend.store.write({"things": make_frame(spec, [{"id": "only"}])})
    back = backend.fresh().read_one("things")
    assert list(back["id"]) == ["only"]
    assert back["c"].iloc[0] == "" and pd.isna(back["n"].iloc[0]) and back["money"].iloc[0] is None
    # a row whose last cells are empty (Google leaves them out) still reads whole
    backend.set_grid("Things", [[c.label for c in spec.columns], ["1", "x"], [], ["2"]])
    df = backend.fresh().read_one("things")
    assert list(df.index) == [2, 4]  # the blank sheet row 3 is skipped, rows keep their numbers
    assert list(df["a"]) == ["x", ""]


def test_missing_tab_and_missing_column_are_named(backend: Backend) -> None:
    spec = backend.store.tab("things")
    labels = [c.label for c in spec.columns if c.id != "money"]
    backend.set_grid("Things", [labels, ["1"]])
    with pytest.raises(
        SheetProblems, match=r"tab 'Things', column 'Money': this column is missing"
    ):
        backend.fresh().read_one("things")
    backend.replace_tab("Things", "Other")
    with pytest.raises(SheetProblems, match=r"tab 'Things': this tab is missing"):
        backend.fresh().read_one("things")


def test_header_mapping_order_and_staff_columns(backend: Backend) -> None:
    spec = backend.store.tab("things")
    labels = [c.label for c in spec.columns]
    header = ["My notes", "Reference", *reversed(labels[1:])]
    row = ["keep me", "r1", *([""] * (len(labels) - 1))]
    row[header.index("A")] = "first"
    backend.set_grid("Things", [header, row])
    store = backend.fresh(header_map={"things": {"Reference": "id"}})
    df = store.read_one("things")
    assert df["id"].iloc[0] == "r1" and df["a"].iloc[0] == "first"
    assert df["My notes"].iloc[0] == "keep me"
    df.loc[df.index[0], "a"] = "changed"
    store.write({"things": df})
    back = backend.fresh(header_map={"things": {"Reference": "id"}}).read_one("things")
    assert back["a"].iloc[0] == "changed" and back["My notes"].iloc[0] == "keep me"
    assert list(back.columns[-1:]) == ["My notes"]


def test_upsert_and_append_by_key(backend: Backend) -> None:
    spec = backend.store.tab("things")
    backend.store.write(
        {
            "things": make_frame(
                spec, [{"id": "1", "a": "x", "b": "staff note"}, {"id": "2", "a": "y"}]
            )
        }
    )
    backend.store.upsert("things", pd.DataFrame({"id": ["2", "3"], "a": ["y2", "z"]}))
    back = backend.fresh().read_one("things")
    assert list(back["id"]) == ["1", "2", "3"]
    assert list(back["a"]) == ["x", "y2", "z"]
    assert back["b"].iloc[0] == "staff note"
    store = backend.fresh()
    rows = make_frame(spec, [{"id": "4", "a": "w"}, {"id": "1", "a": "ignored"}])
    assert store.append("things", rows) == 1
    assert store.append("things", rows) == 0
    assert list(backend.fresh().read_one("things")["id"]) == ["1", "2", "3", "4"]


def test_append_rows_adds_new_keys_at_the_end_and_keeps_the_rows_there(backend: Backend) -> None:
    spec = backend.store.tab("things")
    labels = [c.label for c in spec.columns]
    typed = [""] * len(labels)
    typed[0], typed[labels.index("A")] = "1", "as typed"
    backend.set_grid("Things", [[*labels, "My notes"], [*typed, "keep me"], [], ["2"], []])
    store = backend.fresh()
    at = dt.datetime(2027, 2, 8, 10, 30)
    cols = ("n", "id", "money", "at")  # any order of the template's columns
    new = [(5, "3", Decimal("12.50"), at), (6, "2", None, at), (7, "3", None, None)]
    assert store.append_rows({"things": (cols, new)}) == {"things": 1}  # "2" there, "3" twice
    assert backend.fresh().append_rows({"things": (cols, new)}) == {"things": 0}
    back = backend.fresh().read_one("things")
    assert list(back.index) == [2, 4, 5]  # the blank row in between kept, the new one last
    assert list(back["id"]) == ["1", "2", "3"] and back["a"].iloc[0] == "as typed"
    assert back["My notes"].iloc[0] == "keep me" and back["My notes"].iloc[2] == ""
    got = back.iloc[2]
    assert int(got["n"]) == 5 and got["money"] == Decimal("12.50") and got["at"] == at
    assert got["a"] == "" and got["day"] is None
    with pytest.raises(KeyError, match="no column 'nope'"):
        store.append_rows({"things": (("id", "nope"), [("9", "x")])})


def test_read_columns_reads_typed_cells_of_some_columns(backend: Backend) -> None:
    spec = backend.store.tab("things")
    at = dt.datetime(2027, 2, 8, 10, 30)
    rows = [{"id": "1", "at": at, "n": 2}, {"id": "2", "a": "x"}]
    backend.store.write({"things": make_frame(spec, rows)})
    got = backend.fresh().read_columns("things", ["at", "id"])
    assert got == {"at": [at, None], "id": ["1", "2"]}
    labels = [c.label for c in spec.columns if c.id != "at"]
    backend.set_grid("Things", [labels, ["1"]])
    with pytest.raises(SheetProblems, match=r"column 'At': this column is missing"):
        backend.fresh().read_columns("things", ["id"])


def test_bad_cells_named_by_row_and_column_without_values(backend: Backend) -> None:
    spec = backend.store.tab("things")
    labels = [c.label for c in spec.columns]
    r2 = ["1"] + [""] * (len(labels) - 1)
    r2[labels.index("Number")] = "three"
    r3 = ["2"] + [""] * (len(labels) - 1)
    r3[labels.index("Day")] = "next tuesday"
    r4 = ["1"]
    backend.set_grid("Things", [labels, r2, r3, r4])
    with pytest.raises(SheetProblems) as err:
        backend.fresh().read_one("things")
    text = str(err.value)
    assert "row 2, column 'Number': expected a whole number" in text
    assert "row 3, column 'Day': expected a date" in text
    assert "row 4, column 'ID': the same ID is on row 2 too" in text
    assert "three" not in text and "tuesday" not in text


def test_init_twice_changes_nothing_and_keeps_data(backend: Backend) -> None:
    spec = backend.store.tab("things")
    backend.store.write({"things": make_frame(spec, [{"id": "1", "a": "x"}])})
    report = backend.store.init()
    assert not report.created_workbook and not report.tabs_added and not report.columns_added
    assert list(backend.fresh().read_one("things")["a"]) == ["x"]
