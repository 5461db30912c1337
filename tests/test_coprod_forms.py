"""The co-production forms end to end on the local path: sent once, answered, collected once."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from automations.context import Context
from automations.coprod_forms import push_forms, specs_for
from automations.forms.base import FormSpec, Response, ScaleItem
from automations.forms.local import AppInfo, create_app, start_server_thread
from automations.jobs.feedback import summary_job
from automations.jobs.involvement import involvement_job
from automations.jobs.questions import collect_job, propose_job
from automations.transforms import coprod_forms as cf
from tests.forms_support import client, fill, path_of, provider
from tests.remind_support import by_key, no_personal_data, outbox, text_of

CHROMIUM = "/usr/bin/chromium"


def _frames(ctx: Context) -> dict:  # type: ignore[type-arg]
    ctx.stores.staff.forget()
    return ctx.stores.staff.read(["people", "dates", "question_drafts", "form_links"])


def _links(ctx: Context, kind: str) -> dict[str, str]:
    fl = _frames(ctx)["form_links"]
    return {r["person_id"]: r["url"] for _, r in fl.iterrows() if r["stage"] == kind}


# ----------------------------------------------------------------- pure parts


def test_specs_are_kind_plain_and_hold_no_personal_data(ctx: Context) -> None:
    interest = specs_for(ctx, "interest", _frames(ctx))
    assert [s.person_id for s in interest] == ["p03", "p05", "p06", "p07"]
    s = interest[0]
    assert s.kind == "answers" and s.key == "peer-support-2027.interest.p03"
    legends = [i.legend for i in s.scale_items()]
    assert legends[0] == "Would you like to help us choose our new Peer Support Worker?"
    titles = " ".join(i.title for i in s.items())
    for needed in (
        "caring",
        "Working with me",
        "introduced to candidates",
        "Community Mental Health Team",
    ):
        assert needed in titles or needed in " ".join(x.description for x in s.sections)
    assert "Interview day: 8 February 2027" in s.sections[1].description
    text = repr(s)
    assert "Okafor" not in text and "@" not in text
    fb = specs_for(ctx, "feedback", _frames(ctx))
    assert [x.person_id for x in fb] == ["p01", "p02", "p03", "p04", "p05", "p06", "p07"]


def test_answers_become_rows() -> None:
    at = dt.datetime(2027, 1, 5, 10, 0, tzinfo=dt.UTC)
    r = Response(
        "R1",
        "k",
        "p03",
        {
            cf.choice_id("interested"): "2",
            cf.choice_id("reward_choice"): "1",
            cf.choice_id("team_experience"): "2",
            cf.choice_id("formats"): "1",
            cf.text_id("access_requirements"): "=1+1 breaks",
        },
        at,
        "local form",
    )
    [row] = cf.interest_rows([r], "Europe/London")
    assert row["interested"] == "yes" and row["reward_choice"] == "vouchers"
    assert row["team_experience"] is None and row["formats"] == "large print"
    assert row["access_requirements"] == "=1+1 breaks" and row["submitted_at"] == dt.datetime(
        2027, 1, 5, 10
    )
    v = Response(
        "R2",
        "k",
        "p05",
        {cf.choice_id("view", "d1"): "1", cf.text_id("wording", "d1"): "Shorter?"},
        at,
        "local form",
    )
    assert cf.view_rows([v], ["d1", "d2"], "Europe/London") == [
        {
            "response_id": "R2",
            "person_id": "p05",
            "draft_id": "d1",
            "choice": "change",
            "wording": "Shorter?",
            "comment": "",
            "submitted_at": dt.datetime(2027, 1, 5, 10),
            "source": "local form",
        }
    ]
    f = Response(
        "R3",
        "k",
        "p06",
        {cf.choice_id("how_it_felt"): "4", cf.choice_id("share_name"): "0"},
        at,
        "local form",
    )
    [fr] = cf.feedback_rows([f], {"p06": "lived experience"}, "Europe/London")
    assert fr["person_id"] == "" and fr["kind"] == "lived experience" and fr["how_it_felt"] == 4


# ------------------------------------------------------- end to end (test client)


def test_interest_form_sent_once_answered_collected_into_people(ctx: Context) -> None:
    res = push_forms(ctx, "interest")
    assert res.messages_sent == 3  # p06 prefers a phone call: a letter for staff instead
    msgs = by_key(outbox(ctx))
    m = msgs["interest-form|p03|peer-support-2027|interest"]
    assert res.links["p03"] in text_of(m)
    assert "it is fine to say no" in text_of(m)
    easy = text_of(msgs["interest-form|p05|peer-support-2027|interest"])
    assert "Your view counts the same" in easy  # p05 asked for easy read
    assert (ctx.settings.workspace / ctx.campaign.id / "letters").is_dir()
    # again: same forms, same links, no new email
    again = push_forms(ctx, "interest")
    assert again.messages_sent == 0 and again.links == res.links and len(outbox(ctx)) == 3
    specs = {s.person_id: s for s in specs_for(ctx, "interest", _frames(ctx))}
    c = client(ctx)
    answers = {
        cf.choice_id("interested"): "2",
        cf.choice_id("formats"): "0",
        cf.choice_id("reward_choice"): "0",
        cf.choice_id("team_experience"): "1",
    }
    fill(
        c,
        specs["p07"],
        path_of(res.links["p07"]),
        score=answers,
        comments={
            cf.text_id("access_requirements"): "A quiet room; ACCESS-SECRET",
            cf.text_id("unavailable"): "2027-02-09 09:00-12:00 (school run)",
            cf.text_id("introduction"): "Sam, a member of our Co-production Group",
        },
    )
    inv = involvement_job(ctx)
    assert any("1 expression(s) of interest copied" in a for a in inv.attention)
    ctx.stores.staff.forget()
    people = ctx.stores.staff.read_one("people").set_index("person_id")
    assert people.loc["p07", "access_requirements"] == "A quiet room; ACCESS-SECRET"
    assert bool(people.loc["p07", "team_experience"])
    assert people.loc["p07", "reward_choice"] == "payment"
    assert people.loc["p07", "unavailable"].startswith("2027-02-09 09:00-12:00")
    involvement_job(ctx)
    ctx.stores.staff.forget()
    assert len(ctx.stores.staff.read_one("expressions_of_interest")) == 1  # collected once
    # never in the panel workbook
    import openpyxl

    wb = openpyxl.load_workbook(ctx.settings.workspace / ctx.campaign.id / "panel.xlsx")
    assert not any(
        "ACCESS-SECRET" in str(x.value) for ws in wb for row in ws.iter_rows() for x in row
    )


def test_questions_flow_from_criteria_to_views(ctx: Context) -> None:
    res = propose_job(ctx)
    assert res.messages_sent == 3  # advisors: lived-experience panel members with email
    links = _links(ctx, "questions")
    assert sorted(links) == ["p03", "p05", "p06", "p07"]
    specs = {s.person_id: s for s in specs_for(ctx, "questions", _frames(ctx))}
    c = client(ctx)
    fill(
        c,
        specs["p03"],
        path_of(links["p03"]),
        score={cf.choice_id("view", "d1"): "1", cf.choice_id("view", "d2"): "0"},
        comments={cf.text_id("wording", "d1"): "Tell us about yourself and why this job?"},
    )
    fill(c, specs["p05"], path_of(links["p05"]), score="2")
    out = collect_job(ctx)
    drafts = ctx.stores.staff.read_one("question_drafts").set_index("draft_id")
    assert (drafts.loc["d1", "keep_count"], drafts.loc["d1", "change_count"]) == (1, 1)
    assert drafts.loc["d2", "drop_count"] == 1
    assert drafts.loc["d1", "suggestions"] == "Grace: Tell us about yourself and why this job?"
    assert "views from 2 people" in out.detail
    again = collect_job(ctx)
    ctx.stores.staff.forget()
    assert len(ctx.stores.staff.read_one("question_views")) == 12 and again.rows_written == 0
    assert propose_job(ctx).messages_sent == 0


def test_feedback_form_and_summary(ctx: Context) -> None:
    res = push_forms(ctx, "feedback")
    assert res.messages_sent == 6  # seven people; p06 prefers a phone call: a letter
    specs = {s.person_id: s for s in specs_for(ctx, "feedback", _frames(ctx))}
    c = client(ctx)
    fill(
        c,
        specs["p03"],
        path_of(res.links["p03"]),
        score={
            cf.choice_id("how_it_felt"): "5",
            cf.choice_id("listened_to"): "5",
            cf.choice_id("share_name"): "0",
        },
        comments={cf.text_id("what_worked"): "Being treated as an equal."},
    )
    s = summary_job(ctx)
    assert s.lines[:2] == ["1 feedback response(s)", "From: lived experience 1"]
    fb = ctx.stores.staff.read_one("feedback")
    assert fb.iloc[0]["person_id"] == ""  # asked to stay anonymous
    assert summary_job(ctx).lines[0] == "1 feedback response(s)"
    assert no_personal_data(s.summary()) == []


# ------------------------------------------------------------- a real browser


@pytest.fixture
def server(ctx: Context) -> Iterator[str]:
    p = provider(ctx)
    app = create_app(p.inbox, p.signer, info=AppInfo("Example Council", "the team"), now=p.now)
    srv = start_server_thread(app)
    try:
        yield srv.url
    finally:
        srv.stop()


def _answer_in_browser(
    page: object, url: str, spec: FormSpec, picks: dict[str, str], texts: dict[str, str]
) -> str:
    page.goto(url)  # type: ignore[attr-defined]
    assert "scores" not in page.content().lower()  # type: ignore[attr-defined]
    page.click("text=Start")  # type: ignore[attr-defined]
    for sec in spec.sections:
        assert page.locator("h1").inner_text() == sec.title  # type: ignore[attr-defined]
        for item in sec.items:
            if isinstance(item, ScaleItem):
                legend = page.locator("fieldset legend", has_text=item.legend)  # type: ignore[attr-defined]
                assert legend.count() == 1
                if item.item_id in picks:
                    group = page.get_by_role("group", name=item.legend)  # type: ignore[attr-defined]
                    group.get_by_label(picks[item.item_id], exact=True).check()
            elif item.item_id in texts:
                page.get_by_label(item.title).fill(texts[item.item_id])  # type: ignore[attr-defined]
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click("button[value=next]")  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text() == "Check your answers"  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click("text=Send my answers")  # type: ignore[attr-defined]
    h1 = page.locator("h1").inner_text()  # type: ignore[attr-defined]
    return str(h1)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="no chromium")
def test_every_form_answered_in_a_real_browser(ctx: Context, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    push_forms(ctx, "interest")
    propose_job(ctx)
    push_forms(ctx, "feedback")
    frames = _frames(ctx)
    spec = {
        k: {s.person_id: s for s in specs_for(ctx, k, frames)}
        for k in ("interest", "questions", "feedback")
    }
    url = {k: server + path_of(_links(ctx, k)["p05"]) for k in spec}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = b.new_page(viewport={"width": 390, "height": 800})
        got = _answer_in_browser(
            page,
            url["interest"],
            spec["interest"]["p05"],
            {
                cf.choice_id("interested"): "Yes",
                cf.choice_id("formats"): "Easy read",
                cf.choice_id("reward_choice"): "Vouchers",
            },
            {cf.text_id("access_requirements"): "Easy read papers and a support worker"},
        )
        assert got == "Thank you. Your answers are saved."  # p05 asked for easy read
        page.screenshot(path=str(tmp_path / "interest-done.png"))
        q = spec["questions"]["p05"]
        picks = {
            cf.choice_id("view", s.section_id.removeprefix("draft-")): "Keep it" for s in q.sections
        }
        picks[cf.choice_id("view", "d3")] = "Change it"
        assert _answer_in_browser(
            page,
            url["questions"],
            q,
            picks,
            {cf.text_id("wording", "d3"): "What does working as equals mean to you?"},
        ).startswith("Thank you")
        got = _answer_in_browser(
            page,
            url["feedback"],
            spec["feedback"]["p05"],
            {
                cf.choice_id("how_it_felt"): "4",
                cf.choice_id("listened_to"): "5: completely",
                cf.choice_id("share_name"): "Yes",
            },
            {cf.text_id("what_to_change"): "More breaks"},
        )
        assert got.startswith("Thank you")
        b.close()
    involvement_job(ctx)
    collect_job(ctx)
    summary_job(ctx)
    ctx.stores.staff.forget()
    st = ctx.stores.staff
    eoi = st.read_one("expressions_of_interest")
    assert eoi.iloc[0]["interested"] == "yes" and eoi.iloc[0]["formats"] == "easy read"
    assert st.read_one("people").set_index("person_id").loc["p05", "reward_choice"] == "vouchers"
    views = st.read_one("question_views")
    d3 = views[views.draft_id == "d3"].iloc[0]
    assert d3["choice"] == "change" and d3["wording"] == "What does working as equals mean to you?"
    fb = st.read_one("feedback")
    assert fb.iloc[0]["person_id"] == "p05" and fb.iloc[0]["listened_to"] == 5
    assert fb.iloc[0]["what_to_change"] == "More breaks"


def test_the_scheduled_run_collects_every_form(ctx: Context) -> None:
    from automations.runner import JOBS, job_function

    assert JOBS["coprod"][1] == "coprod"
    assert ctx.settings.org.schedule.coprod == "every 60 minutes"
    first = job_function("coprod")(ctx)  # nothing yet: fine, nothing written
    assert "involvement" in first.detail
    push_forms(ctx, "interest", send=False)
    propose_job(ctx, send=False)
    push_forms(ctx, "feedback", send=False)
    frames = _frames(ctx)
    c = client(ctx)
    for kind in ("interest", "questions", "feedback"):
        spec = {s.person_id: s for s in specs_for(ctx, kind, frames)}["p07"]
        fill(c, spec, path_of(_links(ctx, kind)["p07"]), score="1")
    res = job_function("coprod")(ctx)
    st = ctx.stores.staff
    st.forget()
    assert len(st.read_one("expressions_of_interest")) == 1
    assert len(st.read_one("feedback")) == 1
    assert set(st.read_one("question_views")["person_id"]) == {"p07"}
    assert "1 response(s) summarised" in res.detail
    again = job_function("coprod")(ctx)
    st.forget()
    assert len(st.read_one("feedback")) == 1 and again.rows_written == 0
    assert outbox(ctx) == []  # the scheduled run never sends forms by itself


def test_the_invitation_on_recruitment_agreed_carries_the_interest_form(ctx: Context) -> None:
    from automations.jobs.remind import preview

    res = push_forms(ctx, "interest", send=False)  # forms and links, no separate email
    ctx.clock = lambda: dt.datetime(2026, 12, 1, 9)
    msgs = {p.recipient.id: r for p, r in preview(ctx) if p.rule.id == "pwle-invitation"}
    assert res.links["p03"] in msgs["p03"].text
    assert res.links["p05"] in msgs["p05"].text  # easy read too
    assert "Tell us with this short form" in msgs["p05"].text
