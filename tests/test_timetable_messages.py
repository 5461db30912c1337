"""The timetable says what moved from the plan and why, and a refusal names the block."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from automations.cli import main
from automations.config import Settings
from automations.context import Context
from automations.transforms.timetable import (
    Candidate,
    InterviewDay,
    build_timetable,
    parse_unavailable,
)
from tests.remind_support import give_letters, set_status

MON, TUE = dt.date(2027, 2, 8), dt.date(2027, 2, 9)


def _cands(letters: str) -> list[Candidate]:
    return [Candidate(x) for x in letters]


def test_a_moved_day_says_when_and_why(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    busy = {"p03": parse_unavailable("2027-02-09 09:00-11:00")}
    res = build_timetable(_cands("ABCDEF"), [InterviewDay(MON), InterviewDay(TUE)], plan, busy)
    assert res.ok
    assert res.notes == [
        "Tue 9 Feb starts at 11:00 instead of 09:45 because a panel member (p03) is not "
        "available before 11:00."
    ]


def test_a_day_as_planned_says_nothing_moved(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(_cands("ABCD"), [InterviewDay(MON)], plan)
    assert res.ok and res.notes == []


def test_a_panel_member_leaving_early_moves_the_decision_to_the_next_day(
    settings: Settings,
) -> None:
    """The guidance allows the decision "on the day or the day after": no refusal."""
    plan = settings.campaign(None).interviews
    busy = {"p02": parse_unavailable("2027-02-08 15:45-17:00")}
    res = build_timetable(_cands("ABCD"), [InterviewDay(MON)], plan, busy)
    assert res.ok
    assert len(res.interviews()) == 4 and {b.day for b in res.interviews().values()} == {MON}
    decision = [b for b in res.blocks if b.kind == "decision"]
    assert [(b.day, b.starts.time()) for b in decision] == [(TUE, dt.time(9, 45))]
    assert res.notes == [
        "The decision meeting is on Tue 9 Feb at 09:45, the day after the last interviews, "
        "because a panel member (p02) cannot stay for it on Mon 8 Feb. The guidance allows "
        "the decision on the day or the day after; to hold it at another time, change the "
        "decision meeting in the dates tab."
    ]


def test_the_decision_stays_on_the_day_when_it_fits(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(_cands("ABCD"), [InterviewDay(MON)], plan)
    assert [b.day for b in res.blocks if b.kind == "decision"] == [MON]


def test_a_refusal_names_the_block_that_does_not_fit(settings: Settings) -> None:
    """Leaving early on the day and away the day after: the decision block is named."""
    plan = settings.campaign(None).interviews
    busy = {"p02": parse_unavailable("2027-02-08 15:45-17:00; 2027-02-09")}
    res = build_timetable(_cands("ABCD"), [InterviewDay(MON)], plan, busy)
    assert not res.ok
    assert (
        "On Monday 8 February 2027 p02 is not available for the decision meeting (15:30–16:00)."
        in res.problems
    )


def test_the_timetable_command_says_what_moved(ctx: Context, config_dir: Path) -> None:
    give_letters(ctx)
    set_status(ctx, list(ctx.stores.staff.read_one("applications")["application_id"]), "invited")
    r = CliRunner().invoke(main, ["--config", str(config_dir), "timetable"])
    assert r.exit_code == 0, r.output
    # p03 (example data) cannot do 9-11 on the 9th
    assert "6 interview(s) over 2 day(s)" in r.output
    assert (
        "Tue 9 Feb starts at 11:00 instead of 09:45 because a panel member (p03) is not "
        "available before 11:00" in r.output
    )
