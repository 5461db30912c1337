"""The Google emulator behaves as Google does, through the real gspread and google-auth."""

from __future__ import annotations

import time
from typing import Any

import gspread
import pytest
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials as TokenCredentials

from tests.google_emulator import Emulator
from tests.google_emulator.a1 import parse_cells, quote_title, split_sheet
from tests.google_emulator.core import TEAM_ACCOUNT, apply_fields, parse_fields

SHEETS = "https://www.googleapis.com/auth/spreadsheets"
DRIVE_FILE = "https://www.googleapis.com/auth/drive.file"


def _authed(creds: Any, transport: requests.Session) -> AuthorizedSession:
    s = AuthorizedSession(creds, auth_request=Request(transport))
    for prefix, adapter in transport.adapters.items():
        s.mount(prefix, adapter)
    return s


@pytest.fixture
def gc(google_credentials: Any, google_transport: requests.Session) -> gspread.Client:
    return gspread.Client(None, session=_authed(google_credentials, google_transport))


def test_a1_parsing_and_quoting() -> None:
    assert parse_cells("A1:D4") == (0, 4, 0, 4)
    assert parse_cells("D4:A1") == (0, 4, 0, 4)  # reversed ranges are swapped
    assert parse_cells("A:A") == (0, None, 0, 1)
    assert parse_cells("A1:1") == (0, 1, 0, None)
    assert split_sheet("'it''s'!B2") == ("it's", "B2")
    assert quote_title("Sheet1") == "Sheet1"
    assert quote_title("D3") == "'D3'"  # a title that looks like a cell is quoted
    assert quote_title("My tab") == "'My tab'"


def test_field_masks_keep_selected_empty_messages() -> None:
    tree = parse_fields("sheets.properties.tabColorStyle,files(id,name)")
    assert tree == {
        "sheets": {"properties": {"tabColorStyle": True}},
        "files": {"id": True, "name": True},
    }
    out = apply_fields({"sheets": [{"properties": {"title": "x"}}], "files": []}, tree)
    assert out == {"sheets": [{"properties": {}}], "files": []}


def test_raw_keeps_text_user_entered_makes_formulas(gc: gspread.Client) -> None:
    sh = gc.create("values")
    ws = sh.sheet1
    ws.update([["=1+1", "0012", "+44 7700 900123", "@x", "TRUE"]], "A1", raw=True)
    ws.update([["=1+1", "0012", "=2*(3+4)", "'=1+1", "TRUE"]], "A2", raw=False)
    assert ws.get_all_values() == [
        ["=1+1", "0012", "+44 7700 900123", "@x", "TRUE"],
        ["2", "12", "14", "=1+1", "TRUE"],
    ]
    assert ws.get("A1:E2", value_render_option="UNFORMATTED_VALUE") == [
        ["=1+1", "0012", "+44 7700 900123", "@x", "TRUE"],
        [2, 12, 14, "=1+1", True],
    ]
    assert ws.get("A2:C2", value_render_option="FORMULA") == [["=1+1", 12, "=2*(3+4)"]]


def test_trailing_empty_cells_and_rows_are_left_out(gc: gspread.Client) -> None:
    sh = gc.create("trim")
    sh.values_update(
        "Sheet1!A1",
        params={"valueInputOption": "RAW"},
        body={"values": [["A1", "", "C1", ""], ["", "", "", ""], ["", "b3"], ["", ""]]},
    )
    got = sh.values_get("Sheet1")
    assert got == {
        "range": "Sheet1!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [["A1", "", "C1"], [], ["", "b3"]],
    }
    empty = sh.values_get("'Sheet1'!D5:E6")
    assert empty == {"range": "Sheet1!D5:E6", "majorDimension": "ROWS"}  # no "values" at all


def test_errors_use_googles_envelope(
    gc: gspread.Client, google_transport: requests.Session, google_emulator: Emulator
) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("no-such-spreadsheet")
    sh = gc.create("errors")
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.values_get("'No such tab'!A1")
    assert err.value.response.status_code == 400
    assert err.value.response.json() == {
        "error": {
            "code": 400,
            "message": "Unable to parse range: 'No such tab'!A1",
            "status": "INVALID_ARGUMENT",
        }
    }
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits"):
        sh.values_update(
            "Sheet1!A1000", params={"valueInputOption": "RAW"}, body={"values": [["a"], ["b"]]}
        )
    r = google_transport.get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{sh.id}"
    )  # no token at all
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_missing_scope_gets_403(
    google_emulator: Emulator, google_transport: requests.Session
) -> None:
    owner = google_emulator.issue_token("owner@example.org", [SHEETS, DRIVE_FILE])
    reader = google_emulator.issue_token("owner@example.org", ["spreadsheets.readonly"])
    gc = gspread.Client(None, session=_authed(TokenCredentials(owner), google_transport))
    sh = gc.create("scopes")
    ro = gspread.Client(None, session=_authed(TokenCredentials(reader), google_transport))
    assert ro.open_by_key(sh.id).title == "scopes"  # reading is allowed
    with pytest.raises(gspread.exceptions.APIError) as err:
        ro.open_by_key(sh.id).sheet1.update([["x"]], "A1")
    body = err.value.response.json()["error"]
    assert err.value.response.status_code == 403
    assert body["message"] == "Request had insufficient authentication scopes."
    assert body["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


def test_service_account_tokens_come_from_the_token_endpoint(
    google_emulator: Emulator, google_key_file: Any, google_transport: requests.Session
) -> None:
    creds = service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=[SHEETS, DRIVE_FILE], subject=TEAM_ACCOUNT
    )
    gc = gspread.Client(None, session=_authed(creds, google_transport))
    gc.create("auth")
    assert google_emulator.calls("oauth2.token") == 1
    google_emulator.expire_tokens()  # the next call gets a 401, refreshes and retries
    gc.list_spreadsheet_files()
    assert google_emulator.calls("oauth2.token") == 2


def test_drive_only_shows_what_the_app_may_see(
    gc: gspread.Client, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    mine = gc.create("Mine")
    # Someone else's spreadsheet, shared with the service account: readable through
    # the Sheets API, but invisible to Drive under the narrow drive.file scope.
    other = google_emulator.issue_token("someone@example.org", [SHEETS, DRIVE_FILE])
    theirs = gspread.Client(None, session=_authed(TokenCredentials(other), google_transport))
    sh = theirs.create("Theirs")
    sh.share(google_emulator.default_principal_email, perm_type="user", role="writer", notify=False)
    assert gc.open_by_key(sh.id).title == "Theirs"
    names = [f["name"] for f in gc.list_spreadsheet_files()]
    assert names == ["Mine"]
    assert [f["name"] for f in gc.list_spreadsheet_files(title="Mine")] == ["Mine"]
    mine.share(
        "reader@example.org", perm_type="user", role="reader", notify=True, email_message="Hello"
    )
    perms = mine.list_permissions()
    assert {(p["emailAddress"], p["role"]) for p in perms} == {
        (google_emulator.default_principal_email, "owner"),
        ("reader@example.org", "reader"),
    }
    assert google_emulator.state("drive")["notifications"][-1]["message"] == "Hello"


def test_faults_are_injected_on_demand(
    gc: gspread.Client, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    sh = gc.create("faults")
    google_emulator.fail(429, retry_after=7, match="sheets.spreadsheets.values")
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.values_get("Sheet1")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    google_emulator.fail(503, times=2)
    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError):
            sh.values_get("Sheet1")
    assert sh.values_get("Sheet1")["range"] == "Sheet1!A1:Z1000"
    google_emulator.drop()
    with pytest.raises(requests.ConnectionError):
        sh.values_get("Sheet1")
    google_emulator.slow(0.3)
    started = time.monotonic()
    sh.values_get("Sheet1")
    assert time.monotonic() - started >= 0.3
    # "after": the write is applied, then the answer is lost.
    google_emulator.drop(when="after", match="sheets.spreadsheets.values.update")
    with pytest.raises(requests.ConnectionError):
        sh.values_update("Sheet1!A1", params={"valueInputOption": "RAW"}, body={"values": [["x"]]})
    assert sh.values_get("Sheet1")["values"] == [["x"]]


def test_requests_are_counted_per_method(gc: gspread.Client, google_emulator: Emulator) -> None:
    sh = gc.create("count")
    google_emulator.reset_counts()
    sh.values_batch_get(["Sheet1!A1", "Sheet1!B2"])
    sh.values_batch_update(
        {
            "valueInputOption": "RAW",
            "data": [
                {"range": "Sheet1!A1", "values": [["a"]]},
                {"range": "Sheet1!B2", "values": [["b"]]},
            ],
        }
    )
    assert google_emulator.counts() == {
        "sheets.spreadsheets.values.batchGet": 1,
        "sheets.spreadsheets.values.batchUpdate": 1,
    }
    assert google_emulator.calls("sheets.") == 2


def test_batch_update_is_all_or_nothing(gc: gspread.Client) -> None:
    sh = gc.create("atomic")
    with pytest.raises(gspread.exceptions.APIError, match=r"Invalid requests\[1\].deleteSheet"):
        sh.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "New"}}},
                    {"deleteSheet": {"sheetId": 12345}},
                ]
            }
        )
    assert [w.title for w in sh.worksheets()] == ["Sheet1"]
