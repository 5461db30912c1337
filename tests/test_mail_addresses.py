"""Every address is exactly one mailbox: in 'check', in the mail seam, in rewards' sends.

One bad cell (two addresses, a line break, a display name) puts that person on the
list to contact another way; everyone else still gets their own link, through a real
SMTP server on loopback.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path

import pytest

from automations.context import Context
from automations.jobs import rewards as J
from automations.jobs.forms import push_job
from automations.mail.delivery import recipients_problem
from automations.store import make_frame
from automations.transforms.addresses import mailbox_problem, one_mailbox
from automations.workspace import check_campaign
from tests.forms_support import links, seed_candidates
from tests.remind_support import no_personal_data, outbox, sent_log, set_cell, text_of
from tests.test_mail_smtp import Inbox, certs, server, smtp_ctx  # noqa: F401  (fixtures)

FEB8 = dt.date(2027, 2, 8)
GOOD = ["a@example.org", "o'brien@example.co.uk", "first.last+tag@mail.example.net", "A@B.CD"]
BAD = [
    "a@zzq.org, b@zzq.org",
    "a@zzq.org;b@zzq.org",
    "a@zzq.org\r\nBcc: b@zzq.org",
    "a@zzq.org\nb@zzq.org",
    "Tom <a@zzq.org>",
    '"a,b"@zzq.org',
    "a@@zzq.org",
    "a@zzq",
    "@zzq.org",
    "a@zzq.org.",
    "a@exa mple.org",
    "a..b@zzq.org",
    "a@[192.0.2.1]",
    "a@zzq.org (Tom)",
    "zoë@zzq.org",
    "a@exam_ple.org",
    "a@zzq.org\x00",
]


@pytest.mark.parametrize("value", GOOD)
def test_one_plain_mailbox_is_accepted(value: str) -> None:
    assert mailbox_problem(value) is None
    assert one_mailbox(f"  {value} ") == (value, None)


@pytest.mark.parametrize("value", BAD)
def test_anything_but_one_mailbox_is_refused_without_repeating_it(value: str) -> None:
    why = mailbox_problem(value)
    assert why and "zzq" not in why and value not in why


def test_empty_is_no_address_not_a_bad_one() -> None:
    assert one_mailbox("") == ("", None) and one_mailbox(None) == ("", None)


def test_check_names_every_bad_address_cell_never_its_value(ctx: Context) -> None:
    set_cell(ctx, "people", {"person_id": "p02"}, email=BAD[0])
    set_cell(ctx, "people", {"person_id": "p05"}, copy_to=BAD[2])
    set_cell(ctx, "applications", {"application_id": "0003"}, email=BAD[4])
    ctx.stores.staff.forget()
    found = [p for p in check_campaign(ctx) if "email address" in p.message]
    assert {(p.tab, p.row, p.column, p.severity) for p in found} == {
        ("people", 3, "email", "error"),
        ("people", 6, "copy_to", "error"),
        ("applications", 4, "email", "error"),
    }
    for p in found:
        assert no_personal_data(str(p)) == [] and "example" not in str(p)
        assert "contact another way" in p.message


def test_the_mail_seam_refuses_a_message_to_more_than_one_mailbox() -> None:
    def msg(to: str, cc: str = "") -> EmailMessage:
        m = EmailMessage()
        m["To"] = to
        if cc:
            m["Cc"] = cc
        return m

    assert recipients_problem(msg("Grace <a@example.org>", "b@example.org")) is None
    assert recipients_problem(msg("a@example.org, b@example.org"))
    assert recipients_problem(msg("a@example.org", "b@example.org, c@example.org"))
    assert recipients_problem(msg("undisclosed: a@example.org, b@example.org;"))
    assert recipients_problem(EmailMessage())


def test_one_bad_address_goes_to_staff_and_everyone_else_gets_their_own_link(
    server: tuple[Inbox, int, str],  # noqa: F811
    config_dir: Path,
) -> None:
    inbox, port, _ = server
    org = config_dir / "organisation.toml"  # links people can open: mail really goes out
    org.write_text(
        org.read_text().replace('public_url = ""', 'public_url = "https://forms.example.org"')
    )
    ctx = smtp_ctx(config_dir, port, "none")
    ctx.clock = lambda: dt.datetime(2027, 1, 25, 9)  # shortlisting is open: links go out
    # p02's cell holds two addresses (one of them someone else's); p03's has a line break
    set_cell(ctx, "people", {"person_id": "p02"}, email="tom@example.org, sam.adeyemi@example.net")
    set_cell(ctx, "people", {"person_id": "p03"}, email="grace.okafor@example.net\r\nBcc: x@y.org")
    seed_candidates(ctx)
    res = push_job(ctx)
    got = links(ctx)
    assert res.messages_sent == 3
    by_rcpt: dict[str, list[str]] = {}
    for rcpts, m in inbox.received:
        for r in rcpts:
            by_rcpt.setdefault(r, []).append(text_of(m))
    assert set(by_rcpt) == {
        "aisha.rahman@example.org",
        "marek.nowak@example.net",
        "support.worker@example.net",  # Marek's copy
        "sam.adeyemi@example.net",
    }
    owner = {
        "aisha.rahman@example.org": "p01",
        "marek.nowak@example.net": "p05",
        "support.worker@example.net": "p05",
        "sam.adeyemi@example.net": "p07",
    }
    for rcpt, bodies in by_rcpt.items():
        assert len(bodies) == 1  # exactly one email each
        mine = got[(owner[rcpt], "shortlisting")]
        assert mine in bodies[0]
        assert not [u for k, u in got.items() if u != mine and u in bodies[0]]
    status = {
        k.split("|")[1]: s
        for k, s in zip(sent_log(ctx)["message_key"], sent_log(ctx)["status"], strict=True)
    }
    assert status == {
        "p01": "sent",
        "p02": "contact another way",
        "p03": "contact another way",
        "p05": "sent",
        "p06": "contact another way",
        "p07": "sent",
    }
    said = " ".join(res.attention)
    assert "Please contact p02" in said and "Please contact p03" in said
    assert "email address that cannot be used" in said
    assert no_personal_data(said.replace(str(config_dir), "")) == []
    letters = ctx.settings.workspace / ctx.campaign.id / "letters"
    assert len(list(letters.glob("*p02*.txt"))) == len(list(letters.glob("*p03*.txt"))) == 1
    # run again: nothing is sent twice, nobody new gets anything
    assert push_job(ctx).messages_sent == 0 and len(inbox.received) == 3


def test_rewards_send_nothing_to_a_bad_address_and_list_the_person(ctx: Context) -> None:
    staff = ctx.stores.staff
    staff.read(["attendance"])
    rows = [
        {"person_id": p, "activity": "interview day", "date": FEB8, "confirmed_by": "Priya"}
        for p in ("p03", "p05", "p07")
    ]
    staff.write({"attendance": make_frame(staff.tab("attendance"), rows)})
    set_cell(ctx, "people", {"person_id": "p05"}, copy_to="a@example.org, b@example.org")
    set_cell(ctx, "people", {"person_id": "p07"}, email="Sam <sam.adeyemi@example.net>")
    J.accrue_job(ctx)
    res = J.statement(ctx, all_people=True)
    assert res.messages_sent == 1
    (m,) = outbox(ctx)
    assert m["To"].addresses[0].addr_spec == "grace.okafor@example.net" and m["Cc"] is None
    sent = staff.read_one(J.SENT).set_index("person_id")["status"].to_dict()
    assert sent == {"p03": "sent", "p05": "contact another way", "p07": "contact another way"}
    said = " ".join(res.attention)
    assert "p05 has an email or 'Copy to' address that cannot be used" in said
    assert "p07 has an email or 'Copy to' address that cannot be used" in said
    assert no_personal_data(said.replace(str(ctx.settings.workspace), "")) == []


def test_deliver_turns_a_message_to_two_mailboxes_into_a_letter(ctx: Context) -> None:
    """The seam's own guard: even a message built elsewhere never goes to two people."""
    from automations.mail import OutboxTransport
    from automations.mail.delivery import Journal, Outgoing, deliver

    def out(pid: str, to: str) -> Outgoing:
        m = EmailMessage()
        m["Subject"], m["To"], m["Message-ID"] = "Your link", to, f"<{pid}.t@example.org>"
        m.set_content(f"Your own link, {pid}.")
        m.add_alternative(f"<p>Your own link, {pid}.</p>", subtype="html")
        return Outgoing(f"t|{pid}", "t", pid, "panel member", "now", 1, "h", m)

    folder = ctx.settings.workspace / "t"
    transport = OutboxTransport(folder / "outbox")
    rep = deliver(
        ctx.stores.staff,
        transport,
        Journal(folder / "journal.jsonl"),
        [out("p01", "a@example.org"), out("p02", "b@example.org, c@example.org")],
        now=dt.datetime(2027, 1, 25, 9),
        letters_dir=folder / "letters",
    )
    assert rep.sent == ["t|p01"] and rep.other_way == ["t|p02"]
    assert len(list((folder / "outbox").glob("*.eml"))) == 1
    assert "Your own link, p02." in (folder / "letters" / "t_p02.txt").read_text()
    assert "cannot be used" in " ".join(rep.attention)
    status = dict(zip(sent_log(ctx)["person_id"], sent_log(ctx)["status"], strict=True))
    assert status == {"p01": "sent", "p02": "contact another way"}
