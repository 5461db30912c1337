"""'I can't score this one' (issue 19): recorded, shown to staff, and a missing score,
never a zero, from the form's answer to the merged result."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from automations.config import CampaignConfig, Settings
from automations.forms.base import CANT_SCORE, Response
from automations.transforms import forms as F
from automations.transforms import merge as M
from tests.merge_support import grid, people, person, raw, score

COUNCIL2 = [person("p01", "council", role="chair"), person("p02", "council")]
LIVED4 = [person(p, "lived experience") for p in ("p03", "p05", "p06", "p07")]
CRIT = ["c1", "c2", "c3", "c4"]
NOW = dt.datetime(2027, 1, 21, 9, 0)


@pytest.fixture
def camp(settings: Settings) -> CampaignConfig:
    return settings.campaign(None)


def cant(pid: str, letter: str, qid: str, reason: str, **kw: Any) -> dict[str, Any]:
    row = score(pid, letter, qid, None, stage="shortlisting", **kw)
    row["cant_score"] = reason
    return row


def _a(out: M.MergeOutcome) -> M.CandidateResult:
    return next(r for r in out.stage("shortlisting") if r.letter == "A")


def _everyone_but_p03_gives_4() -> list[dict[str, Any]]:
    rows = grid(["p01", "p02"], ["A"], CRIT, 4, stage="shortlisting")
    rows += grid(["p05", "p06", "p07"], ["A"], CRIT, 4, stage="shortlisting")
    return rows + [score("p03", "A", c, 2, stage="shortlisting") for c in ("c1", "c3", "c4")]


def test_a_declared_score_is_missing_not_zero_and_not_chased(camp):
    # As in the missing-score worked example: p03's average is 50 over three criteria,
    # not (50+50+50+0)/4. Their c2 is declared, so the stage is not waiting for it.
    rows = [*_everyone_but_p03_gives_4(), cant("p03", "A", "c2", "a conflict of interest")]
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    a = _a(out)
    assert not out.issues  # an empty score with a reason is not a bad row
    assert a.member_scores["p03"] == 50
    assert a.score(M.LIVED) == Decimal("87.50")
    assert a.missing == {"p03": ["c2"]}
    assert a.declared == {"p03": {"c2": "a conflict of interest"}}
    flag = next(f for f in a.flags if f.code == "incomplete")
    assert "p03 said they could not score c2 (a conflict of interest)" in flag.staff
    assert "no need to ask them" in flag.staff
    assert "has not scored" not in flag.staff
    assert "p03" not in flag.text
    assert out.complete["shortlisting"] is True


def test_an_empty_score_without_a_reason_is_still_refused(camp):
    rows = [*_everyone_but_p03_gives_4(), score("p03", "A", "c2", None, stage="shortlisting")]
    out = M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp)
    assert [i.code for i in out.issues] == ["no-score"]
    assert _a(out).declared == {}
    assert out.complete["shortlisting"] is False


def test_latest_counts_between_a_score_and_cant_score(camp):
    # Declared first, then a real score five minutes later: the score counts.
    rows = [*_everyone_but_p03_gives_4(), cant("p03", "A", "c2", "could not read it")]
    rows.append(score("p03", "A", "c2", 2, stage="shortlisting", minutes=5, response="later"))
    a = _a(M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp))
    assert a.missing == {} and a.declared == {}
    assert a.member_scores["p03"] == 50  # 2 (50) on all four
    # And the other way round: a score, then "I can't score this one" later.
    rows = [*_everyone_but_p03_gives_4(), score("p03", "A", "c2", 0, stage="shortlisting")]
    rows.append(cant("p03", "A", "c2", "another reason", minutes=5, response="later"))
    a = _a(M.merge_scores(raw(rows), people(COUNCIL2 + LIVED4), camp))
    assert a.declared == {"p03": {"c2": "another reason"}}
    assert a.member_scores["p03"] == 50  # the 0 no longer counts


# ------------------------------------------------------------------ collect


def _spec(camp: CampaignConfig) -> Any:
    cands = [F.Candidate("A", {c.id: "an answer" for c in camp.criteria})]
    return F.shortlisting_spec(camp, "p03", cands)


def _response(spec: Any, answers: dict[str, str], rid: str = "r1") -> Response:
    return Response(
        rid, spec.key, "p03", answers, dt.datetime(2027, 1, 20, 10, tzinfo=dt.UTC), "local form"
    )


def test_the_form_offers_it_and_counts_it_as_an_answer(camp):
    spec = _spec(camp)
    items = spec.scale_items()
    assert items and all(i.cant_score for i in items)
    answers = {i.item_id: "3" for i in items}
    answers[items[1].item_id] = "cant-score:conflict"
    assert F.answer_errors(answers, spec.items()) == {}
    # Anything else that is not on the scale is still refused.
    answers[items[1].item_id] = "cant-score:bribe"
    assert list(F.answer_errors(answers, spec.items())) == [items[1].item_id]


def test_collect_records_it_with_no_score_and_tells_staff_in_plain_words(camp):
    spec = _spec(camp)
    items = spec.scale_items()
    answers = {i.item_id: "3" for i in items}
    second = items[1]
    answers[second.item_id] = "cant-score:conflict"
    pp = people(COUNCIL2 + LIVED4)
    got = F.validate_responses(
        {spec.key: spec}, [_response(spec, answers)], pp, now=NOW, tz="Europe/London"
    )
    assert got.accepted_responses == 1
    rows = {r["question_id"]: r for r in got.raw_scores}
    assert len(rows) == len(items)
    assert rows[second.question_id]["score"] is None  # never a zero
    assert rows[second.question_id]["cant_score"] == CANT_SCORE["cant-score:conflict"]
    assert rows[items[0].question_id]["score"] == Decimal(3)
    assert rows[items[0].question_id]["cant_score"] == ""
    [exc] = got.exceptions
    n = spec.question_order.index(second.question_id) + 1
    assert exc["reason"].startswith(
        f"p03 could not score Candidate A on criterion {n} (a conflict of interest)."
    )
    assert "not counted as zero" in exc["reason"]
    # Collected rows, as the tab holds them, merge as a declared missing score.
    out = M.merge_scores(raw(got.raw_scores), pp, camp)
    a = _a(out)
    assert a.declared == {"p03": {second.question_id: "a conflict of interest"}}
    assert not out.issues
