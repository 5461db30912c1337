"""The ``corecruit`` command: parse options, call the library, print the outcome.

Exit codes:
  0  done
  1  a job could not finish (the message says why; nothing half-written)
  2  configuration problem (file and key named)
  3  workbook problem (workbook, tab, row and column named)
  4  ``check`` found problems
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

from ..config import Settings, load_settings
from ..context import Context, make_context
from ..errors import CorecruitError

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class State:
    # Extra arguments for the stores (tests hand in the Google emulator's transport here).
    store_kw: ClassVar[dict[str, Any]] = {}

    def __init__(self, config_dir: Path, verbose: int, campaign: str | None) -> None:
        self.config_dir = config_dir
        self.verbose = verbose
        self.campaign_id = campaign
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_dir)
        return self._settings

    def context(self) -> Context:
        return make_context(self.settings, self.campaign_id, **self.store_kw)

    def by_hand(self, job: str, call: Callable[[Context], R], *, log: bool = True) -> R:
        """Run ``job`` for a person at the command line; it leaves a Run log row like the runner.

        ``log=False`` (a dry run) changes nothing, so it leaves no row either.
        """
        ctx = self.context()
        if not log:
            return call(ctx)
        from ..runner import Runner

        return Runner(self.settings).by_hand(ctx, job, lambda: call(ctx))


pass_state = click.make_pass_decorator(State)


def friendly(fn: F) -> F:
    """Turn corecruit's own errors into a clear message and exit code, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CorecruitError as exc:
            click.secho(f"Problem: {exc}", fg="red", err=True)
            ctx = click.get_current_context(silent=True)
            state = ctx.find_object(State) if ctx else None
            if state and state.verbose:
                logging.getLogger("corecruit").exception("details")
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path),
    default="config",
    show_default=True,
    envvar="CORECRUIT_CONFIG",
    help="The config folder.",
)
@click.option(
    "--campaign",
    default=None,
    envvar="CORECRUIT_CAMPAIGN",
    help="Campaign id (needed when there is more than one).",
)
@click.option("-v", "--verbose", count=True, help="Say more (-vv for debugging detail).")
@click.version_option(package_name="corecruit")
@click.pass_context
def main(ctx: click.Context, config_dir: Path, campaign: str | None, verbose: int) -> None:
    """corecruit: co-produced recruitment on the spreadsheets and forms your team uses."""
    setup_logging(verbose)
    ctx.obj = State(config_dir, verbose, campaign)


@main.command()
@click.option(
    "--example", is_flag=True, help="Also load the invented sample people and applications."
)
@pass_state
@friendly
def init(state: State, example: bool) -> None:
    """Create the staff and panel workbooks from the templates (safe to run again)."""
    from ..starter import needs_starter, write_starter
    from ..workspace import init_campaign

    made = write_starter(state.config_dir) if needs_starter(state.config_dir) else []
    ctx = state.context()
    res = init_campaign(ctx, example=example)
    for name, rep in (("Staff", res.staff), ("Panel", res.panel)):
        what = "created" if rep.created_workbook else "checked"
        click.echo(f"{name} workbook {what}: {rep.location}")
        if rep.tabs_added and not rep.created_workbook:
            click.echo(f"  tabs added: {', '.join(rep.tabs_added)}")
        for tab, cols in rep.columns_added.items():
            click.echo(f"  columns added to {tab}: {', '.join(cols)}")
        for said in [m for ms in rep.columns_missing.values() for m in ms]:
            click.secho(f"  Not added: {said}", fg="yellow")
    for tab, n in res.loaded.items():
        if n:
            click.echo(f"Loaded {n} new row(s) into {tab}.")
    if state.settings.org.storage.backend == "google":
        from ..sharing import share_campaign

        click.echo(f"Sharing: {share_campaign(ctx).summary()}.")
        from ..papers import NOBODY, post_papers

        posted = post_papers(ctx)  # papers by post for whoever could not be shared with
        if posted.detail != NOBODY:
            click.echo(f"Papers by post: {posted.detail}.")
        for line in posted.attention:
            click.secho(f"Please look at: {line}", fg="yellow")
    if made:
        org = state.config_dir / "organisation.toml"
        camp = state.config_dir / "campaigns" / state.settings.campaign_files[ctx.campaign.id].name
        click.echo(
            f"\nA starter config is in {state.config_dir}: every setting is explained beside it."
            f"\nWhat to edit first:\n  1. {org}: your organisation's name, the team contact "
            "people are given, and how emails are sent."
            f"\n  2. {camp}: the job, the dates, the criteria and the interview questions."
            "\nThen run 'corecruit check': it says what still needs fixing."
        )


@main.command()
@pass_state
@friendly
def check(state: State) -> None:
    """Check config and every tab against its template; list each problem with where it is.

    Every campaign is checked unless --campaign names one.
    """
    from ..workspace import check_campaign

    ids = [state.campaign_id] if state.campaign_id else list(state.settings.campaigns)
    if not ids:
        state.context()  # says there is no campaign, and where to add one
    n_errors = n_warnings = 0
    for cid in ids:
        ctx = make_context(state.settings, cid, **state.store_kw)
        problems = check_campaign(ctx)
        from ..review import review_problems

        problems += review_problems(ctx)  # applications held from the panel until checked
        if state.settings.org.storage.backend == "google":
            from ..sharing import sharing_problems

            problems += sharing_problems(ctx)
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        if len(ids) > 1:
            click.echo(f"Campaign {cid}: {len(errors)} problem(s), {len(warnings)} warning(s).")
        for p in warnings:
            click.secho(f"Warning: {p}", fg="yellow")
        for p in errors:
            click.secho(f"Problem: {p}", fg="red")
        for note in [*ctx.stores.staff.notices, *ctx.stores.panel.notices]:
            click.secho(f"Please note: {note}", fg="yellow")  # what the record recognised
        n_errors += len(errors)
        n_warnings += len(warnings)
    from ..forms.local import link_warnings

    for line in link_warnings(state.settings):  # where emailed form links point
        click.secho(f"Warning: {line}", fg="yellow")
        n_warnings += 1
    if n_errors:
        click.echo(f"{n_errors} problem(s) and {n_warnings} warning(s).")
        sys.exit(4)
    what = f"all {len(ids)} campaigns" if len(ids) > 1 else "config"
    click.echo(f"All good: {what} and workbooks match the templates ({n_warnings} warning(s)).")


def _register() -> None:
    """Command groups that live in their own modules (one line each, to keep merges easy)."""
    import importlib

    for mod in (
        "automations.cli.redact_cmd",
        "automations.cli.forms_cmd",
        "automations.cli.merge_cmd",
        "automations.cli.rewards_cmd",
        "automations.cli.remind_cmd",
        "automations.cli.run_cmd",
        "automations.cli.questions_cmd",
        "automations.cli.google_cmd",
        "automations.cli.restore_cmd",
    ):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


_register()
