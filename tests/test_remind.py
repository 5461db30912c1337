"""The reminders job on the outbox: who gets what, exactly once, corrections, crashes."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from remind_support import (
    by_key,
    form_links,
    give_letters,
    html_of,
    ics_of,
    move_event,
    no_personal_data,
    outbox,
    sent_log,
    set_cell,
    set_status,
    text_of,
)

from automations.cli import main
from automations.context import Context
from automations.errors import ConfigError, JobError
from automations.jobs.timetable import timetable_job
from automations.locks import job_lock
from automations.mail import MailError, OutboxTransport
from automations.pipelines import remind_job
from automations.transforms.ics import parse_events

HERE = Path(__file__).resolve().parent
AGREED = dt.datetime(2026, 12, 1, 9)
KEY = "pwle-invitation|{}|peer-support-2027|recruitment agreed"


def run(ctx: Context, when: dt.datetime, **kw: object):  # type: ignore[no-untyped-def]
    ctx.clock = lambda: when
    return remind_job(ctx, **kw)  # type: ignore[arg-type]


def statuses(ctx: Context) -> dict[str, str]:
    log = sent_log(ctx)
    return dict(zip(log["message_key"], log["status"], strict=True))


# ------------------------------------------------------------------ who gets what


def test_pwle_are_invited_when_recruitment_is_agreed(ctx: Context) -> None:
    res = run(ctx, AGREED)
    msgs = by_key(outbox(ctx))
    assert set(msgs) == {KEY.format(p) for p in ("p03", "p05", "p07")}
    assert res.messages_sent == 3
    grace = msgs[KEY.format("p03")]
    text = text_of(grace)
    assert grace["To"] == "grace.okafor@example.net"
    assert "walk alongside people who use our service" in text  # the job summary
    assert "- Shortlisting: £15.00 an hour, for up to 4 hours" in text  # the reward policy
    assert "- Interview day: £100.00 for a full day" in text
    assert "Mileage at 45p a mile, up to £60.00" in text
    assert "be paid, have vouchers, or give your time without payment" in text
    assert "font-size:24px" in html_of(grace)  # Grace asked for large print
    assert grace.get_content_type() == "multipart/alternative"
    assert ics_of(grace) == ""  # nothing to put in a calendar yet
    marek = msgs[KEY.format("p05")]
    assert marek["Cc"] == "support.worker@example.net"  # copy_to
    assert marek["Subject"] == "Help us choose a new Peer Support Worker"  # easy read
    assert "Hello Marek," in text_of(marek)
    assert statuses(ctx)[KEY.format("p06")] == "contact another way"


def test_a_person_without_email_is_listed_for_staff_not_skipped(ctx: Context) -> None:
    res = run(ctx, AGREED)
    notes = [a for a in res.attention if "p06" in a]
    assert len(notes) == 1
    assert "another way (they prefer a phone call)" in notes[0]
    letter = Path(notes[0].rsplit("The message is in ", 1)[1].rstrip("."))
    assert letter.read_text().startswith("Subject: Would you like to help us choose")
    assert "Dear Bernie," in letter.read_text()
    assert no_personal_data(" ".join(res.attention)) == []
    row = sent_log(ctx).set_index("message_key").loc[KEY.format("p06")]
    assert row["status"] == "contact another way" and "phone" in row["note"]
    # and it is listed once, not every day
    again = run(ctx, AGREED + dt.timedelta(days=1))
    assert not [a for a in again.attention if "p06" in a]
    # someone with no address at all is listed too
    set_cell(ctx, "people", {"person_id": "p07"}, email="", preferred_contact="")
    set_cell(
        ctx,
        "people",
        {"person_id": "p09"},
        name="New Person",
        kind="lived experience",
        role="panel member",
    )
    res = run(ctx, AGREED + dt.timedelta(days=2))
    assert any(
        "p09 (panel member) another way (they have no email address)" in a for a in res.attention
    )


def test_running_again_sends_nothing_twice(ctx: Context) -> None:
    run(ctx, AGREED)
    first = len(outbox(ctx))
    for days in (0, 0, 1, 5, 14, 20):
        res = run(ctx, AGREED + dt.timedelta(days=days))
        assert res.messages_sent == 0
    assert len(outbox(ctx)) == first
    assert set(statuses(ctx).values()) == {"sent", "contact another way"}


def test_dry_run_shows_ids_and_roles_and_sends_nothing(ctx: Context, config_dir: Path) -> None:
    ctx.clock = lambda: AGREED
    res = remind_job(ctx, dry_run=True)
    assert res.planned == [
        "pwle-invitation -> p03 (panel member), recruitment agreed, v1, email",
        "pwle-invitation -> p05 (panel member), recruitment agreed, v1, email",
        "pwle-invitation -> p06 (panel member), recruitment agreed, v1, "
        "staff to contact (prefer a phone call)",
        "pwle-invitation -> p07 (panel member), recruitment agreed, v1, email",
    ]
    assert outbox(ctx) == [] and sent_log(ctx).empty
    assert not (ctx.settings.workspace / ctx.campaign.id / "mail-journal.jsonl").exists()
    out = CliRunner().invoke(main, ["--config", str(config_dir), "remind", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert no_personal_data(out.output) == []


def test_cli_sends_and_reports(ctx: Context, config_dir: Path) -> None:
    out = CliRunner().invoke(main, ["--config", str(config_dir), "remind"])
    assert out.exit_code == 0, out.output  # the real clock: long after this example campaign
    assert "remind:" in out.output


def test_logs_hold_no_personal_data(ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0003", "0004"], "invited")
    timetable_job(ctx)
    with caplog.at_level(logging.DEBUG, logger="corecruit"):
        for when in (AGREED, dt.datetime(2027, 1, 25, 9), dt.datetime(2027, 2, 1, 9)):
            res = run(ctx, when)
            assert no_personal_data(res.detail + " ".join(res.attention)) == []
    assert "sent candidate-invitation to 0002 (candidate)" in caplog.text
    assert no_personal_data(caplog.text) == []
    journal = (ctx.settings.workspace / ctx.campaign.id / "mail-journal.jsonl").read_text()
    assert no_personal_data(journal.replace("@example.org>", ">")) == []


def test_shortlisting_opens_with_each_persons_own_link(ctx: Context) -> None:
    form_links(ctx)
    run(ctx, dt.datetime(2027, 1, 11, 9))
    msgs = by_key(outbox(ctx))
    for p in ("p01", "p02", "p03", "p05", "p07"):
        text = text_of(msgs[f"shortlisting-opens|{p}|peer-support-2027|shortlisting opens"])
        assert f"http://127.0.0.1:8765/f/shortlisting/{p}-token" in text
        assert "-token" not in text.replace(f"{p}-token", "")  # nobody else's link
    marek = text_of(msgs["shortlisting-opens|p05|peer-support-2027|shortlisting opens"])
    assert "This link is only for you" in marek
    assert "p04" not in " ".join(msgs)  # the supporting worker does not shortlist


# ------------------------------------------------------------ candidates and the day


def test_candidates_get_their_invitation_once_the_timetable_exists(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0003", "0004"], "invited")
    res = run(ctx, dt.datetime(2027, 1, 25, 9))
    assert not [k for k in by_key(outbox(ctx)) if k.startswith("candidate")]
    assert any("no interview time yet" in w for w in res.waiting)
    timetable_job(ctx)
    res = run(ctx, dt.datetime(2027, 1, 25, 10))
    msgs = by_key(outbox(ctx))
    frank = msgs["candidate-invitation|0002|peer-support-2027|invitation"]
    assert frank["To"] == "frank.bell@example.com"
    assert "Dear Frank," in text_of(frank)  # the name they prefer
    ev = parse_events(ics_of(frank))[0]
    assert (ev["DTSTART"], ev["DTEND"], ev["SEQUENCE"]) == (
        "20270208T103000Z",
        "20270208T111000Z",
        "0",
    )
    assert len([k for k in msgs if k.startswith("candidate-invitation")]) == 4


def test_interview_day_messages_wait_for_the_timetable(ctx: Context) -> None:
    res = run(ctx, dt.datetime(2027, 2, 1, 9))
    assert not [k for k in by_key(outbox(ctx)) if k.startswith("interview-day")]
    assert any("wait for the timetable" in w for w in res.waiting)
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0003", "0004"], "invited")
    timetable_job(ctx)
    run(ctx, dt.datetime(2027, 2, 1, 10))
    msgs = by_key(outbox(ctx))
    day1 = [k for k in msgs if k.startswith("interview-day|")]
    assert sorted(k.split("|")[1] for k in day1) == ["p01", "p02", "p03", "p04", "p05", "p07"]
    text = text_of(msgs["interview-day|p01|peer-support-2027|interview day"])
    assert "- 10:30am to 11:30am: Candidate A interview, scoring and comfort break" in text
    assert "- 3:30pm to 4pm: Overall decision making with all panels" in text
    assert no_personal_data(text.replace("Dear Aisha,", "")) == []  # letters, not names
    # four candidates fit on one day: nobody is asked to come on the second
    run(ctx, dt.datetime(2027, 2, 2, 9))
    assert not [k for k in by_key(outbox(ctx)) if "interview day 2" in k]


# ------------------------------------------------------------------- corrections


def test_a_date_changed_in_the_sheet_sends_one_corrected_message(ctx: Context) -> None:
    run(ctx, dt.datetime(2027, 1, 15, 9))  # preparation meeting notice, 14 days before
    key = "preparation-meeting|p01|peer-support-2027|preparation meeting"
    first = by_key(outbox(ctx))[key]
    move_event(ctx, "preparation meeting", dt.datetime(2027, 2, 1, 10))
    run(ctx, dt.datetime(2027, 1, 16, 9))
    run(ctx, dt.datetime(2027, 1, 16, 15))
    msgs = by_key(outbox(ctx))
    fixed = msgs[key + "|v2"]
    assert fixed["Subject"].startswith("Change: Preparation meeting")
    assert "When: Monday 1 February 2027, 10am\n" in text_of(fixed)  # the old end was dropped
    old, new = parse_events(ics_of(first))[0], parse_events(ics_of(fixed))[0]
    assert new["UID"] == old["UID"] and (old["SEQUENCE"], new["SEQUENCE"]) == ("0", "1")
    assert new["DTSTART"] == "20270201T100000Z"
    assert len([k for k in msgs if k.startswith(key)]) == 2  # the original and one correction
    # the reminder for the new date goes out on its own day, as a reminder, not a change
    run(ctx, dt.datetime(2027, 1, 27, 9))
    assert not [k for k in by_key(outbox(ctx)) if k.startswith("preparation-meeting-reminder")]
    run(ctx, dt.datetime(2027, 1, 30, 9))
    rem = by_key(outbox(ctx))[
        "preparation-meeting-reminder|p01|peer-support-2027|preparation meeting"
    ]
    assert rem["Subject"].startswith("Reminder:")
    assert parse_events(ics_of(rem))[0]["SEQUENCE"] == "1"


def test_a_candidates_changed_time_sends_a_corrected_invitation(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0003", "0004"], "invited")
    timetable_job(ctx)
    run(ctx, dt.datetime(2027, 1, 25, 9))
    move_event(ctx, "interview day", dt.datetime(2027, 2, 15, 9, 45))
    move_event(ctx, "interview day 2", dt.datetime(2027, 2, 16, 9, 45))
    res = timetable_job(ctx)
    assert len([a for a in res.attention if "interview time has changed" in a]) == 4
    run(ctx, dt.datetime(2027, 1, 26, 9))
    msgs = by_key(outbox(ctx))
    fixed = msgs["candidate-invitation|0002|peer-support-2027|invitation|v2"]
    assert fixed["Subject"] == "Change to your interview for the Peer Support Worker job"
    assert "Monday 15 February 2027, 10:30am" in text_of(fixed)
    assert parse_events(ics_of(fixed))[0]["SEQUENCE"] == "1"


# ---------------------------------------------------------------- after the interviews


def test_everyone_hears_whether_the_job_was_accepted_and_the_check_in(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002", "0003", "0004"], "invited")
    timetable_job(ctx)
    set_status(ctx, ["0002"], "accepted")
    run(ctx, dt.datetime(2027, 2, 15, 9))
    msgs = by_key(outbox(ctx))
    news = {k.split("|")[1]: m for k, m in msgs.items() if k.startswith("offer-answered")}
    assert set(news) == {"p01", "p02", "p03", "p04", "p05", "p07", "p08"}  # p06 by phone
    assert "Candidate A, who was offered the job, has accepted it." in text_of(news["p01"])
    assert no_personal_data(text_of(news["p01"]).replace("Aisha", "")) == []
    run(ctx, dt.datetime(2027, 6, 13, 9))
    assert not [k for k in by_key(outbox(ctx)) if k.startswith("check-in")]
    run(ctx, dt.datetime(2027, 6, 14, 9))  # 21 days before 5 July: start + three months
    msgs = by_key(outbox(ctx))
    worker = msgs["check-in-new-worker|0002|peer-support-2027|check-in"]
    assert worker["To"] == "frank.bell@example.com"
    assert "Monday 5 July 2027, 10am to 11am" in text_of(worker)
    assert "check-in|p03|peer-support-2027|check-in" in msgs


# ------------------------------------------------------------------ exactly once


def child(config_dir: Path, when: dt.datetime, mode: str, n: int = 1) -> int:
    return subprocess.run(
        [
            sys.executable,
            str(HERE / "remind_child.py"),
            str(config_dir),
            when.isoformat(),
            mode,
            str(n),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    ).returncode


@pytest.mark.parametrize(
    "mode,n", [("after-send", 1), ("after-send", 3), ("before-send", 1), ("before-outcome", 1)]
)
def test_a_kill_anywhere_never_loses_or_repeats_a_message(
    ctx: Context, config_dir: Path, mode: str, n: int
) -> None:
    assert child(config_dir, AGREED, mode, n) == 9
    log = sent_log(ctx)
    assert set(log["status"]) <= {"intended", "contact another way"}
    res = run(ctx, AGREED + dt.timedelta(hours=1))
    assert "settled" in res.detail
    keys = [str(m["X-Corecruit-Key"]).strip() for m in outbox(ctx)]
    assert sorted(keys) == sorted(KEY.format(p) for p in ("p03", "p05", "p07"))  # once each
    assert statuses(ctx) == {
        KEY.format("p03"): "sent",
        KEY.format("p05"): "sent",
        KEY.format("p06"): "contact another way",
        KEY.format("p07"): "sent",
    }
    again = run(ctx, AGREED + dt.timedelta(hours=2))
    assert again.messages_sent == 0 and len(outbox(ctx)) == 3


def test_without_the_journal_the_outbox_still_settles(ctx: Context, config_dir: Path) -> None:
    assert child(config_dir, AGREED, "after-send", 2) == 9
    (ctx.settings.workspace / ctx.campaign.id / "mail-journal.jsonl").unlink()
    run(ctx, AGREED + dt.timedelta(hours=1))
    keys = sorted(str(m["X-Corecruit-Key"]).strip() for m in outbox(ctx))
    assert keys == sorted(KEY.format(p) for p in ("p03", "p05", "p07"))


class Flaky:
    """A transport that fails as told, then works; it cannot confirm anything."""

    def __init__(self, folder: Path, fail: list[MailError | None]) -> None:
        self.real = OutboxTransport(folder)
        self.fail = fail
        self.sent: list[EmailMessage] = []

    def send(self, msg: EmailMessage) -> str:
        err = self.fail.pop(0) if self.fail else None
        if err is not None and not err.definite:
            self.sent.append(msg)  # it went, but we were not told
            raise err
        if err is not None:
            raise err
        self.sent.append(msg)
        return self.real.send(msg)

    def confirm(self, mid: str) -> bool | None:
        return None


def test_a_refused_message_is_tried_again_next_run(ctx: Context, tmp_path: Path) -> None:
    flaky = Flaky(tmp_path / "out", [MailError("the server said no")])
    ctx.extras["mail"] = flaky
    res = run(ctx, AGREED)
    assert res.messages_sent == 2 and any("could not be sent" in a for a in res.attention)
    failed = [k for k, s in statuses(ctx).items() if s == "failed"]
    assert failed == [KEY.format("p03")]
    res = run(ctx, AGREED + dt.timedelta(days=1))
    assert res.messages_sent == 1 and statuses(ctx)[failed[0]] == "sent"
    assert len(flaky.sent) == 3


def test_an_unsure_send_is_held_for_staff_not_repeated(ctx: Context, tmp_path: Path) -> None:
    flaky = Flaky(tmp_path / "out", [MailError("connection lost", definite=False)])
    ctx.extras["mail"] = flaky
    run(ctx, AGREED)
    key = KEY.format("p03")
    assert statuses(ctx)[key] == "intended"
    for day in (1, 2):
        res = run(ctx, AGREED + dt.timedelta(days=day))
        assert res.messages_sent == 0
        assert any("may or may not have gone out" in a for a in res.attention)
    assert len(flaky.sent) == 3  # p03's went once (unconfirmed), p05 and p07 once
    note = sent_log(ctx).set_index("message_key").loc[key, "note"]
    assert "Look in the sent mail" in note
    # staff looked: it never arrived, so they mark it failed and it goes again, once
    set_cell(ctx, "sent_messages", {"message_key": key}, status="failed")
    run(ctx, AGREED + dt.timedelta(days=3))
    run(ctx, AGREED + dt.timedelta(days=4))
    assert len(flaky.sent) == 4 and statuses(ctx)[key] == "sent"


def test_two_runs_at_once_cannot_both_send(ctx: Context) -> None:
    ctx.settings.org.storage.__dict__["lock_timeout_seconds"] = 0.2
    with job_lock(ctx, "remind"), pytest.raises(JobError, match="still going"):
        run(ctx, AGREED)
    assert outbox(ctx) == []


def test_a_rule_naming_a_missing_template_is_a_config_error(ctx: Context, config_dir: Path) -> None:
    camp = config_dir / "campaigns" / "example.toml"
    camp.write_text(
        camp.read_text().replace('template = "check_in"\n', 'template = "chek_in"\n', 1)
    )
    from automations.config import load_settings
    from automations.context import make_context

    c = make_context(load_settings(config_dir), clock=lambda: AGREED)
    with pytest.raises(ConfigError) as exc:
        remind_job(c)
    assert "reminders[" in str(exc.value) and "chek_in" in str(exc.value)
