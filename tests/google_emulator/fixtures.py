"""pytest fixtures for the Google emulator (exposed to every test by tests/conftest.py).

* ``google_emulator``: a fresh emulator on a free loopback port, stopped after the test.
* ``google_transport``: a ``requests.Session`` whose adapters carry every
  ``https://*.googleapis.com`` request to that emulator (and refuse the internet).
* ``google_key_file``: a service account key file (JSON, with a throwaway RSA key)
  whose tokens the emulator issues, as an admin would download it from Google.
* ``google_credentials``: google-auth service account credentials from that key,
  with corecruit's scopes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .core import Emulator
from .transport import emulator_session

SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive.file",
)


@pytest.fixture
def google_emulator() -> Iterator[Emulator]:
    emu = Emulator().start()
    try:
        yield emu
    finally:
        emu.stop()
    assert not emu.errors, f"the emulator crashed: {emu.errors!r}"


@pytest.fixture
def google_transport(google_emulator: Emulator) -> Iterator[requests.Session]:
    session = emulator_session(google_emulator)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def google_key_file(google_emulator: Emulator, tmp_path: Path) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(google_emulator.service_account_info()))
    return path


@pytest.fixture
def google_credentials(google_emulator: Emulator, google_key_file: Path) -> object:
    """The service account acting as the team's account (a service account alone owns nothing)."""
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=list(SCOPES), subject=google_emulator.default_principal_email
    )


def act_as(text: str, email: str) -> str:
    """organisation.toml text with the service account acting as ``email``."""
    text = text.replace('account = "shared_drive"', 'account = "act_as"', 1)
    return text.replace('act_as = ""', f'act_as = "{email}"', 1)


@pytest.fixture
def google_settings(config_dir: Path, google_key_file: Path, google_emulator: Emulator) -> object:
    """The example config switched to the Google backend, with the emulator's key file.

    The service account acts as the team's Workspace account (``account = "act_as"``).
    """
    from automations.config import load_settings

    org = config_dir / "organisation.toml"
    text = act_as(org.read_text(encoding="utf-8"), google_emulator.default_principal_email)
    text = text.replace(
        'backend = "local"            # "local": .xlsx', 'backend = "google"  # .xlsx', 1
    )
    text = text.replace('credentials_file = ""', f'credentials_file = "{google_key_file}"', 1)
    org.write_text(text, encoding="utf-8")
    settings = load_settings(config_dir)
    assert settings.org.storage.backend == "google"
    return settings


@pytest.fixture
def google_ctx(
    google_settings: object, google_transport: requests.Session, google_credentials: object
) -> object:
    """The example campaign initialised on the emulated Google Sheets, with sample data."""
    import datetime as dt

    from automations.context import make_context
    from automations.google.http import RetryPolicy
    from automations.workspace import init_campaign

    c = make_context(
        google_settings,  # type: ignore[arg-type]
        clock=lambda: dt.datetime(2027, 1, 25, 9, 0),
        transport=google_transport,
        credentials=google_credentials,
        retry=RetryPolicy(sleep=lambda s: None),
    )
    init_campaign(c, example=True)
    return c


def start_for_bench(settings: object) -> tuple[Emulator, object, dict[str, object]]:
    """Outside pytest (bench/): an emulator, the settings switched to Google, context kwargs.

    Returns ``(emulator, settings, make_context keyword arguments)``; the caller stops
    the emulator (or lets the process end).
    """
    from google.oauth2 import service_account

    from automations.config import load_settings
    from automations.google.auth import ALL_SCOPES
    from automations.google.http import RetryPolicy

    emu = Emulator().start()
    config_dir = Path(settings.config_dir)  # type: ignore[attr-defined]
    key = config_dir / "service-account.json"
    key.write_text(json.dumps(emu.service_account_info()))
    org = config_dir / "organisation.toml"
    text = act_as(org.read_text(encoding="utf-8"), emu.default_principal_email)
    text = text.replace(
        'backend = "local"            # "local": .xlsx', 'backend = "google"  # .xlsx', 1
    )
    text = text.replace('credentials_file = ""', f'credentials_file = "{key}"', 1)
    text = text.replace(
        'backend = "local"            # "local": corecruit', 'backend = "google"  # corecruit', 1
    )
    org.write_text(text, encoding="utf-8")
    new = load_settings(config_dir)
    assert new.org.forms.backend == "google"
    who = emu.default_principal_email
    creds = service_account.Credentials.from_service_account_file(
        str(key), scopes=list(SCOPES), subject=who
    )
    kw: dict[str, object] = {
        "transport": emulator_session(emu),
        "credentials": creds,
        "retry": RetryPolicy(sleep=lambda s: None),
    }
    kw["extras"] = {  # what the Google Forms provider takes from the context
        "google_transport": kw["transport"],
        "google_credentials": service_account.Credentials.from_service_account_file(
            str(key), scopes=list(ALL_SCOPES), subject=who
        ),
        "google_retry": kw["retry"],
    }
    return emu, new, kw
