"""Interview questions shaped together: from the job criteria to an agreed set. Pure.

1. *Propose*: a draft set from the question bank, one question per interview panel
   member, every job criterion covered (the bank's ``tests`` words are matched
   against each criterion's words; a criterion nothing in the bank fits gets a
   question written from the criterion itself).
2. *Views*: the co-production advisors say, for each draft, keep / change (with
   their wording) / drop, and comment. :func:`side_by_side` lines the views up
   for the pre-meeting.
3. *Agree*: staff record the agreed wording, who asks each and (in the people
   tab) the chair. :func:`agreed_set` checks that and gives the Question models,
   each with the record of how it was shaped.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ..config.models import CampaignConfig, Criterion, Question
from ..errors import ConfigError, Problem
from .messages import short_name
from .values import is_true
from .values import text as _text

PACKAGED_BANK = Path(__file__).resolve().parent.parent / "data" / "question_bank.toml"
DRAFTS = "question_drafts"
VIEWS = "question_views"
CHOICES = ("keep", "change", "drop")
AGREE = ("agree", "agree with changes")
_WORD = re.compile(r"[a-z][a-z'-]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "we",
        "what",
        "when",
        "who",
        "why",
        "with",
        "you",
        "your",
        "would",
        "could",
        "will",
        "about",
        "others",
        "people",
        "someone",
    ]
)


@dataclass(frozen=True)
class BankQuestion:
    id: str
    text: str
    tests: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class Draft:
    draft_id: str
    text: str
    criteria: tuple[str, ...]
    source: str


@dataclass
class Proposal:
    drafts: list[Draft] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- bank


def load_bank(paths: Iterable[Path]) -> list[BankQuestion]:
    """Bank questions from each file that exists, in order (a team's own bank first)."""
    out: list[BankQuestion] = []
    seen: set[str] = set()
    for path in paths:
        if not path.exists():
            continue
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), None, f"the question bank does not parse: {exc}") from None
        for i, q in enumerate(raw.get("questions", [])):
            if not isinstance(q, dict) or not q.get("id") or not q.get("text"):
                raise ConfigError(
                    str(path), f"questions[{i}]", "each question needs an id and a text"
                )
            if q["id"] in seen:
                continue
            seen.add(q["id"])
            out.append(
                BankQuestion(
                    id=str(q["id"]),
                    text=" ".join(str(q["text"]).split()),
                    tests=tuple(str(t).casefold() for t in q.get("tests", [])),
                    source=str(q.get("source", "")),
                )
            )
    return out


def _stems(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.casefold()) if w not in _STOP}


def fit(bank_q: BankQuestion, criterion: Criterion) -> int:
    """How well a bank question tests a criterion: matching words and phrases."""
    crit_text = criterion.text.casefold()
    crit_stems = _stems(crit_text)
    score = 0
    for t in bank_q.tests:
        if " " in t or "-" in t:
            score += 3 if t in crit_text else 0
        elif t[:6] in crit_stems:
            score += 2
    return score


def written_from(criterion: Criterion) -> str:
    """A plain question made from a criterion nothing in the bank fits."""
    what = criterion.text.strip().rstrip(".")
    what = what[:1].lower() + what[1:]
    return f"Can you tell us about your experience of {what}? Please give an example."


def propose(campaign: CampaignConfig, bank: Sequence[BankQuestion], n_askers: int) -> Proposal:
    """A draft set: one question per panel member, every criterion covered."""
    out = Proposal()
    crits = list(campaign.criteria)
    used: set[str] = set()
    picked: list[tuple[str, str, list[str], str]] = []  # (bank id, text, criteria, source)

    def best_for(c: Criterion) -> BankQuestion | None:
        scored = [(fit(b, c), -i, b) for i, b in enumerate(bank) if b.id not in used]
        scored = [s for s in scored if s[0] > 0]
        return max(scored, key=lambda s: (s[0], s[1]))[2] if scored else None

    # every criterion first, essential ones before desirable ones
    for c in sorted(crits, key=lambda c: not c.essential):
        if any(c.id in p[2] for p in picked):
            continue
        b = best_for(c)
        if b is None:
            picked.append(("", written_from(c), [c.id], f"written from criterion {c.id}"))
            continue
        used.add(b.id)
        tested = [x.id for x in crits if fit(b, x) >= 2]
        picked.append((b.id, b.text, tested or [c.id], f"bank: {b.id} ({b.source})".strip()))
    # then one more question for each remaining panel member, round the criteria again
    i = 0
    while len(picked) < n_askers and i < len(crits) * 3:
        c = sorted(crits, key=lambda c: not c.essential)[i % len(crits)]
        i += 1
        b = best_for(c)
        if b is None:
            continue
        used.add(b.id)
        tested = [x.id for x in crits if fit(b, x) >= 2]
        picked.append((b.id, b.text, tested or [c.id], f"bank: {b.id} ({b.source})".strip()))
    if n_askers and len(picked) > n_askers:
        out.notes.append(
            f"There are {len(crits)} criteria but {n_askers} panel member(s) to ask questions, "
            f"so the draft has {len(picked)} questions. At the pre-meeting, agree which to "
            "combine, or who asks two."
        )
    if n_askers and len(picked) < n_askers:
        out.notes.append(
            f"The bank ran out: {len(picked)} questions for {n_askers} panel members. Add "
            "your own at the pre-meeting, or to config/question_bank.toml."
        )
    order = {c.id: n for n, c in enumerate(crits)}
    picked.sort(key=lambda p: min(order[x] for x in p[2]))
    for n, (_bid, text, tested, source) in enumerate(picked, start=1):
        out.drafts.append(
            Draft(f"d{n}", text, tuple(sorted(tested, key=order.__getitem__)), source)
        )
    return out


def askers(people: pd.DataFrame) -> list[str]:
    """Person ids of everyone who can ask a question: chair and interviewing panel members."""
    out = []
    for _, r in people.iterrows():
        if _text(r.get("role")) in ("chair", "panel member") and is_true(r.get("interviews")):
            out.append(_text(r.get("person_id")))
    return sorted(x for x in out if x)


def advisors(people: pd.DataFrame) -> list[str]:
    """Who shapes the questions: co-production advisors and lived-experience panel members."""
    out = []
    for _, r in people.iterrows():
        role, kind = _text(r.get("role")), _text(r.get("kind"))
        if role == "advisor" or (kind == "lived experience" and role in ("chair", "panel member")):
            out.append(_text(r.get("person_id")))
    return sorted(x for x in out if x)


def draft_rows(proposal: Proposal, now: Any) -> list[dict[str, Any]]:
    return [
        {
            "draft_id": d.draft_id,
            "text": d.text,
            "criteria": ", ".join(d.criteria),
            "source": d.source,
            "proposed_at": now,
        }
        for d in proposal.drafts
    ]


# ---------------------------------------------------------------------- views


@dataclass
class ViewsSummary:
    rows: list[dict[str, Any]] = field(default_factory=list)  # per draft, job columns
    problems: list[Problem] = field(default_factory=list)


def latest_views(views: pd.DataFrame) -> pd.DataFrame:
    """Each person's latest view of each draft (a later answer replaces an earlier one)."""
    if views.empty:
        return views
    v = views.copy()
    v["_order"] = range(len(v))
    v = v.sort_values(["submitted_at", "_order"], na_position="first", kind="stable")
    return v.drop_duplicates(["person_id", "draft_id"], keep="last").drop(columns="_order")


def side_by_side(
    drafts: pd.DataFrame, views: pd.DataFrame, names: Mapping[str, str]
) -> ViewsSummary:
    """Counts, suggested wordings and comments for each draft, in the drafts' order."""
    out = ViewsSummary()
    known = {_text(x) for x in drafts["draft_id"]}
    for sheet_row, r in views.iterrows():
        if _text(r.get("draft_id")) not in known:
            out.problems.append(
                Problem(
                    "staff",
                    VIEWS,
                    "this view is about a draft that is not in the question drafts tab",
                    row=int(sheet_row),
                    column="draft_id",
                )
            )
        elif _text(r.get("choice")) not in CHOICES:
            out.problems.append(
                Problem(
                    "staff",
                    VIEWS,
                    "write keep, change or drop",
                    row=int(sheet_row),
                    column="choice",
                )
            )
    ok = views[views["draft_id"].map(_text).isin(known) & views["choice"].map(_text).isin(CHOICES)]
    latest = latest_views(ok)
    for _, d in drafts.iterrows():
        did = _text(d["draft_id"])
        mine = latest[latest["draft_id"].map(_text) == did] if len(latest) else latest
        counts = {c: 0 for c in CHOICES}
        wordings, comments = [], []
        for _, v in mine.sort_values("person_id").iterrows() if len(mine) else []:
            who = names.get(_text(v["person_id"]), _text(v["person_id"]))
            choice = _text(v["choice"])
            counts[choice] += 1
            if choice == "change" and _text(v.get("wording")):
                wordings.append(f"{who}: {_text(v['wording'])}")
            if _text(v.get("comment")):
                comments.append(f"{who}: {_text(v['comment'])}")
        out.rows.append(
            {
                "draft_id": did,
                "keep_count": counts["keep"],
                "change_count": counts["change"],
                "drop_count": counts["drop"],
                "suggestions": "\n".join(wordings),
                "comments": "\n".join(comments),
            }
        )
    return out


def view_names(people: pd.DataFrame) -> dict[str, str]:
    return {
        _text(r.get("person_id")): short_name(
            _text(r.get("introduction")), _text(r.get("name")), _text(r.get("person_id"))
        )
        for _, r in people.iterrows()
        if _text(r.get("person_id"))
    }


# ---------------------------------------------------------------------- agree


@dataclass
class Agreed:
    questions: list[Question] = field(default_factory=list)
    history: dict[str, str] = field(default_factory=dict)  # draft id -> how it was shaped
    question_ids: dict[str, str] = field(default_factory=dict)  # draft id -> question id
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def shaping_record(d: Mapping[str, Any], agreed_text: str) -> str:
    """How one question was shaped, in words with no names in it."""
    parts = [f"Drafted from the job criteria ({_text(d.get('source')) or 'staff'})."]
    k, c, x = _int(d.get("keep_count")), _int(d.get("change_count")), _int(d.get("drop_count"))
    if k + c + x:
        parts.append(f"Advisors' views: {k} keep, {c} change, {x} drop.")
    else:
        parts.append("No advisors' views were recorded.")
    if agreed_text != _text(d.get("text")):
        parts.append(f"Original wording: {_text(d.get('text'))}")
        parts.append("Wording changed at the pre-meeting.")
    else:
        parts.append("Agreed as drafted.")
    return " ".join(parts)


def agreed_set(drafts: pd.DataFrame, people: pd.DataFrame, campaign: CampaignConfig) -> Agreed:
    """The agreed questions from what staff recorded in the drafts tab, checked."""
    out = Agreed()
    crit = {c.id for c in campaign.criteria}
    can_ask = set(askers(people))
    chairs = [
        _text(r.get("person_id")) for _, r in people.iterrows() if _text(r.get("role")) == "chair"
    ]
    asked: dict[str, int] = {}

    def bad(row: int, col: str, msg: str) -> None:
        out.problems.append(Problem("staff", DRAFTS, msg, row=row, column=col))

    n = 0
    for sheet_row, d in drafts.iterrows():
        row = int(sheet_row)
        decision = _text(d.get("decision"))
        if decision in ("", "drop"):
            continue
        if decision not in AGREE:
            bad(row, "decision", "write agree, agree with changes or drop")
            continue
        text = " ".join(_text(d.get("agreed_text")).split()) or _text(d.get("text"))
        if decision == "agree with changes" and not _text(d.get("agreed_text")):
            bad(row, "agreed_text", "write the agreed wording here")
            continue
        criteria = [c.strip() for c in _text(d.get("criteria")).split(",") if c.strip()]
        unknown = [c for c in criteria if c not in crit]
        if unknown or not criteria:
            bad(row, "criteria", "list the job criteria this question tests, e.g. c1, c2")
            continue
        asker = _text(d.get("asker"))
        if not asker:
            bad(row, "asker", "write the Person ID of the panel member who asks this question")
            continue
        if asker not in can_ask:
            bad(
                row,
                "asker",
                "this person cannot ask questions: they must be the chair or a panel member "
                "with 'Interviews' TRUE in the people tab",
            )
            continue
        asked[asker] = asked.get(asker, 0) + 1
        n += 1
        qid = f"q{n}"
        did = _text(d.get("draft_id"))
        out.question_ids[did] = qid
        out.history[did] = shaping_record(d, text)
        out.questions.append(Question(id=qid, text=text, asker=asker, criteria=criteria))
    if not out.questions and not out.problems:
        out.problems.append(
            Problem(
                "staff",
                DRAFTS,
                "no question is agreed yet: set 'Decision' to agree (or agree with changes) "
                "for each agreed question",
                column="decision",
            )
        )
    covered = {c for q in out.questions for c in q.criteria}
    missing = [c.id for c in campaign.criteria if c.id not in covered]
    if out.questions and missing:
        out.warnings.append(
            f"No agreed question tests {', '.join(missing)}. That is fine if it was agreed; "
            "shortlisting still scores every criterion."
        )
    twice = sorted(p for p, k in asked.items() if k > 1)
    if twice:
        out.warnings.append(
            f"{', '.join(twice)} ask(s) more than one question. One question per panel "
            "member is usually enough."
        )
    if len(chairs) != 1:
        out.warnings.append(
            f"The people tab should name exactly one chair (Role 'chair'); it names {len(chairs)}."
        )
    return out


# ----------------------------------------------------------- campaign file


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def questions_toml(questions: Sequence[Question]) -> str:
    blocks = []
    for q in questions:
        lines = [
            "[[questions]]",
            f"id = {_toml_str(q.id)}",
            f"text = {_toml_str(q.text)}",
        ]
        if q.asker:
            lines.append(f"asker = {_toml_str(q.asker)}")
        lines.append("criteria = [" + ", ".join(_toml_str(c) for c in q.criteria) + "]")
        if q.weight != Decimal(1):
            lines.append(f"weight = {_toml_str(str(q.weight))}")
        if q.panel != "all":
            lines.append(f"panel = {_toml_str(q.panel)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


_HEADER = re.compile(r"^\s*\[")
NOTE_PREFIX = "# Agreed together at the pre-meeting"


def replace_questions(text: str, questions: Sequence[Question], note: str = "") -> str:
    """The campaign file with its ``[[questions]]`` replaced; everything else kept as it is."""
    lines = [ln for ln in text.splitlines() if not ln.startswith(NOTE_PREFIX)]
    keep: list[str] = []
    insert_at: int | None = None
    i = 0
    while i < len(lines):
        if lines[i].strip() == "[[questions]]":
            if insert_at is None:
                insert_at = len(keep)
            j = i + 1
            while j < len(lines) and not _HEADER.match(lines[j]):
                j += 1
            # comments and blank lines just before the next table belong to it
            k = j
            while k > i + 1 and (not lines[k - 1].strip() or lines[k - 1].lstrip().startswith("#")):
                k -= 1
            keep.extend(lines[k:j])
            i = j
            continue
        keep.append(lines[i])
        i += 1
    block = questions_toml(questions).rstrip("\n").splitlines()
    if note:
        block = [f"# {note}", *block]
    if insert_at is None:
        keep.extend(["", "# The agreed interview questions.", *block])
    else:
        keep[insert_at:insert_at] = [*block, ""]
    out = "\n".join(keep)
    return re.sub(r"\n{3,}", "\n\n", out).rstrip("\n") + "\n"
