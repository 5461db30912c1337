"""Rewards ledger calculations, with worked examples computed by hand in the comments.

The policy is the example one in config/organisation.toml: shortlisting £15.00 an hour up
to 4 hours for the whole campaign; preparation meeting £50.00 a half day; interview day
£100.00 a full day (lunch provided); decision meeting £15.00 an hour up to 2 hours;
mileage 45p a mile, capped at £60.00 a claim; travel at cost with a receipt; meals up to
£10.00; earnings limit £200.00 a month, warning at 80% (£160.00).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automations.config import load_settings
from automations.config.models import RewardPolicy
from automations.errors import Problem
from automations.store import make_frame
from automations.templates import load_workbook_spec
from automations.transforms import rewards as R

ROOT = Path(__file__).resolve().parent.parent
POLICY: RewardPolicy = load_settings(ROOT / "config").org.rewards
SPEC = load_workbook_spec("staff").expand(4)
CAMP = "camp"
DEADLINE = dt.date(2027, 1, 22)
JAN20, FEB8, FEB9, FEB10 = (
    dt.date(2027, 1, 20),
    dt.date(2027, 2, 8),
    dt.date(2027, 2, 9),
    dt.date(2027, 2, 10),
)


def people(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {"name": "Someone", "kind": "lived experience", "role": "panel member"}
    return make_frame(SPEC.tab("people"), [base | r for r in rows])


PEOPLE = people(
    {"person_id": "p03", "reward_choice": "payment"},
    {"person_id": "p05", "reward_choice": "vouchers"},
    {"person_id": "p07", "reward_choice": "no payment"},
    {"person_id": "p01", "kind": "council", "role": "chair"},
)


def att(*rows: dict[str, Any]) -> pd.DataFrame:
    return make_frame(SPEC.tab("attendance"), [{"confirmed_by": "Priya"} | r for r in rows])


def claims(*rows: dict[str, Any]) -> pd.DataFrame:
    return make_frame(SPEC.tab("expense_claims"), list(rows))


def scores(*pids: str, stage: str = "shortlisting") -> pd.DataFrame:
    return make_frame(
        SPEC.tab("raw_scores"),
        [
            {"response_id": f"r-{p}", "person_id": p, "stage": stage, "candidate_letter": "A",
             "question_id": "c1", "score": D(3), "submitted_at": dt.datetime(2027, 1, 21)}
            for p in pids
        ],
    )  # fmt: skip


def accrue(
    attendance: pd.DataFrame | None = None,
    claim_rows: pd.DataFrame | None = None,
    ledger: pd.DataFrame | None = None,
    people_df: pd.DataFrame = PEOPLE,
    raw: pd.DataFrame | None = None,
    policy: RewardPolicy = POLICY,
) -> R.Accrual:
    return R.accrue(
        policy, CAMP, people=people_df, attendance=attendance, claims=claim_rows,
        raw_scores=raw, ledger=ledger, shortlisting_date=DEADLINE,
    )  # fmt: skip


def lines(a: R.Accrual) -> dict[str, dict[str, Any]]:
    return {r["line_key"]: r for r in a.ledger.to_dict("records")}


def codes(a: R.Accrual) -> list[str]:
    return sorted(i.code for i in a.issues)


# ------------------------------------------------------------------------ worked examples


def test_hours_are_paid_at_the_hourly_rate() -> None:
    # 3 hours shortlisting x £15.00 = £45.00
    a = accrue(att({"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(3)}))
    (line,) = a.ledger.to_dict("records")
    assert line["line_key"] == "p03|camp|shortlisting|2027-01-20|time"
    assert (line["quantity"], line["unit"], line["rate"]) == (D(3), "hour", D("15.00"))
    assert line["amount"] == D("45.00")
    assert (line["reward"], line["status"], line["source"]) == ("payment", "owed", "attendance")


def test_hours_over_the_policy_limit_are_paid_up_to_it_and_staff_are_told() -> None:
    # shortlisting: 4 hours at most for the whole campaign.
    # 20 Jan: 3 hours claimed -> 3 paid (£45.00). 21 Jan: 3 claimed -> only 1 left (£15.00).
    # Decision meeting: 2.5 hours claimed, 2 at most each time -> 2 x £15.00 = £30.00.
    a = accrue(att(
        {"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(3)},
        {"person_id": "p03", "activity": "shortlisting", "date": dt.date(2027, 1, 21),
         "hours": D(3)},
        {"person_id": "p03", "activity": "decision meeting", "date": FEB10, "hours": D("2.5")},
    ))  # fmt: skip
    got = {k: (v["quantity"], v["amount"]) for k, v in lines(a).items()}
    assert got == {
        "p03|camp|shortlisting|2027-01-20|time": (D(3), D("45.00")),
        "p03|camp|shortlisting|2027-01-21|time": (D(1), D("15.00")),
        "p03|camp|decision meeting|2027-02-10|time": (D(2), D("30.00")),
    }
    assert codes(a) == ["hours-capped", "hours-capped"]
    assert all(i.warning for i in a.issues)
    assert "so 1 hours are paid" in lines(a)["p03|camp|shortlisting|2027-01-21|time"]["note"]


def test_sessions_are_paid_per_session_whatever_the_hours() -> None:
    # Interview day: one full day = £100.00; preparation meeting: half a day = £50.00.
    a = accrue(att(
        {"person_id": "p03", "activity": "interview day", "date": FEB8, "hours": D(7)},
        {"person_id": "p03", "activity": "preparation meeting", "date": dt.date(2027, 1, 29)},
    ))  # fmt: skip
    got = {v["activity"]: (v["quantity"], v["unit"], v["amount"]) for v in lines(a).values()}
    assert got == {
        "interview day": (D(1), "full day", D("100.00")),
        "preparation meeting": (D(1), "half day", D("50.00")),
    }


def test_mileage_rounds_half_up_to_the_penny_and_is_capped() -> None:
    # 12.3 miles x £0.45 = £5.535 -> £5.54 (half-up, not banker's £5.54/£5.53).
    # 150 miles x £0.45 = £67.50, over the £60.00 cap -> £60.00 paid, staff told.
    # 0.1 mile x £0.45 = £0.045 -> £0.05 (half-up; half-even would give £0.04).
    a = accrue(claim_rows=claims(
        {"claim_id": "M1", "person_id": "p03", "kind": "mileage", "activity": "interview day",
         "date": FEB8, "miles": D("12.3")},
        {"claim_id": "M2", "person_id": "p03", "kind": "mileage", "date": FEB9,
         "miles": D(150)},
        {"claim_id": "M3", "person_id": "p03", "kind": "mileage", "date": FEB10,
         "miles": D("0.1")},
    ))  # fmt: skip
    got = {k.split("|")[-1]: v["amount"] for k, v in lines(a).items()}
    assert got == {"mileage#M1": D("5.54"), "mileage#M2": D("60.00"), "mileage#M3": D("0.05")}
    (cap,) = a.issues
    assert cap.code == "over-cap" and cap.warning
    assert "Claimed £67.50" in cap.reason and "up to £60.00" in cap.reason
    assert "row" in cap.source and "column 'Miles'" in cap.source


def test_expenses_need_a_receipt_where_the_policy_says_so() -> None:
    no_receipt = {"claim_id": "T1", "person_id": "p03", "kind": "travel", "date": FEB8,
                  "amount": D("6.40")}  # fmt: skip
    a = accrue(claim_rows=claims(no_receipt))
    assert a.ledger.empty and codes(a) == ["no-receipt"]
    assert "receipt reference" in a.issues[0].reason
    # Once the receipt reference is there, the claim is repaid at cost: £6.40.
    b = accrue(claim_rows=claims(no_receipt | {"receipt_reference": "bus ticket 1"}))
    assert [v["amount"] for v in lines(b).values()] == [D("6.40")]


def test_meals_are_repaid_only_when_none_is_provided_and_up_to_the_cap() -> None:
    # Lunch is provided on interview days: refused. Decision meeting meal £12.00 -> £10.00 cap.
    a = accrue(claim_rows=claims(
        {"claim_id": "F1", "person_id": "p03", "kind": "meal", "activity": "interview day",
         "date": FEB8, "amount": D("8.00")},
        {"claim_id": "F2", "person_id": "p03", "kind": "meal", "activity": "decision meeting",
         "date": FEB10, "amount": D("12.00")},
    ))  # fmt: skip
    assert [v["amount"] for v in lines(a).values()] == [D("10.00")]
    assert codes(a) == ["meal-provided", "over-cap"]


def test_a_correction_is_a_reversing_line_and_a_new_line_never_an_edit() -> None:
    # Claimed 4 hours shortlisting (£60.00); staff correct it to 3 hours (£45.00).
    row = {"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(4)}
    first = accrue(att(row))
    second = accrue(att(row | {"hours": D(3)}), ledger=first.ledger)
    got = lines(second)
    base = "p03|camp|shortlisting|2027-01-20|time"
    assert list(got) == [base, f"{base}|r1", f"{base}|v2"]
    # The original line is still there with its amount; only its status says it was cancelled.
    assert got[base]["amount"] == D("60.00")
    assert got[f"{base}|r1"]["amount"] == D("-60.00")
    assert got[f"{base}|r1"]["reverses"] == base
    assert got[f"{base}|v2"]["amount"] == D("45.00")
    assert "hours changed from 4 to 3" in got[f"{base}|r1"]["note"]
    # Nothing had been paid, so the first line and its reversal are both cancelled.
    assert [got[k]["status"] for k in got] == ["cancelled", "cancelled", "owed"]
    # Net: 60.00 - 60.00 + 45.00 = 45.00
    s = R.build_statement(second.ledger, "p03", CAMP, POLICY, "payment")
    assert s.total == D("45.00") and s.paid == 0
    # Running again with the same source changes nothing.
    assert not accrue(att(row | {"hours": D(3)}), ledger=second.ledger).changed


def test_correcting_a_paid_line_takes_the_difference_off_the_next_payment() -> None:
    # Paid £60.00 for 4 hours; corrected to 3 hours: -£60.00 owed back, +£45.00 owed:
    # statement total £45.00, paid £60.00, still to come -£15.00.
    row = {"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(4)}
    first = accrue(att(row)).ledger
    first.loc[0, ["approved_by", "paid_on", "payment_reference"]] = ["Priya", FEB8, "FIN-1"]
    paid = accrue(att(row), ledger=first)
    assert lines(paid)["p03|camp|shortlisting|2027-01-20|time"]["status"] == "paid"
    second = accrue(att(row | {"hours": D(3)}), ledger=paid.ledger)
    statuses = [v["status"] for v in lines(second).values()]
    assert statuses == ["paid", "owed", "owed"]
    s = R.build_statement(second.ledger, "p03", CAMP, POLICY, "payment")
    assert (s.total, s.paid, s.still_to_come) == (D("45.00"), D("60.00"), D("-15.00"))
    assert s.payments == [R.Payment(FEB8, "FIN-1", D("60.00"), False)]


def test_attendance_no_longer_confirmed_is_reversed() -> None:
    row = {"person_id": "p03", "activity": "interview day", "date": FEB8}
    first = accrue(att(row))
    second = accrue(att(row | {"confirmed_by": ""}), ledger=first.ledger)
    got = lines(second)
    assert [v["amount"] for v in got.values()] == [D("100.00"), D("-100.00")]
    assert "no longer confirmed" in got["p03|camp|interview day|2027-02-08|time|r1"]["note"]
    assert second.waiting == 1


def test_a_person_who_declines_payment_is_never_owed_for_their_time() -> None:
    # p07 chose 'no payment': interview day recorded at £0.00, 'not claimed'; the policy
    # value (£100.00) is in the note. Their bus fare (£4.20, with receipt) is still repaid.
    a = accrue(
        att({"person_id": "p07", "activity": "interview day", "date": FEB8}),
        claims({"claim_id": "T7", "person_id": "p07", "kind": "travel", "date": FEB8,
                "amount": D("4.20"), "receipt_reference": "R7"}),
    )  # fmt: skip
    got = lines(a)
    time = got["p07|camp|interview day|2027-02-08|time"]
    assert (time["amount"], time["reward"], time["status"]) == (D("0.00"), "no payment",
                                                                 "not claimed")  # fmt: skip
    assert "£100.00" in time["note"]
    fare = got["p07|camp|expenses|2027-02-08|travel#T7"]
    assert (fare["amount"], fare["reward"], fare["status"]) == (D("4.20"), "payment", "owed")
    s = R.build_statement(a.ledger, "p07", CAMP, POLICY, "no payment")
    assert s.total == D("4.20") and s.given_value == D("100.00")


def test_vouchers_choice_is_recorded_on_the_line() -> None:
    a = accrue(att({"person_id": "p05", "activity": "interview day", "date": FEB8}))
    (line,) = a.ledger.to_dict("records")
    assert (line["reward"], line["amount"]) == ("vouchers", D("100.00"))
    line2 = dict(line, approved_by="Priya", paid_on=FEB9, payment_reference="VOUCHER-9")
    b = accrue(att({"person_id": "p05", "activity": "interview day", "date": FEB8}),
               ledger=R.ledger_frame([line2]))  # fmt: skip
    assert b.ledger.loc[0, "status"] == "voucher issued"


def test_a_reward_choice_change_reissues_unapproved_lines_but_never_paid_ones() -> None:
    row = {"person_id": "p03", "activity": "interview day", "date": FEB8}
    first = accrue(att(row))
    now_vouchers = people({"person_id": "p03", "reward_choice": "vouchers"})
    b = accrue(att(row), ledger=first.ledger, people_df=now_vouchers)
    assert [(v["reward"], v["status"]) for v in lines(b).values()] == [
        ("payment", "cancelled"), ("payment", "cancelled"), ("vouchers", "owed"),
    ]  # fmt: skip
    approved = first.ledger.copy()
    approved.loc[0, "approved_by"] = "Priya"
    c = accrue(att(row), ledger=approved, people_df=now_vouchers)
    assert not c.added and c.ledger.loc[0, "reward"] == "payment"


def test_the_benefits_limit_warns_staff_before_it_is_crossed() -> None:
    # p03 has their own limit of £150.00 a month (people.earnings_limit).
    # January: shortlisting 4 h = £60.00 (under £120.00, the 80% warning point).
    # February: interview day 8th £100.00 -> £100.00 (under £120.00).
    #           interview day 9th £100.00 -> £200.00 > £150.00: HELD, staff told.
    #           decision meeting 10th 1 h £15.00 -> £215.00: HELD too.
    # Expenses never count: mileage £9.00 on the 9th is owed as usual.
    p = people({"person_id": "p03", "reward_choice": "payment", "earnings_limit": D("150.00")})
    a = accrue(
        att(
            {"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(4)},
            {"person_id": "p03", "activity": "interview day", "date": FEB8},
            {"person_id": "p03", "activity": "interview day", "date": FEB9},
            {"person_id": "p03", "activity": "decision meeting", "date": FEB10, "hours": D(1)},
        ),
        claims({"claim_id": "M1", "person_id": "p03", "kind": "mileage", "date": FEB9,
                "miles": D(20)}),
        people_df=p,
    )  # fmt: skip
    status = {k.split("|")[3] + " " + k.split("|")[4]: v["status"] for k, v in lines(a).items()}
    assert status == {
        "2027-01-20 time": "owed",
        "2027-02-08 time": "owed",
        "2027-02-09 time": "held",
        "2027-02-09 mileage#M1": "owed",
        "2027-02-10 time": "held",
    }
    held = [i for i in a.issues if i.code == "earnings-limit"]
    assert len(held) == 2
    assert "February 2027 to £200.00, past their earnings limit of £150.00" in held[0].reason
    # A held line is paid only once a named staff member approves it.
    approved = a.ledger.copy()
    approved.loc[approved["status"] == "held", "approved_by"] = "Priya"
    again = accrue(ledger=approved, attendance=att(
        {"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(4)},
        {"person_id": "p03", "activity": "interview day", "date": FEB8},
        {"person_id": "p03", "activity": "interview day", "date": FEB9},
        {"person_id": "p03", "activity": "decision meeting", "date": FEB10, "hours": D(1)},
    ), claim_rows=claims({"claim_id": "M1", "person_id": "p03", "kind": "mileage",
                          "date": FEB9, "miles": D(20)}), people_df=p)  # fmt: skip
    assert sorted(set(again.ledger["status"])) == ["approved", "owed"]
    assert not again.added


def test_the_policy_limit_warns_when_payments_get_close() -> None:
    # Policy limit £200.00, warning at 80% = £160.00. Two interview days in February:
    # £100.00 (below £160.00), then £200.00: reaches the warning point, not past the limit.
    a = accrue(att({"person_id": "p03", "activity": "interview day", "date": FEB8},
                   {"person_id": "p03", "activity": "interview day", "date": FEB9}))  # fmt: skip
    assert set(a.ledger["status"]) == {"owed"}
    (near,) = a.issues
    assert near.code == "earnings-near" and "£200.00" in near.reason


def test_no_payment_is_never_counted_or_held_and_vouchers_count_when_configured() -> None:
    rows = att(*[{"person_id": pid, "activity": "interview day", "date": d}
                 for pid in ("p05", "p07") for d in (FEB8, FEB9, FEB10)])  # fmt: skip
    a = accrue(rows)
    st5 = {v["status"] for k, v in lines(a).items() if k.startswith("p05")}
    st7 = {v["status"] for k, v in lines(a).items() if k.startswith("p07")}
    assert st5 == {"owed", "held"} and st7 == {"not claimed"}
    b = accrue(rows, policy=POLICY.model_copy(update={"earnings_include_vouchers": False}))
    assert "held" not in set(b.ledger["status"])


# ---------------------------------------------------------------------------- bad input


def test_bad_input_goes_to_exceptions_with_plain_reasons_and_nothing_is_paid() -> None:
    att_df = att(
        {"person_id": "p99", "activity": "interview day", "date": FEB8},
        {"person_id": "p03", "activity": "knitting", "date": FEB8},
        {"person_id": "p03", "activity": "decision meeting", "date": FEB10},
        {"person_id": "p03", "activity": "feedback meeting", "date": FEB10, "hours": D(-1)},
        {"person_id": "p01", "activity": "interview day", "date": FEB8},
    )
    claim_df = claims(
        {"claim_id": "A", "person_id": "p03", "kind": "meal", "date": FEB8, "amount": D(-5)},
        {"claim_id": "B", "person_id": "p03", "kind": "taxi", "date": FEB8, "amount": D(5)},
        {"claim_id": "C", "person_id": "p01", "kind": "meal", "date": FEB8, "amount": D(5)},
        {"claim_id": "D", "person_id": "p03", "kind": "meal", "date": FEB8},
        {"claim_id": "E", "person_id": "p03", "kind": "mileage", "date": FEB8},
        {"claim_id": "F", "person_id": "p03", "kind": "meal", "date": FEB8, "amount": D("1.005")},
    )
    a = accrue(att_df, claim_df)
    assert a.ledger.empty
    assert codes(a) == sorted([
        "unknown-person", "unknown-activity", "no-hours", "bad-hours",
        "bad-amount", "unknown-kind", "staff-claim", "no-amount", "no-miles", "bad-amount",
    ])  # fmt: skip
    for i in a.issues:
        assert i.reason.endswith(".") and len(i.reason) > 20
        assert "staff workbook, tab '" in i.source
        assert "Someone" not in i.reason  # never a name


def test_a_cell_the_store_could_not_read_is_reported_and_freezes_that_person() -> None:
    # A non-numeric amount: the store leaves the cell empty and lists the problem.
    good = accrue(claim_rows=claims({"claim_id": "A", "person_id": "p03", "kind": "meal",
                                     "date": FEB10, "amount": D(7)}))  # fmt: skip
    broken = claims({"claim_id": "A", "person_id": "p03", "kind": "meal", "date": FEB10})
    broken.index = pd.Index([2], name="row")
    broken.attrs["problems"] = [Problem("staff", "expense_claims", "expected a number such as "
                                        "12.50", row=2, column="amount")]  # fmt: skip
    a = accrue(claim_rows=broken, ledger=good.ledger)
    assert codes(a) == ["bad-cell"]
    assert a.issues[0].source == "staff workbook, tab 'Expense claims', row 2, column 'Amount (£)'"
    assert not a.changed  # the £7.00 line is neither reversed nor duplicated


def test_a_person_without_a_reward_choice_is_asked_not_paid() -> None:
    p = people({"person_id": "p03"})
    a = accrue(att({"person_id": "p03", "activity": "interview day", "date": FEB8}), people_df=p)
    assert a.ledger.empty and codes(a) == ["no-choice"]
    assert "Reward choice" in a.issues[0].reason


def test_exception_ids_are_stable_so_a_rerun_lists_nothing_twice() -> None:
    c = claims({"claim_id": "A", "person_id": "p03", "kind": "taxi", "date": FEB8, "amount": D(5)})
    ids1 = [i.exception_id for i in accrue(claim_rows=c).issues]
    ids2 = [i.exception_id for i in accrue(claim_rows=c).issues]
    assert ids1 == ids2 and ids1[0].startswith("rewards-")


# ------------------------------------------------------------------ score forms, statuses


def test_a_completed_shortlisting_score_form_pays_the_policy_hours() -> None:
    # No attendance row: the score form shows the work -> planned 4 hours x £15.00 = £60.00,
    # dated the shortlisting deadline. Council scorers (p01) are not paid under the policy.
    a = accrue(raw=scores("p03", "p01"))
    (line,) = a.ledger.to_dict("records")
    assert line["line_key"] == "p03|camp|shortlisting|2027-01-22|time"
    assert (line["quantity"], line["amount"], line["source"]) == (D(4), D("60.00"), "score form")
    # Staff then confirm 3 hours on 20 January: the score-form line is reversed, 3 h paid.
    b = accrue(att({"person_id": "p03", "activity": "shortlisting", "date": JAN20,
                    "hours": D(3)}), ledger=a.ledger, raw=scores("p03"))  # fmt: skip
    assert [v["amount"] for v in lines(b).values()] == [D("60.00"), D("-60.00"), D("45.00")]
    assert R.build_statement(b.ledger, "p03", CAMP, POLICY).total == D("45.00")


def test_interview_scores_alone_do_not_pay_anything() -> None:
    assert accrue(raw=scores("p03", stage="interview")).ledger.empty


def test_statuses_follow_what_staff_fill_in() -> None:
    a = accrue(att({"person_id": "p03", "activity": "interview day", "date": FEB8}))
    led = a.ledger.copy()
    led.loc[0, "approved_by"] = "Priya"
    assert accrue(att({"person_id": "p03", "activity": "interview day", "date": FEB8}),
                  ledger=led).ledger.loc[0, "status"] == "approved"  # fmt: skip
    led.loc[0, "paid_on"] = FEB9
    half = accrue(att({"person_id": "p03", "activity": "interview day", "date": FEB8}),
                  ledger=led)  # fmt: skip
    assert half.ledger.loc[0, "status"] == "approved" and codes(half) == ["half-paid"]
    led.loc[0, "payment_reference"] = "FIN-2"
    assert accrue(att({"person_id": "p03", "activity": "interview day", "date": FEB8}),
                  ledger=led).ledger.loc[0, "status"] == "paid"  # fmt: skip


def test_lines_of_other_campaigns_are_left_alone() -> None:
    other = R.ledger_frame([{"line_key": "p03|other|interview day|2026-01-01|time",
                             "person_id": "p03", "campaign_id": "other", "amount": D(100),
                             "status": "weird"}])  # fmt: skip
    a = accrue(ledger=other)
    assert not a.changed and a.ledger.loc[0, "status"] == "weird"


# ------------------------------------------------------------------------- periods, money


@pytest.mark.parametrize(
    ("day", "period", "key", "words"),
    [
        (dt.date(2027, 2, 9), "month", "2027-02", "February 2027"),
        (dt.date(2027, 2, 9), "week", "2027-W06", "the week starting 8 February 2027"),
        (dt.date(2027, 4, 5), "tax year", "2026-27", "the 2026 to 2027 tax year"),
        (dt.date(2027, 4, 6), "tax year", "2027-28", "the 2027 to 2028 tax year"),
    ],
)
def test_periods(day: dt.date, period: str, key: str, words: str) -> None:
    assert R.period_key(day, period) == key
    assert R.period_words(key, period) == words


def test_money_is_rounded_half_up_and_shown_in_pounds() -> None:
    assert R.money(D("0.125")) == D("0.13") and R.money(D("-0.125")) == D("-0.13")
    assert R.pounds(D("1234.5")) == "£1,234.50" and R.pounds(D("-15")) == "-£15.00"


def test_csv_text_never_becomes_a_formula() -> None:
    assert R.csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert R.csv_safe("@x") == "'@x" and R.csv_safe("-x") == "'-x"
    assert R.csv_safe("-15.00") == "-15.00" and R.csv_safe("Grace") == "Grace"


# --------------------------------------------------------------------- export selection


def test_export_takes_approved_payment_lines_and_refuses_the_rest_with_reasons() -> None:
    a = accrue(att(*[{"person_id": p, "activity": "interview day", "date": FEB8}
                     for p in ("p03", "p05", "p07")]))  # fmt: skip
    led = a.ledger.copy()
    led["approved_by"] = "Priya"
    led = accrue(att(*[{"person_id": p, "activity": "interview day", "date": FEB8}
                       for p in ("p03", "p05", "p07")]), ledger=led).ledger  # fmt: skip
    chosen, issues = R.export_candidates(led, PEOPLE, CAMP)
    assert [c["person_id"] for c in chosen] == ["p03"]  # vouchers and no payment stay out
    assert issues == []
    # p03 now chooses vouchers: their approved payment line is not exported, staff are told.
    changed = people({"person_id": "p03", "reward_choice": "vouchers"},
                     {"person_id": "p05", "reward_choice": "vouchers"},
                     {"person_id": "p07", "reward_choice": "no payment"})  # fmt: skip
    chosen, issues = R.export_candidates(led, changed, CAMP)
    assert chosen == [] and [i.code for i in issues] == ["export-choice"]
    assert "not sent to finance" in issues[0].reason


def test_finance_rows_have_person_and_batch_totals() -> None:
    rows = R.finance_rows(
        [{"person_id": "p03", "amount": D("45.00"), "line_key": "a"},
         {"person_id": "p03", "amount": D("9.00"), "line_key": "b"},
         {"person_id": "p06", "amount": D("100.00"), "line_key": "c"}],
        {"p03": "G", "p06": "B"}, "B1",
    )  # fmt: skip
    totals = [(r["row_type"], r["person_id"], r["amount"]) for r in rows if r["row_type"] != "line"]
    assert totals == [("person total", "p03", "54.00"), ("person total", "p06", "100.00"),
                      ("batch total", "", "154.00")]  # fmt: skip


def test_totals_are_derived_per_person_campaign_and_period() -> None:
    a = accrue(att({"person_id": "p03", "activity": "shortlisting", "date": JAN20, "hours": D(2)},
                   {"person_id": "p03", "activity": "interview day", "date": FEB8}))  # fmt: skip
    t = R.totals(a.ledger, ["person_id", "period"])
    assert t.to_dict("records") == [
        {"person_id": "p03", "period": "2027-01", "total": D("30.00"), "paid": D("0.00"),
         "approved": D("0.00"), "waiting": D("30.00")},
        {"person_id": "p03", "period": "2027-02", "total": D("100.00"), "paid": D("0.00"),
         "approved": D("0.00"), "waiting": D("100.00")},
    ]  # fmt: skip


# --------------------------------------------------------------------------- estimates


def test_estimate_prices_the_planned_activities_and_warns_staff_over_a_limit() -> None:
    dates = make_frame(SPEC.tab("dates"), [
        {"event": "shortlisting deadline", "starts_at": dt.datetime(2027, 1, 22, 17)},
        {"event": "preparation meeting", "starts_at": dt.datetime(2027, 1, 29, 10),
         "ends_at": dt.datetime(2027, 1, 29, 12)},
        {"event": "interview day", "starts_at": dt.datetime(2027, 2, 8, 9, 45)},
        {"event": "interview day 2", "starts_at": dt.datetime(2027, 2, 9, 9, 45)},
        {"event": "decision meeting", "starts_at": dt.datetime(2027, 2, 10, 10),
         "ends_at": dt.datetime(2027, 2, 10, 11, 30)},
        {"event": "start date", "starts_at": dt.datetime(2027, 4, 5, 9)},
    ])  # fmt: skip
    planned = R.planned_activities(dates, shortlists=True, interviews=True)
    # shortlisting 4 h x £15 = £60; prep half day £50; 2 interview days £200;
    # decision meeting 1.5 h (from its start and end) x £15 = £22.50. Total £332.50.
    # February: £222.50 > £200.00 limit -> staff warned. January: £110.00.
    est, issues = R.estimate(POLICY, "p03", "payment", planned, D("200.00"))
    assert [i.amount for i in est.items] == [D("60.00"), D("50.00"), D("100.00"),
                                             D("100.00"), D("22.50")]  # fmt: skip
    assert est.total == est.payable == D("332.50")
    assert est.over_limit == [("2027-02", D("222.50"), D("200.00"))]
    assert [i.code for i in issues] == ["estimate-limit"]
    none, issues = R.estimate(POLICY, "p07", "no payment", planned, D("200.00"))
    assert none.payable == 0 and none.total == D("332.50") and issues == []
    only_shortlisting = R.planned_activities(dates, shortlists=True, interviews=False)
    assert [p.activity for p in only_shortlisting] == ["shortlisting"]


def test_config_refuses_a_mileage_rule_without_a_rate() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="rate_per_mile"):
        RewardPolicy.model_validate({"expenses": [{"kind": "mileage"}]})
    with pytest.raises(ValidationError, match="more than one rule"):
        RewardPolicy.model_validate({"expenses": [{"kind": "meal"}, {"kind": "meal"}]})


# --------------------------------------------------------------------------- properties

ACTIVITIES = ["shortlisting", "interview day", "decision meeting", "preparation meeting"]
DAYS = [JAN20, FEB8, FEB9, FEB10]


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]]:
    """A few rounds of sources changing (hours corrected, rows removed, choices changed)."""
    rounds = []
    for _ in range(draw(st.integers(1, 4))):
        a_rows = []
        for act in draw(st.lists(st.sampled_from(ACTIVITIES), max_size=4, unique=True)):
            a_rows.append({
                "person_id": "p03", "activity": act, "date": draw(st.sampled_from(DAYS)),
                "hours": D(draw(st.integers(1, 12))) / 2,
                "confirmed_by": draw(st.sampled_from(["Priya", "Priya", ""])),
            })  # fmt: skip
        c_rows = []
        for n in draw(st.lists(st.integers(1, 4), max_size=3, unique=True)):
            kind = draw(st.sampled_from(["mileage", "meal", "travel"]))
            c_rows.append({
                "claim_id": f"C{n}", "person_id": "p03", "kind": kind,
                "date": draw(st.sampled_from(DAYS)),
                "miles": D(draw(st.integers(1, 2000))) / 10 if kind == "mileage" else None,
                "amount": D(draw(st.integers(1, 3000))) / 100 if kind != "mileage" else None,
                "receipt_reference": draw(st.sampled_from(["", "R1"])),
            })  # fmt: skip
        choice = draw(st.sampled_from(["payment", "vouchers", "no payment"]))
        limit = draw(st.sampled_from([None, D("50"), D("150.00")]))
        staff = {
            "approve": draw(st.sets(st.integers(0, 20), max_size=6)),
            "pay": draw(st.sets(st.integers(0, 20), max_size=4)),
            "export": draw(st.sets(st.integers(0, 20), max_size=3)),
        }
        p = people({"person_id": "p03", "reward_choice": choice, "earnings_limit": limit})
        rounds.append((att(*a_rows) if a_rows else None, claims(*c_rows) if c_rows else None,
                       p, staff))  # fmt: skip
    return rounds


@settings(max_examples=150, deadline=None)
@given(histories())
def test_property_a_persons_lines_always_sum_to_their_statement_total(rounds: list) -> None:
    ledger = None
    for attendance, claim_rows, p, staff in rounds:
        a = accrue(attendance, claim_rows, ledger=ledger, people_df=p)
        led = a.ledger.copy()
        for i in staff["approve"]:
            if i < len(led):
                led.loc[i, "approved_by"] = "Priya"
        for i in staff["pay"]:
            if i < len(led) and led.loc[i, "approved_by"]:
                led.loc[i, ["paid_on", "payment_reference"]] = [FEB10, f"FIN-{i}"]
        for i in staff["export"]:
            if i < len(led):
                led.loc[i, "export_batch"] = "B1"
        ledger = accrue(attendance, claim_rows, ledger=led, people_df=p).ledger
        # append-only: every line written before is still there, amount unchanged
        before = dict(zip(a.ledger["line_key"], a.ledger["amount"], strict=True))
        after = dict(zip(ledger["line_key"], ledger["amount"], strict=True))
        assert all(after[k] == v for k, v in before.items())
        assert len(set(ledger["line_key"])) == len(ledger)
        s = R.build_statement(ledger, "p03", CAMP, POLICY, "payment")
        line_pence = sum(int(x * 100) for x in ledger["amount"])
        assert s.total_pence == line_pence
        assert R.pence(s.paid + s.approved + s.waiting) == line_pence
        # and exactly one live version of each thing that should be paid for now
        again = accrue(attendance, claim_rows, ledger=ledger, people_df=p)
        assert not again.added
