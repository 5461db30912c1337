"""Form links only this computer can open are never emailed, by any job that sends one.

Mail really goes out (a real SMTP server on loopback) while ``forms.public_url`` is
empty: the co-production forms, the expense claim form (``rewards claims send`` and its
reminder rule) and the shortlisting-opens reminder write or keep their links as always,
email nothing, log nothing and say why under 'Please look'. Once the address is set,
each link goes out exactly once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from automations.cli import main
from automations.config import load_settings
from automations.config.models import ReminderRule
from automations.context import Context, make_context
from automations.coprod_forms import push_forms
from automations.jobs.expense_forms import send_links
from automations.pipelines import remind_job
from tests.remind_support import form_links, sent_log
from tests.test_mail_smtp import Inbox, certs, server, smtp_ctx  # noqa: F401  (fixtures)

NOTE = "No form links were emailed: forms.public_url is empty"


def linked(ctx: Context, stage: str) -> dict[str, str]:
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    return {r["person_id"]: r["url"] for r in df.to_dict("records") if r["stage"] == stage}


def logged(ctx: Context, rule: str) -> list[str]:
    return [k for k in sent_log(ctx)["message_key"] if str(k).startswith(f"{rule}|")]


def mailed(inbox: Inbox, rule: str) -> list[str]:
    """The keys of the emails the SMTP server received for ``rule``."""
    return [k for k in inbox.keys() if k.startswith(f"{rule}|")]  # noqa: SIM118


def fixed(ctx: Context, config_dir: Path) -> Context:
    """The same campaign once forms.public_url is the https:// address people use."""
    org = config_dir / "organisation.toml"
    text = org.read_text()
    assert 'public_url = ""' in text
    org.write_text(text.replace('public_url = ""', 'public_url = "https://forms.example.org"'))
    return make_context(load_settings(config_dir), clock=ctx.clock)


def test_coproduction_form_links_wait_for_an_address_people_can_open(
    server: tuple[Inbox, int, str],  # noqa: F811
    config_dir: Path,
) -> None:
    inbox, port, _ = server
    ctx = smtp_ctx(config_dir, port, "none")
    res = push_forms(ctx, "interest")
    links = linked(ctx, "interest")
    assert links and set(links) == set(res.links)  # written as always
    assert all(u.startswith("http://127.0.0.1:") for u in links.values())
    assert inbox.received == [] and logged(ctx, "interest-form") == []
    assert res.messages_sent == 0 and any(a.startswith(NOTE) for a in res.attention)
    assert push_forms(ctx, "interest").messages_sent == 0 and inbox.received == []

    ok = fixed(ctx, config_dir)
    sent = push_forms(ok, "interest")
    assert len(sent.planned) == len(links) and not [a for a in sent.attention if NOTE in a]
    assert sent.messages_sent == 3  # p06 is contacted another way
    assert all(u.startswith("https://forms.example.org/") for u in linked(ok, "interest").values())
    assert push_forms(ok, "interest").messages_sent == 0  # each link once
    assert len(inbox.keys()) == len(set(inbox.keys())) == 3


def test_expense_form_links_wait_from_the_command_and_the_reminder_rule(
    server: tuple[Inbox, int, str],  # noqa: F811
    config_dir: Path,
) -> None:
    inbox, port, _ = server
    ctx = smtp_ctx(config_dir, port, "none")
    ctx.clock = lambda: dt.datetime(2027, 2, 12, 9, 0)
    r = CliRunner().invoke(main, ["--config", str(config_dir), "rewards", "claims", "send"])
    assert r.exit_code == 0, r.output
    assert f"Please look at: {NOTE}" in r.output and "no links emailed" in r.output
    ctx.campaign.reminders.append(
        ReminderRule(
            id="expense-form",
            template="rewards/claim_form",
            audience="pwle",
            event="interview day",
            days_before=3,
        )
    )
    res = remind_job(ctx)
    assert any(a.startswith(NOTE) for a in res.attention)
    assert len(linked(ctx, "expenses")) == 4  # written as always
    assert logged(ctx, "expense-form") == []
    assert not mailed(inbox, "expense-form")

    ok = fixed(ctx, config_dir)
    ok.campaign.reminders.append(ctx.campaign.reminders[-1])
    assert send_links(ok).messages_sent == 3  # p03, p05, p07 (one is contacted another way)
    remind_job(ok)  # the rule is due too: it sends nothing a second time
    assert len(mailed(inbox, "expense-form")) == 3


def test_the_shortlisting_opens_reminder_waits_for_links_people_can_open(
    server: tuple[Inbox, int, str],  # noqa: F811
    config_dir: Path,
) -> None:
    inbox, port, _ = server
    ctx = smtp_ctx(config_dir, port, "none")
    form_links(ctx)  # links the form server made while public_url was empty
    ctx.clock = lambda: dt.datetime(2027, 1, 11, 9)  # shortlisting opens
    dry = remind_job(ctx, dry_run=True)
    opens = [p for p in dry.planned if p.startswith("shortlisting-opens")]
    assert opens and all("staff to contact" in p for p in opens)  # only p06's letter
    res = remind_job(ctx)
    assert any(a.startswith(NOTE) and "with a link wait" in a for a in res.attention)
    assert not mailed(inbox, "shortlisting-opens")
    emailed = [k for k in logged(ctx, "shortlisting-opens") if "|p06|" not in k]
    assert emailed == []
    remind_job(ctx)
    assert [k for k in logged(ctx, "shortlisting-opens") if "|p06|" not in k] == []

    ok = fixed(ctx, config_dir)
    staff = ok.stores.staff
    df = staff.read_one("form_links", refresh=True)
    df["url"] = df["url"].str.replace("http://127.0.0.1:8765", "https://forms.example.org")
    staff.write({"form_links": df})  # as 'forms push' renews them
    assert remind_job(ok).messages_sent >= 5
    remind_job(ok)
    keys = mailed(inbox, "shortlisting-opens")
    assert len(keys) == len(set(keys)) == 5  # p01 p02 p03 p05 p07, once each
    for _, m in inbox.received:
        if str(m["X-Corecruit-Key"]).startswith("shortlisting-opens|"):
            assert "https://forms.example.org/f/shortlisting/" in str(m.get_body(("plain",)))
