"""The review gate as ``status`` and ``check`` tell it: what is held from the panel and
what happens next. Reads the staff workbook once; the rules are in transforms.review."""

from __future__ import annotations

from .context import Context
from .errors import CorecruitError, Problem
from .transforms.reminders import events_from_dates
from .transforms.review import gate_words, review_state

TABS = ["redaction_report", "candidate_key", "form_links", "dates", "sent_messages", "raw_scores"]


def review_words(ctx: Context) -> str:
    """'3 applications wait for a check of their redaction report: …' and what next."""
    tabs = ctx.stores.staff.read(TABS, errors="collect")
    state = review_state(
        tabs["redaction_report"],
        tabs["candidate_key"],
        required=ctx.campaign.campaign.require_review,
    )
    ev = events_from_dates(tabs["dates"], ctx.campaign).get("shortlisting opens")
    opens = ev.starts.date() if ev is not None else ctx.campaign.dates.shortlisting_opens
    return gate_words(
        state,
        tabs["form_links"],
        opens,
        ctx.now().date(),
        tabs["sent_messages"],
        tabs["raw_scores"],
    )


def review_problems(ctx: Context) -> list[Problem]:
    """For ``check``: one warning on the Redaction report when applications are held."""
    try:
        words = review_words(ctx)
    except CorecruitError:  # no workbook or a broken tab: check names those itself
        return []
    if not words:
        return []
    return [Problem("staff", "redaction_report", words, column="reviewed_by", severity="warning")]


EXAMPLE_REVIEWER = "example (invented applications)"


def mark_example_reviewed(ctx: Context) -> int:
    """For ``run --example`` only: the example's invented applications count as checked,
    so the demo shows a working form link. A real campaign's staff fill in 'Reviewed by'
    themselves. Only rows of the example's own application ids that nobody has filled in
    are touched; returns how many."""
    import csv

    from .workspace import EXAMPLE_DIR

    with (EXAMPLE_DIR / "applications.csv").open(newline="", encoding="utf-8") as fh:
        ids = {r["application_id"].strip() for r in csv.DictReader(fh)}
    staff = ctx.stores.staff
    with staff.locked():
        report = staff.read_one("redaction_report", refresh=True)
        todo = [
            i
            for i, r in report.iterrows()
            if str(r.get("application_id") or "").strip() in ids
            and not str(r.get("reviewed_by") or "").strip()
        ]
        if todo:
            report.loc[todo, "reviewed_by"] = EXAMPLE_REVIEWER
            staff.write({"redaction_report": report})
    return len(todo)
