"""Every email template, rendered from the example campaign, with every field filled."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from remind_support import form_links, give_letters, move_event, set_status

from automations.context import Context
from automations.errors import ConfigError
from automations.jobs.remind import preview
from automations.jobs.timetable import timetable_job
from automations.mail.render import PACKAGE_TEMPLATES, Rendered, Renderer, text_to_html
from automations.pipelines import remind_job
from automations.transforms.reminders import Planned

EMPTY_SIGNS = [
    "None",
    "{{",
    "}}",
    "{%",
    "%}",
    "nan",
    "NaT",
    "<NA>",
    "[]",
    "()",
    " ,",
    " .",
    "  ",
    ": \n",
    "Dear ,",
    "Hello ,",
    "£.",
    "the  ",
]


def problems_in(r: Rendered) -> list[str]:
    """Signs of an empty or missing field in a rendered message."""
    out = []
    whole = f"Subject: {r.subject}\n{r.text}"
    # A link's random token can hold "nan" by chance: a link is checked part by part.
    for url in re.findall(r"https?://\S+", whole):
        if {"nan", "None", "NaT", ""} & set(
            re.split(r"[/?=&]", url.rstrip("/.,)").split("://", 1)[1])[1:]
        ):
            out.append(f"a link with an empty part: {url}")
    whole = re.sub(r"https?://\S+", "https://link", whole)
    for sign in EMPTY_SIGNS:
        if sign in whole:
            out.append(f"contains {sign!r}")
    if not r.subject.strip() or r.subject.endswith((":", ",", " ")):
        out.append("subject looks unfinished")
    lines = r.text.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"[A-Z][\w ,']*:\s*", line):  # 'Where:' with nothing after it
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            if not nxt.startswith(("- ", "1. ", "http://", "https://")):  # or a link
                out.append(f"line {i + 1} has a label and no value")
    first = lines[0]
    if not re.fullmatch(r"(Dear|Hello) \S.*,", first):
        out.append("no greeting with a name")
    if "<li></li>" in r.html or "<p></p>" in r.html or '<html lang="en-GB">' not in r.html:
        out.append("html is not complete")
    if f"<title>{r.subject}" not in r.html.replace("&#x27;", "'").replace("&amp;", "&"):
        out.append("html title is not the subject")
    return out


@pytest.fixture
def campaign(ctx: Context) -> Context:
    """Letters given, six candidates invited, timetable made, score links issued."""
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0003", "0004", "0005", "0006"], "invited")
    form_links(ctx, "shortlisting")
    form_links(ctx, "interview")
    timetable_job(ctx)
    return ctx


def at(ctx: Context, when: dt.datetime) -> list[tuple[Planned, Rendered]]:
    ctx.clock = lambda: when
    return preview(ctx)


DAYS = [
    dt.datetime(2026, 12, 1, 9),
    dt.datetime(2027, 1, 11, 9),
    dt.datetime(2027, 1, 15, 9),
    dt.datetime(2027, 1, 20, 9),
    dt.datetime(2027, 1, 25, 9),
    dt.datetime(2027, 1, 27, 9),
    dt.datetime(2027, 2, 1, 9),
    dt.datetime(2027, 2, 3, 9),
    dt.datetime(2027, 2, 6, 9),
    dt.datetime(2027, 2, 7, 9),
    dt.datetime(2027, 2, 10, 9),
    dt.datetime(2027, 2, 15, 9),
    dt.datetime(2027, 6, 14, 9),
    dt.datetime(2027, 7, 3, 9),
]


# 'forms push' sends these (the late-application and paper ones are checked in
# test_late_application.py and test_paper_answers.py)
SENT_BY_OTHER_JOBS = {"form_link", "form_link.easyread"} | {
    f"{t}{v}" for t in ("new_candidate", "form_link_paper") for v in ("", ".easyread")
}


def test_form_link_emails_render_with_every_field_filled(ctx: Context) -> None:
    from email import policy
    from email.parser import BytesParser

    from automations.jobs.forms import push_job
    from tests.forms_support import seed_candidates

    seed_candidates(ctx)
    push_job(ctx)
    outbox = ctx.settings.path(ctx.settings.org.mail.outbox)
    msgs = [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes())
        for p in sorted(outbox.glob("*.eml"))
    ]
    assert len(msgs) >= 5
    for m in msgs:
        body, html = m.get_body(("plain",)), m.get_body(("html",))
        assert body is not None and html is not None
        text = str(body.get_content())  # type: ignore[attr-defined]
        r = Rendered(
            subject=str(m["Subject"]),
            text=text,
            html=str(html.get_content()),  # type: ignore[attr-defined]
        )
        assert problems_in(r) == [], m["Subject"]
        assert "/f/" in text  # the person's own link is in it


def test_every_template_renders_with_every_field_filled(campaign: Context) -> None:
    seen: dict[str, int] = {}
    variants: set[tuple[str, str]] = set()
    failures = []
    for when in DAYS:
        if when.date() == dt.date(2027, 2, 15):
            set_status(campaign, ["0002"], "accepted")
        for p, r in at(campaign, when):
            easy = p.recipient.easy_read and Renderer(campaign.settings).exists(
                f"{p.rule.template}.easyread.txt.j2"
            )
            name = f"{p.rule.template}.easyread" if easy else p.rule.template
            seen[name] = seen.get(name, 0) + 1
            variants.add((name, "reminder" if p.context.get("reminder") else "notice"))
            for prob in problems_in(r):
                failures.append(f"{p.key}: {prob}")
    assert failures == []
    files = {f.name.removesuffix(".txt.j2") for f in PACKAGE_TEMPLATES.glob("*.txt.j2")}
    files -= SENT_BY_OTHER_JOBS  # checked below, through the job that sends them
    assert set(seen) == files, f"not rendered: {files - set(seen)}"
    assert ("interview_day", "reminder") in variants
    assert ("preparation_meeting.easyread", "reminder") in variants


def test_corrections_declines_and_cancellations_render(campaign: Context) -> None:
    campaign.clock = lambda: dt.datetime(2027, 1, 15, 9)
    remind_job(campaign)  # preparation meeting notices go out
    move_event(campaign, "preparation meeting", dt.datetime(2027, 2, 1, 10))
    fixes = at(campaign, dt.datetime(2027, 1, 16, 9))
    assert fixes and all(p.correction for p, _ in fixes)
    for p, r in fixes:
        assert problems_in(r) == [], p.key
        assert r.subject.startswith("Change:")
        assert "Monday 1 February 2027, 10am" in r.text
        assert "Please use this email, not the earlier one." in r.text

    campaign.clock = lambda: dt.datetime(2027, 2, 2, 9)
    remind_job(campaign)  # day-2 notices (candidates E and F)
    set_status(campaign, ["0003", "0005"], "withdrawn")  # letters F and E
    timetable_job(campaign)
    cancels = [
        (p, r)
        for p, r in at(campaign, dt.datetime(2027, 2, 3, 9))
        if p.occasion == "interview day 2"
    ]
    assert {p.recipient.id for p, _ in cancels} == {"p01", "p02", "p03", "p04", "p05", "p06", "p07"}
    for p, r in cancels:
        assert problems_in(r) == [], p.key
        assert p.calendar_method == "CANCEL"
        assert "Tuesday 9 February 2027" in r.subject

    set_status(campaign, ["0002"], "declined")
    declined = at(campaign, dt.datetime(2027, 2, 16, 9))
    news = [(p, r) for p, r in declined if p.rule.id == "offer-answered"]
    assert len(news) == 8
    for p, r in news:
        assert problems_in(r) == [], p.key
        assert "decided not to accept" in r.text or "said no" in r.text


def test_candidate_letter_has_questions_panel_and_adjustments(campaign: Context) -> None:
    msgs = [
        (p, r)
        for p, r in at(campaign, dt.datetime(2027, 1, 25, 9))
        if p.rule.id == "candidate-invitation"
    ]
    assert len(msgs) == 6
    r = next(r for p, r in msgs if p.recipient.id == "0002")  # Candidate A
    text = r.text
    for q in campaign.campaign.questions:
        assert q.text in text
    assert text.index(campaign.campaign.questions[0].text) < text.index(
        campaign.campaign.questions[-1].text
    )
    # each member introduced exactly as they chose; nothing else about them
    for intro in [
        "Aisha, Team Manager in the Community Mental Health Team",
        "Tom, Senior Social Worker",
        "Grace, a member of our Co-production Group",
        "Helen, who is supporting the panel and takes no part in scoring",
        "Bernie, who has experience of drawing on care and support",
    ]:
        assert f"- {intro}\n" in text
    assert "- Marek\n" in text and "- Sam\n" in text
    panel = text[text.index("Who will be on the panel") : text.index("What to expect")]
    assert "lived experience" not in panel.lower()
    assert "panel member" not in panel.lower()  # roles are not announced, only introductions
    assert "Priya" not in text  # the coordinator is not on the panel
    assert "Adjustments" in text and "step-free access" in text
    assert "Monday 8 February 2027, 10:30am to 11:10am" in text
    assert "Please arrive by 10:15am." in text
    assert "Room 2, Civic Centre" in text
    assert "Aisha will ask this" in text


def test_large_print_and_easy_read(campaign: Context) -> None:
    msgs = {p.recipient.id: r for p, r in at(campaign, dt.datetime(2027, 1, 11, 9))}
    assert "font-size:24px" in msgs["p03"].html  # large print
    assert "font-size:16px" in msgs["p01"].html
    assert msgs["p05"].subject == "Shortlisting is open"  # easy read
    assert "Read each form. We took the names out." in msgs["p05"].text
    longest = max(len(s) for s in re.split(r"(?<=[.?!])\s|\n", msgs["p05"].text))
    assert longest < 90  # short sentences


def test_html_is_simple_and_accessible() -> None:
    html = text_to_html(
        "Hello,\n\nWhat to do\n----------\n\n- One <b>\n- Two "
        "http://example.org/x\n\n1. First\n2. Second\n\nWrite to a@b.org."
    )
    assert '<h2 style="font-size:1.3em;margin:1.2em 0 0.4em">What to do</h2>' in html
    assert '<ul><li>One &lt;b&gt;</li><li>Two <a href="http://example.org/x">' in html
    assert "<ol><li>First</li><li>Second</li></ol>" in html
    assert '<a href="mailto:a@b.org">a@b.org</a>.' in html


def test_a_team_template_is_used_first(campaign: Context, config_dir: Path) -> None:
    folder = config_dir / "templates"
    folder.mkdir()
    (folder / "shortlisting_opens.txt.j2").write_text(
        "Subject: Our own words, {{ greeting }}\n\nDear {{ greeting }},\n\nThanks.\n"
    )
    msgs = {p.recipient.id: r for p, r in at(campaign, dt.datetime(2027, 1, 11, 9))}
    assert msgs["p01"].subject == "Our own words, Aisha"
    assert msgs["p05"].subject == "Shortlisting is open"  # the easy read one is still ours


def test_a_template_typo_is_a_config_error(campaign: Context, config_dir: Path) -> None:
    folder = config_dir / "templates"
    folder.mkdir()
    (folder / "shortlisting_opens.txt.j2").write_text("Subject: Hi {{ greting }}\n\nDear x,\n")
    with pytest.raises(ConfigError) as exc:
        at(campaign, dt.datetime(2027, 1, 11, 9))
    assert "greting" in str(exc.value)


# ------------------------------------------------------------------------------ rewards


def _rewards_letters(ctx: Context) -> list[tuple[str, Rendered]]:
    """Every rewards letter (statement and estimate) for each person in the example."""
    from automations.jobs import rewards as J
    from automations.transforms import rewards as R
    from tests.test_rewards_jobs import ATTENDANCE, CLAIMS, put

    put(ctx, "attendance", ATTENDANCE)
    put(ctx, "expense_claims", CLAIMS)
    J.accrue_job(ctx)
    frames = ctx.stores.staff.read(["people", "dates", J.LEDGER])
    policy = ctx.settings.org.rewards
    out = []
    for _, person in frames["people"].iterrows():
        pid = str(person["person_id"])
        choice = str(person.get("reward_choice") or "")
        st = R.build_statement(frames[J.LEDGER], pid, ctx.campaign.id, policy, choice)
        if st.items:
            s = J.statement_letter(ctx, person, st)
            out.append((f"statement {pid}", Rendered(s.subject, s.text, s.html)))
        planned = R.planned_activities(frames["dates"], True, True)
        est, _ = R.estimate(policy, pid, choice, planned, None)
        e = J.estimate_letter(ctx, person, est)
        out.append((f"estimate {pid}", Rendered(e.subject, e.text, e.html)))
    return out


def test_rewards_templates_render_with_every_field_filled(ctx: Context) -> None:
    letters = _rewards_letters(ctx)
    assert len(letters) >= 8
    failures = [f"{who}: {p}" for who, r in letters for p in problems_in(r)]
    assert failures == []
    subjects = {r.subject for _, r in letters}
    post = ctx.campaign.campaign.post
    assert f"Your rewards statement: {post} recruitment" in subjects
    assert f"Your money for helping us find a new {post}" in subjects  # easy read
    assert f"What you will be paid for helping recruit a {post}" in subjects
    assert f"Money for helping us find a new {post}" in subjects  # easy read
    rewards = {p.relative_to(PACKAGE_TEMPLATES).as_posix() for p in PACKAGE_TEMPLATES.rglob("*")}
    for kind in ("statement", "estimate"):
        for variant in ("txt", "html", "easyread.txt", "easyread.html"):
            assert f"rewards/{kind}.{variant}.j2" in rewards


def test_a_team_rewards_template_is_used_first(ctx: Context, config_dir: Path) -> None:
    folder = config_dir / "templates" / "rewards"
    folder.mkdir(parents=True)
    (folder / "statement.txt.j2").write_text(
        "Subject: Thank you, {{ first_name }}\n\nDear {{ first_name }},\n\n"
        "In all: {{ total }}. Our own words.\n"
    )
    (folder / "statement.html.j2").write_text(
        "<html><title>{{ subject }}</title><p>Ours: {{ total }} for {{ first_name }}</p></html>"
    )
    letters = dict(_rewards_letters(ctx))
    mine = letters["statement p03"]  # standard words: the team's template
    assert mine.subject == "Thank you, Grace"
    assert mine.text == "Dear Grace,\n\nIn all: £254.00. Our own words.\n"
    assert "<p>Ours: £254.00 for Grace</p>" in mine.html
    easy = letters["statement p05"]  # easy read: the team did not write one, so ours
    assert easy.subject.startswith("Your money for helping us find a new")
    assert "This letter tells you about your money." in easy.text
    assert letters["estimate p03"].subject.startswith("What you will be paid")


def test_expense_form_emails_render_with_every_field_filled(ctx: Context) -> None:
    from automations.jobs.expense_forms import send_links
    from tests.remind_support import outbox, text_of

    res = send_links(ctx)
    msgs = outbox(ctx)
    assert len(msgs) == res.messages_sent == 3
    for m in msgs:
        html = m.get_body(("html",))
        assert html is not None
        r = Rendered(str(m["Subject"]), text_of(m), str(html.get_content()))  # type: ignore[attr-defined]
        assert problems_in(r) == [], m["Subject"]
        assert "/f/" in r.text
