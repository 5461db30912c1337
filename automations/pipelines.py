"""The few runs that chain jobs, in one place: the runner (and the CLI) point here.

Jobs never import other jobs; when one scheduled run is several jobs in a row, it is
written here, once:

* ``remind``: the reminders, then the rules sent by their own path (the rewards
  statement after the campaign, built from the ledger; the expense claim form's
  link), planned from one read and sent together under the reminders' lock, through
  the one sender (which holds the messages lock whichever job sends);
* ``rewards``: bring in the expense claim forms, then bring the ledger up to date;
* ``coprod``: bring in every co-production form's answers (feedback, advisors' views
  of the draft questions, expressions of interest), then rebuild the Involvement tab.
"""

from __future__ import annotations

from .context import Context
from .jobs import JobResult
from .jobs.expense_forms import claim_links_rule
from .jobs.expense_forms import collect as collect_claim_forms
from .jobs.feedback import summary_job
from .jobs.involvement import involvement_job
from .jobs.questions import collect_job as collect_views_job
from .jobs.remind import Reminders, RemindResult
from .jobs.rewards import accrue_job, statements_rule
from .locks import job_lock
from .sending import send_together
from .transforms import questions as tq


def _add(res: JobResult, part: JobResult) -> None:
    """Counts of a step into the run's result."""
    res.rows_read += part.rows_read
    res.rows_written += part.rows_written
    res.api_calls += part.api_calls
    res.attention.extend(part.attention)


def remind_job(ctx: Context, dry_run: bool = False) -> RemindResult:
    """Send what is due today under the campaign's reminder rules; never anything twice.

    The reminders, the rewards statement and the claim form link (when their rules are
    due) are planned from one read of the workbook and sent together under the
    reminders' lock: one write of the intentions, one of the outcomes.
    """
    with job_lock(ctx, "remind"):
        reminders = Reminders(ctx, dry_run=dry_run)
        statements = statements_rule(ctx, dry_run=dry_run)
        links = claim_links_rule(ctx, dry_run=dry_run)
        parts = [reminders.part]
        parts += [x.part for x in (statements, links) if x is not None]
        sent = iter(send_together(ctx, parts, dry_run=dry_run))
        res = reminders.finish(next(sent))
        if statements is not None:
            due = statements.finish(next(sent))
            res.planned.extend(due.planned)
            res.messages_sent += due.messages_sent
            _add(res, due)
            if not dry_run and (due.messages_sent or due.attention):
                res.detail += f"; rewards statements: {due.detail}"
        got = links.finish(next(sent)) if links is not None else None
        if got is not None:
            res.planned.extend(got.planned)
            res.messages_sent += got.messages_sent
            _add(res, got)
            if not dry_run and got.messages_sent:
                res.detail += f"; expense forms: {got.detail}"
    return res


def rewards_job(ctx: Context) -> JobResult:
    """The nightly rewards run: bring in expense forms, then bring the ledger up to date."""
    first = collect_claim_forms(ctx)
    ctx.stores.staff.forget()
    res = accrue_job(ctx)
    res.api_calls += first.api_calls
    res.rows_read += first.rows_read
    res.rows_written += first.rows_written
    res.attention = first.attention + res.attention
    res.detail = f"expense forms: {first.detail} Ledger: {res.detail}"
    return res


def coprod_job(ctx: Context) -> JobResult:
    """The scheduled co-production run: bring in every co-production form's answers.

    Expressions of interest go to the people tab and the Involvement tab is rebuilt;
    advisors' views are lined up beside the draft questions (once there are drafts);
    feedback is summarised. Sending forms stays a staff decision (``involvement
    invite``, ``questions propose``, ``feedback invite``), never automatic.
    """
    res = JobResult(job="coprod")
    parts: list[JobResult] = [summary_job(ctx)]
    staff = ctx.stores.staff
    staff.forget()
    if len(staff.read_one(tq.DRAFTS, errors="collect")):
        parts.append(collect_views_job(ctx))
    parts.append(involvement_job(ctx))  # last: it records what the others brought in
    for p in parts:
        _add(res, p)
    res.detail = "; ".join(f"{p.job}: {p.detail}" for p in parts)
    return res


__all__ = ["coprod_job", "remind_job", "rewards_job"]
