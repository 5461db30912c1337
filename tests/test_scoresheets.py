"""Printable score sheets (HTML, and PDF printed by a real chromium) and paper scores typed back."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.errors import SheetProblems
from automations.jobs.scoresheets import enter_paper_job, scoresheets_job
from automations.store import make_frame
from automations.transforms.scoresheets import build_sheets, letters_for
from tests.remind_support import EMAILS, NAMES, give_letters, set_status

CHROMIUM = Path("/usr/bin/chromium")


def _invite(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0004"], "invited")  # letters C, A, B


def test_letters_and_who_gets_sheets(ctx: Context) -> None:
    _invite(ctx)
    frames = ctx.stores.staff.read(["people", "candidate_key", "applications", "timetable"])
    letters, notes = letters_for(
        "interview", frames["candidate_key"], frames["applications"], frames["timetable"]
    )
    assert letters == ["A", "B", "C"]
    assert "no timetable yet" in notes[0]
    short, _ = letters_for("shortlisting", frames["candidate_key"])
    assert short == ["A", "B", "C", "D", "E", "F"]
    sheets = build_sheets(ctx.campaign, frames["people"], letters, "interview")
    # chairs and panel members who interview; the supporting worker (p04) and coordinator never
    assert [s.person_id for s in sheets] == ["p01", "p02", "p03", "p05", "p06", "p07"]
    fmt = {s.person_id: s.format for s in sheets}
    assert fmt["p03"] == "large print" and fmt["p05"] == "easy read" and fmt["p01"] == "standard"
    panels = {s.person_id: s.panel for s in sheets}
    assert panels["p01"] == "council" and panels["p03"] == "lived experience"
    q1 = sheets[0].items[0]
    assert q1.id == "q1" and q1.asker == "Aisha"
    assert [p.value for p in q1.points] == [0, 1, 2, 3, 4]
    assert q1.points[4].meaning == "Excellent evidence"


def test_html_sheets_have_everything_and_no_names(ctx: Context) -> None:
    _invite(ctx)
    res = scoresheets_job(ctx, "interview")
    files = {f.name: f for f in res.files}
    assert set(files) == {
        "interview-p01.html",
        "interview-p02.html",
        "interview-p03-large-print.html",
        "interview-p05-easy-read.html",
        "interview-p06.html",
        "interview-p07.html",
    }
    html = files["interview-p03-large-print.html"].read_text()
    assert html.count('class="page"') == 3
    for letter in "ABC":
        assert f"Candidate {letter}: interview score sheet" in html
    for q in ctx.campaign.questions:
        assert q.text.replace("'", "&#39;") in html
    assert "Excellent evidence" in html and "No evidence" in html
    assert "font-size: 18pt" in html  # large print
    assert "person p03, candidate A, interview, q1" in html
    assert 'lang="en-GB"' in html and "<caption" in html
    easy = files["interview-p05-easy-read.html"].read_text()
    assert "tick <strong>one box</strong>" in easy
    std = files["interview-p01.html"].read_text()
    assert "font-size: 12pt" in std
    for f in res.files:
        text = f.read_text()
        for n in NAMES:
            if n in ("Aisha Rahman", "Helen Price"):  # full names of panel members
                assert n not in text
        # candidates' names never appear; panel members only by their chosen short name
        for cand in ("Joy", "Hill", "Francis", "Bell", "Mensah", "Chen"):
            assert not re.search(rf"\b{cand}\b", text), (f.name, cand)
        assert not any(e in text for e in EMAILS)
    # rerun: same files, same content
    again = scoresheets_job(ctx, "interview")
    assert [f.read_text() for f in again.files] == [f.read_text() for f in res.files]


def test_user_text_is_escaped(ctx: Context) -> None:
    give_letters(ctx)
    st = ctx.stores.staff
    st.upsert("people", pd.DataFrame([{"person_id": "p07", "introduction": "<script>x</script>"}]))
    res = scoresheets_job(ctx, "shortlisting", people=["p07"])
    html = res.files[0].read_text()
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert html.count('class="page"') == 6
    assert "Dealing with challenges calmly and kindly" in html and "Desirable" in html


def test_no_sheets_for_a_supporting_worker(ctx: Context) -> None:
    _invite(ctx)
    from automations.errors import JobError

    with pytest.raises(JobError, match="p04"):
        scoresheets_job(ctx, "interview", people=["p04"])


def test_no_invited_candidates_says_so(ctx: Context) -> None:
    give_letters(ctx)
    res = scoresheets_job(ctx, "interview")
    assert res.files == []
    assert any("No candidate is invited" in a for a in res.attention)


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
def test_pdf_printed_by_chromium_and_looked_at(ctx: Context, tmp_path: Path) -> None:
    _invite(ctx)
    res = scoresheets_job(ctx, "interview", people=["p03", "p01"], pdf=True)
    pdfs = sorted(f for f in res.files if f.suffix == ".pdf")
    assert [p.name for p in pdfs] == ["interview-p01.pdf", "interview-p03-large-print.pdf"]
    small, large = (p.read_bytes() for p in pdfs)
    for data in (small, large):
        assert data.startswith(b"%PDF-")
    pages = [len(re.findall(rb"/Type\s*/Page(?!s)", d)) for d in (small, large)]
    # a page (or more) per candidate; large print needs more paper than standard
    assert pages[0] >= 3 and pages[1] > pages[0]
    # look at it: a screenshot of the large-print sheet as chromium lays it out for print
    from playwright.sync_api import sync_playwright

    html = next(f for f in res.files if f.name == "interview-p03-large-print.html")
    shot = tmp_path / "sheet.png"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 900, "height": 1200})
        page.emulate_media(media="print")
        page.goto(html.as_uri())
        size = page.evaluate("getComputedStyle(document.body).fontSize")
        heading = page.get_by_role("heading", name="Candidate A: interview score sheet")
        assert heading.is_visible()
        assert page.get_by_role("table").count() == 3 * len(ctx.campaign.questions)
        page.screenshot(path=str(shot), full_page=False)
        b.close()
    assert size == "24px"  # 18pt
    assert shot.stat().st_size > 10_000


# ------------------------------------------------------------------ paper scores


def _paper(ctx: Context, rows: list[dict[str, object]]) -> None:
    st = ctx.stores.staff
    st.forget()
    st.write({"paper_scores": make_frame(st.tab("paper_scores"), rows)})


def _row(pid: str, letter: str, q: str, score: object, **kw: object) -> dict[str, object]:
    return {
        "person_id": pid,
        "stage": "interview",
        "candidate_letter": letter,
        "question_id": q,
        "score": score,
        **kw,
    }


def test_paper_scores_entered_once_and_corrections_count(ctx: Context) -> None:
    _invite(ctx)
    _paper(
        ctx,
        [
            _row("p03", "A", "q1", Decimal(3), comment="=SUM(A1)", scored_on=dt.date(2027, 1, 20)),
            _row("p03", "Candidate B", "q2", Decimal(4)),
            _row("p01", "C", "q6", Decimal(0)),
        ],
    )
    res = enter_paper_job(ctx)
    assert res.detail == "3 paper score(s) entered"
    st = ctx.stores.staff
    st.forget()
    raw = st.read_one("raw_scores")
    assert len(raw) == 3 and set(raw["source"]) == {"paper"}
    assert list(raw["candidate_letter"]) == ["A", "B", "C"]
    assert raw.iloc[0]["comment"] == "=SUM(A1)"  # written as text, not a formula
    assert raw.iloc[0]["submitted_at"] == dt.datetime(2027, 1, 20, 12, 0)
    assert raw.iloc[0]["panel"] == "lived experience" and raw.iloc[2]["panel"] == "council"
    # run again: nothing new
    assert enter_paper_job(ctx).detail == "nothing new to enter"
    st.forget()
    assert len(st.read_one("raw_scores")) == 3
    # staff correct one score: it is added again, later, so it counts
    paper = st.read_one("paper_scores")
    paper.loc[paper["question_id"] == "q2", "score"] = Decimal(2)
    st.write({"paper_scores": paper})
    assert enter_paper_job(ctx).detail == "1 paper score(s) entered"
    st.forget()
    raw = st.read_one("raw_scores")
    q2 = raw[raw["question_id"] == "q2"].sort_values("submitted_at")
    assert list(q2["score"]) == [Decimal(4), Decimal(2)]
    assert q2.iloc[1]["response_id"] != q2.iloc[0]["response_id"]


def test_xlsx_read_back_by_second_reader(ctx: Context) -> None:
    _invite(ctx)
    _paper(ctx, [_row("p05", "A", "q4", Decimal(2), comment="+good")])
    enter_paper_job(ctx)
    from python_calamine import CalamineWorkbook

    path = ctx.settings.workspace / ctx.campaign.id / "staff.xlsx"
    wb = CalamineWorkbook.from_path(str(path))
    names = wb.sheet_names
    raw = wb.get_sheet_by_name(next(n for n in names if n == "Raw scores")).to_python()
    header = [str(h) for h in raw[0]]
    row = dict(zip(header, raw[1], strict=False))
    assert row["Source"] == "paper" and row["Candidate"] == "A" and row["Comment"] == "+good"
    assert float(row["Score"]) == 2.0
    paper = wb.get_sheet_by_name("Paper scores").to_python()
    ph = [str(h) for h in paper[0]]
    assert str(dict(zip(ph, paper[1], strict=False))["Entered as"]).startswith("paper-")


def test_bad_paper_rows_named_and_nothing_written(ctx: Context) -> None:
    _invite(ctx)
    _paper(
        ctx,
        [
            _row("p03", "A", "q1", Decimal(3)),  # fine, but nothing is written
            _row("p99", "A", "q1", Decimal(3)),  # unknown person
            _row("p04", "A", "q1", Decimal(3)),  # supporting worker
            _row("p05", "Z", "q1", Decimal(3)),  # no such letter
            _row("p06", "A", "q9", Decimal(3)),  # no such question
            _row("p07", "A", "q1", Decimal(7)),  # off the scale
            _row("p02", "A", "q1", Decimal("2.5")),  # not whole
        ],
    )
    with pytest.raises(SheetProblems) as exc:
        enter_paper_job(ctx)
    where = [(p.row, p.column) for p in exc.value.problems]
    assert where == [
        (3, "person_id"),
        (4, "person_id"),
        (5, "candidate_letter"),
        (6, "question_id"),
        (7, "score"),
        (8, "score"),
    ]
    msg = str(exc.value)
    assert "staff workbook, tab 'Paper scores', row 7, column 'Score'" in msg
    assert "whole number from 0 to 4" in msg
    ctx.stores.staff.forget()
    assert len(ctx.stores.staff.read_one("raw_scores")) == 0
    assert ctx.stores.staff.read_one("paper_scores")["fingerprint"].eq("").all()


def test_mistyped_score_cell_is_named(ctx: Context) -> None:
    _invite(ctx)
    from openpyxl import load_workbook

    _paper(ctx, [_row("p03", "A", "q1", Decimal(3))])
    path = ctx.settings.workspace / ctx.campaign.id / "staff.xlsx"
    wb = load_workbook(path)
    ws = wb["Paper scores"]
    col = [c.value for c in ws[1]].index("Score") + 1
    ws.cell(row=2, column=col, value="three")
    wb.save(path)
    ctx.stores.staff.forget()
    with pytest.raises(SheetProblems, match="row 2, column 'Score'"):
        enter_paper_job(ctx)


def test_cli_print_and_enter(ctx: Context, config_dir: Path) -> None:
    _invite(ctx)
    runner = CliRunner()
    out = runner.invoke(
        main,
        ["--config", str(config_dir), "scoresheets", "print", "--letters", "A", "--people", "p02"],
    )
    assert out.exit_code == 0, out.output
    assert "interview-p02.html" in out.output
    _paper(ctx, [_row("p02", "A", "q1", Decimal(9))])
    out = runner.invoke(main, ["--config", str(config_dir), "scoresheets", "enter"])
    assert out.exit_code == 3
    assert "row 2, column 'Score'" in out.output


def test_paper_entry_killed_at_the_write_is_entered_once_by_a_rerun(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _invite(ctx)
    _paper(ctx, [_row("p03", "A", "q1", Decimal(3)), _row("p03", "A", "q2", Decimal(1))])
    st = ctx.stores.staff
    real = st.write

    def boom(frames: object) -> int:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(st, "write", boom)
    with pytest.raises(KeyboardInterrupt):
        enter_paper_job(ctx)
    monkeypatch.setattr(st, "write", real)
    st.forget()
    assert len(st.read_one("raw_scores")) == 0
    assert enter_paper_job(ctx).detail == "2 paper score(s) entered"
    assert enter_paper_job(ctx).detail == "nothing new to enter"
    st.forget()
    assert len(st.read_one("raw_scores")) == 2
