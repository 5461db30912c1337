"""The whole-number merge gives exactly what the Fraction merge gave (issue 17).

tests/merge_frozen.py is the merge as it was before it was rewritten on whole numbers over
a common denominator. Both run on a few hundred seeded random campaigns (mixed or two
panels, scales and weights, panel-only questions, missing and declared scores,
corrections and ties in time, bad rows and cell problems, retired letters, a carried
shortlisting share, z-scores on or off) and every output must be the same, value and type:
each result, flag, reviewer row and issue, and the rows the job writes from them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest

from automations.config import load_settings
from automations.config.models import Criterion, Question, Scale
from automations.errors import Problem
from automations.transforms import merge as M
from tests import merge_frozen as OLD
from tests.conftest import ROOT
from tests.merge_support import T0, people, person, raw

CAMP = load_settings(ROOT / "config").campaign(None)
NOW = dt.datetime(2027, 2, 1, 9, 0)


def canon(x: Any) -> Any:
    """A value as nested tuples of (type, exact text): equal only if every part is."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (
            "dc",
            type(x).__name__,
            tuple((f.name, canon(getattr(x, f.name))) for f in dataclasses.fields(x)),
        )
    if isinstance(x, dict):
        return ("dict", tuple((canon(k), canon(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(canon(v) for v in x))
    if isinstance(x, (set, frozenset)):
        return (type(x).__name__, tuple(sorted(repr(v) for v in x)))
    return (type(x).__name__, repr(x))


def _scale(rnd: random.Random) -> Scale:
    lo = rnd.choice((0, 0, 1, -2))
    return Scale(min=lo, max=lo + rnd.choice((4, 4, 3, 5, 10, 1)))


def campaign(rnd: random.Random) -> Any:
    """The default campaign with random scales, weights, thresholds, panels and merge options."""
    crit = []
    for c in CAMP.criteria:
        s = _scale(rnd)
        thr = rnd.choice((None, None, Decimal(s.min + 1), Decimal(s.min) + Decimal("1.5")))
        crit.append(
            Criterion(id=c.id, text=c.text, essential=rnd.random() < 0.7, threshold=thr, scale=s)
        )
    questions = []
    for q in CAMP.questions:
        questions.append(
            Question(
                id=q.id,
                text=q.text,
                criteria=rnd.sample([c.id for c in crit], rnd.choice((0, 1, 1, 2))),
                scale=_scale(rnd),
                weight=rnd.choice(
                    (
                        Decimal(1),
                        Decimal(1),
                        Decimal(2),
                        Decimal("0.5"),
                        Decimal("1.25"),
                        Decimal(3),
                    )
                ),
                panel=rnd.choice(("all", "all", "all", "council", "lived experience")),
            )
        )
    merge = CAMP.merge.model_copy(
        update={
            "disagreement_gap": rnd.choice((Decimal(20), Decimal(0), Decimal("12.5"), Decimal(5))),
            "carry_shortlisting_weight": rnd.choice(
                (Decimal(0), Decimal(0), Decimal("0.3"), Decimal("0.5"), Decimal(1))
            ),
            "reviewer_zscores": rnd.random() < 0.5,
        }
    )
    mode = rnd.choice(("mixed", "separate", "separate"))
    return CAMP.model_copy(
        update={
            "criteria": crit,
            "questions": questions,
            "merge": merge,
            "campaign": CAMP.campaign.model_copy(update={"panel_mode": mode}),
        }
    )


def _score_value(rnd: random.Random, lo: int, hi: int) -> Any:
    r = rnd.random()
    if r < 0.80:
        v = Decimal(rnd.randint(lo, hi))
        if rnd.random() < 0.15 and v < hi:
            v += rnd.choice((Decimal("0.5"), Decimal("0.25"), Decimal("0.1")))
        return v
    return rnd.choice(
        (None, "", "three", True, 2.5, hi + 1, lo - 1, Decimal("2.50"), 3, Decimal("NaN"))
    )


def scores(rnd: random.Random, camp: Any, pids: list[str], letters: list[str]) -> Any:
    """Raw score rows: most good, some corrected, some bad, some 'I can't score this'."""
    rows: list[dict[str, Any]] = []
    qids = {
        "shortlisting": [c.id for c in camp.criteria],
        "interview": [q.id for q in camp.questions],
    }
    scales = {c.id: c.scale for c in camp.criteria} | {q.id: q.scale for q in camp.questions}
    for stage in rnd.sample(("shortlisting", "interview"), rnd.choice((1, 2, 2))):
        for pid in pids:
            if rnd.random() < 0.15:
                continue
            for letter in letters:
                if rnd.random() < 0.1:
                    continue
                for qid in qids[stage]:
                    if rnd.random() < 0.08:
                        continue
                    s = scales[qid]
                    for k in range(rnd.choice((1, 1, 1, 1, 2, 3))):
                        minutes = rnd.choice((0, 0, 5, 10 * k))
                        when: Any = T0 + dt.timedelta(minutes=minutes)
                        if rnd.random() < 0.02:
                            when = rnd.choice((None, "", dt.date(2027, 1, 20)))
                        row = {
                            "response_id": f"r{len(rows)}",
                            "person_id": pid if rnd.random() > 0.01 else rnd.choice(("", "zz")),
                            "stage": stage if rnd.random() > 0.01 else "final",
                            "candidate_letter": letter if rnd.random() > 0.01 else "",
                            "question_id": qid if rnd.random() > 0.01 else "q99",
                            "score": _score_value(rnd, s.min, s.max),
                            "comment": rnd.choice(("", "", "", "Good", " spaced ")),
                            "submitted_at": when,
                            "source": "local form",
                        }
                        if rnd.random() < 0.04:
                            row["score"] = None
                            row["cant_score"] = rnd.choice(("knows them", "left early"))
                        rows.append(row)
    rnd.shuffle(rows)
    return raw(rows)


def case(seed: int) -> tuple[Any, ...]:
    rnd = random.Random(seed)
    camp = campaign(rnd)
    n_council, n_lived = rnd.randint(0, 4), rnd.randint(1, 4)
    ppl = []
    for i in range(n_council):
        ppl.append(
            person(
                f"c{i}",
                "council",
                role=rnd.choice(("panel member", "chair")),
                shortlists=rnd.random() < 0.8,
                interviews=rnd.random() < 0.8,
            )
        )
    for i in range(n_lived):
        ppl.append(
            person(
                f"l{i}",
                rnd.choice(("lived experience", "", "mixed")),
                shortlists=rnd.random() < 0.8,
                interviews=rnd.random() < 0.8,
            )
        )
    ppl.append(person("s0", "lived experience", role="supporting worker"))
    ppl.append(person("n0", "none", kind="staff"))
    letters = [chr(65 + i) for i in range(rnd.randint(1, 9))]
    pids = [p["person_id"] for p in ppl] + ["x9"]
    frame = scores(rnd, camp, pids, letters)
    problems = [
        Problem("staff", "raw_scores", "the cell could not be read", row=r, column=col)
        for r in rnd.sample(list(frame.index), min(len(frame), rnd.choice((0, 0, 1, 3))))
        for col in rnd.sample(("score", "submitted_at", None), rnd.choice((1, 1, 2)))
    ]
    expected = [*letters, "Z"] if rnd.random() < 0.3 else letters[:-1]
    retired = rnd.sample(letters, rnd.choice((0, 0, 1)))
    return frame, people(ppl), camp, problems, {"shortlisting": expected}, retired


def records(mod: Any, out: Any) -> Any:
    return (
        mod.results_records(out),
        mod.panel_records(out),
        mod.reviewer_records(out),
        mod.issue_records(out.issues, NOW),
        [r.explanation(out.panels, out.carry_weight) for s in mod.STAGES for r in out.stage(s)],
    )


@pytest.mark.parametrize("block", range(8))
def test_the_whole_number_merge_gives_every_output_the_fraction_merge_gave(block: int) -> None:
    compared = 0
    for seed in range(block * 40, block * 40 + 40):
        frame, ppl, camp, problems, expected, retired = case(seed)
        kw: dict[str, Any] = {"problems": problems, "candidates": expected, "retired": retired}
        old = OLD.merge_scores(frame, ppl, camp, **kw)
        new = M.merge_scores(frame, ppl, camp, **kw)
        assert canon(new) == canon(old), seed
        assert canon(records(M, new)) == canon(records(OLD, old)), seed
        compared += sum(len(old.stage(s)) for s in M.STAGES)
    assert compared > 40 * 3  # the campaigns were not all empty


def test_the_random_campaigns_reach_every_branch() -> None:
    """The generator makes what the comparison needs to mean something."""
    seen: set[str] = set()
    flags: set[str] = set()
    for seed in range(0, 320, 4):
        frame, ppl, camp, problems, expected, retired = case(seed)
        out = M.merge_scores(
            frame, ppl, camp, problems=problems, candidates=expected, retired=retired
        )
        seen |= {i.code for i in out.issues}
        flags |= {f.code for s in M.STAGES for r in out.stage(s) for f in r.flags}
        seen |= {"carry" for _ in [1] if out.carry_weight > 0}
        seen |= {"z" for s in M.STAGES for r in out.stage(s) if r.check_rank is not None}
        seen |= {"mixed" for _ in [1] if out.panels == (M.MIXED,)}
        seen |= {"declared" for s in M.STAGES for r in out.stage(s) if r.declared}
    assert {
        "bad-cell",
        "bad-score",
        "no-score",
        "out-of-range",
        "unknown-question",
        "not-a-scorer",
        "unknown-person",
        "no-time",
        "bad-stage",
        "no-letter",
        "no-person",
        "other-panel",
        "carry",
        "z",
        "mixed",
        "declared",
    } <= seen
    assert {"incomplete", "tie", "threshold", "disagree", "order", "no-panel-score"} <= flags
