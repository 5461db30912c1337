"""The plain-language check: reported on every question and template, never enforced."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.jobs.plain import plain_job
from automations.transforms.plain_language import (
    check_text,
    find_jargon,
    reading_ease,
    sentences,
    syllables,
    template_text,
)


def test_measures() -> None:
    assert syllables("cat") == 1 and syllables("people") == 2 and syllables("equality") == 4
    assert sentences("One. Two words! Three?\n\n- a list item\n- another") == [
        "One.",
        "Two words!",
        "Three?",
        "a list item",
        "another",
    ]
    easy = reading_ease("Can you tell us who you are and why you want this job?")
    hard = reading_ease(
        "The postholder will demonstrate comprehensive multidisciplinary understanding of "
        "organisational accountability."
    )
    assert easy > 80 > 20 > hard
    assert find_jargon(
        "A holistic, person-centred plan for a service user.",
        ["holistic", "person-centred", "service user", "user"],
    ) == [
        "holistic",
        "person-centred",
        "service user",
        "user",
    ]
    assert find_jargon("stakeholders", ["stakeholder"]) == []  # whole words only


def test_long_sentences_and_template_text() -> None:
    f = check_text("q", " ".join(["word"] * 25) + ". Short one.", [])
    assert len(f.long_sentences) == 1 and not f.ok
    src = (
        "{% if x %}Subject: Hello {{ name }}{% endif %}\n"
        "<h1>Title</h1><p>Dear {{ who }}, welcome.</p>"
    )
    text = template_text(src)
    assert "{" not in text and "<" not in text and "Hello it" in text
    assert "Title" in sentences(text)


def test_report_covers_questions_drafts_and_every_template(ctx: Context) -> None:
    from automations.jobs.questions import propose_job

    propose_job(ctx)
    res = plain_job(ctx, extra=[("form test", "We leverage holistic synergy.")])
    where = {f.where for f in res.findings}
    assert {f"question {q.id}" for q in ctx.campaign.questions} <= where
    assert "draft d1" in where
    for t in (
        "template pwle_invitation.txt.j2",
        "template coprod/candidate_pack.txt.j2",
        "template score_sheet.html.j2",
        "template rewards/statement.txt.j2",
        "template rewards/statement.easyread.txt.j2",
        "template rewards/estimate.html.j2",
        "template rewards/estimate.easyread.html.j2",
    ):
        assert t in where
    assert {"form interest", "form questions", "form feedback", "form expenses"} <= where
    assert {
        "template rewards/claim_form.txt.j2",
        "template rewards/claim_form.easyread.txt.j2",
    } <= where
    form = next(f for f in res.findings if f.where == "form test")
    assert form.jargon == ["holistic", "leverage", "synergy"]
    assert res.report is not None and "form test" in res.report.read_text()
    # reported, not enforced: nothing is refused or changed
    assert not any("refused" in a for a in res.attention)


def test_report_covers_the_local_form_pages_and_the_decision_pack(ctx: Context) -> None:
    from automations.jobs.plain import FORM_PAGES, REPORT_TEMPLATES

    res = plain_job(ctx)
    found = {f.where: f for f in res.findings}
    # every local form page template, partials included, and the decision pack template
    pages = {f"template forms/{p.name}" for p in FORM_PAGES.glob("*.html")}
    assert {"template forms/page.html", "template forms/_errors.html"} <= pages
    assert pages <= set(found)
    assert {f"template reports/{p.name}" for p in REPORT_TEMPLATES.glob("*.j2")} == {
        "template reports/decision_pack.html.j2"
    }
    assert "template reports/decision_pack.html.j2" in found
    # the score forms' own words and the form server's messages (e.g. an expired link)
    assert {"form shortlisting", "form interview"} <= set(found)
    assert "form page message 'This link has expired'" in found
    assert "form page message 'This link does not work'" in found
    # the measures are real: the form start page's long sentence is named in the report
    start = found["template forms/start.html"]
    assert start.words > 20 and start.reading_ease > 0
    text = res.report.read_text() if res.report else ""
    for where in ("template forms/start.html", "template reports/decision_pack.html.j2"):
        assert f"{where}: reading ease" in text
    # jargon on a form page is caught: the team's list applied to the page text
    jargon = check_text(
        "page", template_text((FORM_PAGES / "_words.html").read_text()), ["come back"]
    )
    assert jargon.jargon == ["come back"] and not jargon.ok
    # nothing in the templates leaks into the text checked: no tags, no jinja
    pack = template_text((REPORT_TEMPLATES / "decision_pack.html.j2").read_text())
    assert "{{" not in pack and "<td" not in pack and "How each reviewer scores" in pack


def test_cli_reports_and_exits_zero(ctx: Context, config_dir: Path) -> None:
    out = CliRunner().invoke(main, ["--config", str(config_dir), "questions", "plain", "--all"])
    assert out.exit_code == 0, out.output
    assert "question q1: reading ease" in out.output and "texts checked" in out.output
