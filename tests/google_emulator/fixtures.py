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
def google_credentials(google_key_file: Path) -> object:
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=list(SCOPES)
    )
