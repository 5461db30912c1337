"""A whole campaign, day by day on the real clock (time-machine): each message once, on its day.

Staff act on the way, as they would: they give letters, invite six candidates, make
the timetable, move the decision meeting after people were told, and record that
the job offer was accepted.
"""

from __future__ import annotations

import collections
import datetime as dt
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from remind_support import give_letters, move_event, outbox, set_status

from automations.config import Settings
from automations.context import make_context
from automations.jobs.timetable import timetable_job
from automations.pipelines import remind_job
from automations.workspace import init_campaign

LONDON = ZoneInfo("Europe/London")
D = dt.date
SHORTLISTERS = ["p01", "p02", "p03", "p05", "p07"]  # p06 prefers a phone call
INTERVIEWERS = ["p01", "p02", "p03", "p04", "p05", "p07"]
PANEL = INTERVIEWERS
EVERYONE = [*INTERVIEWERS, "p08"]
DAY1, DAY2 = ["0002", "0004", "0001", "0006"], ["0005", "0003"]  # letters A B C D | E F

# (rule, occasion, version) -> (day it must go out, who gets it by email)
EXPECTED: dict[tuple[str, str, int], tuple[D, list[str]]] = {
    ("pwle-invitation", "recruitment agreed", 1): (D(2026, 12, 1), ["p03", "p05", "p07"]),
    ("shortlisting-opens", "shortlisting opens", 1): (D(2027, 1, 11), SHORTLISTERS),
    ("preparation-meeting", "preparation meeting", 1): (D(2027, 1, 15), PANEL),
    ("shortlisting-deadline", "shortlisting deadline", 1): (D(2027, 1, 20), SHORTLISTERS),
    ("candidate-invitation", "invitation", 1): (D(2027, 1, 25), DAY1 + DAY2),
    ("preparation-meeting-reminder", "preparation meeting", 1): (D(2027, 1, 27), PANEL),
    ("interview-day", "interview day", 1): (D(2027, 2, 1), INTERVIEWERS),
    ("interview-day", "interview day 2", 1): (D(2027, 2, 2), INTERVIEWERS),
    ("decision-meeting", "decision meeting", 1): (D(2027, 2, 3), INTERVIEWERS),
    ("decision-meeting", "decision meeting", 2): (D(2027, 2, 5), INTERVIEWERS),  # moved
    ("candidate-reminder", "interview", 1): (D(2027, 2, 6), DAY1),
    ("candidate-reminder", "interview", 1, "day 2"): (D(2027, 2, 7), DAY2),  # type: ignore[dict-item]
    ("interview-day-reminder", "interview day", 1): (D(2027, 2, 7), INTERVIEWERS),
    ("interview-day-reminder", "interview day 2", 1): (D(2027, 2, 8), INTERVIEWERS),
    ("feedback-meeting", "feedback meeting", 1): (D(2027, 2, 10), PANEL),
    ("decision-meeting-reminder", "decision meeting", 1): (D(2027, 2, 10), INTERVIEWERS),
    ("offer-answered", "A accepted", 1): (D(2027, 2, 15), EVERYONE),
    ("feedback-meeting-reminder", "feedback meeting", 1): (D(2027, 2, 15), PANEL),
    ("check-in", "check-in", 1): (D(2027, 6, 14), INTERVIEWERS),
    ("check-in-new-worker", "check-in", 1): (D(2027, 6, 14), ["0002"]),
    ("check-in-reminder", "check-in", 1): (D(2027, 7, 3), INTERVIEWERS),
    ("check-in-new-worker-reminder", "check-in", 1): (D(2027, 7, 3), ["0002"]),
}


@pytest.mark.slow
def test_a_whole_campaign_each_message_once_on_its_day(settings: Settings) -> None:
    start = dt.datetime(2026, 11, 25, 9, 0, tzinfo=LONDON)
    end = dt.date(2027, 7, 12)
    with time_machine.travel(start, tick=False) as traveller:
        ctx = make_context(settings)  # no fixed clock: the (travelling) real one
        init_campaign(ctx, example=True)
        give_letters(ctx)
        day = start
        while day.date() <= end:
            traveller.move_to(day)
            today = day.date()
            if today == D(2027, 1, 25):  # shortlisting decided: six invited
                set_status(ctx, DAY1 + DAY2, "invited")
                timetable_job(ctx)
            if today == D(2027, 2, 5):  # the decision meeting moves after people were told
                move_event(ctx, "decision meeting", dt.datetime(2027, 2, 11, 10))
            if today == D(2027, 2, 12):
                set_status(ctx, ["0002"], "offered")
            if today == D(2027, 2, 15):
                set_status(ctx, ["0002"], "accepted")
            remind_job(ctx)
            if today.day in (1, 15):  # a second run the same day sends nothing more
                traveller.move_to(day + dt.timedelta(hours=6))
                assert remind_job(ctx).messages_sent == 0
            day += dt.timedelta(days=1)

    got: dict[tuple[str, str, int], dict[str, D]] = collections.defaultdict(dict)
    keys = []
    for m in outbox(ctx):
        key = str(m["X-Corecruit-Key"]).strip()
        keys.append(key)
        parts = key.split("|")
        rule, person, occasion = parts[0], parts[1], parts[3]
        version = int(parts[4][1:]) if len(parts) > 4 else 1
        sent_on = parsedate_to_datetime(str(m["Date"])).astimezone(LONDON).date()
        got[(rule, occasion, version)][person] = sent_on
    assert len(keys) == len(set(keys)), "a message went out twice"

    want: dict[tuple[str, str, int], dict[str, D]] = collections.defaultdict(dict)
    for k, (when, people) in EXPECTED.items():
        for p in people:
            want[k[:3]][p] = when  # type: ignore[index]
    assert dict(got) == dict(want)
