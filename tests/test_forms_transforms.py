"""Score form specs and response validation (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from automations.config import CampaignConfig, Settings
from automations.forms.base import (
    CommentItem,
    Response,
    ScaleItem,
    comment_item_id,
    form_key,
    score_item_id,
)
from automations.transforms.forms import (
    Candidate,
    build_specs,
    candidate_order,
    interview_letters,
    latest_scores,
    scorers,
    validate_responses,
)

ROOT = Path(__file__).resolve().parent.parent
LETTERS = list("ABCDEF")
NOW = dt.datetime(2027, 1, 25, 9, 0)
TZ = "Europe/London"


@pytest.fixture
def camp(settings: Settings) -> CampaignConfig:
    return settings.campaign(None)


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.read_csv(ROOT / "sheets_templates/example/people.csv", dtype=str).fillna("")


def cands(camp: CampaignConfig) -> list[Candidate]:
    return [
        Candidate(x, {c.id: f"answer of {x} to {c.id}" for c in camp.criteria}) for x in LETTERS
    ]


def test_only_chairs_and_panel_members_who_score_get_forms(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    specs = build_specs(camp, people, cands(camp), ["B", "A"])
    owners = {(s.stage, s.person_id) for s in specs}
    scoring = {"p01", "p02", "p03", "p05", "p06", "p07"}
    assert owners == {(st, p) for st in ("shortlisting", "interview") for p in scoring}
    # p04 is the supporting worker; even marked as shortlisting, she gets no form
    people.loc[people["person_id"] == "p04", "shortlists"] = "TRUE"
    assert "p04" not in {s.person_id for s in scorers(people, "shortlisting")}


def test_question_by_question_has_a_page_per_criterion_with_every_candidate_once(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    assert camp.campaign.question_by_question
    specs = [s for s in build_specs(camp, people, cands(camp)) if s.stage == "shortlisting"]
    for spec in specs:
        assert [s.section_id for s in spec.sections] == [f"criterion-{c.id}" for c in camp.criteria]
        for sec, crit in zip(spec.sections, camp.criteria, strict=True):
            scale = [i for i in sec.items if isinstance(i, ScaleItem)]
            assert Counter(i.candidate_letter for i in scale) == Counter(LETTERS)
            assert {i.question_id for i in sec.items} == {crit.id}
            # each answer shown with its letter, in this person's own order
            assert tuple(i.candidate_letter for i in scale) == spec.candidate_order
            assert all(i.context == f"answer of {i.candidate_letter} to {crit.id}" for i in scale)
            assert [p.value for p in scale[0].points] == [0, 1, 2, 3, 4]
            assert scale[0].points[2].label == "Some evidence"
        # exactly one score and one comment box per candidate per criterion
        ids = [i.item_id for i in spec.items()]
        assert len(ids) == len(set(ids)) == 2 * len(LETTERS) * len(camp.criteria)


def test_each_reviewers_order_is_a_permutation_different_and_stable(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    specs = [s for s in build_specs(camp, people, cands(camp)) if s.stage == "shortlisting"]
    orders = [s.candidate_order for s in specs]
    assert all(sorted(o) == LETTERS for o in orders)
    assert len(set(orders)) == len(orders)  # six reviewers, six different orders
    again = [
        s.candidate_order
        for s in build_specs(camp, people, cands(camp))
        if s.stage == "shortlisting"
    ]
    assert again == orders
    assert all(
        s.order_seed.startswith(f"{camp.id}|{camp.campaign.seed}|shortlisting|") for s in specs
    )
    # recorded seed explains the order
    assert candidate_order(specs[0].order_seed, LETTERS) == specs[0].candidate_order
    # a late candidate slots in without reshuffling everyone else
    late = candidate_order(specs[0].order_seed, [*LETTERS, "G"])
    assert [x for x in late if x != "G"] == list(specs[0].candidate_order)


def test_application_by_application_when_question_by_question_is_off(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    off = camp.model_copy(
        update={"campaign": camp.campaign.model_copy(update={"question_by_question": False})}
    )
    spec = next(s for s in build_specs(off, people, cands(off)) if s.stage == "shortlisting")
    assert [s.section_id for s in spec.sections] == [f"candidate-{x}" for x in spec.candidate_order]
    assert sorted(spec.candidate_order) == LETTERS and not spec.question_by_question


def test_interview_form_has_every_question_with_a_comment_box(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    spec = next(s for s in build_specs(camp, people, [], ["D", "A"]) if s.stage == "interview")
    assert [s.title for s in spec.sections] == ["Candidate D", "Candidate A"]
    for sec in spec.sections:
        scale = [i for i in sec.items if isinstance(i, ScaleItem)]
        notes = [i for i in sec.items if isinstance(i, CommentItem)]
        assert [i.question_id for i in scale] == [q.id for q in camp.questions]
        assert [i.question_id for i in notes] == [q.id for q in camp.questions]
        assert scale[0].title.startswith("Question 1: Can you tell us who you are")


def test_interview_order_follows_the_timetable() -> None:
    apps = pd.DataFrame(
        {
            "application_id": ["1", "2", "3", "4"],
            "status": ["invited", "invited", "received", "withdrawn"],
        }
    )
    key = pd.DataFrame(
        {
            "application_id": ["1", "2", "3", "4"],
            "candidate_letter": list("ABCD"),
            "retired": [False, False, False, True],
        }
    )
    tt = pd.DataFrame(
        {
            "day": ["2027-02-08", "2027-02-08"],
            "starts": ["11:30", "10:30"],
            "candidate_letter": ["A", "B"],
        }
    )
    assert interview_letters(apps, key, tt) == ["B", "A"]
    assert interview_letters(apps, key) == ["A", "B"]


# ------------------------------------------------------------------ validation


def resp(
    spec_key: str, person: str, answers: dict[str, str], rid: str, minute: int = 0
) -> Response:
    return Response(
        rid,
        spec_key,
        person,
        answers,
        dt.datetime(2027, 1, 25, 10, minute, tzinfo=dt.UTC),
        "local form",
    )


@pytest.fixture
def specs(camp: CampaignConfig, people: pd.DataFrame) -> dict[str, object]:
    return {s.key: s for s in build_specs(camp, people, cands(camp), ["A", "B"])}


def full(spec: object, value: str = "3") -> dict[str, str]:
    return {i.item_id: value for i in spec.scale_items()}  # type: ignore[attr-defined]


def test_valid_response_becomes_raw_score_rows(
    camp: CampaignConfig, people: pd.DataFrame, specs: dict
) -> None:
    key = form_key(camp.id, "shortlisting", "p03")
    ans = full(specs[key])
    ans[comment_item_id("C", "c2")] = '=HYPERLINK("x") kept as text'
    got = validate_responses(specs, [resp(key, "p03", ans, "R1")], people, now=NOW, tz=TZ)
    assert got.exceptions == []
    assert len(got.raw_scores) == len(LETTERS) * len(camp.criteria)
    row = next(
        r for r in got.raw_scores if r["candidate_letter"] == "C" and r["question_id"] == "c2"
    )
    assert row["score"] == Decimal(3) and row["panel"] == "lived experience"
    assert row["comment"] == '=HYPERLINK("x") kept as text'
    assert row["submitted_at"] == dt.datetime(2027, 1, 25, 10, 0)  # UTC = London in January
    assert row["source"] == "local form" and row["stage"] == "shortlisting"


@pytest.mark.parametrize(
    "value,reason",
    [
        ("", "no score was given"),
        ("7", "outside the scale (0 to 4)"),
        ("-1", "outside the scale"),
        ("2.5", "not a whole number"),
        ("lots", "not a number"),
    ],
)
def test_bad_scores_become_exceptions_naming_form_person_and_question(
    camp: CampaignConfig, people: pd.DataFrame, specs: dict, value: str, reason: str
) -> None:
    key = form_key(camp.id, "interview", "p01")
    ans = full(specs[key])
    ans[score_item_id("B", "q3")] = value
    got = validate_responses(specs, [resp(key, "p01", ans, "R2")], people, now=NOW, tz=TZ)
    assert len(got.raw_scores) == 2 * len(camp.questions) - 1
    [exc] = got.exceptions
    assert reason in exc["reason"]
    assert "p01" in exc["reason"] and "Candidate B" in exc["reason"] and "q3" in exc["reason"]
    assert key in exc["source"] and "R2" in exc["source"]


def test_someone_else_a_supporting_worker_unknown_form_and_off_list_candidate_are_rejected(
    camp: CampaignConfig, people: pd.DataFrame, specs: dict
) -> None:
    key = form_key(camp.id, "shortlisting", "p03")
    forged = resp(key, "p02", full(specs[key]), "R3")
    unknown = resp(form_key(camp.id, "shortlisting", "p99"), "p99", {}, "R4")
    extra = full(specs[key])
    extra[score_item_id("Z", "c1")] = "4"
    off_list = resp(key, "p03", extra, "R5")
    sw = people.copy()
    sw.loc[sw["person_id"] == "p05", "role"] = "supporting worker"
    k5 = form_key(camp.id, "shortlisting", "p05")
    by_sw = resp(k5, "p05", full(specs[k5]), "R6")
    got = validate_responses(specs, [forged, unknown, off_list, by_sw], sw, now=NOW, tz=TZ)
    reasons = " | ".join(e["reason"] for e in got.exceptions)
    assert "belongs to p03" in reasons
    assert "does not know" in reasons
    assert "Candidate Z" in reasons and "not on this person's form" in reasons
    assert "supporting worker" in reasons
    assert {r["response_id"] for r in got.raw_scores} == {"R5"}  # only the good part of R5
    assert not any(r["candidate_letter"] == "Z" for r in got.raw_scores)


def test_duplicates_add_nothing_and_the_latest_correction_counts(
    camp: CampaignConfig, people: pd.DataFrame, specs: dict
) -> None:
    key = form_key(camp.id, "shortlisting", "p06")
    first = resp(key, "p06", full(specs[key], "1"), "R7", minute=0)
    fixed = full(specs[key], "1")
    fixed[score_item_id("A", "c1")] = "4"
    later = resp(key, "p06", fixed, "R8", minute=5)
    got = validate_responses(specs, [later, first, first], people, now=NOW, tz=TZ)
    per = len(LETTERS) * len(camp.criteria)
    assert len(got.raw_scores) == 2 * per  # both kept in the raw log, the duplicate dropped
    latest = latest_scores(pd.DataFrame(got.raw_scores))
    assert len(latest) == per
    a1 = latest[(latest["candidate_letter"] == "A") & (latest["question_id"] == "c1")]
    assert a1["score"].tolist() == [Decimal(4)] and a1["response_id"].tolist() == ["R8"]


def test_exceptions_hold_no_personal_data(
    camp: CampaignConfig, people: pd.DataFrame, specs: dict
) -> None:
    key = form_key(camp.id, "interview", "p02")
    ans = full(specs[key], "9")
    ans[comment_item_id("A", "q1")] = "Call Joy Hill on 07700 900123 or joy.hill@example.com"
    got = validate_responses(specs, [resp(key, "p02", ans, "R9")], people, now=NOW, tz=TZ)
    text = repr(got.exceptions)
    assert got.exceptions and "Joy" not in text and "07700" not in text and "@" not in text
    assert "Tom" not in text and "Whitfield" not in text


def test_a_candidate_added_after_a_form_was_sent_is_not_called_missing(
    camp: CampaignConfig, people: pd.DataFrame, specs: dict
) -> None:
    key = form_key(camp.id, "shortlisting", "p03")
    old = {k: v for k, v in full(specs[key]).items() if "__F__" not in k}  # F came later
    got = validate_responses(specs, [resp(key, "p03", old, "R10")], people, now=NOW, tz=TZ)
    assert got.exceptions == []
    assert len(got.raw_scores) == 5 * len(camp.criteria)
    assert "F" not in {r["candidate_letter"] for r in got.raw_scores}


def test_with_two_panels_each_member_scores_their_panels_questions(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    qs = list(camp.questions)
    qs[0] = qs[0].model_copy(update={"panel": "council"})
    qs[1] = qs[1].model_copy(update={"panel": "lived experience"})
    c2 = camp.model_copy(update={"questions": qs})
    specs = {s.person_id: s for s in build_specs(c2, people, [], ["A"]) if s.stage == "interview"}
    assert specs["p01"].question_order == ("q1", "q3", "q4", "q5", "q6")  # council
    assert specs["p03"].question_order == ("q2", "q3", "q4", "q5", "q6")  # lived experience
    mixed = c2.model_copy(
        update={"campaign": c2.campaign.model_copy(update={"panel_mode": "mixed"})}
    )
    every = [s for s in build_specs(mixed, people, [], ["A"]) if s.stage == "interview"]
    assert all(len(s.question_order) == 6 for s in every)
