"""A renamed header is recognised and kept, or refused naming the old header (issue 17).

The column's identity travels with its place: corecruit's record keeps each tab's header
row as last seen, so "Answer 1" retitled with the question's own words is read as
Answer 1 under the person's words; a column it cannot place is refused by its old
header, never added back empty, and a job never copies blanks over answers.
"""

from __future__ import annotations

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
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        top = next(wb[title].iter_rows(max_row=1, values_only=True))
    finally:
        wb.close()
    return [v for v in top if v is not None]


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


# ------------------------------------------------------------------ the rule, pure

T = ["id", "name", "answer_1", "answer_2", "status"]
LAST = [("ID", "id"), ("Name", "name"), ("Answer 1", "answer_1"), ("Answer 2", "answer_2"),
        ("Status", "status")]  # fmt: skip


def ids_of(header: list[str]) -> list[str | None]:
    known = {t.casefold(): i for t, i in LAST}
    return [known.get(h.casefold(), h) if h else None for h in header]


def test_a_header_is_read_as_the_column_that_stood_there() -> None:
    now = ["ID", "Name", "Q one", "Q two", "Status"]  # both answers retitled, in place
    got = recognise(T, now, ids_of(now), LAST)
    assert got.ids == T and not got.lost
    assert got.renamed == [("answer_1", "Answer 1", "Q one"), ("answer_2", "Answer 2", "Q two")]
    moved = ["Status", "ID", "Name", "Q one", "Answer 2"]  # moved: the only unknown between
    got = recognise(T, moved, ids_of(moved), LAST)
    assert got.ids == ["status", "id", "name", "answer_1", "answer_2"]
    away = ["Status", "ID", "Name", "Answer 2", "Q one"]  # no longer between its neighbours
    assert recognise(T, away, ids_of(away), LAST).lost == {"answer_1": "Answer 1"}
    learned = recognise(T, ["ID", "Name", "Q"], ids_of(["ID", "Name", "Q"]), [("Q", "answer_1")])
    assert learned.ids[2] == "answer_1" and not learned.renamed  # known words: said before


def test_a_header_that_cannot_be_placed_is_lost_by_its_old_name() -> None:
    now = ["ID", "Notes", "Name", "Q one", "Q two", "Status"]  # a column added, two retitled
    got = recognise(T, now, ids_of(now), LAST)
    assert got.lost == {"answer_1": "Answer 1", "answer_2": "Answer 2"} and not got.renamed
    gone = ["ID", "Name", "Answer 2", "Status"]  # deleted, nothing in its place
    assert recognise(T, gone, ids_of(gone), LAST).lost == {"answer_1": "Answer 1"}
    theirs = [*LAST[:2], ("Notes", "Notes"), *LAST[3:]]  # their own column, kept as theirs
    now = ["ID", "Name", "Notes", "Answer 2", "Status"]
    assert recognise(T, now, ids_of(now), [*LAST[:2], *theirs[2:3], *LAST[2:]]).lost == {
        "answer_1": "Answer 1"
    }


# ------------------------------------------------------------------ local workbooks


def test_a_renamed_answer_header_is_read_as_its_column_kept_and_said_once(
    redacted: Context,
) -> None:
    ctx = redacted
    cfg = ["--config", str(ctx.settings.config_dir)]
    before = panel_answers(ctx)
    retitle(staff_path(ctx), "Applications", "Answer 1", WORDS)
    said = (
        f"In 'Applications' (staff workbook) the column 'Answer 1' is now headed '{WORDS}'; "
        "corecruit reads it as Answer 1."
    )
    r = CliRunner().invoke(main, [*cfg, "check"])
    assert "missing" not in r.output and r.output.count(said) == 1, r.output
    assert r.exit_code == 0
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "redact"])
    assert r.exit_code == 0, r.output
    assert said not in r.output  # said once, by the first command that read it
    assert panel_answers(ctx) == before  # never blanks
    top = header(staff_path(ctx), "Applications")
    assert WORDS in top and "Answer 1" not in top  # their words kept, no empty column added
    again = fresh(ctx)
    init_campaign(again, add_tabs=False)
    assert redact_job(again).rows_written == 0
    assert again.stores.staff.notices == []  # said once
    apps = again.stores.staff.read_one("applications")
    assert apps["answer_1"].astype(bool).all()
    assert not [p for p in check_campaign(fresh(ctx)) if p.column == "answer_1"]


def test_the_first_run_after_a_rename_says_it(redacted: Context) -> None:
    ctx = redacted
    retitle(staff_path(ctx), "Applications", "Answer 2", "What matters to you")
    cfg = ["--config", str(ctx.settings.config_dir)]
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "redact"])
    assert r.exit_code == 0, r.output
    assert (
        "Please note: In 'Applications' (staff workbook) the column 'Answer 2' is now headed "
        "'What matters to you'; corecruit reads it as Answer 2." in r.output
    )
    assert r.output.count("is now headed") == 1


@pytest.mark.parametrize("how", ["retitled next to a new column", "deleted"])
def test_a_column_that_cannot_be_placed_is_refused_by_its_old_header_and_never_added_empty(
    redacted: Context, how: str
) -> None:
    ctx = redacted
    cfg = ["--config", str(ctx.settings.config_dir)]
    before = panel_answers(ctx)
    path = staff_path(ctx)
    if how == "deleted":
        retitle(path, "Applications", "Answer 1", None)
    else:
        wb = openpyxl.load_workbook(path)
        ws = wb["Applications"]
        col = [c.value for c in ws[1]].index("Answer 1") + 1
        ws.insert_cols(col)
        ws.cell(1, col).value = "Our notes"
        ws.cell(1, col + 1).value = WORDS
        wb.save(path)
    refusal = (
        "the column 'Answer 1' is missing from 'Applications' (it was there on the last "
        "run): if it was renamed, give it back its name or map your header to it in the "
        "campaign's header_map"
    )
    r = CliRunner().invoke(main, [*cfg, "check"])
    assert refusal in r.output, r.output
    assert "Run 'corecruit init' to add it" not in r.output
    r = CliRunner().invoke(main, [*cfg, "init"])
    assert r.exit_code == 0, r.output
    assert "Not added: " + refusal in r.output
    assert "Answer 1" not in header(path, "Applications")  # never added back empty
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "redact"])
    assert refusal in r.output
    with pytest.raises(SheetProblems, match="it was there on the last run"):
        redact_job(fresh(ctx))
    assert panel_answers(ctx) == before
    # mapped in the campaign's header_map (or given back its name): read again
    if how != "deleted":
        camp = next((ctx.settings.config_dir / "campaigns").glob("*.toml"))
        text = camp.read_text().replace(
            "[header_map.applications]\n", f'[header_map.applications]\n"{WORDS}" = "answer_1"\n'
        )
        camp.write_text(text)
        r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "redact"])
        assert r.exit_code == 0 and refusal not in r.output, r.output


def test_no_blank_answers_reach_the_panel_when_the_record_never_saw_the_column(
    redacted: Context,
) -> None:
    """Belt and braces: a campaign whose record holds no header yet (made before it kept
    headers) gets the column added back empty by init; redact still writes no blanks."""
    ctx = redacted
    before = panel_answers(ctx)
    checked = fresh(ctx).stores.staff.read_one("redaction_report")["reviewed_by"].tolist()
    led = ctx.stores.staff.sync.ledger  # type: ignore[union-attr]
    with led._tx() as conn:  # type: ignore[attr-defined]
        conn.execute("DELETE FROM headers")
    retitle(staff_path(ctx), "Applications", "Answer 1", None)
    rep = init_campaign(fresh(ctx))
    assert rep.staff.columns_added == {"applications": ["answer_1"]}
    with pytest.raises(SheetProblems) as exc:
        redact_job(fresh(ctx))
    words = str(exc.value)
    assert "tab 'Applications', column 'Answer 1'" in words
    assert "empty in every application" in words and "nothing was written" in words
    assert panel_answers(ctx) == before
    after = fresh(ctx).stores.staff.read_one("redaction_report")["reviewed_by"].tolist()
    assert after == checked  # nothing written: the checks staff made are not undone
