"""``corecruit rewards``: accrue the ledger, send statements and estimates, export for finance."""

from __future__ import annotations

from pathlib import Path

import click

from ..jobs import JobResult
from . import State, friendly, main, pass_state


def _report(res: JobResult) -> None:
    click.echo(res.detail or res.summary())
    for a in res.attention:
        click.secho(f"Please look at: {a}", fg="yellow")


@main.group(invoke_without_command=True)
@click.pass_context
def rewards(cctx: click.Context) -> None:
    """Bring the rewards ledger up to date (safe to run again at any time).

    The ledger pays people with lived experience for confirmed attendance, completed
    shortlisting score forms and expense claims, under the reward policy in
    organisation.toml. Lines are never edited or deleted: corrections are new lines.
    """
    if cctx.invoked_subcommand is None:
        cctx.invoke(accrue)


@rewards.command()
@pass_state
@friendly
def accrue(state: State) -> None:
    """Bring the rewards ledger up to date (what 'corecruit rewards' does on its own)."""
    from ..jobs.rewards import accrue_job

    _report(state.by_hand("rewards", accrue_job))


@rewards.command()
@click.argument("person", required=False)
@click.option("--all", "all_people", is_flag=True, help="Everyone with lines in the ledger.")
@pass_state
@friendly
def statement(state: State, person: str | None, all_people: bool) -> None:
    """Send PERSON (a person ID such as p03), or --all, their statement, in their format.

    Each statement is sent once; it is sent again only when something on it changed.
    People without an email address are listed so staff can contact them another way.
    """
    from ..jobs.rewards import statement as send_statements

    if bool(person) == all_people:
        raise click.UsageError("give one person ID, or --all")
    _report(send_statements(state.context(), person, all_people=all_people))


@rewards.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the CSV (default: workspace/<campaign>/exports/finance-<batch>.csv).",
)
@pass_state
@friendly
def export(state: State, out: Path | None) -> None:
    """Write approved, unexported payment lines to a finance CSV with totals, once."""
    from ..jobs.rewards import export_job

    _report(export_job(state.context(), out))


@rewards.command()
@pass_state
@friendly
def estimate(state: State) -> None:
    """Tell each invited person what they will be paid for the planned activities."""
    from ..jobs.rewards import estimate_job

    _report(estimate_job(state.context()))


@rewards.group()
def claims() -> None:
    """The expense claim form for people with lived experience (send links, collect claims)."""


@claims.command("send")
@click.option("--dry-run", is_flag=True, help="Show who would get a link, without sending.")
@pass_state
@friendly
def claims_send(state: State, dry_run: bool) -> None:
    """Send each person with lived experience on the panel their own expense form, once."""
    from ..jobs.expense_forms import send_links

    res = send_links(state.context(), dry_run=dry_run)
    for line in res.planned:
        click.echo(f"  {line}")
    _report(res)


@claims.command("collect")
@pass_state
@friendly
def claims_collect(state: State) -> None:
    """Copy the expenses people sent on their forms into 'Expense claims' (safe to rerun)."""
    from ..jobs.expense_forms import collect

    _report(collect(state.context()))
