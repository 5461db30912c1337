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
from automations.mail.render import Rendered
from tests.forms_support import ANSWER, seed_candidates
from tests.remind_support import NAMES
from tests.test_mail_templates import problems_in

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


def test_a_letter_to_read_out_or_post_has_no_long_link(ctx: Context) -> None:
    """p06 prefers a phone call: staff get a letter to read out, with no link in it."""
    from automations.jobs.forms import push_job

    seed_candidates(ctx, interview=("A",))
    res = push_job(ctx)
    folder = ctx.settings.workspace / ctx.campaign.id / "letters"
    letters = sorted(folder.glob("form-link*p06*.txt"))
    assert len(letters) == 2  # shortlisting and interview
    for path in letters:
        text = path.read_text()
        assert "http" not in text and "/f/" not in text
        assert "Scoring on paper" in text and "phone us and tell us your scores" in text
        assert max(len(w) for w in text.split()) < 40  # nothing unreadable aloud
        subject, _, body = text.partition("\n\n")
        found = problems_in(Rendered(subject.removeprefix("Subject: "), body, ""))
        assert [x for x in found if not x.startswith("html")] == []  # the letter is text
    short = next(p for p in letters if "shortlisting" in p.read_text())
    assert "each candidate's answers to read" in short.read_text()
    assert any(
        "p06 scores on paper" in a and "--stage shortlisting --people p06" in a
        for a in res.attention
    )
    # people who use email still get their own link
    from tests.remind_support import by_key, outbox, text_of

    mail = by_key(outbox(ctx))
    assert all("http" in text_of(m) for k, m in mail.items() if k.startswith("form-link"))
