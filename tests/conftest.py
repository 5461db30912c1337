"""Shared fixtures: a throwaway copy of the example campaign in a temporary folder."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from automations.config import Settings, load_settings
from automations.context import Context, make_context
from automations.workspace import init_campaign
from tests.google_emulator.fixtures import (  # noqa: F401  (fixtures for the Google path)
    google_credentials,
    google_ctx,
    google_emulator,
    google_key_file,
    google_settings,
    google_transport,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of config/ whose workspace and outbox live under tmp_path."""
    dst = tmp_path / "config"
    shutil.copytree(ROOT / "config", dst)
    return dst


@pytest.fixture
def settings(config_dir: Path) -> Settings:
    return load_settings(config_dir)


@pytest.fixture
def fixed_now() -> dt.datetime:
    return dt.datetime(2027, 1, 25, 9, 0)


@pytest.fixture
def ctx(settings: Settings, fixed_now: dt.datetime) -> Context:
    """The example campaign on the local store, initialised with the sample data."""
    c = make_context(settings, clock=lambda: fixed_now)
    init_campaign(c, example=True)
    return c
