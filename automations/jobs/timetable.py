"""The timetable job: interview days from the invited candidates, in both workbooks.

Which candidates: applications whose status is 'invited' (or later: 'interviewed',
'offered', 'accepted', 'declined', so the timetable stays put after the day). Staff
set 'invited' after the shortlisting decision; the candidate letter comes from the
candidate key. The panel workbook gets the timetable by letter only; the staff
workbook gets it with application ids and names; a calendar file of the days (by
letter) goes to ``<workspace>/<campaign>/calendar/timetable.ics``.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pandas as pd

from ..context import Context
from ..errors import JobError, Problem, SheetProblems
from ..files import private_dir
from ..locks import job_lock
from ..transforms.ics import CalendarEvent, calendar, make_uid
from ..transforms.messages import mail_domain
from ..transforms.reminders import INVITED, letters_from_key
from ..transforms.timetable import (
    Busy,
    Candidate,
    InterviewDay,
    blocks_from_frame,
    build_timetable,
    parse_unavailable,
    staff_timetable_frame,
    timetable_frame,
)
from ..transforms.values import is_true
from . import JobResult


class NoTimetable(JobError):
    """No timetable fits; ``reasons`` says why in plain words (ids and letters only)."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("\n".join(reasons))


def _t(v: object) -> str:
    return "" if v is None or v is pd.NA else str(v).strip()


def interview_days(dates: pd.DataFrame, ctx: Context) -> list[InterviewDay]:
    """The interview days from the dates tab (staff may change them); config if none."""
    out = []
    for _, r in dates.iterrows():
        name = _t(r.get("event")).lower()
        starts = r.get("starts_at")
        if name.startswith("interview day") and isinstance(starts, dt.datetime):
            t = starts.time()
            out.append(InterviewDay(starts.date(), None if t == dt.time() else t))
    if not out:
        out = [InterviewDay(d) for d in ctx.campaign.dates.interview_days]
    return out


def _busy(
    df: pd.DataFrame, tab: str, id_col: str, keep: set[str] | None, problems: list[Problem]
) -> dict[str, list[Busy]]:
    out: dict[str, list[Busy]] = {}
    for row, r in df.iterrows():
        pid = _t(r.get(id_col))
        if not pid or (keep is not None and pid not in keep):
            continue
        try:
            out[pid] = parse_unavailable(_t(r.get("unavailable")))
        except ValueError as exc:
            problems.append(
                Problem(
                    "staff",
                    tab,
                    str(exc),
                    row=int(row),
                    column="unavailable",
                )
            )
    return out


def _write_ics(path: Path, text: str) -> None:
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def timetable_job(ctx: Context) -> JobResult:
    """Build or update the interview timetable; raise NoTimetable when nothing fits."""
    res = JobResult(job="timetable")
    staff, panel = ctx.stores.staff, ctx.stores.panel
    with job_lock(ctx, "timetable"):
        frames = staff.read(["applications", "candidate_key", "people", "dates", "timetable"])
        res.api_calls += 1
        res.rows_read = sum(len(df) for df in frames.values())
        apps = frames["applications"]
        letters = letters_from_key(frames["candidate_key"])
        invited = apps[apps["status"].isin(INVITED)] if len(apps) else apps
        problems: list[Problem] = []
        cand_busy = _busy(invited, "applications", "application_id", None, problems)
        people = frames["people"]
        panel_ids = {
            _t(r["person_id"])
            for _, r in people.iterrows()
            if is_true(r.get("interviews")) or _t(r.get("role")) == "supporting worker"
        }
        panel_busy = _busy(people, "people", "person_id", panel_ids, problems)
        if problems:
            raise SheetProblems(problems)
        candidates, names = [], {}
        for _, r in invited.iterrows():
            app = _t(r["application_id"])
            letter = letters.get(app)
            if not letter:
                res.attention.append(
                    f"Application {app} is invited but has no candidate letter "
                    "yet: run 'corecruit redact', then this again."
                )
                continue
            candidates.append(Candidate(letter, tuple(cand_busy.get(app, []))))
            name = " ".join(
                x
                for x in (
                    _t(r.get("preferred_name")) or _t(r.get("first_name")),
                    _t(r.get("last_name")),
                )
                if x
            )
            names[letter] = (app, name)
        previous = {
            b.candidate: b.starts for b in blocks_from_frame(frames["timetable"]) if b.candidate
        }
        days = interview_days(frames["dates"], ctx)
        result = build_timetable(candidates, days, ctx.campaign.interviews, panel_busy, previous)
        if not result.ok:
            raise NoTimetable(result.problems)
        staff_df = staff_timetable_frame(result, names)
        panel_df = timetable_frame(result)
        old = frames["timetable"]
        same = len(old) == len(staff_df) and all(
            [_t(a) for a in old[c].tolist()] == [_t(b) for b in staff_df[c].tolist()]
            for c in staff_df.columns
        )
        if not same:
            with panel.locked():
                panel.read(["timetable"])
                res.rows_written += panel.write({"timetable": panel_df})
            with staff.locked():
                staff.read(["timetable"])
                res.rows_written += staff.write({"timetable": staff_df})
            res.api_calls += 4
        res.attention.extend(result.notes)  # what moved from the plan, and why
        for letter in result.moved:
            res.attention.append(
                f"Candidate {letter}'s interview time has changed. The next "
                "reminders run sends them a corrected invitation."
            )
        tz = ctx.settings.org.organisation.timezone
        events = []
        domain = mail_domain(ctx.settings.org.mail.from_address)
        venues = {}
        for _, r in frames["dates"].iterrows():
            if _t(r.get("event")).lower().startswith("interview day") and isinstance(
                r.get("starts_at"), dt.datetime
            ):
                venues[r["starts_at"].date()] = _t(r.get("venue"))
        for b in result.blocks:
            events.append(
                CalendarEvent(
                    uid=make_uid(ctx.campaign.id, "timetable", b.starts.isoformat(), domain=domain),
                    summary=b.activity,
                    starts=b.starts,
                    ends=b.ends,
                    location=venues.get(b.day) or ctx.campaign.interviews.venue,
                )
            )
        _write_ics(
            ctx.settings.workspace / ctx.campaign.id / "calendar" / "timetable.ics",
            calendar(events, tz=tz, stamp=ctx.now()),
        )
        n = len(result.interviews())
        res.detail = (
            f"{n} interview(s) over {len({b.day for b in result.interviews().values()})} day(s)"
            + ("" if not same else "; no change")
            + "".join(f". {x.rstrip('.')}" for x in result.notes)
            if n
            else "no candidates are marked 'invited' yet, so there is no timetable"
        )
    return res
