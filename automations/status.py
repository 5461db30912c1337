"""The Status tab: read what it is made from in one batch, write it in one, print it.

The runner calls :func:`publish` once at the end of every run (``run --once``, each
scheduled tick, a command run by hand), with that run's Run log rows, so the rows
and the Status tab go to the workbook together in one write, and the Status tab is
left alone when its content is unchanged. ``corecruit status`` prints
:func:`current`, made by the same function from the same records, so the terminal
and the tab say the same. The words are in :mod:`automations.transforms.status`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from . import fingerprint
from .context import Context
from .errors import SheetProblems
from .store import TableStore, append_new, make_frame
from .templates import WorkbookSpec
from .transforms.late import SENT_COLUMNS
from .transforms.status import (
    COLUMNS,
    RUNS,
    JobRun,
    Row,
    ScoresSent,
    StatusInputs,
    scores_frame,
    scores_sent,
    status_rows,
)
from .transforms.values import text
from .workspace import campaign_dates

log = logging.getLogger("corecruit.status")

STATUS = "status"
INPUTS = (
    "run_log",
    "exceptions",
    "sent_messages",
    "results",
    "form_links",
    "raw_scores",
    "dates",
    "redaction_report",
    "candidate_key",
)
# Raw scores is by far the biggest input (a row per question a reviewer scored), and the
# Status rows take only who sent shortlisting scores for which candidate from it: that
# summary is worked out from these columns alone, never as a frame of every row, and kept
# in the record for as long as the tab holds just what the record holds (see _scores).
SCORES = "raw_scores"
SCORES_MARK = "status scores"
TABS = tuple(t for t in INPUTS if t != SCORES)


@dataclass
class Published:
    """What :func:`publish` did."""

    rows: list[Row] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # tab ids in the one write ([] = none)
    added_tab: bool = False  # the Status tab was missing (an older workbook) and was added


def add_status_tab(store: TableStore) -> bool:
    """Give a workbook made before the Status tab existed its Status tab.

    Only this tab: it is job-owned and holds nothing a person typed, so adding it
    empty loses nothing. (A missing input tab is never added by a run: it would be
    read as "no applications", see :meth:`TableStore.init`.) The store's ``init`` is
    run with a workbook spec of this one tab, so no other tab can be added. Call it
    for a workbook that exists and lacks the tab; returns whether it was added.
    """
    full = store.spec
    store.spec = WorkbookSpec(full.name, {STATUS: full.tab(STATUS)})
    try:
        return STATUS in store.init().tabs_added
    finally:
        store.spec = full


def _read(store: TableStore, tabs: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Every tab that can be read, in one backend call; a missing tab is left out.

    Raw scores, when asked for, comes as its summary (see :func:`_scores`), in the same
    call as the others on a store that cannot tell a tab unchanged without reading it.
    """
    others = [t for t in tabs if t != SCORES]
    if SCORES not in tabs:
        return _read_frames(store, others)
    seen = _kept_scores(store)
    cheap = store.tab_tokens([SCORES]) is not None
    if seen is None and not cheap:  # one batch; the reads below take the grids as read
        store.prefetch([*others, SCORES])
    out = _read_frames(store, others)
    if seen is None:
        seen = _scores(store, from_file=cheap and _as_exported(store))
    if seen is not None:
        out[SCORES] = scores_frame(seen)
    return out


def _as_exported(store: TableStore) -> bool:
    """Whether the workbook is the record's last export (not an older copy, no save
    held back), as the read just before found it: then a tab holds the record's rows,
    or a person's edit the record takes in as it is."""
    sync = store.sync
    if sync is None:
        return True
    led, name = sync.ledger, store.spec.name
    return not led.pending_export(name) and sync.sheet_gen == led.last_exported(name)


def _read_frames(store: TableStore, tabs: Sequence[str]) -> dict[str, pd.DataFrame]:
    try:
        return store.read(tabs, errors="collect", refresh=True)
    except SheetProblems:  # one or more tabs missing or renamed: the others are cached
        out: dict[str, pd.DataFrame] = {}
        for t in tabs:
            try:
                out.update(store.read([t], errors="collect", refresh=False))
            except SheetProblems:
                continue
        return out


def _scores_key(store: TableStore) -> str | None:
    """What Raw scores' summary is worked out from, without reading the tab when the file
    did not change: its cells' digest and the record's version of it (see
    :func:`automations.fingerprint.tab_versions`), the template and the header_map.
    The same cells and the same record read the same. None without a record, or when
    the store cannot tell without reading."""
    if store.sync is None:
        return None
    version = (fingerprint.tab_versions(store, [SCORES]) or {}).get(SCORES)
    if version is None or version.startswith("missing"):
        return None
    spec = store.tab(SCORES)
    return fingerprint.digest([version, repr(spec), repr(store.header_map.get(SCORES))])


def _kept_scores(store: TableStore) -> ScoresSent | None:
    """The summary kept in the record, when Raw scores is as it was then (else None)."""
    try:
        key = _scores_key(store)
        if key is None or store.sync is None:
            return None
        kept = json.loads(store.sync.ledger.mark(store.spec.name, SCORES_MARK) or "{}")
        if kept.get("key") != key:
            return None
        return ScoresSent.from_json(kept["seen"])
    except Exception as exc:  # worked out from the tab instead
        log.debug("the kept Raw scores summary not used: %s", type(exc).__name__)
        return None


def _scores(store: TableStore, *, from_file: bool) -> ScoresSent | None:
    """Raw scores' summary (None when the tab cannot be read: missing, or a column
    missing or twice, as a full read would refuse it).

    ``from_file``: the cells as the file holds them (the jobs' reads keep them, so
    usually no read at all), not keyed and merged by the record: for a workbook that
    is the record's last export (:func:`_as_exported`) that is the record's rows, or a
    person's edit since, which the Status then shows as they see it. Otherwise through
    the record. Only the four columns are parsed, as a full read parses them; a bad
    cell is left empty, as ``errors="collect"`` leaves it.
    """
    spec = store.tab(SCORES)
    try:
        if from_file:
            grid = store._read_grids([spec]).get(SCORES)
            if grid is None:
                return None
            cols = store._columns_of(spec, grid, SENT_COLUMNS)
        else:
            cols = store.read_columns(SCORES, SENT_COLUMNS)
    except SheetProblems:  # missing, or a column missing or twice: left out, and said
        return None
    stages, people, times, letters = (cols[c] for c in SENT_COLUMNS)
    seen = scores_sent(stages, people, times, letters)
    try:
        key = _scores_key(store)  # as the read left it (the record may have taken it in)
        if key is not None and store.sync is not None:
            value = json.dumps({"key": key, "seen": seen.as_json()})
            store.sync.ledger.set_mark(store.spec.name, SCORES_MARK, value)
    except Exception as exc:  # worked out again next time
        log.debug("the Raw scores summary not kept: %s", type(exc).__name__)
    return seen


def inputs(
    ctx: Context,
    jobs: Sequence[JobRun],
    frames: Mapping[str, pd.DataFrame],
    problem: str = "",
) -> StatusInputs:
    """What the Status rows are made from: the tabs read, the job runs, now."""
    staff = ctx.stores.staff
    sched = ctx.settings.org.schedule
    return StatusInputs(
        problem=problem,
        config_dates=make_frame(staff.tab("dates"), campaign_dates(ctx.campaign)),
        campaign=ctx.campaign,
        now=ctx.now(),
        jobs=jobs,
        tabs={t: frames[t] for t in INPUTS if t in frames},
        titles={t: staff.tab(t).label for t in INPUTS},
        schedule={j.job: str(getattr(sched, j.job, "")) for j in jobs},
    )


def current(ctx: Context, jobs: Sequence[JobRun]) -> list[Row]:
    """The Status rows as of now, read fresh (what ``corecruit status`` prints)."""
    staff = ctx.stores.staff
    if not staff.exists():
        problem = f"The {staff.spec.name} workbook is not there yet: run 'corecruit init'."
        return status_rows(inputs(ctx, jobs, {}, problem))
    return status_rows(inputs(ctx, jobs, _read(staff, [*INPUTS])))


def _cells(rows: Sequence[Mapping[str, object]]) -> list[tuple[str, ...]]:
    return [tuple(text(r.get(c)) for c in COLUMNS) for r in rows]


def _meaning(rows: Sequence[Mapping[str, object]]) -> list[tuple[str, ...]]:
    """The rows without the times of the last runs: what a person would act on."""
    out: list[tuple[str, ...]] = []
    for r in rows:
        if text(r.get("section")) == RUNS:
            out.append((RUNS, text(r.get("item")), text(r.get("outcome"))))
        else:
            out.append(tuple(text(r.get(c)) for c in COLUMNS))
    return out


def inputs_key(ctx: Context, jobs: Sequence[JobRun]) -> str | None:
    """What the Status tab's meaning is made from, without reading a cell: the input
    tabs' tokens and ledger versions (see :mod:`automations.fingerprint`), whether the
    tab is there, each job's outcome and what it asked, today, the config and the code.

    Not the times of the last runs (they wait in the record, see :func:`publish`), nor
    the Run log, which only a failed job's row points into (then: None, always worked
    out). None when the store cannot tell without reading.
    """
    staff = ctx.stores.staff
    if staff.sync is None or any(j.outcome == "failed" for j in jobs):
        return None
    tabs = [t for t in INPUTS if t != "run_log"]
    versions = fingerprint.tab_versions(staff, tabs)
    if versions is None:
        return None
    there = (staff.tab_tokens([STATUS]) or {}).get(STATUS, "missing") != "missing"
    parts = [
        fingerprint.code_version(),
        fingerprint.config_version(ctx.settings, ctx.campaign.id),
        f"today {ctx.now().date().isoformat()}",
        f"status tab there: {there}",
        *(f"{t}: {v}" for t, v in versions.items()),
        *(repr((j.job, j.outcome, j.failures, j.last_run is None, j.attention)) for j in jobs),
    ]
    return fingerprint.digest(parts)


def latest_rows(frame: pd.DataFrame, cap: int, by: str = "started_at") -> pd.DataFrame:
    """The ``cap`` latest rows by ``by`` (a row without a time counts as oldest; on the same
    time, the lower row is later), kept in the order the tab has them: a Run log a person
    sorted newest first keeps its newest rows, not its oldest."""
    if by not in frame.columns:
        return frame.iloc[max(0, len(frame) - cap) :]
    times = [
        v.replace(tzinfo=None) if isinstance(v, dt.datetime) and not pd.isna(v) else None
        for v in frame[by].tolist()
    ]
    order = sorted(
        range(len(frame)), key=lambda i: (times[i] is not None, times[i] or dt.datetime.min, i)
    )
    return frame.iloc[sorted(order[max(0, len(order) - cap) :])]


MARK = "status inputs"


def publish(
    ctx: Context,
    jobs: Sequence[JobRun],
    append: Mapping[str, pd.DataFrame] | None = None,
    since: dt.datetime | None = None,
    keep_last: Mapping[str, int] | None = None,
) -> Published:
    """At the end of a run: ``append``'s new rows and the Status tab, in one write.

    ``append`` maps a tab to rows to add where their key is new (the runner's Run log
    rows). The Status tab is written only when its content changed. With corecruit's
    record under the workbook, a change of times alone (when each job last ran) waits
    in the record with the Run log rows, so a run with nothing new saves nothing; the
    tab is saved at once when what it asks of people or what happens next changed, a
    job's outcome changed, or the run saved the workbook anyway (since ``since``).
    When nothing it is made from changed since it was last worked out (the same
    :func:`inputs_key`), it is not even read or worked out: only ``append``'s tabs are read.
    A workbook without a Status tab (made by an older version) gets one. Raises only
    what the store raises; a fault in working out the rows is logged (by type) and
    the appended rows are written all the same.

    ``keep_last`` caps an appended tab at its latest rows (the Run log). Older rows leave
    it only in a write that saves the workbook (at once): removed in the record and in
    the file together, never read back as rows a person deleted. A run that saves
    nothing else trims only once the rows are twice the cap.
    """
    staff = ctx.stores.staff
    out = Published()
    if not staff.exists():
        return out
    led = staff.sync.ledger if staff.sync is not None else None
    try:
        key = inputs_key(ctx, jobs)
    except Exception as exc:  # worked out in full instead
        log.debug("the Status tab's inputs not told: %s", type(exc).__name__)
        key = None
    # Nothing it is made from changed since it was last worked out, and nothing saved the
    # workbook this run: the Status tab is left as it is (not read, not worked out).
    quiet = (
        key is not None
        and led is not None
        and led.mark(staff.spec.name, MARK) == key
        and not (since is not None and staff.sync is not None and staff.sync.exported_since(since))
    )
    with staff.locked():
        frames = _read(staff, list(append or {}) if quiet else [*INPUTS, STATUS])
        if not quiet and STATUS not in frames:
            out.added_tab = add_status_tab(staff)
            frames = _read(staff, [*INPUTS, STATUS])
        write: dict[str, pd.DataFrame] = {}
        for tab, new in (append or {}).items():
            have = frames.get(tab)
            if have is None or have.attrs.get("problems"):
                log.warning("tab=%s not appended to: it is missing or has cells to fix", tab)
                continue
            merged, added = append_new(staff.tab(tab), have, new)
            if added:
                write[tab] = merged
                frames = {**frames, tab: merged.set_axis(range(2, len(merged) + 2))}
        try:
            out.rows = [] if quiet else status_rows(inputs(ctx, jobs, frames))
        except Exception as exc:  # the Status tab must never cost the run log its rows
            log.warning("the Status tab was not worked out: %s", type(exc).__name__)
            out.rows = []
        at_once = False
        if out.rows and STATUS in frames:
            have_rows = frames[STATUS].to_dict("records")
            if _cells(have_rows) != _cells(out.rows):
                write[STATUS] = make_frame(staff.tab(STATUS), out.rows)
                sync = staff.sync
                saved = since is not None and sync is not None and sync.exported_since(since)
                at_once = saved or _meaning(have_rows) != _meaning(out.rows)
        for tab, cap in (keep_last or {}).items():
            have = write.get(tab)
            # with a save of the workbook, or (runs with nothing new hold their rows in the
            # record) once they are twice the cap: one save then, so neither grows for ever
            if have is not None and len(have) > cap and (at_once or len(have) > 2 * cap):
                write[tab] = latest_rows(have, cap)
                at_once = True
        if write:
            staff.write(write, at_once=at_once)
        out.written = list(write)
        if not quiet and out.rows and led is not None:  # as it stands now, for the next run
            try:
                led.set_mark(staff.spec.name, MARK, inputs_key(ctx, jobs))
            except Exception as exc:  # worked out in full next time
                log.debug("the Status tab's inputs not kept: %s", type(exc).__name__)
    return out


__all__ = [
    "INPUTS",
    "STATUS",
    "Published",
    "add_status_tab",
    "current",
    "inputs_key",
    "latest_rows",
    "publish",
]
