"""Properties of the merge that must hold for any scores (Hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations.config import load_settings
from automations.config.models import Criterion, Scale
from automations.transforms import merge as M
from tests.conftest import ROOT
from tests.merge_support import people, person, raw, score

CAMP = load_settings(ROOT / "config").campaign(None)
CRIT = ["c1", "c2", "c3", "c4"]
LETTERS = ["A", "B", "C"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A panel: 1-3 members, each with a 0-4 score (or None: missing) per letter and criterion.
member_scores = st.dictionaries(
    st.tuples(st.sampled_from(LETTERS), st.sampled_from(CRIT)),
    st.integers(0, 4),
    min_size=1,
    max_size=12,
)
panel_of = st.lists(member_scores, min_size=1, max_size=3)


def _build(council: list[dict], lived: list[dict], c_ids=None, l_ids=None) -> tuple[Any, Any]:
    c_ids = c_ids or [f"c{i:02d}" for i in range(len(council))]
    l_ids = l_ids or [f"l{i:02d}" for i in range(len(lived))]
    rows, ppl = [], []
    for pid, scores in zip(c_ids, council, strict=True):
        ppl.append(person(pid, "council"))
        rows += [score(pid, lt, q, v, stage="shortlisting") for (lt, q), v in scores.items()]
    for pid, scores in zip(l_ids, lived, strict=True):
        ppl.append(person(pid, "lived experience"))
        rows += [score(pid, lt, q, v, stage="shortlisting") for (lt, q), v in scores.items()]
    return raw(rows), people(ppl)


def _table(out: M.MergeOutcome) -> dict[str, tuple]:
    return {
        r.letter: (r.overall_decimal, r.rank, r.score(M.COUNCIL), r.score(M.LIVED))
        for r in out.stage("shortlisting")
    }


@FAST
@given(panel_of, panel_of, st.integers(1, 3))
def test_adding_members_with_the_same_scores_never_changes_anything(council, lived, k):
    base = M.merge_scores(*_build(council, lived), CAMP)
    # The lived experience panel grows k-fold (same scores, new people): its weight stays half.
    bigger = M.merge_scores(*_build(council, lived * (k + 1)), CAMP)
    assert _table(base) == _table(bigger)
    for r in bigger.stage("shortlisting"):
        if r.overall is not None:
            c, le = r.panel_scores[M.COUNCIL], r.panel_scores[M.LIVED]
            assert r.overall == (c + le) / 2  # type: ignore[operator]


@FAST
@given(panel_of, panel_of)
def test_swapping_the_panels_labels_never_changes_the_overall(council, lived):
    a = M.merge_scores(*_build(council, lived), CAMP)
    b = M.merge_scores(*_build(lived, council), CAMP)
    assert {r.letter: (r.overall, r.rank) for r in a.stage("shortlisting")} == {
        r.letter: (r.overall, r.rank) for r in b.stage("shortlisting")
    }


@FAST
@given(panel_of, panel_of, st.randoms(use_true_random=False))
def test_permuting_rows_gives_the_same_result(council, lived, rnd):
    frame, ppl = _build(council, lived)
    order = list(frame.index)
    rnd.shuffle(order)
    shuffled = frame.loc[order]
    a = M.merge_scores(frame, ppl, CAMP)
    b = M.merge_scores(shuffled, ppl.loc[list(reversed(ppl.index))], CAMP)
    assert _table(a) == _table(b)
    assert M.results_records(a) == M.results_records(b)
    assert M.reviewer_records(a) == M.reviewer_records(b)


@FAST
@given(panel_of, panel_of, st.integers(2, 5), st.integers(-3, 3))
def test_scaling_a_criterions_range_never_changes_rankings(council, lived, factor, shift):
    # c1's scale goes from 0-4 to shift..shift+4*factor and every c1 score moves with it.
    crit = list(CAMP.criteria)
    crit[0] = Criterion(
        id="c1",
        text=crit[0].text,
        threshold=None,
        scale=Scale(min=shift, max=shift + 4 * factor),
    )
    crit[1:] = [c.model_copy(update={"threshold": None}) for c in crit[1:]]
    plain = CAMP.model_copy(
        update={"criteria": [c.model_copy(update={"threshold": None}) for c in CAMP.criteria]}
    )
    scaled_camp = CAMP.model_copy(update={"criteria": crit})
    scaled = [
        {k: (v * factor + shift if k[1] == "c1" else v) for k, v in m.items()} for m in council
    ]
    scaled_l = [
        {k: (v * factor + shift if k[1] == "c1" else v) for k, v in m.items()} for m in lived
    ]
    a = M.merge_scores(*_build(council, lived), plain)
    b = M.merge_scores(*_build(scaled, scaled_l), scaled_camp)
    assert {r.letter: r.rank for r in a.stage("shortlisting")} == {
        r.letter: r.rank for r in b.stage("shortlisting")
    }
    assert _table(a) == _table(b)


@FAST
@given(panel_of, panel_of)
def test_every_score_is_an_exact_two_place_decimal(council, lived):
    out = M.merge_scores(*_build(council, lived), CAMP)
    for rec in M.results_records(out) + M.reviewer_records(out):
        for k, v in rec.items():
            assert not isinstance(v, float), k
            if isinstance(v, Decimal):
                assert v.as_tuple().exponent == -2, (k, v)
    for r in out.stage("shortlisting"):
        if r.overall is not None:
            assert 0 <= r.overall <= 100


@FAST
@given(panel_of, panel_of)
def test_missing_scores_never_count_as_zero(council, lived):
    # Any member's average lies between their lowest and highest given score (on 0-100),
    # which a hidden zero would break.
    out = M.merge_scores(*_build(council, lived), CAMP)
    given_by: dict[tuple[str, str], list[int]] = {}
    for pid, m in zip([f"c{i:02d}" for i in range(len(council))], council, strict=True):
        for (lt, _), v in m.items():
            given_by.setdefault((pid, lt), []).append(v * 25)
    for r in out.stage("shortlisting"):
        for pid, avg in r.member_scores.items():
            if (pid, r.letter) in given_by:
                vs = given_by[(pid, r.letter)]
                assert min(vs) <= avg <= max(vs)


def test_frames_keep_sheet_rows_as_index():
    frame, _ = _build([{("A", "c1"): 1}], [{("A", "c1"): 2}])
    assert isinstance(frame.index, pd.Index) and list(frame.index) == [2, 3]
