"""The retried HTTP clients for gspread and googleapiclient, on the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from automations.errors import RetryLimitReached
from automations.google.http import (
    GoogleRefused,
    RetryPolicy,
    Unsettled,
    build_service,
    gspread_client,
)
from automations.store.google import SPREADSHEET_MIME


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def _policy(**kw: Any) -> tuple[RetryPolicy, FakeTime]:
    t = FakeTime()
    return RetryPolicy(sleep=t.sleep, clock=t.clock, **kw), t


def test_googleapiclient_service_retries_reads_and_gives_up_in_bounds(
    google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    policy, t = _policy(max_attempts=4, max_seconds=60)
    drive = build_service("drive", "v3", google_credentials, google_transport, policy)
    created = drive.files().create(body={"name": "x", "mimeType": SPREADSHEET_MIME}).execute()
    google_emulator.fail(429, retry_after=1, times=1, match="drive.files.list")
    google_emulator.fail(503, times=1, match="drive.files.list")
    google_emulator.drop(times=1, match="drive.files.list")
    google_emulator.reset_counts()
    found = drive.files().list(q="name = 'x'").execute()
    assert [f["id"] for f in found["files"]] == [created["id"]]
    assert google_emulator.calls("drive.files.list") == 4 and len(t.sleeps) == 3
    google_emulator.fail(503, times=10, match="drive.files.get")
    with pytest.raises(RetryLimitReached, match="after 4 tries"):
        drive.files().get(fileId=created["id"]).execute()


def test_googleapiclient_changes_are_not_repeated_after_a_lost_answer(
    google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    from googleapiclient.errors import HttpError

    policy, _ = _policy(max_attempts=4)
    drive = build_service("drive", "v3", google_credentials, google_transport, policy)
    google_emulator.fail(503, times=1, match="drive.files.create", when="after")
    with pytest.raises(HttpError) as err:
        drive.files().create(body={"name": "y", "mimeType": SPREADSHEET_MIME}).execute()
    assert err.value.resp.status == 503
    google_emulator.drop(times=1, match="drive.files.create", when="after")
    with pytest.raises(ConnectionError):
        drive.files().create(body={"name": "y", "mimeType": SPREADSHEET_MIME}).execute()
    assert google_emulator.calls("drive.files.create") == 2  # each sent once, for the caller
    google_emulator.fail(429, times=2, match="drive.files.create")  # 429: nothing was done
    drive.files().create(body={"name": "z", "mimeType": SPREADSHEET_MIME}).execute()


def test_gspread_client_with_the_bounded_retry(
    google_emulator: Any, google_transport: Any, google_credentials: Any, tmp_path: Path
) -> None:
    import gspread

    policy, t = _policy(max_attempts=3, max_seconds=30)
    gc = gspread_client(google_credentials, google_transport, policy)
    ss = gc.create("made by gspread")
    ws = ss.sheet1
    ws.update([["=1+1", "007"]], "A1", value_input_option="RAW")
    google_emulator.fail(503, times=2, match="sheets.spreadsheets.values.get")
    assert ws.get_all_values() == [["=1+1", "007"]]
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open_by_key("no-such-spreadsheet")
    google_emulator.fail(429, times=10, match="sheets.spreadsheets.values.get")
    with pytest.raises(RetryLimitReached):
        ws.get_all_values()
    assert sum(t.sleeps) <= 30


def test_a_change_that_cannot_be_settled_is_not_repeated(
    google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    policy, _ = _policy()
    gc = gspread_client(google_credentials, google_transport, policy)
    google_emulator.drop(times=1, match="drive.files.create", when="after")
    with pytest.raises(Unsettled, match="may or may not have been done"):
        gc.create("once")
    assert google_emulator.calls("drive.files.create") == 1


def test_refusal_is_both_a_corecruit_and_a_gspread_error(
    google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    import gspread

    gc = gspread_client(google_credentials, google_transport, _policy()[0])
    ss = gc.create("r")
    with pytest.raises(GoogleRefused) as err:
        ss.values_get("'No such tab'!A1")
    assert isinstance(err.value, gspread.exceptions.APIError)
    assert err.value.status == 400 and "HTTP 400" in str(err.value)


def test_expired_tokens_are_refreshed_and_a_busy_token_endpoint_is_retried(
    google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    policy, _ = _policy(max_attempts=5)
    gc = gspread_client(google_credentials, google_transport, policy)
    ss = gc.create("tokens")
    ss.sheet1.update([["kept"]], "A1")
    google_emulator.expire_tokens()
    assert ss.sheet1.get_all_values() == [["kept"]]
    google_emulator.expire_tokens()
    google_emulator.fail(503, times=2, match="oauth2.")
    google_emulator.reset_counts()
    assert ss.sheet1.get_all_values() == [["kept"]]
    assert google_emulator.calls("oauth2.") == 3


def test_a_key_google_does_not_know_is_a_clear_error(
    google_emulator: Any, google_transport: Any
) -> None:
    from google.oauth2 import service_account

    from automations.errors import GoogleAPIError

    info = google_emulator.service_account_info()
    info["client_email"] = "someone-else@emulated-project.iam.gserviceaccount.com"
    creds = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    gc = gspread_client(creds, google_transport, _policy()[0])
    with pytest.raises(GoogleAPIError, match="did not accept corecruit's service account key"):
        gc.create("nope")
