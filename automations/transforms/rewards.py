"""Rewards: the ledger, statements, estimates and the finance export, as pure calculations.

Nothing here reads or writes anything: the rewards job reads the staff workbook in one
batch, calls these functions on the DataFrames, and writes the result in one batch.

The ledger is append-only. Every line has a deterministic key
``person|campaign|activity|date|kind`` (expense lines carry the claim id in the kind,
``travel#CL-1``), so running the job again never adds a line twice. When what a line came
from changes (hours corrected, a claim amended, attendance no longer confirmed) the line is
never edited or deleted: a reversing line ``…|r1`` cancels version 1 and a new version
``…|v2`` says what is owed now. Money is :class:`~decimal.Decimal`, rounded half-up to the
penny; totals are always summed from lines, never typed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from ..config.models import Rate, RewardPolicy
from ..errors import Problem
from .csv_cells import csv_cell
from .issues import Issue
from .issues import issue_records as issue_records  # the jobs write them through here
from .values import as_date, as_decimal, is_blank, same_values
from .values import text as _text

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")

PAYMENT, VOUCHERS, NO_PAYMENT = "payment", "vouchers", "no payment"
REWARDS = (PAYMENT, VOUCHERS, NO_PAYMENT)

TIME = "time"
REVERSAL = "reversal"
LIVED_EXPERIENCE = "lived experience"
SHORTLISTING = "shortlisting"
EXPENSES_ACTIVITY = "expenses"

OWED, HELD, APPROVED = "owed", "held", "approved"
PAID, VOUCHER_ISSUED = "paid", "voucher issued"
NOT_CLAIMED, CANCELLED = "not claimed", "cancelled"
SETTLED = (PAID, VOUCHER_ISSUED)

LEDGER_COLUMNS = (
    "line_key", "person_id", "campaign_id", "activity", "date", "kind", "quantity", "unit",
    "rate", "amount", "reward", "status", "approved_by", "paid_on", "payment_reference",
    "exported_at", "export_batch", "reverses", "source", "note",
)  # fmt: skip

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

# ------------------------------------------------------------------------- small helpers


def money(x: Decimal) -> Decimal:
    """Round to the penny, half-up (the way people round money)."""
    return x.quantize(PENNY, rounding=ROUND_HALF_UP)


def pounds(x: Decimal) -> str:
    """'£1,234.50', or '-£15.00' for a negative amount."""
    x = money(x)
    return f"{'-' if x < 0 else ''}£{abs(x):,.2f}"


def pence(x: Decimal) -> int:
    return int(money(x) * 100)


def number(x: Decimal) -> str:
    """A quantity without trailing zeros: 4, 2.5, 12.3."""
    s = format(x.normalize(), "f")
    return s


def date_words(d: dt.date) -> str:
    """'8 February 2027' (not locale-dependent)."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _two_columns(df: pd.DataFrame | None, a: str, b: str) -> list[tuple[Any, Any]]:
    """Two columns' values row by row (None where the frame lacks one): Raw scores has
    160,000 rows at 5,000 applications, and a dict per row of it is 70 MB."""
    if df is None or df.empty:
        return []
    n = len(df)
    first = df[a].tolist() if a in df.columns else [None] * n
    second = df[b].tolist() if b in df.columns else [None] * n
    return list(zip(first, second, strict=True))


def _records(df: pd.DataFrame | None) -> list[tuple[int, dict[str, Any]]]:
    """(sheet row, row as a dict) for each row of a frame read from a store."""
    if df is None or df.empty:
        return []
    out = []
    for idx, row in zip(df.index, df.to_dict("records"), strict=True):
        try:
            sheet_row = int(idx)
        except (TypeError, ValueError):
            sheet_row = 0
        out.append((sheet_row, row))
    return out


def _problem_rows(df: pd.DataFrame | None) -> dict[int, list[Problem]]:
    out: dict[int, list[Problem]] = defaultdict(list)
    if df is None:
        return out
    for p in df.attrs.get("problems", []) or []:
        if getattr(p, "row", None) is not None:
            out[int(p.row)].append(p)
    return out


# ------------------------------------------------------------------------------ periods


def period_key(d: dt.date, period: str) -> str:
    """The period a date falls in: '2027-W05', '2027-02' or the tax year '2026-27'."""
    if period == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "month":
        return f"{d.year}-{d.month:02d}"
    start = d.year if (d.month, d.day) >= (4, 6) else d.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def period_words(key: str, period: str) -> str:
    """A period key in plain words."""
    if period == "week":
        y, w = key.split("-W")
        monday = dt.date.fromisocalendar(int(y), int(w), 1)
        return f"the week starting {date_words(monday)}"
    if period == "month":
        y, m = key.split("-")
        return f"{_MONTHS[int(m) - 1]} {y}"
    start = int(key.split("-")[0])
    return f"the {start} to {start + 1} tax year"


# ------------------------------------------------------------------------------- issues


def _where(tab: str, row: int | None, column: str | None = None) -> str:
    """Where a cell is, in the tab title and headers staff see."""
    return Problem("staff", tab, "", row or None, column or None).where()


# ----------------------------------------------------------------------------- line keys


def _seg(s: object) -> str:
    return str(s).replace("|", "/").strip()


def line_base(person: str, campaign: str, activity: str, day: dt.date, kind: str) -> str:
    """``person|campaign|activity|date|kind``: the key of version 1 of a line."""
    return "|".join(_seg(x) for x in (person, campaign, activity, day.isoformat(), kind))


_TAG = re.compile(r"^(?P<base>.*)\|(?P<t>[vr])(?P<n>\d+)$")


def split_key(key: str) -> tuple[str, str, int]:
    """(base, 'v' or 'r', n): which version of which thing a line key is."""
    m = _TAG.match(key)
    if m:
        return m["base"], m["t"], int(m["n"])
    return key, "v", 1


def version_key(base: str, n: int) -> str:
    return base if n == 1 else f"{base}|v{n}"


def reversal_key(base: str, n: int) -> str:
    return f"{base}|r{n}"


def base_kind(key: str) -> str:
    """The kind a line (or a reversal) is about: 'time' or an expense kind."""
    return split_key(key)[0].rsplit("|", 1)[-1].split("#", 1)[0]


def is_time_line(line: Mapping[str, Any]) -> bool:
    return base_kind(_text(line.get("line_key"))) == TIME


# ------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    person_id: str
    kind: str
    reward_choice: str
    earnings_limit: Decimal | None
    email: str
    row: int

    @property
    def lived_experience(self) -> bool:
        return self.kind == LIVED_EXPERIENCE


def people_index(people: pd.DataFrame | None) -> dict[str, Person]:
    """People by id (the first row wins when an id is repeated; the store reports repeats)."""
    out: dict[str, Person] = {}
    for row, r in _records(people):
        pid = _text(r.get("person_id"))
        if not pid or pid in out:
            continue
        out[pid] = Person(
            person_id=pid,
            kind=_text(r.get("kind")),
            reward_choice=_text(r.get("reward_choice")),
            earnings_limit=as_decimal(r.get("earnings_limit")),
            email=_text(r.get("email")),
            row=row,
        )
    return out


def limit_for(person: Person | None, policy: RewardPolicy) -> Decimal | None:
    """The person's own limit, or the policy's."""
    if person is not None and person.earnings_limit is not None:
        return person.earnings_limit
    return policy.earnings_limit


# ----------------------------------------------------------------------- desired lines


@dataclass(frozen=True)
class Desired:
    """What one line should say, from the attendance, score forms or claims right now."""

    base: str
    person_id: str
    activity: str
    date: dt.date
    kind: str  # 'time' or the expense kind
    quantity: Decimal
    unit: str
    rate: Decimal
    full_amount: Decimal  # before the reward choice is applied
    source: str
    note: str = ""

    @property
    def is_time(self) -> bool:
        return self.kind == TIME


@dataclass
class Sources:
    """Every line the ledger should hold now, and every row that could not be used."""

    desired: dict[str, Desired] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    frozen_people: set[str] = field(default_factory=set)  # neither add nor reverse
    frozen_bases: set[str] = field(default_factory=set)
    waiting: int = 0  # attendance rows not yet confirmed by staff

    def refuse(self, issue: Issue, *, person: str = "", base: str = "") -> None:
        """Record why a row was not used; freeze the person or the line it would change."""
        self.issues.append(issue)
        if person:
            self.frozen_people.add(person)
        if base:
            self.frozen_bases.add(base)


@dataclass(frozen=True)
class _Given:
    """What every source of lines is read against: the policy, the campaign and its people."""

    policy: RewardPolicy
    campaign_id: str
    people: dict[str, Person]


def _hours_line(rate: Rate, activity: str, claimed: Decimal, used: Decimal) -> tuple[Decimal, str]:
    """Hours paid under the policy's limit, and a note when fewer than claimed."""
    if rate.max_hours is None:
        return claimed, ""
    left = rate.max_hours - (used if rate.max_hours_per == "campaign" else Decimal(0))
    left = max(left, Decimal(0))
    if claimed <= left:
        return claimed, ""
    scope = " for the whole campaign" if rate.max_hours_per == "campaign" else " each time"
    return left, (
        f"{number(claimed)} hours claimed; the policy pays up to {number(rate.max_hours)} hours "
        f"for {activity}{scope}, so {number(left)} hours are paid."
    )


def _unreadable(
    src: Sources, tab: str, row: int, problems: Sequence[Problem], pid: str, key: str, what: str
) -> None:
    """A row holding a cell the store could not read: one issue per cell; the person waits."""
    if pid:
        src.frozen_people.add(pid)
    for p in problems:
        src.issues.append(
            Issue(
                "bad-cell",
                f"{key}|{p.column}",
                f"{what}: {p.message}.",
                _where(tab, row, p.column),
                pid,
            )
        )


def _has_choice(src: Sources, person: Person, base: str) -> bool:
    """Time is owed only once the person has said how they want to be rewarded."""
    if person.reward_choice in REWARDS:
        return True
    src.refuse(
        Issue(
            "no-choice",
            f"choice|{person.person_id}",
            f"{person.person_id} has no reward choice recorded (payment, vouchers or no "
            "payment), so nothing is owed for their time yet. Please ask them and fill in "
            "'Reward choice' on the People tab.",
            _where("people", person.row, "reward_choice"),
            person.person_id,
        ),
        base=base,
    )
    return False


def _time(
    base: str,
    pid: str,
    activity: str,
    day: dt.date,
    qty: Decimal,
    unit: str,
    rate: Rate,
    source: str,
    note: str,
) -> Desired:
    """A line for time given, at the policy's rate."""
    return Desired(
        base,
        pid,
        activity,
        day,
        TIME,
        qty,
        unit,
        rate.amount,
        money(qty * rate.amount),
        source,
        note,
    )


def _people_lines(given: _Given, people: pd.DataFrame, src: Sources) -> None:
    """People rows with an unreadable cell: the person's lines wait until it is put right."""
    for row, probs in sorted(_problem_rows(people).items()):
        rec = people.loc[row] if row in people.index else None
        pid = _text(rec["person_id"]) if rec is not None else ""
        _unreadable(
            src,
            "people",
            row,
            probs,
            pid,
            f"people|{pid}",
            "This row could not be used for rewards",
        )


def _attendance_lines(given: _Given, attendance: pd.DataFrame | None, src: Sources) -> set[str]:
    """Time from attendance rows confirmed by staff, in date order (for hour limits that run
    over the whole campaign). Returns who has a confirmed shortlisting row."""
    bad = _problem_rows(attendance)
    rows = _records(attendance)
    rows.sort(key=lambda t: (as_date(t[1].get("date")) or dt.date.max, t[0]))
    hours_used: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    confirmed_shortlisting: set[str] = set()
    for row, r in rows:
        pid = _text(r.get("person_id"))
        if row in bad:
            _unreadable(
                src,
                "attendance",
                row,
                bad[row],
                pid,
                f"attendance|row{row}",
                "This attendance row was not used",
            )
        elif not _text(r.get("confirmed_by")):
            src.waiting += 1
        else:
            _attendance_line(given, row, r, hours_used, confirmed_shortlisting, src)
    return confirmed_shortlisting


def _attendance_line(
    given: _Given,
    row: int,
    r: Mapping[str, Any],
    hours_used: dict[tuple[str, str], Decimal],
    confirmed_shortlisting: set[str],
    src: Sources,
) -> None:
    """One confirmed attendance row: a line for the time, or the reason there is none."""
    pid, activity, day = _text(r.get("person_id")), _text(r.get("activity")), as_date(r.get("date"))
    key = f"attendance|{pid}|{activity}|{day}"

    def where(column: str) -> str:
        return _where("attendance", row, column)

    if not pid:
        src.refuse(
            Issue("no-person", key, "This attendance row has no person ID.", where("person_id"))
        )
        return
    person = given.people.get(pid)
    if person is None:
        src.refuse(
            Issue(
                "unknown-person",
                key,
                f"{pid} is not on the People tab, so nothing can be owed to them.",
                where("person_id"),
                pid,
            ),
            person=pid,
        )
        return
    if not person.lived_experience:
        return  # Council staff are paid their salary, not under this policy
    if activity == SHORTLISTING:
        confirmed_shortlisting.add(pid)
    if day is None:
        src.refuse(
            Issue("no-date", key, "This attendance row has no date.", where("date"), pid),
            person=pid,
        )
        return
    base = line_base(pid, given.campaign_id, activity, day, TIME)
    rate = given.policy.rates.get(activity)
    if rate is None:
        src.refuse(
            Issue(
                "unknown-activity",
                key,
                f"The reward policy has no rate for the activity '{activity}'. Add it to "
                "[rewards.rates] in organisation.toml, or correct the activity.",
                where("activity"),
                pid,
            ),
            base=base,
        )
        return
    if not _has_choice(src, person, base):
        return
    if rate.unit != "hour":
        src.desired[base] = _time(
            base, pid, activity, day, Decimal(1), rate.unit, rate, "attendance", ""
        )
        return
    claimed = as_decimal(r.get("hours"))
    if claimed is None or claimed <= 0:
        code, reason = (
            ("no-hours", f"'{activity}' is paid by the hour, but no hours are filled in.")
            if claimed is None
            else ("bad-hours", "The hours must be more than 0.")
        )
        src.refuse(Issue(code, key, reason, where("hours"), pid), base=base)
        return
    used = hours_used[(pid, activity)]
    qty, note = _hours_line(rate, activity, claimed, used)
    hours_used[(pid, activity)] = used + qty
    if note:
        src.issues.append(Issue("hours-capped", key, note, where("hours"), pid, warning=True))
    if qty > 0:
        src.desired[base] = _time(base, pid, activity, day, qty, "hour", rate, "attendance", note)


def _score_form_lines(
    given: _Given,
    raw_scores: pd.DataFrame | None,
    shortlisting_date: dt.date | None,
    confirmed_shortlisting: set[str],
    src: Sources,
) -> None:
    """Shortlisting from completed score forms, for people with no confirmed attendance row
    for it: the policy's expected hours, dated on the shortlisting deadline."""
    scorers = sorted(
        {
            _text(pid)
            for pid, stage in _two_columns(raw_scores, "person_id", "stage")
            if _text(stage) == SHORTLISTING and _text(pid)
        }
    )
    for pid in scorers:
        if pid in confirmed_shortlisting:
            continue
        key = f"raw_scores|{pid}|{SHORTLISTING}"
        person = given.people.get(pid)
        if person is None:
            src.refuse(
                Issue(
                    "unknown-person",
                    key,
                    f"{pid} sent shortlisting scores but is not on the People tab.",
                    _where("raw_scores", None, "person_id"),
                    pid,
                )
            )
            continue
        if not person.lived_experience:
            continue
        rate = given.policy.rates.get(SHORTLISTING)
        if rate is None:
            src.refuse(
                Issue(
                    "unknown-activity",
                    "policy|shortlisting",
                    "The reward policy has no rate for 'shortlisting'. Add it to "
                    "[rewards.rates] in organisation.toml.",
                    "organisation.toml",
                    pid,
                )
            )
            continue
        if shortlisting_date is None:
            src.refuse(
                Issue(
                    "no-date",
                    "dates|shortlisting deadline",
                    "There is no shortlisting deadline on the Campaign dates tab, so "
                    "shortlisting from score forms cannot be dated.",
                    _where("dates", None),
                )
            )
            continue
        base = line_base(pid, given.campaign_id, SHORTLISTING, shortlisting_date, TIME)
        if not _has_choice(src, person, base):
            continue
        if rate.unit == "hour":
            qty, unit = rate.expected_hours or Decimal(1), "hour"
            note = (
                f"From the completed score form: {number(qty)} hours, the policy's hours "
                "for shortlisting. Add a confirmed attendance row to pay different hours."
            )
        else:
            qty, unit, note = Decimal(1), rate.unit, "From the completed score form."
        src.desired[base] = _time(
            base, pid, SHORTLISTING, shortlisting_date, qty, unit, rate, "score form", note
        )


def _claim_lines(given: _Given, claims: pd.DataFrame | None, src: Sources) -> None:
    """Expenses from the Expense claims tab: one line a claim, repaid under the policy."""
    bad = _problem_rows(claims)
    for row, r in _records(claims):
        cid, pid = _text(r.get("claim_id")), _text(r.get("person_id"))
        if row in bad:
            _unreadable(
                src,
                "expense_claims",
                row,
                bad[row],
                pid,
                f"expense_claims|{cid or f'row{row}'}",
                "This claim was not used",
            )
        else:
            _claim_line(given, row, r, src)


def _claim_line(given: _Given, row: int, r: Mapping[str, Any], src: Sources) -> None:
    """One claim: a line for what the policy repays, or the reason there is none."""
    cid, pid = _text(r.get("claim_id")), _text(r.get("person_id"))
    key = f"expense_claims|{cid or f'row{row}'}"

    def where(column: str) -> str:
        return _where("expense_claims", row, column)

    if not cid:
        src.refuse(
            Issue(
                "no-claim-id",
                key,
                "This claim has no claim ID, so it cannot be tracked.",
                where("claim_id"),
                pid,
            ),
            person=pid,
        )
        return
    if not pid:
        src.refuse(Issue("no-person", key, "This claim has no person ID.", where("person_id")))
        return
    person = given.people.get(pid)
    if person is None:
        src.refuse(
            Issue(
                "unknown-person",
                key,
                f"{pid} is not on the People tab, so this claim cannot be repaid.",
                where("person_id"),
                pid,
            ),
            person=pid,
        )
        return
    if not person.lived_experience:
        src.refuse(
            Issue(
                "staff-claim",
                key,
                f"{pid} is Council staff: staff claim expenses through payroll, not here.",
                where("person_id"),
                pid,
            )
        )
        return
    day = as_date(r.get("date"))
    if day is None:
        src.refuse(Issue("no-date", key, "This claim has no date.", where("date"), pid), person=pid)
        return
    kind = _text(r.get("kind"))
    activity = _text(r.get("activity")) or EXPENSES_ACTIVITY
    base = line_base(pid, given.campaign_id, activity, day, f"{kind}#{cid}")
    refusal = _claim_refusal(given.policy, kind, activity, r)
    if refusal is not None:
        code, reason, column = refusal
        src.refuse(Issue(code, key, reason, where(column), pid), base=base)
        return
    rule = given.policy.expense(kind)
    assert rule is not None  # _claim_refusal refuses a kind the policy does not repay
    if kind == "mileage":
        miles = as_decimal(r.get("miles")) or ZERO
        per_mile = rule.rate_per_mile or Decimal(0)
        qty, unit, rate, claimed = miles, "mile", per_mile, money(miles * per_mile)
    else:
        amount = as_decimal(r.get("amount")) or ZERO
        qty, unit, rate, claimed = Decimal(1), "claim", amount, amount
    paid, note = claimed, ""
    if rule.cap is not None and claimed > rule.cap:
        paid = money(rule.cap)
        note = (
            f"Claimed {pounds(claimed)}; the policy repays up to {pounds(rule.cap)} for "
            f"{kind}, so {pounds(paid)} is owed."
        )
        column = "miles" if kind == "mileage" else "amount"
        src.issues.append(
            Issue(
                "over-cap", key, note + " The rest is not paid.", where(column), pid, warning=True
            )
        )
    src.desired[base] = Desired(
        base, pid, activity, day, kind, qty, unit, rate, paid, f"expense claim {cid}", note
    )


def _claim_refusal(
    policy: RewardPolicy, kind: str, activity: str, r: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    """Why the policy does not repay this claim as it stands: (code, reason, column), or None."""
    rule = policy.expense(kind)
    if rule is None:
        known = ", ".join(e.kind for e in policy.expenses) or "none"
        return (
            "unknown-kind",
            f"The reward policy has no rule for '{kind}' expenses (it knows: {known}).",
            "kind",
        )
    if activity != EXPENSES_ACTIVITY and activity not in policy.rates:
        return (
            "unknown-activity",
            f"The activity '{activity}' is not in the reward policy.",
            "activity",
        )
    if kind == "mileage":
        miles = as_decimal(r.get("miles"))
        if miles is None:
            return "no-miles", "A mileage claim needs the number of miles.", "miles"
        if miles <= 0:
            return "bad-amount", "The miles must be more than 0.", "miles"
    else:
        amount = as_decimal(r.get("amount"))
        if amount is None:
            return "no-amount", "This claim has no amount.", "amount"
        if amount <= 0:
            return "bad-amount", "The amount must be more than £0.00.", "amount"
        if money(amount) != amount:
            return "bad-amount", "The amount has more than two decimal places (pence).", "amount"
    if rule.receipt_required and not _text(r.get("receipt_reference")):
        return (
            "no-receipt",
            f"The policy repays {kind} with a receipt: please add the "
            "receipt reference. It will be repaid once it is there.",
            "receipt_reference",
        )
    if kind == "meal" and activity in policy.rates and policy.rates[activity].meal_provided:
        return (
            "meal-provided",
            f"A meal is provided at the {activity}, so the policy does not repay a meal for it.",
            "kind",
        )
    return None


def desired_lines(
    policy: RewardPolicy,
    campaign_id: str,
    *,
    people: pd.DataFrame,
    attendance: pd.DataFrame | None,
    claims: pd.DataFrame | None,
    raw_scores: pd.DataFrame | None,
    shortlisting_date: dt.date | None,
) -> Sources:
    """Every line the ledger should hold now, and every row that could not be used.

    One function per source of lines, in this order (the order issues are listed in):
    the People tab's unreadable rows, confirmed attendance, completed shortlisting score
    forms (for those with no confirmed shortlisting row) and expense claims.
    """
    src = Sources()
    given = _Given(policy, campaign_id, people_index(people))
    _people_lines(given, people, src)
    confirmed_shortlisting = _attendance_lines(given, attendance, src)
    _score_form_lines(given, raw_scores, shortlisting_date, confirmed_shortlisting, src)
    _claim_lines(given, claims, src)
    return src


# ---------------------------------------------------------------------------- reconcile


@dataclass
class Accrual:
    """The ledger after accrual, with what changed and what needs attention."""

    ledger: pd.DataFrame
    added: list[dict[str, Any]]
    status_changes: int
    issues: list[Issue]
    waiting: int

    @property
    def changed(self) -> bool:
        return bool(self.added) or self.status_changes > 0


def _settled(line: Mapping[str, Any]) -> bool:
    """Gone to finance or paid: a correction must then be paid back or offset, not cancelled."""
    return (
        bool(_text(line.get("export_batch")))
        or not is_blank(line.get("paid_on"))
        or _text(line.get("status")) in SETTLED
    )


def _locked(line: Mapping[str, Any]) -> bool:
    """A line staff have acted on keeps the reward it was accrued under."""
    return (
        _settled(line)
        or bool(_text(line.get("approved_by")))
        or _text(line.get("status")) in (APPROVED,)
    )


# What makes two versions of a line the same (the rest is where it came from, or staff's).
LINE_FIELDS = {
    "quantity": "decimal", "rate": "decimal", "amount": "decimal", "unit": "text", "reward": "text",
}  # fmt: skip


def _why(old: Mapping[str, Any], new: Mapping[str, Any] | None) -> str:
    if new is None:
        src = _text(old.get("source"))
        if src.startswith("expense claim"):
            return "the claim was removed, changed or can no longer be repaid."
        if src == "score form":
            return "staff confirmed the shortlisting on the attendance tab instead."
        return "the attendance it came from was removed or is no longer confirmed."
    parts = []
    unit = _text(new.get("unit"))
    oq, nq = as_decimal(old.get("quantity")), as_decimal(new.get("quantity"))
    if oq != nq and unit in ("hour", "mile"):
        parts.append(f"{unit}s changed from {number(oq or ZERO)} to {number(nq or ZERO)}")
    orate, nrate = as_decimal(old.get("rate")), as_decimal(new.get("rate"))
    if orate != nrate:
        if unit == "claim":
            parts.append(
                f"the claim changed from {pounds(orate or ZERO)} to {pounds(nrate or ZERO)}"
            )
        else:
            parts.append(
                f"the rate changed from {pounds(orate or ZERO)} to {pounds(nrate or ZERO)}"
            )
    if _text(old.get("reward")) != _text(new.get("reward")):
        parts.append(f"the reward choice changed to {_text(new.get('reward'))}")
    if not parts:
        parts.append(
            f"the amount changed from {pounds(as_decimal(old.get('amount')) or ZERO)} to "
            f"{pounds(as_decimal(new.get('amount')) or ZERO)}"
        )
    return "; ".join(parts) + "."


def _want(d: Desired, reward: str, campaign_id: str) -> dict[str, Any]:
    amount = ZERO if (d.is_time and reward == NO_PAYMENT) else money(d.full_amount)
    note = d.note
    if d.is_time and reward == NO_PAYMENT:
        note = (
            f"Given without payment, as the person chose (the policy would pay "
            f"{pounds(d.full_amount)}). " + note
        ).strip()
    return {
        "person_id": d.person_id,
        "campaign_id": campaign_id,
        "activity": d.activity,
        "date": d.date,
        "kind": d.kind,
        "quantity": d.quantity,
        "unit": d.unit,
        "rate": d.rate,
        "amount": amount,
        "reward": reward,
        "status": OWED,
        "source": d.source,
        "note": note,
    }


def _blank_line() -> dict[str, Any]:
    line: dict[str, Any] = dict.fromkeys(LEDGER_COLUMNS, "")
    for k in ("date", "quantity", "rate", "amount", "paid_on", "exported_at"):
        line[k] = None
    return line


def _reversal(old: Mapping[str, Any], base: str, n: int, why: str) -> dict[str, Any]:
    line = _blank_line()
    q, a = as_decimal(old.get("quantity")), as_decimal(old.get("amount")) or ZERO
    line.update(
        {
            "line_key": reversal_key(base, n),
            "person_id": old.get("person_id", ""),
            "campaign_id": old.get("campaign_id", ""),
            "activity": old.get("activity", ""),
            "date": as_date(old.get("date")),
            "kind": REVERSAL,
            "quantity": -q if q is not None else None,
            "unit": old.get("unit", ""),
            "rate": as_decimal(old.get("rate")),
            "amount": -a,
            "reward": old.get("reward", ""),
            "status": OWED,
            "reverses": old.get("line_key", ""),
            "source": old.get("source", ""),
            "note": f"Correction: {why}",
        }
    )
    return line


def derive_status(line: dict[str, Any]) -> tuple[str, list[Issue]]:
    """A line's status from what staff filled in (approved by, paid on, reference)."""
    status = _text(line.get("status"))
    key = _text(line.get("line_key"))
    pid = _text(line.get("person_id"))
    if status == CANCELLED:
        return CANCELLED, []
    reward = _text(line.get("reward"))
    if (
        is_time_line(line)
        and reward == NO_PAYMENT
        and (as_decimal(line.get("amount")) or ZERO) == 0
    ):
        return NOT_CLAIMED, []
    issues: list[Issue] = []
    paid_on, ref = not is_blank(line.get("paid_on")), bool(_text(line.get("payment_reference")))
    approved = bool(_text(line.get("approved_by")))
    where = _where("rewards_ledger", None, None) + f", line {key}"
    if paid_on != ref:
        missing = "payment reference" if paid_on else "paid on date"
        issues.append(
            Issue(
                "half-paid",
                key,
                f"This line has only part of its payment details: please add the "
                f"{missing}. Until then it is not counted as paid.",
                where,
                pid,
            )
        )
    if paid_on and ref:
        if not approved:
            issues.append(
                Issue(
                    "paid-unapproved",
                    key,
                    "This line is marked as paid but nobody is named as approving "
                    "it. Please add who approved it.",
                    where,
                    pid,
                )
            )
        return (VOUCHER_ISSUED if (reward == VOUCHERS and is_time_line(line)) else PAID), issues
    if approved:
        return APPROVED, issues
    if status == HELD:
        return HELD, issues
    return OWED, issues


def refresh_statuses(
    ledger: pd.DataFrame, campaign_id: str
) -> tuple[pd.DataFrame, int, list[Issue]]:
    """Statuses brought up to date with what staff filled in (so approving then exporting
    straight away works). Returns the ledger, how many statuses changed, and any issues."""
    out = ledger.copy()
    changes, issues = 0, []
    for idx, row in zip(out.index, out.to_dict("records"), strict=True):
        if _text(row.get("campaign_id")) != campaign_id:
            continue
        status, more = derive_status(row)
        issues.extend(more)
        if status != _text(row.get("status")):
            out.at[idx, "status"] = status
            changes += 1
    return out, changes, issues


def _counts_for_limit(line: Mapping[str, Any], policy: RewardPolicy) -> bool:
    """Payments for time count towards an earnings limit; repaid expenses never do."""
    if not is_time_line(line) or _text(line.get("status")) == CANCELLED:
        return False
    reward = _text(line.get("reward"))
    return reward == PAYMENT or (reward == VOUCHERS and policy.earnings_include_vouchers)


def ledger_frame(
    lines: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    cols = list(columns or LEDGER_COLUMNS)
    for c in LEDGER_COLUMNS:
        if c not in cols:
            cols.append(c)
    return pd.DataFrame([{c: ln.get(c, "") for c in cols} for ln in lines], columns=cols)


def accrue(
    policy: RewardPolicy,
    campaign_id: str,
    *,
    people: pd.DataFrame,
    attendance: pd.DataFrame | None,
    claims: pd.DataFrame | None,
    raw_scores: pd.DataFrame | None,
    ledger: pd.DataFrame | None,
    shortlisting_date: dt.date | None,
) -> Accrual:
    """Bring the ledger up to date with what happened; never edit or delete a money line.

    Lines of other campaigns (if any) are left exactly as they are.
    """
    src = desired_lines(
        policy,
        campaign_id,
        people=people,
        attendance=attendance,
        claims=claims,
        raw_scores=raw_scores,
        shortlisting_date=shortlisting_date,
    )
    issues = list(src.issues)
    index = people_index(people)
    lines = [dict(r) for _, r in _records(ledger)]
    before = [_text(ln.get("status")) for ln in lines]
    new = _corrections(src, index, lines, campaign_id)
    issues += _hold_over_limits(policy, index, lines, new, campaign_id)
    all_lines = lines + new
    for ln in all_lines:
        if _text(ln.get("campaign_id")) != campaign_id:
            continue
        status, more = derive_status(ln)
        ln["status"] = status
        issues.extend(more)
    changes = sum(1 for ln, b in zip(lines, before, strict=True) if _text(ln.get("status")) != b)
    columns = list(ledger.columns) if ledger is not None and len(ledger.columns) else None
    return Accrual(ledger_frame(all_lines, columns), new, changes, issues, src.waiting)


def _corrections(
    src: Sources, index: dict[str, Person], lines: list[dict[str, Any]], campaign_id: str
) -> list[dict[str, Any]]:
    """The lines to add so the ledger says what is owed now: for each thing (a line base),
    a reversal of every active version that no longer matches, and a new version when
    nothing active does. Unpaid versions reversed are cancelled with their reversal."""
    by_base: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in lines:
        if _text(ln.get("campaign_id")) != campaign_id:
            continue
        base, _, _ = split_key(_text(ln.get("line_key")))
        by_base[base].append(ln)
    new: list[dict[str, Any]] = []
    for base in sorted(set(by_base) | set(src.desired)):
        pid = base.split("|", 1)[0]
        if pid in src.frozen_people or base in src.frozen_bases:
            continue
        new += _correct_one(base, by_base.get(base, []), src.desired.get(base), index, campaign_id)
    return new


def _correct_one(
    base: str,
    existing: list[dict[str, Any]],
    d: Desired | None,
    index: dict[str, Person],
    campaign_id: str,
) -> list[dict[str, Any]]:
    """The reversals and the new version for one thing, from its lines and what it should be."""
    versions: dict[int, dict[str, Any]] = {}
    reversed_n: set[int] = set()
    for ln in existing:
        _, t, n = split_key(_text(ln.get("line_key")))
        if t == "v":
            versions[n] = ln
        else:
            reversed_n.add(n)
    active = [versions[n] for n in sorted(versions) if n not in reversed_n]
    want: dict[str, Any] | None = None
    keep: dict[str, Any] | None = None
    if d is not None:
        if not d.is_time:
            reward = PAYMENT  # expenses are repaid in money, whatever the reward choice
        else:
            locked = [a for a in active if _locked(a)]
            person = index.get(base.split("|", 1)[0])
            reward = (
                _text(locked[0].get("reward")) if locked else person.reward_choice if person else ""
            )
        want = _want(d, reward, campaign_id)
        keep = next((a for a in active if same_values(a, want, LINE_FIELDS)), None)
    new: list[dict[str, Any]] = []
    for a in active:
        if a is keep:
            continue
        _, _, n = split_key(_text(a.get("line_key")))
        rev = _reversal(a, base, n, _why(a, want))
        if not _settled(a):
            a["status"] = CANCELLED
            rev["status"] = CANCELLED
            rev["note"] += " Both lines are cancelled: nothing had been paid."
        else:
            rev["note"] += " It had already been paid or sent to finance, so it is taken off."
        new.append(rev)
    if want is not None and keep is None:
        next_n = max(versions, default=0) + 1
        line = _blank_line()
        line.update(want)
        line["line_key"] = version_key(base, next_n)
        if next_n > 1:
            line["note"] = (f"Corrected version {next_n}. " + _text(line["note"])).strip()
        new.append(line)
    return new


def _hold_over_limits(
    policy: RewardPolicy,
    index: dict[str, Person],
    lines: list[dict[str, Any]],
    new: list[dict[str, Any]],
    campaign_id: str,
) -> list[Issue]:
    """Earnings limits: in date order, a new line that would take a person past their limit
    for a period is held for a staff member to approve, and staff are told before it is paid
    (and when payments come close). Sorts ``new`` (reversals first: what is taken off counts
    before anything new is added) and marks the held lines."""
    order = {id(ln): i for i, ln in enumerate(new)}
    new.sort(
        key=lambda ln: (
            _text(ln["person_id"]),
            _text(ln["kind"]) != REVERSAL,
            as_date(ln["date"]) or dt.date.min,
            order[id(ln)],
        )
    )
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for ln in lines:
        if _text(ln.get("campaign_id")) == campaign_id and _counts_for_limit(ln, policy):
            d0 = as_date(ln.get("date"))
            if d0 is not None:
                totals[(_text(ln["person_id"]), period_key(d0, policy.period))] += (
                    as_decimal(ln.get("amount")) or ZERO
                )
    issues: list[Issue] = []
    for ln in new:
        day = as_date(ln["date"])
        if day is None or not _counts_for_limit(ln, policy):
            continue
        pid, per = _text(ln["person_id"]), period_key(day, policy.period)
        amount = as_decimal(ln["amount"]) or ZERO
        before_total = totals[(pid, per)]
        after = before_total + amount
        totals[(pid, per)] = after
        limit = limit_for(index.get(pid), policy)
        if limit is None or amount <= 0:
            continue
        words = period_words(per, policy.period)
        if after > limit:
            ln["status"] = HELD
            ln["note"] = (
                _text(ln["note"]) + f" Held: this would take {pid}'s payments for "
                f"{words} to {pounds(after)}, past their earnings limit of "
                f"{pounds(limit)}. Please talk to them before approving it."
            ).strip()
            issues.append(
                Issue(
                    "earnings-limit",
                    _text(ln["line_key"]),
                    f"{pid}: this line would take their payments for {words} to {pounds(after)}, "
                    f"past their earnings limit of {pounds(limit)}. It is held and will not be "
                    "paid until a staff member approves it. Please talk to them first: they may "
                    "prefer "
                    "vouchers, to be paid later, or to give the time without payment.",
                    _where("rewards_ledger", None, None) + f", line {_text(ln['line_key'])}",
                    pid,
                )
            )
        elif after >= limit * policy.earnings_warning_at > before_total:
            issues.append(
                Issue(
                    "earnings-near",
                    f"{pid}|{per}",
                    f"{pid}'s payments for {words} have reached {pounds(after)}, close to their "
                    f"earnings limit of {pounds(limit)}. Further lines in {words} will be held.",
                    _where("rewards_ledger", None, None),
                    pid,
                    warning=True,
                )
            )
    return issues


# ---------------------------------------------------------------------------- statements


UNIT_WORDS = {"half day": "half a day", "full day": "a full day", "session": "one session"}


def describe(line: Mapping[str, Any], policy: RewardPolicy) -> str:
    """One line's 'what for' in plain words, e.g. 'Shortlisting: 4 hours at £15.00 an hour'."""
    activity = _text(line.get("activity"))
    kind = (
        base_kind(_text(line.get("line_key")))
        if _text(line.get("line_key"))
        else _text(line.get("kind"))
    )
    qty, rate = as_decimal(line.get("quantity")), as_decimal(line.get("rate"))
    unit = _text(line.get("unit"))
    if kind == TIME:
        r = policy.rates.get(activity)
        what = (r.description if r and r.description else activity.capitalize()) or "Time"
        if unit == "hour" and qty is not None and rate is not None:
            hrs = "hour" if abs(qty) == 1 else "hours"
            return f"{what}: {number(abs(qty))} {hrs} at {pounds(rate)} an hour"
        if unit in ("half day", "full day", "session"):
            return f"{what}: {UNIT_WORDS[unit]}"
        return what
    rule = policy.expense(kind)
    what = {
        "travel": "Travel",
        "mileage": "Mileage",
        "carer": "Carer or personal assistant",
        "childcare": "Childcare",
        "meal": "A meal",
    }.get(kind, kind.capitalize())
    if activity and activity != EXPENSES_ACTIVITY:
        r = policy.rates.get(activity)
        what += f" for {(r.description if r and r.description else activity).lower()}"
    if unit == "mile" and qty is not None and rate is not None:
        return f"{what}: {number(abs(qty))} miles at {pounds(rate)} a mile"
    if unit == "claim" and rate is not None:
        cap = rule.cap if rule else None
        amount = as_decimal(line.get("amount")) or ZERO
        if cap is not None and abs(amount) < abs(rate):
            return f"{what}: you spent {pounds(rate)}; the policy repays up to {pounds(cap)}"
        return f"{what}: {pounds(rate)}"
    return what


@dataclass(frozen=True)
class StatementItem:
    """One thing a person did or spent, with every correction netted."""

    base: str
    date: dt.date | None
    words: str
    amount: Decimal
    reward: str
    state: str
    corrected: bool
    is_time: bool
    activity: str = ""
    kind: str = ""
    quantity: Decimal | None = None
    unit: str = ""


@dataclass(frozen=True)
class Payment:
    paid_on: dt.date | None
    reference: str
    amount: Decimal
    vouchers: bool


@dataclass
class Statement:
    """What a person did, what they are owed and what has been paid: all summed from lines."""

    person_id: str
    campaign_id: str
    reward_choice: str
    items: list[StatementItem]
    payments: list[Payment]
    paid: Decimal
    approved: Decimal
    waiting: Decimal
    line_count: int
    given_value: Decimal  # what the policy would have paid for time given without payment

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), ZERO)

    @property
    def still_to_come(self) -> Decimal:
        return self.total - self.paid

    @property
    def total_pence(self) -> int:
        return pence(self.total)

    def fingerprint(self) -> str:
        """Changes whenever anything on the statement changes (used so it is sent once)."""
        parts = [f"{i.base}:{i.amount}:{i.state}" for i in self.items]
        parts += [f"{p.paid_on}:{p.reference}:{p.amount}" for p in self.payments]
        parts.append(self.reward_choice)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def _item_state(group: Sequence[Mapping[str, Any]]) -> str:
    live = [g for g in group if _text(g.get("status")) != CANCELLED]
    statuses = {_text(g.get("status")) for g in live}
    if not live:
        return "cancelled"
    if statuses <= {NOT_CLAIMED}:
        return "given without payment"
    if statuses <= {VOUCHER_ISSUED}:
        return "voucher given"
    if statuses <= set(SETTLED) | {NOT_CLAIMED}:
        return "paid"
    if HELD in statuses:
        return "being checked by the team"
    if OWED in statuses:
        return "waiting for approval"
    if all(_text(g.get("export_batch")) for g in live if _text(g.get("status")) == APPROVED):
        return "sent for payment"
    return "approved, to be paid soon"


def build_statement(
    ledger: pd.DataFrame | None,
    person_id: str,
    campaign_id: str,
    policy: RewardPolicy,
    reward_choice: str = "",
) -> Statement:
    """The person's statement for one campaign, from their ledger lines only."""
    mine = [
        r
        for _, r in _records(ledger)
        if _text(r.get("person_id")) == person_id and _text(r.get("campaign_id")) == campaign_id
    ]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in mine:
        groups[split_key(_text(ln.get("line_key")))[0]].append(ln)
    items = []
    given = ZERO
    for base, group in groups.items():
        net = sum((as_decimal(g.get("amount")) or ZERO for g in group), ZERO)
        versions = [g for g in group if split_key(_text(g.get("line_key")))[1] == "v"]
        reversed_keys = {_text(g.get("reverses")) for g in group}
        active = [v for v in versions if _text(v.get("line_key")) not in reversed_keys]
        shown = active[-1] if active else group[-1]
        if _text(shown.get("status")) == NOT_CLAIMED and active:
            q, r = as_decimal(shown.get("quantity")) or ZERO, as_decimal(shown.get("rate")) or ZERO
            given += money(q * r)
        items.append(
            StatementItem(
                base=base,
                date=as_date(shown.get("date")),
                words=describe(shown, policy),
                amount=money(net),
                reward=_text(shown.get("reward")),
                state=_item_state(group),
                corrected=len(group) > 1,
                is_time=base_kind(base) == TIME,
                activity=_text(shown.get("activity")),
                kind=base_kind(base),
                quantity=as_decimal(shown.get("quantity")),
                unit=_text(shown.get("unit")),
            )
        )
    items.sort(key=lambda i: (i.date or dt.date.min, not i.is_time, i.base))
    by_status: dict[str, Decimal] = defaultdict(Decimal)
    pays: dict[tuple[dt.date | None, str, bool], Decimal] = defaultdict(Decimal)
    for ln in mine:
        st = _text(ln.get("status"))
        amt = as_decimal(ln.get("amount")) or ZERO
        by_status[st] += amt
        if st in SETTLED:
            pays[
                (
                    as_date(ln.get("paid_on")),
                    _text(ln.get("payment_reference")),
                    st == VOUCHER_ISSUED,
                )
            ] += amt
    payments = [Payment(k[0], k[1], money(v), k[2]) for k, v in pays.items()]
    payments.sort(key=lambda p: (p.paid_on or dt.date.min, p.reference))
    paid = by_status[PAID] + by_status[VOUCHER_ISSUED]
    approved = by_status[APPROVED]
    waiting = sum(
        (v for k, v in by_status.items() if k not in (PAID, VOUCHER_ISSUED, APPROVED)), ZERO
    )
    return Statement(
        person_id,
        campaign_id,
        reward_choice,
        items,
        payments,
        money(paid),
        money(approved),
        money(waiting),
        len(mine),
        money(given),
    )


def totals(ledger: pd.DataFrame | None, by: Sequence[str], period: str = "month") -> pd.DataFrame:
    """Totals derived from lines, by any of person_id, campaign_id and 'period'.

    Columns: the ``by`` columns, then total, paid, approved, waiting (owed or held).
    """
    rows: dict[tuple[str, ...], dict[str, Decimal]] = {}
    for _, ln in _records(ledger):
        day = as_date(ln.get("date"))
        vals = {
            "person_id": _text(ln.get("person_id")),
            "campaign_id": _text(ln.get("campaign_id")),
            "period": period_key(day, period) if day else "",
        }
        k = tuple(vals[b] for b in by)
        acc = rows.setdefault(k, {"total": ZERO, "paid": ZERO, "approved": ZERO, "waiting": ZERO})
        amt = as_decimal(ln.get("amount")) or ZERO
        st = _text(ln.get("status"))
        acc["total"] += amt
        if st in SETTLED:
            acc["paid"] += amt
        elif st == APPROVED:
            acc["approved"] += amt
        elif st not in (CANCELLED, NOT_CLAIMED):
            acc["waiting"] += amt
    out = [
        dict(zip(by, k, strict=True)) | {n: money(v) for n, v in acc.items()}
        for k, acc in sorted(rows.items())
    ]
    return pd.DataFrame(out, columns=[*by, "total", "paid", "approved", "waiting"])


# ----------------------------------------------------------------------------- estimates

EVENT_ACTIVITY = {
    "shortlisting deadline": SHORTLISTING,
    "preparation meeting": "preparation meeting",
    "interview day": "interview day",
    "interview day 2": "interview day",
    "interview day 3": "interview day",
    "decision meeting": "decision meeting",
    "feedback meeting": "feedback meeting",
    "check-in": "check-in",
}


@dataclass(frozen=True)
class PlannedActivity:
    activity: str
    date: dt.date
    hours: Decimal | None = None  # from the dates tab (start to end), when it has an end


def planned_activities(
    dates: pd.DataFrame | None, shortlists: bool, interviews: bool
) -> list[PlannedActivity]:
    """What a person is invited to, from the Campaign dates tab and their People flags."""
    out = []
    for _, r in _records(dates):
        activity = EVENT_ACTIVITY.get(_text(r.get("event")))
        start = r.get("starts_at")
        if activity is None or is_blank(start):
            continue
        if activity == SHORTLISTING and not shortlists:
            continue
        if activity != SHORTLISTING and not interviews:
            continue
        end = r.get("ends_at")
        hours = None
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and end > start:
            hours = Decimal((end - start).total_seconds()) / Decimal(3600)
            hours = hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
        day = as_date(start)
        if day is not None:
            out.append(PlannedActivity(activity, day, hours))
    out.sort(key=lambda p: (p.date, p.activity))
    return out


@dataclass(frozen=True)
class EstimateItem:
    activity: str
    date: dt.date
    words: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal


@dataclass
class Estimate:
    """What a person would be paid for the planned activities under their reward choice."""

    person_id: str
    reward_choice: str
    items: list[EstimateItem]
    by_period: dict[str, Decimal]
    over_limit: list[tuple[str, Decimal, Decimal]]  # (period, planned, limit)

    @property
    def total(self) -> Decimal:
        """The policy's value of the planned time."""
        return sum((i.amount for i in self.items), ZERO)

    @property
    def payable(self) -> Decimal:
        return ZERO if self.reward_choice == NO_PAYMENT else self.total

    def fingerprint(self) -> str:
        parts = [f"{i.activity}:{i.date}:{i.quantity}:{i.amount}" for i in self.items]
        parts.append(self.reward_choice)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def estimate(
    policy: RewardPolicy,
    person_id: str,
    reward_choice: str,
    planned: Sequence[PlannedActivity],
    limit: Decimal | None,
) -> tuple[Estimate, list[Issue]]:
    """Price the planned activities, and warn staff of any period that would pass a limit."""
    items: list[EstimateItem] = []
    issues: list[Issue] = []
    for p in planned:
        rate = policy.rates.get(p.activity)
        if rate is None:
            issues.append(
                Issue(
                    "unknown-activity",
                    f"policy|{p.activity}",
                    f"The reward policy has no rate for '{p.activity}', so it is "
                    "left out of estimates.",
                    "organisation.toml",
                )
            )
            continue
        if rate.unit == "hour":
            hours = rate.planned_hours or p.hours or rate.max_hours or Decimal(1)
            if rate.max_hours is not None:
                hours = min(hours, rate.max_hours)
            qty, unit = hours, "hour"
        else:
            qty, unit = Decimal(1), rate.unit
        line = {
            "activity": p.activity,
            "kind": TIME,
            "quantity": qty,
            "unit": unit,
            "rate": rate.amount,
            "line_key": line_base(person_id, "-", p.activity, p.date, TIME),
        }
        items.append(
            EstimateItem(
                p.activity,
                p.date,
                describe(line, policy),
                qty,
                unit,
                rate.amount,
                money(qty * rate.amount),
            )
        )
    by_period: dict[str, Decimal] = defaultdict(Decimal)
    counts = reward_choice == PAYMENT or (
        reward_choice == VOUCHERS and policy.earnings_include_vouchers
    )
    for i in items:
        by_period[period_key(i.date, policy.period)] += i.amount
    over = []
    if counts and limit is not None:
        for per, amt in sorted(by_period.items()):
            if amt > limit:
                over.append((per, money(amt), limit))
                issues.append(
                    Issue(
                        "estimate-limit",
                        f"{person_id}|{per}|{amt}",
                        f"{person_id}: the planned activities for "
                        f"{period_words(per, policy.period)} come to {pounds(amt)}, more than "
                        f"their earnings limit of {pounds(limit)}. "
                        "Please talk to them before the campaign starts about how they would like "
                        "to be rewarded.",
                        _where("people", None, "earnings_limit"),
                        person_id,
                    )
                )
    return Estimate(person_id, reward_choice, items, dict(by_period), over), issues


# -------------------------------------------------------------------------------- export


def export_candidates(
    ledger: pd.DataFrame | None, people: pd.DataFrame | None, campaign_id: str
) -> tuple[list[dict[str, Any]], list[Issue]]:
    """Approved lines not yet sent to finance that may be paid in money, and any refused.

    Lines for time rewarded in vouchers are issued by staff, not exported. A person whose
    corrections come to more than is owed is left out until more is owed.
    """
    index = people_index(people)
    issues: list[Issue] = []
    chosen: list[dict[str, Any]] = []
    for _, ln in _records(ledger):
        if _text(ln.get("campaign_id")) != campaign_id or _text(ln.get("status")) != APPROVED:
            continue
        if _text(ln.get("export_batch")) or not is_blank(ln.get("exported_at")):
            continue
        key, pid = _text(ln.get("line_key")), _text(ln.get("person_id"))
        where = _where("rewards_ledger", None, None) + f", line {key}"
        reward = _text(ln.get("reward"))
        person = index.get(pid)
        if person is None:
            issues.append(
                Issue(
                    "export-unknown",
                    key,
                    f"{pid} is not on the People tab, so this line was not sent to finance.",
                    where,
                    pid,
                )
            )
            continue
        if is_time_line(ln):
            if reward == VOUCHERS:
                continue  # staff issue the voucher and fill in paid on and the reference
            if reward == NO_PAYMENT:
                if (as_decimal(ln.get("amount")) or ZERO) != 0:
                    issues.append(
                        Issue(
                            "export-no-payment",
                            key,
                            f"{pid} chose to give their time without payment, so "
                            "this line was not sent to finance.",
                            where,
                            pid,
                        )
                    )
                continue
            if person.reward_choice != PAYMENT:
                chose = person.reward_choice or "nothing yet"
                issues.append(
                    Issue(
                        "export-choice",
                        key,
                        f"{pid}'s reward choice is now '{chose}', not payment, so "
                        "this line was not sent to finance. Please check with them.",
                        where,
                        pid,
                    )
                )
                continue
        chosen.append(ln)
    net: dict[str, Decimal] = defaultdict(Decimal)
    for ln in chosen:
        net[_text(ln["person_id"])] += as_decimal(ln.get("amount")) or ZERO
    out = []
    for ln in chosen:
        pid = _text(ln["person_id"])
        if net[pid] < 0:
            issues.append(
                Issue(
                    "export-negative",
                    f"{pid}|{net[pid]}",
                    f"{pid}'s approved corrections come to {pounds(net[pid])}: more "
                    "was paid than is owed. Nothing was sent to finance for them; "
                    "it will be taken off their next payment.",
                    _where("rewards_ledger", None, None),
                    pid,
                )
            )
            continue
        out.append(ln)
    out.sort(
        key=lambda ln: (
            _text(ln["person_id"]),
            as_date(ln.get("date")) or dt.date.min,
            _text(ln["line_key"]),
        )
    )
    return out, issues


FINANCE_COLUMNS = (
    "batch", "row_type", "person_id", "name", "campaign_id", "date", "activity", "kind",
    "quantity", "unit", "rate", "amount", "approved_by", "line_key",
)  # fmt: skip


def finance_rows(
    lines: Sequence[Mapping[str, Any]], names: Mapping[str, str], batch: str
) -> list[dict[str, str]]:
    """The finance CSV: one row a line, then a total for each person and for the batch."""
    out: list[dict[str, str]] = []
    per_person: dict[str, Decimal] = defaultdict(Decimal)
    for ln in lines:
        pid = _text(ln.get("person_id"))
        amt = money(as_decimal(ln.get("amount")) or ZERO)
        per_person[pid] += amt
        day = as_date(ln.get("date"))
        q, r = as_decimal(ln.get("quantity")), as_decimal(ln.get("rate"))
        out.append(
            {
                "batch": batch,
                "row_type": "line",
                "person_id": pid,
                "name": names.get(pid, ""),
                "campaign_id": _text(ln.get("campaign_id")),
                "date": day.isoformat() if day else "",
                "activity": _text(ln.get("activity")),
                "kind": _text(ln.get("kind")),
                "quantity": number(q) if q is not None else "",
                "unit": _text(ln.get("unit")),
                "rate": format(r, "f") if r is not None else "",
                "amount": format(amt, "f"),
                "approved_by": _text(ln.get("approved_by")),
                "line_key": _text(ln.get("line_key")),
            }
        )
    blank = dict.fromkeys(FINANCE_COLUMNS, "")
    for pid in sorted(per_person):
        out.append(
            blank
            | {
                "batch": batch,
                "row_type": "person total",
                "person_id": pid,
                "name": names.get(pid, ""),
                "amount": format(money(per_person[pid]), "f"),
            }
        )
    grand = sum(per_person.values(), ZERO)
    out.append(
        blank | {"batch": batch, "row_type": "batch total", "amount": format(money(grand), "f")}
    )
    return out


def csv_safe(value: str) -> str:
    """Text that a spreadsheet opening the CSV can never take for a formula."""
    return csv_cell(value)
