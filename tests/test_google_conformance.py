"""Conformance: gspread's recordings of real Google traffic, replayed against the emulator.

Every recording whose calls the emulator models must get the same answers Google
gave (ids and timestamps aside). The figure goes in bench/RESULTS.md
("Google emulator conformance"; `python bench/google_conformance.py` prints it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.google_emulator.replay import load, recordings_folder, replay, support

CASSETTES = recordings_folder()
ALL = sorted(CASSETTES.glob("*.json"))
SUPPORTED = [p for p in ALL if support(load(p))[0]]

# The calls corecruit relies on: every recording that uses only these must be modelled.
CORE = {
    "drive.files.create",
    "drive.files.get",
    "drive.files.delete",
    "drive.files.list",
    "sheets.spreadsheets.get",
    "sheets.spreadsheets.batchUpdate",
    "batchUpdate.addSheet",
    "batchUpdate.deleteSheet",
    "batchUpdate.updateSheetProperties",
    "batchUpdate.updateSpreadsheetProperties",
    "batchUpdate.updateCells",
    "batchUpdate.setDataValidation",
    "batchUpdate.addProtectedRange",
    "batchUpdate.deleteProtectedRange",
    "batchUpdate.repeatCell",
}


def _is_core(path: Path) -> bool:
    _ok, reason, families = support(load(path))
    if "outside the recording" in reason:
        return False  # answers depend on the recording account's other files: not replayable
    return all(f in CORE or f.startswith("sheets.spreadsheets.values") for f in families)


pytestmark = pytest.mark.skipif(not CASSETTES.is_dir(), reason="the recordings are not here")


@pytest.mark.parametrize("cassette", SUPPORTED, ids=[p.stem for p in SUPPORTED])
def test_emulator_answers_as_google_did(cassette: Path) -> None:
    result = replay(cassette)
    assert result.status == "pass", result.detail


def test_every_values_and_sheet_properties_recording_is_modelled() -> None:
    core = [p for p in ALL if _is_core(p)]
    missing = [p.stem for p in core if p not in SUPPORTED]
    assert not missing
    assert len(core) >= 90  # most of gspread's recordings are of these calls
    assert len(SUPPORTED) >= 110
