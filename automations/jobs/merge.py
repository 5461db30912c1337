"""Merge job: raw scores in, results out, with equal weight for each panel.

One batch read of the staff workbook (raw_scores, people, candidate_key, results,
reviewers, exceptions), the pure merge in :mod:`automations.transforms.merge`, then
one batch write to the staff workbook (results, reviewers, new exceptions) and at most
one batch write to the panel workbook (shortlisting_results: letters and scores only).

Idempotent: results are upserted by stage and letter (the staff-filled Decision column
is kept), reviewers are rewritten whole, exceptions have stable ids, and nothing is
written when nothing changed. A run killed between the two writes is completed by the
next run, which computes the same rows.

Independent scoring: the panel workbook gets shortlisting results only when
``merge.release_shortlisting_to_panel`` is on AND either every shortlister has sent every
score or staff set ``merge.released``. Until then the panel tab is kept empty.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from ..context import Context
from ..errors import Problem, SheetProblems
from ..store import append_new, conform, make_frame, upsert_rows
from ..store.cells import is_empty
from ..templates import TabSpec
from ..transforms import merge as M
from ..transforms.values import column, same_rows
from . import JobResult

STAFF_TABS = ("raw_scores", "people", "candidate_key", "results", "reviewers", "exceptions")
PANEL_TAB = "shortlisting_results"


def _refuse_bad_cells(frames: Mapping[str, pd.DataFrame], tabs: Sequence[str]) -> None:
    """Tabs this job writes back must read cleanly, or a bad cell would be lost on writing."""
    problems: list[Problem] = []
    for t in tabs:
        problems.extend(frames[t].attrs.get("problems", []) or [])
    if problems:
        raise SheetProblems(problems)


def letters_from_key(key: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(letters in use, retired letters) from the candidate_key tab."""
    live: list[str] = []
    gone: list[str] = []
    for cell, retired in zip(column(key, "candidate_letter"), column(key, "retired"), strict=True):
        letter = "" if is_empty(cell) else str(cell).strip()
        if not letter:
            continue
        (gone if not is_empty(retired) and bool(retired) else live).append(letter)
    return sorted(live), sorted(gone)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the merge works.

    The merge makes hundreds of thousands of small tuples, lists and dicts that all live
    to its end; every time enough pile up, the collector walks every tracked object in
    the process (the tabs just read included) and finds nothing to free, as the merge
    makes no reference cycles: at 5,000 candidates that was a third to a half of the
    merge's CPU. Reference counting still frees everything as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_merge(ctx: Context, frames: Mapping[str, pd.DataFrame]) -> M.MergeOutcome:
    """The pure merge on frames already read (shared by the job and the decision pack)."""
    live, gone = letters_from_key(frames["candidate_key"])
    raw = frames["raw_scores"]
    with gc_paused():
        return M.merge_scores(
            raw,
            frames["people"],
            ctx.campaign,
            problems=raw.attrs.get("problems", []) or [],
            candidates={"shortlisting": live},
            retired=gone,
        )


def released(ctx: Context, outcome: M.MergeOutcome, stage: str = "shortlisting") -> bool:
    """May the panels see this stage's merged results yet?"""
    return bool(outcome.stage(stage)) and (
        outcome.complete.get(stage, False) or ctx.campaign.merge.released
    )


def _same(spec: TabSpec, a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two frames would be written as the same cells (a number by its value: 87.5
    read back from a number cell is the 87.50 merge works out), so a run with nothing new
    writes nothing."""
    types = {c.id: c.type for c in spec.columns}
    return same_rows(conform(spec, a), conform(spec, b), types)


GONE = (
    "No longer merged: this candidate's application was withdrawn or their scores were "
    "removed. The numbers were cleared so they are not used by mistake."
)


def _gone_records(results: pd.DataFrame, outcome: M.MergeOutcome) -> list[dict[str, Any]]:
    """Results rows from earlier runs for candidates no longer merged: cleared, with a note."""
    now = {(s, r.letter) for s in M.STAGES for r in outcome.stage(s)}
    out: list[dict[str, Any]] = []
    for s, lt in zip(column(results, "stage"), column(results, "candidate_letter"), strict=True):
        stage = "" if is_empty(s) else str(s)
        letter = "" if is_empty(lt) else str(lt)
        if stage and letter and (stage, letter) not in now:
            out.append({"stage": stage, "candidate_letter": letter, "flags": GONE})
    return out


def merge_job(ctx: Context, *, dry_run: bool = False) -> JobResult:
    """Merge every stage's scores; write results, the reviewer view and, once released,
    the panel workbook's shortlisting results."""
    staff, panel = ctx.stores.staff, ctx.stores.panel
    result = JobResult("merge")
    with staff.locked():
        frames = staff.read(list(STAFF_TABS), errors="collect")
        result.api_calls += 1
        _refuse_bad_cells(frames, ("results", "exceptions", "people", "candidate_key"))
        result.rows_read = sum(len(f) for f in frames.values())
        outcome = run_merge(ctx, frames)

        rspec = staff.tab("results")
        records = M.results_records(outcome) + _gone_records(frames["results"], outcome)
        fresh = make_frame(rspec, records)
        ours = [c.id for c in rspec.columns if c.filled_by == "job"]
        # Only job columns are replaced, so the staff-filled Decision column is kept.
        new_results = upsert_rows(rspec, frames["results"], fresh[ours])
        vspec = staff.tab("reviewers")
        new_reviewers = make_frame(vspec, M.reviewer_records(outcome))
        espec = staff.tab("exceptions")
        seen = set(frames["exceptions"]["exception_id"]) if len(frames["exceptions"]) else set()
        new_exc, added_exc = append_new(
            espec,
            frames["exceptions"],
            make_frame(espec, M.issue_records(outcome.issues, ctx.now())),
        )
        writes: dict[str, pd.DataFrame] = {}
        if not _same(rspec, frames["results"], new_results):
            writes["results"] = new_results
        if not _same(vspec, frames["reviewers"], new_reviewers):
            writes["reviewers"] = new_reviewers
        if added_exc:
            writes["exceptions"] = new_exc
        if writes and not dry_run:
            staff.write(writes)
            result.api_calls += 1
            result.rows_written += sum(len(f) for k, f in writes.items() if k != "exceptions")
            result.rows_written += added_exc

    cfg = ctx.campaign.merge
    show_panel = cfg.release_shortlisting_to_panel and released(ctx, outcome)
    pspec = panel.tab(PANEL_TAB)
    with panel.locked():
        current = panel.read_one(PANEL_TAB, errors="collect")
        result.api_calls += 1
        wanted = make_frame(pspec, M.panel_records(outcome) if show_panel else [])
        panel_changed = not _same(pspec, current, wanted)
        if panel_changed and not dry_run:
            panel.write({PANEL_TAB: wanted})
            result.api_calls += 1
            result.rows_written += len(wanted)

    parts = []
    for stage in M.STAGES:
        rs = outcome.stage(stage)
        if not rs:
            continue
        state = "all scores in" if outcome.complete.get(stage) else "some scores missing"
        flagged = sum(1 for r in rs if r.flags)
        parts.append(f"{stage}: {len(rs)} candidate(s), {state}, {flagged} with flags")
    if not parts:
        parts.append("no scores yet")
    if show_panel:
        parts.append("shortlisting results shown on the panel workbook (letters only)")
    elif cfg.release_shortlisting_to_panel and outcome.stage("shortlisting"):
        parts.append("shortlisting results held back from the panel until every score is in")
    if added_exc:
        parts.append(f"{added_exc} new item(s) on 'Needs attention'")
    if dry_run:
        changed = sorted(writes) + ([PANEL_TAB] if panel_changed else [])
        parts.append(
            "dry run: nothing written"
            + (f" (would update {', '.join(changed)})" if changed else " (nothing to update)")
        )
    result.detail = "; ".join(parts) + "."
    new_issues = [i for i in outcome.issues if i.exception_id not in seen]
    by_code: dict[str, int] = {}
    for i in new_issues:
        by_code[i.code] = by_code.get(i.code, 0) + 1
    result.attention = [
        f"{n} score row(s) not counted ({code}): see the 'Needs attention' tab."
        for code, n in sorted(by_code.items())
    ]
    return result


def pack_frames(ctx: Context) -> dict[str, Any]:
    """What the decision pack needs, in one batch read of the staff workbook."""
    return ctx.stores.staff.read(
        ["raw_scores", "people", "candidate_key", "applications", "extra_evidence"],
        errors="collect",
    )
