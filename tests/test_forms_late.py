"""A late application on the local form server (issue 19, "A campaign that changes as
it goes"): a shortlister who already sent scores is told plainly that a new candidate
was added, their form opens on that candidate, their earlier scores are filled in, and
sending again keeps every score."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from automations.forms.base import FormSpec, ScaleItem, ScalePoint, Section
from automations.forms.inbox import Inbox, StoredForm
from automations.forms.local import create_app, start_server_thread
from automations.forms.pages import added_since, first_page_with, pages
from automations.forms.tokens import LinkClaims, LinkSigner
from tests import test_forms_browser as B
from tests.test_forms_browser import fits

# the same chromium and 320 px page as the other form tests
browser, page = B.browser, B.page

NOW = dt.datetime(2027, 1, 25, 9, 0, tzinfo=dt.UTC)
POINTS = tuple(ScalePoint(v, f"point {v}") for v in range(5))
SIGNER = LinkSigner("a-secret-long-enough-for-us")
CRITERIA = ("c1", "c2")


def spec_for(letters: str, fmt: str = "standard") -> FormSpec:
    """Criterion by criterion, every candidate on each criterion's page."""
    return FormSpec(
        key="camp.shortlisting.p05",
        campaign_id="camp",
        stage="shortlisting",
        person_id="p05",
        title="Shortlisting",
        intro="Please score each answer.",
        sections=tuple(
            Section(
                c,
                f"Criterion {c}",
                "",
                tuple(ScaleItem(f"score__{x}__{c}", x, c, x, POINTS) for x in letters),
            )
            for c in CRITERIA
        ),
        candidate_order=tuple(letters),
        question_order=CRITERIA,
        format=fmt,
    )


def nonce_of(html: str) -> str:
    m = re.search(r'name="nonce" value="([^"]+)"', html)
    assert m
    return m.group(1)


def sent_then_late(tmp_path: Path, fmt: str = "standard") -> tuple[Inbox, str, object]:
    """Candidates A and B scored and sent; then Candidate C is added to the form."""
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    stored = StoredForm(spec_for("AB", fmt), "tok5", NOW, NOW + dt.timedelta(days=60))
    inbox.put_forms([stored], NOW)
    path = f"/f/{SIGNER.sign(LinkClaims(stored.spec.key, 'p05', 'tok5', stored.expires_at))}"
    c = create_app(inbox, SIGNER, now=lambda: NOW).test_client()
    for n, crit in enumerate(CRITERIA, 1):
        data = {f"score__A__{crit}": "4", f"score__B__{crit}": "1", "nav": "save"}
        data["shown"] = f"score__A__{crit} score__B__{crit}"  # both on the page they saw
        assert c.post(f"{path}/{n}", data=data).status_code == 200
    check = c.get(f"{path}/check").get_data(as_text=True)
    assert c.post(f"{path}/send", data={"nonce": nonce_of(check)}).status_code == 303
    assert "You sent your scores" in c.get(path).get_data(as_text=True)
    assert "new application" not in c.get(path).get_data(as_text=True).lower()
    inbox.put_forms([StoredForm(spec_for("ABC", fmt), "tok5", NOW, stored.expires_at)], NOW)
    return inbox, path, c


def test_the_new_candidate_is_named_the_form_opens_on_it_and_every_score_is_kept(
    tmp_path: Path,
) -> None:
    inbox, path, c = sent_then_late(tmp_path)
    start = c.get(path).get_data(as_text=True)  # type: ignore[attr-defined]
    assert (
        "A new application, Candidate C, has been added since you sent your scores. "
        "Please score it; your other scores are kept." in start
    )
    assert "You sent your scores on" in start
    # one candidate a page: Start goes to the first page holding Candidate C (page 3)
    r = c.post(f"{path}/start", data={"per_page": "1"})  # type: ignore[attr-defined]
    assert r.status_code == 303 and r.headers["Location"].endswith(f"{path}/3")
    page3 = c.get(f"{path}/3").get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'name="score__C__c1"' in page3 and "score__A__c1" not in page3
    # earlier scores are filled in on their pages
    page1 = c.get(f"{path}/1").get_data(as_text=True)  # type: ignore[attr-defined]
    assert re.search(r'name="score__A__c1" value="4" checked', page1)
    for n, crit in ((3, "c1"), (6, "c2")):
        data = {f"score__C__{crit}": "2", "nav": "save"}
        assert c.post(f"{path}/{n}", data=data).status_code == 200  # type: ignore[attr-defined]
    check = c.get(f"{path}/check").get_data(as_text=True)  # type: ignore[attr-defined]
    r = c.post(f"{path}/send", data={"nonce": nonce_of(check)})  # type: ignore[attr-defined]
    assert r.status_code == 303
    latest = inbox.responses(["camp.shortlisting.p05"])[-1].answers
    assert {k: v for k, v in latest.items() if k.startswith("score__")} == {
        "score__A__c1": "4",
        "score__B__c1": "1",
        "score__C__c1": "2",
        "score__A__c2": "4",
        "score__B__c2": "1",
        "score__C__c2": "2",
    }
    # once sent, the start page no longer says anything is new
    assert "new application" not in c.get(path).get_data(as_text=True).lower()  # type: ignore[attr-defined]


def test_easy_read_says_it_in_short_sentences_and_the_start_link_goes_there(
    tmp_path: Path,
) -> None:
    _inbox, path, c = sent_then_late(tmp_path, "easy read")
    start = c.get(path).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "<p>There is a new application: Candidate C.</p>" in start
    assert "<p>We keep your other scores.</p>" in start
    # easy read defaults to one candidate a page: Candidate C is first on page 3
    r = c.post(f"{path}/start", data={})  # type: ignore[attr-defined]
    assert r.headers["Location"].endswith(f"{path}/3")


def test_added_since_names_only_candidates_of_whom_nothing_was_sent() -> None:
    spec = spec_for("ABCD")
    sent = {"score__A__c1": "1", "score__B__c2": ""}  # B sent blank still counts as sent
    assert added_since(spec, sent) == ["C", "D"]
    assert added_since(spec, {i.item_id for i in spec.items()}) == []
    assert first_page_with(pages(spec, "all"), ["C", "D"]) == 1
    assert first_page_with(pages(spec, "3"), ["D"]) == 2
    assert first_page_with(pages(spec, "3"), []) == 1


def test_in_chromium_the_note_is_shown_and_start_opens_on_the_new_candidate(
    tmp_path: Path, page: object
) -> None:
    inbox, path, _c = sent_then_late(tmp_path)
    server = start_server_thread(create_app(inbox, SIGNER, now=lambda: NOW))
    try:
        page.goto(server.url + path)  # type: ignore[attr-defined]
        note = page.locator("#added").inner_text()  # type: ignore[attr-defined]
        assert "A new application, Candidate C, has been added" in note
        fits(page)
        page.check("#per-page-1")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Start").click()  # type: ignore[attr-defined]
        page.wait_for_url(f"**{path}/3")  # type: ignore[attr-defined]
        names = page.evaluate(  # type: ignore[attr-defined]
            "[...new Set([...document.querySelectorAll('input[type=radio]')].map(i => i.name))]"
        )
        assert names == ["score__C__c1"]
    finally:
        server.stop()
