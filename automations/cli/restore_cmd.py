"""``corecruit restore``: rebuild a workbook that is gone from corecruit's record (the ledger)."""

from __future__ import annotations

import click

from . import State, friendly, main, pass_state


@main.command()
@click.option(
    "--workbook",
    type=click.Choice(["staff", "panel"]),
    default=None,
    help="Only this workbook (default: every workbook that is gone).",
)
@pass_state
@friendly
def restore(state: State, workbook: str | None) -> None:
    """Rebuild a deleted or lost workbook from the latest generation corecruit recorded."""
    ctx = state.context()
    done = 0
    for store in (ctx.stores.staff, ctx.stores.panel):
        if workbook and store.spec.name != workbook:
            continue
        if workbook is None and store.exists():
            continue
        rep = store.restore()
        done += 1
        click.echo(
            f"The {store.spec.name} workbook was rebuilt from corecruit's record: {rep.location}"
        )
    if not done:
        click.echo("Both workbooks are there; nothing needed restoring.")
