"""Feedback: summarise what everyone involved said, for the campaign.

:func:`summary_job` reads the Feedback tab (filled by the feedback form, or typed in
by staff), and writes a page people can read at the feedback meeting. Nothing in
the workbooks changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..context import Context
from ..coprod_forms import collect_forms
from ..printing import render_page, write_atomic
from ..transforms.feedback import summarise, summary_context
from . import JobResult


@dataclass
class FeedbackResult(JobResult):
    lines: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def summary_job(ctx: Context, *, forms: bool = True) -> FeedbackResult:
    """Bring in the feedback forms' answers, then summarise them for the campaign."""
    res = FeedbackResult(job="feedback summary")
    if forms:
        got = collect_forms(ctx, "feedback")
        res.api_calls += got.api_calls
    fb = ctx.stores.staff.read_one("feedback", errors="collect")
    res.api_calls += 1
    res.rows_read = len(fb)
    res.attention.extend(f"{p} (left out)" for p in fb.attrs.get("problems", []))
    s = summarise(fb)
    page = render_page(
        "feedback_summary.html.j2",
        {
            **summary_context(s),
            "post": ctx.campaign.campaign.post,
            "large": False,
            "easy_read": False,
        },
        ctx.settings,
    )
    path = ctx.settings.workspace / ctx.campaign.id / "feedback-summary.html"
    write_atomic(path, page)
    res.files.append(path)
    res.lines = s.lines()
    res.detail = f"{s.responses} response(s) summarised"
    return res
