"""``corecruit merge``: merge the panels' scores; ``corecruit merge pack``: the decision pack."""

from __future__ import annotations

from pathlib import Path

import click

from . import State, friendly, main, pass_state


@main.group(invoke_without_command=True)
@click.option("--dry-run", is_flag=True, help="Work everything out and say what would change.")
@click.option(
    "--staff-pack",
    "pack_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="After merging, also write the staff decision pack (with names) to this file.",
)
@click.pass_context
def merge(cctx: click.Context, dry_run: bool, pack_out: Path | None) -> None:
    """Merge the panels' scores into the Results tab, each panel carrying equal weight.

    Safe to run again at any time. Scores that cannot be used are listed on the
    'Needs attention' tab. Shortlisting results go to the panel workbook (letters only)
    once everyone has sent in their scores, or staff release them.
    """
    if cctx.invoked_subcommand is not None:
        return
    state = cctx.find_object(State)
    assert state is not None
    _run(state, dry_run, pack_out)


@friendly
def _run(state: State, dry_run: bool, pack_out: Path | None) -> None:
    from ..jobs.merge import merge_job

    ctx = state.context()
    res = state.by_hand("merge", lambda c: merge_job(c, dry_run=dry_run), log=not dry_run)
    click.echo(res.detail or res.summary())
    for a in res.attention:
        click.secho(f"Please look at: {a}", fg="yellow")
    if pack_out is not None:
        from ..reports.decision_pack import write_pack

        click.echo(f"Decision pack written: {write_pack(ctx, 'staff', pack_out)}")


@merge.command()
@click.option(
    "--panel/--staff",
    "panel_version",
    default=True,
    help="--panel (the default): candidate letters only, no names, no one's own scores. "
    "--staff: names and how each reviewer scores; keep it with staff.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write it (default: the campaign's workspace folder).",
)
@pass_state
@friendly
def pack(state: State, panel_version: bool, out: Path | None) -> None:
    """Write the decision pack (HTML, printable) for the panels' meeting.

    By default the version for the panels' meeting: candidate letters only. The staff
    version (--staff) names candidates and shows how each reviewer scores; keep it
    with staff.
    """
    from ..reports.decision_pack import write_pack

    path = write_pack(state.context(), "panel" if panel_version else "staff", out)
    click.echo(f"Decision pack written: {path}")
