"""The merge as it was before the whole-number rewrite (issue 17), frozen: the reference
test_merge_same.py compares the live merge with, output by output. Do not edit."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import pandas as pd

from automations.config import CampaignConfig
from automations.errors import Problem
from automations.transforms.issues import Issue
from automations.transforms.issues import issue_records as issue_records
from automations.transforms.values import is_empty, is_true
from automations.transforms.values import text as _text

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
    scale = 10**places
    n = abs(f) * scale
    q = int(n + Fraction(1, 2))  # floor(n + 1/2) for n >= 0
    if f < 0:
        q = -q
    return Decimal(q).scaleb(-places)


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


def _sqrt(f: Fraction) -> Fraction:
    """Square root (for spreads only), to 15 significant digits, deterministic."""
    if f == 0:
        return Fraction(0)
    with localcontext() as c:
        c.prec = 15
        d = (Decimal(f.numerator) / Decimal(f.denominator)).sqrt()
        return Fraction(d)


_Z_SCALE = 10**6


def _z(v: Fraction, mean: Fraction | None, sd: Fraction) -> Fraction:
    """A z-score, rounded to 6 places (spreads are square roots, so not exact anyway).

    The same value as ``to_decimal((v - mean) / sd, 6)``, worked out on whole numbers
    (one reviewer's scores make thousands of these, and Fraction arithmetic reduces
    every step)."""
    assert mean is not None and sd > 0
    num = (v.numerator * mean.denominator - mean.numerator * v.denominator) * sd.denominator
    den = v.denominator * mean.denominator * sd.numerator
    q = (2 * abs(num) * _Z_SCALE + den) // (2 * den)  # half away from zero
    return Fraction(-q if num < 0 else q, _Z_SCALE)


def _sd(values: Sequence[Fraction]) -> Fraction | None:
    """Population standard deviation: the root of (n * sum of squares - sum squared) / n²,
    exactly the mean squared distance from the mean."""
    if not values:
        return None
    n = len(values)
    total = _fsum(values)
    squares = _fsum([v**2 for v in values])
    return _sqrt((n * squares - total * total) / (n * n))


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


@dataclass(frozen=True)
class _Score:
    row: int
    submitted: dt.datetime
    value: Fraction | None  # None: "I can't score this one" (a missing score, never zero)
    comment: str
    cant_score: str = ""  # the reason given, when value is None


def _check_rows(
    raw: pd.DataFrame,
    problems: Sequence[Problem],
    items: Mapping[str, Mapping[str, Item]],
    members: Mapping[str, Member],
    not_scoring: Mapping[str, str],
    retired: set[str],
) -> tuple[dict[tuple[str, str, str, str], list[_Score]], list[Issue]]:
    """Valid rows grouped by (stage, person, candidate, item); every other row as an issue."""
    issues: list[Issue] = []
    bad_cells: dict[int, list[Problem]] = defaultdict(list)
    for p in problems:
        if p.row is not None:
            bad_cells[p.row].append(p)
    grouped: dict[tuple[str, str, str, str], list[_Score]] = defaultdict(list)
    cols = list(raw.columns)
    for row, tup in zip(raw.index, raw.itertuples(index=False, name=None), strict=True):
        r = dict(zip(cols, tup, strict=True))
        row_n = int(row)
        if row_n in bad_cells:
            for p in bad_cells[row_n]:
                issues.append(
                    Issue(
                        "bad-cell",
                        f"{row_n}|{p.column}",
                        f"This score was not counted: {p.message}.",
                        _where(row_n, p.column),
                        origin="merge",
                    )
                )
            continue
        stage = _text(r.get("stage"))
        pid = _text(r.get("person_id"))
        letter = _text(r.get("candidate_letter"))
        qid = _text(r.get("question_id"))
        score = r.get("score")
        submitted = r.get("submitted_at")

        def bad(code: str, column: str, reason: str, _row: int = row_n) -> None:
            issues.append(
                Issue(code, f"{_row}|{column}", reason, _where(_row, column), origin="merge")
            )

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
        cant = _text(r.get("cant_score"))
        if is_empty(score) and cant and isinstance(submitted, dt.datetime):
            # Declared, not forgotten: kept so a later score (or this) is the latest.
            grouped[(stage, pid, letter, qid)].append(
                _Score(row_n, submitted, None, _text(r.get("comment")), cant)
            )
            continue
        if is_empty(score):
            bad("no-score", "score", "This score was not counted: the score is empty.")
            continue
        if not isinstance(score, (Decimal, int)) or isinstance(score, bool):
            bad("bad-score", "score", "This score was not counted: it is not a number.")
            continue
        value = Fraction(score)
        if not item.min <= value <= item.max:
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
        grouped[(stage, pid, letter, qid)].append(
            _Score(row_n, submitted, value, _text(r.get("comment")))
        )
    return grouped, issues


def _latest(scores: list[_Score]) -> _Score:
    """Latest submitted wins; on the same time, the later (higher) row."""
    return max(scores, key=lambda s: (s.submitted, s.row))


def _ranks(values: Mapping[str, Decimal | None]) -> dict[str, int | None]:
    """Competition ranking (1, 2, 2, 4) on the rounded scores; no score, no rank."""
    scored = sorted((v for v in values.values() if v is not None), reverse=True)
    first: dict[Decimal, int] = {}
    for i, v in enumerate(scored, start=1):
        first.setdefault(v, i)
    return {k: (None if v is None else first[v]) for k, v in values.items()}


Values = dict[tuple[str, str, str], Fraction]  # (person, candidate, item) -> 0..100


def _aggregate(
    values: Values,
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
    """Per candidate: panel scores, members counted, each member's average, overall."""
    by_member: dict[str, dict[str, list[tuple[Fraction, Fraction]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for (pid, letter, qid), v in sorted(values.items()):
        by_member[letter][pid].append((items[qid].weight, v))
    panel_scores: dict[str, dict[str, Fraction | None]] = {}
    counted: dict[str, dict[str, int]] = {}
    member_avg: dict[str, dict[str, Fraction]] = {}
    overall: dict[str, Fraction | None] = {}
    for letter in letters:
        avgs: dict[str, Fraction] = {}
        for pid, wv in sorted(by_member.get(letter, {}).items()):
            wsum = _fsum([w for w, _ in wv])
            avgs[pid] = _fsum([w * v for w, v in wv]) / wsum
        member_avg[letter] = avgs
        ps: dict[str, Fraction | None] = {}
        cs: dict[str, int] = {}
        for p in panels:
            vals = [a for pid, a in sorted(avgs.items()) if members[pid].panel == p]
            ps[p] = _mean(vals)
            cs[p] = len(vals)
        panel_scores[letter] = ps
        counted[letter] = cs
        present = [s for s in ps.values() if s is not None]
        overall[letter] = _mean(present) if len(present) == len(panels) else None
    return panel_scores, counted, member_avg, overall


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
    zs = cfg.reviewer_zscores if zscores is None else zscores
    carry = Fraction(cfg.carry_shortlisting_weight)
    gap = Fraction(cfg.disagreement_gap)
    panels: tuple[str, ...] = (
        (MIXED,) if campaign.campaign.panel_mode == "mixed" else (COUNCIL, LIVED)
    )
    items = {s: {i.id: i for i in stage_items(campaign, s)} for s in STAGES}
    members, not_scoring = read_members(people, campaign.campaign.panel_mode)
    gone = {str(x) for x in retired}
    grouped, issues = _check_rows(raw, problems, items, members, not_scoring, gone)

    latest: dict[tuple[str, str, str, str], _Score] = {
        k: _latest(v) for k, v in sorted(grouped.items())
    }
    results: dict[str, list[CandidateResult]] = {}
    complete: dict[str, bool] = {}
    stage_members: dict[str, list[Member]] = {}
    reviewers: list[ReviewerRow] = []
    crit = {c.id: c for c in campaign.criteria}
    shortlist_overall: dict[str, Fraction | None] = {}

    for stage in STAGES:
        sitems = items[stage]
        vals: Values = {}
        comments: dict[str, list[Comment]] = defaultdict(list)
        declared: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
        for (st, pid, letter, qid), s in latest.items():
            if st != stage:
                continue
            if s.value is None:
                declared[letter][pid][qid] = s.cant_score
                continue
            vals[(pid, letter, qid)] = sitems[qid].normalise(s.value)
            if s.comment:
                comments[letter].append(Comment(pid, members[pid].panel, qid, s.comment))
        seen_letters = {k[1] for k in vals} | set(declared)
        expected_letters = {str(x) for x in (candidates or {}).get(stage, ())} - gone
        letters = sorted(seen_letters | expected_letters)
        pids = sorted(
            {pid for pid, m in members.items() if stage in m.stages} | {k[0] for k in vals}
        )
        stage_members[stage] = [members[p] for p in pids]
        if not letters:
            results[stage] = []
            complete[stage] = False
            continue
        pscores, counted, member_avg, stage_overall = _aggregate(
            vals, members, sitems, letters, panels
        )
        missing_all: dict[str, dict[str, list[str]]] = {}
        expected = {
            pid: sum(1 for q in sitems.values() if q.for_panel(members[pid].panel)) for pid in pids
        }
        for letter in letters:
            miss: dict[str, list[str]] = {}
            for pid in pids:
                want = [q for q in sitems.values() if q.for_panel(members[pid].panel)]
                gaps = [q.id for q in want if (pid, letter, q.id) not in vals]
                if gaps:
                    miss[pid] = gaps
            missing_all[letter] = miss
        # A score someone said they could not give is missing but not awaited.
        complete[stage] = not any(
            q not in declared.get(letter, {}).get(pid, {})
            for letter, miss in missing_all.items()
            for pid, qs in miss.items()
            for q in qs
        )

        cells: dict[tuple[str, str, str], list[Fraction]] = defaultdict(list)
        for (pid, lt, qq), v in sorted(vals.items()):
            cells[(lt, qq, members[pid].panel)].append(v)
        out: list[CandidateResult] = []
        for letter in letters:
            by_item: dict[str, dict[str, Fraction | None]] = {}
            for qid, q in sitems.items():
                by_item[qid] = {
                    p: _mean(cells.get((letter, qid, p), [])) if q.for_panel(p) else None
                    for p in panels
                }
            by_crit: dict[str, Fraction | None] = {}
            for c in campaign.criteria:
                linked = [q for q in sitems.values() if c.id in q.criteria]
                if not linked:
                    continue
                per_panel = []
                for p in panels:
                    vs = [by_item[q.id][p] for q in linked if by_item[q.id][p] is not None]
                    ws = [q.weight for q in linked if by_item[q.id][p] is not None]
                    if vs:
                        per_panel.append(
                            sum((w * v for w, v in zip(ws, vs, strict=True)), Fraction(0))  # type: ignore[operator]
                            / sum(ws, Fraction(0))
                        )
                by_crit[c.id] = _mean(per_panel) if len(per_panel) == len(panels) else None
            res = CandidateResult(
                stage=stage,
                letter=letter,
                panel_scores=pscores[letter],
                members_counted=counted[letter],
                stage_score=stage_overall[letter],
                overall=stage_overall[letter],
                carried=None,
                by_item=by_item,
                by_criterion=by_crit,
                member_scores=member_avg[letter],
                comments=sorted(
                    comments.get(letter, []), key=lambda c: (c.item_id, c.panel, c.person_id)
                ),
                missing=missing_all[letter],
                expected=expected,
                declared={p: dict(qs) for p, qs in declared.get(letter, {}).items()},
            )
            if stage == "interview" and carry > 0:
                res.carried = shortlist_overall.get(letter)
                res.overall = (
                    None
                    if res.carried is None or res.stage_score is None
                    else (1 - carry) * res.stage_score + carry * res.carried
                )
            out.append(res)
        if stage == "shortlisting":
            shortlist_overall = {r.letter: r.stage_score for r in out}

        _flag(out, panels, gap, carry, crit, sitems)
        if zs:
            _check_ranking(out, vals, members, sitems, letters, panels)
        out.sort(key=lambda r: (r.rank is None, r.rank or 0, r.letter))
        results[stage] = out
        reviewers.extend(_reviewers(stage, vals, members, pids, missing_all, gap, sitems))

    return MergeOutcome(
        panels=panels,
        results=results,
        issues=sorted(issues, key=lambda i: (i.source, i.code)),
        reviewers=reviewers,
        complete=complete,
        items={s: list(items[s].values()) for s in STAGES},
        members=stage_members,
        used_rows=len(latest),
        carry_weight=carry,
        zscores=zs,
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
    vals: Values,
    members: Mapping[str, Member],
    items: Mapping[str, Item],
    letters: Sequence[str],
    panels: Sequence[str],
) -> None:
    """A second ranking with each reviewer's scores standardised (a check, never the result).

    Each person's scores at this stage become z-scores against their own mean and spread,
    so a generous and a strict scorer count alike; then the same equal-weight merge runs.
    """
    own: dict[str, list[Fraction]] = defaultdict(list)
    for (pid, _, _), v in sorted(vals.items()):
        own[pid].append(v)
    stats = {pid: (_mean(vs), _sd(vs)) for pid, vs in own.items()}
    z: Values = {}
    for k, v in vals.items():
        m, sd = stats[k[0]]
        z[k] = Fraction(0) if not sd or m is None else _z(v, m, sd)
    _, _, _, overall = _aggregate(z, members, items, letters, panels)
    ranks = _ranks({lt: to_decimal(s) for lt, s in overall.items()})
    for r in out:
        r.check_score = overall[r.letter]
        r.check_rank = ranks[r.letter]


def _reviewers(
    stage: str,
    vals: Values,
    members: Mapping[str, Member],
    pids: Sequence[str],
    missing: Mapping[str, Mapping[str, list[str]]],
    gap: Fraction,
    items: Mapping[str, Item],
) -> list[ReviewerRow]:
    by_cell: dict[tuple[str, str], dict[str, Fraction]] = defaultdict(dict)
    by_person: dict[str, list[tuple[tuple[str, str, str], Fraction]]] = defaultdict(list)
    for (pid, letter, qid), v in vals.items():  # exact sums: the order does not matter
        by_cell[(letter, qid)][pid] = v
        by_person[pid].append(((pid, letter, qid), v))
    cell_stats: dict[tuple[str, str], tuple[Fraction, int, Fraction | None, Fraction | None]] = {}
    for key, cell in by_cell.items():
        everyone = list(cell.values())
        total = _fsum(everyone)
        cell_stats[key] = (total, len(everyone), total / len(everyone), _sd(everyone))
    # The panel-wide spread each reviewer's own spread is read against: every score
    # counted at this stage, by every reviewer (all panels), as one population.
    panel_spread = _sd(list(vals.values()))
    rows = []
    for pid in pids:
        mine = by_person.get(pid, [])
        own = [v for _, v in mine]
        diffs: list[Fraction] = []
        others_all: list[Fraction] = []
        zs: list[Fraction] = []
        per_item: dict[str, list[Fraction]] = defaultdict(list)
        per_letter: dict[str, list[Fraction]] = defaultdict(list)
        for (_, letter, qid), v in mine:
            total, n, cm, sd = cell_stats[(letter, qid)]
            if n > 1:
                om = (total - v) / (n - 1)  # the others' mean on the same score
                diffs.append(v - om)
                others_all.append(om)
                per_item[qid].append(v - om)
                per_letter[letter].append(v - om)
                if sd:
                    zs.append(_z(v, cm, sd))
        far = sorted(lt for lt, ds in per_letter.items() if abs(_mean(ds) or Fraction(0)) > gap)
        n_missing = sum(len(m.get(pid, [])) for m in missing.values())
        rows.append(
            ReviewerRow(
                stage=stage,
                person_id=pid,
                panel=members[pid].panel,
                scores=len(own),
                missing=n_missing,
                mean=_mean(own),
                spread=_sd(own),
                others_mean=_mean(others_all),
                panel_spread=panel_spread,
                difference=_mean(diffs),
                mean_z=_mean(zs),
                by_item={q: _mean(per_item[q]) for q in items if per_item.get(q)},
                far_from_rest=far,
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
