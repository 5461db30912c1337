"""The merge job on the Google path: real gspread/googleapiclient against the emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from automations.jobs.merge import merge_job
from tests.merge_support import score
from tests.test_merge_job import _full_shortlisting, _scores, _seed_key


def _sheets_calls(emu: Any) -> int:
    return emu.calls("sheets.")


def test_merge_on_google_calls_do_not_grow_and_bursts_are_survived(
    google_ctx: Any, google_emulator: Any
) -> None:
    ctx = google_ctx
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting(("A",)))
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    google_emulator.reset_counts()
    merge_job(ctx)  # incomplete: the panel workbook is not written
    small = _sheets_calls(google_emulator)
    rest = [r for r in _full_shortlisting() if r["candidate_letter"] != "A"]
    _scores(ctx, rest)  # every other letter: now complete, with 6 times the rows
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    google_emulator.reset_counts()
    merge_job(ctx)
    big = _sheets_calls(google_emulator)
    assert big <= small + 1  # + the one panel write now that results are released
    assert google_emulator.calls("sheets.spreadsheets.values.batchGet") == 2

    ctx.stores.staff.forget()
    results = ctx.stores.staff.read_one("results")
    a = results[results["candidate_letter"] == "A"].iloc[0]
    assert a["overall_score"] == Decimal("75.00")
    panel = ctx.stores.panel.read_one("shortlisting_results")
    assert list(panel["candidate_letter"]) == ["A", "B", "C", "F", "D", "E"]

    # A correction arrives; the merge runs under 429s, a 503 and a lost answer on both
    # the read and the write. p01 now gives A 0 on c1: p01's A is (0+4+4+4)/4 -> 75,
    # Council (75 + 100)/2 = 87.5, overall (87.5 + 50)/2 = 68.75.
    fix = score("p01", "A", "c1", 0, stage="shortlisting", minutes=30, response="fix")
    _scores(ctx, [fix])
    for route in ("sheets.spreadsheets.values.batchGet", "sheets.spreadsheets.values.batchUpdate"):
        google_emulator.fail(429, retry_after=1, times=1, match=route)
        google_emulator.fail(503, times=1, match=route)
    google_emulator.drop(times=1, match="sheets.spreadsheets.values.batchUpdate", when="after")
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    merge_job(ctx)
    assert not google_emulator.faults  # every fault was met, and retried
    ctx.stores.staff.forget()
    fixed = ctx.stores.staff.read_one("results")
    assert fixed.loc[fixed["candidate_letter"] == "A", "overall_score"].iloc[0] == Decimal("68.75")
    assert len(fixed) == len(results)
    exc = ctx.stores.staff.read_one("exceptions")
    assert exc["exception_id"].is_unique
    # And once more: nothing changed, nothing written.
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    google_emulator.reset_counts()
    merge_job(ctx)
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 0
    ctx.stores.staff.forget()
    pd.testing.assert_frame_equal(ctx.stores.staff.read_one("results"), fixed)
