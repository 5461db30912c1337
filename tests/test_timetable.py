"""The interview timetable: the guidance's example day, more days, availability, no fit."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from remind_support import give_letters, move_event, no_personal_data, set_cell, set_status

from automations.cli import main
from automations.config import Settings
from automations.config.models import InterviewPlan
from automations.context import Context
from automations.errors import SheetProblems
from automations.jobs.timetable import NoTimetable, timetable_job
from automations.transforms.ics import parse_events
from automations.transforms.timetable import (
    Candidate,
    InterviewDay,
    build_timetable,
    parse_unavailable,
    timetable_frame,
)

MON, TUE, WED = dt.date(2027, 2, 8), dt.date(2027, 2, 9), dt.date(2027, 2, 10)

# The guidance's example timetable, word for word in its times.
GUIDANCE = [
    ("09:45", "10:00", "Panel arrival, time to get a drink and get comfortable in the room"),
    ("10:00", "10:30", "Recap on questions, plan for the day"),
    ("10:30", "11:30", "Candidate A interview, scoring and comfort break"),
    ("11:30", "12:30", "Candidate B interview, scoring and comfort break"),
    ("12:30", "13:30", "Lunch"),
    ("13:30", "14:30", "Candidate C interview, scoring and comfort break"),
    ("14:30", "15:30", "Candidate D interview, scoring and comfort break"),
    ("15:30", "16:00", "Overall decision making with all panels"),
]


def rows(result: object, day: dt.date | None = None) -> list[tuple[str, str, str]]:
    df = timetable_frame(result)  # type: ignore[arg-type]
    if day:
        df = df[df["day"] == day]
    return list(zip(df["starts"], df["ends"], df["activity"], strict=True))


def cands(letters: str, busy: dict[str, str] | None = None) -> list[Candidate]:
    busy = busy or {}
    return [Candidate(x, tuple(parse_unavailable(busy.get(x, "")))) for x in letters]


def test_the_example_config_gives_the_guidance_day_exactly(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(cands("ABCD"), [InterviewDay(MON), InterviewDay(TUE)], plan)
    assert res.ok
    assert rows(res) == GUIDANCE
    assert res.days() == [MON]  # four candidates: one day, the second is not needed
    a = res.interviews()["A"]
    assert (a.interview_ends - a.starts) == dt.timedelta(minutes=40)  # then scoring and a break


def test_six_candidates_take_two_days_filling_the_first(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(cands("ABCDEF"), [InterviewDay(MON), InterviewDay(TUE)], plan)
    assert res.ok
    assert rows(res, MON)[:-1] == GUIDANCE[:-1]
    assert "after the last interview day" in rows(res, MON)[-1][2]
    assert rows(res, TUE) == [
        ("09:45", "10:00", GUIDANCE[0][2]),
        ("10:00", "10:30", GUIDANCE[1][2]),
        ("10:30", "11:30", "Candidate E interview, scoring and comfort break"),
        ("11:30", "12:30", "Candidate F interview, scoring and comfort break"),
        ("12:30", "13:00", "Overall decision making with all panels"),
    ]
    per_day = {d: sum(1 for b in res.day_blocks(d) if b.kind == "interview") for d in res.days()}
    assert per_day == {MON: 4, TUE: 2}


def test_never_more_than_four_a_day(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(
        cands("ABCDEFGHI"), [InterviewDay(MON), InterviewDay(TUE), InterviewDay(WED)], plan
    )
    assert res.ok
    counts = [sum(1 for b in res.day_blocks(d) if b.kind == "interview") for d in res.days()]
    assert counts == [4, 4, 1]


def test_a_panel_members_caring_time_moves_the_day(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    busy = {"p03": parse_unavailable("2027-02-09 09:00-11:00")}
    res = build_timetable(cands("ABCDEF"), [InterviewDay(MON), InterviewDay(TUE)], plan, busy)
    assert res.ok
    tue = res.day_blocks(TUE)
    assert tue[0].starts == dt.datetime(2027, 2, 9, 11, 0)  # arrival after p03 is free
    assert all(not b.starts < dt.datetime(2027, 2, 9, 11) for b in tue)
    assert rows(res, MON)[:-1] == GUIDANCE[:-1]  # Monday is untouched


def test_lunch_may_overlap_a_panel_members_short_absence(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    busy = {"p05": parse_unavailable("2027-02-08 12:45-13:15")}
    res = build_timetable(cands("ABCD"), [InterviewDay(MON)], plan, busy)
    assert rows(res) == GUIDANCE


def test_candidates_unavailability_decides_their_slot(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(cands("ABCD", {"A": "2027-02-08 morning"}), [InterviewDay(MON)], plan)
    assert res.ok
    starts = {x: b.starts.time() for x, b in res.interviews().items()}
    assert starts["A"] >= dt.time(13, 30)
    assert sorted(starts.values()) == [
        dt.time(10, 30),
        dt.time(11, 30),
        dt.time(13, 30),
        dt.time(14, 30),
    ]


def test_a_candidate_never_free_is_said_plainly(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(
        cands("ABC", {"B": "2027-02-08 to 2027-02-09"}),
        [InterviewDay(MON), InterviewDay(TUE)],
        plan,
    )
    assert not res.ok
    assert "Candidate B is not available at any interview time on the interview days." in (
        res.problems
    )
    assert res.blocks == []


def test_too_many_candidates_for_the_days(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(cands("ABCDEFGHIJ"), [InterviewDay(MON), InterviewDay(TUE)], plan)
    assert not res.ok
    assert "10 candidates need at least 3 interview days" in res.problems[0]
    assert "interview day 3" in res.problems[0]


def test_panel_not_free_on_any_day(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    busy = {"p02": parse_unavailable("2027-02-08; 2027-02-09 13:00-17:00")}
    res = build_timetable(cands("ABCDE"), [InterviewDay(MON), InterviewDay(TUE)], plan, busy)
    assert not res.ok
    text = " ".join(res.problems)
    assert "On Monday 8 February 2027 no interview day fits: p02 is not available" in text
    assert "On Tuesday 9 February 2027 only 2 interview(s) fit" in text
    assert "5 candidates and at most 2 interview times" in text


def test_45_minute_interviews_take_an_early_lunch() -> None:
    plan = InterviewPlan(interview_minutes=45, slot_minutes=75)
    res = build_timetable(cands("ABCD"), [InterviewDay(MON)], plan)
    assert res.ok
    got = [(s, e, a.split(" interview")[0]) for s, e, a in rows(res)]
    assert got == [
        ("09:45", "10:00", "Panel arrival, time to get a drink and get comfortable in the room"),
        ("10:00", "10:30", "Recap on questions, plan for the day"),
        ("10:30", "11:45", "Candidate A"),
        ("11:45", "12:45", "Lunch"),
        ("12:45", "14:00", "Candidate B"),
        ("14:00", "15:15", "Candidate C"),
        ("15:15", "16:30", "Candidate D"),
        ("16:30", "17:00", "Overall decision making with all panels"),
    ]


def test_the_interview_length_is_kept_within_the_guidance() -> None:
    with pytest.raises(ValueError):
        InterviewPlan(interview_minutes=60)
    with pytest.raises(ValueError):
        InterviewPlan(max_per_day=5)


def test_a_later_arrival_agreed_in_the_dates_tab_moves_the_day(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    res = build_timetable(cands("AB"), [InterviewDay(MON, dt.time(10, 15))], plan)
    assert [r[:2] for r in rows(res)] == [
        ("10:15", "10:30"),
        ("10:30", "11:00"),
        ("11:00", "12:00"),
        ("12:00", "13:00"),
        ("13:00", "13:30"),
    ]


def test_earlier_times_are_kept_when_a_candidate_withdraws(settings: Settings) -> None:
    plan = settings.campaign(None).interviews
    days = [InterviewDay(MON), InterviewDay(TUE)]
    first = build_timetable(cands("ABCDEF"), days, plan)
    previous = {x: b.starts for x, b in first.interviews().items()}
    again = build_timetable(cands("ACDEF"), days, plan, previous=previous)  # B withdrew
    assert again.ok and again.moved == []
    assert {x: b.starts for x, b in again.interviews().items()} == {
        x: t for x, t in previous.items() if x != "B"
    }
    free = [b for b in again.blocks if b.kind == "free"]
    assert [b.starts for b in free] == [previous["B"]]
    # a staff swap in the timetable is kept too
    swapped = {**previous, "A": previous["C"], "C": previous["A"]}
    res = build_timetable(cands("ABCDEF"), days, plan, previous=swapped)
    assert {x: b.starts for x, b in res.interviews().items()} == swapped


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2027-02-09", [("2027-02-09 00:00", "2027-02-10 00:00")]),
        ("09/02/2027", [("2027-02-09 00:00", "2027-02-10 00:00")]),
        ("2027-02-09 09:00-11:00", [("2027-02-09 09:00", "2027-02-09 11:00")]),
        ("2027-02-09 9am - 11.30am", [("2027-02-09 09:00", "2027-02-09 11:30")]),
        ("2027-02-09 2-4pm", [("2027-02-09 14:00", "2027-02-09 16:00")]),
        (
            "2027-02-09 afternoon; 2027-02-10 morning",
            [("2027-02-09 12:00", "2027-02-10 00:00"), ("2027-02-10 00:00", "2027-02-10 13:00")],
        ),
        ("2027-02-15 to 2027-02-17", [("2027-02-15 00:00", "2027-02-18 00:00")]),
        ("", []),
    ],
)
def test_unavailability_forms(text: str, expected: list[tuple[str, str]]) -> None:
    got = [
        (b.starts.strftime("%Y-%m-%d %H:%M"), b.ends.strftime("%Y-%m-%d %H:%M"))
        for b in parse_unavailable(text)
    ]
    assert got == expected


def test_bad_unavailability_never_repeats_the_cell() -> None:
    with pytest.raises(ValueError) as exc:
        parse_unavailable("2027-02-09; hospital appointment for my son")
    assert "entry 2" in str(exc.value)
    assert "hospital" not in str(exc.value)


# ----------------------------------------------------------------------------- the job


def test_job_writes_letters_to_the_panel_and_names_to_staff(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0004", "0006"], "invited")
    res = timetable_job(ctx)
    assert "4 interview(s) over 1 day(s)" in res.detail
    panel = ctx.stores.panel.read_one("timetable")
    assert list(zip(panel["starts"], panel["ends"], panel["activity"], strict=True)) == GUIDANCE
    panel_text = panel.to_csv()
    assert no_personal_data(panel_text) == []
    staff = ctx.stores.staff.read_one("timetable")
    named = dict(zip(staff["candidate_letter"], staff["candidate_name"], strict=True))
    assert named["A"] == "Frank Bell" and named["C"] == "Joy Hill"
    assert staff.loc[staff["candidate_letter"] == "A", "interview_ends"].item() == "11:10"
    cal = (ctx.settings.workspace / ctx.campaign.id / "calendar" / "timetable.ics").read_text()
    events = parse_events(cal)
    assert len(events) == 8
    assert events[2]["SUMMARY"] == "Candidate A interview, scoring and comfort break"
    assert events[2]["DTSTART"] == "20270208T103000Z"  # February: GMT
    assert no_personal_data("\n".join(x for x in cal.splitlines() if not x.startswith("UID"))) == []
    # run again: nothing changes, nothing is rewritten
    again = timetable_job(ctx)
    assert again.rows_written == 0 and "no change" in again.detail


def test_job_uses_people_and_candidates_unavailability(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, list(ctx.stores.staff.read_one("applications")["application_id"]), "invited")
    set_cell(ctx, "applications", {"application_id": "0001"}, unavailable="2027-02-08")
    res = timetable_job(ctx)  # p03 (example data) cannot do 9-11 on the 9th
    assert "6 interview(s) over 2 day(s)" in res.detail
    staff = ctx.stores.staff.read_one("timetable")
    c = staff[staff["candidate_letter"] == "C"].iloc[0]  # application 0001
    assert c["day"] == TUE
    assert min(staff[staff["day"] == TUE]["starts"]) == "11:00"


def test_job_follows_dates_changed_in_the_sheet(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002"], "invited")
    move_event(ctx, "interview day", dt.datetime(2027, 2, 15, 10, 0))
    move_event(ctx, "interview day 2", dt.datetime(2027, 2, 16, 9, 45))
    timetable_job(ctx)
    staff = ctx.stores.staff.read_one("timetable")
    assert set(staff["day"]) == {dt.date(2027, 2, 15)}
    assert staff["starts"].iloc[0] == "10:00"


def test_job_says_plainly_when_nothing_fits_and_writes_nothing(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, list(ctx.stores.staff.read_one("applications")["application_id"]), "invited")
    set_cell(ctx, "people", {"person_id": "p01"}, unavailable="2027-02-08; 2027-02-09")
    with pytest.raises(NoTimetable) as exc:
        timetable_job(ctx)
    assert "p01" in str(exc.value) and no_personal_data(str(exc.value)) == []
    assert ctx.stores.panel.read_one("timetable").empty
    assert ctx.stores.staff.read_one("timetable").empty


def test_bad_unavailability_cell_is_located(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001"], "invited")
    set_cell(ctx, "applications", {"application_id": "0001"}, unavailable="when my mum is ill")
    with pytest.raises(SheetProblems) as exc:
        timetable_job(ctx)
    p = exc.value.problems[0]
    assert (p.tab, p.row, p.column) == ("applications", 2, "unavailable")
    assert "mum" not in str(exc.value)


def test_cli_timetable_explains_no_fit(ctx: Context, config_dir: object) -> None:
    give_letters(ctx)
    set_status(ctx, list(ctx.stores.staff.read_one("applications")["application_id"]), "invited")
    set_cell(ctx, "people", {"person_id": "p02"}, unavailable="2027-02-08 to 2027-02-09")
    out = CliRunner().invoke(main, ["--config", str(config_dir), "timetable"])
    assert out.exit_code == 1
    assert "No timetable fits" in out.output
    assert "no interview day fits: p02 is not available" in out.output
    set_cell(ctx, "people", {"person_id": "p02"}, unavailable="")
    ok = CliRunner().invoke(main, ["--config", str(config_dir), "timetable"])
    assert ok.exit_code == 0, ok.output
    assert "6 interview(s) over 2 day(s)" in ok.output
