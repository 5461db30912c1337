"""The interview timetable, built from the campaign's interview plan. Pure: no I/O.

The shape of a day follows the co-production guidance: the panel arrives, recaps
the questions, then interviews one candidate per slot (the interview, then time to
score and a comfort break), breaks for lunch, and ends with the decision. No day
has more than ``max_per_day`` interviews (the guidance says four at most), so more
candidates means more days.

People's stated unavailability (caring responsibilities, appointments) is taken
into account: a panel member must be free for the whole day except lunch, so a
day may start later; a candidate must be free for their own interview. When
nothing fits, :func:`build_timetable` says plainly why instead of guessing.

Stability: candidates who already have a time (``previous``) keep it whenever it
still fits, so invitations already sent stay true.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..config.models import InterviewPlan

STEP = dt.timedelta(minutes=15)  # how far a day may move at a time to fit people's availability
MAX_SHIFT = dt.timedelta(hours=4)


# ------------------------------------------------------------------ unavailability


@dataclass(frozen=True)
class Busy:
    """A time someone cannot do: ``[starts, ends)``."""

    starts: dt.datetime
    ends: dt.datetime

    def overlaps(self, a: dt.datetime, b: dt.datetime) -> bool:
        return self.starts < b and a < self.ends


_DATE = r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})"
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?"
_RE_RANGE = re.compile(rf"^{_DATE}\s*(?:to|until|-|–)\s*{_DATE}$", re.I)
_RE_TIMES = re.compile(rf"^{_DATE}\s+{_TIME}\s*(?:-|–|to|until)\s*{_TIME}$", re.I)
_RE_PART = re.compile(rf"^{_DATE}(?:\s+(all day|morning|afternoon|am|pm))?$", re.I)


def _date(s: str) -> dt.date:
    if "/" in s:
        d, m, y = (int(x) for x in s.split("/"))
        return dt.date(y, m, d)
    y, m, d = (int(x) for x in s.split("-"))
    return dt.date(y, m, d)


def _time(h: str, m: str | None, ampm: str | None) -> dt.time:
    hour, minute = int(h), int(m or 0)
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("hour")
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    return dt.time(hour, minute) if hour < 24 else dt.time(23, 59)


def parse_unavailable(text: str) -> list[Busy]:
    """Parse a 'Not available' cell: entries separated by ';' (or new lines).

    Accepts ``2027-02-09`` (all day), ``09/02/2027``, ``2027-02-09 09:00-11:00``,
    ``2027-02-09 9am-11am``, ``2027-02-09 morning`` / ``afternoon`` and
    ``2027-02-15 to 2027-02-17``. Raises ValueError with a message that never
    repeats the cell's text (it may say why someone is unavailable).
    """
    out: list[Busy] = []
    for n, raw in enumerate(re.split(r"[;\n]+", text or ""), start=1):
        entry = " ".join(raw.strip().strip(",").split())
        if not entry:
            continue
        try:
            if m := _RE_TIMES.match(entry):
                day = _date(m.group(1))
                a = _time(m.group(2), m.group(3), m.group(4) or m.group(7))
                b = _time(m.group(5), m.group(6), m.group(7))
                start, end = dt.datetime.combine(day, a), dt.datetime.combine(day, b)
                if end <= start:
                    raise ValueError("order")
                out.append(Busy(start, end))
            elif m := _RE_RANGE.match(entry):
                first, last = _date(m.group(1)), _date(m.group(2))
                if last < first:
                    raise ValueError("order")
                out.append(
                    Busy(
                        dt.datetime.combine(first, dt.time()),
                        dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
                    )
                )
            elif m := _RE_PART.match(entry):
                day = _date(m.group(1))
                part = (m.group(2) or "all day").lower()
                start = dt.datetime.combine(day, dt.time())
                if part in ("morning", "am"):
                    out.append(Busy(start, start + dt.timedelta(hours=13)))
                elif part in ("afternoon", "pm"):
                    out.append(Busy(start + dt.timedelta(hours=12), start + dt.timedelta(days=1)))
                else:
                    out.append(Busy(start, start + dt.timedelta(days=1)))
            else:
                raise ValueError("shape")
        except ValueError:
            raise ValueError(
                f"entry {n} is not a date or time corecruit understands. Use forms like "
                "'2027-02-09', '2027-02-09 09:00-11:00', '2027-02-09 afternoon' or "
                "'2027-02-15 to 2027-02-17', separated by ';'"
            ) from None
    return out


# ------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class InterviewDay:
    """One interview day from the dates tab; ``arrival`` may differ from the plan's."""

    day: dt.date
    arrival: dt.time | None = None


@dataclass(frozen=True)
class Candidate:
    letter: str
    busy: tuple[Busy, ...] = ()


@dataclass(frozen=True)
class Block:
    """One row of the timetable."""

    day: dt.date
    starts: dt.datetime
    ends: dt.datetime
    kind: str  # arrival | recap | interview | free | lunch | decision
    activity: str
    candidate: str = ""
    interview_ends: dt.datetime | None = None


@dataclass
class TimetableResult:
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # letters whose time changed from `previous`
    notes: list[str] = field(default_factory=list)  # what moved from the plan, and why

    @property
    def ok(self) -> bool:
        return not self.problems

    def interviews(self) -> dict[str, Block]:
        return {b.candidate: b for b in self.blocks if b.kind == "interview"}

    def days(self) -> list[dt.date]:
        return sorted({b.day for b in self.blocks})

    def day_blocks(self, day: dt.date) -> list[Block]:
        return [b for b in self.blocks if b.day == day]


# ----------------------------------------------------------------------- shaping


def hm(t: dt.datetime | dt.time) -> str:
    """24-hour clock text, as the sheets show it."""
    return f"{t.hour:02d}:{t.minute:02d}"


def _at(day: dt.date, t: dt.time, shift: dt.timedelta) -> dt.datetime:
    return dt.datetime.combine(day, t) + shift


@dataclass(frozen=True)
class _Shape:
    day: dt.date
    shift: dt.timedelta
    n: int
    blocks: tuple[Block, ...]  # interview slots have candidate ""
    decision: bool = True  # False: the day ends after its interviews (decision the next day)

    @property
    def ends(self) -> dt.datetime:
        return self.blocks[-1].ends

    @property
    def slots(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "interview"]


def _shape(
    plan: InterviewPlan,
    day: InterviewDay,
    shift: dt.timedelta,
    n: int,
    last_day: bool,
    decision: bool = True,
) -> _Shape:
    """A day with ``n`` interviews, everything moved by ``shift`` from the plan.

    A day whose arrival time staff changed in the dates tab moves by that much too.
    """
    offset = shift
    if day.arrival is not None:
        shift += dt.datetime.combine(day.day, day.arrival) - dt.datetime.combine(
            day.day, plan.arrival
        )
    d = day.day
    arrival, recap = _at(d, plan.arrival, shift), _at(d, plan.recap, shift)
    first = _at(d, plan.first_interview, shift)
    lunch = _at(d, plan.lunch, shift)
    slot = dt.timedelta(minutes=plan.slot_minutes)
    talk = dt.timedelta(minutes=plan.interview_minutes)
    blocks = [
        Block(
            d,
            arrival,
            recap,
            "arrival",
            "Panel arrival, time to get a drink and get comfortable in the room",
        ),
        Block(d, recap, first, "recap", "Recap on questions, plan for the day"),
    ]
    t, had_lunch = first, plan.lunch_minutes == 0
    for i in range(n):
        if not had_lunch and t + slot > lunch:
            end = t + dt.timedelta(minutes=plan.lunch_minutes)
            blocks.append(Block(d, t, end, "lunch", "Lunch"))
            t, had_lunch = end, True
        blocks.append(
            Block(d, t, t + slot, "interview", f"Interview slot {i + 1}", interview_ends=t + talk)
        )
        t += slot
    if plan.decision_minutes and decision:
        what = (
            "Overall decision making with all panels"
            if last_day
            else "Panels share today's scores (the overall decision is made after the last "
            "interview day)"
        )
        blocks.append(
            Block(d, t, t + dt.timedelta(minutes=plan.decision_minutes), "decision", what)
        )
    return _Shape(d, offset, n, tuple(blocks), decision)


def _decision_next_day(
    plan: InterviewPlan, day: dt.date, busy: Mapping[str, Sequence[Busy]]
) -> Block | None:
    """The overall decision on the day after the last interviews (the guidance allows
    "on the day or the day after"), at the first time from the plan's arrival that the
    whole panel can do; None when none fits that day."""
    nxt = day + dt.timedelta(days=1)
    length = dt.timedelta(minutes=plan.decision_minutes)
    shift = dt.timedelta()
    while shift <= MAX_SHIFT:
        start = _at(nxt, plan.arrival, shift)
        if (start + length).time() > plan.latest_finish:
            return None
        if not any(b.overlaps(start, start + length) for items in busy.values() for b in items):
            return Block(
                nxt,
                start,
                start + length,
                "decision",
                "Overall decision making with all panels (the day after the last interviews)",
            )
        shift += STEP
    return None


def _clashes(shape: _Shape, busy: Mapping[str, Sequence[Busy]]) -> list[tuple[str, Block]]:
    """(person, block) for every block a panel member cannot be there for (lunch aside)."""
    out = []
    for pid, items in sorted(busy.items()):
        for blk in shape.blocks:
            if blk.kind != "lunch" and any(b.overlaps(blk.starts, blk.ends) for b in items):
                out.append((pid, blk))
    return out


def _block_words(b: Block) -> str:
    """A block as staff would name it: 'the decision meeting (16:15–17:15)'."""
    what = {
        "arrival": "the panel's arrival",
        "recap": "the recap on questions",
        "decision": "the decision meeting",
        "lunch": "lunch",
    }.get(b.kind, b.activity[:1].lower() + b.activity[1:])
    return f"{what} ({hm(b.starts)}–{hm(b.ends)})"


def _day_words(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _panel_free(shape: _Shape, busy: Mapping[str, Sequence[Busy]]) -> list[str]:
    """Panel members who cannot do this shape (they must be there for all but lunch)."""
    clash = []
    for pid, items in busy.items():
        for blk in shape.blocks:
            if blk.kind != "lunch" and any(b.overlaps(blk.starts, blk.ends) for b in items):
                clash.append(pid)
                break
    return clash


def _fits(c: Candidate, slot: Block) -> bool:
    end = slot.interview_ends or slot.ends
    return not any(b.overlaps(slot.starts, end) for b in c.busy)


def _matching(
    cands: Sequence[Candidate], slots: Sequence[Block], pinned: Mapping[str, dt.datetime]
) -> tuple[dict[str, int], int] | None:
    """Assign each candidate a slot: pins kept where possible, then letter order = time order.

    Returns (letter -> slot index, pins broken) or None when no assignment exists.
    """
    n_slots = len(slots)
    ok = {c.letter: [i for i, s in enumerate(slots) if _fits(c, s)] for c in cands}

    def perfect(fixed: dict[str, int], rest: Sequence[Candidate]) -> bool:
        used = set(fixed.values())
        match: dict[int, str] = {}

        def augment(letter: str, seen: set[int]) -> bool:
            for i in ok[letter]:
                if i in used or i in seen:
                    continue
                seen.add(i)
                if i not in match or augment(match[i], seen):
                    match[i] = letter
                    return True
            return False

        return all(augment(c.letter, set()) for c in rest)

    if len(cands) > n_slots or not perfect({}, cands):
        return None
    fixed: dict[str, int] = {}
    by_start = {s.starts: i for i, s in enumerate(slots)}
    broken = 0
    for c in cands:  # keep earlier times wherever the rest can still be placed
        want = pinned.get(c.letter)
        i = by_start.get(want) if want is not None else None
        if i is not None and i in ok[c.letter] and i not in fixed.values():
            trial = {**fixed, c.letter: i}
            if perfect(trial, [x for x in cands if x.letter not in trial]):
                fixed = trial
                continue
        if want is not None:
            broken += 1
    for c in cands:
        if c.letter in fixed:
            continue
        for i in ok[c.letter]:
            if i in fixed.values():
                continue
            trial = {**fixed, c.letter: i}
            if perfect(trial, [x for x in cands if x.letter not in trial]):
                fixed = trial
                break
    return fixed, broken


def _fmt_busy(b: Busy) -> str:
    if b.starts.time() == dt.time() and b.ends - b.starts >= dt.timedelta(days=1):
        return "all day"
    return f"{hm(b.starts)}–{hm(b.ends)}"


def build_timetable(
    candidates: Sequence[Candidate],
    days: Sequence[InterviewDay],
    plan: InterviewPlan,
    panel_busy: Mapping[str, Sequence[Busy]] | None = None,
    previous: Mapping[str, dt.datetime] | None = None,
) -> TimetableResult:
    """The interview days for ``candidates`` (by letter), or plain reasons why none fits.

    Preference, in order: keep candidates' earlier times; use as few days as possible;
    fill the earliest days first (up to ``max_per_day``); leave no empty slots; move days
    as little as possible from the plan. Candidate A is interviewed first when nothing
    else decides.
    """
    panel_busy = panel_busy or {}
    previous = previous or {}
    cands = sorted(candidates, key=lambda c: (len(c.letter), c.letter))
    days = sorted(days, key=lambda d: d.day)
    if not cands:
        return TimetableResult()
    refused = _too_few_days(len(cands), days, plan)
    if refused:
        return TimetableResult(problems=[refused])
    opts = _day_options(days, plan, panel_busy)
    best = _best_days(cands, days, plan, panel_busy, previous, opts)
    if best is None:
        return TimetableResult(
            problems=list(_explain(cands, days, plan, opts.options, opts.why_not, opts.first_clash))
        )
    shapes, assign, later = best
    res = TimetableResult(blocks=_named_blocks(shapes, assign, later))
    if later is not None:
        res.notes.append(_decision_note(days, plan, panel_busy, shapes[-1], later))
    res.notes.extend(_moved_notes(shapes, opts.first_clash))
    now = res.interviews()
    res.moved = sorted(x for x, t in previous.items() if x in now and now[x].starts != t)
    return res


def _too_few_days(n_cands: int, days: Sequence[InterviewDay], plan: InterviewPlan) -> str:
    """Why the days cannot hold ``n_cands`` interviews at all, or '' when they can."""
    if not days:
        return "There are no interview days. Add an 'interview day' row to the dates tab."
    if n_cands <= plan.max_per_day * len(days):
        return ""
    need = -(-n_cands // plan.max_per_day)
    return (
        f"{n_cands} candidates need at least {need} interview days of up to "
        f"{plan.max_per_day} interviews, and there {'is' if len(days) == 1 else 'are'} "
        f"only {len(days)}. Add another interview day to the dates tab "
        "('interview day 2', 'interview day 3'), or invite fewer candidates."
    )


@dataclass
class _Options:
    """For each day and number of interviews, the least-moved shape the panel can do."""

    options: list[list[_Shape | None]] = field(default_factory=list)
    alt: list[list[_Shape | None]] = field(default_factory=list)  # without the decision
    why_not: dict[dt.date, set[str]] = field(default_factory=dict)
    # who clashes at the planned time, for the notes and the refusal
    first_clash: dict[tuple[dt.date, int], list[tuple[str, Block]]] = field(default_factory=dict)


def _first_free(
    plan: InterviewPlan,
    day: InterviewDay,
    n: int,
    panel_busy: Mapping[str, Sequence[Busy]],
    last_day: bool,
    decision: bool = True,
    seen: _Options | None = None,
) -> _Shape | None:
    """The day's shape for ``n`` interviews moved least (in STEPs) so the panel is free."""
    latest = plan.latest_finish
    shift = dt.timedelta()
    while shift <= MAX_SHIFT:
        shape = _shape(plan, day, shift, n, last_day=last_day, decision=decision)
        if shape.ends.time() > latest or shape.ends.date() != day.day:
            return None
        clash = _panel_free(shape, panel_busy)
        if seen is not None and shift == dt.timedelta() and clash:
            seen.first_clash[(day.day, n)] = _clashes(shape, panel_busy)
        if not clash:
            return shape
        if seen is not None:
            seen.why_not.setdefault(day.day, set()).update(clash)
        shift += STEP
    return None


def _day_options(
    days: Sequence[InterviewDay], plan: InterviewPlan, panel_busy: Mapping[str, Sequence[Busy]]
) -> _Options:
    """Every day's possible shapes, with and without the decision block."""
    out = _Options()
    for idx, day in enumerate(days):
        row: list[_Shape | None] = [None]  # n = 0: not used
        alt_row: list[_Shape | None] = [None]
        for n in range(1, plan.max_per_day + 1):
            last = idx == len(days) - 1
            row.append(_first_free(plan, day, n, panel_busy, last, seen=out))
            no_decision = None
            if row[n] is None and plan.decision_minutes:
                no_decision = _first_free(plan, day, n, panel_busy, True, decision=False)
            alt_row.append(no_decision)
        out.options.append(row)
        out.alt.append(alt_row)
    return out


def _best_days(
    cands: Sequence[Candidate],
    days: Sequence[InterviewDay],
    plan: InterviewPlan,
    panel_busy: Mapping[str, Sequence[Busy]],
    previous: Mapping[str, dt.datetime],
    opts: _Options,
) -> tuple[list[_Shape], dict[str, int], Block | None] | None:
    """The best choice of days and shapes (see build_timetable), or None if none fits."""
    options, alt = opts.options, opts.alt
    best: tuple[tuple[int, ...], list[_Shape], dict[str, int], Block | None] | None = None
    ranges = [
        [n for n in range(len(row)) if n == 0 or row[n] is not None or alt[i][n] is not None]
        for i, row in enumerate(options)
    ]
    for combo in itertools.product(*ranges):
        if sum(combo) < len(cands):
            continue
        used = [i for i, n in enumerate(combo) if n]
        if any(options[i][combo[i]] is None for i in used[:-1]):
            continue  # only the last day may hand its decision to the next day
        chosen: list[_Shape] = []
        for i in used:
            opt = options[i][combo[i]] or alt[i][combo[i]]
            assert opt is not None
            chosen.append(opt)
        # the last day used ends with the overall decision (or the day after has it)
        last = max(x.day for x in chosen)
        later: Block | None = None
        if not chosen[-1].decision:
            later = _decision_next_day(plan, last, panel_busy)
            if later is None:
                continue
        shapes = [
            _shape(
                plan,
                next(d for d in days if d.day == x.day),
                x.shift,
                x.n,
                last_day=True,
                decision=x.decision,
            )
            if x.day == last
            else x
            for x in chosen
        ]
        slots = [b for s in shapes for b in s.slots]
        got = _matching(cands, slots, previous)
        if got is None:
            continue
        assign, broken = got
        key = (
            broken,
            int(later is not None),  # the decision on the last interview day when it fits
            len(shapes),
            len(slots) - len(cands),
            *(-n for n in combo),
            sum(int(s.shift.total_seconds()) for s in shapes),
        )
        if best is None or key < best[0]:
            best = (key, shapes, assign, later)
    return None if best is None else best[1:]


def _named_blocks(
    shapes: Sequence[_Shape], assign: Mapping[str, int], later: Block | None
) -> list[Block]:
    """The chosen days' blocks with each interview slot given its candidate (or left free)."""
    who = {i: letter for letter, i in assign.items()}
    blocks: list[Block] = []
    k = 0
    for s in shapes:
        for b in s.blocks:
            if b.kind != "interview":
                blocks.append(b)
                continue
            letter = who.get(k, "")
            k += 1
            if letter:
                text = f"Candidate {letter} interview, scoring and comfort break"
                blocks.append(
                    Block(b.day, b.starts, b.ends, "interview", text, letter, b.interview_ends)
                )
            else:
                text = "No interview in this slot: a longer break"
                blocks.append(Block(b.day, b.starts, b.ends, "free", text))
    if later is not None:
        blocks.append(later)
    return blocks


def _decision_note(
    days: Sequence[InterviewDay],
    plan: InterviewPlan,
    panel_busy: Mapping[str, Sequence[Busy]],
    last_day: _Shape,
    later: Block,
) -> str:
    """Why the decision meeting is on the day after the last interviews."""
    plain = _shape(
        plan, next(d for d in days if d.day == last_day.day), last_day.shift, last_day.n, True
    )
    absent = sorted({pid for pid, blk in _clashes(plain, panel_busy) if blk.kind == "decision"})
    return (
        f"The decision meeting is on {_day_words(later.day)} at {hm(later.starts)}, the day "
        f"after the last interviews, because "
        + (
            f"{_people(absent)} cannot stay for it on {_day_words(last_day.day)}"
            if absent
            else f"it does not fit on {_day_words(last_day.day)}"
        )
        + ". The guidance allows the decision on the day or the day after; to hold it "
        "at another time, change the decision meeting in the dates tab."
    )


def _moved_notes(
    shapes: Sequence[_Shape], first_clash: Mapping[tuple[dt.date, int], list[tuple[str, Block]]]
) -> list[str]:
    """What moved from the plan on each day, and why (panel member ids, never names)."""
    notes = []
    for s in shapes:
        if s.shift <= dt.timedelta():
            continue
        absent = sorted({pid for pid, _ in first_clash.get((s.day, s.n), [])})
        planned = s.blocks[0].starts - s.shift
        early = all(blk.starts < s.blocks[0].starts for _, blk in first_clash.get((s.day, s.n), []))
        when = f"before {hm(s.blocks[0].starts)}" if early else "at the planned times"
        are = "is" if len(absent) == 1 else "are"
        because = (
            f"because {_people(absent)} {are} not available {when}"
            if absent
            else "to fit the panel's availability"
        )
        notes.append(
            f"{_day_words(s.day)} starts at {hm(s.blocks[0].starts)} instead of "
            f"{hm(planned)} {because}."
        )
    return notes


def _people(ids: Sequence[str]) -> str:
    """'a panel member (p03)' or 'panel members p03 and p05' (ids only, never names)."""
    if len(ids) == 1:
        return f"a panel member ({ids[0]})"
    return f"panel members {', '.join(ids[:-1])} and {ids[-1]}"


def _explain(
    cands: Sequence[Candidate],
    days: Sequence[InterviewDay],
    plan: InterviewPlan,
    options: list[list[_Shape | None]],
    why_not: Mapping[dt.date, set[str]],
    first_clash: Mapping[tuple[dt.date, int], Sequence[tuple[str, Block]]] | None = None,
) -> list[str]:
    """Plain reasons no timetable fits (person ids and candidate letters only)."""
    out = ["No interview timetable fits everyone's availability."]
    usable = 0
    for day, row in zip(days, options, strict=True):
        most = max((n for n, s in enumerate(row) if s is not None), default=0)
        usable += most
        label = f"{day.day:%A} {day.day.day} {day.day:%B %Y}"
        if most == 0:
            who = ", ".join(sorted(why_not.get(day.day, set()))) or "the panel"
            out.append(
                f"On {label} no interview day fits: {who} "
                f"{'is' if len(why_not.get(day.day, set())) == 1 else 'are'} not available "
                f"and the day must end by {hm(plan.latest_finish)}."
            )
        elif most < plan.max_per_day:
            who = ", ".join(sorted(why_not.get(day.day, set())))
            out.append(
                f"On {label} only {most} interview(s) fit around the panel's availability ({who})."
            )
        # name the blocks that do not fit the day as planned (one more interview than fits)
        clashes = (first_clash or {}).get((day.day, min(most + 1, plan.max_per_day)), [])
        for pid, blk in clashes[:6]:
            out.append(f"On {label} {pid} is not available for {_block_words(blk)}.")
    all_slots = [b for row in options for s in row[1:] if s is not None for b in s.slots]
    for c in cands:
        if not any(_fits(c, s) for s in all_slots):
            out.append(
                f"Candidate {c.letter} is not available at any interview time on "
                "the interview days."
            )
    if usable < len(cands):
        out.append(f"There are {len(cands)} candidates and at most {usable} interview times.")
    out.append(
        "Ask people whether they can change, move or add an interview day in the "
        "dates tab, then run 'corecruit timetable' again."
    )
    return out


def timetable_frame(result: TimetableResult) -> pd.DataFrame:
    """Rows for the panel workbook's timetable tab (candidate letters only)."""
    rows = [
        {
            "day": b.day,
            "starts": hm(b.starts),
            "ends": hm(b.ends),
            "activity": b.activity,
            "candidate_letter": b.candidate,
        }
        for b in result.blocks
    ]
    return pd.DataFrame(rows, columns=["day", "starts", "ends", "activity", "candidate_letter"])


def staff_timetable_frame(
    result: TimetableResult, applications: Mapping[str, tuple[str, str]]
) -> pd.DataFrame:
    """Rows for the staff workbook: as the panel's, plus application id and name.

    ``applications`` maps letter -> (application_id, name).
    """
    df = timetable_frame(result)
    ids, names, ends = [], [], []
    for b in result.blocks:
        app, name = applications.get(b.candidate, ("", "")) if b.candidate else ("", "")
        ids.append(app)
        names.append(name)
        ends.append(hm(b.interview_ends) if b.interview_ends and b.kind == "interview" else "")
    df["application_id"] = ids
    df["candidate_name"] = names
    df["interview_ends"] = ends
    return df


def blocks_from_frame(df: pd.DataFrame) -> list[Block]:
    """Read a timetable tab back (staff or panel) into blocks; bad rows are skipped."""
    out: list[Block] = []
    for _, r in df.iterrows():
        day = r.get("day")
        try:
            s = dt.datetime.combine(day, dt.time.fromisoformat(str(r["starts"]).strip().zfill(5)))
            e = dt.datetime.combine(day, dt.time.fromisoformat(str(r["ends"]).strip().zfill(5)))
        except (TypeError, ValueError):
            continue
        letter = str(r.get("candidate_letter", "") or "").strip()
        ie = str(r.get("interview_ends", "") or "").strip()
        iend = None
        if ie:
            try:
                iend = dt.datetime.combine(day, dt.time.fromisoformat(ie.zfill(5)))
            except ValueError:
                iend = None
        kind = "interview" if letter else _kind_of(str(r.get("activity", "")))
        out.append(Block(day, s, e, kind, str(r.get("activity", "")), letter, iend))
    return out


def _kind_of(activity: str) -> str:
    a = activity.lower()
    for word, kind in (
        ("arrival", "arrival"),
        ("recap", "recap"),
        ("lunch", "lunch"),
        ("decision", "decision"),
        ("scores", "decision"),
        ("no interview", "free"),
    ):
        if word in a:
            return kind
    return "other"
