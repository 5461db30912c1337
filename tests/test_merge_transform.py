"""The merge, on worked examples computed by hand (in the comments) and on properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from automations.config import CampaignConfig, Settings
from automations.config.models import Criterion, Merge, Question, Scale
from automations.errors import Problem
from automations.transforms import merge as M
from tests.merge_support import grid, people, person, raw, score

COUNCIL2 = [person("p01", "council", role="chair"), person("p02", "council")]
LIVED4 = [person(p, "lived experience") for p in ("p03", "p05", "p06", "p07")]
SUPPORT = [person("p04", "lived experience", role="supporting worker", kind="council")]
CRIT = ["c1", "c2", "c3", "c4"]


@pytest.fixture
def camp(settings: Settings) -> CampaignConfig:
    return settings.campaign(None)


def _with(camp: CampaignConfig, **merge: Any) -> CampaignConfig:
    return camp.model_copy(update={"merge": Merge(**{**camp.merge.model_dump(), **merge})})


def _mixed(camp: CampaignConfig) -> CampaignConfig:
    info = camp.campaign.model_copy(update={"panel_mode": "mixed"})
    return camp.model_copy(update={"campaign": info})


def _one(outcome: M.MergeOutcome, letter: str, stage: str = "shortlisting") -> M.CandidateResult:
    return next(r for r in outcome.stage(stage) if r.letter == letter)


def _codes(r: M.CandidateResult) -> list[str]:
    return [f.code for f in r.flags]


def _short(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["stage"] = "shortlisting"
    return rows


LE_SCORE = {"p03": 2, "p05": 2, "p06": 1, "p07": 3}


def test_two_council_members_and_four_lived_experience_members_carry_half_each(camp):
    # Shortlisting, criteria c1-c4 on a 0-4 scale, weight 1 each.
    # Council: p01 and p02 give A 4 everywhere: 100 each, panel 100.
    # Lived experience: p03 2 (50), p05 2 (50), p06 1 (25), p07 3 (75): panel (50+50+25+75)/4 = 50.
    # Overall = (100 + 50) / 2 = 75.00. Pooling the six people instead would give
    # (100+100+50+50+25+75)/6 = 66.67: the Council's 2 would count for a third, not half.
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(list(LE_SCORE), ["A"], CRIT, lambda p, lt, q: LE_SCORE[p], stage="shortlisting")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _one(out, "A")
    assert a.score(M.COUNCIL) == Decimal("100.00")
    assert a.score(M.LIVED) == Decimal("50.00")
    assert a.overall_decimal == Decimal("75.00")
    assert a.members_counted == {M.COUNCIL: 2, M.LIVED: 4}
    assert "(100.00 + 50.00) / 2 = 75.00" in a.explanation(out.panels, Fraction(0))
    assert "carries half" in a.explanation(out.panels, Fraction(0))
    # gap 75 - 50... the panels are 50 apart, more than the gap of 20: flagged
    assert "disagree" in _codes(a)
    assert out.complete["shortlisting"] is True
    # The pooled mean would differ: equal weight is not a head count.
    assert a.overall_decimal != Decimal("66.67")


def test_different_scales_and_weights(camp):
    # One mixed panel, two questions: q1 on 0-4 (weight 1), q2 on 1-10 (weight 2).
    # p01 gives q1 3 -> 75; q2 7 -> (7-1)/9*100 = 66.666...
    # Weighted: (1*75 + 2*66.666...)/3 = (75 + 133.333...)/3 = 208.333.../3 = 69.444... -> 69.44
    # p03 gives q1 4 -> 100; q2 10 -> 100; average 100.
    # Mixed panel mean: (69.444... + 100)/2 = 84.722... -> 84.72
    qs = [
        Question(id="q1", text="First", scale=Scale(min=0, max=4)),
        Question(id="q2", text="Second", scale=Scale(min=1, max=10), weight=Decimal(2)),
    ]
    c = _mixed(camp).model_copy(update={"questions": qs})
    rows = [
        score("p01", "A", "q1", 3),
        score("p01", "A", "q2", 7),
        score("p03", "A", "q1", 4),
        score("p03", "A", "q2", 10),
    ]
    out = M.merge_scores(raw(rows), people([COUNCIL2[0], LIVED4[0]]), c)
    a = _one(out, "A", "interview")
    assert M.to_decimal(a.member_scores["p01"]) == Decimal("69.44")
    assert a.member_scores["p01"] == Fraction(625, 9)  # exact: 208.333.../3
    assert a.score(M.MIXED) == Decimal("84.72")
    assert a.overall_decimal == Decimal("84.72")
    assert out.panels == (M.MIXED,)


def test_missing_score_is_left_out_not_zero_and_flagged(camp):
    # p03 did not score c2 for A. Everyone else gives 4 (100).
    # p03 gives 2 (50) on c1, c3, c4: their average is 50 over three criteria, not
    # (50+50+50+0)/4 = 37.5. Lived experience panel: (50 + 100*3)/4 = 87.5.
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(["p05", "p06", "p07"], ["A"], CRIT, 4, stage="shortlisting")
    rows += [score("p03", "A", c, 2, stage="shortlisting") for c in ("c1", "c3", "c4")]
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _one(out, "A")
    assert a.member_scores["p03"] == 50
    assert a.score(M.LIVED) == Decimal("87.50")
    assert a.overall_decimal == Decimal("93.75")  # (100 + 87.5)/2
    assert a.missing == {"p03": ["c2"]}
    flag = next(f for f in a.flags if f.code == "incomplete")
    assert "p03 has not scored c2" in flag.staff
    assert "p03" not in flag.text  # the panel wording names no one
    assert out.complete["shortlisting"] is False


def test_member_who_scored_only_some_candidates(camp):
    # p07 scored A (all 4s) but not B. B's lived experience panel is the mean of the three
    # who scored it: p03, p05, p06 all give 2 -> 50. p07 is not counted as 0 for B.
    rows = grid(["p01", "p02"], ["A", "B"], CRIT, 3, stage="shortlisting")
    rows += grid(["p03", "p05", "p06"], ["A", "B"], CRIT, 2, stage="shortlisting")
    rows += grid(["p07"], ["A"], CRIT, 4, stage="shortlisting")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    b = _one(out, "B")
    assert b.members_counted[M.LIVED] == 3
    assert b.score(M.LIVED) == Decimal("50.00")
    assert b.overall_decimal == Decimal("62.50")  # (75 + 50)/2
    assert "p07 has not scored this candidate" in b.flags[0].staff
    a = _one(out, "A")
    assert a.score(M.LIVED) == Decimal("62.50")  # (50*3 + 100)/4
    assert not a.missing


def test_corrected_score_latest_counts(camp):
    # p01 first gives A c1 1, then corrects it to 4 five minutes later: 4 counts.
    # A row further down the sheet but sent earlier does not win: time decides.
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(list(LE_SCORE), ["A"], CRIT, 4, stage="shortlisting")
    rows[0] = score("p01", "A", "c1", 1, stage="shortlisting", minutes=0)
    rows.append(score("p01", "A", "c1", 4, stage="shortlisting", minutes=5, response="fix"))
    rows.append(score("p01", "A", "c1", 0, stage="shortlisting", minutes=-5, response="old"))
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _one(out, "A")
    assert a.overall_decimal == Decimal("100.00")
    assert out.used_rows == 24  # 6 people x 4 criteria, one latest each


def test_supporting_worker_score_is_never_counted(camp):
    # p04 supports the lived experience panel; their 0s must not pull the panel down.
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(list(LE_SCORE), ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(["p04"], ["A"], CRIT, 0, stage="shortlisting")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4 + SUPPORT), camp)
    a = _one(out, "A")
    assert a.score(M.LIVED) == Decimal("100.00")
    assert "p04" not in a.member_scores
    assert [i.code for i in out.issues] == ["not-a-scorer"] * 4
    first = out.issues[0]
    assert "supporting workers support the panel and never score" in first.reason
    assert first.source == "staff workbook, tab 'Raw scores', row 26, column 'Person ID'"
    assert first.exception_id.startswith("merge-")


def test_mixed_panel_every_member_counts_the_same(camp):
    # Mixed: the 2 Council and 4 lived experience members are one panel of 6.
    # Council 100, 100; lived experience 50, 50, 25, 75 -> (400)/6 = 66.666... -> 66.67
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(list(LE_SCORE), ["A"], CRIT, lambda p, lt, q: LE_SCORE[p], stage="shortlisting")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), _mixed(camp))
    a = _one(out, "A")
    assert a.score(M.MIXED) == Decimal("66.67")
    assert a.overall_decimal == Decimal("66.67")
    assert a.score(M.COUNCIL) is None
    assert "disagree" not in _codes(a)
    assert "every member counts the same" in a.explanation(out.panels, Fraction(0))


def test_ties_are_reported_not_broken(camp):
    # A and B both 75.00 (all 3s); C 50.00 (all 2s). A and B share 1st; C is 3rd.
    rows = grid(
        ["p01", "p02", *LE_SCORE],
        ["A", "B", "C"],
        CRIT,
        lambda p, lt, q: 2 if lt == "C" else 3,
        stage="shortlisting",
    )
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    ranks = {r.letter: r.rank for r in out.stage("shortlisting")}
    assert ranks == {"A": 1, "B": 1, "C": 3}
    a = _one(out, "A")
    tie = next(f for f in a.flags if f.code == "tie")
    assert "Tied 1st with candidate B on 75.00" in tie.text
    assert "does not break ties" in tie.text
    assert "tie" not in _codes(_one(out, "C"))


def test_one_panel_with_no_scores_yet_gives_no_overall(camp):
    # Only the Council has scored: there is no overall score, and no rank,
    # rather than silently using the Council alone.
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _one(out, "A")
    assert a.score(M.COUNCIL) == Decimal("100.00")
    assert a.overall is None and a.rank is None
    assert "no-panel-score" in _codes(a)
    assert "One panel's score is never used alone" in a.explanation(out.panels, Fraction(0))


def test_bad_scores_named_by_sheet_row_and_column(camp):
    # Row 2: out of range (5 on a 0-4 scale). Row 3: a cell problem found on reading
    # (text in the score column). Row 4: an unknown criterion. Row 5: not on People.
    rows = [
        score("p01", "A", "c1", 5, stage="shortlisting"),
        score("p01", "A", "c2", None, stage="shortlisting"),
        score("p01", "A", "c9", 2, stage="shortlisting"),
        score("p99", "A", "c1", 2, stage="shortlisting"),
        score("p02", "A", "c1", 4, stage="shortlisting"),
    ]
    prob = Problem("staff", "raw_scores", "expected a number", row=3, column="score")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp, problems=[prob])
    got = {(i.code, i.source) for i in out.issues}
    where = "staff workbook, tab 'Raw scores', row {}, column '{}'"
    assert got == {
        ("out-of-range", where.format(2, "Score")),
        ("bad-cell", where.format(3, "Score")),
        ("unknown-question", where.format(4, "Question or criterion")),
        ("unknown-person", where.format(5, "Person ID")),
    }
    rng = next(i for i in out.issues if i.code == "out-of-range")
    assert "must be from 0 to 4" in rng.reason
    a = _one(out, "A")
    assert a.member_scores == {"p02": Fraction(100)}  # only the one good row


def test_threshold_on_an_essential_criterion(camp):
    # c1 has threshold 1 on 0-4 (= 25 on 0-100). Everyone gives A 0 on c1 and 4 elsewhere.
    rows = grid(
        ["p01", "p02", *LE_SCORE],
        ["A"],
        CRIT,
        lambda p, lt, q: 0 if q == "c1" else 4,
        stage="shortlisting",
    )
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _one(out, "A")
    f = next(f for f in a.flags if f.code == "threshold")
    assert "essential threshold on criterion c1" in f.text
    assert "0.00 where 1.00 is needed" in f.text
    assert a.overall_decimal == Decimal("75.00")  # flagged, not changed


def test_panels_rank_differently_and_disagree(camp):
    # Council: A 4 (100), B 3 (75). Lived experience: A 2 (50), B 3 (75).
    # A: 100 vs 50, 50 apart (> 20): disagree. Panels rank A 1st and 2nd: order flag.
    rows = grid(
        ["p01", "p02"],
        ["A", "B"],
        CRIT,
        lambda p, lt, q: 4 if lt == "A" else 3,
        stage="shortlisting",
    )
    rows += grid(
        list(LE_SCORE),
        ["A", "B"],
        CRIT,
        lambda p, lt, q: 2 if lt == "A" else 3,
        stage="shortlisting",
    )
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _one(out, "A")
    assert {"disagree", "order"} <= set(_codes(a))
    assert "differ by 50.00 points" in next(f.text for f in a.flags if f.code == "disagree")
    b = _one(out, "B")
    assert "disagree" not in _codes(b)  # 75 vs 75


def test_shortlisting_carried_into_interview(camp):
    # carry 0.25. Shortlisting: everyone 2 -> 50 overall. Interview (q1..q6, weight 1, 0-4):
    # everyone 4 -> 100. Overall = 0.75*100 + 0.25*50 = 87.50.
    c = _with(camp, carry_shortlisting_weight=Decimal("0.25"))
    everyone = ["p01", "p02", *LE_SCORE]
    rows = grid(everyone, ["A"], CRIT, 2, stage="shortlisting")
    rows += grid(everyone, ["A"], [f"q{i}" for i in range(1, 7)], 4, stage="interview")
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), c)
    a = _one(out, "A", "interview")
    assert a.stage_score == 100 and a.carried == 50
    assert a.overall_decimal == Decimal("87.50")
    assert "25% of the shortlisting score (50.00) is carried in: 87.50" in a.explanation(
        out.panels, out.carry_weight
    )
    recs = [r for r in M.results_records(out) if r["stage"] == "interview"]
    assert recs[0]["shortlisting_score"] == Decimal("50.00")


def test_reviewer_view_by_hand(camp):
    # One criterion (0-4), one mixed panel of three, candidates A and B.
    #   p01: A 4 (100), B 2 (50)   p02: A 2 (50), B 2 (50)   p03: A 0 (0), B 2 (50)
    # p01: mean 75; spread = sd(100, 50) = 25; others on A mean(50, 0) = 25, on B 50, so
    #   others' mean 37.5 and difference mean(75, 0) = 37.5. z on A: cell (100, 50, 0) has
    #   mean 50 and sd sqrt(5000/3) = 40.8248, z = 50/40.8248 = 1.2247; B has sd 0 (no z).
    #   Far from the rest on A (75 > gap 20).
    # p02: mean 50, spread 0, others 50, difference 0, z 0, far from none.
    # p03: mirror of p01: mean 25, others 62.5, difference -37.5, z -1.22, far on A.
    c = _mixed(camp).model_copy(
        update={"criteria": [Criterion(id="c1", text="One", scale=Scale(min=0, max=4))]}
    )
    pts = {("p01", "A"): 4, ("p01", "B"): 2, ("p02", "A"): 2, ("p02", "B"): 2}
    pts |= {("p03", "A"): 0, ("p03", "B"): 2}
    rows = grid(
        ["p01", "p02", "p03"],
        ["A", "B"],
        ["c1"],
        lambda p, lt, q: pts[(p, lt)],
        stage="shortlisting",
    )
    ppl = people([COUNCIL2[0], COUNCIL2[1], LIVED4[0]])
    out = M.merge_scores(raw(rows), ppl, c)
    recs = {r["person_id"]: r for r in M.reviewer_records(out) if r["stage"] == "shortlisting"}
    p01, p02, p03 = recs["p01"], recs["p02"], recs["p03"]
    assert (p01["mean"], p01["spread"], p01["others_mean"], p01["difference"]) == (
        Decimal("75.00"),
        Decimal("25.00"),
        Decimal("37.50"),
        Decimal("37.50"),
    )
    assert p01["mean_z"] == Decimal("1.22")
    assert p01["far_from_rest"] == "A"
    assert p01["by_question"] == "c1 +37.50"
    assert (p02["mean"], p02["spread"], p02["difference"], p02["mean_z"]) == (
        Decimal("50.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert p02["far_from_rest"] == ""
    assert (p03["mean"], p03["difference"], p03["mean_z"]) == (
        Decimal("25.00"),
        Decimal("-37.50"),
        Decimal("-1.22"),
    )
    assert p03["missing"] == 0 and p03["scores"] == 2
    # Everyone's spread: the six scores 100, 50, 50, 50, 0, 50 have mean 50 and
    # sd sqrt((2500 + 2500) / 6) = sqrt(833.33) = 28.87, the same on every row.
    assert {r["panel_spread"] for r in recs.values()} == {Decimal("28.87")}


def test_reviewer_view_with_missing_scores_by_hand(camp):
    # One criterion (0-4), one mixed panel of three, candidates A, B and C expected.
    #   p01: A 4 (100), B 2 (50), C 0 (0)
    #   p02: A 2 (50),  B 2 (50), C 2 (50)
    #   p03: A 3 (75),  B and C not sent: 2 scores missing.
    # Everyone's spread: the seven scores sum to 375 (mean 53.571), squares sum to 25625,
    #   variance 25625/7 - (375/7)^2 = 790.816, sd 28.12 (one figure for the stage).
    # p01: mean 50, spread sd(100, 50, 0) = sqrt(5000/3) = 40.82. Others on A mean(50, 75)
    #   = 62.5, on B 50, on C 50: others' mean 162.5/3 = 54.17; difference
    #   mean(37.5, 0, -50) = -4.17. Far from the rest on A (37.5) and C (50), gap 20.
    # p02: mean 50, spread 0. Others on A mean(100, 75) = 87.5, on B 50, on C 0: others'
    #   mean 137.5/3 = 45.83; difference mean(-37.5, 0, 50) = 4.17. Far on A and C.
    # p03: 1 score, 2 missing; mean 75, spread 0; others on A mean(100, 50) = 75, so
    #   difference 0; z on A: cell (100, 50, 75) has mean 75, so z = 0. Far from none.
    c = _mixed(camp).model_copy(
        update={"criteria": [Criterion(id="c1", text="One", scale=Scale(min=0, max=4))]}
    )
    pts = {("p01", "A"): 4, ("p01", "B"): 2, ("p01", "C"): 0}
    pts |= {("p02", "A"): 2, ("p02", "B"): 2, ("p02", "C"): 2, ("p03", "A"): 3}
    rows = [score(p, lt, "c1", v, stage="shortlisting") for (p, lt), v in pts.items()]
    ppl = people([COUNCIL2[0], COUNCIL2[1], LIVED4[0]])
    out = M.merge_scores(raw(rows), ppl, c, candidates={"shortlisting": ["A", "B", "C"]})
    assert out.complete["shortlisting"] is False
    recs = {r["person_id"]: r for r in M.reviewer_records(out) if r["stage"] == "shortlisting"}
    got = {
        pid: (
            r["scores"],
            r["missing"],
            r["mean"],
            r["spread"],
            r["panel_spread"],
            r["others_mean"],
            r["difference"],
            r["far_from_rest"],
        )
        for pid, r in recs.items()
    }
    d = Decimal
    assert got == {
        "p01": (3, 0, d("50.00"), d("40.82"), d("28.12"), d("54.17"), d("-4.17"), "A, C"),
        "p02": (3, 0, d("50.00"), d("0.00"), d("28.12"), d("45.83"), d("4.17"), "A, C"),
        "p03": (1, 2, d("75.00"), d("0.00"), d("28.12"), d("75.00"), d("0.00"), ""),
    }
    assert recs["p03"]["mean_z"] == Decimal("0.00")
    # The staff decision pack shows the same figures, with everyone's spread beside theirs.
    from automations.reports.decision_pack import render_pack

    html = render_pack(out, c, "staff")
    assert "Everyone&#39;s spread" in html or "Everyone's spread" in html
    row = html[html.index(">p03</th>") :]
    row = row[: row.index("</tr>")]
    cells = [x.split("<")[0] for x in row.split('<td class="num">')[1:]]
    assert cells[:5] == ["1", "2", "75.00", "0.00", "28.12"]


def test_standardised_check_ranking_is_off_by_default_and_never_replaces_the_rank(camp):
    # p01 is generous (A 4, B 3), p03 strict (A 1, B 0). Raw: A (100+25)/2 = 62.5,
    # B (75+0)/2 = 37.5. Standardised, each person's A is +1 and B -1: A 1st, B 2nd too.
    rows = [
        score("p01", "A", "c1", 4, stage="shortlisting"),
        score("p01", "B", "c1", 3, stage="shortlisting"),
        score("p03", "A", "c1", 1, stage="shortlisting"),
        score("p03", "B", "c1", 0, stage="shortlisting"),
    ]
    c = _mixed(camp).model_copy(
        update={"criteria": [Criterion(id="c1", text="One", scale=Scale(min=0, max=4))]}
    )
    ppl = people([COUNCIL2[0], LIVED4[0]])
    off = M.merge_scores(raw(rows), ppl, c)
    assert all(r.check_rank is None for r in off.stage("shortlisting"))
    on = M.merge_scores(raw(rows), ppl, _with(c, reviewer_zscores=True))
    assert {r.letter: r.check_rank for r in on.stage("shortlisting")} == {"A": 1, "B": 2}
    assert {r.letter: r.check_score for r in on.stage("shortlisting")} == {"A": 1, "B": -1}
    assert [r.rank for r in on.stage("shortlisting")] == [r.rank for r in off.stage("shortlisting")]


def test_question_for_one_panel_only(camp):
    # q1 is for the lived experience panel only; a Council member's q1 score is not counted.
    qs = [
        Question(id="q1", text="First", panel="lived experience"),
        Question(id="q2", text="Second"),
    ]
    c = camp.model_copy(update={"questions": qs})
    rows = [
        score("p01", "A", "q1", 4),
        score("p01", "A", "q2", 2),
        score("p03", "A", "q1", 4),
        score("p03", "A", "q2", 4),
    ]
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), c)
    a = _one(out, "A", "interview")
    assert a.score(M.COUNCIL) == Decimal("50.00")
    assert [i.code for i in out.issues] == ["other-panel"]
    assert a.by_item["q1"][M.COUNCIL] is None


def test_expected_candidate_with_no_scores_is_listed(camp):
    rows = grid(["p01"], ["A"], CRIT, 4, stage="shortlisting")
    out = M.merge_scores(
        raw(rows),
        people(COUNCIL2 + LIVED4),
        camp,
        candidates={"shortlisting": ["A", "B", "Z"]},
        retired=["Z"],
    )
    letters = [r.letter for r in out.stage("shortlisting")]
    assert letters == ["A", "B"]
    assert _one(out, "B").overall is None


def test_rounding_is_half_up_and_exact():
    assert M.to_decimal(Fraction(1, 200)) == Decimal("0.01")
    assert M.to_decimal(Fraction(-1, 200)) == Decimal("-0.01")
    assert M.to_decimal(Fraction(200, 3)) == Decimal("66.67")
    assert M.to_decimal(Fraction(12345, 1000)) == Decimal("12.35")
    assert M.to_decimal(None) is None
