"""The ledger lines each source gives (attendance, score forms, expense claims) stay exactly
what they were when ``desired_lines`` was one 445-line function.

``tests/data/rewards_sources_golden.json`` was written by that function (before it was split
into one function per source) for the example campaign's people and for 300 generated
campaigns full of awkward rows: unknown people, staff, no reward choice, no date, hours
over the policy's limit, unreadable cells, claims over a cap, without a receipt or for a
meal that was provided. Every line, issue (code, key, reason, where), frozen person and
frozen line must come out the same, in the same order. Regenerate it only on purpose:
``python tests/test_rewards_sources.py --write`` (and say why in the commit).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import random
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automations.config import load_settings
from automations.config.models import RewardPolicy
from automations.errors import Problem
from automations.store import make_frame
from automations.store.cells import parse_cell
from automations.templates import load_workbook_spec
from automations.transforms import rewards as R

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "data" / "rewards_sources_golden.json"
POLICY: RewardPolicy = load_settings(ROOT / "config").org.rewards
SPEC = load_workbook_spec("staff").expand(4)
CAMP = "camp"
CASES = 300
ACCRUALS = 100

ACTIVITIES = [
    "shortlisting", "preparation meeting", "interview day", "decision meeting",
    "feedback meeting", "check-in", "gardening", "",
]  # fmt: skip
KINDS = ["travel", "mileage", "meal", "carer", "childcare", "taxi", ""]
CHOICES = ["payment", "vouchers", "no payment", "", "maybe"]
NUMBERS = [None, D(0), D(-1), D("0.5"), D("1.5"), D(2), D(3), D("4.25"), D(6), D("12.3"),
           D("12.505"), D("45.00"), D("75.10"), D(200)]  # fmt: skip


def _policy(variant: int) -> RewardPolicy:
    """The example policy, or a variant: no shortlisting rate, or caps for each occasion."""
    if variant == 1:
        rates = {k: v for k, v in POLICY.rates.items() if k != "shortlisting"}
        return POLICY.model_copy(update={"rates": rates})
    if variant == 2:
        rates = {
            k: v.model_copy(update={"max_hours_per": "occasion"}) for k, v in POLICY.rates.items()
        }
        return POLICY.model_copy(update={"rates": rates})
    return POLICY


def _with_problems(df: pd.DataFrame, rng: random.Random, tab: str, cols: list[str]) -> None:
    """Mark a few rows as holding a cell the store could not read (as the store does)."""
    problems = []
    for row in df.index:
        if rng.random() < 0.08:
            col = rng.choice(cols)
            problems.append(Problem("staff", tab, "expected a number such as 12.50", int(row), col))
    df.attrs["problems"] = problems


def generated(seed: int) -> dict[str, Any]:
    """One invented campaign: people, attendance, claims and score forms, awkward on purpose."""
    rng = random.Random(seed)
    pids = [f"p{i:02d}" for i in range(rng.randint(1, 7))]
    people_rows = [
        {
            "person_id": pid,
            "name": "Invented",
            "kind": rng.choice(["lived experience"] * 4 + ["council"]),
            "role": "panel member",
            "reward_choice": rng.choice(CHOICES),
            "earnings_limit": rng.choice([None, None, D(100), D(250)]),
        }
        for pid in pids
    ]
    if rng.random() < 0.2:
        people_rows.append(dict(people_rows[0]))  # a repeated id: the first row wins
    people = make_frame(SPEC.tab("people"), people_rows)
    if rng.random() < 0.3:
        _with_problems(people, rng, "people", ["earnings_limit", "reward_choice"])
    anyone = [*pids, "p99", ""]
    day0 = dt.date(2027, 1, 18)
    att_rows = [
        {
            "person_id": rng.choice(anyone),
            "activity": rng.choice(ACTIVITIES),
            "date": rng.choice([None, *(day0 + dt.timedelta(days=d) for d in range(0, 60, 3))]),
            "hours": rng.choice(NUMBERS),
            "confirmed_by": rng.choice(["Priya", "Priya", "Priya", ""]),
        }
        for _ in range(rng.randint(0, 14))
    ]
    attendance = make_frame(SPEC.tab("attendance"), att_rows)
    if rng.random() < 0.3:
        _with_problems(attendance, rng, "attendance", ["hours", "date"])
    claim_rows = [
        {
            "claim_id": rng.choice([f"CL-{n}"] * 5 + [""]),
            "person_id": rng.choice([*pids, *pids, *anyone]),
            "kind": rng.choice(KINDS),
            "activity": rng.choice(["", "", "", "interview day", "shortlisting", "gardening"]),
            "date": rng.choice([None, day0, day0, day0 + dt.timedelta(days=21)]),
            "amount": rng.choice(NUMBERS),
            "miles": rng.choice(NUMBERS),
            "receipt_reference": rng.choice(["", "R1"]),
        }
        for n in range(rng.randint(0, 8))
    ]
    claims = make_frame(SPEC.tab("expense_claims"), claim_rows)
    if rng.random() < 0.3:
        _with_problems(claims, rng, "expense_claims", ["amount", "miles"])
    scorers = rng.sample(anyone, rng.randint(0, len(anyone)))
    raw = make_frame(
        SPEC.tab("raw_scores"),
        [
            {"response_id": f"r-{p}-{i}", "person_id": p,
             "stage": rng.choice(["shortlisting", "shortlisting", "interview"]),
             "candidate_letter": "A", "question_id": "c1", "score": D(3),
             "submitted_at": dt.datetime(2027, 1, 21)}
            for i, p in enumerate(scorers)
        ],
    )  # fmt: skip
    return {
        "policy": _policy(rng.choice([0, 0, 0, 1, 2])),
        "people": people,
        "attendance": rng.choice([attendance, attendance, None]),
        "claims": rng.choice([claims, claims, None]),
        "raw_scores": rng.choice([raw, raw, None]),
        "shortlisting_date": rng.choice([dt.date(2027, 1, 22), dt.date(2027, 1, 22), None]),
    }


def example() -> dict[str, Any]:
    """The example campaign's People tab, each person at every activity with a claim each."""
    with (ROOT / "sheets_templates" / "example" / "people.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    types = {c.id: c.type for c in SPEC.tab("people").columns}
    people = make_frame(
        SPEC.tab("people"),
        [{k: parse_cell(v, types[k]) for k, v in r.items() if k in types} for r in rows],
    )
    day = dt.date(2027, 2, 8)
    att = [
        {"person_id": r["person_id"], "activity": a, "date": day + dt.timedelta(days=i),
         "hours": D("3.5"), "confirmed_by": "Priya"}
        for r in rows
        for i, a in enumerate(ACTIVITIES[:6])
    ]  # fmt: skip
    claims = [
        {"claim_id": f"CL-{n}", "person_id": r["person_id"], "kind": KINDS[n % 5],
         "date": day, "amount": D("12.40"), "miles": D("31"), "receipt_reference": "R"}
        for n, r in enumerate(rows)
    ]  # fmt: skip
    raw = [
        {"response_id": f"r-{r['person_id']}", "person_id": r["person_id"],
         "stage": "shortlisting", "candidate_letter": "A", "question_id": "c1",
         "score": D(3), "submitted_at": dt.datetime(2027, 1, 21)}
        for r in rows
    ]  # fmt: skip
    return {
        "policy": POLICY,
        "people": people,
        "attendance": make_frame(SPEC.tab("attendance"), att[::2]),  # half confirmed, half not
        "claims": make_frame(SPEC.tab("expense_claims"), claims),
        "raw_scores": make_frame(SPEC.tab("raw_scores"), raw),
        "shortlisting_date": dt.date(2027, 1, 22),
    }


def snapshot(case: dict[str, Any]) -> dict[str, Any]:
    """Everything desired_lines says, as plain JSON (Decimals as their exact text)."""
    src = R.desired_lines(
        case["policy"],
        CAMP,
        people=case["people"],
        attendance=case["attendance"],
        claims=case["claims"],
        raw_scores=case["raw_scores"],
        shortlisting_date=case["shortlisting_date"],
    )
    return {
        "desired": [
            [k, d.person_id, d.activity, d.date.isoformat(), d.kind, str(d.quantity), d.unit,
             str(d.rate), str(d.full_amount), d.source, d.note]
            for k, d in src.desired.items()
        ],
        "issues": [
            [i.code, i.key, i.reason, i.source, i.person_id, i.warning, i.exception_id]
            for i in src.issues
        ],
        "frozen_people": sorted(src.frozen_people),
        "frozen_bases": sorted(src.frozen_bases),
        "waiting": src.waiting,
    }  # fmt: skip


def _accrue(case: dict[str, Any], ledger: pd.DataFrame | None) -> R.Accrual:
    return R.accrue(
        case["policy"],
        CAMP,
        people=case["people"],
        attendance=case["attendance"],
        claims=case["claims"],
        raw_scores=case["raw_scores"],
        ledger=ledger,
        shortlisting_date=case["shortlisting_date"],
    )


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return v if isinstance(v, (str, int, bool)) else str(v)


def changed(case: dict[str, Any], rng: random.Random, more: dict[str, Any]) -> dict[str, Any]:
    """The same campaign later: some rows removed, some hours and amounts corrected, and
    the rows of another generated campaign added (same people ids, other rows)."""
    out = dict(case)
    for name, column in (("attendance", "hours"), ("claims", "amount")):
        df, extra = case[name], more[name]
        if df is None:
            continue
        kept = df[[rng.random() > 0.2 for _ in df.index]].copy()
        for idx in kept.index:
            if rng.random() < 0.2:
                kept.at[idx, column] = rng.choice(NUMBERS[1:])
        rows = kept.to_dict("records") + ([] if extra is None else extra.to_dict("records"))
        tab = "attendance" if name == "attendance" else "expense_claims"
        out[name] = make_frame(SPEC.tab(tab), rows)
    return out


def accrual_snapshot(seed: int) -> dict[str, Any]:
    """Two runs of accrue: a campaign, staff approving and paying some lines, then the rows
    changed (another generated campaign with the same person ids): reversals, new versions,
    holds over an earnings limit and statuses."""
    rng = random.Random(seed)
    first = _accrue(generated(seed), None)
    ledger = first.ledger.copy()
    for idx in ledger.index:
        roll = rng.random()
        if roll < 0.3:
            ledger.at[idx, "approved_by"] = "Priya"
        if roll < 0.15:
            ledger.at[idx, "paid_on"] = dt.date(2027, 3, 1)
            ledger.at[idx, "payment_reference"] = f"PAY-{idx}"
    second = _accrue(changed(generated(seed), rng, generated(seed + 1000)), ledger)
    return {
        "ledger": [[_cell(v) for v in r.values()] for r in second.ledger.to_dict("records")],
        "added": [str(a.get("line_key")) for a in second.added],
        "status_changes": second.status_changes,
        "issues": [[i.code, i.key, i.reason, i.source, i.warning] for i in second.issues],
        "waiting": second.waiting,
    }


def all_snapshots() -> dict[str, Any]:
    out = {"example": snapshot(example())}
    for seed in range(CASES):
        out[f"generated-{seed}"] = snapshot(generated(seed))
    for seed in range(ACCRUALS):
        out[f"accrual-{seed}"] = accrual_snapshot(seed)
    return out


@functools.cache
def golden_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


def test_the_golden_file_covers_every_source_and_every_kind_of_issue() -> None:
    golden = {k: v for k, v in golden_file().items() if not k.startswith("accrual-")}
    sources = {d[9].split(" CL")[0] for snap in golden.values() for d in snap["desired"]}
    assert sources == {"attendance", "score form", "expense claim"}
    issue_codes = {i[0] for snap in golden.values() for i in snap["issues"]}
    assert {"bad-cell", "no-person", "unknown-person", "no-date", "unknown-activity",
            "no-choice", "no-hours", "bad-hours", "hours-capped", "no-claim-id",
            "staff-claim", "unknown-kind", "no-miles", "bad-amount", "no-amount",
            "no-receipt", "meal-provided", "over-cap"} <= issue_codes  # fmt: skip
    assert any(snap["frozen_people"] for snap in golden.values())
    assert any(snap["frozen_bases"] for snap in golden.values())
    assert any(snap["waiting"] for snap in golden.values())


def test_the_example_campaign_gives_the_same_lines_and_issues() -> None:
    golden = golden_file()
    assert snapshot(example()) == golden["example"]
    assert golden["example"]["desired"]


@pytest.mark.parametrize("seed", range(CASES))
def test_generated_campaigns_give_the_same_lines_and_issues(seed: int) -> None:
    golden = golden_file()
    assert snapshot(generated(seed)) == golden[f"generated-{seed}"]


@pytest.mark.parametrize("seed", range(ACCRUALS))
def test_accrual_gives_the_same_ledger_corrections_and_holds(seed: int) -> None:
    assert accrual_snapshot(seed) == golden_file()[f"accrual-{seed}"]


def test_the_accruals_cover_reversals_holds_and_payments() -> None:
    snaps = [v for k, v in golden_file().items() if k.startswith("accrual-")]
    kinds = {row[5] for s in snaps for row in s["ledger"]}
    statuses = {row[11] for s in snaps for row in s["ledger"]}
    assert "reversal" in kinds
    assert {"owed", "held", "approved", "paid", "cancelled"} <= statuses
    assert any("earnings-limit" in (i[0] for i in s["issues"]) for s in snaps)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    body = ",\n".join(
        f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in all_snapshots().items()
    )
    GOLDEN.write_text("{\n" + body + "\n}\n", encoding="utf-8")
