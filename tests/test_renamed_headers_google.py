"""Renamed headers on the emulated Google Sheets path (issue 17): the same stories as
``test_renamed_headers.py`` through real gspread/googleapiclient calls to the emulator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from automations.context import Context, make_context
from automations.errors import SheetProblems
from automations.google.http import RetryPolicy
from automations.jobs.redact import redact_job
from automations.review import mark_example_reviewed
from automations.store.base import Grid, TableStore
from automations.workspace import check_campaign, init_campaign

WORDS = "Tell us about a time you supported someone"


@pytest.fixture
def make(google_settings: Any, google_transport: Any, google_credentials: Any) -> Any:
    def _make() -> Context:
        return make_context(
            google_settings,
            clock=lambda: dt.datetime(2027, 1, 25, 9),
            transport=google_transport,
            credentials=google_credentials,
            retry=RetryPolicy(sleep=lambda s: None),
        )

    return _make


def panel_answers(ctx: Context) -> dict[str, str]:
    df = ctx.stores.panel.read_one("applications")
    return dict(zip(df["candidate_letter"], df["answer_1"], strict=True))


def edit_header(store: TableStore, old: str, new: str | None) -> None:
    """A person retitles (``new``) or deletes (``None``) a column of Applications in Sheets."""
    grid = store._read_grids([store.tab("applications")])["applications"]
    assert grid is not None
    j = grid.header.index(old)
    header, rows = list(grid.header), [list(r) for r in grid.rows]
    if new is not None:
        header[j] = new
    else:
        header.pop(j)
        rows = [r[:j] + r[j + 1 :] + [None] for r in rows]
        header.append("")
    store._write_grids({"applications": (Grid(grid.title, header, rows), len(rows))})


@pytest.fixture
def redacted(google_ctx: Any, make: Any) -> Any:
    redact_job(make())
    mark_example_reviewed(make())
    redact_job(make())
    assert all(panel_answers(make()).values())
    return make


def test_on_google_a_renamed_header_is_read_as_its_column_and_said_once(redacted: Any) -> None:
    make = redacted
    before = panel_answers(make())
    edit_header(make().stores.staff, "Answer 1", WORDS)
    ctx = make()
    init_campaign(ctx, add_tabs=False)  # what 'corecruit run' does first: adds nothing
    redact_job(ctx)
    said = (
        f"In 'Applications' (staff workbook) the column 'Answer 1' is now headed '{WORDS}'; "
        "corecruit reads it as Answer 1."
    )
    assert ctx.stores.staff.notices == [said]
    assert panel_answers(make()) == before
    grid = make().stores.staff._read_grids([ctx.stores.staff.tab("applications")])
    header = grid["applications"].header  # type: ignore[union-attr]
    assert WORDS in header and "Answer 1" not in header
    later = make()
    redact_job(later)
    assert later.stores.staff.notices == []
    assert not [p for p in check_campaign(make()) if p.column == "answer_1"]


def test_on_google_a_deleted_column_is_refused_by_its_old_header_and_not_added_empty(
    redacted: Any,
) -> None:
    make = redacted
    before = panel_answers(make())
    edit_header(make().stores.staff, "Answer 1", None)
    rep = init_campaign(make())
    assert rep.staff.columns_added == {} and "applications" in rep.staff.columns_missing
    with pytest.raises(SheetProblems) as exc:
        redact_job(make())
    refusal = "the column 'Answer 1' is missing from 'Applications' (it was there on the last run)"
    assert refusal in str(exc.value)
    header = make().stores.staff._read_grids([make().stores.staff.tab("applications")])
    assert "Answer 1" not in header["applications"].header  # type: ignore[union-attr]
    assert panel_answers(make()) == before
