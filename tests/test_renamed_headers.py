"""A renamed header is recognised and kept, or refused naming the old header (issue 17).

The column's identity travels with its place: corecruit's record keeps each tab's header
row as last seen, so "Answer 1" retitled with the question's own words is read as
Answer 1 under the person's words; a column it cannot place is refused by its old
header, never added back empty, and a job never copies blanks over answers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context, make_context
from automations.errors import SheetProblems
from automations.jobs.redact import redact_job
from automations.review import mark_example_reviewed
from automations.store.record import recognise
from automations.workspace import check_campaign, init_campaign

WORDS = "Tell us about a time you supported someone"


def fresh(ctx: Context) -> Context:
    return make_context(ctx.settings, ctx.campaign.id, clock=ctx.clock)


def staff_path(ctx: Context) -> Path:
    return Path(ctx.stores.staff.location)


def retitle(path: Path, title: str, old: str, new: str | None) -> None:
    """A person retitles a column (``new=None``: deletes the column)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[title]
    col = [c.value for c in ws[1]].index(old) + 1
    if new is None:
        ws.delete_cols(col)
    else:
        ws.cell(1, col).value = new
    wb.save(path)


def header(path: Path, title: str) -> list[object]:
    ws = openpyxl.load_workbook(path, read_only=True)[title]
    return [v for v in next(ws.iter_rows(max_row=1, values_only=True)) if v is not None]


def panel_answers(ctx: Context) -> dict[str, str]:
    df = fresh(ctx).stores.panel.read_one("applications")
    return dict(zip(df["candidate_letter"], df["answer_1"], strict=True))


@pytest.fixture
def redacted(ctx: Context) -> Context:
    """The example with its applications checked and on the panel workbook."""
    redact_job(fresh(ctx))
    mark_example_reviewed(fresh(ctx))
    redact_job(fresh(ctx))
    assert all(panel_answers(ctx).values())
    return ctx


def test_explore(redacted: Context) -> None:
    ctx = redacted
    before = panel_answers(ctx)
    retitle(staff_path(ctx), "Applications", "Answer 1", WORDS)
    c = fresh(ctx)
    init_campaign(c, add_tabs=False)
    print(c.stores.staff.notices)
    print(check_campaign(fresh(ctx)))
    res = redact_job(c)
    print(res, c.stores.staff.notices)
    assert panel_answers(ctx) == before
    print(header(staff_path(ctx), "Applications"))
