"""Rewards jobs: accrue the ledger, send statements and estimates, export for finance.

Each job holds the staff workbook for its read-modify-write, reads every tab it needs in
one batch, calls the pure functions in :mod:`automations.transforms.rewards` and writes in
one batch (sending mail adds one more write: "intended" before sending, "sent" after).

Exactly once, even if a run is killed at any line:

* accrual: line keys are deterministic and the ledger is written in one atomic batch, so a
  re-run finds the lines already there and adds nothing;
* mail: a ``sent_messages`` row (rule|person|campaign|occasion) is written as ``intended``
  before sending and ``sent`` after. The Message-ID is derived from that key, so after a
  crash an ``intended`` message is looked up in the transport (the outbox can tell) rather
  than sent again; a transport that cannot tell leaves it for staff to check;
* export: lines are first marked with a deterministic export batch (in one write), then the
  CSV named after the batch is written, then the lines are marked exported. A run killed
  between the steps finishes the same batch next time, rewriting the same file with the
  same rows: a line is never in two batches.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..config.models import ReminderRule
from ..context import Context
from ..errors import JobError, Problem, SheetProblems
from ..files import private_dir
from ..mail.delivery import DeliveryReport, letter_stem
from ..mail.render import Rendered, Renderer
from ..sending import Item, Part, SendResult, send_once
from ..store import append_new, conform, make_frame
from ..store.base import TableStore
from ..transforms import rewards as R
from ..transforms.messages import OTHER_WAY, Recipient, base_key, person_recipient
from ..transforms.reminders import OWN_PATH_TEMPLATES, events_from_dates, rule_day
from ..transforms.timetable import blocks_from_frame
from ..transforms.values import as_date, as_decimal, is_blank, is_true
from ..transforms.values import text as _text
from . import JobResult

LEDGER, EXCEPTIONS, SENT = "rewards_ledger", "exceptions", "sent_messages"
ACCRUE_TABS = ("people", "attendance", "expense_claims", "raw_scores", "dates", LEDGER, EXCEPTIONS)
RULE_STATEMENT, RULE_ESTIMATE = "rewards-statement", "rewards-estimate"
DELIVERED = ("sent", "contact another way")


# ------------------------------------------------------------------------------ helpers


def _refuse_bad_cells(frames: Mapping[str, pd.DataFrame], tabs: Sequence[str]) -> None:
    """Tabs this job writes back must read cleanly, or a bad cell would be lost on writing."""
    problems: list[Problem] = []
    for t in tabs:
        problems.extend(frames[t].attrs.get("problems", []) or [])
    if problems:
        raise SheetProblems(problems)


def _shortlisting_date(ctx: Context, dates: pd.DataFrame) -> dt.date | None:
    for _, r in dates.iterrows():
        if str(r.get("event", "")).strip() == "shortlisting deadline":
            d = as_date(r.get("starts_at"))
            if d is not None:
                return d
    return ctx.campaign.dates.shortlisting_deadline


def _exceptions(
    store: TableStore, current: pd.DataFrame, issues: Sequence[R.Issue], now: dt.datetime
) -> tuple[pd.DataFrame, int]:
    spec = store.tab(EXCEPTIONS)
    new = make_frame(spec, R.issue_records(issues, now))
    return append_new(spec, current, new)


def _attention(issues: Sequence[R.Issue]) -> list[str]:
    """One line for staff per kind of issue; person ids only, never names."""
    by_code: dict[str, list[R.Issue]] = {}
    for i in issues:
        by_code.setdefault(i.code, []).append(i)
    out = []
    for code, items in sorted(by_code.items()):
        who = sorted({i.person_id for i in items if i.person_id})
        out.append(
            f"{len(items)} x {code}"
            + (f" ({', '.join(who)})" if who else "")
            + ": see the 'Needs attention' tab."
        )
    return out


# -------------------------------------------------------------------------------- accrue


def accrue_job(ctx: Context) -> JobResult:
    """Bring the rewards ledger up to date: one batch read, at most one batch write."""
    staff = ctx.stores.staff
    policy = ctx.settings.org.rewards
    result = JobResult("rewards")
    with staff.locked():
        tabs = [t for t in ACCRUE_TABS if t != "raw_scores"]
        staff.prefetch(list(ACCRUE_TABS))  # one batch (one Google call) for both reads
        frames = staff.read(tabs, errors="collect")
        # Who sent shortlisting scores is all it takes from Raw scores (160,000 rows at
        # 5,000 applications): two columns, not a frame of every score.
        frames["raw_scores"] = pd.DataFrame(
            staff.read_columns("raw_scores", ["person_id", "stage"]), dtype=object
        )
        result.api_calls += 1
        _refuse_bad_cells(frames, (LEDGER, EXCEPTIONS))
        result.rows_read = sum(len(f) for f in frames.values())
        acc = R.accrue(
            policy,
            ctx.campaign.id,
            people=frames["people"],
            attendance=frames["attendance"],
            claims=frames["expense_claims"],
            raw_scores=frames["raw_scores"],
            ledger=frames[LEDGER],
            shortlisting_date=_shortlisting_date(ctx, frames["dates"]),
        )
        seen = set(frames[EXCEPTIONS]["exception_id"]) if len(frames[EXCEPTIONS]) else set()
        exc, added_exc = _exceptions(staff, frames[EXCEPTIONS], acc.issues, ctx.now())
        writes: dict[str, pd.DataFrame] = {}
        if acc.changed:
            writes[LEDGER] = conform(staff.tab(LEDGER), acc.ledger)
        if added_exc:
            writes[EXCEPTIONS] = exc
        if writes:
            staff.write(writes)
            result.api_calls += 1
    result.rows_written = len(acc.added) + acc.status_changes + added_exc
    held = sum(1 for ln in acc.added if ln["status"] == R.HELD)
    parts = [f"{len(acc.added)} new ledger line(s)"]
    if acc.status_changes:
        parts.append(f"{acc.status_changes} status change(s)")
    if held:
        parts.append(f"{held} held at an earnings limit")
    if acc.waiting:
        parts.append(f"{acc.waiting} attendance row(s) waiting for staff to confirm")
    if added_exc:
        parts.append(f"{added_exc} new item(s) on 'Needs attention'")
    result.detail = "; ".join(parts) + "."
    result.attention = _attention([i for i in acc.issues if i.exception_id not in seen])
    return result


# ---------------------------------------------------------------------------------- mail

EASY_ACTIVITY = {
    "shortlisting": "you read the applications and gave scores",
    "question shaping": "you helped write the interview questions",
    "preparation meeting": "you came to the meeting to get ready",
    "interview day": "you helped with the interviews",
    "decision meeting": "you helped make the decision",
    "feedback meeting": "you came to the meeting to talk about how it went",
    "check-in": "you came to the check-in meeting",
    "induction planning": "you helped plan the new worker's first weeks",
}
EASY_EXPENSE = {
    "travel": "your bus, train or taxi",
    "mileage": "driving your car",
    "carer": "your carer or personal assistant",
    "childcare": "childcare",
    "meal": "a meal",
}


def _easy(activity: str, kind: str, qty: Any, unit: str) -> str:
    """Short, simple words for easy read letters."""
    if kind != R.TIME:
        words = EASY_EXPENSE.get(kind, kind)
        if unit == "mile" and qty is not None:
            return f"{words}: {R.number(abs(qty))} miles"
        return words
    words = EASY_ACTIVITY.get(activity, f"you helped with {activity}")
    if unit == "hour" and qty is not None:
        n = abs(qty)
        return f"{words} for {R.number(n)} {'hour' if n == 1 else 'hours'}"
    return words + {"half day": " for half a day", "full day": " for a whole day"}.get(unit, "")


@dataclass
class Letter:
    """One message to one person, rendered in their format."""

    rule: str
    person_id: str
    occasion: str
    subject: str
    text: str
    html: str
    recipient: Recipient
    preferred_contact: str
    has_email: bool

    def key(self, campaign: str) -> str:
        return base_key(self.rule, self.person_id, campaign, self.occasion)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256((self.subject + self.text).encode()).hexdigest()[:16]


def _one_line(s: Any) -> str:
    return " ".join(str(s).split())


def _renderer(ctx: Context) -> Renderer:
    """The shared mail renderer (the team's template folder first), made once per context."""
    r = ctx.extras.get("mail_renderer")
    if not isinstance(r, Renderer) or r.settings is not ctx.settings:
        r = ctx.extras["mail_renderer"] = Renderer(ctx.settings)
    return r


def _letter(
    ctx: Context,
    rule: str,
    kind: str,
    person: Mapping[str, Any],
    occasion: str,
    values: dict[str, Any],
) -> Letter:
    """Rendered from ``mail/templates/rewards/<kind>`` (a team's own copy first), greeting
    the person as every other message does (:func:`person_recipient`)."""
    r = person_recipient(person)
    org = ctx.settings.org
    fmt = str(person.get("formats") or "standard").strip() or "standard"
    common = {
        "first_name": r.greeting,
        "post": ctx.campaign.campaign.post,
        "team_contact": org.organisation.team_contact or org.mail.from_address,
        "from_name": org.mail.from_name,
        "organisation": org.organisation.name,
        "fmt": fmt,
        "easy_read": fmt == "easy read",
        "large_print": fmt == "large print",
    }
    got = _renderer(ctx).render(f"rewards/{kind}", common | values)
    return Letter(
        rule=rule,
        person_id=str(person["person_id"]),
        occasion=occasion,
        subject=got.subject,
        text=got.text,
        html=got.html,
        recipient=r,
        preferred_contact=_text(person.get("preferred_contact")),
        has_email=bool(_text(person.get("email"))),
    )


def statement_letter(ctx: Context, person: Mapping[str, Any], st: R.Statement) -> Letter:
    """The person's statement, in plain words and their preferred format."""
    shown = [i for i in st.items if i.amount != 0 or i.state != "cancelled"]

    def item(i: R.StatementItem) -> dict[str, Any]:
        return {
            "date": R.date_words(i.date) if i.date else "",
            "words": i.words,
            "easy": _easy(i.activity, i.kind, i.quantity, i.unit),
            "amount": R.pounds(i.amount),
            "state": i.state,
            "corrected": i.corrected,
        }

    overpaid = -st.still_to_come if st.still_to_come < 0 else None
    values = {
        "time_items": [item(i) for i in shown if i.is_time],
        "expense_items": [item(i) for i in shown if not i.is_time],
        "total": R.pounds(st.total),
        "paid": R.pounds(st.paid),
        "still_to_come": R.pounds(st.still_to_come),
        "overpaid": R.pounds(overpaid) if overpaid is not None else "",
        "payments": [
            {
                "amount": R.pounds(p.amount),
                "vouchers": p.vouchers,
                "reference": p.reference,
                "paid_on": R.date_words(p.paid_on) if p.paid_on else "a date not recorded",
            }
            for p in st.payments
        ],
        "reward": st.reward_choice,
        "given_value": R.pounds(st.given_value),
    }
    return _letter(
        ctx,
        RULE_STATEMENT,
        "statement",
        person,
        f"statement {st.fingerprint()}",
        values,
    )


def estimate_letter(ctx: Context, person: Mapping[str, Any], est: R.Estimate) -> Letter:
    """What the person will be paid for the planned activities, under their chosen reward."""
    policy = ctx.settings.org.rewards
    expenses = []
    for e in policy.expenses:
        words = e.description or e.kind.capitalize()
        if e.cap is not None:
            words += f" (up to {R.pounds(e.cap)} a claim)"
        expenses.append(words)
    values = {
        "items": [
            {
                "date": R.date_words(i.date),
                "words": i.words,
                "amount": R.pounds(i.amount),
                "easy": _easy(i.activity, R.TIME, i.quantity, i.unit),
            }
            for i in est.items
        ],
        "total": R.pounds(est.total),
        "reward": est.reward_choice,
        "expenses": expenses,
    }
    return _letter(
        ctx,
        RULE_ESTIMATE,
        "estimate",
        person,
        f"estimate {est.fingerprint()}",
        values,
    )


def _atomic_write(path: Path, data: bytes) -> None:
    """The finance CSV, whole or not at all."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _send(
    ctx: Context,
    letters: Sequence[Letter],
    record: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[SendResult, dict[str, Letter]]:
    """Each letter once, through the one sender (its lock, log, journal and settling)."""
    camp = ctx.campaign.id
    by_key = {x.key(camp): x for x in letters}
    items = [_item(x, key) for key, x in by_key.items()]
    return send_once(ctx, items, record=record), by_key


def _item(x: Letter, key: str) -> Item:
    """A rewards letter as the sender takes it: keyed, already rendered in its own words."""
    return Item(
        rule=x.rule,
        recipient=x.recipient,
        occasion=x.occasion,
        key=key,
        content_hash=x.content_hash,
        rendered=Rendered(x.subject, x.text, x.html),
        planned=f"{x.rule} -> {x.person_id}, {x.occasion}",
    )


def _other_way(ctx: Context, x: Letter, key: str) -> str:
    """For staff: why this person gets a letter instead of an email, and where it is."""
    how = x.preferred_contact or "phone or post"
    reason = "has no email address" if not x.has_email else f"prefers {how}"
    if x.has_email and x.preferred_contact not in OTHER_WAY:
        reason = "has an email or 'Copy to' address that cannot be used (please check it)"
    path = ctx.settings.workspace / ctx.campaign.id / "letters" / f"{letter_stem(key)}.html"
    return (
        f"{x.person_id} {reason}: please contact them another way ({how}). "
        f"Their letter is saved as {path}."
    )


def _delivery_result(
    ctx: Context,
    result: JobResult,
    sent: SendResult,
    letters: Mapping[str, Letter],
    what: str,
    already: int = 0,
) -> JobResult:
    rep = sent.report or DeliveryReport()
    result.messages_sent = len(rep.sent)
    result.api_calls += sent.api_calls
    result.rows_written += rep.rows_written
    already += len(sent.already)
    parts = [f"{len(rep.sent)} {what}(s) sent"]
    if already:
        parts.append(f"{already} already sent before")
    if rep.other_way:
        parts.append(f"{len(rep.other_way)} to contact another way")
    if rep.failed:
        parts.append(f"{len(rep.failed)} failed and will be tried again next time")
    result.detail = "; ".join(parts) + "."
    mine = set(letters)
    result.attention.extend(_other_way(ctx, letters[k], k) for k in rep.other_way)
    for k in rep.failed:
        result.attention.append(
            f"The {what} to {letters[k].person_id} could not be sent; it will be tried again."
        )
    for k in [*sent.held, *rep.held]:
        result.attention.append(
            f"The last run stopped while sending the {what} to {letters[k].person_id}, and the "
            "mail transport cannot say whether it went. Please check the sent mail, then set "
            "its status on 'Messages sent' to 'sent' (or 'failed' to send it again)."
        )
    ours = set(rep.attention)  # said above in rewards' own words
    result.attention.extend(
        a for a in sent.attention if a not in ours and not any(k in a for k in mine)
    )
    return result


# ---------------------------------------------------------------------------- statements


def statement(ctx: Context, person_id: str | None = None, *, all_people: bool = False) -> JobResult:
    """Send each chosen person their statement (what they did, are owed and were paid), once.

    A statement is sent again only when something on it has changed.
    """
    if not all_people and not person_id:
        raise JobError("say whose statement to send (a person ID), or all of them")
    staff = ctx.stores.staff
    policy = ctx.settings.org.rewards
    result = JobResult("rewards statement")
    with staff.locked():
        frames = staff.read(["people", LEDGER, SENT], errors="collect")
        result.api_calls += 1
        _refuse_bad_cells(frames, (SENT,))
        result.rows_read = sum(len(f) for f in frames.values())
        people = {str(r["person_id"]).strip(): r for _, r in frames["people"].iterrows()}
        ledger = frames[LEDGER]
        mine = ledger[ledger["campaign_id"] == ctx.campaign.id] if len(ledger) else ledger
        with_lines = sorted({str(p).strip() for p in mine.get("person_id", [])} - {""})
        if all_people:
            pids = [p for p in with_lines if p in people]
            unknown = [p for p in with_lines if p not in people]
            for p in unknown:
                result.attention.append(f"{p} has ledger lines but is not on the People tab.")
        else:
            assert person_id is not None
            if person_id not in people:
                raise JobError(f"{person_id} is not on the People tab of the staff workbook")
            if person_id not in with_lines:
                raise JobError(f"there is nothing in the rewards ledger for {person_id} yet")
            pids = [person_id]
        auto = _auto_sent(ctx, frames[SENT])
        letters = []
        skipped = 0
        for pid in pids:
            person = people[pid]
            st = R.build_statement(
                ledger, pid, ctx.campaign.id, policy, str(person.get("reward_choice") or "")
            )
            letter = statement_letter(ctx, person, st)
            if (pid, letter.content_hash) in auto:
                skipped += 1  # the reminder rule already sent this very statement
                continue
            letters.append(letter)
    sent, by_key = _send(ctx, letters)  # the workbook's lock is let go: the sender's first
    return _delivery_result(ctx, result, sent, by_key, "statement", skipped)


def _auto_sent(ctx: Context, sent: pd.DataFrame) -> set[tuple[str, str]]:
    """(person, content) of statements the reminder rule has sent (so staff do not resend)."""
    rules = {r.id for r in ctx.campaign.reminders if r.template == OWN_PATH_TEMPLATES[0]}
    if not rules or not len(sent):
        return set()
    mine = sent[sent["rule"].astype(str).isin(rules) & sent["status"].astype(str).isin(DELIVERED)]
    return {(str(r["person_id"]), str(r["content_hash"])) for _, r in mine.iterrows()}


def lines_fingerprint(st: R.Statement) -> str:
    """Changes only when the person's lines change (a new line, an amount, a correction, or
    their reward choice), not when a line moves on from owed to approved or paid."""
    parts = [f"{i.base}:{i.amount}" for i in st.items] + [st.reward_choice]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


@dataclass
class DueResult(JobResult):
    planned: list[str] = field(default_factory=list)  # ids only, for --dry-run


class StatementsRule:
    """The statement after the campaign, by reminder rule: its share of a send
    (:class:`automations.sending.Part`), planned from the batch read under the messages
    lock (people, dates, ledger and the settled log).

    A rule with ``template = "rewards/statement"`` is due ``days_after`` days after its
    event (``campaign end``: the last interview day or the decision meeting). From then on,
    each person with ledger lines gets their statement once; a corrected one goes only if
    their lines change (not when a line is approved or paid: staff can still send one with
    ``corecruit rewards statement``). A person who already has a statement sent by hand
    that is up to date is not sent another.
    """

    def __init__(self, ctx: Context, rules: Sequence[ReminderRule], *, dry_run: bool) -> None:
        self.ctx, self.rules, self.dry_run = ctx, list(rules), dry_run
        self.result = DueResult("rewards statement (reminder rule)")
        self.letters: dict[str, Letter] = {}
        self.covered: dict[str, dict[str, Any]] = {}  # filled by plan, written with intentions
        self.part = Part(self.plan, ["people", "dates", LEDGER], self.covered)

    def plan(self, frames: dict[str, pd.DataFrame]) -> list[Item]:
        """What is due, planned from the log read (and settled) under the messages lock."""
        ctx, result, camp = self.ctx, self.result, self.ctx.campaign.id
        _refuse_bad_cells(frames, (SENT,))
        result.rows_read = sum(len(f) for f in frames.values())
        people = {str(r["person_id"]).strip(): r for _, r in frames["people"].iterrows()}
        ledger = frames[LEDGER]
        mine = ledger[ledger["campaign_id"] == camp] if len(ledger) else ledger
        with_lines = sorted({str(p).strip() for p in mine.get("person_id", [])} - {""})
        status = {str(r["message_key"]): r for _, r in frames[SENT].iterrows()}
        events = events_from_dates(frames["dates"], ctx.campaign)
        for rule in self.rules:
            day = rule_day(events, ctx.campaign, rule.event)
            if day is None:
                result.attention.append(
                    f"Reminder rule '{rule.id}' waits for a date for '{rule.event}' "
                    "on the Dates tab."
                )
                continue
            if ctx.today() < day + dt.timedelta(days=rule.days_after):
                continue
            for pid in with_lines:
                if pid not in people:
                    result.attention.append(f"{pid} has ledger lines but is not on the People tab.")
                    continue
                self._plan_one(rule, people[pid], ledger, status)
        return [_item(x, k) for k, x in self.letters.items()]

    def _plan_one(
        self,
        rule: ReminderRule,
        person: pd.Series,
        ledger: pd.DataFrame,
        status: Mapping[str, pd.Series],
    ) -> None:
        """One person's statement under ``rule``: due, covered by one sent by hand, or done."""
        ctx, camp = self.ctx, self.ctx.campaign.id
        pid = str(person["person_id"]).strip()
        choice = str(person.get("reward_choice") or "")
        st = R.build_statement(ledger, pid, camp, ctx.settings.org.rewards, choice)
        occasion = f"statement {lines_fingerprint(st)}"
        key = f"{rule.id}|{pid}|{camp}|{occasion}"
        prev = status.get(key)
        if prev is not None and str(prev["status"]) in DELIVERED:
            return
        by_hand = status.get(f"{RULE_STATEMENT}|{pid}|{camp}|statement {st.fingerprint()}")
        done = str(by_hand["status"]) if by_hand is not None else ""
        if by_hand is not None and prev is None and done in DELIVERED:
            self.covered[key] = {
                "rule": rule.id,
                "person_id": pid,
                "occasion": occasion,
                "status": done,
                "sent_at": by_hand.get("sent_at"),
                "transport_id": by_hand.get("transport_id"),
                "note": "Already sent by hand (corecruit rewards statement).",
            }
            return
        base = statement_letter(ctx, person, st)
        self.letters[key] = replace(base, rule=rule.id, occasion=occasion)
        self.result.planned.append(f"{rule.id} -> {pid}, {occasion}")

    def finish(self, sent: SendResult) -> DueResult:
        """The result of the send, in the rewards' own words."""
        result = self.result
        if self.dry_run:
            result.api_calls += sent.api_calls
            result.detail = f"dry run: {len(self.letters)} statement(s) would go out."
            return result
        if not self.letters and not self.covered:
            result.api_calls += sent.api_calls
            result.attention.extend(sent.attention)
            result.detail = "No statements due."
            return result
        out = _delivery_result(self.ctx, result, sent, self.letters, "statement")
        assert isinstance(out, DueResult)
        return out


def statements_rule(ctx: Context, *, dry_run: bool = False) -> StatementsRule | None:
    """The statement's reminder rule (run by ``corecruit remind``), or None without one."""
    rules = [r for r in ctx.campaign.reminders if r.template == OWN_PATH_TEMPLATES[0]]
    return StatementsRule(ctx, rules, dry_run=dry_run) if rules else None


def statements_due(ctx: Context, dry_run: bool = False) -> DueResult | None:
    """The statement's reminder rule on its own (the remind run sends it with the rest);
    None when the campaign has no such rule."""
    due = statements_rule(ctx, dry_run=dry_run)
    if due is None:
        return None
    p = due.part
    return due.finish(send_once(ctx, p.plan, dry_run=dry_run, tabs=p.tabs, record=p.record))


# ----------------------------------------------------------------------------- estimates


def estimate_job(ctx: Context) -> JobResult:
    """Before the campaign starts, tell each invited person what they will be paid, once.

    Staff are warned (on 'Needs attention') when a person's planned activities would pass
    their earnings limit in a period, and that person's estimate waits until staff mark the
    item resolved: staff hear first, so they can talk to the person before anything is
    sent. Interview days come from the timetable when there is one (only the days with
    interviews). A new estimate is sent if the plan changes.
    """
    staff = ctx.stores.staff
    policy = ctx.settings.org.rewards
    result = JobResult("rewards estimate")
    with staff.locked():
        frames = staff.read(["people", "dates", "timetable", SENT, EXCEPTIONS], errors="collect")
        result.api_calls += 1
        _refuse_bad_cells(frames, (SENT, EXCEPTIONS))
        result.rows_read = sum(len(f) for f in frames.values())
        index = R.people_index(frames["people"])
        letters: list[Letter] = []
        issues: list[R.Issue] = []
        used = {b.day for b in blocks_from_frame(frames["timetable"]) if b.candidate}
        resolved = {
            str(r["exception_id"])
            for _, r in frames[EXCEPTIONS].iterrows()
            if is_true(r.get("resolved"))
        }
        held: list[str] = []
        for _, person in frames["people"].iterrows():
            pid = str(person["person_id"]).strip()
            p = index.get(pid)
            if p is None or not p.lived_experience:
                continue
            shortlists = is_true(person.get("shortlists"))
            interviews = is_true(person.get("interviews"))
            if not (shortlists or interviews):
                continue
            planned = R.planned_activities(frames["dates"], shortlists, interviews)
            if used:  # the timetable says which interview days are needed
                planned = [a for a in planned if a.activity != "interview day" or a.date in used]
            est, more = R.estimate(policy, pid, p.reward_choice, planned, R.limit_for(p, policy))
            issues.extend(more)
            warned = [i for i in more if i.code == "estimate-limit"]
            if any(i.exception_id not in resolved for i in warned):
                held.append(pid)  # staff first: sent once they mark the item resolved
            elif est.items:
                letters.append(estimate_letter(ctx, person, est))
        exc, added = _exceptions(staff, frames[EXCEPTIONS], issues, ctx.now())
        if added:
            staff.write({EXCEPTIONS: exc})  # staff hear first, before anything is sent
            result.api_calls += 1
    sent, by_key = _send(ctx, letters)
    result = _delivery_result(ctx, result, sent, by_key, "estimate")
    if held:
        result.attention.insert(
            0,
            (
                f"Planned payments would pass the earnings limit for {', '.join(held)}: please "
                "talk to them before the campaign starts. Their estimates are not sent until "
                "you mark the item resolved on 'Needs attention'."
            ),
        )
    return result


# -------------------------------------------------------------------------------- export


def export_path(ctx: Context, batch: str) -> Path:
    return ctx.settings.workspace / ctx.campaign.id / "exports" / f"finance-{batch}.csv"


def finance_csv(rows: Sequence[Mapping[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(R.FINANCE_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: R.csv_safe(str(r.get(k, ""))) for k in R.FINANCE_COLUMNS})
    return buf.getvalue().encode("utf-8-sig")


def export_job(ctx: Context, out: Path | None = None) -> JobResult:
    """Write approved, unexported payment lines to a finance CSV with totals, exactly once.

    1. mark the lines with a batch id (one write); 2. write ``finance-<batch>.csv``;
    3. mark them exported (one write). A run stopped after 1 or 2 finishes the same batch
    with the same file next time. Finance should never pay the same batch id twice.
    """
    staff = ctx.stores.staff
    camp = ctx.campaign.id
    result = JobResult("rewards export")
    with staff.locked():
        frames = staff.read(["people", LEDGER, EXCEPTIONS], errors="collect")
        result.api_calls += 1
        _refuse_bad_cells(frames, (LEDGER, EXCEPTIONS))
        result.rows_read = sum(len(f) for f in frames.values())
        ledger = frames[LEDGER].copy()
        names = {
            str(r["person_id"]).strip(): _one_line(r.get("name", ""))
            for _, r in frames["people"].iterrows()
        }
        ledger, changed, issues = R.refresh_statuses(ledger, camp)
        chosen, more = R.export_candidates(ledger, frames["people"], camp)
        issues += more
        writes: dict[str, pd.DataFrame] = {}
        if changed:
            writes[LEDGER] = ledger
        if chosen:
            batch = f"{camp}-{ctx.now():%Y%m%d-%H%M%S}"
            keys = {str(ln["line_key"]) for ln in chosen}
            ledger.loc[ledger["line_key"].isin(keys), "export_batch"] = batch
            writes[LEDGER] = ledger
        exc, added = _exceptions(staff, frames[EXCEPTIONS], issues, ctx.now())
        if added:
            writes[EXCEPTIONS] = exc
        if writes:
            staff.write(writes)  # step 1: the lines belong to this batch from now on
            result.api_calls += 1
        pending_mask = (
            (ledger["campaign_id"] == camp)
            & (ledger["export_batch"] != "")
            & (ledger["exported_at"].map(is_blank))
            if len(ledger)
            else pd.Series([], dtype=bool)
        )
        batches = sorted(set(ledger.loc[pending_mask, "export_batch"])) if len(ledger) else []
        files: list[Path] = []
        count, grand = 0, R.ZERO
        for b in batches:
            lines = [r for _, r in ledger[pending_mask & (ledger["export_batch"] == b)].iterrows()]
            lines.sort(
                key=lambda r: (
                    str(r["person_id"]),
                    as_date(r["date"]) or dt.date.min,
                    str(r["line_key"]),
                )
            )
            rows = R.finance_rows([dict(r) for r in lines], names, b)
            if out is not None:
                path = out if len(batches) == 1 else out.with_name(f"{out.stem}-{b}{out.suffix}")
            else:
                path = export_path(ctx, b)
            _atomic_write(path, finance_csv(rows))  # step 2: same batch, same file, same rows
            files.append(path)
            count += len(lines)
            grand += sum((as_decimal(r["amount"]) or R.ZERO for r in lines), R.ZERO)
        if batches:
            ledger.loc[pending_mask, "exported_at"] = ctx.now()
            staff.write({LEDGER: ledger})  # step 3: exported, once
            result.api_calls += 1
    result.rows_written = count + added
    if files:
        result.detail = (
            f"{count} line(s), {R.pounds(grand)} in all, written to "
            + ", ".join(str(f) for f in files)
            + "."
        )
    else:
        result.detail = "Nothing new to export: no approved lines waiting."
    result.attention = _attention(issues) if added else []
    return result


def export(ctx: Context, out: Path | None = None) -> JobResult:
    """Alias kept for the CLI's wording."""
    return export_job(ctx, out)
