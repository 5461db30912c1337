"""Co-production commands: questions, scoresheets, involvement, evidence, feedback.

They live in one module (imported by ``automations.cli._register``) and are thin
wrappers: every command calls a job function and prints its outcome.
"""

from __future__ import annotations

import click

from . import State, friendly, main, pass_state


def _attention(items: list[str]) -> None:
    for a in items:
        click.secho(f"Please look at: {a}", fg="yellow")


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [x.strip() for x in value.split(",") if x.strip()]


# ----------------------------------------------------------------- score sheets


@main.group()
def scoresheets() -> None:
    """Printable score sheets, and paper scores typed back in."""


@scoresheets.command("print")
@click.option(
    "--stage",
    type=click.Choice(["interview", "shortlisting"]),
    default="interview",
    show_default=True,
)
@click.option("--people", "people", help="Only these person ids, e.g. p03,p05.")
@click.option("--letters", help="Only these candidate letters, e.g. A,B.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["standard", "large print", "easy read"]),
    default=None,
    help="Override each person's preferred format from the people tab.",
)
@click.option("--pdf", is_flag=True, help="Also print PDFs with chromium.")
@pass_state
@friendly
def print_sheets(
    state: State, stage: str, people: str | None, letters: str | None, fmt: str | None, pdf: bool
) -> None:
    """Write each panel member's score sheets: a page for each candidate letter."""
    from ..jobs.scoresheets import scoresheets_job

    res = scoresheets_job(
        state.context(),
        stage,  # type: ignore[arg-type]
        people=_split(people),
        letters=_split(letters),
        fmt=fmt,  # type: ignore[arg-type]
        pdf=pdf,
    )
    for f in res.files:
        click.echo(f"  {f}")
    click.echo(res.summary())
    _attention(res.attention)


@scoresheets.command("enter")
@pass_state
@friendly
def enter_paper(state: State) -> None:
    """Check the 'Paper scores' tab and copy new or corrected scores to Raw scores."""
    from ..jobs.scoresheets import enter_paper_job

    res = enter_paper_job(state.context())
    click.echo(res.summary())
    _attention(res.attention)


@scoresheets.command("post")
@pass_state
@friendly
def post_sheets(state: State) -> None:
    """Papers by post for panel members the panel workbook could not be shared with.

    Run after 'corecruit init' has shared the workbooks, and again whenever the panel's
    papers change (a late candidate): each person gets one letter per version.
    """
    from ..papers import post_papers

    res = post_papers(state.context())
    click.echo(res.summary())
    _attention(res.attention)


# -------------------------------------------------------------------- questions


@main.group()
def questions() -> None:
    """Interview questions shaped together: propose, collect views, agree, send to candidates."""


def _show(res: object) -> None:
    for f in getattr(res, "files", []):
        click.echo(f"  {f}")
    for line in getattr(res, "lines", []):
        click.echo(f"  {line}")
    click.echo(res.summary())  # type: ignore[attr-defined]
    _attention(res.attention)  # type: ignore[attr-defined]


@questions.command("propose")
@click.option("--no-forms", is_flag=True, help="Only draft the questions; send no forms.")
@pass_state
@friendly
def q_propose(state: State, no_forms: bool) -> None:
    """Draft questions from the job criteria (one per panel member, every criterion
    covered) and send each co-production advisor their own form, once."""
    from ..jobs.questions import propose_job

    _show(propose_job(state.context(), forms=not no_forms))


@questions.command("collect")
@pass_state
@friendly
def q_collect(state: State) -> None:
    """Line up the advisors' views beside each draft, for the pre-meeting."""
    from ..jobs.questions import collect_job

    _show(collect_job(state.context()))


@questions.command("agree")
@click.option("--force", is_flag=True, help="Change the questions even after interview scores.")
@pass_state
@friendly
def q_agree(state: State, force: bool) -> None:
    """Write the agreed questions (from the Question drafts tab) to the campaign and panel."""
    from ..jobs.questions import agree_job

    _show(agree_job(state.context(), force=force))


@questions.command("send-pack")
@click.option("--dry-run", is_flag=True, help="Show who would get the pack, without sending.")
@pass_state
@friendly
def q_send_pack(state: State, dry_run: bool) -> None:
    """Send invited candidates the questions, what to expect and who is on the panel (once)."""
    from ..jobs.questions import send_pack_job

    _show(send_pack_job(state.context(), dry_run=dry_run))


@questions.command("plain")
@click.option("--all", "show_all", is_flag=True, help="Show every text, not only those to look at.")
@pass_state
@friendly
def q_plain(state: State, show_all: bool) -> None:
    """Plain-language report on every question and template a person reads (never enforced)."""
    from ..jobs.plain import plain_job

    res = plain_job(state.context())
    for f in res.findings:
        if show_all or not f.ok:
            for line in f.lines():
                click.echo(line)
    click.echo(res.summary())
    _attention(res.attention)


# ------------------------------------------------------- involvement and evidence


@main.group()
def involvement() -> None:
    """Who is involved in which stage (expressions of interest, the panel's make-up)."""


@involvement.command("invite")
@click.option("--no-email", is_flag=True, help="Make the forms and links, but send nothing.")
@pass_state
@friendly
def inv_invite(state: State, no_email: bool) -> None:
    """Send people with lived experience the expression-of-interest form (once each)."""
    from ..coprod_forms import push_forms

    _show(push_forms(state.context(), "interest", send=not no_email))


@involvement.command("update")
@pass_state
@friendly
def inv_update(state: State) -> None:
    """Copy expressions of interest to people, rebuild the Involvement tab, check the make-up."""
    from ..jobs.involvement import involvement_job

    _show(involvement_job(state.context()))


@main.command()
@pass_state
@friendly
def evidence(state: State) -> None:
    """Check the Extra evidence tab and set it beside each candidate's score."""
    from ..jobs.involvement import evidence_job

    _show(evidence_job(state.context()))


# --------------------------------------------------------------------- feedback


@main.group()
def feedback() -> None:
    """Feedback from everyone involved: how it felt, what to change."""


@feedback.command("invite")
@click.option("--no-email", is_flag=True, help="Make the forms and links, but send nothing.")
@pass_state
@friendly
def fb_invite(state: State, no_email: bool) -> None:
    """Send everyone involved their own feedback form (once each). The check-in
    invitation links to it too."""
    from ..coprod_forms import push_forms

    _show(push_forms(state.context(), "feedback", send=not no_email))


@feedback.command("summary")
@pass_state
@friendly
def fb_summary(state: State) -> None:
    """Summarise the Feedback tab for the campaign (a page to read at the feedback meeting)."""
    from ..jobs.feedback import summary_job

    _show(summary_job(state.context()))
