"""The runner: every job of every campaign on its timing, safely, on one explicit Scheduler.

Why it is shaped this way:

* The CLI and the scheduler call the same job functions (listed in :data:`JOBS`).
* One lock per campaign and job (:mod:`automations.locks`, ``flock`` on a file in the
  workspace), so two runners never run the same job at once. The kernel drops the
  lock when a process dies, so a lock left by a dead process is never stale.
* A job failing never stops the others. Failures are counted per campaign and job
  in a small state file; after ``schedule.failure_report_after`` in a row the admin
  is emailed once (not every tick), and a success resets the count.
* SIGTERM or SIGINT asks the loop to stop: the job in progress runs to the end
  (each job writes in one atomic batch at its end), and no new job starts.

Surprising behaviour of ``schedule`` worth knowing (documented in its FAQ): jobs
run only when ``run_pending`` is called, so a long job delays the others; a job
that overran its interval runs once, not once per missed interval.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import importlib.util
import json
import logging
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import schedule

from . import fingerprint
from .config import Settings
from .context import Context, make_context
from .errors import CorecruitError, JobError
from .files import write_private
from .fingerprint import Inputs, panel, staff
from .jobs import JobResult
from .locks import held
from .status import publish
from .transforms.status import JobRun

log = logging.getLogger("corecruit.runner")


class Job(NamedTuple):
    """One scheduled job: its function, its timing setting and what it reads.

    ``reads`` is what a scheduled run may skip on (see :mod:`automations.fingerprint`):
    every tab the job reads, and what else it depends on. ``None``: never skipped.
    """

    target: str  # "module:function"
    setting: str  # the [schedule] setting that times it
    reads: Inputs | None = None


# Order is the order of a full run. Runs that chain jobs (remind, rewards, coprod) are
# in automations.pipelines; their reads are the union of their steps'.
JOBS: dict[str, Job] = {
    "redact": Job(
        "automations.jobs.redact:redact_job",
        "redact",
        Inputs(
            staff(
                "applications",
                "candidate_key",
                "redaction_report",
                "form_links",
                "sent_messages",
                "raw_scores",
            )
            + panel("applications")
        ),
    ),
    "forms_push": Job(
        "automations.jobs.forms:push_job",
        "forms_push",
        Inputs(
            staff(
                "people",
                "applications",
                "candidate_key",
                "timetable",
                "form_links",
                "sent_messages",
                "dates",
                "redaction_report",
                "raw_scores",
            )
            + panel("applications"),
            dated=True,  # links go out from the day shortlisting opens; renewed by the day
            form_backend=True,
            sends=True,
        ),
    ),
    "forms_collect": Job(
        "automations.jobs.forms:collect_job",
        "forms_collect",
        Inputs(
            staff(
                "people",
                "applications",
                "candidate_key",
                "timetable",
                "form_links",
                "raw_scores",
                "exceptions",
                "redaction_report",
            )
            + panel("applications"),
            form_answers=True,
        ),
    ),
    "merge": Job(
        "automations.jobs.merge:merge_job",
        "merge",
        Inputs(
            staff("raw_scores", "people", "candidate_key", "results", "reviewers", "exceptions")
            + panel("shortlisting_results")
        ),
    ),
    "rewards": Job(  # forms, then ledger
        "automations.pipelines:rewards_job",
        "rewards",
        Inputs(
            staff(
                "people",
                "form_links",
                "expense_claims",
                "exceptions",
                "attendance",
                "raw_scores",
                "dates",
                "rewards_ledger",
            ),
            dated=True,  # claims are read against today's date
            form_answers=True,
        ),
    ),
    "timetable": Job(
        "automations.jobs.timetable:timetable_job",
        "timetable",
        Inputs(
            staff("applications", "candidate_key", "people", "dates", "timetable"),
            rewritten=panel("timetable"),  # a copy of the staff one, written when that changes
            dated=True,
        ),
    ),
    # Sends on dates and times of day: never skipped (proving that the next reminder
    # is later than now is the reminders' own work, done by running them).
    "remind": Job("automations.pipelines:remind_job", "remind", None),
    "coprod": Job(
        "automations.pipelines:coprod_job",
        "coprod",
        Inputs(
            staff(
                "people",
                "dates",
                "question_drafts",
                "question_views",
                "form_links",
                "feedback",
                "expressions_of_interest",
                "raw_scores",
                "attendance",
                "extra_evidence",
                "involvement",
            ),
            form_answers=True,
        ),
    ),
    # After sharing (init) and after a late candidate: the papers people without a Google
    # account get by post, remade once per version of their content.
    "papers": Job(
        "automations.papers:post_papers",
        "papers",
        Inputs(
            # The panel's Applications are redact's output from the staff Applications and
            # Candidate key (both here), and are read only when someone gets papers; its
            # letters are written at once (their outcome is never unknown).
            staff("sharing", "people", "candidate_key", "applications", "timetable", "form_links")
        ),
    ),
}

JobFn = Callable[[Context], JobResult]
R = TypeVar("R")


def job_function(name: str) -> JobFn:
    """Import a job function by name; a clear error if the name is not a job."""
    if name not in JOBS:
        raise JobError(f"there is no job called '{name}' (jobs: {', '.join(JOBS)})")
    target = JOBS[name][0]
    module, func = target.split(":")
    fn: JobFn = getattr(importlib.import_module(module), func)
    return fn


def job_inputs(name: str) -> Inputs | None:
    """What the job reads, as declared in :data:`JOBS` (None: it always runs)."""
    entry = JOBS[name]
    return entry[2] if len(entry) > 2 else None


def available_jobs() -> list[str]:
    """Jobs whose code is installed (all of them in a full install).

    Found without importing them: a run with nothing new loads no job's code.
    """
    out = []
    for name, entry in JOBS.items():
        try:
            found = importlib.util.find_spec(entry[0].split(":")[0])
        except ModuleNotFoundError:
            found = None
        if found is not None:
            out.append(name)
    return out


# ---------------------------------------------------------------------- locks


class JobLocked(JobError):
    """Another runner or command holds this campaign's job right now."""


@contextlib.contextmanager
def job_lock(folder: Path, campaign: str, job: str) -> Iterator[None]:
    """Hold an exclusive, crash-safe lock for (campaign, job); fail at once if held."""

    def busy(holder: str) -> JobLocked:
        return JobLocked(
            f"the '{job}' job of campaign '{campaign}' is already running ({holder}); "
            "this run was skipped."
        )

    with held(folder / f"{campaign}.{job}.lock", wait=0, busy=busy):
        yield


# ---------------------------------------------------------------- run records


@dataclass
class RunRecord:
    run_id: str
    job: str
    campaign: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    outcome: str = "ok"  # ok | failed | skipped
    rows_read: int = 0
    rows_written: int = 0
    messages_sent: int = 0
    api_calls: int = 0
    detail: str = ""
    attention: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the ledger put right, for people
    unchanged: bool = False  # skipped: nothing it reads changed since its last good run

    def take(self, res: JobResult) -> None:
        """What the job said it did (scheduled or run by hand alike)."""
        self.rows_read, self.rows_written = res.rows_read, res.rows_written
        self.messages_sent, self.detail = res.messages_sent, res.detail
        self.attention = list(res.attention)

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("attention")
        d.pop("notes")
        d.pop("unchanged")
        return d


@dataclass
class RunnerState:
    """Small JSON file in the workspace: failures in a row, whether reported, last runs."""

    path: Path
    data: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> RunnerState:
        try:
            return cls(path, json.loads(path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            return cls(path, {})

    def save(self) -> None:
        write_private(self.path, json.dumps(self.data, indent=1, default=str))

    def entry(self, campaign: str, job: str) -> dict[str, Any]:
        return self.data.setdefault(f"{campaign}/{job}", {"failures": 0, "reported": False})


def _api_calls() -> int:
    """Google API calls made so far in this process (0 when Google is not used)."""
    ghttp = sys.modules.get(f"{__package__}.google.http")  # never loaded: no call made
    if ghttp is None:
        return 0
    counter = getattr(ghttp, "CALLS", None)
    return int(counter.total) if counter is not None and hasattr(counter, "total") else 0


class Runner:
    """Runs jobs for every campaign in a config folder."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        context_factory: Callable[[Settings, str], Context] | None = None,
        skip_unchanged: bool = True,
    ) -> None:
        self.settings = settings
        self.skip_unchanged = skip_unchanged  # a job whose inputs are as last time: skipped
        self.clock = clock
        self.context_factory = context_factory or (
            lambda s, cid: make_context(s, cid, clock=self.clock)
        )
        self.lock_dir = settings.workspace / ".locks"
        self.state = RunnerState.load(settings.workspace / ".runner-state.json")
        self.stop_requested = threading.Event()
        self._pending: dict[str, list[dict[str, Any]]] | None = None  # batched run-log rows
        # The context to write them with, for a job run by hand only (its caller holds it
        # anyway): a job the runner ran leaves nothing behind it, and the end of the run
        # opens the campaign afresh (see :meth:`_log_run`).
        self._pending_ctx: dict[str, Context] = {}

    def now(self) -> dt.datetime:
        if self.clock:
            return self.clock()
        from .context import local_now

        return local_now(self.settings.org.organisation.timezone)

    def run_job(self, campaign_id: str, job: str) -> RunRecord:
        """Run one job for one campaign: lock, run, log the outcome. Never raises.

        With ``skip_unchanged`` (the runner's way), a job whose inputs are exactly as at
        the start of its last good run does nothing and is logged "ok", "nothing new".
        """
        rec = RunRecord(uuid.uuid4().hex[:12], job, campaign_id, self.now())
        calls_before = _api_calls()
        ctx: Context | None = None
        taken: str | None = None
        try:
            with job_lock(self.lock_dir, campaign_id, job):
                ctx = self.context_factory(self.settings, campaign_id)
                if self.skip_unchanged:
                    taken = fingerprint.take(ctx, job_inputs(job))
                since = self._unchanged_since(campaign_id, job, taken)
                if since is not None:
                    rec.unchanged = True
                    rec.detail = f"nothing new since {since}"
                else:
                    rec.take(job_function(job)(ctx))
        except JobLocked as exc:
            rec.outcome, rec.detail = "skipped", str(exc)
        except CorecruitError as exc:
            rec.outcome, rec.detail = "failed", str(exc)
        except Exception as exc:  # a bug: logged by type and place only, never values
            tb = traceback.extract_tb(exc.__traceback__)
            where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
            rec.outcome = "failed"
            rec.detail = f"unexpected {type(exc).__name__} at {where}; see the runner's log"
            log.debug("job %s failed", job, exc_info=True)
        rec.ended_at = self.now()
        rec.api_calls = max(0, _api_calls() - calls_before)
        try:
            self._after(rec, ctx, scheduled=True, taken=taken)
        finally:
            if ctx is not None:  # what the job read dies with it, not with the next job
                ctx.release()
        return rec

    def _unchanged_since(self, campaign: str, job: str, taken: str | None) -> str | None:
        """When the job last ran on exactly these inputs (None: it has something to do)."""
        kept = self.state.entry(campaign, job).get("inputs")
        if taken is None or not isinstance(kept, dict) or kept.get("fingerprint") != taken:
            return None
        return str(kept.get("since", "its last run"))

    def _keep_fingerprint(self, rec: RunRecord, taken: str | None, ctx: Context | None) -> None:
        """Keep the inputs' fingerprint after an ok run that changed nothing; else forget it.

        A run that wrote or sent something changed what it reads, so it runs once more;
        a run the ledger put something right in, or one that failed, runs next time too.
        """
        entry = self.state.entry(rec.campaign, rec.job)
        settled = (
            rec.outcome == "ok"
            and taken is not None
            and not (rec.rows_written or rec.messages_sent or rec.notes)
        )
        if settled and not rec.unchanged and ctx is not None:  # no message left 'intended'
            settled = fingerprint.settled(ctx, job_inputs(rec.job))
        if settled and not rec.unchanged:
            entry["inputs"] = {"fingerprint": taken, "since": f"{rec.started_at:%Y-%m-%d %H:%M}"}
        elif not settled and rec.outcome != "skipped":
            entry.pop("inputs", None)

    def _after(
        self,
        rec: RunRecord,
        ctx: Context | None,
        *,
        scheduled: bool = False,
        taken: str | None = None,
    ) -> None:
        """Log the run, count failures, keep the state file (and, for a run the runner
        started, the fingerprint of what the job read)."""
        if ctx is not None:  # what the ledger put right (a stale copy, deleted rows)
            for store in (ctx.stores.staff, ctx.stores.panel):
                rec.notes += [n for n in store.notices if n not in rec.notes]
            rec.attention += [n for n in rec.notes if n not in rec.attention]
        log.info(
            "job=%s campaign=%s outcome=%s rows_read=%d rows_written=%d messages=%d api_calls=%d",
            rec.job,
            rec.campaign,
            rec.outcome,
            rec.rows_read,
            rec.rows_written,
            rec.messages_sent,
            rec.api_calls,
        )
        entry = self.state.entry(rec.campaign, rec.job)
        entry["last_run"] = rec.started_at.isoformat(sep=" ")
        entry["last_outcome"] = rec.outcome
        entry["last_detail"] = rec.detail
        # What the job itself asked of people stays until a run of it changes something
        # (a quiet run does not repeat it); what the record said (a stale copy, a workbook
        # open elsewhere) is about this run only.
        asked = [a for a in rec.attention if a not in rec.notes]
        quiet = rec.outcome == "ok" and not (rec.rows_written or rec.messages_sent)
        if asked or not quiet:
            entry["asked"] = asked
        kept = [a for a in entry.get("asked", []) if a not in rec.notes]
        entry["attention"] = kept + list(rec.notes)
        if rec.outcome == "failed":
            entry["failures"] = int(entry.get("failures", 0)) + 1
            if entry[
                "failures"
            ] >= self.settings.org.schedule.failure_report_after and not entry.get("reported"):
                entry["reported"] = self._report_failure(rec, entry["failures"], ctx)
        elif rec.outcome == "ok":
            entry["failures"] = 0
            entry["reported"] = False
        if scheduled:
            self._keep_fingerprint(rec, taken, ctx)
        self.state.save()
        self._log_run(rec, None if scheduled else ctx)

    def by_hand(self, ctx: Context, job: str, call: Callable[[], R]) -> R:
        """Run a job a person asked for at the command line, logged as the runner logs.

        The same Run log row, last run and failure count as a scheduled run, so
        ``status`` tells the truth whichever way a job ran. Errors still reach the
        person (the command prints them); they are logged first.
        """
        rec = RunRecord(uuid.uuid4().hex[:12], job, ctx.campaign.id, ctx.now())
        calls_before = _api_calls()
        with self.batched_log():  # a run: its Run log row and the Status tab, one write
            try:
                res = call()
            except BaseException as exc:
                rec.outcome = "failed"
                rec.detail = (
                    str(exc)
                    if isinstance(exc, CorecruitError)
                    else f"stopped by {type(exc).__name__} (run by hand)"
                )
                rec.ended_at = ctx.now()
                rec.api_calls = max(0, _api_calls() - calls_before)
                self._after(rec, ctx)
                raise
            if isinstance(res, JobResult):
                rec.take(res)
            rec.detail = f"{rec.detail} (run by hand)".strip()
            rec.ended_at = ctx.now()
            rec.api_calls = max(0, _api_calls() - calls_before)
            self._after(rec, ctx)
        return res

    @contextlib.contextmanager
    def batched_log(self) -> Iterator[None]:
        """A run: ``run --once``, a scheduled tick or a command run by hand.

        Its run-log rows are written in one append per campaign, together with the
        Status tab, at the end (see :func:`automations.status.publish`). Each write
        rewrites the staff workbook (or costs Google calls), so a run of every job
        would otherwise pay for one extra write per job. Rows are flushed when the
        block ends, however it ends; a SIGKILL loses only those log rows and that
        Status (the runner's state file and the jobs' own data are already saved).
        A job run alone by :meth:`run_job`, outside a run, appends its row only.
        """
        if self._pending is not None:  # already batching
            yield
            return
        self._pending = {}
        started = dt.datetime.now()
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            ctxs, self._pending_ctx = self._pending_ctx, {}
            for campaign, rows in pending.items():
                self._append_log(campaign, rows, ctxs.get(campaign), since=started)

    def _log_run(self, rec: RunRecord, ctx: Context | None) -> None:
        """Append the run to the staff workbook's run log (best effort: never fails the job).

        ``ctx`` is kept for the end of a run only when given: a job the runner ran gives
        none, so the stores it read (a tab of 160,000 rows) are not kept alive through
        the next job; the run's end opens the campaign again, its files read from the
        store's kept reads.
        """
        if self._pending is not None:
            self._pending.setdefault(rec.campaign, []).append(rec.row())
            if ctx is not None:
                self._pending_ctx[rec.campaign] = ctx
            return
        self._append_log(rec.campaign, [rec.row()], ctx)

    def job_runs(self, campaign: str) -> list[JobRun]:
        """Each job's last run, outcome and next run (fixed by the schedule), for Status."""
        out = []
        for job in available_jobs():
            e = self.state.data.get(f"{campaign}/{job}", {})
            last = dt.datetime.fromisoformat(e["last_run"]) if e.get("last_run") else None
            last = last.replace(tzinfo=None) if last is not None else None
            spec = getattr(self.settings.org.schedule, JOBS[job][1])
            out.append(
                JobRun(
                    job,
                    last,
                    str(e.get("last_outcome", "")) if last else "",
                    str(e.get("last_detail", "")),
                    int(e.get("failures", 0)),
                    next_run(spec, last),
                    tuple(e.get("attention", [])),
                )
            )
        return out

    def _append_log(
        self,
        campaign: str,
        rows: list[dict[str, Any]],
        ctx: Context | None,
        *,
        since: dt.datetime | None = None,
    ) -> None:
        """The run's rows; with ``since`` (a whole run ending) the Status tab too."""
        try:
            ctx = ctx or self.context_factory(self.settings, campaign)
            from .store import make_frame

            staff = ctx.stores.staff
            frame = make_frame(staff.tab("run_log"), rows)
            if since is not None:  # the end of a run: these rows and the Status tab, one write
                cap = {"run_log": self.settings.org.schedule.run_log_rows}
                publish(ctx, self.job_runs(campaign), {"run_log": frame}, since, cap)
            else:
                staff.append("run_log", frame)
        except Exception as exc:  # the run log must never stop the runner
            log.warning(
                "could not write the run log for campaign=%s: %s", campaign, type(exc).__name__
            )

    def _report_failure(self, rec: RunRecord, failures: int, ctx: Context | None) -> bool:
        """Email the admin once about a job that keeps failing."""
        try:
            from .mail import get_transport
            from .mail.delivery import recipients_problem

            ctx = ctx or self.context_factory(self.settings, rec.campaign)
            org = self.settings.org
            msg = EmailMessage()
            msg["Subject"] = f"corecruit: the '{rec.job}' job keeps failing ({rec.campaign})"
            msg["From"] = f"{org.mail.from_name} <{org.mail.from_address}>"
            msg["To"] = org.organisation.admin_email
            msg.set_content(
                f"Hello,\n\nThe '{rec.job}' job for the campaign '{rec.campaign}' has failed "
                f"{failures} times in a row. The runner keeps trying at each tick, and will not "
                f"email again about this until the job has worked once.\n\n"
                f"The last problem was:\n{rec.detail}\n\n"
                "Run 'corecruit status' to see every job, or 'corecruit run --once "
                f"{rec.job} -v' to try it by hand.\n\ncorecruit\n"
            )
            if recipients_problem(msg):  # the same last guard as every other email
                log.warning(
                    "could not email the admin about job=%s: organisation.toml "
                    "[organisation] admin_email is not one usable email address",
                    rec.job,
                )
                return False
            get_transport(ctx).send(msg)
            return True
        except Exception as exc:
            log.warning("could not email the admin about job=%s: %s", rec.job, type(exc).__name__)
            return False

    # --------------------------------------------------------------- scheduling

    def run_once(self, jobs: Sequence[str] | None = None) -> list[RunRecord]:
        """Run the named jobs (default: every available job) once for every campaign."""
        names = list(jobs) if jobs else available_jobs()
        for n in names:
            if n not in JOBS:
                raise JobError(f"there is no job called '{n}' (jobs: {', '.join(JOBS)})")
        out: list[RunRecord] = []
        with self.batched_log():
            for cid in self.settings.campaigns:
                for name in names:
                    if self.stop_requested.is_set():
                        return out
                    out.append(self.run_job(cid, name))
        return out

    def build_scheduler(self, jobs: Sequence[str] | None = None) -> schedule.Scheduler:
        """One explicit Scheduler with an entry per campaign and job."""
        sched = schedule.Scheduler()
        names = list(jobs) if jobs else available_jobs()
        for cid in self.settings.campaigns:
            for name in names:
                spec = getattr(self.settings.org.schedule, JOBS[name][1])
                every(sched, spec).do(self._tick, cid, name).tag(cid, name)
        return sched

    def _tick(self, campaign: str, job: str) -> None:
        if not self.stop_requested.is_set():
            self.run_job(campaign, job)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            log.warning(
                "stop requested (%s): finishing the current job, then stopping",
                signal.Signals(signum).name,
            )
            self.stop_requested.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    @contextlib.contextmanager
    def signal_handlers(self) -> Iterator[None]:
        """SIGTERM and Ctrl+C ask for a stop while the runner runs; the handlers found
        before come back after, so whatever started the runner can still be stopped."""
        before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        self.install_signal_handlers()
        try:
            yield
        finally:
            for s, h in before.items():
                signal.signal(s, signal.SIG_DFL if h is None else h)

    def loop(self, sched: schedule.Scheduler, *, poll_seconds: float = 1.0) -> None:
        """Run pending jobs until a stop is requested."""
        while not self.stop_requested.is_set():
            with self.batched_log():  # each tick is a run: one Run log and Status write
                sched.run_pending()
            self.stop_requested.wait(poll_seconds)


_EVERY = re.compile(r"^every (\d+) (minute|minutes|hour|hours)$")
_DAILY = re.compile(r"^daily at (\d{2}):(\d{2})$")


def every(sched: schedule.Scheduler, spec: str) -> schedule.Job:
    """Turn 'every 10 minutes', 'hourly' or 'daily at 09:00' into a schedule Job."""
    s = " ".join(spec.lower().split())
    if s == "hourly":
        return sched.every(1).hours
    m = _EVERY.match(s)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return sched.every(n).minutes if unit.startswith("minute") else sched.every(n).hours
    m = _DAILY.match(s)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return sched.every().day.at(f"{m.group(1)}:{m.group(2)}")
    raise JobError(
        f"the timing '{spec}' is not understood: use 'every N minutes', 'every N hours', "
        "'hourly' or 'daily at HH:MM'"
    )


def next_run(spec: str, last: dt.datetime | None) -> dt.datetime | None:
    """When a job is next due: its last run plus its interval (or the next daily time).

    Worked out from the last run, not from now, so asking twice gives the same
    answer. ``None`` when it has never run (it runs as soon as the runner starts).
    """
    if last is None:
        return None
    every(schedule.Scheduler(), spec)  # the same words the runner accepts, or a clear error
    s = " ".join(spec.lower().split())
    if s == "hourly":
        s = "every 1 hour"
    m = _EVERY.match(s)
    if m:
        n = int(m.group(1))
        return last + (
            dt.timedelta(minutes=n) if m.group(2).startswith("minute") else dt.timedelta(hours=n)
        )
    m = _DAILY.match(s)
    assert m is not None
    at = dt.datetime.combine(last.date(), dt.time(int(m.group(1)), int(m.group(2))))
    return at if at > last else at + dt.timedelta(days=1)


def next_runs(sched: schedule.Scheduler) -> dict[tuple[str, str], dt.datetime | None]:
    """When each (campaign, job) runs next."""
    out: dict[tuple[str, str], dt.datetime | None] = {}
    for j in sched.get_jobs():
        if len(j.tags) == 2:
            args = j.job_func.args if j.job_func is not None else ()
            if len(args) == 2:
                out[(str(args[0]), str(args[1]))] = j.next_run
    return out


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Small helper for tests and the first-run experience."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
