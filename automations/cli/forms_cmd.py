"""``corecruit forms push|collect|serve``: each panel member's own score forms."""

from __future__ import annotations

import click

from . import State, friendly, main, pass_state


@main.group()
def forms() -> None:
    """Score forms: make them and send links (push), bring scores in (collect), serve them."""


@forms.command()
@click.option("--no-email", is_flag=True, help="Make the forms and write the links, send nothing.")
@pass_state
@friendly
def push(state: State, no_email: bool) -> None:
    """Make each panel member's own forms, write the links, and email each person theirs."""
    from ..forms.local import link_warnings
    from ..jobs.forms import push_job

    for line in link_warnings(state.settings):
        click.secho(f"Warning: {line}", fg="yellow")
    res = state.by_hand("forms_push", lambda c: push_job(c, send=not no_email))
    click.echo(res.summary())
    for line in res.attention:
        click.secho(f"Please look: {line}", fg="yellow")


@forms.command()
@pass_state
@friendly
def collect(state: State) -> None:
    """Bring new responses into the raw scores tab (and anything unusable into exceptions)."""
    from ..jobs.forms import collect_job

    res = state.by_hand("forms_collect", collect_job)
    click.echo(res.summary())
    for line in res.attention:
        click.secho(f"Please look: {line}", fg="yellow")


@forms.command()
@click.option(
    "--host",
    default=None,
    help="Address to listen on (default: forms.host). 0.0.0.0: every address, behind HTTPS.",
)
@click.option("--port", default=None, type=int, help="Port (default: forms.port).")
@pass_state
@friendly
def serve(state: State, host: str | None, port: int | None) -> None:
    """Serve the local score forms until stopped (Ctrl+C)."""
    from ..forms.local import base_url, exposed_host_note
    from ..forms.local import serve as run_server

    settings = state.settings
    if settings.org.forms.backend != "local":
        click.echo("forms.backend is 'google': Google serves the forms, nothing to run here.")
        return
    note = exposed_host_note(host or settings.org.forms.host)
    if note:
        click.secho(f"Please note: {note}", fg="yellow")
    click.echo(f"Serving score forms. People's links start with {base_url(settings)}/f/")
    run_server(settings, host, port)
