"""Messages people read name the tab and column as staff see them, and say the rule.

Each bad-input case is typed into the staff workbook the way a person would (with
openpyxl, as if in Excel), then the job or ``check`` is run from the command line.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.errors import Problem, SheetProblems
from automations.jobs.scoresheets import enter_paper_job
from automations.store import make_frame
from tests.remind_support import give_letters, set_status

IDS = ("paper_scores", "candidate_letter", "question_id", "scored_on", "person_id")


def _paper(ctx: Context, rows: list[dict[str, object]]) -> Path:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0004"], "invited")  # letters C, A, B
    st = ctx.stores.staff
    st.forget()
    full = [{"person_id": "p02", "stage": "interview", "question_id": "q1", **r} for r in rows]
    st.write({"paper_scores": make_frame(st.tab("paper_scores"), full)})
    st.forget()
    return ctx.settings.workspace / ctx.campaign.id / "staff.xlsx"


def _type(path: Path, row: int, header: str, value: object) -> None:
    """Type a value into a cell of the Paper scores tab, as staff would in Excel."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Paper scores"]
    col = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row=row, column=col, value=value)
    wb.save(path)


def _enter(ctx: Context) -> str:
    with pytest.raises(SheetProblems) as exc:
        enter_paper_job(ctx)
    msg = str(exc.value)
    assert not any(f"'{i}'" in msg for i in IDS), msg  # never an internal id
    return msg


def test_a_word_as_a_score_gets_the_question_scale(ctx: Context) -> None:
    path = _paper(ctx, [{"candidate_letter": "A", "score": Decimal(3)}])
    _type(path, 2, "Score", "three")
    msg = _enter(ctx)
    assert (
        "staff workbook, tab 'Paper scores', row 2, column 'Score': this is not a score for "
        "this question: write a whole number from 0 to 4" in msg
    )
    assert "three" not in msg and "12.50" not in msg


def test_an_unknown_candidate_letter_says_which_letters_count(ctx: Context) -> None:
    _paper(ctx, [{"candidate_letter": "Z", "score": Decimal(3)}])
    msg = _enter(ctx)
    assert (
        "tab 'Paper scores', row 2, column 'Candidate': this is not a candidate letter in use"
        in (msg)
    )
    assert "'Z'" not in msg


def test_a_bad_date_names_the_header(ctx: Context) -> None:
    path = _paper(ctx, [{"candidate_letter": "A", "score": Decimal(3)}])
    _type(path, 2, "Date on the sheet", "next tuesday")
    msg = _enter(ctx)
    assert "tab 'Paper scores', row 2, column 'Date on the sheet': expected a date such as" in msg
    assert "tuesday" not in msg


def test_a_missing_column_is_named_by_its_header(ctx: Context, config_dir: Path) -> None:
    path = _paper(ctx, [{"candidate_letter": "A", "score": Decimal(3)}])
    wb = openpyxl.load_workbook(path)
    ws = wb["Paper scores"]
    ws.delete_cols([c.value for c in ws[1]].index("Score") + 1)
    wb.save(path)
    r = CliRunner().invoke(main, ["--config", str(config_dir), "check"])
    assert r.exit_code == 4
    assert (  # the record knows it held scores: refused by its header, never added empty
        "tab 'Paper scores', column 'Score': the column 'Score' is missing from 'Paper scores' "
        "(it was there on the last run)" in r.output
    )
    assert "paper_scores" not in r.output


def test_a_lowercase_letter_is_the_same_candidate(ctx: Context) -> None:
    _paper(ctx, [{"candidate_letter": "a", "score": Decimal(3)}])
    enter_paper_job(ctx)
    ctx.stores.staff.forget()
    raw = ctx.stores.staff.read_one("raw_scores")
    assert list(raw["candidate_letter"]) == ["A"]
    # and every job reads the paper row the same way
    assert list(ctx.stores.staff.read_one("paper_scores")["candidate_letter"]) == ["A"]


def test_a_renamed_header_is_named_as_the_team_wrote_it(ctx: Context) -> None:
    """A team's own header (mapped in header_map) is the one the message shows."""
    path = _paper(ctx, [{"candidate_letter": "A", "score": Decimal(3)}])
    _type(path, 1, "Score", "Mark given")
    _type(path, 2, "Mark given", "lots")
    st = ctx.stores.staff
    st.header_map["paper_scores"] = {"Mark given": "score"}
    msg = _enter(ctx)
    assert "tab 'Paper scores', row 2, column 'Mark given': this is not a score" in msg


def test_problems_made_without_a_store_use_the_template_words() -> None:
    p = Problem("staff", "applications", "this cell is required but empty", 4, "answer_3")
    assert p.where() == "staff workbook, tab 'Applications', row 4, column 'Answer 3'"
    q = Problem("staff", "not_a_tab", "x", column="some_id")
    assert q.where() == "staff workbook, tab 'not_a_tab', column 'some_id'"
