"""The Status tab's rows, worked out from what the jobs recorded. Pure: no I/O.

Staff work in the workbook, so what ``corecruit status`` says is written there too,
as the first tab, at the end of every run. One function makes the rows for both: the
tab and the terminal can never disagree. Three sections:

* **Needs a person now**: each thing once, with the tab title and row to go to (a
  message not confirmed as sent, each person to contact another way, open items on
  *Needs attention*, a job that keeps failing, applications held for a check...).
* **What happens next**: dated, in words, from the Dates tab, the campaign's reminder
  rules and the schedule ("Shortlisting links go out on Mon 11 Jan").
* **Last run of each job**: when, how it ended, and when it runs next (a fixed time
  from the schedule: the last run plus the interval, or the next daily time).

Nothing on it names a person: person ids, application ids and candidate letters only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..config.models import CampaignConfig
from .late import SENT_COLUMNS, sent_from_columns, waiting_for
from .messages import DELIVERED, FORM_LINK_RULE
from .reminders import (
    CAMPAIGN_END,
    DATE_EVENTS,
    campaign_end,
    clock,
    events_from_dates,
)
from .review import gate_words, review_state
from .values import is_true, text

NEEDS = "Needs a person now"
NEXT = "What happens next"
RUNS = "Last run of each job"
SECTIONS = (NEEDS, NEXT, RUNS)
COLUMNS = ("section", "item", "go_to", "when", "outcome", "next_run")

# Open items on 'Needs attention' listed one by one; past this, one line says how many more.
MAX_LISTED = 20

JOB_WORDS = {
    "redact": "Anonymise applications",
    "forms_push": "Make score forms and send links",
    "forms_collect": "Bring in scores",
    "merge": "Merge the panels' scores",
    "rewards": "Rewards ledger",
    "timetable": "Interview timetable",
    "remind": "Reminders and letters",
    "coprod": "Co-production forms",
    "papers": "Papers by post",
}

AUDIENCE_WORDS = {
    "pwle": "people with lived experience",
    "panel": "the panel",
    "shortlisters": "shortlisters",
    "interviewers": "interviewers",
    "candidates": "candidates",
    "everyone": "everyone involved",
    "new worker": "the new worker",
    "admin": "the admin",
}

# What the messages about each event are called, in the words staff use.
MESSAGE_WORDS = {
    "recruitment agreed": "Invitations to take part",
    "shortlisting deadline": "Shortlisting deadline reminders",
    "preparation meeting": "Preparation meeting letters",
    "interview day": "Interview day letters",
    "decision meeting": "Decision meeting letters",
    "feedback meeting": "Feedback meeting letters",
    "start date": "Start date letters",
    "check-in": "3-month check-in letters",
    CAMPAIGN_END: "Rewards statements",
}

# The events themselves, as a sentence before the date.
EVENT_WORDS = {
    "recruitment agreed": "Recruitment is agreed",
    "shortlisting opens": "Shortlisting opens",
    "shortlisting deadline": "Shortlisting closes",
    "preparation meeting": "Preparation meeting",
    "interview day": "Interviews",
    "decision meeting": "Decision meeting",
    "feedback meeting": "Feedback meeting",
    "start date": "The new worker starts",
    "check-in": "3-month check-in",
}

# Events whose time of day means nothing to anyone (set to 09:00 by default).
UNTIMED = ("recruitment agreed", "start date")

# Job notes that the durable records already say once, with their row: a note per
# message to contact someone another way or not sent (Messages sent says it per
# person or row), and notes pointing at 'Needs attention' (its rows are listed).
_COVERED = re.compile(r"^(Please contact |A message to )|Needs attention", re.IGNORECASE)


@dataclass(frozen=True)
class JobRun:
    """What the runner knows about one job of one campaign."""

    job: str
    last_run: dt.datetime | None = None
    outcome: str = ""  # ok | failed | skipped; '' when it never ran
    detail: str = ""
    failures: int = 0  # failed runs in a row
    next_run: dt.datetime | None = None
    attention: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusInputs:
    """Everything the Status tab is made from, already read."""

    campaign: CampaignConfig
    now: dt.datetime
    jobs: Sequence[JobRun]
    tabs: Mapping[str, pd.DataFrame]  # staff tabs by id; a tab that could not be read is absent
    titles: Mapping[str, str]  # tab id -> the title staff see
    schedule: Mapping[str, str] = field(default_factory=dict)  # job -> 'daily at 09:00' ...
    problem: str = ""  # said first instead of each tab that could not be read
    config_dates: pd.DataFrame | None = None  # the campaign file's dates, if no Dates tab


Row = dict[str, str]


@dataclass(frozen=True)
class ScoresSent:
    """All the Status rows take from *Raw scores*: whether any shortlisting score is
    there (the panel has started), and who sent shortlisting scores, when they last did
    and for which candidates. Small: a line per reviewer, not a row per score."""

    started: bool = False
    sent: Mapping[str, tuple[dt.datetime, frozenset[str]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "started": self.started,
            "sent": {p: [w.isoformat(), sorted(ls)] for p, (w, ls) in sorted(self.sent.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ScoresSent:
        sent = data.get("sent")
        return cls(
            bool(data.get("started")),
            {
                str(p): (dt.datetime.fromisoformat(w), frozenset(ls))
                for p, (w, ls) in (sent.items() if isinstance(sent, dict) else ())
            },
        )


def scores_sent(
    stages: Sequence[object],
    people: Sequence[object],
    times: Sequence[object],
    letters: Sequence[object],
) -> ScoresSent:
    """The summary of *Raw scores*' four columns (each as read: cells of one column)."""
    started = any(text(s) == "shortlisting" for s in stages)
    sent = sent_from_columns(stages, people, times, letters)
    return ScoresSent(started, {p: (w, frozenset(ls)) for p, (w, ls) in sent.items()})


def scores_frame(seen: ScoresSent) -> pd.DataFrame:
    """*Raw scores* as small as the Status rows can tell: a row per reviewer and letter,
    at their last time (and one bare shortlisting row when only such rows are there), so
    the same rules read it as they read the whole tab (``waiting_for``, ``gate_words``)."""
    rows: list[tuple[str, str, dt.datetime | None, str]] = [
        ("shortlisting", pid, when, letter)
        for pid, (when, letters) in sorted(seen.sent.items())
        for letter in sorted(letters)
    ]
    if seen.started and not rows:
        rows.append(("shortlisting", "", None, ""))
    return pd.DataFrame(rows, columns=list(SENT_COLUMNS), dtype=object)


def _row(section: str, item: str, go_to: str = "", when: str = "", **kw: str) -> Row:
    out = dict.fromkeys(COLUMNS, "")
    out.update(section=section, item=item, go_to=go_to, when=when, **kw)
    return out


def day_words(d: dt.date, today: dt.date) -> str:
    """'Mon 11 Jan' (with the year when it is not this year's)."""
    words = f"{d:%a} {d.day} {d:%b}"
    return words if d.year == today.year else f"{words} {d.year}"


def time_words(t: dt.datetime, today: dt.date) -> str:
    """'Mon 1 Feb, 9:10am'."""
    return f"{day_words(t.date(), today)}, {clock(t)}"


def _rows_text(title: str, rows: Sequence[int]) -> str:
    rows = sorted(set(rows))
    if not rows:
        return title
    return f"{title}, row{'s' if len(rows) > 1 else ''} {', '.join(str(r) for r in rows)}"


def _sheet_rows(df: pd.DataFrame, mask: pd.Series) -> list[int]:
    return [int(i) for i in df.index[mask.to_numpy()]]


# ------------------------------------------------------------ needs a person now


def _failures(inp: StatusInputs) -> list[Row]:
    out = []
    log = inp.tabs.get("run_log")
    title = inp.titles.get("run_log", "Run log")
    for j in inp.jobs:
        if j.outcome != "failed":
            continue
        go = title
        if log is not None and len(log):
            hit = log[(log["job"] == j.job) & (log["outcome"] == "failed")]
            if len(hit):
                go = _rows_text(title, [int(hit.index[-1])])
        times = "once" if j.failures <= 1 else f"{j.failures} times in a row"
        detail = j.detail.strip().rstrip(".")
        out.append(
            _row(
                NEEDS,
                f"The {j.job} job did not finish ({times}): {detail}. It is tried again at "
                "its next run.",
                go,
            )
        )
    return out


def _held(inp: StatusInputs) -> list[Row]:
    need = ("redaction_report", "candidate_key", "form_links", "dates")
    if any(t not in inp.tabs for t in need):
        return []
    state = review_state(
        inp.tabs["redaction_report"],
        inp.tabs["candidate_key"],
        required=inp.campaign.campaign.require_review,
    )
    ev = events_from_dates(inp.tabs["dates"], inp.campaign).get("shortlisting opens")
    opens = ev.starts.date() if ev is not None else inp.campaign.dates.shortlisting_opens
    words = gate_words(
        state,
        inp.tabs["form_links"],
        opens,
        inp.now.date(),
        inp.tabs.get("sent_messages"),
        inp.tabs.get("raw_scores"),
    )
    if not words:
        return []
    rows = [h.row for h in state.held if h.row is not None]
    return [_row(NEEDS, words, _rows_text(inp.titles.get("redaction_report", ""), rows))]


def _messages(inp: StatusInputs) -> list[Row]:
    sent = inp.tabs.get("sent_messages")
    if sent is None or not len(sent):
        return []
    title = inp.titles.get("sent_messages", "Messages sent")
    out = []
    status = sent["status"].map(text)
    for r in _sheet_rows(sent, status.eq("intended")):
        row = sent.loc[r]
        who, rule = text(row.get("person_id")), text(row.get("rule"))
        out.append(
            _row(
                NEEDS,
                f"Check whether this message went ('{rule}' to {who}): look in the sent mail, "
                "then set its Status to 'sent', or to 'failed' to have it sent again.",
                _rows_text(title, [r]),
            )
        )
    other = sent[status.eq("contact another way")]
    by_person: dict[str, list[int]] = {}
    for r, pid in other["person_id"].map(text).items():
        by_person.setdefault(pid or "(no id)", []).append(int(r))
    for pid, rows in sorted(by_person.items()):
        what = (
            "1 message for them is saved as a letter"
            if len(rows) == 1
            else f"{len(rows)} messages for them are saved as letters"
        )
        out.append(
            _row(
                NEEDS,
                f"Contact {pid} another way: {what} in the campaign's letters folder, to "
                "read out or post (the Note column says why). Set Status to 'sent' once "
                "they have them.",
                _rows_text(title, rows),
            )
        )
    return out


def _exceptions(inp: StatusInputs) -> list[Row]:
    exc = inp.tabs.get("exceptions")
    if exc is None or not len(exc):
        return []
    title = inp.titles.get("exceptions", "Needs attention")
    open_ = exc[~exc["resolved"].map(is_true)]
    out: list[Row] = []
    seen: set[str] = set()
    rows = list(open_.iterrows())
    for _, row in rows[:MAX_LISTED]:
        reason = text(row.get("reason"))
        if reason in seen:
            continue
        seen.add(reason)
        same = [int(i) for i, x in rows if text(x.get("reason")) == reason]
        out.append(
            _row(
                NEEDS,
                f"{reason.rstrip('.')}. Set Resolved to TRUE once it is dealt with.",
                _rows_text(title, same),
            )
        )
    more = [int(i) for i, _ in rows[MAX_LISTED:]]
    if more:
        out.append(
            _row(
                NEEDS,
                f"{len(more)} more item(s) on '{title}' to look at.",
                f"{title}, rows {more[0]} to {more[-1]}",
            )
        )
    return out


def _flags(inp: StatusInputs) -> list[Row]:
    res = inp.tabs.get("results")
    if res is None or not len(res):
        return []
    # a result with an overall score, flagged, not yet decided (a result still waiting
    # for scores is flagged "incomplete": who it waits for is said on its own line)
    mask = (
        res["flags"].map(text).ne("")
        & res["overall_score"].map(text).ne("")
        & res["decision"].map(text).eq("")
    )
    rows = _sheet_rows(res, mask)
    if not rows:
        return []
    n = len(rows)
    what = "1 result has" if n == 1 else f"{n} results have"
    return [
        _row(
            NEEDS,
            f"{what} flags to talk about at the panels' meeting (see the Flags column).",
            _rows_text(inp.titles.get("results", "Results"), rows),
        )
    ]


def _waits(inp: StatusInputs) -> list[Row]:
    links, raw = inp.tabs.get("form_links"), inp.tabs.get("raw_scores")
    if links is None or raw is None or not len(links):
        return []
    forms: dict[str, list[str]] = {}
    where: dict[str, int] = {}
    for r, row in zip(links.index, links.to_dict("records"), strict=True):
        pid = text(row.get("person_id"))
        if text(row.get("stage")) == "shortlisting" and pid:
            order = [x.strip() for x in text(row.get("candidate_order")).split(",")]
            forms[pid] = [x for x in order if x]
            where[pid] = int(r)
    waits = waiting_for(forms, raw)
    started = len(waits) < len(forms) or any(len(w) < len(forms[p]) for p, w in waits.items())
    if not waits or (inp.now.date() < _opens(inp) and not started):
        return []  # before shortlisting opens, nobody having sent is no news
    parts = []
    for pid, letters in sorted(waits.items()):
        if len(letters) == len(forms[pid]):
            parts.append(f"{pid} (not sent yet)")
        else:
            parts.append(f"{pid} (Candidate {', '.join(letters)})")
    return [
        _row(
            NEEDS,
            f"The shortlisting results wait for {'; '.join(parts)}.",
            _rows_text(inp.titles.get("form_links", "Form links"), [where[p] for p in waits]),
        )
    ]


def _notes(inp: StatusInputs) -> list[Row]:
    out = []
    for j in inp.jobs:
        for note in j.attention:
            if not _COVERED.search(note):
                out.append(_row(NEEDS, f"{note.strip()} (from the {j.job} job)"))
    return out


def _missing(inp: StatusInputs) -> list[Row]:
    if inp.problem:
        return [_row(NEEDS, inp.problem)]
    return [
        _row(
            NEEDS,
            f"The tab '{title}' could not be read, so this Status leaves out what it holds. "
            "If it was renamed, give it back its name; if it was deleted, restore it.",
        )
        for tab, title in inp.titles.items()
        if tab not in inp.tabs
    ]


def needs_a_person(inp: StatusInputs) -> list[Row]:
    """Each thing once, most urgent first, with the tab and row to go to."""
    rows = (
        _missing(inp)
        + _failures(inp)
        + _messages(inp)
        + _held(inp)
        + _exceptions(inp)
        + _waits(inp)
        + _flags(inp)
        + _notes(inp)
    )
    out, seen = [], set()
    for r in rows:
        if r["item"] not in seen:
            seen.add(r["item"])
            out.append(r)
    return out


# ------------------------------------------------------------- what happens next


def _opens(inp: StatusInputs) -> dt.date:
    ev = events_from_dates(inp.tabs.get("dates", pd.DataFrame()), inp.campaign)
    e = ev.get("shortlisting opens")
    return e.starts.date() if e is not None else inp.campaign.dates.shortlisting_opens


def _daily_time(spec: str) -> dt.time | None:
    m = re.fullmatch(r"daily at (\d{2}):(\d{2})", " ".join(spec.lower().split()))
    return dt.time(int(m.group(1)), int(m.group(2))) if m else None


def _at(day: dt.date, t: dt.time | None, today: dt.date) -> str:
    words = day_words(day, today)
    if t is None:
        return words
    return f"{words} at {clock(dt.datetime.combine(day, t))}"


def _links_sent(inp: StatusInputs) -> tuple[dt.date | None, int, int]:
    """(the day the first shortlisting link went, how many shortlisters have theirs, how
    many have a shortlisting form) from the *Messages sent* log: a link carried by the
    message that shortlisting opens is logged as sent too. (None, 0, n) before any went."""
    sent = inp.tabs.get("sent_messages")
    links = inp.tabs.get("form_links")
    forms = set()
    if links is not None and len(links):
        forms = {
            text(r.get("person_id"))
            for r in links.to_dict("records")
            if text(r.get("stage")) == "shortlisting" and text(r.get("person_id"))
        }
    if sent is None or not len(sent):
        return None, 0, len(forms)
    who: set[str] = set()
    first: dt.date | None = None
    for r in sent.to_dict("records"):
        if (
            text(r.get("rule")) != FORM_LINK_RULE
            or text(r.get("occasion")) != "shortlisting"
            or text(r.get("status")) not in DELIVERED
        ):
            continue
        who.add(text(r.get("person_id")))
        at = next(
            (t for t in (r.get("sent_at"), r.get("intended_at")) if isinstance(t, dt.datetime)),
            inp.now,
        )
        first = at.date() if first is None else min(first, at.date())
    return first, len(who & forms) if forms else len(who), len(forms) or len(who)


def _links_line(inp: StatusInputs, opens: dt.date, today: dt.date) -> tuple[dt.date, str]:
    """'Shortlisting links go out on Mon 11 Jan' until they went (the *Messages sent*
    log says so), then 'Shortlisting links went out on Mon 11 Jan' that day."""
    went, have, of = _links_sent(inp)
    if went is None:
        return opens, f"Shortlisting links go out on {day_words(opens, today)}"
    words = f"Shortlisting links went out on {day_words(went, today)}"
    if have < of:
        words += f" to {have} of {of} shortlisters; the others go at the next run"
    return (went if have >= of else max(went, today)), words


def what_happens_next(inp: StatusInputs) -> list[Row]:
    """Dated steps from today on, in date order: events and the messages about them."""
    today = inp.now.date()
    dates = inp.tabs.get("dates", inp.config_dates)
    events = events_from_dates(dates if dates is not None else pd.DataFrame(), inp.campaign)
    send_at = _daily_time(inp.schedule.get("remind", ""))
    items: list[tuple[dt.date, int, str]] = []

    def add(day: dt.date | None, order: int, words: str) -> None:
        if day is not None and day >= today:
            items.append((day, order, words))

    interview_days = sorted(e.starts.date() for e in events.values() if e.kind == "interview day")
    for ev in sorted(events.values(), key=lambda e: e.starts):
        day = ev.starts.date()
        if ev.kind == "interview day":
            continue  # all of them on one line, below
        if ev.kind == "shortlisting opens":  # the forms job sends the links that day
            when, words = _links_line(inp, day, today)
            add(when, 0, words)
            continue
        timed = ev.starts.time() != dt.time(0) and ev.kind not in UNTIMED
        words = EVENT_WORDS.get(ev.kind, ev.name[:1].upper() + ev.name[1:])
        add(day, 2, f"{words} on {_at(day, ev.starts.time() if timed else None, today)}")
    upcoming = [d for d in interview_days if d >= today]
    if upcoming:
        add(
            upcoming[0],
            2,
            "Interviews on " + " and ".join(day_words(d, today) for d in upcoming),
        )
    end = campaign_end(events, inp.campaign)
    groups: dict[tuple[str, str, dt.date], list[tuple[dt.date, str]]] = {}
    for rule in inp.campaign.reminders:
        if rule.event == "shortlisting opens":
            continue  # said once above, as the links
        if rule.event == CAMPAIGN_END:
            days = [end] if end is not None else []
        elif rule.event == "interview day":
            days = interview_days
        elif rule.event in DATE_EVENTS and rule.event in events:
            days = [events[rule.event].starts.date()]
        else:
            continue  # 'invited', 'interview', 'offer answered': when staff set a status
        for d in days:
            due = d - dt.timedelta(days=rule.days_before) + dt.timedelta(days=rule.days_after)
            groups.setdefault((rule.event, rule.audience, d), []).append((due, rule.id))
    for (event, audience, day), dues in groups.items():
        noun = MESSAGE_WORDS.get(event, f"Messages about the {event}")
        if event == "interview day" and len(interview_days) > 1:
            noun = f"{noun} (for {day_words(day, today)})"
        for i, (due, _id) in enumerate(sorted(dues)):
            what = noun if i == 0 else noun.replace(" letters", " reminders", 1)
            if i and what == noun:
                what = f"{noun} (reminder)"
            to = AUDIENCE_WORDS.get(audience, audience)
            add(due, 1, f"{what} go to {to} on {_at(due, send_at, today)}")
    items.sort()
    out, seen = [], set()
    for day, _, words in items:
        if words not in seen:
            seen.add(words)
            out.append(_row(NEXT, words, when=day_words(day, today)))
    if not out:
        out.append(_row(NEXT, "Nothing more is planned on the Dates tab."))
    return out


# ------------------------------------------------------------ last run of each job


def last_runs(inp: StatusInputs) -> list[Row]:
    """One row a job: when it last ran, how it ended, when it runs next."""
    today = inp.now.date()
    out = []
    for j in inp.jobs:
        if j.last_run is None:
            when, outcome = "not yet", ""
        else:
            when, outcome = time_words(j.last_run, today), j.outcome
        if j.outcome == "failed" and j.failures > 1:
            outcome = f"failed ({j.failures} in a row)"
        if j.next_run is None:
            nxt = "at the next start"
        else:
            nxt = time_words(j.next_run, today)
            if j.next_run <= inp.now:
                nxt += " (due)"
        item = f"{JOB_WORDS.get(j.job, j.job)} ({j.job})"
        out.append(_row(RUNS, item, when=when, outcome=outcome, next_run=nxt))
    return out


def status_rows(inp: StatusInputs) -> list[Row]:
    """The Status tab, section by section ("Needs a person now" says so when empty)."""
    needs = needs_a_person(inp) or [_row(NEEDS, "Nothing needs a person now.")]
    return needs + what_happens_next(inp) + last_runs(inp)


def status_lines(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """The same rows as lines for a terminal: a heading a section, then its rows."""
    out: list[str] = []
    for section in SECTIONS:
        mine = [r for r in rows if r.get("section") == section]
        if not mine:
            continue
        out.append(section)
        for r in mine:
            if section == RUNS:
                out.append(
                    f"  - {r['item']}: last run {r['when']}"
                    + (f", {r['outcome']}" if r.get("outcome") else "")
                    + f"; next run {r['next_run']}"
                )
            elif r.get("go_to"):
                out.append(f"  - {r['go_to']}: {r['item']}")
            else:
                out.append(f"  - {r['item']}")
    return out
