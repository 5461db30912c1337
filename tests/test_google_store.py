"""The Google Sheets store on the emulator: call counts, faults, limits, init, clear errors."""

from __future__ import annotations

from typing import Any


def test_read_write_round_trip_on_google(google_ctx: Any, google_emulator: Any) -> None:
    staff = google_ctx.stores.staff
    staff.forget()
    google_emulator.reset_counts()
    people = staff.read_one("people")
    assert len(people) == 8
    staff.write({"people": people.iloc[:2]})
    assert google_emulator.counts("sheets.") == {
        "sheets.spreadsheets.get": 1,
        "sheets.spreadsheets.values.batchGet": 1,
        "sheets.spreadsheets.values.batchUpdate": 1,
    }
    staff.forget()
    again = staff.read_one("people")
    assert list(again["person_id"]) == list(people["person_id"][:2])
