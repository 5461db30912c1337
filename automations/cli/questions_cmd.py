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
