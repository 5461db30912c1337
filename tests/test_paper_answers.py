"""A person who shortlists on paper gets each candidate's anonymised answers to read.

The sheets are printed to PDF by a real chromium and read back with a PDF reader
(pypdf), as a person holding the paper would see them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from automations.context import Context
from automations.jobs.scoresheets import scoresheets_job
from tests.forms_support import ANSWER, seed_candidates
from tests.remind_support import NAMES

CHROMIUM = Path("/usr/bin/chromium")


def _text(pdf: Path) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages)


@pytest.mark.browser
def test_paper_shortlisting_sheet_prints_the_answers_with_the_boxes(ctx: Context) -> None:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed")
    seed_candidates(ctx)
    res = scoresheets_job(ctx, "shortlisting", people=["p01", "p05"], letters=["A", "B"], pdf=True)
    pdfs = {f.name: f for f in res.files if f.suffix == ".pdf"}
    assert set(pdfs) == {"shortlisting-p01.pdf", "shortlisting-p05-easy-read.pdf"}
    standard = _text(pdfs["shortlisting-p01.pdf"])
    easy = _text(pdfs["shortlisting-p05-easy-read.pdf"])
    for letter in ("A", "B"):
        for n in range(1, len(ctx.campaign.criteria) + 1):
            answer = ANSWER.format(letter=letter, n=n)
            assert answer in standard
            assert answer in easy
    assert "Candidate A's answer" in standard and "What Candidate B wrote" in easy
    assert standard.count("Tick one") == 2 * len(ctx.campaign.criteria)  # the scoring boxes
    # an answer sits with its own criterion: criterion 2's answer comes after criterion 2
    at = standard.index(ANSWER.format(letter="A", n=2))
    assert standard.rfind("Criterion 2", 0, at) > standard.rfind("Criterion 1", 0, at)
    # large text for easy read: more paper than standard
    assert len(PdfReader(pdfs["shortlisting-p05-easy-read.pdf"]).pages) > len(
        PdfReader(pdfs["shortlisting-p01.pdf"]).pages
    )
    for name in NAMES:  # letters only, never a name
        assert not re.search(rf"\b{re.escape(name)}\b", standard + easy)


def test_interview_sheets_carry_no_answers(ctx: Context) -> None:
    seed_candidates(ctx, interview=("A",))
    res = scoresheets_job(ctx, "interview", people=["p01"], letters=["A"])
    html = res.files[0].read_text()
    assert "I listen first" not in html and "Tick one" in html
