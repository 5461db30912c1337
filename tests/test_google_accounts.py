"""The three Google set-ups a council can really run, on the emulator, as a new user would:
a person's account (``corecruit google login``), a service account acting as a person,
and a service account on a shared drive; and what a misconfigured one meets."""

from __future__ import annotations

import datetime as dt
import json
import stat
import threading
import urllib.parse
import urllib.request
import webbrowser
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from automations.cli import State, main
from automations.config import Settings, load_settings
from automations.context import Context, make_context
from automations.errors import GoogleAPIError
from automations.forms.google import google_provider
from automations.google.account import check_google, login, logout
from automations.google.http import RetryPolicy
from automations.transforms.forms import Scorer, interview_spec
from automations.workspace import init_campaign
from tests.google_emulator.core import Emulator
from tests.google_emulator.drive import NO_QUOTA, add_folder, add_shared_drive, files
from tests.google_emulator.oauth import client_info, consent

PERSON = "sam.manager@example.org"
NOW = dt.datetime(2027, 1, 25, 9, 0)


def configure(config_dir: Path, **google: str) -> Settings:
    """organisation.toml on Google (workbooks and forms), with these [google] settings."""
    org = config_dir / "organisation.toml"
    text = org.read_text(encoding="utf-8")
    text = text.replace(
        'backend = "local"            # "local": .xlsx', 'backend = "google"  # .xlsx', 1
    )
    text = text.replace(
        'backend = "local"            # "local": corecruit', 'backend = "google"  # corecruit', 1
    )
    for key, value in google.items():
        start = text.index(f"\n{key} = ") + 1
        end = text.index("\n", start)
        text = text[:start] + f'{key} = "{value}"' + text[end:]
    org.write_text(text, encoding="utf-8")
    return load_settings(config_dir)


def context(settings: Settings, transport: requests.Session) -> Context:
    """A context whose credentials come from the configuration alone, as in real use."""
    retry = RetryPolicy(sleep=lambda s: None)
    c = make_context(settings, clock=lambda: NOW, transport=transport, retry=retry)
    c.extras["google_transport"] = transport
    c.extras["google_retry"] = retry
    return c


def push_one_form(c: Context) -> str:
    spec = interview_spec(c.campaign, Scorer("p04", "mixed", "panel member"), ["A", "B"])
    return google_provider(c).ensure_forms([spec])[spec.key].form_id


def owners(emu: Emulator, file_id: str) -> set[str]:
    return {p["emailAddress"] for p in files(emu)[file_id].permissions if p["role"] == "owner"}


# ------------------------------------------------------------------ 1. a person


class ConsentPage(webbrowser.BaseBrowser):
    """The browser: Google's consent page, where ``who`` says yes; then back to corecruit."""

    def __init__(self, emu: Emulator, who: str) -> None:
        super().__init__("consent")
        self.emu, self.who = emu, who
        self.opened: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        code = consent(self.emu, self.who, q["scope"][0].split())
        back = f"{q['redirect_uri'][0]}?" + urllib.parse.urlencode(
            {"state": q["state"][0], "code": code, "scope": q["scope"][0]}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def follow() -> None:  # the browser lands on the redirect, and closes the page
            with opener.open(back, timeout=10) as page:
                page.read()

        threading.Thread(target=follow, daemon=True).start()
        return True


def test_a_persons_account_login_use_and_logout(
    config_dir: Path, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    emu = google_emulator
    client = config_dir / "client_secret.json"
    client.write_text(json.dumps(client_info()))
    settings = configure(config_dir, account="person", oauth_client_file=str(client))
    page = ConsentPage(emu, PERSON)
    webbrowser.register("corecruit-test-consent", None, page)
    said: list[str] = []
    token = login(
        settings,
        browser="corecruit-test-consent",
        transport=google_transport,
        echo=said.append,
    )
    assert page.opened and "access_type=offline" in page.opened[0]
    assert stat.S_IMODE(token.stat().st_mode) == 0o600  # only its owner can read it
    assert "refresh_token" in json.loads(token.read_text())
    assert "only you can read it" in said[0]
    # every Sheets, Drive and Forms call now runs as that person
    c = context(settings, google_transport)
    init_campaign(c, example=True)
    assert owners(emu, c.stores.staff.spreadsheet_id) == {PERSON}
    assert owners(emu, push_one_form(c)) == {PERSON}
    assert check_google(settings, transport=google_transport) == []
    # logout cancels the sign-in at Google and deletes it here
    assert logout(settings, transport=google_transport)
    assert not token.exists()
    assert emu.state("oauth")["refresh"] == {}
    problems = check_google(settings, transport=google_transport)
    assert problems and "corecruit google login" in problems[0]


def test_login_without_a_browser_prints_the_page_to_open(
    config_dir: Path, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    client = config_dir / "client_secret.json"
    client.write_text(json.dumps(client_info()))
    settings = configure(config_dir, account="person", oauth_client_file=str(client))
    page = ConsentPage(google_emulator, PERSON)
    printed: list[str] = []

    def person_reads_the_screen(*args: Any, **kw: Any) -> None:
        printed.append(" ".join(str(a) for a in args))
        url = printed[-1].split("\n")[-1]
        page.open(url)  # they open it by hand (here: at once)

    pytest.MonkeyPatch().setattr("builtins.print", person_reads_the_screen)
    try:
        login(settings, open_browser=False, transport=google_transport, echo=lambda s: None)
    finally:
        pytest.MonkeyPatch().undo()
    assert printed[0].startswith("Open this page to let corecruit use your Google account")
    assert "https://accounts.google.com/o/oauth2/auth?" in printed[0]


# --------------------------------------------------- 2. a service account acting as someone


def test_a_service_account_acting_as_a_person(
    config_dir: Path,
    google_emulator: Emulator,
    google_transport: requests.Session,
    google_key_file: Path,
) -> None:
    settings = configure(
        config_dir, account="act_as", act_as=PERSON, credentials_file=str(google_key_file)
    )
    c = context(settings, google_transport)
    init_campaign(c, example=True)
    assert owners(google_emulator, c.stores.staff.spreadsheet_id) == {PERSON}
    assert owners(google_emulator, push_one_form(c)) == {PERSON}
    assert check_google(settings, transport=google_transport) == []


def test_delegation_not_allowed_by_the_admin_is_one_plain_sentence(
    config_dir: Path,
    google_emulator: Emulator,
    google_transport: requests.Session,
    google_key_file: Path,
) -> None:
    google_emulator.no_delegation.add(google_emulator.default_service_account)
    settings = configure(
        config_dir, account="act_as", act_as=PERSON, credentials_file=str(google_key_file)
    )
    problems = check_google(settings, transport=google_transport)
    assert problems == [
        f"The service account may not act as {PERSON}: in the Google Admin console "
        "(Security, API controls, Domain-wide delegation) add its client ID with the scopes "
        "listed in the README."
    ]
    c = context(settings, google_transport)
    with pytest.raises(GoogleAPIError, match="Domain-wide delegation"):
        init_campaign(c, example=True)


# ------------------------------------------------------------ 3. a shared drive


def test_a_service_account_on_a_shared_drive(
    config_dir: Path,
    google_emulator: Emulator,
    google_transport: requests.Session,
    google_key_file: Path,
) -> None:
    emu = google_emulator
    drive_id = add_shared_drive(
        emu, "Recruitment", {emu.default_service_account: "fileOrganizer", PERSON: "organizer"}
    )
    settings = configure(
        config_dir,
        account="shared_drive",
        drive_folder_id=drive_id,
        credentials_file=str(google_key_file),
    )
    c = context(settings, google_transport)
    init_campaign(c, example=True)
    form_id = push_one_form(c)
    for fid in (c.stores.staff.spreadsheet_id, c.stores.panel.spreadsheet_id, form_id):
        f = files(emu)[fid]
        assert f.drive_id == drive_id and f.parents == [drive_id]
        assert owners(emu, fid) == set()  # the shared drive holds it, not the robot
    assert emu.calls("forms.forms.create") == 0  # forms are made through Drive, in the folder
    assert check_google(settings, transport=google_transport) == []


# ----------------------------------------------------------- misconfigured


def test_a_service_account_with_no_shared_drive_gets_a_plain_message_and_no_retries(
    config_dir: Path,
    google_emulator: Emulator,
    google_transport: requests.Session,
    google_key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = google_emulator
    folder = add_folder(emu, "Recruitment", PERSON)  # in a person's My Drive, shared with it
    files(emu)[folder].members = {emu.default_service_account: "writer"}
    settings = configure(
        config_dir,
        account="shared_drive",
        drive_folder_id=folder,
        credentials_file=str(google_key_file),
    )
    problems = check_google(settings, transport=google_transport)
    assert problems == [
        "The folder in [google] drive_folder_id is in someone's My Drive, not on a shared "
        "drive, so a service account cannot create files there: use a folder on a shared "
        'drive, or set account = "act_as" or "person".'
    ]
    monkeypatch.setattr(
        State, "store_kw", {"transport": google_transport, "retry": RetryPolicy(sleep=print)}
    )
    emu.reset_counts()
    res = CliRunner().invoke(main, ["--config", str(config_dir), "init"])
    assert res.exit_code != 0
    assert "Traceback" not in res.output and NO_QUOTA not in res.output
    assert "Google will not let a service account own files" in res.output
    assert "shared drive" in res.output and "Connecting to Google" in res.output
    assert emu.calls("drive.files.create") == 1  # a 403 is an answer: never retried
    res = CliRunner().invoke(main, ["--config", str(config_dir), "google", "check"])
    assert res.exit_code == 4
    assert "a service account, with the files on a shared drive" in res.output
    assert "is in someone's My Drive, not on a shared drive" in res.output


def test_no_folder_for_a_shared_drive_set_up_is_said_before_anything_is_tried(
    config_dir: Path, google_transport: requests.Session, google_key_file: Path
) -> None:
    settings = configure(config_dir, account="shared_drive", credentials_file=str(google_key_file))
    problems = check_google(settings, transport=google_transport)
    assert problems[0].startswith('With account = "shared_drive", set [google] drive_folder_id')


def test_forms_on_a_service_account_with_no_shared_drive_fail_plainly_once(
    config_dir: Path,
    google_emulator: Emulator,
    google_transport: requests.Session,
    google_key_file: Path,
) -> None:
    emu = google_emulator
    settings = configure(config_dir, account="shared_drive", credentials_file=str(google_key_file))
    c = context(settings, google_transport)
    with pytest.raises(GoogleAPIError) as err:
        push_one_form(c)
    assert "Google will not let a service account own files" in str(err.value)
    assert err.value.status == 403
    assert emu.calls("drive.files.create") == 1 and emu.calls("forms.") == 0
