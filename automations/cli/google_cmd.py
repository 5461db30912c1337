"""``corecruit google``: sign in, sign out and check the connection to Google.

Thin wrappers over :mod:`automations.google.account` (imported by ``_register``).
"""

from __future__ import annotations

import sys

import click

from . import State, friendly, main, pass_state


@main.group()
def google() -> None:
    """Connect corecruit to Google (see 'Connecting to Google' in the README)."""


@google.command()
@click.option(
    "--no-browser",
    is_flag=True,
    help="Print the sign-in page's address instead of opening a browser.",
)
@pass_state
@friendly
def login(state: State, no_browser: bool) -> None:
    """Sign in with a person's Google account ([google] account = "person")."""
    from ..google.account import login as do_login

    do_login(
        state.settings,
        open_browser=not no_browser,
        transport=State.store_kw.get("transport"),
        echo=click.echo,
    )


@google.command()
@pass_state
@friendly
def logout(state: State) -> None:
    """Cancel the kept sign-in at Google and delete it from this computer."""
    from ..google.account import logout as do_logout

    if do_logout(state.settings, transport=State.store_kw.get("transport")):
        click.echo("Signed out: the sign-in was cancelled at Google and deleted here.")
    else:
        click.echo("Nobody was signed in on this computer.")


@google.command("check")
@pass_state
@friendly
def check_cmd(state: State) -> None:
    """Say which Google set-up is configured, and whether it works."""
    from ..google.account import check_google, describe

    click.echo(f"Google: corecruit uses {describe(state.settings)}.")
    problems = check_google(
        state.settings,
        transport=State.store_kw.get("transport"),
        credentials=State.store_kw.get("credentials"),
    )
    for p in problems:
        click.secho(f"Problem: {p}", fg="red")
    if problems:
        sys.exit(4)
    click.echo("All good: Google answers, and corecruit may do what it needs.")
