"""The expense claim form for people with lived experience, and its answers as claims. Pure.

Built on the forms engine like the co-production forms (``kind="answers"``). Each person
has one form for the campaign, with room for :data:`SLOTS` expenses (one page each). The
engine's rule holds: the latest answers a person sends are the ones that count. So
expense *n* on a person's form is always the claim ``F-<person>-<n>`` in the
``expense_claims`` tab: sending the form again with a changed amount changes that claim
(and the rewards ledger makes its usual correction lines), and clearing an expense
withdraws it. Nothing is uploaded: the person says whether they have a receipt or will
send it, and staff add the receipt reference when they have seen it.

An expense that cannot be read (no date, an amount that is not pounds and pence, a
negative number, a date in the future) is not copied; staff get a plain reason on the
'Needs attention' tab naming the person, the expense and the answer, never what was typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..config.models import CampaignConfig, RewardPolicy
from .form_values import (
    CommentItem,
    FormSpec,
    Response,
    ScaleItem,
    ScalePoint,
    Section,
    comment_item_id,
    form_key,
    score_item_id,
)
from .issues import Issue
from .messages import long_date
from .money import NumberError, parse_money, parse_number
from .values import text as _text

STAGE = "expenses"
SLOTS = 3
RECEIPT = {1: "I have a receipt", 2: "I will send it", 0: "No receipt"}
EXPENSE_WORDS = {
    "travel": "Bus, train or taxi fares",
    "mileage": "Driving my own car (miles)",
    "carer": "A carer or personal assistant",
    "childcare": "Childcare",
    "meal": "A meal",
}


def _slot(n: int) -> str:
    return f"e{n}"


def choice_id(name: str, n: int) -> str:
    return score_item_id(_slot(n), name)


def text_id(name: str, n: int) -> str:
    return comment_item_id(_slot(n), name)


def claim_id(person_id: str, n: int) -> str:
    return f"F-{person_id}-{n}"


def kinds(policy: RewardPolicy) -> list[tuple[str, str]]:
    """(kind, words) for each expense the policy repays, in the policy's order."""
    return [(e.kind, e.description or EXPENSE_WORDS.get(e.kind, e.kind)) for e in policy.expenses]


def activities(policy: RewardPolicy) -> list[tuple[str, str]]:
    """(activity, words) for each activity the policy pays for, in the policy's order."""
    return [(a, r.description or a.capitalize()) for a, r in policy.rates.items()]


def _choice(name: str, n: int, legend: str, labels: Sequence[str]) -> ScaleItem:
    return ScaleItem(
        item_id=choice_id(name, n),
        candidate_letter=_slot(n),
        question_id=name,
        title=legend,
        points=tuple(ScalePoint(v, label) for v, label in enumerate(labels)),
        required=False,  # every expense is optional; a half-filled one is explained to staff
        legend=legend,
    )


def _receipt(n: int) -> ScaleItem:
    legend = "Do you have a receipt?"
    return ScaleItem(
        item_id=choice_id("receipt", n),
        candidate_letter=_slot(n),
        question_id="receipt",
        title=legend,
        points=tuple(ScalePoint(v, RECEIPT[v]) for v in (1, 2, 0)),
        required=False,
        legend=legend,
    )


def _box(name: str, n: int, title: str) -> CommentItem:
    return CommentItem(
        item_id=text_id(name, n), candidate_letter=_slot(n), question_id=name, title=title
    )


def expense_spec(campaign: CampaignConfig, person_id: str, policy: RewardPolicy) -> FormSpec:
    """One person's expense form: :data:`SLOTS` pages, one expense each, all optional."""
    post = campaign.campaign.post
    kind_words = [w for _k, w in kinds(policy)]
    activity_words = [w for _a, w in activities(policy)]
    sections = []
    for n in range(1, SLOTS + 1):
        first = n == 1
        sections.append(
            Section(
                f"expense-{n}",
                "Your expense" if first else f"Another expense ({n} of {SLOTS})",
                "Tell us about one thing you paid for to take part. We pay it back."
                if first
                else "If you have another expense, tell us here. If not, just go on.",
                (
                    _choice("kind", n, "What did you pay for?", kind_words),
                    _choice("activity", n, "What was it for?", activity_words),
                    _box("date", n, "What date was it? For example 8/2/2027"),
                    _box("amount", n, "How much did it cost, in pounds? For example 4.50"),
                    _box("miles", n, "If you drove: how many miles, there and back?"),
                    _receipt(n),
                    _box("note", n, "Anything else we should know? (optional)"),
                ),
            )
        )
    return FormSpec(
        key=form_key(campaign.id, STAGE, person_id),
        campaign_id=campaign.id,
        stage=STAGE,  # type: ignore[arg-type]
        person_id=person_id,
        title=f"Claim your expenses for helping recruit our {post}",
        intro="We pay back what you spend to take part, like fares, parking or a carer. "
        "Use this form to tell us. You do not need to upload anything: just tell us if "
        "you have a receipt or will send it. You can come back and add more later.",
        sections=tuple(sections),
        kind="answers",
    )


# ----------------------------------------------------------------- reading answers

_MONTHS = {
    m.lower(): i
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}


def parse_date(text: str) -> dt.date | None:
    """'8/2/2027', '08-02-2027', '2027-02-08', '8 February 2027', '8 Feb 2027' (UK order)."""
    s = " ".join(text.strip().lower().replace(",", " ").split())
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})", s):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return dt.date(year, int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(?:[a-z]+ )?(\d{1,2})(?:st|nd|rd|th)? ([a-z]{3,}) (\d{4})", s):
            word = m[2]
            month = next(
                (
                    v
                    for k, v in _MONTHS.items()
                    if word in (k, k[:3]) or (k, word) == ("september", "sept")
                ),
                None,
            )
            if month is None:
                return None
            return dt.date(int(m[3]), month, int(m[1]))
    except ValueError:
        return None
    return None


def read_miles(text: str) -> Decimal:
    """Miles typed on the form ('12', '12.5 miles'), by the one strict number reader."""
    s = text.strip().lower().removesuffix("miles").removesuffix("mile").strip()
    return parse_number(s, places=2)


@dataclass(frozen=True)
class Collected:
    rows: list[dict[str, Any]]  # claims to be in 'expense_claims' (upserted by claim_id)
    withdrawn: list[str]  # claim ids the person cleared on their latest form
    issues: list[Issue]


def _choice_word(answers: Mapping[str, str], name: str, n: int, options: Sequence[Any]) -> Any:
    raw = _text(answers.get(choice_id(name, n)))
    if not raw.isdigit() or int(raw) >= len(options):
        return None
    return options[int(raw)]


def latest_by_person(responses: Sequence[Response]) -> dict[str, Response]:
    """The latest response on each person's form (the one that counts)."""
    out: dict[str, Response] = {}
    for r in sorted(responses, key=lambda r: (r.submitted_at, r.response_id)):
        out[r.person_id] = r
    return out


def claims_from_responses(
    responses: Sequence[Response],
    policy: RewardPolicy,
    today: dt.date,
    tz_local: Any = None,
) -> Collected:
    """Each person's latest form as expense claims; unreadable expenses as issues."""
    kind_keys = [k for k, _w in kinds(policy)]
    activity_keys = [a for a, _w in activities(policy)]
    rows: list[dict[str, Any]] = []
    withdrawn: list[str] = []
    issues: list[Issue] = []
    for pid, r in sorted(latest_by_person(responses).items()):
        a = r.answers
        sent_on = (tz_local(r.submitted_at) if tz_local else r.submitted_at).date()
        for n in range(1, SLOTS + 1):
            cid = claim_id(pid, n)
            if choice_id("kind", n) not in a:
                continue  # this expense was not on the form when it was sent
            typed = {x: _text(a.get(text_id(x, n))) for x in ("date", "amount", "miles", "note")}
            picked = {x: _text(a.get(choice_id(x, n))) for x in ("kind", "activity", "receipt")}
            if not any(typed.values()) and not any(picked.values()):
                withdrawn.append(cid)
                continue
            where = (
                f"expense claim form of {pid}, expense {n} (sent {long_date(sent_on)}, "
                f"reference {r.response_id})"
            )
            problems: list[tuple[str, str]] = []
            kind = _choice_word(a, "kind", n, kind_keys)
            activity = _choice_word(a, "activity", n, activity_keys)
            if kind is None:
                problems.append(("kind", "it does not say what the expense was for"))
            if activity is None:
                problems.append(("activity", "it does not say which activity it was for"))
            when = parse_date(typed["date"]) if typed["date"] else None
            if not typed["date"]:
                problems.append(("date", "the date is missing"))
            elif when is None:
                problems.append(
                    ("date", "the date could not be read (we ask for it like 8/2/2027)")
                )
            elif when > today:
                problems.append(("date", "the date is in the future"))
            amount: Decimal | None = None
            miles: Decimal | None = None
            if kind == "mileage":
                if not typed["miles"]:
                    problems.append(("miles", "a mileage claim needs the number of miles"))
                else:
                    try:
                        miles = read_miles(typed["miles"])
                    except NumberError as exc:
                        problems.append(("miles", f"the miles could not be read ({exc})"))
                    else:
                        if miles <= 0:
                            problems.append(("miles", "the miles must be more than 0"))
            elif kind is not None:
                if not typed["amount"]:
                    problems.append(("amount", "the amount is missing"))
                else:
                    try:  # the same strict reader as the Expense claims tab
                        amount = parse_money(typed["amount"], negative=True)
                    except NumberError as exc:
                        problems.append(("amount", f"the amount could not be read ({exc})"))
                    else:
                        if amount <= 0:
                            problems.append(("amount", "the amount must be more than £0.00"))
            if problems:
                for column, reason in problems:
                    issues.append(
                        Issue(
                            code="claim-form",
                            key=f"{r.response_id}|{n}|{column}",
                            reason=f"This expense was not copied to 'Expense claims': {reason}. "
                            "Please check it with the person; they can send the form again.",
                            source=f"{where}, answer '{column}'",
                            person_id=pid,
                        )
                    )
                continue
            receipt = _choice_word(a, "receipt", n, [RECEIPT[0], RECEIPT[1], RECEIPT[2]])
            notes = [f"From the claim form, sent {long_date(sent_on)}."]
            if receipt:
                notes.append(f"Receipt: {receipt}.")
            if typed["note"]:
                notes.append(typed["note"])
            rows.append(
                {
                    "claim_id": cid,
                    "person_id": pid,
                    "kind": kind,
                    "activity": activity,
                    "date": when,
                    "amount": amount,
                    "miles": miles,
                    "receipt_reference": "claimant has a receipt" if receipt == RECEIPT[1] else "",
                    "note": " ".join(notes),
                }
            )
    return Collected(rows, withdrawn, issues)
