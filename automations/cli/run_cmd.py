"""``corecruit run`` (the main job) and ``corecruit status``."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path

import click
import pandas as pd

from .. import runner as runner_mod
from ..files import private_dir, private_fd
from ..runner import Runner, RunRecord, available_jobs, next_run
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
    from ..context import make_context
    from ..workspace import init_campaign

    for cid in state.settings.campaigns:
        ctx = make_context(state.settings, cid, **state.store_kw)
        res = init_campaign(ctx, example=example, add_tabs=False)
        for rep in (res.staff, res.panel):
            for tab in rep.tabs_missing:
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
            if r.outcome == "ok":
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

        server = start_server_thread(settings, host=forms_host)
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
    from ..context import make_context
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
    from ..context import make_context

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
    """Each job's last run, next run and outcome, and what needs a person's attention."""
    from ..context import make_context

    settings = state.settings
    runner = Runner(settings)
    now = runner.now().replace(tzinfo=None)
    rows = []
    for cid in settings.campaigns:
        for job in available_jobs():
            e = runner.state.data.get(f"{cid}/{job}", {})
            last = dt.datetime.fromisoformat(e["last_run"]) if e.get("last_run") else None
            if last is not None and last.tzinfo is not None:
                last = last.replace(tzinfo=None)
            n = next_run(getattr(settings.org.schedule, runner_mod.JOBS[job][1]), last)
            due = "at the next start" if n is None else f"{n:%Y-%m-%d %H:%M}"
            if n is not None and n <= now:
                due += " (due)"
            rows.append(
                (
                    cid,
                    job,
                    e.get("last_run", "never")[:16],
                    e.get("last_outcome", "-"),
                    due,
                    str(e.get("failures", 0)),
                )
            )
    head = ("campaign", "job", "last run", "outcome", "next run", "failures in a row")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))
    click.echo("")
    attention: list[str] = []
    for cid in settings.campaigns:
        for job in available_jobs():
            e = runner.state.data.get(f"{cid}/{job}", {})
            if e.get("last_outcome") == "failed":
                attention.append(f"{cid} {job}: {e.get('last_detail', '')}")
            attention.extend(f"{cid} {job}: {a}" for a in e.get("attention", []))
        try:
            ctx = make_context(settings, cid)
            tabs = ctx.stores.staff.read(
                ["exceptions", "results", "sent_messages", "form_links", "raw_scores"],
                errors="collect",
            )
        except Exception:
            continue
        from ..review import review_words

        if held := review_words(ctx):  # the review gate: what is held from the panel, and why
            attention.append(f"{cid}: {held}")
        exc = tabs["exceptions"]
        open_exc = exc[exc["resolved"].fillna(False).eq(False)] if len(exc) else exc
        if len(open_exc):
            attention.append(f"{cid}: {len(open_exc)} item(s) in 'Needs attention' to look at")
        flagged = tabs["results"][tabs["results"]["flags"].ne("")] if len(tabs["results"]) else []
        if len(flagged):
            attention.append(f"{cid}: {len(flagged)} result(s) have flags for the meeting")
        sent = tabs["sent_messages"]
        if len(sent):
            unconf = int(sent["status"].eq("intended").sum())
            # people, not messages: one person without email may have several letters
            other = sent.loc[sent["status"].eq("contact another way"), "person_id"].nunique()
            if unconf:
                attention.append(f"{cid}: {unconf} message(s) not yet confirmed as sent")
            if other:
                attention.append(f"{cid}: {other} person(s) to contact another way (no email)")
        waits = _shortlisting_waits(tabs["form_links"], tabs["raw_scores"])
        if waits:
            attention.append(f"{cid}: the shortlisting results wait for {waits}")
    if attention:
        click.echo("Needs a person's attention:")
        for a in attention:
            click.echo(f"  - {a}")
    else:
        click.echo("Nothing needs attention.")


def _shortlisting_waits(form_links: pd.DataFrame, raw_scores: pd.DataFrame) -> str:
    """Who the shortlisting results still wait for, and for which candidates (ids only)."""
    from ..transforms.late import waiting_for

    forms: dict[str, list[str]] = {}
    for _, r in form_links.iterrows():
        if str(r.get("stage")) == "shortlisting" and str(r.get("person_id") or ""):
            order = [x.strip() for x in str(r.get("candidate_order") or "").split(",")]
            forms[str(r["person_id"])] = [x for x in order if x]
    waits = waiting_for(forms, raw_scores)
    parts = []
    for pid, letters in sorted(waits.items()):
        if len(letters) == len(forms[pid]):
            parts.append(f"{pid} (not sent yet)")
        else:
            parts.append(f"{pid} (Candidate {', '.join(letters)})")
    return "; ".join(parts)
