"""The expense claim form: link sent once, answered (test client and a real browser),
collected into 'Expense claims' by key once, bad answers explained on 'Needs attention'."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from automations.context import Context
from automations.forms.base import FormSpec, Response, ScaleItem
from automations.forms.local import AppInfo, create_app, start_server_thread
from automations.jobs import expense_forms as J
from automations.jobs import rewards as RJ
from automations.transforms import expense_forms as ef
from tests.forms_support import client, fill, path_of, provider
from tests.remind_support import by_key, no_personal_data, outbox, text_of

CHROMIUM = "/usr/bin/chromium"
TRAVEL, MILEAGE, CARER = "0", "1", "2"  # the policy's order: travel, mileage, carer, ...
SHORTLISTING, INTERVIEW_DAY = "0", "3"  # rates: shortlisting, question shaping, prep, interview
HAVE, WILL_SEND = "1", "2"


@pytest.fixture
def cctx(ctx: Context) -> Context:
    ctx.clock = lambda: dt.datetime(2027, 2, 12, 9, 0)
    return ctx


def spec_of(ctx: Context, pid: str) -> FormSpec:
    return J.specs(ctx, [pid])[0]


def answers(*expenses: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(choices, texts) for the fill helper: expense n from the n-th dict, the rest blank."""
    choices: dict[str, str] = {}
    texts: dict[str, str] = {}
    for n in range(1, ef.SLOTS + 1):
        e = expenses[n - 1] if n <= len(expenses) else {}
        for name in ("kind", "activity", "receipt"):
            choices[ef.choice_id(name, n)] = e.get(name, "")
        for name in ("date", "amount", "miles", "note"):
            if e.get(name):
                texts[ef.text_id(name, n)] = e[name]
    return choices, texts


def claims(ctx: Context) -> dict[str, dict]:  # type: ignore[type-arg]
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("expense_claims")
    return {r["claim_id"]: r for r in df.to_dict("records")}


# ----------------------------------------------------------------- pure parts


def test_the_form_asks_plainly_and_holds_no_personal_data(cctx: Context) -> None:
    s = spec_of(cctx, "p03")
    assert s.kind == "answers" and s.key == "peer-support-2027.expenses.p03"
    assert len(s.sections) == ef.SLOTS
    first = s.sections[0]
    kinds = next(i for i in first.items if i.item_id == ef.choice_id("kind", 1))
    assert isinstance(kinds, ScaleItem)
    assert [p.label for p in kinds.points] == [
        e.description for e in cctx.settings.org.rewards.expenses
    ]
    receipt = next(i for i in first.items if i.item_id == ef.choice_id("receipt", 1))
    assert isinstance(receipt, ScaleItem)
    assert [p.label for p in receipt.points] == ["I have a receipt", "I will send it", "No receipt"]
    assert "You do not need to upload anything" in s.intro
    assert not any(i.required for i in s.items())  # every expense is optional
    assert no_personal_data(repr(s)) == [] and "@" not in repr(s)


def test_answers_become_claims_in_decimal_and_bad_ones_become_plain_reasons(
    cctx: Context,
) -> None:
    at = dt.datetime(2027, 2, 10, 18, 0, tzinfo=dt.UTC)
    ch, tx = answers(
        {"kind": TRAVEL, "activity": INTERVIEW_DAY, "date": "8/2/2027", "amount": "£4.5",
         "receipt": WILL_SEND, "note": "=bus both ways"},
        {"kind": MILEAGE, "activity": INTERVIEW_DAY, "date": "9 February 2027", "miles": "22",
         "receipt": "0"},
        {"kind": CARER, "activity": INTERVIEW_DAY, "date": "31/2/2027",
         "amount": "SECRET-TYPED -3"},
    )  # fmt: skip
    r = Response("R1", "k", "p03", {**ch, **tx}, at, "local form")
    got = ef.claims_from_responses([r], cctx.settings.org.rewards, dt.date(2027, 2, 12))
    one, two = got.rows
    assert one["claim_id"] == "F-p03-1" and one["kind"] == "travel"
    assert one["activity"] == "interview day" and one["date"] == dt.date(2027, 2, 8)
    assert one["amount"] == D("4.50") and isinstance(one["amount"], D)
    assert one["receipt_reference"] == ""  # will send it: staff add the reference on arrival
    assert one["note"].endswith("Receipt: I will send it. =bus both ways")
    assert two["kind"] == "mileage" and two["miles"] == D("22") and two["amount"] is None
    assert not any(isinstance(v, float) for row in got.rows for v in row.values())
    reasons = {i.source.rsplit("'", 2)[-2]: i.reason for i in got.issues}
    assert set(reasons) == {"date", "amount"}
    assert "the date could not be read" in reasons["date"]
    assert "could not be read (use pounds and pence, like 12.50)" in reasons["amount"]
    for i in got.issues:
        assert "expense 3" in i.source and "p03" in i.source and "R1" in i.source
        assert "SECRET" not in i.reason + i.source  # never what was typed
    # an empty expense is not a claim; a later form that clears one withdraws it
    ch2, tx2 = answers({"kind": TRAVEL, "activity": INTERVIEW_DAY, "date": "2027-02-08",
                        "amount": "5"})  # fmt: skip
    later = Response("R2", "k", "p03", {**ch2, **tx2}, at + dt.timedelta(hours=1), "local form")
    got2 = ef.claims_from_responses([r, later], cctx.settings.org.rewards, dt.date(2027, 2, 12))
    assert [x["amount"] for x in got2.rows] == [D("5.00")]
    assert got2.withdrawn == ["F-p03-2", "F-p03-3"] and got2.issues == []


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ({"amount": "0"}, "more than £0.00"),
        ({"amount": "-4"}, "more than £0.00"),
        ({"amount": "4.505"}, "pounds and pence"),
        ({"amount": "£12,50"}, "a comma can only separate thousands"),
        ({"amount": "12,5"}, "a comma can only separate thousands"),
        ({"amount": "1e3"}, "without an 'e'"),
        ({"amount": "sNaN"}, "this is not an amount"),
        ({"amount": "-Infinity"}, "this is not an amount"),
        ({"kind": MILEAGE, "amount": "", "miles": "1e3"}, "without an 'e'"),
        ({"kind": MILEAGE, "amount": "", "miles": "12,5"}, "a comma can only separate"),
        ({"amount": ""}, "amount is missing"),
        ({"date": "13/2/2027"}, "in the future"),
        ({"date": ""}, "date is missing"),
        ({"kind": ""}, "what the expense was for"),
        ({"activity": ""}, "which activity"),
        ({"kind": MILEAGE, "amount": "", "miles": ""}, "needs the number of miles"),
        ({"kind": MILEAGE, "amount": "", "miles": "lots"}, "miles could not be read"),
    ],
)
def test_each_bad_answer_has_a_clear_reason(cctx: Context, typed: dict, why: str) -> None:  # type: ignore[type-arg]
    e = {"kind": TRAVEL, "activity": INTERVIEW_DAY, "date": "8/2/2027", "amount": "4.50"}
    ch, tx = answers(e | typed)
    r = Response(
        "R9", "k", "p05", {**ch, **tx}, dt.datetime(2027, 2, 10, tzinfo=dt.UTC), "local form"
    )
    got = ef.claims_from_responses([r], cctx.settings.org.rewards, dt.date(2027, 2, 12))
    assert got.rows == []
    assert len(got.issues) == 1 and why in got.issues[0].reason
    for v in typed.values():
        if len(v) > 2:  # never what was typed
            assert v not in got.issues[0].reason + got.issues[0].source


# ------------------------------------------------------- end to end (test client)


def test_link_sent_once_claims_collected_once_and_paid_through_the_ledger(cctx: Context) -> None:
    res = J.send_links(cctx)
    assert sorted(res.links) == ["p03", "p05", "p06", "p07"]
    msgs = by_key(outbox(cctx))
    assert res.messages_sent == 3  # p06 prefers a phone call: a letter for staff instead
    m = msgs["expense-form|p03|peer-support-2027|expenses"]
    assert res.links["p03"] in text_of(m)
    assert "You do not need to upload anything" in text_of(m)
    easy = text_of(msgs["expense-form|p05|peer-support-2027|expenses"])  # p05: easy read
    assert "We will pay you back." in easy
    again = J.send_links(cctx)
    assert again.messages_sent == 0 and again.links == res.links and len(outbox(cctx)) == 3
    assert J.collect(cctx).detail.startswith("0 form(s) seen")

    c = client(cctx)
    spec = spec_of(cctx, "p03")
    ch, tx = answers(
        {"kind": TRAVEL, "activity": INTERVIEW_DAY, "date": "8/2/2027", "amount": "3.80",
         "receipt": HAVE},
        {"kind": MILEAGE, "activity": SHORTLISTING, "date": "20/1/2027", "miles": "20"},
        {"kind": CARER, "activity": INTERVIEW_DAY, "date": "8/2/2027", "amount": "lots"},
    )  # fmt: skip
    fill(c, spec, path_of(res.links["p03"]), score=ch, comments=tx)
    got = J.collect(cctx)
    assert "2 claim(s) new or changed" in got.detail
    assert any("1 expense(s) on claim forms could not be read (p03)" in a for a in got.attention)
    rows = claims(cctx)
    assert {"F-p03-1", "F-p03-2"} <= set(rows) and "F-p03-3" not in rows
    assert rows["F-p03-1"]["amount"] == D("3.80") and rows["F-p03-1"]["kind"] == "travel"
    assert rows["F-p03-2"]["miles"] == D("20")
    exc = cctx.stores.staff.read_one("exceptions")
    mine = exc[exc["job"] == "expense forms"]
    assert len(mine) == 1 and "answer 'amount'" in mine.iloc[0]["source"]
    assert no_personal_data(" ".join(mine["reason"]) + " ".join(mine["source"])) == []

    # Again: nothing new, nothing written twice.
    again_c = J.collect(cctx)
    assert "0 claim(s) new or changed" in again_c.detail and again_c.rows_written == 0
    assert len(claims(cctx)) == len(rows)

    # The ledger pays them: travel with a receipt at cost, mileage 20 x £0.45.
    RJ.accrue_job(cctx)
    led = cctx.stores.staff.read_one(RJ.LEDGER).set_index("line_key")
    c_id = "peer-support-2027"
    assert led.loc[f"p03|{c_id}|interview day|2027-02-08|travel#F-p03-1", "amount"] == D("3.80")
    assert led.loc[f"p03|{c_id}|shortlisting|2027-01-20|mileage#F-p03-2", "amount"] == D("9.00")

    # Staff add a receipt reference; the person then corrects the fare and drops the mileage.
    staff = cctx.stores.staff
    df = staff.read_one("expense_claims")
    df.loc[df["claim_id"] == "F-p03-1", "receipt_reference"] = "RCPT-7"
    staff.write({"expense_claims": df})
    ch, tx = answers(
        {"kind": TRAVEL, "activity": INTERVIEW_DAY, "date": "8/2/2027", "amount": "4.20",
         "receipt": WILL_SEND},
    )  # fmt: skip
    fill(c, spec, path_of(res.links["p03"]), score=ch, comments=tx, nonce="second")
    J.collect(cctx)
    rows = claims(cctx)
    assert rows["F-p03-1"]["amount"] == D("4.20")
    assert rows["F-p03-1"]["receipt_reference"] == "RCPT-7"  # staff's typing is kept
    assert "F-p03-2" not in rows  # withdrawn by the person
    RJ.accrue_job(cctx)
    led = cctx.stores.staff.read_one(RJ.LEDGER)
    p03 = led[led["line_key"].str.contains("F-p03-1")]
    assert sum(p03["amount"], D(0)) == D("4.20")  # the old line reversed, the new one added
    p03m = led[led["line_key"].str.contains("F-p03-2")]
    assert sum(p03m["amount"], D(0)) == D("0.00")


def test_the_nightly_rewards_run_collects_the_forms_first(cctx: Context) -> None:
    from automations.runner import job_function

    res = J.send_links(cctx)
    ch, tx = answers({"kind": MILEAGE, "activity": INTERVIEW_DAY, "date": "8/2/2027",
                      "miles": "10"})  # fmt: skip
    fill(client(cctx), spec_of(cctx, "p07"), path_of(res.links["p07"]), score=ch, comments=tx)
    out = job_function("rewards")(cctx)
    assert out.detail.startswith("expense forms: 1 form(s) seen; 1 claim(s) new or changed.")
    led = cctx.stores.staff.read_one(RJ.LEDGER)
    assert any(k.endswith("mileage#F-p07-1") for k in led["line_key"])


def test_cli_sends_and_collects(cctx: Context, config_dir: Path) -> None:
    from click.testing import CliRunner

    from automations.cli import main

    run = CliRunner()
    dry = run.invoke(main, ["--config", str(config_dir), "rewards", "claims", "send", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "expense-form -> p03" in dry.output and outbox(cctx) == []
    got = run.invoke(main, ["--config", str(config_dir), "rewards", "claims", "collect"])
    assert got.exit_code == 0 and "no expense forms sent yet" in got.output


# ------------------------------------------------------------- a real browser


@pytest.fixture
def server(cctx: Context) -> Iterator[str]:
    p = provider(cctx)
    app = create_app(p.inbox, p.signer, info=AppInfo("Example Council", "the team"), now=p.now)
    srv = start_server_thread(app)
    try:
        yield srv.url
    finally:
        srv.stop()


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="no chromium")
def test_an_expense_claimed_in_a_real_browser(cctx: Context, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    res = J.send_links(cctx)
    url = server + path_of(res.links["p05"])
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = b.new_page(viewport={"width": 390, "height": 800})
        page.goto(url)
        assert "upload" in page.content()
        page.click("text=Start")
        assert page.locator("h1").inner_text() == "Your expense"
        page.get_by_role("group", name="What did you pay for?").get_by_label(
            "Bus, train or taxi fares, at cost, with a receipt", exact=True
        ).check()
        page.get_by_role("group", name="What was it for?").get_by_label(
            "Interview day", exact=True
        ).check()
        page.get_by_label("What date was it? For example 8/2/2027").fill("8/2/2027")
        page.get_by_label("How much did it cost, in pounds? For example 4.50").fill("6.40")
        page.get_by_role("group", name="Do you have a receipt?").get_by_label(
            "I will send it", exact=True
        ).check()
        page.get_by_label("Anything else we should know? (optional)").fill("Two buses")
        for _ in range(ef.SLOTS):  # the other expenses are left empty
            with page.expect_navigation():
                page.click("button[value=next]")
        assert page.locator("h1").inner_text() == "Check your answers"
        assert "6.40" in page.content() and "I will send it" in page.content()
        with page.expect_navigation():
            page.click("text=Send my answers")
        # p05 asked for easy read: the pages use its words
        assert page.locator("h1").inner_text() == "Thank you. Your answers are saved."
        page.screenshot(path=str(tmp_path / "expense-done.png"))
        b.close()
    J.collect(cctx)
    row = claims(cctx)["F-p05-1"]
    assert row["kind"] == "travel" and row["amount"] == D("6.40")
    assert row["date"] == dt.date(2027, 2, 8) and row["activity"] == "interview day"
    assert row["note"].endswith("Receipt: I will send it. Two buses")


def test_a_reminder_rule_sends_the_claim_form_once_when_due(cctx: Context) -> None:
    from automations.config.models import ReminderRule
    from automations.pipelines import remind_job

    cctx.campaign.reminders.append(
        ReminderRule(
            id="expense-form",
            template="rewards/claim_form",
            audience="pwle",
            event="interview day",
            days_before=3,
        )
    )

    def form_mails() -> list[str]:
        return sorted(k for k in by_key(outbox(cctx)) if k.startswith("expense-form|"))

    cctx.clock = lambda: dt.datetime(2027, 2, 4, 9, 0)  # interview day 1 is 8 February
    remind_job(cctx)
    assert form_mails() == []
    cctx.clock = lambda: dt.datetime(2027, 2, 5, 9, 0)
    dry = remind_job(cctx, dry_run=True)
    assert "expense-form -> p03" in dry.planned and form_mails() == []
    res = remind_job(cctx)
    assert "expense forms: 4 expense form(s) ready, 3 link(s) sent" in res.detail
    want = [f"expense-form|{p}|peer-support-2027|expenses" for p in ("p03", "p05", "p07")]
    assert form_mails() == want
    for day in (6, 9, 20):
        cctx.clock = lambda day=day: dt.datetime(2027, 2, day, 9, 0)
        remind_job(cctx)
    assert len(form_mails()) == 3  # once each, however often the reminders run
