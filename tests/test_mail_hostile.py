"""Email HTML and saved letters under hostile text: links never break out, no other scheme."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from automations.context import Context
from automations.jobs.forms import push_job
from automations.jobs.questions import send_pack_job
from automations.mail.render import LETTER_CSP, letter_page, text_to_html
from tests.forms_support import seed_candidates
from tests.remind_support import by_key, give_letters, html_of, outbox, set_cell, set_status

HOSTILE = [
    'https://evil.example/x"onmouseover="alert(1)',
    "https://evil.example/x'onclick='alert(1)",
    'see https://ok.example/a"><script>alert(1)</script>',
    "javascript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    'Sam <img src=x onerror="alert(1)"> https://ok.example/<b>',
    'mailto:a@example.org"style="x',
    'Sam a@example.org"onfocus="alert(1)',
    "http://ok.example/?a=1&b=2\"autofocus='x'",
]


PAGE_TAGS = {"html", "head", "meta", "title", "body", "div"}
BODY_TAGS = PAGE_TAGS | {"p", "br", "ul", "li", "h2", "a", "span"}


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    p = Tags()
    p.feed(page)
    p.close()
    return p.tags


def assert_safe_links(page: str, allowed_tags: set[str]) -> list[str]:
    """Only the expected tags; links carry one href with an allowed scheme. Returns hrefs."""
    hrefs = []
    for tag, attrs in tags(page):
        assert tag in allowed_tags, tag
        names = [a for a, _ in attrs]
        assert not [n for n in names if n.startswith("on")], (tag, names)
        for name, value in attrs:  # corecruit's own styles only: nothing a person typed
            if name == "style":
                assert not any(c in str(value) for c in "\"'<>()"), value
                assert "alert" not in str(value) and "evil" not in str(value), value
        if tag == "span":
            assert names == ["style"], attrs
        if tag == "a":
            assert names in (["href"], ["href", "style"]), attrs
            href = str(attrs[0][1])
            assert href.split(":", 1)[0] in ("http", "https", "mailto"), href
            assert not any(c in href for c in "\"'<> "), href
            hrefs.append(href)
    return hrefs


@pytest.mark.parametrize("text", HOSTILE)
def test_a_link_never_becomes_an_attribute_and_other_schemes_stay_text(text: str) -> None:
    page = text_to_html(f"Hello {text}, welcome.\n\n- {text}\n\nHeading {text}\n-------\n")
    hrefs = assert_safe_links(page, {"p", "br", "ul", "li", "h2", "a"})
    assert "javascript:" not in "".join(hrefs) and "data:" not in "".join(hrefs)
    assert "<script" not in page and "<img" not in page


@pytest.mark.parametrize("text", HOSTILE)
def test_link_words_with_hostile_text_stay_text(text: str) -> None:
    """The words-then-address form (a line ending ':' and the address alone below it)."""
    page = text_to_html(f"Open {text}'s form:\n{text}\n\nOpen the form:\nhttps://ok.example/f/a\n")
    hrefs = assert_safe_links(page, {"p", "br", "a", "span"})
    assert "https://ok.example/f/a" in hrefs
    assert "<script" not in page and "<img" not in page


def test_plain_links_are_still_links() -> None:
    page = text_to_html("Open https://forms.example.org/f/abc?x=1&y=2. Or write to a@example.org.")
    assert assert_safe_links(page, {"p", "a"}) == [
        "https://forms.example.org/f/abc?x=1&y=2",
        "mailto:a@example.org",
    ]


def test_letter_page_carries_a_restrictive_policy() -> None:
    for page in ("<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>", "hi"):
        out = letter_page(page)
        metas = [dict(a) for t, a in tags(out) if t == "meta"]
        assert {"http-equiv": "Content-Security-Policy", "content": LETTER_CSP} in metas
    assert "default-src 'none'" in LETTER_CSP and "script" not in LETTER_CSP


def test_hostile_introductions_in_form_link_emails_and_letters(ctx: Context) -> None:
    """Every People introduction hostile: each email's HTML and each saved letter is safe."""
    for i, pid in enumerate(["p01", "p02", "p03", "p05", "p06", "p07"]):
        set_cell(ctx, "people", {"person_id": pid}, introduction=HOSTILE[i].replace(",", " "))
    seed_candidates(ctx)
    res = push_job(ctx)
    msgs = by_key(outbox(ctx))
    assert res.messages_sent == len(msgs) == 5
    for m in msgs.values():
        hrefs = assert_safe_links(html_of(m), BODY_TAGS)
        assert any("/f/" in h for h in hrefs)  # the person's own link is still a link
    letters = list((ctx.settings.workspace / ctx.campaign.id / "letters").glob("*.html"))
    assert letters  # p06 prefers a phone call: staff get the letter
    for f in letters:
        page = f.read_text(encoding="utf-8")
        assert_safe_links(page, BODY_TAGS)
        metas = [dict(a) for t, a in tags(page) if t == "meta"]
        assert {"http-equiv": "Content-Security-Policy", "content": LETTER_CSP} in metas


def test_hostile_preferred_names_and_panel_introductions_in_the_candidate_pack(
    ctx: Context,
) -> None:
    give_letters(ctx)
    for app, text in (("0001", HOSTILE[0]), ("0002", HOSTILE[2]), ("0003", HOSTILE[4])):
        set_cell(ctx, "applications", {"application_id": app}, preferred_name=text)
    set_cell(ctx, "people", {"person_id": "p01"}, introduction=HOSTILE[5])
    set_status(ctx, ["0001", "0002", "0003"], "invited")
    res = send_pack_job(ctx)
    assert res.messages_sent == 3
    for m in outbox(ctx):
        assert_safe_links(html_of(m), {*BODY_TAGS, "ol"})
