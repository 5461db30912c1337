"""Short codes for form links that are read out or posted (issue 19, "People who prefer
paper, phone or post"): a letter for staff to read out is not mostly a 170-character
link. Each local form link has an 8-character code (no 0, O, 1 or I), grouped and spelt
out in the letter; the form server opens the person's own form from it (its front page
box, or /c/<code>), refuses a wrong code kindly, and stops answering codes for an hour
after too many wrong ones. On Google Forms there is no code: the letter leaves the link
out and says whom to contact."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from automations.config import load_settings
from automations.context import Context, make_context
from automations.forms.base import FormHandle
from automations.forms.local import AppInfo, create_app, start_server_thread
from automations.jobs.forms import _link_item, current_specs, push_job
from automations.mail.render import Renderer
from automations.transforms.short_codes import (
    ALPHABET,
    address_words,
    code_from,
    grouped,
    normalise,
    spoken,
)
from automations.workspace import init_campaign
from tests import test_forms_browser as B
from tests.forms_support import links, path_of, provider, seed_candidates
from tests.remind_support import by_key, outbox, set_cell, text_of
from tests.test_forms_browser import fits

browser, page = B.browser, B.page
NOW = dt.datetime(2027, 1, 25, 9, 0)
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b")


@pytest.fixture
def pctx(config_dir: Path) -> Context:
    """The example campaign, its forms behind https://forms.council.example."""
    org = config_dir / "organisation.toml"
    org.write_text(
        org.read_text().replace(
            'public_url = ""', 'public_url = "https://forms.council.example/"', 1
        )
    )
    c = make_context(load_settings(config_dir), clock=lambda: NOW)
    init_campaign(c, example=True)
    return c


def all_specs(ctx: Context) -> list[Any]:
    ctx.stores.staff.forget()
    tabs = ["people", "applications", "candidate_key", "timetable", "form_links"]
    return current_specs(ctx, ctx.stores.staff.read(tabs))


def letters(ctx: Context, pattern: str) -> dict[str, str]:
    folder = ctx.settings.workspace / ctx.campaign.id / "letters"
    return {p.name: p.read_text() for p in sorted(folder.glob(pattern))}


def app_client(ctx: Context, tries: int = 10) -> Any:
    p = provider(ctx)
    app = create_app(
        p.inbox, p.signer, info=AppInfo(tz="Europe/London"), now=p.now, code_tries_per_hour=tries
    )
    return app.test_client()


# ---------------------------------------------------------------- the codes


def test_codes_use_only_characters_nobody_can_confuse() -> None:
    assert not set("0O1I") & set(ALPHABET) and len(set(ALPHABET)) == 32
    code = code_from(bytes(range(5)))
    assert len(code) == 8 and set(code) <= set(ALPHABET)
    assert code_from(b"\xff" * 5) == "99999999" and code_from(b"\x00" * 5) == "AAAAAAAA"
    assert grouped("KD4Q7XMP") == "KD4Q-7XMP"
    # what people type: any case, spaces or dashes; a character no code has is refused
    assert normalise(" kd4q 7xmp ") == normalise("KD4Q-7XMP") == "KD4Q7XMP"
    assert normalise("KD4Q-7XM0") == normalise("KD4Q-7XM") == normalise("") == ""
    assert spoken("KD4Q-7XMP") == (
        "K for kite, D for dog, number 4, Q for queen, then number 7, X for x-ray, "
        "M for moon, P for pen"
    )
    assert address_words("https://forms.council.example/") == "forms.council.example"
    assert address_words("https://council.example/forms") == "council.example/forms"


# ------------------------------------------------------------------ letters


def test_the_letter_read_out_has_a_short_code_spelt_out_and_no_long_link(pctx: Context) -> None:
    seed_candidates(pctx)
    push_job(pctx)
    got = links(pctx)
    # p06 prefers a phone call, so scores on paper: the letter offers the form by code
    mine = letters(pctx, "form-link*p06*shortlisting*.txt")
    assert len(mine) == 1
    text = next(iter(mine.values()))
    assert "/f/" not in text and got[("p06", "shortlisting")] not in text
    assert "Go to forms.council.example and type in your code:" in text
    code = CODE.findall(text)
    assert len(code) == 1
    assert f"Spelt out: {spoken(code[0])}." in text
    assert "It works until Friday 26 March 2027." in text
    assert max(len(line) for line in text.splitlines()) < 200
    # the code opens p06's own form, the same as their link
    c = app_client(pctx)
    r = c.get(f"/c/{code[0]}")
    assert r.status_code == 303
    assert r.headers["Location"] == path_of(got[("p06", "shortlisting")])
    # emailed people click their link: no code in their email
    for m in by_key(outbox(pctx)).values():
        assert "type in your code" not in text_of(m) and code[0] not in text_of(m)


def test_a_text_message_person_gets_the_link_and_the_code(pctx: Context) -> None:
    set_cell(pctx, "people", {"person_id": "p02"}, preferred_contact="text message")
    seed_candidates(pctx)
    push_job(pctx)
    text = next(iter(letters(pctx, "form-link*p02*shortlisting*.txt").values()))
    assert links(pctx)[("p02", "shortlisting")] in text  # to send in a text message
    assert "If the link is hard to open or type in, use your short code instead." in text
    assert len(CODE.findall(text)) == 1


def test_easy_read_letter_gives_the_code_in_short_lines(pctx: Context) -> None:
    set_cell(pctx, "people", {"person_id": "p06"}, formats="easy read")
    seed_candidates(pctx)
    push_job(pctx)
    text = next(iter(letters(pctx, "form-link*p06*shortlisting*.txt").values()))
    assert "- Go to forms.council.example" in text
    assert re.search(r"- Type in your code: [A-Z2-9]{4}-[A-Z2-9]{4}\n", text)
    assert "/f/" not in text


def test_on_google_forms_the_letter_leaves_the_link_out_and_says_whom_to_contact(
    pctx: Context,
) -> None:
    """Google Forms links have no short code (no form server to turn one into a link)."""
    seed_candidates(pctx)
    frames = pctx.stores.staff.read(
        ["people", "applications", "candidate_key", "timetable", "form_links"]
    )
    spec = next(
        s for s in current_specs(pctx, frames) if s.person_id == "p06" and s.stage == "shortlisting"
    )
    handle = FormHandle(spec.key, "g-form-1", "https://docs.google.com/forms/d/e/x/viewform")
    person = frames["people"].set_index("person_id", drop=False).loc["p06"]
    item = _link_item(pctx, Renderer(pctx.settings), spec, handle, person)
    text = item.rendered.text
    assert "docs.google.com" not in text and not CODE.search(text)
    assert (
        "If you would rather use the online form, please contact the Recruitment team on "
        "01632 960000 or recruitment@example.org and we will send you the link"
        in " ".join(text.split())
    )


# ------------------------------------------------------------ the form server


def test_a_code_opens_the_form_in_any_case_and_spacing(pctx: Context) -> None:
    seed_candidates(pctx)
    handles = provider(pctx).ensure_forms(all_specs(pctx))
    h = next(h for k, h in handles.items() if k.endswith("shortlisting.p03"))
    assert CODE.fullmatch(h.short_code)
    c = app_client(pctx)
    typed = h.short_code.lower().replace("-", " ")
    r = c.get("/c", query_string={"code": typed})
    assert r.status_code == 303 and r.headers["Location"] == path_of(h.url)
    assert c.get(r.headers["Location"]).status_code == 200
    # pushing again gives the same codes
    assert handles == provider(pctx).ensure_forms(all_specs(pctx))


def test_a_wrong_code_is_refused_kindly_and_guessing_is_stopped(pctx: Context) -> None:
    seed_candidates(pctx)
    push_job(pctx, send=False)
    handles = provider(pctx).ensure_forms(all_specs(pctx))
    right = next(iter(handles.values())).short_code
    c = app_client(pctx, tries=3)
    r = c.get("/c", query_string={"code": "ABCD-EFGH"})
    html = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "We could not find a form with that code." in html
    assert "A code never has the letter O or I, or the number 0 or 1." in html
    assert 'value="ABCD-EFGH"' in html  # what they typed stays in the box to correct
    r = c.get("/c", query_string={"code": ""})
    assert r.status_code == 400 and "Please type the code from your letter." in r.get_data(
        as_text=True
    )
    for wrong in ("KD4Q-7XM0", "zzzz zzzz"):
        assert c.get(f"/c/{wrong}").status_code == 404
    # three wrong codes in the hour: every code is refused for now, the right one too
    r = c.get(f"/c/{right}")
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600"
    assert "Please wait a while before trying again" in r.get_data(as_text=True)
    # an hour later it works again
    p = provider(pctx)
    later = create_app(
        p.inbox,
        p.signer,
        now=lambda: p.now() + dt.timedelta(hours=1, minutes=1),
        code_tries_per_hour=3,
    ).test_client()
    assert later.get(f"/c/{right}").status_code == 303


def test_a_renewed_or_expired_link_s_old_code_says_so(pctx: Context) -> None:
    seed_candidates(pctx)
    p = provider(pctx)
    specs = all_specs(pctx)
    old = p.ensure_forms(specs)
    # 50 days on, less than a quarter of the link's life is left: a new link, a new code
    p.now = lambda: dt.datetime(2027, 3, 16, 9, tzinfo=dt.UTC)
    new = p.ensure_forms(specs)
    key = next(iter(old))
    assert new[key].short_code != old[key].short_code
    c = create_app(p.inbox, p.signer, now=p.now).test_client()
    r = c.get(f"/c/{old[key].short_code}")
    assert r.status_code == 410 and "This link is no longer in use" in r.get_data(as_text=True)
    assert c.get(f"/c/{new[key].short_code}").status_code == 303
    late = create_app(
        p.inbox, p.signer, now=lambda: dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    ).test_client()
    r = late.get(f"/c/{new[key].short_code}")
    assert r.status_code == 410 and "This link has expired" in r.get_data(as_text=True)


def test_in_chromium_at_320px_the_code_box_opens_the_form(pctx: Context, page: object) -> None:
    seed_candidates(pctx)
    push_job(pctx, send=False)
    specs = all_specs(pctx)
    h = next(h for k, h in provider(pctx).ensure_forms(specs).items() if k.endswith("p06"))
    p = provider(pctx)
    server = start_server_thread(
        create_app(p.inbox, p.signer, info=AppInfo("Example Council", "the team"), now=p.now)
    )
    try:
        page.goto(server.url + "/")  # type: ignore[attr-defined]
        fits(page)
        # a wrong code first: the page says so, the box keeps what was typed
        page.get_by_label("Your code").fill("ABCD EFGH")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Open my form").click()  # type: ignore[attr-defined]
        assert "We could not find a form with that code" in page.inner_text("main")  # type: ignore[attr-defined]
        fits(page)
        box = page.get_by_label("Your code")  # type: ignore[attr-defined]
        assert box.input_value() == "ABCD EFGH"
        box.fill(h.short_code.lower())
        page.get_by_role("button", name="Open my form").click()  # type: ignore[attr-defined]
        page.wait_for_url("**" + path_of(h.url))  # type: ignore[attr-defined]
        title = next(x.title for x in specs if x.key == h.key)
        assert page.locator("h1").inner_text() == title  # type: ignore[attr-defined]
        assert "What is in this form" in page.inner_text("main")  # type: ignore[attr-defined]
        fits(page)
    finally:
        server.stop()


def test_no_axe_violation_on_the_code_pages_at_320_and_1280(pctx: Context, browser: object) -> None:
    """The front page with its box, a wrong code and the 'wait a while' page: axe-core
    finds nothing, nothing is wider than the screen, no heading word is broken."""
    from tests.test_forms_access import check_page

    seed_candidates(pctx)
    p = provider(pctx)
    p.ensure_forms(all_specs(pctx))
    app = create_app(
        p.inbox,
        p.signer,
        info=AppInfo("Example Council", "the team"),
        now=p.now,
        code_tries_per_hour=1,
    )
    server = start_server_thread(app)
    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True)  # type: ignore[attr-defined]
    pg = context.new_page()
    try:
        pg.goto(server.url + "/")
        assert pg.locator("h1").inner_text() == "Score forms"
        check_page(pg, 320, "front page")
        check_page(pg, 1280, "front page")
        pg.goto(server.url + "/c?code=ABCD-EFGH")
        assert pg.title().startswith("Error:")
        check_page(pg, 320, "wrong code")
        check_page(pg, 1280, "wrong code")
        pg.goto(server.url + "/c?code=ABCD-EFGH")
        assert pg.locator("h1").inner_text() == "Please wait a while before trying again"
        check_page(pg, 320, "too many codes")
        check_page(pg, 1280, "too many codes")
    finally:
        context.close()
        server.stop()


def test_reminder_letters_read_out_give_the_code_or_say_whom_to_ask(config_dir: Path) -> None:
    """The letter that shortlisting opens, for p06 (phone), gives their code, never the
    link; a link with no code (a video call) is left out, with whom to ask for it."""
    from automations.jobs.remind import reminders_job

    org = config_dir / "organisation.toml"
    org.write_text(
        org.read_text().replace('public_url = ""', 'public_url = "https://forms.council.example"')
    )
    now = [dt.datetime(2027, 1, 11, 9, 0)]  # shortlisting opens
    ctx = make_context(load_settings(config_dir), clock=lambda: now[0])
    init_campaign(ctx, example=True)
    seed_candidates(ctx)
    push_job(ctx)
    reminders_job(ctx)
    code = CODE.findall(next(iter(letters(ctx, "form-link*p06*shortlisting*.txt").values())))
    mine = letters(ctx, "shortlisting-opens*p06*.txt")
    assert len(mine) == 1, sorted(letters(ctx, "*p06*"))
    text = next(iter(mine.values()))
    assert "/f/" not in text and "http" not in text
    assert (
        f"Open your score form: go to forms.council.example and type in the code {code[0]}" in text
    )
    assert f"Spelt out: {spoken(code[0])}." in text
    assert "This code is just for you" in text and "This link" not in text
    # emailed shortlisters still get their link to click
    emails = [text_of(m) for k, m in by_key(outbox(ctx)).items() if "shortlisting-" in k]
    assert emails and all("/f/" in t and "type in the code" not in t for t in emails)
    assert all("This link is just for you" in t or "This link is only for you" in t for t in emails)

    # the preparation meeting letter: its video link is not read out
    set_cell(
        ctx,
        "dates",
        {"event": "preparation meeting"},
        video_link="https://meet.example.org/j/123456789?pwd=abcdefghijklmnopqrstuvwxyz",
    )
    now[0] = dt.datetime(2027, 1, 15, 9, 0)
    reminders_job(ctx)
    prep = letters(ctx, "preparation*p06*.txt")
    assert len(prep) == 1, sorted(letters(ctx, "*p06*"))
    text = next(iter(prep.values()))
    assert "meet.example.org" not in text
    assert (
        "Join online: please ask the Recruitment team on 01632 960000 or "
        "recruitment@example.org and we will send you the link by text message or email."
    ) in text
    assert any("meet.example.org" in text_of(m) for m in outbox(ctx))  # emails keep it


def test_which_letters_are_read_out_or_posted() -> None:
    """By the person's own wish (phone, post) or for want of a usable email address;
    not a letter to text, nor a job's own letter to someone with an email address."""
    from dataclasses import replace

    from automations.transforms.messages import letter_read_out, person_recipient

    row = {"person_id": "p09", "email": "p09@example.org", "preferred_contact": "phone"}
    assert letter_read_out(person_recipient(row))
    assert letter_read_out(person_recipient({**row, "preferred_contact": "post"}))
    assert letter_read_out(person_recipient({**row, "preferred_contact": "", "email": ""}))
    assert letter_read_out(person_recipient({**row, "preferred_contact": "", "email": "a@b, c@d"}))
    assert not letter_read_out(person_recipient({**row, "preferred_contact": "text message"}))
    emailed = person_recipient({**row, "preferred_contact": "email"})
    assert not letter_read_out(emailed)
    assert not letter_read_out(replace(emailed, channel="other", reason="papers by post"))
