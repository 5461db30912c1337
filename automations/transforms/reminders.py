"""Which messages are due today, to whom, and with what details. Pure: no I/O.

Rules come from the campaign config (``[[reminders]]``); dates come from the staff
workbook's ``dates`` tab, so when staff change a date there the reminders follow.

Rules about the same event for the same audience form one *stream* (for example
"interview day, 7 days before" and "interview day, 1 day before"). For each person
and occasion, only the stream's latest due stage is sent, so someone added late,
or a run missed for a few days, gets one up-to-date message, not a pile.

Each message has a deterministic key ``rule|person|campaign|occasion`` and a
fingerprint of its *facts* (date, time, place, link, timetable). When the facts
change after a message went out, the stream sends a corrected version
(``…|v2``) instead of repeating the old one; when they have not changed, nothing
is sent again, however often the job runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..config.models import CampaignConfig, OrganisationConfig, ReminderRule
from .ics import CalendarEvent, make_uid
from .messages import (
    DELIVERED,
    FORM_LINK_RULE,
    Recipient,
    base_key,
    candidate_recipient,
    clock,
    fingerprint,
    form_link_key,
    log_index,
    long_date,
    mail_domain,
    money,
    person_recipient,
    plain_number,
    recipient_context,
    scores_on_paper,
    short_name,
    version_key,
    when,
)
from .timetable import Block
from .values import is_true
from .values import text as _text

INVITED = ("invited", "interviewed", "offered", "accepted", "declined")
DATE_EVENTS = (
    "recruitment agreed",
    "shortlisting opens",
    "shortlisting deadline",
    "preparation meeting",
    "interview day",
    "decision meeting",
    "feedback meeting",
    "start date",
    "check-in",
)
STATUS_EVENTS = ("invited", "interview", "offer answered")
# Rules with these templates are sent by their own job's path (the rewards statement is
# built from the ledger), which the remind job calls; the planner leaves them alone.
OWN_PATH_TEMPLATES = ("rewards/statement", "rewards/claim_form")
CAMPAIGN_END = "campaign end"  # the last interview day or the decision meeting, if later
EVENT_LABELS = {
    "recruitment agreed": "recruitment agreed",
    "shortlisting opens": "shortlisting",
    "shortlisting deadline": "the shortlisting deadline",
    "preparation meeting": "the preparation meeting",
    "interview day": "the interview day",
    "decision meeting": "the decision meeting",
    "feedback meeting": "the feedback meeting",
    "start date": "the start date",
    "check-in": "the three-month check-in",
    "interview": "your interview",
}
CALENDAR_EVENTS = (
    "preparation meeting",
    "interview day",
    "decision meeting",
    "feedback meeting",
    "check-in",
    "interview",
    "invited",
)


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise ValueError("date")  # pragma: no cover


# ------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Event:
    """One row of the dates tab (or a derived date such as the check-in)."""

    name: str  # e.g. 'interview day 2'
    kind: str  # e.g. 'interview day'
    starts: dt.datetime
    ends: dt.datetime | None = None
    venue: str = ""
    video_link: str = ""
    notes: str = ""


@dataclass
class World:
    """Everything the planner looks at, already read from the workbooks."""

    campaign: CampaignConfig
    org: OrganisationConfig
    now: dt.datetime
    people: pd.DataFrame
    applications: pd.DataFrame
    letters: Mapping[str, str]  # application_id -> candidate letter (not retired)
    events: Mapping[str, Event]
    timetable: Sequence[Block]
    form_links: Mapping[tuple[str, str], str]  # (person_id, stage) -> url
    log: pd.DataFrame  # sent_messages


@dataclass
class Planned:
    """One message to send (or to hand to staff), with everything a template needs."""

    rule: ReminderRule
    recipient: Recipient
    occasion: str
    version: int
    key: str
    content_hash: str
    correction: bool
    context: dict[str, Any]
    calendar: list[CalendarEvent] = field(default_factory=list)
    calendar_method: str = "REQUEST"
    retry: bool = False  # an earlier attempt failed or never happened

    @property
    def base_key(self) -> str:
        return self.key.split("|v")[0]


@dataclass
class Plan:
    messages: list[Planned] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # things held back, with the reason


def in_audience(row: Mapping[str, Any], who: str) -> bool:
    """Whether a People row is in a reminder rule's audience (not 'admin', not candidates)."""
    role = _text(row.get("role"))
    kind = _text(row.get("kind"))
    return {
        "pwle": kind == "lived experience",
        "panel": role in ("chair", "panel member", "supporting worker"),
        "shortlisters": is_true(row.get("shortlists")),
        "interviewers": is_true(row.get("interviews")) or role == "supporting worker",
        "everyone": True,
    }.get(who, False)


def audience(world: World, who: str) -> list[tuple[Recipient, Mapping[str, Any]]]:
    """People in an audience, in person id order (candidates are handled per event)."""
    out = []
    if who == "admin":
        return [(Recipient("admin", "admin", "there", world.org.organisation.admin_email), {})]
    for _, row in world.people.iterrows():
        r = row.to_dict()
        if _text(r.get("person_id")) and in_audience(r, who):
            out.append((person_recipient(r), r))
    return sorted(out, key=lambda x: x[0].id)


def campaign_end(events: dict[str, Event], campaign: CampaignConfig) -> dt.date | None:
    """The day of the campaign's last activity: the last interview day or the decision
    meeting, whichever is later (the dates tab first, the campaign file if it has none)."""
    days = [
        e.starts.date() for e in events.values() if e.kind in ("interview day", "decision meeting")
    ]
    if not days:
        d = campaign.dates
        days = list(d.interview_days) + ([d.decision_meeting.date()] if d.decision_meeting else [])
    return max(days, default=None)


def rule_day(
    events: Mapping[str, Event], campaign: CampaignConfig, event: str, first: bool = False
) -> dt.date | None:
    """The day of a rule's event (several, e.g. interview days: the last one, or the
    ``first``); ``campaign end`` is :func:`campaign_end`."""
    if event == CAMPAIGN_END:
        return campaign_end(dict(events), campaign)
    days = [e.starts.date() for e in events.values() if event in (e.name, e.kind)]
    return (min if first else max)(days, default=None)


def _rule_window(rule: ReminderRule, event_day: dt.date | None) -> tuple[dt.date, dt.date]:
    """The days on which this rule's stage may be sent."""
    if rule.event in ("invited",):
        end = (event_day - dt.timedelta(days=1)) if event_day else dt.date.max
        return dt.date.min, end
    if rule.event == "offer answered" or event_day is None:
        return dt.date.min, dt.date.max
    due = event_day - dt.timedelta(days=rule.days_before) + dt.timedelta(days=rule.days_after)
    if rule.days_before > 0:
        return due, event_day - dt.timedelta(days=1)
    return due, due + dt.timedelta(days=rule.catch_up_days)


OPENS = "shortlisting opens"


def opening_reminder_due(
    campaign: CampaignConfig,
    events: Mapping[str, Event],
    today: dt.date,
    person: Mapping[str, Any],
) -> str:
    """The id of a reminder rule for the day shortlisting opens that goes to ``person``
    today ('' when none does). Its message carries their own shortlisting link, so
    ``forms push`` leaves the link to it: one email on the day, not two. Before and after
    the rule's days (its catch-up days included), ``forms push`` sends the link itself."""
    day = rule_day(events, campaign, OPENS)
    if day is None:
        return ""
    for rule in campaign.reminders:
        if rule.event != OPENS or rule.template in OWN_PATH_TEMPLATES:
            continue
        start, end = _rule_window(rule, day)
        if start <= today <= end and in_audience(person, rule.audience):
            return rule.id
    return ""


def link_carried(
    p: Planned, form_links: pd.DataFrame, campaign_id: str
) -> dict[str, dict[str, Any]]:
    """The score form link email an opening reminder stands in for: its log row, keyed as
    ``forms push`` keys it (so that link is not sent again on its own). None for a
    person who scores on paper: their own letter about the sheets still goes."""
    link = _text(p.context.get("form_link"))
    if p.rule.event != OPENS or not link or scores_on_paper(p.recipient):
        return {}
    for _, r in form_links.iterrows():
        pid, stage = _text(r.get("person_id")), _text(r.get("stage"))
        if pid == p.recipient.id and stage == "shortlisting" and _text(r.get("url")) == link:
            key = form_link_key(pid, campaign_id, stage, _text(r.get("form_id")))
            return {
                key: {
                    "rule": FORM_LINK_RULE,
                    "person_id": pid,
                    "occasion": stage,
                    "note": f"Sent with the '{p.rule.id}' message.",
                }
            }
    return {}


def reward_lines(org: OrganisationConfig) -> tuple[list[str], list[str]]:
    """The reward policy in words: (payments for time, expenses)."""
    unit_words = {
        "hour": "an hour",
        "half day": "for a half day",
        "full day": "for a full day",
        "session": "a session",
    }
    pay = []
    for name, rate in org.rewards.rates.items():
        line = f"{name[:1].upper()}{name[1:]}: {money(rate.amount)} {unit_words[rate.unit]}"
        if rate.max_hours is not None and rate.unit == "hour":
            line += f", for up to {plain_number(rate.max_hours)} hours"
        pay.append(line)
    exp = []
    for e in org.rewards.expenses:
        cap = f", up to {money(e.cap)}" if e.cap is not None else ""
        receipts = " (please keep your receipts)" if e.receipt_required else ""
        text = {
            "travel": "Travel to and from meetings",
            "mileage": (
                f"Mileage at {plain_number(e.rate_per_mile * 100)}p a mile"
                if e.rate_per_mile is not None
                else "Mileage"
            ),
            "carer": "Care for someone you look after while you take part",
            "childcare": "Childcare while you take part",
            "meal": "A meal on a long day",
        }[e.kind]
        exp.append(f"{text}{cap}{receipts}")
    return pay, exp


# ----------------------------------------------------------------- planning


def events_from_dates(dates: pd.DataFrame, campaign: CampaignConfig) -> dict[str, Event]:
    """Events by name from the dates tab; the check-in defaults to 3 months after the start."""
    plan = campaign.interviews
    out: dict[str, Event] = {}
    for _, r in dates.iterrows():
        name = _text(r.get("event")).lower()
        starts = r.get("starts_at")
        if not name or not isinstance(starts, dt.datetime):
            continue
        kind = "interview day" if name.startswith("interview day") else name
        ends = r.get("ends_at") if isinstance(r.get("ends_at"), dt.datetime) else None
        if ends is not None and (ends <= starts or ends.date() != starts.date()):
            ends = None  # staff moved the start and not the end: the old end no longer fits
        out[name] = Event(
            name,
            kind,
            starts,
            ends,
            _text(r.get("venue")),
            _text(r.get("video_link")),
            _text(r.get("notes")),
        )
    if "check-in" not in out and "start date" in out:
        day = add_months(out["start date"].starts.date(), 3)
        starts = dt.datetime.combine(day, dt.time(10))
        out["check-in"] = Event(
            "check-in",
            "check-in",
            starts,
            starts + dt.timedelta(hours=1),
            plan.venue,
            plan.video_link,
        )
    return out


class _Planner:
    def __init__(self, world: World) -> None:
        self.w = world
        self.today = world.now.date()
        self.logs = log_index(world.log)
        self.plan = Plan()
        self.camp = world.campaign
        self.cid = world.campaign.id
        self.people_rows = {
            (_text(r.get("person_id"))): r.to_dict()
            for _, r in world.people.iterrows()
            if _text(r.get("person_id"))
        }
        self.apps = {
            (_text(r.get("application_id"))): r.to_dict()
            for _, r in world.applications.iterrows()
            if _text(r.get("application_id"))
        }
        self.slots = {b.candidate: b for b in world.timetable if b.candidate}
        self.has_timetable = any(b.candidate for b in world.timetable)
        self._said: set[str] = set()

    def note(self, text: str, waiting: bool = False) -> None:
        if text in self._said:
            return
        self._said.add(text)
        (self.plan.waiting if waiting else self.plan.attention).append(text)

    # ---- common context

    def common(self, r: Recipient) -> dict[str, Any]:
        return recipient_context(self.camp, self.w.org, r)

    def event_context(self, ev: Event, timed: bool = True) -> dict[str, Any]:
        return {
            "name": ev.name,
            "label": EVENT_LABELS.get(ev.kind, ev.name),
            "when": when(ev.starts, ev.ends, timed=timed),
            "date": long_date(ev.starts.date()),
            "time": clock(ev.starts),
            "ends": clock(ev.ends) if ev.ends else "",
            "venue": ev.venue,
            "video_link": ev.video_link,
            "notes": ev.notes,
        }

    def event_facts(self, ev: Event) -> dict[str, Any]:
        return {
            "starts": ev.starts.isoformat(),
            "ends": ev.ends.isoformat() if ev.ends else "",
            "venue": ev.venue,
            "video_link": ev.video_link,
            "notes": ev.notes,
        }

    def key_dates(self) -> dict[str, str]:
        ev = self.w.events
        out = {}
        if "shortlisting opens" in ev and "shortlisting deadline" in ev:
            out["shortlisting"] = (
                f"from {long_date(ev['shortlisting opens'].starts.date())} to "
                f"{long_date(ev['shortlisting deadline'].starts.date())}"
            )
        if "preparation meeting" in ev:
            out["preparation meeting"] = when(ev["preparation meeting"].starts)
        days = sorted(e.starts.date() for e in ev.values() if e.kind == "interview day")
        if days:
            out["interviews"] = " and ".join(long_date(d) for d in days)
        if "decision meeting" in ev:
            out["decision meeting"] = when(ev["decision meeting"].starts)
        if "feedback meeting" in ev:
            out["feedback meeting"] = when(ev["feedback meeting"].starts)
        return out

    def panel_intros(self) -> list[str]:
        """How each interview panel member chose to be introduced. Nothing else is said."""
        rows = []
        for pid, r in self.people_rows.items():
            role = _text(r.get("role"))
            if not (is_true(r.get("interviews")) or role == "supporting worker"):
                continue
            intro = _text(r.get("introduction")) or short_name("", _text(r.get("name")), pid)
            rows.append((0 if role == "chair" else 1, intro.casefold(), intro))
        return [x[2] for x in sorted(rows)]

    def questions(self) -> list[dict[str, str]]:
        out = []
        for q in self.camp.questions:
            asker = ""
            if q.asker and q.asker in self.people_rows:
                r = self.people_rows[q.asker]
                asker = short_name(_text(r.get("introduction")), _text(r.get("name")), "")
            out.append({"text": q.text, "asker": asker})
        return out

    def day_timetable(self, day: dt.date) -> list[dict[str, str]]:
        return [
            {"starts": clock(b.starts), "ends": clock(b.ends), "activity": b.activity}
            for b in self.w.timetable
            if b.day == day
        ]

    # ---- occasions

    def occasions(self, rule: ReminderRule) -> list[tuple[str, dt.date | None, Recipient | None]]:
        """(occasion, event day, fixed recipient) for a rule's event."""
        ev = rule.event
        out: list[tuple[str, dt.date | None, Recipient | None]] = []
        if ev in ("invited", "interview"):
            for app_id, r in sorted(self.apps.items()):
                if _text(r.get("status")) not in (("invited",) if ev == "invited" else INVITED):
                    continue
                letter = self.w.letters.get(app_id, "")
                slot = self.slots.get(letter) if letter else None
                if slot is None:
                    self.note(
                        f"Application {app_id} is invited to interview but has no interview time "
                        "yet, so its letters wait. Run 'corecruit redact' and 'corecruit "
                        "timetable'.",
                        waiting=True,
                    )
                    continue
                occ = "invitation" if ev == "invited" else "interview"
                out.append((occ, slot.day, candidate_recipient(r, letter)))
            return out
        if ev == "offer answered":
            for app_id, r in sorted(self.apps.items()):
                status = _text(r.get("status"))
                if status in ("accepted", "declined"):
                    letter = self.w.letters.get(app_id, "")
                    out.append((f"{letter or app_id} {status}", None, None))
            return out
        if ev == "interview day":
            names = sorted(
                (e for e in self.w.events.values() if e.kind == "interview day"),
                key=lambda e: e.starts,
            )
            return [(e.name, e.starts.date(), None) for e in names]
        if ev in self.w.events:
            return [(ev, self.w.events[ev].starts.date(), None)]
        return []

    def recipients(self, rule: ReminderRule) -> list[tuple[Recipient, Mapping[str, Any]]]:
        if rule.audience == "new worker":
            out = []
            for app_id, r in sorted(self.apps.items()):
                if _text(r.get("status")) == "accepted":
                    out.append(
                        (candidate_recipient(r, self.w.letters.get(app_id, ""), "new worker"), r)
                    )
            return out
        return audience(self.w, rule.audience)

    # ---- facts and context for one message

    def details(
        self, rule: ReminderRule, occasion: str, r: Recipient
    ) -> tuple[dict[str, Any], dict[str, Any], list[CalendarEvent], str] | None:
        """(facts, context, calendar events, method), or None when it must wait."""
        ctx = self.common(r)
        facts: dict[str, Any] = {}
        cal: list[CalendarEvent] = []
        method = "REQUEST"
        kind = rule.event
        plan = self.camp.interviews
        ctx.update(
            {
                "reminder": False,
                "days_before": rule.days_before,
                "cancelled": False,
                "form_link": "",
                "feedback_link": "",
                "timetable": [],
                "dates": self.key_dates(),
            }
        )
        uid_domain = mail_domain(self.w.org.mail.from_address)
        if kind in ("invited", "interview"):
            slot = self.slots[r.letter]
            day_ev = next(
                (
                    e
                    for e in self.w.events.values()
                    if e.kind == "interview day" and e.starts.date() == slot.day
                ),
                None,
            )
            venue = day_ev.venue if day_ev and day_ev.venue else plan.venue
            video = day_ev.video_link if day_ev and day_ev.video_link else plan.video_link
            ends = slot.interview_ends or (
                slot.starts + dt.timedelta(minutes=plan.interview_minutes)
            )
            ctx["interview"] = {
                "when": when(slot.starts, ends),
                "date": long_date(slot.day),
                "time": clock(slot.starts),
                "ends": clock(ends),
                "minutes": int((ends - slot.starts).total_seconds() // 60),
                "arrive_by": clock(slot.starts - dt.timedelta(minutes=15)),
                "venue": venue,
                "video_link": video,
                "letter": r.letter,
            }
            ctx["questions"] = self.questions()
            ctx["panel"] = self.panel_intros()
            facts = {
                "starts": slot.starts.isoformat(),
                "ends": ends.isoformat(),
                "venue": venue,
                "video_link": video,
                "questions": [q["text"] for q in ctx["questions"]],
            }
            cal.append(
                CalendarEvent(
                    uid=make_uid(self.cid, "interview", r.id, domain=uid_domain),
                    summary=f"Interview: {self.camp.campaign.post}",
                    starts=slot.starts,
                    ends=ends,
                    location=venue,
                    url=video,
                    description=f"Your interview for the {self.camp.campaign.post} job.",
                    attendees=(r.email,) if r.email else (),
                )
            )
            return facts, ctx, cal, method
        if kind == "offer answered":
            letter, _, status = occasion.rpartition(" ")
            named = letter if letter and len(letter) <= 3 else ""
            ctx["outcome"] = {
                "candidate": f"Candidate {named}" if named else "the candidate",
                "accepted": status == "accepted",
            }
            ctx["event"] = {"label": "the job offer"}
            return {"status": status, "candidate": letter}, ctx, cal, method

        ev = self.w.events[occasion]
        ctx["event"] = self.event_context(
            ev, timed=ev.kind not in ("recruitment agreed", "start date")
        )
        facts = self.event_facts(ev)
        if kind == "recruitment agreed":
            pay, exp = reward_lines(self.w.org)
            ctx["pay"], ctx["expenses"] = pay, exp
            ctx["reward_choices"] = "be paid, have vouchers, or give your time without payment"
            ctx["earnings_limit"] = self.w.org.rewards.earnings_limit is not None
            # the expression-of-interest form (issue 10), when staff made one; not a fact
            ctx["form_link"] = self.w.form_links.get((r.id, "interest"), "")
            facts = {"post": self.camp.campaign.post}
        if kind in ("shortlisting opens", "shortlisting deadline"):
            link = self.w.form_links.get((r.id, "shortlisting"), "")
            ctx["form_link"] = link
            if "shortlisting deadline" in self.w.events:
                ctx["deadline"] = when(self.w.events["shortlisting deadline"].starts)
            else:
                ctx["deadline"] = ""
            facts = {**facts, "form_link": link}
        if kind == "interview day":
            if not self.has_timetable:
                self.note(
                    "Messages about the interview days wait for the timetable. Mark the "
                    "invited applications 'invited' and run 'corecruit timetable'.",
                    waiting=True,
                )
                return None
            rows = self.day_timetable(ev.starts.date())
            interviews = [b for b in self.w.timetable if b.day == ev.starts.date() and b.candidate]
            if not interviews and not rows:  # a day kept only for the decision is not cancelled
                ctx["cancelled"] = True
                method = "CANCEL"
                facts = {"cancelled": True, "day": ev.starts.date().isoformat()}
            else:
                first = min(b.starts for b in self.w.timetable if b.day == ev.starts.date())
                last = max(b.ends for b in self.w.timetable if b.day == ev.starts.date())
                ctx["event"]["when"] = when(first, last)
                ctx["event"]["time"] = clock(first)
                ctx["event"]["ends"] = clock(last)
                ctx["timetable"] = rows
                ctx["form_link"] = self.w.form_links.get((r.id, "interview"), "")
                facts = {**facts, "timetable": rows, "form_link": ctx["form_link"]}
                ev = Event(ev.name, ev.kind, first, last, ev.venue, ev.video_link, ev.notes)
            ctx["event"]["venue"] = ev.venue or plan.venue
            ctx["event"]["video_link"] = ev.video_link or plan.video_link
        if kind in ("check-in",) and rule.audience == "new worker":
            ctx["panel"] = self.panel_intros()
        if kind == "check-in":
            # the feedback form (issue 10), when there is one; not part of the facts, so
            # adding a link later never sends a corrected message
            ctx["feedback_link"] = self.w.form_links.get((r.id, "feedback"), "")
        if kind in CALENDAR_EVENTS:
            ends = ev.ends or ev.starts + dt.timedelta(hours=1)
            cal.append(
                CalendarEvent(
                    uid=make_uid(self.cid, ev.name, domain=uid_domain),
                    summary=f"{ev.kind[:1].upper()}{ev.kind[1:]}: {self.camp.campaign.post}",
                    starts=ev.starts,
                    ends=ends,
                    location=ev.venue or plan.venue,
                    url=ev.video_link or plan.video_link,
                    description=ev.notes,
                    cancelled=method == "CANCEL",
                    attendees=(r.email,) if r.email else (),
                )
            )
        return facts, ctx, cal, method

    # ---- the streams

    def run(self) -> Plan:
        groups: dict[tuple[str, str], list[ReminderRule]] = {}
        for rule in self.camp.reminders:
            if rule.template in OWN_PATH_TEMPLATES:
                continue
            groups.setdefault((rule.event, rule.audience), []).append(rule)
        for (event, _aud), rules in groups.items():
            if event not in DATE_EVENTS + STATUS_EVENTS:
                self.note(
                    f"Reminder rule '{rules[0].id}' names the event '{event}', which "
                    "corecruit does not know; it is skipped."
                )
                continue
            for occasion, day, fixed in self.occasions(rules[0]):
                people = [(fixed, {})] if fixed else self.recipients(rules[0])
                for r, _row in people:
                    self.stream(rules, occasion, day, r)
        return self.plan

    def stream(
        self, rules: Sequence[ReminderRule], occasion: str, day: dt.date | None, r: Recipient
    ) -> None:
        stages = []
        for rule in rules:
            start, end = _rule_window(rule, day)
            if start <= self.today <= end:
                stages.append((start, -rule.days_after, rule))
        bases = {x.id: base_key(x.id, r.id, self.cid, occasion) for x in rules}
        history = [row for x in rules for row in self.logs.get(bases[x.id], [])]
        if any(_text(h.get("status")) == "intended" for h in history):
            return  # an earlier send is not settled yet: never risk a second copy
        if stages:
            rule = max(stages, key=lambda s: (s[0], s[1]))[2]
        else:
            # Nothing is due, but people who were told may need a correction now rather
            # than when the next step falls due: the step they last got carries it.
            told = [x for x in history if _text(x.get("status")) in DELIVERED]
            if not told or (day is not None and self.today >= day):
                return
            last = max(told, key=lambda x: x.get("intended_at") or dt.datetime.min)
            rule = next((x for x in rules if x.id == _text(last.get("rule"))), rules[0])
        got = self.details(rule, occasion, r)
        if got is None:
            return
        facts, ctx, cal, method = got
        h = fingerprint(facts)
        mine = self.logs.get(bases[rule.id], [])
        latest = mine[-1] if mine else None
        retry = False
        if latest is None:
            version = 1
        elif _text(latest.get("status")) == "failed":
            version, retry = latest["_version"], True
        elif _text(latest.get("content_hash")) == h:
            return
        else:
            version = latest["_version"] + 1
        delivered = [x for x in history if _text(x.get("status")) in DELIVERED]
        hashes: list[str] = []
        for x in sorted(delivered, key=lambda x: x.get("sent_at") or dt.datetime.min):
            hx = _text(x.get("content_hash"))
            if hx not in hashes:
                hashes.append(hx)
        correction = bool(hashes) and h not in hashes
        if method == "CANCEL" and not delivered:
            return  # nobody was told about this day, so there is nothing to cancel
        sequence = hashes.index(h) if h in hashes else len(hashes)
        notice = len(rules) > 1 and rule.days_before == max(x.days_before for x in rules)
        ctx["reminder"] = rule.days_before > 0 and not notice
        ctx["correction"] = correction
        cal = [CalendarEvent(**{**c.__dict__, "sequence": sequence}) for c in cal]
        key = version_key(bases[rule.id], version)
        self.plan.messages.append(
            Planned(
                rule=rule,
                recipient=r,
                occasion=occasion,
                version=version,
                key=key,
                content_hash=h,
                correction=correction,
                context=ctx,
                calendar=cal,
                calendar_method=method,
                retry=retry,
            )
        )


def plan_messages(world: World) -> Plan:
    """Every message due today under the campaign's rules, given what was already sent."""
    return _Planner(world).run()


def letters_from_key(candidate_key: pd.DataFrame) -> dict[str, str]:
    """application_id -> letter, for letters not retired."""
    out = {}
    for _, r in candidate_key.iterrows():
        if is_true(r.get("retired")):
            continue
        app, letter = _text(r.get("application_id")), _text(r.get("candidate_letter"))
        if app and letter:
            out[app] = letter.removeprefix("Candidate ").strip()
    return out


def form_links_map(df: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {
        (_text(r.get("person_id")), _text(r.get("stage"))): _text(r.get("url"))
        for _, r in df.iterrows()
        if _text(r.get("url"))
    }


def summarise(messages: Iterable[Planned]) -> list[str]:
    """One line per message for logs and --dry-run: ids and roles, never names or emails."""
    out = []
    for m in messages:
        how = (
            "email"
            if m.recipient.channel == "email"
            else f"staff to contact ({m.recipient.reason})"
        )
        extra = " [corrected]" if m.correction else (" [retry]" if m.retry else "")
        out.append(f"{m.rule.id} -> {m.recipient.label}, {m.occasion}, v{m.version}, {how}{extra}")
    return out
