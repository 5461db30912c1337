"""Involvement and extra evidence: the staff workbook's record of who took part, and how.

* :func:`involvement_job` copies new expression-of-interest answers into the people
  tab, rebuilds the Involvement tab from the evidence in the workbook (scores,
  question views, attendance, extra evidence, feedback), and reports where the
  panel's make-up differs from the guide. One read, one write.
* :func:`evidence_job` checks the Extra evidence tab and writes, for each candidate
  letter, the evidence beside the panels' overall score.

Everything stays in the staff workbook: access requirements and team experience
are never written to the panel workbook.
"""

from __future__ import annotations

import pandas as pd

from ..context import Context
from ..coprod_forms import collect_forms
from ..errors import SheetProblems
from ..store import make_frame, upsert_rows
from ..transforms import evidence as tev
from ..transforms import involvement as tin
from ..transforms.panels import panel_problems
from ..transforms.paper import live_letters
from . import JobResult

EOI_TO_PEOPLE = {
    "introduction": "introduction",
    "access_requirements": "access_requirements",
    "reward_choice": "reward_choice",
    "team_experience": "team_experience",
    "formats": "formats",
    "unavailable": "unavailable",
}
TABS = [
    "people",
    "raw_scores",
    "question_views",
    "attendance",
    "extra_evidence",
    "feedback",
    "expressions_of_interest",
    "involvement",
]


def involvement_job(ctx: Context, *, forms: bool = True) -> JobResult:
    """Bring in expression-of-interest answers and copy them into people, rebuild who
    took part in what, and report the make-up."""
    res = JobResult(job="involvement")
    if forms:
        got = collect_forms(ctx, "interest")
        res.api_calls += got.api_calls
    staff = ctx.stores.staff
    now = ctx.now()
    with staff.locked():
        f = staff.read(TABS, errors="collect")
        res.api_calls += 1
        res.rows_read = sum(len(df) for df in f.values())
        for df in f.values():
            res.attention.extend(f"{p} (left out)" for p in df.attrs.get("problems", []))
        out: dict[str, pd.DataFrame] = {}
        eoi = f["expressions_of_interest"]
        rows, done = tin.copy_eoi_to_people(f["people"], eoi, EOI_TO_PEOPLE)
        keep = rows
        if done:
            no = {
                tin._text(e["person_id"])
                for i, e in eoi.iterrows()
                if int(i) in done and tin._text(e.get("interested")) == "no"
            }
            keep = [r for r in rows if r["person_id"] not in no]
            people = f["people"]
            for r in keep:
                people = upsert_rows(staff.tab("people"), people, pd.DataFrame([r]))
            out["people"] = people
            e2 = eoi.copy()
            for i in done:
                e2.at[i, "copied_at"] = now
            out["expressions_of_interest"] = e2
            res.attention.append(
                f"{len(keep)} expression(s) of interest copied to the people tab. Choose 3 to 4 "
                "people with lived experience (Shortlists and Interviews TRUE)."
            )
        people_now = out.get("people", f["people"])
        derived = tin.derive(
            people_now,
            raw_scores=f["raw_scores"],
            views=f["question_views"],
            attendance=f["attendance"],
            evidence=f["extra_evidence"],
            feedback=f["feedback"],
            eoi=eoi,
            now=now,
        )
        changed, n = tin.merge_rows(f["involvement"], derived, now)
        if n:
            out["involvement"] = upsert_rows(
                staff.tab("involvement"), f["involvement"], pd.DataFrame(changed)
            )
        # the same panel rules 'corecruit check' applies (automations.transforms.panels)
        res.attention.extend(str(p) for p in panel_problems(ctx.campaign, people_now))
        if out:
            res.rows_written = staff.write(out)
            res.api_calls += 1
    res.detail = f"{n} involvement row(s) added or updated"
    return res


def evidence_job(ctx: Context) -> JobResult:
    """Check the extra evidence and set it beside each candidate's overall score."""
    res = JobResult(job="evidence")
    staff = ctx.stores.staff
    cfg = ctx.campaign.extra_evidence
    with staff.locked():
        f = staff.read(
            ["extra_evidence", "people", "candidate_key", "results", "evidence_summary"],
            errors="collect",
        )
        res.api_calls += 1
        ev = f["extra_evidence"]
        res.rows_read = len(ev)
        probs = list(ev.attrs.get("problems", []))
        people_ids = {tin._text(x) for x in f["people"]["person_id"]}
        probs += tev.check(ev, people_ids, live_letters(f["candidate_key"]), cfg)
        if probs:
            raise SheetProblems(probs)
        rows = tev.summarise(ev, tev.overall_from_results(f["results"]), cfg)
        spec = staff.tab("evidence_summary")
        new = make_frame(spec, rows)
        old = f["evidence_summary"]
        if (
            not upsert_rows(spec, old.iloc[0:0], new)
            .reset_index(drop=True)
            .equals(upsert_rows(spec, old.iloc[0:0], old).reset_index(drop=True))
        ):
            res.rows_written = staff.write({"evidence_summary": new})
            res.api_calls += 1
    res.detail = f"evidence for {len(rows)} candidate(s)" + (
        f"; it counts for {cfg.share * 100:.0f}% of the score"
        if cfg.counts_in_score
        else "; shown beside the scores, not counted"
    )
    return res
