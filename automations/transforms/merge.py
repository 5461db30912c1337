"""Merge panel scores with equal weight for each panel. Pure: no I/O, no floats.

What the guidance asks: "If there is a separate Council panel and lived experience
panel, both panels' scores should have equal weighting in terms of the final decision."
corecruit prepares that decision; the panels make it together at their meeting.

How a result is worked out, for one stage (shortlisting or interview):

1. The latest score counts: for each person, candidate and question, the row with the
   latest ``submitted_at`` (a correction is a new row; on the same time, the lower row).
2. Each score goes on a common 0 to 100 scale from its question's own scale
   (``(score - min) / (max - min) * 100``), so questions with different scales compare.
3. Each member's score for a candidate is the weighted average of the questions they
   scored (question weights from config). A missing score is left out and flagged,
   never counted as zero.
4. A panel's score is the plain mean over its members who scored that candidate:
   every member counts the same.
5. The overall score is the plain mean of the panel scores: a Council panel of 2 and
   a lived experience panel of 5 each carry exactly half. With one mixed panel, the
   overall score is that panel's score. If a panel has no scores yet, there is no
   overall score (the other panel is never used alone).
6. Optionally (``merge.carry_shortlisting_weight``) a share of the shortlisting overall
   score is carried into the interview result.

Arithmetic is exact: scores are read as ``Decimal``, worked on as exact fractions and
rounded once, to two decimal places, for people to read. (A stage's scores are held as
whole numbers over one common denominator, and a ``Fraction`` is made only where a result
is formed: the same values, without reducing a fraction at every step.) Ranks use the rounded scores
people see, so two candidates showing the same score share a rank; ties are reported,
never broken.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, NamedTuple

import pandas as pd

from ..config import CampaignConfig
from ..errors import Problem
from .issues import Issue
from .issues import issue_records as issue_records  # the jobs write them through here
from .values import column, is_empty, is_true
from .values import text as _text

STAGES = ("shortlisting", "interview")
COUNCIL, LIVED, MIXED = "council", "lived experience", "mixed"
SCORING_ROLES = ("chair", "panel member")
HUNDRED = Fraction(100)
PANEL_WORDS = {COUNCIL: "Council panel", LIVED: "lived experience panel", MIXED: "mixed panel"}


# --------------------------------------------------------------------------- numbers


def to_decimal(f: Fraction | None, places: int = 2) -> Decimal | None:
    """Round an exact fraction half away from zero to ``places`` decimals, exactly."""
    if f is None:
        return None
    if not isinstance(f, Fraction):
        f = Fraction(f)
    n, d = f.numerator, f.denominator
    q = (2 * abs(n) * 10**places + d) // (2 * d)  # floor(|f| * 10**places + 1/2)
    return Decimal(-q if n < 0 else q).scaleb(-places)


def show(d: Decimal | Fraction | None) -> str:
    """A score as people read it: two decimals, or 'no score'."""
    if isinstance(d, Fraction):
        d = to_decimal(d)
    return "no score" if d is None else f"{d:.2f}"


def _fsum(values: Iterable[Fraction]) -> Fraction:
    """Exact sum, fast: whole-number sums per denominator, then a few fraction additions."""
    by_den: dict[int, int] = defaultdict(int)
    for v in values:
        by_den[v.denominator] += v.numerator
    total = Fraction(0)
    for d in sorted(by_den):
        total += Fraction(by_den[d], d)
    return total


def _members(n: int) -> str:
    return f"{n} member" if n == 1 else f"{n} members"


def _mean(values: Sequence[Fraction]) -> Fraction | None:
    return _fsum(values) / len(values) if values else None


def _pairs_mean(pairs: Sequence[tuple[int, int]]) -> Fraction | None:
    """The exact mean of fractions given as (numerator, positive denominator), unreduced:
    whole-number sums over a common denominator, one Fraction made."""
    if not pairs:
        return None
    dens = {d for _, d in pairs}
    if len(dens) == 1:
        return Fraction(sum(n for n, _ in pairs), dens.pop() * len(pairs))
    common = math.lcm(*dens)
    return Fraction(sum(n * (common // d) for n, d in pairs), common * len(pairs))


def _by_k_mean(sums: Mapping[int, int], count: int, den: int) -> Fraction | None:
    """The exact mean of ``count`` values ``num / (den * k)`` whose numerators were summed
    by ``k`` in ``sums`` (the others' mean on a score has k = scorers - 1)."""
    if not count:
        return None
    if len(sums) == 1:
        ((k, s),) = sums.items()
        return Fraction(s, den * k * count)
    common = math.lcm(*sums)
    return Fraction(sum(s * (common // k) for k, s in sums.items()), den * common * count)


def _sqrt(f: Fraction) -> Fraction:
    """Square root (for spreads only), to 15 significant digits, deterministic."""
    if f == 0:
        return Fraction(0)
    with localcontext() as c:
        c.prec = 15
        d = (Decimal(f.numerator) / Decimal(f.denominator)).sqrt()
        return Fraction(d)


_Z_SCALE = 10**6


def _round6(num: int, den: int) -> int:
    """``num / den`` (den > 0) rounded half away from zero to 6 places, as millionths."""
    q = (2 * abs(num) * _Z_SCALE + den) // (2 * den)
    return -q if num < 0 else q


def _z_factors(den: int, n: int, sd: Fraction) -> tuple[int, int]:
    """(a, b) with (v - mean) / sd = (n·N - T)·a / b, for v = N/den among n values of sum
    T/den: a z-score is then ``_round6((n·N - T) * a, b)`` millionths, on whole numbers
    (one reviewer's scores make thousands of these, and Fraction arithmetic reduces every
    step). Rounded to 6 places, as ``to_decimal((v - mean) / sd, 6)`` (spreads are square
    roots, so not exact anyway)."""
    return sd.denominator, den * n * sd.numerator


class _Spreads:
    """Spreads of values ``N / den`` from their count, sum and sum of squares, each worked
    out once (a handful of distinct scores make few distinct spreads)."""

    def __init__(self, den: int) -> None:
        self.den = den
        self._seen: dict[tuple[int, int, int], Fraction | None] = {}

    def __call__(self, n: int, total: int, squares: int) -> Fraction | None:
        """The population standard deviation of the n values N/den, from their count, sum
        and sum of squares: the root of (n·ΣN² - (ΣN)²) / (den·n)², exactly the mean
        squared distance from the mean."""
        key = (n, total, squares)
        if key not in self._seen:
            self._seen[key] = (
                _sqrt(Fraction(n * squares - total * total, (self.den * n) ** 2)) if n else None
            )
        return self._seen[key]


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Item:
    """A question (interview) or a criterion (shortlisting) as scored at one stage."""

    id: str
    text: str
    min: int
    max: int
    weight: Fraction
    panel: str = "all"  # "all", "council" or "lived experience"
    criteria: tuple[str, ...] = ()

    def normalise(self, score: Fraction) -> Fraction:
        """(score - min) * 100 / (max - min), reduced once."""
        return Fraction(
            (score.numerator - self.min * score.denominator) * 100,
            score.denominator * (self.max - self.min),
        )

    def for_panel(self, panel: str) -> bool:
        return self.panel == "all" or panel == MIXED or self.panel == panel


def stage_items(campaign: CampaignConfig, stage: str) -> list[Item]:
    """Shortlisting scores the criteria; interviews score the agreed questions."""
    if stage == "shortlisting":
        return [
            Item(c.id, c.text, c.scale.min, c.scale.max, Fraction(1), "all", (c.id,))
            for c in campaign.criteria
        ]
    return [
        Item(
            q.id,
            q.text,
            q.scale.min,
            q.scale.max,
            Fraction(q.weight),
            q.panel,
            tuple(q.criteria),
        )
        for q in campaign.questions
    ]


@dataclass(frozen=True)
class Member:
    person_id: str
    panel: str
    stages: frozenset[str]  # stages the People tab says they score


@dataclass(frozen=True)
class Flag:
    """Something for the meeting to talk about. ``staff`` may name person ids."""

    code: str  # incomplete, no-panel-score, disagree, order, threshold, tie, carry
    text: str  # safe for the panels (letters only)
    staff: str = ""  # more detail for staff (person ids, question ids)

    def for_staff(self) -> str:
        return self.staff or self.text


@dataclass(frozen=True)
class Comment:
    person_id: str
    panel: str
    item_id: str
    text: str


@dataclass
class CandidateResult:
    stage: str
    letter: str
    panel_scores: dict[str, Fraction | None]
    members_counted: dict[str, int]
    stage_score: Fraction | None  # plain mean of the panel scores
    overall: Fraction | None  # after any carried shortlisting share
    carried: Fraction | None  # the shortlisting score carried in (interview, carry > 0)
    by_item: dict[str, dict[str, Fraction | None]]  # item -> panel -> mean
    by_criterion: dict[str, Fraction | None]
    member_scores: dict[str, Fraction]  # person -> weighted average (staff only)
    comments: list[Comment] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # person -> items missing
    expected: dict[str, int] = field(default_factory=dict)  # person -> items they should score
    # person -> item -> reason, for missing scores the person said they could not give
    declared: dict[str, dict[str, str]] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    rank: int | None = None
    panel_ranks: dict[str, int | None] = field(default_factory=dict)
    check_rank: int | None = None  # standardised (z-score) check ranking, if switched on
    check_score: Fraction | None = None

    def score(self, panel: str) -> Decimal | None:
        return to_decimal(self.panel_scores.get(panel))

    @property
    def overall_decimal(self) -> Decimal | None:
        return to_decimal(self.overall)

    def explanation(self, panels: Sequence[str], weight: Fraction) -> str:
        """How the overall score was worked out, in words and numbers."""
        ps = [(p, self.panel_scores.get(p)) for p in panels]
        if len(panels) == 1:
            p, s = ps[0]
            if s is None:
                return "No scores yet."
            text = (
                f"One {PANEL_WORDS[p]}: every member counts the same. "
                f"Mean of {_members(self.members_counted.get(p, 0))}: {show(s)}."
            )
        else:
            missing = [PANEL_WORDS[p] for p, s in ps if s is None]
            if missing:
                return (
                    f"No overall score yet: the {' and the '.join(missing)} "
                    "has no scores for this candidate. One panel's score is never used alone."
                )
            parts = " and ".join(
                f"{PANEL_WORDS[p]} {show(s)} ({_members(self.members_counted.get(p, 0))})"
                for p, s in ps
            )
            text = (
                f"{parts[0].upper() + parts[1:]}. Each panel carries half, whatever its size: "
                f"({' + '.join(show(s) for _, s in ps)}) / {len(ps)} = {show(self.stage_score)}."
            )
        if self.stage == "interview" and weight > 0:
            if self.carried is None or self.stage_score is None:
                text += " No shortlisting score to carry in, so no overall score yet."
            else:
                share = to_decimal(weight * 100, 0)
                text += (
                    f" {share}% of the shortlisting score ({show(self.carried)}) is carried in: "
                    f"{show(self.overall)}."
                )
        return text


@dataclass
class ReviewerRow:
    """How one person scores at one stage: for staff, never to rank people."""

    stage: str
    person_id: str
    panel: str
    scores: int
    missing: int
    mean: Fraction | None
    spread: Fraction | None
    others_mean: Fraction | None  # the other members' mean on the same items
    panel_spread: Fraction | None  # spread of every score at this stage, by everyone
    difference: Fraction | None  # mean - others_mean, on the same items
    mean_z: Fraction | None  # average z-score of their scores among all scorers of an item
    by_item: dict[str, Fraction | None]  # item -> their mean minus the others' mean
    far_from_rest: list[str]  # letters where they stand more than the gap from the others


@dataclass
class MergeOutcome:
    panels: tuple[str, ...]
    results: dict[str, list[CandidateResult]]  # stage -> ranked results
    issues: list[Issue]
    reviewers: list[ReviewerRow]
    complete: dict[str, bool]  # stage -> every expected score is in
    items: dict[str, list[Item]]
    members: dict[str, list[Member]]  # stage -> members expected or seen
    used_rows: int
    carry_weight: Fraction
    zscores: bool

    def stage(self, stage: str) -> list[CandidateResult]:
        return self.results.get(stage, [])


# --------------------------------------------------------------------------- helpers


def _where(row: Any, column: str | None = None) -> str:
    """Where a score is, in the tab title and headers staff see."""
    return Problem("staff", "raw_scores", "", None if row is None else int(row), column).where()


def read_members(people: pd.DataFrame, panel_mode: str) -> tuple[dict[str, Member], dict[str, str]]:
    """Scoring members by person id, and, for everyone else, why they cannot score."""
    members: dict[str, Member] = {}
    not_scoring: dict[str, str] = {}
    for _, r in people.iterrows():
        pid = _text(r.get("person_id"))
        if not pid:
            continue
        role = _text(r.get("role"))
        if role not in SCORING_ROLES:
            why = {
                "supporting worker": "supporting workers support the panel and never score",
                "coordinator": "coordinators run the campaign and do not score",
                "advisor": "advisors help shape the questions and do not score",
            }.get(role, "their role on the People tab is not chair or panel member")
            not_scoring[pid] = why
            continue
        panel = _text(r.get("panel"))
        if panel_mode == "mixed":
            panel = MIXED
        else:
            if panel not in (COUNCIL, LIVED):
                kind = _text(r.get("kind"))
                if panel in ("", "mixed") and kind in (COUNCIL, LIVED):
                    panel = kind
                else:
                    not_scoring[pid] = "their panel on the People tab is 'none' or not set"
                    continue
        stages = frozenset(
            s
            for s, col in (("shortlisting", "shortlists"), ("interview", "interviews"))
            if is_true(r.get(col))
        )
        members[pid] = Member(pid, panel, stages)
    return members, not_scoring


class _Score(NamedTuple):
    """The row that counts for one (stage, person, candidate, item): the latest."""

    submitted: dt.datetime
    row: int
    score: Decimal | int | None  # None: "I can't score this one" (missing, never zero)
    comment: str
    cant_score: str  # the reason given, when score is None


Key = tuple[str, str, str, str]  # (stage, person, candidate, item)


def _texts(cells: list[Any]) -> list[str]:
    """Each cell as trimmed text (:func:`values.text`), each distinct text trimmed once."""
    trimmed = {v: v.strip() for v in cells if type(v) is str}
    return [trimmed[v] if type(v) is str else _text(v) for v in cells]


def _check_rows(
    raw: pd.DataFrame,
    problems: Sequence[Problem],
    items: Mapping[str, Mapping[str, Item]],
    members: Mapping[str, Member],
    not_scoring: Mapping[str, str],
    retired: set[str],
) -> tuple[dict[Key, _Score], list[Issue]]:
    """The latest valid row per (stage, person, candidate, item); every other row as an issue.

    Latest: the row with the latest ``submitted_at``; on the same time, the lower row.
    Columns are read as lists, and what depends only on a cell's value (its text, whether
    a score is in range) is worked out once per distinct value."""
    issues: list[Issue] = []
    bad_cells: dict[int, list[Problem]] = defaultdict(list)
    for p in problems:
        if p.row is not None:
            bad_cells[p.row].append(p)
    stages, pids, letters, qids, cants = (
        _texts(column(raw, c))
        for c in ("stage", "person_id", "candidate_letter", "question_id", "cant_score")
    )
    scores, times = column(raw, "score"), column(raw, "submitted_at")
    best: dict[Key, tuple[Any, int, Decimal | int | None, int]] = {}
    in_range: dict[tuple[str, Any], bool] = {}

    row_n = 0

    def bad(code: str, column: str | None, reason: str) -> None:
        """An issue for the row being checked (``row_n``, read when called)."""
        where = _where(row_n, column)
        issues.append(Issue(code, f"{row_n}|{column}", reason, where, origin="merge"))

    for i, row_n in enumerate(int(r) for r in raw.index):
        if row_n in bad_cells:
            for p in bad_cells[row_n]:
                bad("bad-cell", p.column, f"This score was not counted: {p.message}.")
            continue
        stage, pid, letter, qid = stages[i], pids[i], letters[i], qids[i]
        if stage not in STAGES:
            bad(
                "bad-stage",
                "stage",
                "This score was not counted: the stage must be 'shortlisting' or 'interview'.",
            )
            continue
        if not pid:
            bad("no-person", "person_id", "This score was not counted: it says nobody scored it.")
            continue
        if not letter:
            bad(
                "no-letter",
                "candidate_letter",
                "This score was not counted: it has no candidate letter.",
            )
            continue
        if letter in retired:
            continue  # a withdrawn application: its scores are kept but not merged
        item = items[stage].get(qid)
        if item is None:
            what = "criterion" if stage == "shortlisting" else "question"
            bad(
                "unknown-question",
                "question_id",
                f"This score was not counted: the {what} is not in the campaign's config.",
            )
            continue
        if pid in not_scoring:
            bad(
                "not-a-scorer",
                "person_id",
                f"This score was not counted: {pid} does not score ({not_scoring[pid]}).",
            )
            continue
        member = members.get(pid)
        if member is None:
            bad(
                "unknown-person",
                "person_id",
                f"This score was not counted: {pid} is not on the People tab.",
            )
            continue
        score, submitted = scores[i], times[i]
        kind = type(score)
        if (kind is Decimal and score.is_finite()) or kind is int:  # a number: most rows
            ok = in_range.get((qid, score))
            if ok is None:
                ok = in_range[(qid, score)] = item.min <= Fraction(score) <= item.max
        else:
            if is_empty(score) and cants[i] and isinstance(submitted, dt.datetime):
                # Declared, not forgotten: kept so a later score (or this) is the latest.
                _keep(best, (stage, pid, letter, qid), submitted, row_n, None, i)
                continue
            if is_empty(score):
                bad("no-score", "score", "This score was not counted: the score is empty.")
                continue
            if not isinstance(score, (Decimal, int)) or isinstance(score, bool):
                bad("bad-score", "score", "This score was not counted: it is not a number.")
                continue
            ok = item.min <= Fraction(score) <= item.max
        if not ok:
            bad(
                "out-of-range",
                "score",
                f"This score was not counted: it must be from {item.min} to {item.max}.",
            )
            continue
        if not item.for_panel(member.panel):
            bad(
                "other-panel",
                "question_id",
                f"This score was not counted: question {qid} is for the "
                f"{PANEL_WORDS[item.panel]}, and {pid} is on the {PANEL_WORDS[member.panel]}.",
            )
            continue
        if not isinstance(submitted, dt.datetime):
            bad(
                "no-time",
                "submitted_at",
                "This score was not counted: it has no time it was sent, so corecruit cannot "
                "tell whether it is the latest.",
            )
            continue
        _keep(best, (stage, pid, letter, qid), submitted, row_n, score, i)

    comments = _texts(column(raw, "comment"))
    latest = {
        k: _Score(t, r, s, comments[i], "" if s is not None else cants[i])
        for k, (t, r, s, i) in best.items()
    }
    return latest, issues


def _keep(
    best: dict[Key, tuple[Any, int, Decimal | int | None, int]],
    key: Key,
    submitted: dt.datetime,
    row: int,
    score: Decimal | int | None,
    i: int,
) -> None:
    """Keep the row if it is the latest so far: later sent, or sent at the same time and
    lower on the sheet (the same choice as ``max`` by (time, row) over rows in frame order)."""
    seen = best.get(key)
    if seen is None or (submitted, row) > (seen[0], seen[1]):
        best[key] = (submitted, row, score, i)


def _ranks(values: Mapping[str, Decimal | None]) -> dict[str, int | None]:
    """Competition ranking (1, 2, 2, 4) on the rounded scores; no score, no rank."""
    scored = sorted((v for v in values.values() if v is not None), reverse=True)
    first: dict[Decimal, int] = {}
    for i, v in enumerate(scored, start=1):
        first.setdefault(v, i)
    return {k: (None if v is None else first[v]) for k, v in values.items()}


Cell = tuple[str, str, str]  # (person, candidate, item)
Values = dict[Cell, int]  # each score on the 0..100 scale is this whole number / the stage's den


@dataclass
class _StageScores:
    """One stage's latest scores as whole numbers over one common denominator ``den``:
    the 0 to 100 value of each is ``vals[cell] / den``, exactly (scores are decimals with
    few places, scales small whole numbers, so ``den`` stays small)."""

    vals: Values
    den: int
    comments: dict[str, list[Comment]]  # letter -> comments
    declared: dict[str, dict[str, dict[str, str]]]  # letter -> person -> item -> reason


def _stage_scores(
    latest: Mapping[Key, _Score],
    stage: str,
    items: Mapping[str, Item],
    members: Mapping[str, Member],
) -> _StageScores:
    """Each latest score of the stage on the common scale (step 2), normalised once per
    distinct (item, score)."""
    cells: list[tuple[Cell, tuple[str, Any]]] = []
    comments: dict[str, list[Comment]] = defaultdict(list)
    said: list[tuple[str, str, str, str]] = []
    norm: dict[tuple[str, Any], Fraction] = {}
    for (st, pid, letter, qid), s in latest.items():
        if st != stage:
            continue
        if s.score is None:
            said.append((pid, letter, qid, s.cant_score))
            continue
        key = (qid, s.score)
        if key not in norm:
            norm[key] = items[qid].normalise(Fraction(s.score))
        cells.append(((pid, letter, qid), key))
        if s.comment:
            comments[letter].append(Comment(pid, members[pid].panel, qid, s.comment))
    den = math.lcm(*(f.denominator for f in norm.values())) if norm else 1
    whole = {k: f.numerator * (den // f.denominator) for k, f in norm.items()}
    declared: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for pid, letter, qid, why in sorted(said):
        declared[letter][pid][qid] = why
    return _StageScores({c: whole[k] for c, k in cells}, den, comments, declared)


def _whole_weights(items: Mapping[str, Item]) -> dict[str, int]:
    """Question weights as whole numbers in the same proportions (over their common
    denominator), so weighted sums stay whole numbers."""
    common = math.lcm(*(q.weight.denominator for q in items.values())) if items else 1
    return {qid: q.weight.numerator * (common // q.weight.denominator) for qid, q in items.items()}


def _aggregate(
    values: Values,
    den: int,
    members: Mapping[str, Member],
    items: Mapping[str, Item],
    letters: Sequence[str],
    panels: Sequence[str],
) -> tuple[
    dict[str, dict[str, Fraction | None]],
    dict[str, dict[str, int]],
    dict[str, dict[str, Fraction]],
    dict[str, Fraction | None],
]:
    """Per candidate: panel scores, members counted, each member's average, overall
    (steps 3 to 5), from values ``values[cell] / den``."""
    weights = _whole_weights(items)
    sums: dict[str, dict[str, list[int]]] = defaultdict(dict)  # letter -> person -> [Σwv, Σw]
    for (pid, letter, qid), v in values.items():
        w = weights[qid]
        acc = sums[letter].get(pid)
        if acc is None:
            sums[letter][pid] = [w * v, w]
        else:
            acc[0] += w * v
            acc[1] += w
    panel_scores: dict[str, dict[str, Fraction | None]] = {}
    counted: dict[str, dict[str, int]] = {}
    member_avg: dict[str, dict[str, Fraction]] = {}
    overall: dict[str, Fraction | None] = {}
    for letter in letters:
        per = sums.get(letter, {})
        avgs: dict[str, Fraction] = {}
        by_panel: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for pid in sorted(per):
            wv, w = per[pid]
            avgs[pid] = Fraction(wv, den * w)
            by_panel[members[pid].panel].append((wv, den * w))
        member_avg[letter] = avgs
        ps = {p: _pairs_mean(by_panel.get(p, [])) for p in panels}
        panel_scores[letter] = ps
        counted[letter] = {p: len(by_panel.get(p, [])) for p in panels}
        present = [s for s in ps.values() if s is not None]
        overall[letter] = _mean(present) if len(present) == len(panels) else None
    return panel_scores, counted, member_avg, overall


def _missing(
    vals: Values,
    items: Mapping[str, Item],
    members: Mapping[str, Member],
    pids: Sequence[str],
    letters: Sequence[str],
) -> tuple[dict[str, dict[str, list[str]]], dict[str, int]]:
    """Per candidate, each expected person's items with no score; and how many items each
    person should score. Only a person who scored fewer than that is looked at item by item."""
    want = {pid: [q.id for q in items.values() if q.for_panel(members[pid].panel)] for pid in pids}
    scored: dict[tuple[str, str], int] = defaultdict(int)
    for pid, letter, _ in vals:
        scored[(pid, letter)] += 1
    missing: dict[str, dict[str, list[str]]] = {}
    for letter in letters:
        miss: dict[str, list[str]] = {}
        for pid in pids:
            if scored.get((pid, letter), 0) < len(want[pid]):
                gaps = [q for q in want[pid] if (pid, letter, q) not in vals]
                if gaps:
                    miss[pid] = gaps
        missing[letter] = miss
    return missing, {pid: len(qs) for pid, qs in want.items()}


class _ItemMeans:
    """Each candidate's mean per item and panel (0 to 100), and per criterion across panels."""

    def __init__(
        self,
        scores: _StageScores,
        members: Mapping[str, Member],
        items: Mapping[str, Item],
        campaign: CampaignConfig,
        panels: Sequence[str],
    ) -> None:
        self.den, self.items, self.panels = scores.den, items, panels
        self.weights = _whole_weights(items)
        self.sums: dict[tuple[str, str, str], list[int]] = {}  # (letter, item, panel) -> [Σ, n]
        for (pid, letter, qid), v in scores.vals.items():
            key = (letter, qid, members[pid].panel)
            acc = self.sums.get(key)
            if acc is None:
                self.sums[key] = [v, 1]
            else:
                acc[0] += v
                acc[1] += 1
        self.linked = [
            (c.id, [q.id for q in items.values() if c.id in q.criteria]) for c in campaign.criteria
        ]

    def by_item(self, letter: str) -> dict[str, dict[str, Fraction | None]]:
        out: dict[str, dict[str, Fraction | None]] = {}
        for qid, q in self.items.items():
            row: dict[str, Fraction | None] = {}
            for p in self.panels:
                acc = self.sums.get((letter, qid, p)) if q.for_panel(p) else None
                row[p] = None if acc is None else Fraction(acc[0], self.den * acc[1])
            out[qid] = row
        return out

    def by_criterion(self, letter: str) -> dict[str, Fraction | None]:
        """Per criterion: each panel's weighted mean of the items linked to it, then the plain
        mean of the panels (none unless every panel has one)."""
        out: dict[str, Fraction | None] = {}
        for cid, linked in self.linked:
            if not linked:
                continue
            per_panel: list[tuple[int, int]] = []
            for p in self.panels:
                got = [
                    (self.weights[qid], acc)
                    for qid in linked
                    if self.items[qid].for_panel(p)
                    and (acc := self.sums.get((letter, qid, p))) is not None
                ]
                if got:  # Σ w·(s/(den·n)) / Σ w, over the lcm of the n's
                    common = math.lcm(*(acc[1] for _, acc in got))
                    num = sum(w * acc[0] * (common // acc[1]) for w, acc in got)
                    per_panel.append((num, self.den * common * sum(w for w, _ in got)))
            out[cid] = _pairs_mean(per_panel) if len(per_panel) == len(self.panels) else None
        return out


@dataclass(frozen=True)
class _Setup:
    """What every stage's merge reads from the campaign and the People tab."""

    panels: tuple[str, ...]
    items: dict[str, dict[str, Item]]
    members: dict[str, Member]
    carry: Fraction
    gap: Fraction
    zscores: bool
    gone: frozenset[str]


def _stage_results(
    stage: str,
    setup: _Setup,
    scores: _StageScores,
    letters: Sequence[str],
    pids: Sequence[str],
    campaign: CampaignConfig,
    shortlist_overall: Mapping[str, Fraction | None],
) -> tuple[list[CandidateResult], dict[str, dict[str, list[str]]]]:
    """Every candidate's result at one stage (unranked, unflagged), and what is missing."""
    sitems, members, panels, carry = setup.items[stage], setup.members, setup.panels, setup.carry
    pscores, counted, member_avg, stage_overall = _aggregate(
        scores.vals, scores.den, members, sitems, letters, panels
    )
    missing_all, expected = _missing(scores.vals, sitems, members, pids, letters)
    means = _ItemMeans(scores, members, sitems, campaign, panels)
    out: list[CandidateResult] = []
    for letter in letters:
        res = CandidateResult(
            stage=stage,
            letter=letter,
            panel_scores=pscores[letter],
            members_counted=counted[letter],
            stage_score=stage_overall[letter],
            overall=stage_overall[letter],
            carried=None,
            by_item=means.by_item(letter),
            by_criterion=means.by_criterion(letter),
            member_scores=member_avg[letter],
            comments=sorted(
                scores.comments.get(letter, []), key=lambda c: (c.item_id, c.panel, c.person_id)
            ),
            missing=missing_all[letter],
            expected=expected,
            declared={p: dict(qs) for p, qs in scores.declared.get(letter, {}).items()},
        )
        if stage == "interview" and carry > 0:  # step 6
            res.carried = shortlist_overall.get(letter)
            res.overall = (
                None
                if res.carried is None or res.stage_score is None
                else (1 - carry) * res.stage_score + carry * res.carried
            )
        out.append(res)
    return out, missing_all


def _is_complete(
    missing: Mapping[str, Mapping[str, list[str]]], declared: Mapping[str, Mapping[str, Any]]
) -> bool:
    """Every expected score is in; a score someone said they could not give is missing but
    not awaited."""
    return not any(
        q not in declared.get(letter, {}).get(pid, {})
        for letter, miss in missing.items()
        for pid, qs in miss.items()
        for q in qs
    )


# ------------------------------------------------------------------------------ merge


def merge_scores(
    raw: pd.DataFrame,
    people: pd.DataFrame,
    campaign: CampaignConfig,
    *,
    problems: Sequence[Problem] = (),
    candidates: Mapping[str, Iterable[str]] | None = None,
    retired: Iterable[str] = (),
    zscores: bool | None = None,
) -> MergeOutcome:
    """Merge the raw_scores tab for every stage. See the module docstring for the method.

    ``candidates`` may name the letters expected at a stage (e.g. every letter given at
    shortlisting), so a candidate nobody has scored yet is listed and flagged.
    ``problems`` are cell problems found on reading raw_scores (row, column, message).
    """
    cfg = campaign.merge
    members, not_scoring = read_members(people, campaign.campaign.panel_mode)
    setup = _Setup(
        panels=(MIXED,) if campaign.campaign.panel_mode == "mixed" else (COUNCIL, LIVED),
        items={s: {i.id: i for i in stage_items(campaign, s)} for s in STAGES},
        members=members,
        carry=Fraction(cfg.carry_shortlisting_weight),
        gap=Fraction(cfg.disagreement_gap),
        zscores=cfg.reviewer_zscores if zscores is None else zscores,
        gone=frozenset(str(x) for x in retired),
    )
    latest, issues = _check_rows(raw, problems, setup.items, members, not_scoring, set(setup.gone))
    results: dict[str, list[CandidateResult]] = {}
    complete: dict[str, bool] = {}
    stage_members: dict[str, list[Member]] = {}
    reviewers: list[ReviewerRow] = []
    shortlist_overall: dict[str, Fraction | None] = {}
    for stage in STAGES:
        scores = _stage_scores(latest, stage, setup.items[stage], members)
        seen_letters = {k[1] for k in scores.vals} | set(scores.declared)
        expected_letters = {str(x) for x in (candidates or {}).get(stage, ())} - setup.gone
        letters = sorted(seen_letters | expected_letters)
        pids = sorted(
            {pid for pid, m in members.items() if stage in m.stages} | {k[0] for k in scores.vals}
        )
        stage_members[stage] = [members[p] for p in pids]
        if not letters:
            results[stage], complete[stage] = [], False
            continue
        out, missing = _stage_results(
            stage, setup, scores, letters, pids, campaign, shortlist_overall
        )
        complete[stage] = _is_complete(missing, scores.declared)
        if stage == "shortlisting":
            shortlist_overall = {r.letter: r.stage_score for r in out}
        sitems = setup.items[stage]
        _flag(
            out, setup.panels, setup.gap, setup.carry, {c.id: c for c in campaign.criteria}, sitems
        )
        if setup.zscores:
            _check_ranking(out, scores, members, sitems, letters, setup.panels)
        out.sort(key=lambda r: (r.rank is None, r.rank or 0, r.letter))
        results[stage] = out
        reviewers.extend(_reviewers(stage, scores, members, pids, missing, setup.gap, sitems))

    return MergeOutcome(
        panels=setup.panels,
        results=results,
        issues=sorted(issues, key=lambda i: (i.source, i.code)),
        reviewers=reviewers,
        complete=complete,
        items={s: list(setup.items[s].values()) for s in STAGES},
        members=stage_members,
        used_rows=len(latest),
        carry_weight=setup.carry,
        zscores=setup.zscores,
    )


def _flag(
    out: list[CandidateResult],
    panels: Sequence[str],
    gap: Fraction,
    carry: Fraction,
    crit: Mapping[str, Any],
    items: Mapping[str, Item],
) -> None:
    ranks = _ranks({r.letter: r.overall_decimal for r in out})
    per_panel = {p: _ranks({r.letter: r.score(p) for r in out}) for p in panels}
    by_rank: dict[int, list[str]] = defaultdict(list)
    for r in out:
        r.rank = ranks[r.letter]
        r.panel_ranks = {p: per_panel[p][r.letter] for p in panels}
        if r.rank is not None:
            by_rank[r.rank].append(r.letter)
    for r in out:
        f = r.flags
        if r.missing:
            n = sum(len(v) for v in r.missing.values())
            parts = []
            for pid, qs in sorted(r.missing.items()):
                said = r.declared.get(pid, {})
                chase = [q for q in qs if q not in said]
                if chase:
                    whole = len(chase) == r.expected.get(pid)
                    parts.append(
                        f"{pid} has not scored " + ("this candidate" if whole else ", ".join(chase))
                    )
                if said:
                    parts.append(
                        f"{pid} said they could not score "
                        + ", ".join(f"{q} ({said[q]})" for q in qs if q in said)
                        + ", so there is no need to ask them for it"
                    )
            detail = "; ".join(parts)
            f.append(
                Flag(
                    "incomplete",
                    f"{n} score(s) missing: the scores here use only the scores sent in.",
                    f"Incomplete: {detail}. Missing scores are left out, not counted as zero.",
                )
            )
        empty = [PANEL_WORDS[p] for p in panels if r.panel_scores.get(p) is None]
        if empty:
            f.append(
                Flag(
                    "no-panel-score",
                    f"No scores yet from the {' or the '.join(empty)}"
                    + (", so there is no overall score." if len(panels) > 1 else "."),
                )
            )
        if len(panels) == 2:
            a, b = (r.panel_scores.get(p) for p in panels)
            if a is not None and b is not None and abs(a - b) > gap:
                f.append(
                    Flag(
                        "disagree",
                        f"The panels' scores differ by {show(abs(a - b))} points "
                        f"(Council {show(a)}, lived experience {show(b)}), more than the "
                        f"{show(gap)} agreed: talk this through.",
                    )
                )
            ra, rb = (r.panel_ranks.get(p) for p in panels)
            if ra is not None and rb is not None and ra != rb:
                f.append(
                    Flag(
                        "order",
                        f"The panels put this candidate in different places: "
                        f"{_nth(ra)} for the Council panel, {_nth(rb)} for the lived "
                        "experience panel.",
                    )
                )
        for cid, score in sorted(r.by_criterion.items()):
            c = crit[cid]
            if c.threshold is None or score is None:
                continue
            limit = (Fraction(c.threshold) - c.scale.min) * HUNDRED / (c.scale.max - c.scale.min)
            if score < limit:
                on_scale = c.scale.min + score * (c.scale.max - c.scale.min) / HUNDRED
                f.append(
                    Flag(
                        "threshold",
                        f"Below the {'essential ' if c.essential else ''}threshold on "
                        f"criterion {cid} ({c.text}): {show(on_scale)} where "
                        f"{show(Fraction(c.threshold))} is needed "
                        f"(on its {c.scale.min} to {c.scale.max} scale).",
                    )
                )
        if r.stage == "interview" and carry > 0 and r.carried is None:
            f.append(
                Flag(
                    "carry",
                    "No shortlisting score to carry into this result, so it has no overall "
                    "score yet.",
                )
            )
        if r.rank is not None and len(by_rank[r.rank]) > 1:
            others = [x for x in by_rank[r.rank] if x != r.letter]
            f.append(
                Flag(
                    "tie",
                    f"Tied {_nth(r.rank)} with candidate {', '.join(others)} on "
                    f"{show(r.overall)}. corecruit does not break ties: the panels decide.",
                )
            )


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _check_ranking(
    out: list[CandidateResult],
    scores: _StageScores,
    members: Mapping[str, Member],
    items: Mapping[str, Item],
    letters: Sequence[str],
    panels: Sequence[str],
) -> None:
    """A second ranking with each reviewer's scores standardised (a check, never the result).

    Each person's scores at this stage become z-scores against their own mean and spread,
    so a generous and a strict scorer count alike; then the same equal-weight merge runs.
    """
    den, spread = scores.den, _Spreads(scores.den)
    own: dict[str, list[int]] = {}  # person -> [n, Σv, Σv²]
    for (pid, _, _), v in scores.vals.items():
        acc = own.get(pid)
        if acc is None:
            own[pid] = [1, v, v * v]
        else:
            acc[0] += 1
            acc[1] += v
            acc[2] += v * v
    sds = {pid: spread(*acc) for pid, acc in own.items()}
    z: Values = {}  # in millionths
    for k, v in scores.vals.items():
        n, total, _ = own[k[0]]
        sd = sds[k[0]]
        if sd:
            a, b = _z_factors(den, n, sd)
            z[k] = _round6((n * v - total) * a, b)
        else:
            z[k] = 0
    _, _, _, overall = _aggregate(z, _Z_SCALE, members, items, letters, panels)
    ranks = _ranks({lt: to_decimal(s) for lt, s in overall.items()})
    for r in out:
        r.check_score = overall[r.letter]
        r.check_rank = ranks[r.letter]


def _far(per_letter: Mapping[str, list[tuple[int, int]]], den: int, gap: Fraction) -> list[str]:
    """Letters where a person's mean difference from the others, ``d / (den * k)`` each,
    is more than ``gap`` either way, compared on whole numbers."""
    far = []
    for letter, ds in per_letter.items():
        common = math.lcm(*{k for _, k in ds})
        total = sum(d * (common // k) for d, k in ds)
        if abs(total) * gap.denominator > gap.numerator * den * common * len(ds):
            far.append(letter)
    return sorted(far)


def _reviewers(
    stage: str,
    scores: _StageScores,
    members: Mapping[str, Member],
    pids: Sequence[str],
    missing: Mapping[str, Mapping[str, list[str]]],
    gap: Fraction,
    items: Mapping[str, Item],
) -> list[ReviewerRow]:
    """How each person scores against everyone else on the same scores, on whole numbers:
    with N a person's value and T, n the sum and count of everyone's on that score, the
    others' mean is (T - N) / (den·(n - 1)) and the difference (n·N - T) / (den·(n - 1))."""
    den, spread = scores.den, _Spreads(scores.den)
    cells: dict[tuple[str, str], list[Any]] = {}  # (letter, item) -> [Σ, n, Σ², z factors]
    by_person: dict[str, list[tuple[str, str, int, list[Any]]]] = defaultdict(list)
    everyone = [0, 0, 0]
    for (pid, letter, qid), v in scores.vals.items():
        acc = cells.get((letter, qid))
        if acc is None:
            acc = cells[(letter, qid)] = [v, 1, v * v, None]
        else:
            acc[0] += v
            acc[1] += 1
            acc[2] += v * v
        by_person[pid].append((letter, qid, v, acc))
        everyone[0] += 1
        everyone[1] += v
        everyone[2] += v * v
    # The panel-wide spread each reviewer's own spread is read against: every score
    # counted at this stage, by every reviewer (all panels), as one population.
    panel_spread = spread(*everyone)
    for acc in cells.values():
        sd = spread(acc[1], acc[0], acc[2]) if acc[1] > 1 else None
        if sd:
            acc[3] = _z_factors(den, acc[1], sd)
    n_missing: dict[str, int] = defaultdict(int)
    for miss in missing.values():
        for pid, qs in miss.items():
            n_missing[pid] += len(qs)
    rows = []
    for pid in pids:
        mine = by_person.get(pid, [])
        diffs: dict[int, int] = defaultdict(int)  # k = n - 1 -> Σ (n·N - T)
        others: dict[int, int] = defaultdict(int)  # k -> Σ (T - N)
        compared = 0
        z_sum = z_count = 0
        per_item: dict[str, dict[int, int]] = {}
        per_item_n: dict[str, int] = defaultdict(int)
        per_letter: dict[str, list[tuple[int, int]]] = defaultdict(list)
        own_sum = own_sq = 0
        for letter, qid, v, (total, n, _, zf) in mine:
            own_sum += v
            own_sq += v * v
            if n > 1:
                k, d = n - 1, n * v - total
                diffs[k] += d
                others[k] += total - v
                compared += 1
                item_sums = per_item.setdefault(qid, {})
                item_sums[k] = item_sums.get(k, 0) + d
                per_item_n[qid] += 1
                per_letter[letter].append((d, k))
                if zf is not None:
                    z_sum += _round6(d * zf[0], zf[1])
                    z_count += 1
        rows.append(
            ReviewerRow(
                stage=stage,
                person_id=pid,
                panel=members[pid].panel,
                scores=len(mine),
                missing=n_missing.get(pid, 0),
                mean=Fraction(own_sum, den * len(mine)) if mine else None,
                spread=spread(len(mine), own_sum, own_sq),
                others_mean=_by_k_mean(others, compared, den),
                panel_spread=panel_spread,
                difference=_by_k_mean(diffs, compared, den),
                mean_z=Fraction(z_sum, _Z_SCALE * z_count) if z_count else None,
                by_item={
                    q: _by_k_mean(per_item[q], per_item_n[q], den) for q in items if per_item_n[q]
                },
                far_from_rest=_far(per_letter, den, gap),
            )
        )
    return rows


# ----------------------------------------------------------------------------- tables


def results_records(outcome: MergeOutcome) -> list[dict[str, Any]]:
    """Rows for the staff Results tab (flags for staff, explanations in words)."""
    out = []
    for stage in STAGES:
        for r in outcome.stage(stage):
            rec: dict[str, Any] = {
                "stage": stage,
                "candidate_letter": r.letter,
                "council_score": r.score(COUNCIL),
                "lived_experience_score": r.score(LIVED),
                "mixed_score": r.score(MIXED),
                "overall_score": r.overall_decimal,
                "rank": r.rank,
                "flags": " | ".join(f.for_staff() for f in r.flags),
                "explanation": r.explanation(outcome.panels, outcome.carry_weight),
                "shortlisting_score": to_decimal(r.carried),
                "check_rank": r.check_rank,
            }
            out.append(rec)
    return out


def panel_records(outcome: MergeOutcome) -> list[dict[str, Any]]:
    """Shortlisting results by letter only, for the panel workbook."""
    return [
        {
            "candidate_letter": r.letter,
            "council_score": r.score(COUNCIL),
            "lived_experience_score": r.score(LIVED),
            "mixed_score": r.score(MIXED),
            "overall_score": r.overall_decimal,
            "rank": r.rank,
        }
        for r in outcome.stage("shortlisting")
    ]


def reviewer_records(outcome: MergeOutcome) -> list[dict[str, Any]]:
    out = []
    for r in outcome.reviewers:
        out.append(
            {
                "stage": r.stage,
                "person_id": r.person_id,
                "panel": r.panel,
                "scores": r.scores,
                "missing": r.missing,
                "mean": to_decimal(r.mean),
                "spread": to_decimal(r.spread),
                "others_mean": to_decimal(r.others_mean),
                "panel_spread": to_decimal(r.panel_spread),
                "difference": to_decimal(r.difference),
                "mean_z": to_decimal(r.mean_z),
                "by_question": "; ".join(
                    f"{q} {'+' if (d or 0) >= 0 else ''}{show(d)}" for q, d in r.by_item.items()
                ),
                "far_from_rest": ", ".join(r.far_from_rest),
            }
        )
    return out
