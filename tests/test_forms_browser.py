"""The local score forms in a real browser (Debian's chromium through Playwright), at
320 px wide, used with the keyboard only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from automations.context import Context
from automations.forms.base import FormSpec, ScaleItem, form_key
from automations.forms.local import AppInfo, RunningServer, create_app, start_server_thread
from automations.jobs.forms import push_job
from tests.forms_support import links, path_of, provider, seed_candidates
from tests.test_forms_jobs import specs_by_key

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def served(ctx: Context) -> Iterator[tuple[RunningServer, FormSpec, str]]:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    p = provider(ctx)
    app = create_app(p.inbox, p.signer, info=AppInfo("Example Council", "the team"), now=p.now)
    server = start_server_thread(app)
    spec = specs_by_key(ctx)[form_key(ctx.campaign.id, "shortlisting", "p01")]
    try:
        yield server, spec, server.url + path_of(links(ctx)[("p01", "shortlisting")])
    finally:
        server.stop()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 320, "height": 640})  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()


def fits(page: object) -> None:
    """Nothing wider than the screen at 320 px: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= 320, f"page is {width}px wide"


def tab_until(page: object, js_test: str, limit: int = 400) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        if page.evaluate(
            f"(() => {{ const e = document.activeElement; return !!e && ({js_test}); }})()"
        ):  # type: ignore[attr-defined]
            return
    raise AssertionError(f"Tab never reached {js_test}")


def choose(page: object, item: ScaleItem, value: int) -> None:
    """Keyboard only: Tab into the group, Space picks the first, arrows move along."""
    tab_until(page, f"e.name === '{item.item_id}'")
    page.keyboard.press("Space")  # type: ignore[attr-defined]
    for _ in range(value - item.min):
        page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]


def press_button(page: object, text: str) -> None:
    """Keyboard only: Tab to the button (or link) and press Enter; wait for the next page."""
    starts = f"e.textContent.trim().startsWith({text!r})"
    tab_until(page, f"(e.tagName === 'BUTTON' || e.tagName === 'A') && {starts}")
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]


def test_fill_in_question_by_question_and_send_with_the_keyboard_at_320px(
    served: tuple[RunningServer, FormSpec, str], page: object, ctx: Context
) -> None:
    _server, spec, url = served
    page.goto(url)  # type: ignore[attr-defined]
    assert page.title().startswith("Shortlisting for the Peer Support Worker job")  # type: ignore[attr-defined]
    fits(page)
    press_button(page, "Start")
    wanted: dict[str, str] = {}
    for n, sec in enumerate(spec.sections, 1):
        assert page.locator("h1").inner_text() == sec.title  # type: ignore[attr-defined]
        # every candidate's answer to this criterion, each with its letter, in p03's order
        headings = page.locator("h2").all_inner_texts()  # type: ignore[attr-defined]
        assert headings == [f"Candidate {x}" for x in spec.candidate_order]
        fits(page)
        # large targets: every choice and button at least 44 px tall
        heights = page.evaluate(  # type: ignore[attr-defined]
            "[...document.querySelectorAll('.choice, button')]"
            ".map(e => e.getBoundingClientRect().height)"
        )
        assert min(heights) >= 44
        # every radio has a label, every group a legend
        assert page.evaluate(
            "[...document.querySelectorAll('input[type=radio]')].every(i => i.labels.length === 1)"
        )  # type: ignore[attr-defined]
        assert page.locator("fieldset legend").count() == len(spec.candidate_order)  # type: ignore[attr-defined]
        for k, item in enumerate(i for i in sec.items if isinstance(i, ScaleItem)):
            value = (n + k) % 5
            choose(page, item, value)
            wanted[item.item_id] = str(value)
        press_button(page, "Save and")
    assert page.locator("h1").inner_text() == "Check your answers"  # type: ignore[attr-defined]
    fits(page)
    press_button(page, "Send my scores")
    assert "your scores are saved" in page.locator("h1").inner_text()  # type: ignore[attr-defined]
    fits(page)
    [resp] = provider(ctx).inbox.responses([spec.key])
    assert {k: v for k, v in resp.answers.items() if k in wanted} == wanted

    # correct one score: the start page says what was sent; the new send is kept too
    page.goto(url)  # type: ignore[attr-defined]
    assert "You sent your scores on" in page.content()  # type: ignore[attr-defined]
    page.goto(url + "/1")  # type: ignore[attr-defined]
    first = next(i for i in spec.sections[0].items if isinstance(i, ScaleItem))
    assert (
        page.locator(f"input[name='{first.item_id}']:checked").get_attribute("value")
        == wanted[first.item_id]
    )  # type: ignore[attr-defined]
    page.check(f"input[name='{first.item_id}'][value='4']")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click("button[value=next]")  # type: ignore[attr-defined]
    page.goto(url + "/check")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click("text=Send my scores")  # type: ignore[attr-defined]
    rs = provider(ctx).inbox.responses([spec.key])
    assert len(rs) == 2 and rs[-1].answers[first.item_id] == "4"


def test_a_missing_answer_gets_a_kind_error_and_keeps_the_other_answers(
    served: tuple[RunningServer, FormSpec, str], page: object
) -> None:
    _server, spec, url = served
    page.goto(url + "/1")  # type: ignore[attr-defined]
    items = [i for i in spec.sections[0].items if isinstance(i, ScaleItem)]
    for item in items[1:]:
        choose(page, item, 3)
    press_button(page, "Save and go to the next page")
    assert page.title().startswith("Error:")  # type: ignore[attr-defined]
    # the list of problems is where the keyboard and screen reader start
    assert page.evaluate("document.activeElement.className") == "error-summary"  # type: ignore[attr-defined]
    summary = page.locator(".error-summary")  # type: ignore[attr-defined]
    assert "There is a problem" in summary.inner_text()
    assert (
        f"Please choose a score for Candidate {items[0].candidate_letter}." in summary.inner_text()
    )
    for item in items[1:]:
        assert page.locator(f"input[name='{item.item_id}']:checked").get_attribute("value") == "3"  # type: ignore[attr-defined]
    fits(page)
    # the error links straight to the question
    summary.locator("a").first.click()
    assert page.evaluate("location.hash") == f"#{items[0].item_id}"  # type: ignore[attr-defined]


def test_a_score_off_the_scale_is_refused_kindly(
    served: tuple[RunningServer, FormSpec, str], page: object, ctx: Context
) -> None:
    _server, spec, url = served
    page.goto(url + "/1")  # type: ignore[attr-defined]
    items = [i for i in spec.sections[0].items if isinstance(i, ScaleItem)]
    for item in items:
        page.check(f"input[name='{item.item_id}'][value='2']")  # type: ignore[attr-defined]
    # someone edits the page so the first answer says 9
    page.evaluate(
        f"document.querySelector(\"input[name='{items[0].item_id}']:checked\").value = '9'"
    )  # type: ignore[attr-defined]
    page.click("button[value=next]")  # type: ignore[attr-defined]
    text = page.locator(".error-summary").inner_text()  # type: ignore[attr-defined]
    assert "Please choose one of the scores shown for" in text and "(0 to 4)" in text
    assert provider(ctx).inbox.draft(spec.key).get(items[0].item_id, "") == ""


def test_a_changed_link_gets_a_kind_page_with_nothing_from_the_form(
    served: tuple[RunningServer, FormSpec, str], page: object
) -> None:
    _server, _spec, url = served
    resp = page.goto(url[:-4] + "abcd")  # type: ignore[attr-defined]
    assert resp.status == 403
    assert page.locator("h1").inner_text() == "This link does not work"  # type: ignore[attr-defined]
    body = page.content()  # type: ignore[attr-defined]
    assert "Candidate" not in body and "Shortlisting" not in body and "p01" not in body
    fits(page)
