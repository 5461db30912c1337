"""The reward statement after the campaign: a reminder rule, sent once, over a moving clock.

The example campaign's rule 'reward-statement' is due 7 days after the campaign's last
activity (decision meeting, Wednesday 10 February 2027): Wednesday 17 February.
"""

from __future__ import annotations

import datetime as dt
import email
from decimal import Decimal as D
from email import policy as email_policy

import pytest

from automations.context import Context
from automations.jobs import rewards as J
from automations.pipelines import remind_job
from tests.test_rewards_jobs import ATTENDANCE, CLAIMS, approve, put

RULE = "reward-statement"


@pytest.fixture
def rctx(ctx: Context) -> Context:
    put(ctx, "attendance", ATTENDANCE)
    put(ctx, "expense_claims", CLAIMS)
    J.accrue_job(ctx)
    return ctx


def on(ctx: Context, day: int, month: int = 2) -> None:
    ctx.clock = lambda: dt.datetime(2027, month, day, 9, 0)


def statements(ctx: Context) -> dict[str, list[str]]:
    """Recipient email -> subjects of the reward statements in the outbox, oldest first."""
    folder = ctx.settings.path(ctx.settings.org.mail.outbox)
    out: dict[str, list[str]] = {}
    for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        msg = email.message_from_bytes(p.read_bytes(), policy=email_policy.default)
        if str(msg["Message-ID"]).startswith(f"<{RULE}."):
            to = str(msg["To"]).split("<")[-1].rstrip(">")
            out.setdefault(to, []).append(str(msg["Subject"]))
    return out


def log_rows(ctx: Context) -> dict[str, str]:
    sent = ctx.stores.staff.read_one(J.SENT)
    mine = sent[sent["rule"] == RULE]
    return {str(r["person_id"]): str(r["status"]) for _, r in mine.iterrows()}


GRACE, MAREK, SAM = "grace.okafor@example.net", "marek.nowak@example.net", "sam.adeyemi@example.net"


def test_statement_goes_once_after_the_campaign_and_again_only_when_lines_change(
    rctx: Context,
) -> None:
    for day in (1, 10, 16):  # before the rule is due: nothing
        on(rctx, day)
        remind_job(rctx)
    assert statements(rctx) == {} and log_rows(rctx) == {}

    on(rctx, 16)
    dry = remind_job(rctx, dry_run=True)
    assert not [x for x in dry.planned if x.startswith(RULE)]

    on(rctx, 17)  # due today
    dry = remind_job(rctx, dry_run=True)
    assert sorted(x.split(" -> ")[1].split(",")[0] for x in dry.planned if x.startswith(RULE)) == [
        "p03",
        "p05",
        "p06",
        "p07",
    ]
    assert statements(rctx) == {}  # a dry run sends nothing
    res = remind_job(rctx)
    got = statements(rctx)
    assert set(got) == {GRACE, MAREK, SAM}
    assert all(len(v) == 1 for v in got.values())
    assert got[MAREK] == ["Your money for helping us find a new Peer Support Worker"]
    assert log_rows(rctx) == {
        "p03": "sent",
        "p05": "sent",
        "p06": "contact another way",  # no email: listed for staff, with a letter saved
        "p07": "sent",
    }
    assert any(a.startswith("p06 has no email address") for a in res.attention)
    folder = rctx.settings.path(rctx.settings.org.mail.outbox)
    everything = len(list(folder.glob("*.eml")))
    assert everything > 3  # the day's other reminders went out too, in the same run
    remind_job(rctx)  # the same day again: nothing at all is sent twice
    assert len(list(folder.glob("*.eml"))) == everything

    for day in (18, 19, 25):  # every later run: nothing again
        on(rctx, day)
        remind_job(rctx)
    assert {k: len(v) for k, v in statements(rctx).items()} == {GRACE: 1, MAREK: 1, SAM: 1}

    approve(rctx)  # lines move from owed to approved: the same lines, no new statement
    J.accrue_job(rctx)
    on(rctx, 26)
    remind_job(rctx)
    assert {k: len(v) for k, v in statements(rctx).items()} == {GRACE: 1, MAREK: 1, SAM: 1}

    # Staff confirm Grace's hour at the decision meeting: her lines change, so she (only)
    # gets a corrected statement, once.
    rows = [dict(r) for r in ATTENDANCE]
    rows[-1]["confirmed_by"] = "Priya"
    put(rctx, "attendance", rows)
    J.accrue_job(rctx)
    for day in (27, 28):
        on(rctx, day)
        remind_job(rctx)
    assert {k: len(v) for k, v in statements(rctx).items()} == {GRACE: 2, MAREK: 1, SAM: 1}
    sent = rctx.stores.staff.read_one(J.SENT)
    mine = sent[(sent["rule"] == RULE) & (sent["person_id"] == "p03")]
    assert len(mine) == 2 and set(mine["status"]) == {"sent"}
    last = rctx.stores.staff.read_one(J.LEDGER)
    p03 = last[last["person_id"] == "p03"]
    assert sum(p03["amount"], D(0)) == D("269.00")  # 254.00 + 15.00 for the hour


def test_a_statement_already_sent_by_hand_is_not_sent_again(rctx: Context) -> None:
    on(rctx, 12)
    J.statement(rctx, all_people=True)  # staff sent them by hand before the rule was due
    by_hand = {k: len(v) for k, v in _all_statements(rctx).items()}
    assert by_hand == {GRACE: 1, MAREK: 1, SAM: 1}
    on(rctx, 17)
    res = remind_job(rctx)
    assert {k: len(v) for k, v in _all_statements(rctx).items()} == by_hand
    assert log_rows(rctx) == {
        "p03": "sent",
        "p05": "sent",
        "p06": "contact another way",
        "p07": "sent",
    }
    assert not any("reward" in a and "could not" in a for a in res.attention)


def _all_statements(ctx: Context) -> dict[str, list[str]]:
    folder = ctx.settings.path(ctx.settings.org.mail.outbox)
    out: dict[str, list[str]] = {}
    for p in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email_policy.default)
        mid = str(msg["Message-ID"])
        if mid.startswith((f"<{RULE}.", f"<{J.RULE_STATEMENT}.")):
            out.setdefault(str(msg["To"]).split("<")[-1].rstrip(">"), []).append(mid)
    return out


def test_no_rule_no_statements(rctx: Context) -> None:
    rctx.campaign.reminders[:] = [r for r in rctx.campaign.reminders if r.id != RULE]
    on(rctx, 20)
    remind_job(rctx)
    assert statements(rctx) == {} and J.statements_due(rctx) is None


def test_staff_sending_by_hand_after_the_rule_does_not_repeat_it(rctx: Context) -> None:
    on(rctx, 17)
    remind_job(rctx)
    before = {k: len(v) for k, v in _all_statements(rctx).items()}
    assert before == {GRACE: 1, MAREK: 1, SAM: 1}
    res = J.statement(rctx, all_people=True)  # the same statements: nothing new
    assert res.messages_sent == 0 and "already sent before" in res.detail
    assert {k: len(v) for k, v in _all_statements(rctx).items()} == before
    approve(rctx)  # now something on them changed (approved): staff may send it by hand
    J.accrue_job(rctx)
    assert J.statement(rctx, "p03").messages_sent == 1
