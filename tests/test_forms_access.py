"""Access beyond the automated checks (issue 20), in Debian's chromium.

- axe-core (vendored in tests/vendor) on every kind of form page, for a standard, a
  large-print and an easy-read person, at 320 and 1280 px: no violation of WCAG 2.2
  A/AA or best practice.
- The person's format reaches their form: large print is bigger, easy read has its
  own words, and both get one candidate a page unless they choose otherwise.
- A whole form filled in with the keyboard alone records the scores chosen.
- The check page names the criterion and the candidate and shows what each score
  means; table headings never break inside a word.
- The form-link email has link words and fits a 320 px screen.

One browser and one served campaign for the whole module, so it stays quick.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from automations.config import load_settings
from automations.context import Context, make_context
from automations.coprod_forms import push_forms, specs_for
from automations.forms.base import FormSpec, ScaleItem, form_key
from automations.forms.local import AppInfo, RunningServer, create_app, start_server_thread
from automations.forms.tokens import LinkClaims
from automations.jobs.forms import push_job
from automations.workspace import init_campaign
from tests.conftest import ROOT
from tests.forms_support import check_nonce, links, path_of, provider, seed_candidates
from tests.test_forms_jobs import specs_by_key

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
WIDTHS = (320, 1280)
PEOPLE = {"standard": "p01", "large print": "p03", "easy read": "p05"}
pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Site:
    ctx: Context
    server: RunningServer
    specs: dict[str, FormSpec]  # by person id (shortlisting)
    urls: dict[str, str]  # by person id (shortlisting)
    interview: dict[str, str]  # by person id: their interview form

    def url(self, pid: str) -> str:
        return self.urls[pid]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example campaign with shortlisting forms made, served in a thread."""
    dst = tmp_path_factory.mktemp("access") / "config"
    shutil.copytree(ROOT / "config", dst)
    ctx = make_context(load_settings(dst), clock=lambda: dt.datetime(2027, 1, 25, 9, 0))
    init_campaign(ctx, example=True)
    seed_candidates(ctx, interview=("A", "B"))
    push_job(ctx, send=False)
    p = provider(ctx)
    app = create_app(p.inbox, p.signer, info=AppInfo("Example Council", "the team"), now=p.now)
    server = start_server_thread(app)
    by_key = specs_by_key(ctx)
    specs = {pid: by_key[form_key(ctx.campaign.id, "shortlisting", pid)] for pid in PEOPLE.values()}
    urls = {pid: server.url + path_of(links(ctx)[(pid, "shortlisting")]) for pid in specs}
    interview = {
        pid: server.url + path_of(links(ctx)[(pid, "interview")]) for pid in PEOPLE.values()
    }
    try:
        yield Site(ctx, server, specs, urls, interview)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    # The pages forbid every script (CSP); the test lets its own axe-core in.
    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True)  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()


def axe_violations(page: object, tags: list[str] = TAGS) -> list[str]:
    """What axe-core finds on the page as it is now (rule id, impact and the places)."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    found = page.evaluate(  # type: ignore[attr-defined]
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => v.id + ' (' + v.impact + '): ' + "
        "v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))",
        tags,
    )
    return [str(x) for x in found]


def fits(page: object, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert scroll <= width, f"page is {scroll}px wide at {width}px"


def broken_words(page: object) -> list[str]:
    """Words in headings, labels and buttons that the layout splits over two lines
    ("Candid ate");
    a line break after a hyphen ("co-" / "production") is an ordinary one."""
    found = page.evaluate(  # type: ignore[attr-defined]
        """() => {
          const out = [];
          const where = 'th, h1, h2, legend, label, button, .button';
          for (const th of document.querySelectorAll(where)) {
            const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
            for (let t = walker.nextNode(); t; t = walker.nextNode()) {
              const re = /[^\\s\u2010-]+/g; let m;  // a break after a hyphen is fine
              while ((m = re.exec(t.data))) {
                const r = document.createRange();
                r.setStart(t, m.index); r.setEnd(t, m.index + m[0].length);
                const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
                if (tops.size > 1) out.push(m[0]);
              }
            }
          }
          return out;
        }"""
    )
    return [str(x) for x in found]


def check_page(page: object, width: int, where: str) -> None:
    """No axe violation, nothing wider than the screen, no heading word broken."""
    page.set_viewport_size({"width": width, "height": 800})  # type: ignore[attr-defined]
    assert axe_violations(page) == [], f"{where} at {width}px"
    fits(page, width)
    assert broken_words(page) == [], f"{where} at {width}px"


def fill_draft(site: Site, pid: str, value: str = "3") -> dict[str, str]:
    spec = site.specs[pid]
    answers = {i.item_id: value for i in spec.scale_items()}
    provider(site.ctx).inbox.save_draft(spec.key, answers, dt.datetime.now(dt.UTC))
    return answers


def clear_draft(site: Site, pid: str) -> None:
    provider(site.ctx).inbox.save_draft(site.specs[pid].key, {}, dt.datetime.now(dt.UTC))


def submit(page: object, selector: str) -> None:
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(selector)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ axe-core


@pytest.mark.parametrize("fmt", list(PEOPLE))
def test_no_axe_violation_on_any_page_kind_at_320_and_1280(
    site: Site, page: object, fmt: str
) -> None:
    pid = PEOPLE[fmt]
    url = site.url(pid)
    clear_draft(site, pid)
    pages: list[str] = []

    def visit(where: str) -> None:
        for width in WIDTHS:
            check_page(page, width, f"{fmt}: {where}")
        pages.append(where)

    page.goto(url)  # type: ignore[attr-defined]
    assert page.title() == site.specs[pid].title  # said once, not twice
    visit("start page")
    page.goto(url + "/1")  # type: ignore[attr-defined]
    visit("first page")
    submit(page, "button[value=next]")  # nothing chosen
    assert page.title().startswith("Error:")  # type: ignore[attr-defined]
    # the error summary takes focus and shows the same focus ring as everything else
    ring = page.evaluate(  # type: ignore[attr-defined]
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.className, s.outlineStyle, s.outlineWidth,"
        " s.outlineColor, s.boxShadow]; })()"
    )
    assert ring[:4] == ["error-summary", "solid", "3px", "rgb(255, 221, 0)"]
    assert "6px" in ring[4]
    visit("page with errors")
    submit(page, "button[value=save]")
    assert page.locator(".panel-ok").count() == 1  # type: ignore[attr-defined]
    visit("saved for later")
    page.goto(url + "/2")  # type: ignore[attr-defined]
    visit("second page")
    page.goto(url + "/check")  # type: ignore[attr-defined]
    visit("check page, nothing scored")
    submit(page, "text=Send my scores")
    assert page.title().startswith("Error:")  # type: ignore[attr-defined]
    visit("check page after sending too soon")
    fill_draft(site, pid)
    page.goto(url + "/check")  # type: ignore[attr-defined]
    visit("check page, all scored")
    submit(page, "text=Send my scores")
    visit("thank-you page")
    page.goto(url)  # type: ignore[attr-defined]
    visit("start page after sending")
    signer = provider(site.ctx).signer
    spec = site.specs[pid]
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    expired = signer.sign(LinkClaims(spec.key, pid, "old", past))
    page.goto(f"{site.server.url}/f/{expired}")  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text() == "This link has expired"  # type: ignore[attr-defined]
    visit("expired link")
    page.goto(url[:-4] + "abcd")  # type: ignore[attr-defined]
    visit("changed link")
    future = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    replaced = signer.sign(LinkClaims(spec.key, pid, "replaced", future))
    page.goto(f"{site.server.url}/f/{replaced}")  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text() == "This link is no longer in use"  # type: ignore[attr-defined]
    visit("link no longer in use")
    assert len(pages) == 13


@pytest.mark.parametrize("fmt", list(PEOPLE))
def test_no_axe_violation_on_the_interview_form(site: Site, page: object, fmt: str) -> None:
    url = site.interview[PEOPLE[fmt]]
    for where in ("", "/1", "/2", "/check"):
        page.goto(url + where)  # type: ignore[attr-defined]
        for width in WIDTHS:
            check_page(page, width, f"{fmt}: interview form {where or 'start'}")
    assert "Question" in page.locator("thead th").first.inner_text()  # type: ignore[attr-defined]


def test_no_axe_violation_on_the_feedback_form_and_no_question_box_inside_another(
    site: Site, page: object
) -> None:
    push_forms(site.ctx, "feedback", send=False)
    site.ctx.stores.staff.forget()
    frames = site.ctx.stores.staff.read(["people", "dates", "question_drafts", "form_links"])
    spec = {s.person_id: s for s in specs_for(site.ctx, "feedback", frames)}["p05"]
    fl = frames["form_links"]
    [link] = [
        r["url"] for _, r in fl.iterrows() if (r["stage"], r["person_id"]) == ("feedback", "p05")
    ]
    url = site.server.url + path_of(link)
    for n in range(1, len(spec.sections) + 1):
        page.goto(f"{url}/{n}")  # type: ignore[attr-defined]
        for width in WIDTHS:
            check_page(page, width, f"feedback page {n}")
        # a question box never holds another one
        assert page.locator(".item .item").count() == 0  # type: ignore[attr-defined]
        # each question is read once: no heading outside a group saying what its legend says
        said_twice = page.evaluate(  # type: ignore[attr-defined]
            """() => [...document.querySelectorAll('fieldset')].filter(f => {
                 const prev = f.previousElementSibling;
                 const legend = f.querySelector('legend');
                 return prev && /^H[1-6]$/.test(prev.tagName) && legend
                   && prev.textContent.trim() === legend.textContent.trim();
               }).length"""
        )
        assert said_twice == 0
    submit(page, "button[value=next]")  # on the last page, with nothing chosen
    assert page.locator(".item .item").count() == 0  # type: ignore[attr-defined]
    for width in WIDTHS:
        check_page(page, width, "feedback page with errors")


# ------------------------------------------------------------------ formats


def computed(page: object, selector: str, prop: str) -> float:
    value = page.evaluate(  # type: ignore[attr-defined]
        "([s, p]) => getComputedStyle(document.querySelector(s))[p]", [selector, prop]
    )
    return float(str(value).removesuffix("px"))


def test_large_print_and_easy_read_forms_differ_from_the_standard_one(
    site: Site, page: object
) -> None:
    seen: dict[str, dict[str, object]] = {}
    for fmt, pid in PEOPLE.items():
        clear_draft(site, pid)
        page.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]
        page.goto(site.url(pid))  # type: ignore[attr-defined]
        start_text = page.locator("main").inner_text()  # type: ignore[attr-defined]
        intro = page.locator("main > h1 + p").inner_text()  # type: ignore[attr-defined]
        page.goto(site.url(pid) + "/1")  # type: ignore[attr-defined]
        seen[fmt] = {
            "body px": computed(page, "body", "fontSize"),
            "choice px": computed(page, ".choice", "height"),
            "radio px": computed(page, "input[type=radio]", "width"),
            "button px": computed(page, "button", "height"),
            "groups": page.locator("fieldset").count(),  # type: ignore[attr-defined]
            "h1": page.locator("h1").inner_text(),  # type: ignore[attr-defined]
            "labels": page.locator(".choice label").all_inner_texts(),  # type: ignore[attr-defined]
            "buttons": page.locator("button").all_inner_texts(),  # type: ignore[attr-defined]
            "start": start_text,
            "intro": intro,
        }
    std, big, easy = seen["standard"], seen["large print"], seen["easy read"]
    candidates = len(site.specs["p01"].candidate_order)
    # large print: at least 24 px text, bigger choices and buttons, one candidate a page
    assert std["body px"] == 18 and big["body px"] >= 24
    for key in ("choice px", "radio px", "button px"):
        assert big[key] > std[key], key  # type: ignore[operator]
    assert std["groups"] == candidates and big["groups"] == 1 and easy["groups"] == 1
    # one group: five scores, then the three "I can't score this one" choices
    assert big["h1"] == std["h1"] and big["labels"] == std["labels"][:8]
    # easy read: short headings and sentences, one idea a line, its own words
    assert str(std["h1"]).startswith("Criterion 1 of 4 (essential): ")
    assert easy["h1"] == site.ctx.campaign.criteria[0].text
    assert len(str(std["intro"]).split()) > 60
    assert len(str(easy["intro"]).split()) <= 12  # the first line only
    easy_lines = [x for x in str(easy["start"]).splitlines() if x.strip()]
    assert max(len(x.split()) for x in easy_lines if not x.startswith("http")) <= 14
    assert std["labels"][0] == "0 – No evidence"
    assert easy["labels"][0] == "0: They do not show this"
    assert std["buttons"] == ["Save and go to the next page", "Save and come back later"]
    assert easy["buttons"] == ["Save and go on", "Save and stop for now"]


def test_a_team_can_change_the_easy_read_words(site: Site, tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    folder.mkdir()
    words = ROOT / "automations" / "forms" / "templates" / "_words.easyread.html"
    text = words.read_text().replace('"Save and go on"', '"Keep my scores and go on"')
    (folder / "_words.easyread.html").write_text(text)
    p = provider(site.ctx)
    app = create_app(p.inbox, p.signer, now=p.now, templates=folder)
    c = app.test_client()
    got = c.get(path_of(site.url("p05")) + "/1").get_data(as_text=True)
    assert "Keep my scores and go on" in got
    std = c.get(path_of(site.url("p01")) + "/1").get_data(as_text=True)
    assert "Keep my scores" not in std and "Save and go to the next page" in std


# ------------------------------------------------------------------ keyboard


def tab_until(page: object, js_test: str, limit: int = 200) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        if page.evaluate(  # type: ignore[attr-defined]
            f"(() => {{ const e = document.activeElement; return !!e && ({js_test}); }})()"
        ):
            return
    raise AssertionError(f"Tab never reached {js_test}")


def press(page: object, text: str) -> None:
    """Tab to the button or link that starts with ``text``, press Enter, wait."""
    starts = f"e.textContent.trim().startsWith({text!r})"
    tab_until(page, f"(e.tagName === 'BUTTON' || e.tagName === 'A') && {starts}")
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]


def test_a_whole_form_by_keyboard_alone_records_the_scores_chosen(site: Site, page: object) -> None:
    """The large-print person keeps one candidate a page; Tab, Space, arrows and Enter
    only. The check page shows each chosen score with its meaning before sending."""
    pid = "p03"
    spec = site.specs[pid]
    clear_draft(site, pid)
    before = len(provider(site.ctx).inbox.responses([spec.key]))
    page.goto(site.url(pid))  # type: ignore[attr-defined]
    assert "Use the arrow keys" in page.locator(".keys").inner_text()  # type: ignore[attr-defined]
    # choose 3 a page on the start page, by keyboard: the group's checked choice is "1"
    tab_until(page, "e.name === 'per_page'")
    assert page.evaluate("document.activeElement.value") == "1"  # type: ignore[attr-defined]
    page.keyboard.press("ArrowUp")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.value") == "3"  # type: ignore[attr-defined]
    press(page, "Start")
    wanted: dict[str, str] = {}
    meanings: dict[str, str] = {}
    k = 0
    while "/check" not in page.url:  # type: ignore[attr-defined]
        groups = page.evaluate(  # type: ignore[attr-defined]
            "[...new Set([...document.querySelectorAll('input[type=radio]')].map(i => i.name))]"
        )
        assert 1 <= len(groups) <= 3
        for name in groups:
            item = spec.item(name)
            assert isinstance(item, ScaleItem)
            value = (k * 3 + 1) % 5
            k += 1
            tab_until(page, f"e.name === '{name}'")
            page.keyboard.press("Space")  # picks the first choice
            for _ in range(value - item.min):
                page.keyboard.press("ArrowDown")  # type: ignore[attr-defined]
            wanted[name] = str(value)
            meanings[name] = next(p.label for p in item.points if p.value == value)
        press(page, "Save and")
    assert k == len(spec.scale_items())
    # the check page: every score with its meaning, the first column headed Candidate
    page.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]
    assert set(page.locator("thead th:first-child").all_inner_texts()) == {"Candidate"}  # type: ignore[attr-defined]
    for name, value in wanted.items():
        cell = page.locator(f"#row-{name} td").first  # type: ignore[attr-defined]
        assert cell.inner_text() == f"{value} – {meanings[name]}"
    press(page, "Send my scores")
    assert "saved" in page.locator("h1").inner_text()  # type: ignore[attr-defined]
    rs = provider(site.ctx).inbox.responses([spec.key])
    assert len(rs) == before + 1
    assert {k: v for k, v in rs[-1].answers.items() if k in wanted} == wanted


# ------------------------------------------------------------------ check page


def test_sending_too_soon_names_the_criterion_and_the_candidate(site: Site) -> None:
    pid = "p01"
    spec = site.specs[pid]
    clear_draft(site, pid)
    p = provider(site.ctx)
    c = create_app(p.inbox, p.signer, now=p.now).test_client()
    path = path_of(site.url(pid))
    got = c.post(path + "/send", data={"nonce": check_nonce(c, path)})
    assert got.status_code == 422
    page = got.get_data(as_text=True)
    first = spec.sections[0]
    item = next(i for i in first.items if isinstance(i, ScaleItem))
    assert (
        f"Please choose a score for Candidate {item.candidate_letter} on “{first.title}”."
        in page.replace("&#34;", '"')
    )
    # each message once: no two links say the same
    messages = re.findall(r'<li><a href="[^"]+">([^<]+)</a></li>', page)
    assert len(messages) == len(spec.scale_items()) == len(set(messages))
    assert '<th scope="col">Candidate</th>' in page and ">Question</th>" not in page


# ------------------------------------------------------------------ the email


def test_the_form_link_email_has_link_words_and_fits_320px(site: Site, page: object) -> None:
    push_job(site.ctx, send=True)
    outbox = site.ctx.settings.path(site.ctx.settings.org.mail.outbox)
    msgs = [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes())
        for p in sorted(outbox.glob("*.eml"))
    ]
    links_sent = [m for m in msgs if "form" in str(m["Subject"]).lower()]
    assert len(links_sent) >= 3
    for m in links_sent:
        text = str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        html = str(m.get_body(("html",)).get_content())  # type: ignore[union-attr]
        lines = text.splitlines()
        [at] = [i for i, x in enumerate(lines) if x.startswith("http")]
        assert lines[at].split() == [lines[at]]  # the address alone on its line
        assert lines[at - 1] in ("Open your score form:", "Open your form:")
        page.set_content(html)  # type: ignore[attr-defined]
        link = page.locator("a").first  # type: ignore[attr-defined]
        assert link.inner_text() in ("Open your score form", "Open your form")
        assert link.get_attribute("href") == lines[at]
        fits(page, 320)
        # WCAG only: an email body is not a web page, so it has no main landmark or h1
        assert axe_violations(page, [t for t in TAGS if t != "best-practice"]) == []


def test_co_production_and_expense_forms_come_in_the_persons_format(site: Site) -> None:
    from automations.jobs.expense_forms import specs as expense_specs

    site.ctx.stores.staff.forget()
    frames = site.ctx.stores.staff.read(["people", "dates", "question_drafts", "form_links"])
    feedback = {s.person_id: s.format for s in specs_for(site.ctx, "feedback", frames)}
    assert (feedback["p01"], feedback["p03"], feedback["p05"]) == (
        "standard",
        "large print",
        "easy read",
    )
    claims = expense_specs(site.ctx, ["p03", "p05", "p07"], frames["people"])
    assert [s.format for s in claims] == ["large print", "easy read", "standard"]
    push_forms(site.ctx, "feedback", send=False)
    site.ctx.stores.staff.forget()
    fl = site.ctx.stores.staff.read_one("form_links")
    url = {r["person_id"]: r["url"] for _, r in fl.iterrows() if r["stage"] == "feedback"}
    p = provider(site.ctx)
    c = create_app(p.inbox, p.signer, now=p.now).test_client()
    assert '<html lang="en" class="large-print">' in c.get(path_of(url["p03"])).get_data(
        as_text=True
    )
    assert '<html lang="en">' in c.get(path_of(url["p01"])).get_data(as_text=True)
