"""Print score sheets: one file per panel member and stage, a page per candidate letter.

Reads the people, candidate key, applications and timetable in one batch from the
staff workbook, builds the sheets with the pure transform, and writes HTML files
(and, with ``pdf=True``, PDFs printed by chromium) into
``<workspace>/<campaign>/score_sheets/``. Nothing is written to the workbooks, so a
rerun simply writes the same files again (atomically).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..context import Context
from ..errors import JobError
from ..papers import sheet_pages
from ..printing import html_to_pdf, write_atomic
from ..transforms.scoresheets import (
    Format,
    Stage,
    answers_by_letter,
    build_sheets,
    letters_for,
)
from . import JobResult

TABS = ["people", "candidate_key", "applications", "timetable"]


@dataclass
class SheetsResult(JobResult):
    files: list[Path] = field(default_factory=list)


def scoresheets_job(
    ctx: Context,
    stage: Stage = "interview",
    *,
    people: Sequence[str] | None = None,
    letters: Sequence[str] | None = None,
    fmt: Format | None = None,
    pdf: bool = False,
) -> SheetsResult:
    """Write each scorer's sheets for ``stage`` (HTML, and PDF when asked)."""
    res = SheetsResult(job="scoresheets")
    frames = ctx.stores.staff.read(TABS, errors="collect")
    res.api_calls = 1
    res.rows_read = sum(len(df) for df in frames.values())
    if letters:
        chosen = [x.strip().upper() for x in letters if x.strip()]
        from ..transforms.paper import live_letters

        unknown = sorted(set(chosen) - live_letters(frames["candidate_key"]))
        if unknown:
            res.attention.append(
                f"Candidate {', '.join(unknown)} is not in the candidate key (yet); the "
                "sheets were printed anyway, but scores for it cannot be entered until it is."
            )
    else:
        chosen, notes = letters_for(
            stage, frames["candidate_key"], frames["applications"], frames["timetable"]
        )
        res.attention.extend(notes)
    if not chosen:
        res.detail = "no sheets written"
        return res
    sheets = build_sheets(ctx.campaign, frames["people"], chosen, stage, only=people, fmt=fmt)
    if people:
        missing = sorted(set(people) - {s.person_id for s in sheets})
        if missing:
            raise JobError(
                f"no {stage} sheets for {', '.join(missing)}: each must be a chair or "
                f"panel member with '{'Shortlists' if stage == 'shortlisting' else 'Interviews'}'"
                " TRUE in the people tab (supporting workers do not score)."
            )
    folder = ctx.settings.workspace / ctx.campaign.id / "score_sheets"
    answers = None
    if stage == "shortlisting":  # the anonymised answers to read: panel workbook only
        panel_apps = ctx.stores.panel.read_one("applications", errors="collect")
        res.api_calls += 1
        answers = answers_by_letter(ctx.campaign, panel_apps)
    for s in sheets:
        res.attention.extend(s.notes)
    for stem, html in sheet_pages(ctx, sheets, answers):
        path = folder / f"{stem}.html"
        write_atomic(path, html)
        res.files.append(path)
    if pdf:
        res.files.extend(html_to_pdf(list(res.files), ctx.settings.org.printing.chromium))
    res.detail = f"{len(sheets)} sheet set(s) for {len(chosen)} candidate(s) in {folder}" + (
        " (HTML and PDF)" if pdf else " (HTML)"
    )
    return res


PAPER_TABS = ["paper_scores", "people", "candidate_key", "raw_scores"]


def enter_paper_job(ctx: Context) -> JobResult:
    """Check every typed-in paper score and copy new or changed ones to Raw scores.

    All or nothing: if any row has a problem, every problem is listed (tab, row,
    column) and nothing is written, so staff fix the rows and run it again.
    """
    from ..errors import SheetProblems
    from ..store import append_new, make_frame
    from ..transforms.paper import plan_paper_entry

    res = JobResult(job="scoresheets enter")
    staff = ctx.stores.staff
    with staff.locked():
        frames = staff.read(PAPER_TABS, errors="collect")
        res.api_calls += 1
        res.rows_read = len(frames["paper_scores"])
        typed = frames["paper_scores"].attrs.get("problems", [])
        plan = plan_paper_entry(
            frames["paper_scores"],
            ctx.campaign,
            frames["people"],
            frames["candidate_key"],
            ctx.now(),
            unreadable={t.row for t in typed if t.column == "score" and t.row is not None},
        )
        # the plan's problems say the rule of the row's question; the store's only the type
        spec = staff.tab("paper_scores")
        planned = [staff.problem(spec, p.message, p.row, p.column) for p in plan.problems]
        problems = planned + [
            t for t in typed if (t.row, t.column) not in {(p.row, p.column) for p in planned}
        ]
        if problems:
            raise SheetProblems(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
        if not plan.raw_rows:
            res.detail = "nothing new to enter"
            return res
        raw_spec = staff.tab("raw_scores")
        merged, added = append_new(
            raw_spec, frames["raw_scores"], make_frame(raw_spec, plan.raw_rows)
        )
        paper = frames["paper_scores"].copy()
        for sheet_row, cols in plan.updates.items():
            for col, value in cols.items():
                paper.at[sheet_row, col] = value
        res.rows_written = staff.write({"raw_scores": merged, "paper_scores": paper})
        res.api_calls += 1
        res.detail = f"{added} paper score(s) entered"
    return res
