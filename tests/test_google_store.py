"""The Google Sheets store on the emulator: call counts, faults, limits, init, clear errors.

Everything goes through the real gspread HTTP client, google-auth and requests;
only the session's adapters lead to the local emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automations.config.models import GoogleFiles
from automations.context import make_context
from automations.errors import ConfigError, GoogleAPIError, RetryLimitReached, StoreError
from automations.google.auth import STORE_SCOPES, load_credentials
from automations.google.http import (
    RetryingHTTPClient,
    RetryPolicy,
    api_calls,
    authorized_session,
    retry_after_seconds,
)
from automations.store import make_frame, workbook_specs
from automations.store.google import (
    SPREADSHEET_MIME,
    GoogleStore,
    IdMemory,
    open_google_stores,
)
from automations.templates import ColumnSpec, TabSpec, WorkbookSpec
from automations.workspace import check_campaign, init_campaign


class FakeTime:
    """A clock that moves only when the retry sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def _spec() -> WorkbookSpec:
    tab = TabSpec(
        id="things",
        label="Things",
        workbook="staff",
        key=("id",),
        columns=(
            ColumnSpec("id", "ID", required=True),
            ColumnSpec("name", "Name", identifying=True),
            ColumnSpec("n", "Number", type="integer"),
            ColumnSpec("state", "State", allowed=("new", "done"), filled_by="job"),
        ),
    )
    return WorkbookSpec("staff", {"things": tab})


def _http(transport: Any, credentials: Any, **policy: Any) -> RetryingHTTPClient:
    return RetryingHTTPClient(
        credentials,
        session=authorized_session(credentials, transport),
        policy=RetryPolicy(**policy),
    )


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def http(google_transport: Any, google_credentials: Any, fake: FakeTime) -> RetryingHTTPClient:
    return _http(
        google_transport,
        google_credentials,
        sleep=fake.sleep,
        clock=fake.clock,
        max_attempts=6,
        max_seconds=60,
    )


def _store(http: RetryingHTTPClient, tmp_path: Path, title: str = "t") -> GoogleStore:
    s = GoogleStore(_spec(), http, title=title, ids=IdMemory(tmp_path / "ids.json"))
    s.init()
    return s


def _rows(n: int) -> pd.DataFrame:
    return make_frame(
        _spec().tab("things"),
        [{"id": f"{i:05d}", "name": f"Person {i}", "n": i, "state": "new"} for i in range(n)],
    )


def _fresh(s: GoogleStore) -> GoogleStore:
    return GoogleStore(s.spec, s.http, title=s.title, spreadsheet_id=s.spreadsheet_id)


# ------------------------------------------------------------------- API economy


def test_calls_per_operation_do_not_grow_with_rows(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    seen: dict[int, dict[str, int]] = {}
    for n in (10, 1000, 3000):
        s = _store(http, tmp_path, title=f"rows {n}")
        google_emulator.reset_counts()
        job = _fresh(s)
        job.write({"things": _rows(n)})  # read the tab list once, write once
        back = _fresh(s).read_one("things")  # read
        assert len(back) == n
        job.upsert("things", pd.DataFrame({"id": ["00001"], "name": ["Changed"]}))
        assert job.append("things", _rows(n + 1).tail(1)) == 1
        seen[n] = google_emulator.counts("sheets.")
    values = {n: {k: v for k, v in c.items() if ".values." in k} for n, c in seen.items()}
    assert (
        values[10]
        == values[1000]
        == values[3000]
        == {
            "sheets.spreadsheets.values.batchGet": 2,  # the job's store once, the reader once
            "sheets.spreadsheets.values.batchUpdate": 3,  # write, upsert, append
        }
    )
    for c in seen.values():
        assert c["sheets.spreadsheets.get"] == 2  # once per store instance, cached
        assert c.get("sheets.spreadsheets.batchUpdate", 0) <= 1  # only to make the tab bigger
    assert seen[1000] == seen[3000]


def test_api_call_counter_matches_what_google_saw(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    google_emulator.fail(503, times=2, match="sheets.spreadsheets.values.batchUpdate")
    google_emulator.reset_counts()
    before = api_calls()
    s.write({"things": _rows(5)})
    _fresh(s).read_one("things")
    # the tab, 3 tries to write (the tab list is known since init); the reader's list and tab
    assert api_calls() - before == google_emulator.calls("sheets.") == 6


# ------------------------------------------------------------------------ faults


def test_429_with_retry_after_is_waited_for(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path, fake: FakeTime
) -> None:
    s = _store(http, tmp_path)
    s.write({"things": _rows(3)})
    google_emulator.fail(429, retry_after=3, times=2, match="sheets.spreadsheets.values.batchGet")
    google_emulator.reset_counts()
    fake.sleeps.clear()
    assert len(_fresh(s).read_one("things")) == 3
    assert google_emulator.calls("sheets.spreadsheets.values.batchGet") == 3
    assert len(fake.sleeps) == 2 and all(3 <= w <= 4 for w in fake.sleeps)


def test_429_without_retry_after_backs_off_exponentially_with_jitter(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path, fake: FakeTime
) -> None:
    s = _store(http, tmp_path)
    google_emulator.fail(429, times=4, match="sheets.spreadsheets.values.batchUpdate")
    fake.sleeps.clear()
    s.write({"things": _rows(2)})
    assert len(fake.sleeps) == 4
    for i, w in enumerate(fake.sleeps):
        full = 2.0**i
        assert full / 2 <= w <= full  # half fixed, half random
    assert list(_fresh(s).read_one("things")["id"]) == ["00000", "00001"]


def test_5xx_and_dropped_connections_are_retried(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    google_emulator.fail(500, times=1, match="sheets.spreadsheets.values.batchUpdate")
    google_emulator.fail(502, times=1, match="sheets.spreadsheets.values.batchUpdate")
    google_emulator.drop(times=1, match="sheets.spreadsheets.values.batchUpdate")
    google_emulator.fail(504, times=1, match="sheets.spreadsheets.get")
    google_emulator.drop(times=1, match="sheets.spreadsheets.values.batchGet")
    s.write({"things": _rows(4)})
    assert list(_fresh(s).read_one("things")["n"]) == [0, 1, 2, 3]


def test_answer_lost_after_the_write_was_made_is_safe_to_repeat(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    s.write({"things": _rows(6)})
    google_emulator.drop(times=1, match="sheets.spreadsheets.values.batchUpdate", when="after")
    google_emulator.fail(503, times=1, match="sheets.spreadsheets.values.batchUpdate", when="after")
    s.write({"things": _rows(2)})
    assert list(_fresh(s).read_one("things")["id"]) == ["00000", "00001"]


def test_a_job_finishes_under_bursts_within_its_time_limit(
    google_settings: Any, google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    fake = FakeTime()
    ctx = make_context(
        google_settings,
        transport=google_transport,
        credentials=google_credentials,
        retry=RetryPolicy(sleep=fake.sleep, clock=fake.clock, max_attempts=8, max_seconds=120),
    )
    for route in ("sheets.", "drive.", "sheets.spreadsheets.values.batchUpdate"):
        google_emulator.fail(429, retry_after=1, times=2, match=route)
        google_emulator.fail(503, times=2, match=route)
        google_emulator.drop(times=1, match=route)
    result = init_campaign(ctx, example=True)
    assert result.loaded["people"] == 8 and result.loaded["applications"] > 0
    assert sum(fake.sleeps) < 120
    assert not [p for p in check_campaign(ctx) if p.severity == "error"]
    files = [
        f
        for f in google_emulator.state("drive")["files"].values()
        if f.mime_type == SPREADSHEET_MIME
    ]
    assert len(files) == 2  # a lost answer to 'create' did not make a second file


def test_gives_up_after_max_attempts_and_the_sheet_keeps_what_it_held(
    google_emulator: Any, google_transport: Any, google_credentials: Any, tmp_path: Path
) -> None:
    fake = FakeTime()
    http = _http(
        google_transport,
        google_credentials,
        sleep=fake.sleep,
        clock=fake.clock,
        max_attempts=3,
        max_seconds=600,
    )
    s = _store(http, tmp_path)
    s.write({"things": _rows(5)})
    google_emulator.fail(503, times=50, match="sheets.spreadsheets.values.batchUpdate")
    google_emulator.reset_counts()
    with pytest.raises(RetryLimitReached) as err:
        s.write({"things": _rows(1)})
    text = str(err.value)
    assert "after 3 tries" in text and "HTTP 503" in text and "max_attempts" in text
    assert "Person" not in text
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 3
    google_emulator.faults.clear()
    assert list(_fresh(s).read_one("things")["id"]) == [f"{i:05d}" for i in range(5)]


def test_gives_up_when_the_time_limit_would_pass(
    google_emulator: Any, google_transport: Any, google_credentials: Any, tmp_path: Path
) -> None:
    fake = FakeTime()
    http = _http(
        google_transport,
        google_credentials,
        sleep=fake.sleep,
        clock=fake.clock,
        max_attempts=20,
        max_seconds=10,
    )
    s = _store(http, tmp_path)
    google_emulator.fail(429, retry_after=6, times=50, match="sheets.spreadsheets.values")
    google_emulator.reset_counts()
    with pytest.raises(RetryLimitReached, match="after 2 tries"):
        _fresh(s).read_one("things")
    assert sum(fake.sleeps) <= 10
    assert google_emulator.calls("sheets.spreadsheets.values.batchGet") == 2


def test_refusals_are_not_retried_and_carry_no_personal_data(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    google_emulator.fail(
        400,
        match="sheets.spreadsheets.values.batchUpdate",
        message='Invalid value at data[0].values[1] "Grace Okafor", grace.okafor@example.net',
    )
    google_emulator.reset_counts()
    with pytest.raises(GoogleAPIError) as err:
        s.write({"things": _rows(2)})
    text = str(err.value)
    assert "HTTP 400" in text and "writing the staff workbook" in text
    assert "Grace" not in text and "example.net" not in text
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 1


def test_text_too_long_for_a_cell_is_refused_before_any_call(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    google_emulator.reset_counts()
    df = _rows(2)
    df.loc[df.index[1], "name"] = "x" * 50_001
    with pytest.raises(StoreError, match=r"tab 'Things', row 3: the text is longer"):
        s.write({"things": df})
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 0


def test_retry_after_as_an_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("2.5") == 2.5 and retry_after_seconds("soon") is None


# ------------------------------------------------------------- auth and scopes


def test_missing_scope_is_refused_before_any_call(
    google_settings: Any, google_emulator: Any, google_transport: Any, google_key_file: Path
) -> None:
    from google.oauth2 import service_account

    creds = service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    camp = google_settings.campaign(None)
    with pytest.raises(ConfigError, match=r"drive\.file \(to create, find and share"):
        open_google_stores(
            google_settings,
            camp,
            *workbook_specs(camp),
            transport=google_transport,
            credentials=creds,
        )
    assert google_emulator.calls() == 0


def test_a_token_google_gives_fewer_scopes_fails_clearly(
    google_emulator: Any, google_transport: Any, tmp_path: Path, http: RetryingHTTPClient
) -> None:
    from google.oauth2.credentials import Credentials

    s = _store(http, tmp_path)
    token = google_emulator.issue_token(None, ["spreadsheets.readonly"])
    weak = _http(google_transport, Credentials(token), sleep=lambda _: None)
    reader = GoogleStore(s.spec, weak, title="t", spreadsheet_id=s.spreadsheet_id)
    assert reader.read_one("things").empty
    with pytest.raises(GoogleAPIError, match=r"lack a permission \(scope\)") as err:
        reader.write({"things": _rows(1)})
    assert err.value.status == 403


def test_no_key_configured_is_a_clear_config_error(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        load_credentials(settings)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nope.json"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_credentials(settings)
    (tmp_path / "bad.json").write_text("{not json")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="cannot be read") as err:
        load_credentials(settings)
    assert "not json" not in str(err.value)


def test_key_from_environment_as_json_text(
    settings: Any, monkeypatch: pytest.MonkeyPatch, google_emulator: Any
) -> None:
    monkeypatch.setenv(
        "GOOGLE_APPLICATION_CREDENTIALS", json.dumps(google_emulator.service_account_info())
    )
    creds = load_credentials(settings)
    assert set(creds.scopes) == set(STORE_SCOPES)


# ---------------------------------------------------------------------- init


def _spreadsheets(emu: Any) -> list[Any]:
    return [f for f in emu.state("drive")["files"].values() if f.mime_type == SPREADSHEET_MIME]


def test_init_applies_the_templates(google_ctx: Any, google_emulator: Any) -> None:
    stores = google_ctx.stores
    assert stores.staff.spreadsheet_id != stores.panel.spreadsheet_id
    assert stores.staff.location.startswith("https://docs.google.com/spreadsheets/d/")
    sheets = google_emulator.state("sheets")["spreadsheets"]
    ss = sheets[stores.staff.spreadsheet_id]
    titles = [sh.title for sh in ss.sheets if not sh.props.get("hidden")]  # not the stamp
    assert titles == [t.label for t in stores.staff.spec.tabs.values()]  # no stray Sheet1
    assert ss.properties["locale"] == "en_GB"
    people = next(sh for sh in ss.sheets if sh.title == "People")
    assert people.props["gridProperties"]["frozenRowCount"] == 1
    assert "Leave empty if the person has no email" in people.notes[(0, 2)]
    kind_col = [c.id for c in stores.staff.tab("people").columns].index("kind")
    rules = [v.data for v in people.validations if v.c0 == kind_col]
    assert rules and rules[-1]["condition"]["type"] == "ONE_OF_LIST"
    panel = sheets[stores.panel.spreadsheet_id]
    apps = next(sh for sh in panel.sheets if sh.title == stores.panel.tab("applications").label)
    owned = [c for c in stores.panel.tab("applications").columns if c.job_owned]
    assert owned and len(apps.protected) == len(owned)
    assert all(p["warningOnly"] for p in apps.protected)


def test_init_again_creates_nothing_twice(
    google_ctx: Any,
    google_emulator: Any,
    google_settings: Any,
    google_transport: Any,
    google_credentials: Any,
) -> None:
    staff_id = google_ctx.stores.staff.spreadsheet_id
    protected_before = sum(
        len(sh.protected)
        for ss in google_emulator.state("sheets")["spreadsheets"].values()
        for sh in ss.sheets
    )
    google_emulator.reset_counts()
    again = init_campaign(google_ctx, example=True)
    assert not again.staff.created_workbook and not again.staff.tabs_added
    assert not any(again.loaded.values())
    assert google_emulator.calls("drive.files.create") == 0
    # forget the remembered ids (as after a crash before they were saved): found by name
    ids = google_settings.workspace / google_ctx.campaign.id / "google_ids.json"
    ids.unlink()
    ctx2 = make_context(google_settings, transport=google_transport, credentials=google_credentials)
    assert ctx2.stores.staff.exists()
    init_campaign(ctx2)
    assert len(_spreadsheets(google_emulator)) == 2
    assert json.loads(ids.read_text())["staff"] == staff_id
    assert len(ctx2.stores.staff.read_one("people")) == 8
    protected_after = sum(
        len(sh.protected)
        for ss in google_emulator.state("sheets")["spreadsheets"].values()
        for sh in ss.sheets
    )
    assert protected_after == protected_before


def test_init_survives_lost_answers_to_create_and_setup(
    google_settings: Any, google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    google_emulator.drop(times=1, match="drive.files.create", when="after")
    google_emulator.fail(503, times=1, match="sheets.spreadsheets.batchUpdate", when="after")
    ctx = make_context(
        google_settings,
        transport=google_transport,
        credentials=google_credentials,
        retry=RetryPolicy(sleep=lambda _: None),
    )
    init_campaign(ctx)
    assert len(_spreadsheets(google_emulator)) == 2
    staff = google_emulator.state("sheets")["spreadsheets"][ctx.stores.staff.spreadsheet_id]
    titles = [sh.title for sh in staff.sheets if not sh.props.get("hidden")]  # not the stamp
    assert len(titles) == len(set(titles)) == len(ctx.stores.staff.spec.tabs)


def test_adopts_spreadsheets_named_in_config(
    google_settings: Any, google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    from tests.google_emulator import drive

    email = google_emulator.default_principal_email  # the account the service account acts as
    a = drive.add_file(google_emulator, "Our staff sheet", SPREADSHEET_MIME, email)
    b = drive.add_file(google_emulator, "Our panel sheet", SPREADSHEET_MIME, email)
    camp = google_settings.campaign(None)
    camp = camp.model_copy(
        update={"google": GoogleFiles(staff_spreadsheet_id=a.id, panel_spreadsheet_id=b.id)}
    )
    stores = open_google_stores(
        google_settings,
        camp,
        *workbook_specs(camp),
        transport=google_transport,
        credentials=google_credentials,
    )
    rep = stores.staff.init()
    assert not rep.created_workbook and "people" in rep.tabs_added
    assert google_emulator.calls("drive.files.create") == 0
    assert stores.staff.read_one("people").empty
    same = camp.model_copy(
        update={"google": GoogleFiles(staff_spreadsheet_id=a.id, panel_spreadsheet_id=a.id)}
    )
    with pytest.raises(ConfigError, match="two different spreadsheets"):
        open_google_stores(
            google_settings,
            same,
            *workbook_specs(same),
            transport=google_transport,
            credentials=google_credentials,
        )


def test_workbook_not_created_yet_says_so(
    google_settings: Any, google_emulator: Any, google_transport: Any, google_credentials: Any
) -> None:
    ctx = make_context(google_settings, transport=google_transport, credentials=google_credentials)
    assert not ctx.stores.staff.exists()
    assert "not created yet" in ctx.stores.staff.location
    problems = check_campaign(ctx)
    assert any("does not exist yet" in p.message for p in problems)
    assert len(_spreadsheets(google_emulator)) == 0


def test_check_reads_each_workbook_in_one_batch(google_ctx: Any, google_emulator: Any) -> None:
    google_ctx.stores.staff.forget()
    google_ctx.stores.panel.forget()
    google_emulator.reset_counts()
    problems = check_campaign(google_ctx)
    assert not [p for p in problems if p.severity == "error"]
    assert google_emulator.calls("sheets.spreadsheets.values.batchGet") == 2


@pytest.mark.parametrize(
    ("locale", "typed_day", "typed_at"),
    [("en_GB", "15/02/2027", "15/02/2027 10:30"), ("en_US", "2/15/2027", "2/15/2027 10:30")],
)
def test_dates_typed_in_the_sheet_read_the_same_in_any_locale(
    google_transport: Any,
    google_credentials: Any,
    tmp_path: Path,
    locale: str,
    typed_day: str,
    typed_at: str,
) -> None:
    import datetime as dt

    from automations.store.google import SHEETS_API, quote

    http = _http(google_transport, google_credentials, sleep=lambda _: None)
    spec = WorkbookSpec(
        "staff",
        {
            "d": TabSpec(
                "d",
                "Dates",
                "staff",
                (
                    ColumnSpec("id", "ID"),
                    ColumnSpec("day", "Day", type="date"),
                    ColumnSpec("at", "At", type="datetime"),
                    ColumnSpec("note", "Note"),
                ),
            )
        },
    )
    s = GoogleStore(spec, http, title="dates", ids=IdMemory(tmp_path / "ids.json"))
    s.init()
    sid = s.spreadsheet_id
    http.call(
        "POST",
        f"{SHEETS_API}/{sid}:batchUpdate",
        json={
            "requests": [
                {
                    "updateSpreadsheetProperties": {
                        "properties": {"locale": locale},
                        "fields": "locale",
                    }
                }
            ]
        },
    )
    http.call(  # as a person types them
        "PUT",
        f"{SHEETS_API}/{sid}/values/{quote('Dates')}!A2",
        params={"valueInputOption": "USER_ENTERED"},
        json={"values": [["1", typed_day, typed_at, "2027-02-15"]]},
    )
    df = GoogleStore(spec, http, title="dates", spreadsheet_id=sid).read_one("d")
    assert df["day"].iloc[0] == dt.date(2027, 2, 15)
    assert df["at"].iloc[0] == dt.datetime(2027, 2, 15, 10, 30)
    assert df["note"].iloc[0] == "2027-02-15"  # a date typed in a text column reads as typed


# ------------------------------------------------------------ a real job on Google


def _outbox(ctx: Any) -> list[Path]:
    return sorted(ctx.settings.path(ctx.settings.org.mail.outbox).glob("**/*.eml"))


def test_reminders_job_under_bursts_finishes_and_sends_each_message_once(
    google_ctx: Any, google_emulator: Any
) -> None:
    from automations.pipelines import remind_job

    for route in ("sheets.spreadsheets.values.batchGet", "sheets.spreadsheets.values.batchUpdate"):
        google_emulator.fail(429, retry_after=2, times=2, match=route)
        google_emulator.fail(503, times=1, match=route)
        google_emulator.drop(times=1, match=route, when="after")
    google_ctx.stores.staff.forget()
    first = remind_job(google_ctx)
    assert first.messages_sent > 0
    sent = _outbox(google_ctx)
    assert len(sent) == first.messages_sent
    google_ctx.stores.staff.forget()
    again = remind_job(google_ctx)
    assert again.messages_sent == 0 and _outbox(google_ctx) == sent


def test_reminders_job_past_the_limit_fails_cleanly_and_sends_nothing(
    google_ctx: Any, google_emulator: Any
) -> None:
    from automations.pipelines import remind_job

    staff = google_ctx.stores.staff
    staff.forget()
    before = staff.read_one("sent_messages")
    google_emulator.fail(503, times=100, match="sheets.spreadsheets.values.batchUpdate")
    with pytest.raises(RetryLimitReached, match="max_attempts"):
        remind_job(google_ctx)
    google_emulator.faults.clear()
    assert _outbox(google_ctx) == []
    staff.forget()
    # the sheet keeps what it held; the ledger holds the intention (issue 17), never 'sent'
    raw = staff._read_grids([staff.tab("sent_messages")])["sent_messages"]
    assert raw is not None and len([r for r in raw.rows if any(r)]) == len(before)
    held = staff.read_one("sent_messages")
    assert set(held["status"]) <= {"intended", "contact another way"}
    again = remind_job(google_ctx)  # the next run sends each message once
    assert again.messages_sent == len(_outbox(google_ctx)) == len(set(_outbox(google_ctx)))


def test_a_slow_answer_times_out_and_is_retried(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    http.timeout = 0.3
    google_emulator.slow(1.0, times=1, match="sheets.spreadsheets.values.batchUpdate")
    s.write({"things": _rows(3)})
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 2
    assert list(_fresh(s).read_one("things")["n"]) == [0, 1, 2]


def test_a_remembered_spreadsheet_that_was_deleted_is_made_again(
    google_emulator: Any, http: RetryingHTTPClient, tmp_path: Path
) -> None:
    s = _store(http, tmp_path)
    old = s.spreadsheet_id
    del google_emulator.state("drive")["files"][old]
    del google_emulator.state("sheets")["spreadsheets"][old]
    again = GoogleStore(_spec(), http, title="t", ids=IdMemory(tmp_path / "ids.json"))
    assert again.spreadsheet_id == old and not again.exists()
    rep = again.init()
    assert rep.created_workbook and again.spreadsheet_id != old
    assert IdMemory(tmp_path / "ids.json").get("staff") == again.spreadsheet_id
