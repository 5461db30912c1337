"""``corecruit remind`` and ``corecruit timetable``: thin wrappers around the jobs."""

from __future__ import annotations

import sys

import click

from . import State, friendly, main, pass_state


def _attention(items: list[str]) -> None:
    for a in items:
        click.secho(f"Please look at: {a}", fg="yellow")


@main.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would go out today and to whom (ids and roles), without sending.",
)
@pass_state
@friendly
def remind(state: State, dry_run: bool) -> None:
    """Send the reminders and letters due today, each exactly once."""
    from ..pipelines import remind_job

    res = state.by_hand("remind", lambda c: remind_job(c, dry_run=dry_run), log=not dry_run)
    if dry_run:
        if res.planned:
            click.echo("Would send:")
            for line in res.planned:
                click.echo(f"  {line}")
        else:
            click.echo("Nothing is due today.")
    for w in res.waiting:
        click.echo(f"Waiting: {w}")
    click.echo(res.summary())
    _attention(res.attention)


@main.command()
@pass_state
@friendly
def timetable(state: State) -> None:
    """Build the interview timetable from the invited candidates (panel: letters; staff: names)."""
    from ..jobs.timetable import NoTimetable, timetable_job

    try:
        res = state.by_hand("timetable", timetable_job)
    except NoTimetable as exc:
        click.secho("No timetable fits:", fg="red", err=True)
        for reason in exc.reasons:
            click.echo(f"  - {reason}", err=True)
        sys.exit(exc.exit_code)
    click.echo(res.summary())
    _attention(res.attention)
