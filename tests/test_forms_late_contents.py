"""The contents list of a form after a late application (issue 19): the start page's list
of what is in the form marks each part that holds the new candidate, and its link opens
the form on the new candidate, not at the top of that part."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from automations.forms.base import FormSpec, ScaleItem, ScalePoint, Section
from automations.forms.inbox import Inbox, StoredForm
from automations.forms.local import create_app, start_server_thread
from automations.forms.pages import new_marks, pages
from automations.forms.tokens import LinkClaims
from tests import test_forms_browser as B
from tests.test_forms_browser import fits
from tests.test_forms_late import NOW, SIGNER, sent_then_late, spec_for

browser, page = B.browser, B.page
POINTS = tuple(ScalePoint(v, f"point {v}") for v in range(5))


def contents(html: str) -> list[tuple[str, str]]:
    """(link, words) of each entry of the contents list, tags taken out of the words."""
    block = html.split("What is in this form", 1)[1].split("</ol>", 1)[0]
    return [
        (href, " ".join(re.sub(r"<[^>]+>", " ", words).split()))
        for href, words in re.findall(r'<li><a href="([^"]+)">(.*?)</a></li>', block)
    ]


def test_each_criterion_holding_the_new_candidate_is_marked_and_opens_on_it(
    tmp_path: Path,
) -> None:
    _inbox, path, c = sent_then_late(tmp_path)
    # all the candidates on a page: each criterion's page holds Candidate C
    listed = contents(c.get(path).get_data(as_text=True))  # type: ignore[attr-defined]
    assert listed == [
        (f"{path}/1", "Criterion c1 (new: Candidate C)"),
        (f"{path}/2", "Criterion c2 (new: Candidate C)"),
        (f"{path}/check", "Check your answers and send"),
    ]
    # one candidate a page: each link goes to the page with Candidate C, not A
    c.post(f"{path}/start", data={"per_page": "1"})  # type: ignore[attr-defined]
    listed = contents(c.get(path).get_data(as_text=True))  # type: ignore[attr-defined]
    assert listed[:2] == [
        (f"{path}/3", "Criterion c1 (new: Candidate C)"),
        (f"{path}/6", "Criterion c2 (new: Candidate C)"),
    ]
    page3 = c.get(f"{path}/3").get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'name="score__C__c1"' in page3 and 'name="score__A__c1"' not in page3


def test_nothing_is_marked_before_a_late_candidate_or_once_it_was_sent(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    stored = StoredForm(spec_for("AB"), "tok5", NOW, NOW + dt.timedelta(days=60))
    inbox.put_forms([stored], NOW)
    path = f"/f/{SIGNER.sign(LinkClaims(stored.spec.key, 'p05', 'tok5', stored.expires_at))}"
    c = create_app(inbox, SIGNER, now=lambda: NOW).test_client()
    html = c.get(path).get_data(as_text=True)
    assert "(new" not in html
    assert [w for _, w in contents(html)][:2] == ["Criterion c1", "Criterion c2"]


def test_a_page_per_application_marks_the_new_candidate_new() -> None:
    """With a page per application, the new candidate's own entry says "(new)"."""
    spec = FormSpec(
        key="camp.shortlisting.p05",
        campaign_id="camp",
        stage="shortlisting",
        person_id="p05",
        title="Shortlisting",
        intro="",
        sections=tuple(
            Section(
                x,
                f"Candidate {x}",
                "",
                tuple(ScaleItem(f"score__{x}__{q}", x, q, q, POINTS) for q in ("c1", "c2")),
            )
            for x in "ABC"
        ),
        candidate_order=("A", "B", "C"),
        question_order=("c1", "c2"),
        question_by_question=False,
    )
    marks = new_marks(pages(spec), ["C"])
    assert list(marks) == [3]
    assert marks[3].whole and marks[3].page == 3 and marks[3].letters == ("C",)


def test_in_chromium_at_320px_the_mark_shows_and_its_link_opens_on_the_new_candidate(
    tmp_path: Path, page: object
) -> None:
    inbox, path, _c = sent_then_late(tmp_path, "easy read")  # one candidate a page
    server = start_server_thread(create_app(inbox, SIGNER, now=lambda: NOW))
    try:
        page.goto(server.url + path)  # type: ignore[attr-defined]
        fits(page)
        link = page.get_by_role("link", name="Criterion c2 (new: Candidate C)")  # type: ignore[attr-defined]
        assert link.count() == 1
        link.click()
        page.wait_for_url(f"**{path}/6")  # type: ignore[attr-defined]
        names = page.evaluate(  # type: ignore[attr-defined]
            "[...new Set([...document.querySelectorAll('input[type=radio]')].map(i => i.name))]"
        )
        assert names == ["score__C__c2"]
        fits(page)
    finally:
        server.stop()
