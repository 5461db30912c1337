"""``corecruit run`` (the main job) and ``corecruit status``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from .. import runner as runner_mod
from ..context import make_context
from ..files import private_dir, private_fd
from ..runner import Runner, RunRecord, available_jobs
from ..status import STATUS
from ..status import current as current_status
from ..transforms.status import status_lines
from . import State, friendly, main, pass_state

log = logging.getLogger("corecruit")


def _json_logs(log_file: Path | None) -> None:
    """Structured logs (key=value lines) to stderr or a file; they never hold personal data."""
    if log_file:  # made owner-only before the handler opens it
        private_dir(log_file.parent)
        os.close(private_fd(log_file, os.O_WRONLY))
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("time=%(asctime)s level=%(levelname)s %(message)s"))
    root = logging.getLogger("corecruit")
    for old in root.handlers:
        old.close()  # a log file from an earlier run in this process
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def _first_run(state: State, example: bool) -> None:
    """Create or update every campaign's workbooks before the jobs run.

    ``init`` only adds what is missing (workbooks, columns a newer version of corecruit
    uses) and never clears data, so running it at each start means an upgrade never
    stops a job with "column is missing". It adds no tab to a workbook that exists: a
    renamed or deleted tab must never be read as an empty one, so the jobs that need it
    fail and say which tab to restore (see :meth:`TableStore.init`).
    """
    from ..workspace import init_campaign

    for cid in state.settings.campaigns:
        ctx = make_context(state.settings, cid, **state.store_kw)
        res = init_campaign(ctx, example=example, add_tabs=False)
        for note in [*ctx.stores.staff.notices, *ctx.stores.panel.notices]:
            click.secho(f"Please note: {note}", fg="yellow")  # e.g. a header renamed
        for rep in (res.staff, res.panel):
            for said in [m for ms in rep.columns_missing.values() for m in ms]:
                log.warning("campaign=%s column_missing", cid)
                click.secho(f"Warning: {cid}: {said}", fg="yellow", err=True)
            for tab in rep.tabs_missing:
                if tab == STATUS:  # job-owned, nothing typed: added at the end of the run
                    continue
                spec = (ctx.stores.staff if rep is res.staff else ctx.stores.panel).tab(tab)
                log.warning("campaign=%s tab_missing=%s", cid, tab)
                click.secho(
                    f"Warning: {cid}: the tab '{spec.label}' is missing from the "
                    f"{spec.workbook} workbook. The jobs that need it will stop until it is "
                    "back (rename it back, or restore it from a backup).",
                    fg="yellow",
                    err=True,
                )


@main.command()
@click.argument("jobs", nargs=-1)
@click.option("--once", is_flag=True, help="Run the jobs once and exit (for cron or systemd).")
@click.option("--example", is_flag=True, help="Load the invented example data first.")
@click.option("--no-forms-server", is_flag=True, help="Don't start the local form server.")
@click.option(
    "--forms-host",
    default=None,
    envvar="CORECRUIT_FORMS_HOST",
    help="Address the form server listens on (default: forms.host; 0.0.0.0 in a container).",
)
@click.option(
    "--log-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the structured log here instead of to stderr.",
)
@pass_state
@friendly
def run(
    state: State,
    jobs: tuple[str, ...],
    once: bool,
    example: bool,
    no_forms_server: bool,
    forms_host: str | None,
    log_file: Path | None,
) -> None:
    """Run every job of every campaign on its timing (or once, with --once)."""
    _json_logs(log_file)
    settings = state.settings
    for j in jobs:
        if j not in runner_mod.JOBS:  # looked up when used: one list of jobs, the runner's
            raise click.BadParameter(f"no job called '{j}'. Jobs: {', '.join(runner_mod.JOBS)}")
    _first_run(state, example)
    runner = Runner(settings)
    click.get_current_context().with_resource(runner.signal_handlers())  # restored after
    if example:
        _example_reviewed(state, runner)
    if once:
        names = list(jobs) or available_jobs()
        records = _run_once(runner, names)
        failed = [r for r in records if r.outcome == "failed"]
        for r in records:
            mark = {"ok": "✓", "failed": "✗", "skipped": "–"}[r.outcome]
            line = f"{mark} {r.campaign} {r.job}: {r.outcome}"
            if r.unchanged:
                line += f" ({r.detail})"
            elif r.outcome == "ok":
                line += f" ({r.rows_read} read, {r.rows_written} written, {r.messages_sent} sent)"
            else:
                line += f". {r.detail}"
            click.echo(line)
            for note in r.notes:  # a stale copy or deleted rows put right, in words
                click.secho(f"  Please note: {note}", fg="yellow")
        done = {(r.campaign, r.job) for r in records}
        missed = [f"{c} {n}" for c in settings.campaigns for n in names if (c, n) not in done]
        if missed:  # stopped (SIGTERM or Ctrl+C) before every job had its turn
            click.secho(
                f"Stopped before these job(s) ran: {', '.join(missed)}. "
                "Run 'corecruit run --once' again to run them.",
                fg="red",
                err=True,
            )
            sys.exit(1)
        sys.exit(1 if failed else 0)

    server = None
    if settings.org.forms.backend == "local" and not no_forms_server:
        from ..forms.local import exposed_host_note, start_server_thread

        server = start_server_thread(settings, host=forms_host, settle=True)
        if note := exposed_host_note(forms_host or settings.org.forms.host):
            click.secho(f"Please note: {note}", fg="yellow")
    click.echo(f"Workspace: {settings.workspace}")
    for cid in settings.campaigns:
        click.echo(f"  {cid}: {settings.workspace / cid}")
    if settings.org.mail.transport == "outbox":
        click.echo(f"Outbox (emails as .eml files): {settings.path(settings.org.mail.outbox)}")
    if server is not None:
        click.echo(f"Form server: {server.url}")
    sched = runner.build_scheduler(jobs or None)
    click.echo("Running every job once now, then on its timing. Stop with Ctrl+C.")
    runner.run_once(jobs or None)
    if example:  # a live link is a key to someone's form: never in a real service's log
        _print_links(state)
    try:
        runner.loop(sched)
    finally:
        if server is not None:
            server.stop()
    click.echo("Stopped.")


def _example_reviewed(state: State, runner: Runner) -> None:
    """The example's invented applications count as checked (the review gate), so the
    demo shows a working form link; real applications wait for staff to check them."""
    from ..review import mark_example_reviewed

    for cid in state.settings.campaigns:
        runner.run_job(cid, "redact")  # letters and the redaction report to mark
        mark_example_reviewed(make_context(state.settings, cid, **state.store_kw))


def _run_once(runner: Runner, names: list[str]) -> list[RunRecord]:
    """Run each job once; a progress bar when a person is watching, silence otherwise."""
    pairs = [(cid, n) for cid in runner.settings.campaigns for n in names]
    if not sys.stderr.isatty():
        return runner.run_once(names)
    out: list[RunRecord] = []
    with (
        runner.batched_log(),
        click.progressbar(
            pairs,
            label="Running jobs",
            file=sys.stderr,
            item_show_func=lambda p: f"{p[0]} {p[1]}" if p else "",
        ) as bar,
    ):
        for cid, name in bar:
            if runner.stop_requested.is_set():
                break
            out.append(runner.run_job(cid, name))
    return out


def _print_links(state: State) -> None:
    """Show one panel member's form link so a new user can try the example straight away."""
    for cid in state.settings.campaigns:
        try:
            links = make_context(state.settings, cid).stores.staff.read_one(
                "form_links", errors="collect"
            )
        except Exception:
            return
        if len(links):
            row = links.iloc[0]
            click.echo(f"Try a form: {row['url']}  ({cid}, {row['person_id']}, {row['stage']})")
            return


@main.command()
@pass_state
@friendly
def status(state: State) -> None:
    """What needs a person now, what happens next, and each job's last and next run.

    The same rows as the Status tab (the first tab of the staff workbook), worked out
    now from the same records, for every campaign (or the one --campaign names).
    """
    settings = state.settings
    runner = Runner(settings)
    ids = [state.campaign_id] if state.campaign_id else list(settings.campaigns)
    for i, cid in enumerate(ids):
        ctx = make_context(settings, cid, clock=runner.clock, **state.store_kw)
        if i:
            click.echo("")
        click.echo(f"{ctx.campaign.campaign.title} ({cid})")
        for line in status_lines(current_status(ctx, runner.job_runs(cid))):
            click.echo(line)
