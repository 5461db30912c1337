"""Nothing is shared before staff have checked (issue 15): the review gate.

The example campaign, on the real (travelling) clock, through the real runner: the
first run gives letters and a redaction report and shares nothing; when staff have
checked every row the panel workbook and the forms are released, and the links go
out on the day shortlisting opens; an application whose findings change afterwards is
held again on its own until someone checks it again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import time_machine
from click.testing import CliRunner

from automations.cli import main
from automations.config import Settings, load_settings
from automations.context import Context, make_context
from automations.jobs.forms import push_job
from automations.jobs.redact import redact_job
from automations.review import EXAMPLE_REVIEWER
from automations.runner import Runner
from automations.transforms.review import (
    FORM_LINK_RULE,
    gate_words,
    panel_has_forms,
    released,
    review_state,
)
from automations.workspace import init_campaign
from tests.remind_support import by_key, outbox, set_cell, text_of
from tests.review_support import mark_reviewed, no_review_gate, report_rows

LONDON = ZoneInfo("Europe/London")
CID = "peer-support-2027"
JOBS = ["redact", "forms_push", "remind"]
SHORTLISTERS = {"p01", "p02", "p03", "p05", "p07"}  # p06 prefers a phone call


def run(runner: Runner) -> dict[str, Any]:
    recs = runner.run_once(JOBS)
    assert [r.outcome for r in recs] == ["ok"] * len(JOBS), [(r.job, r.detail) for r in recs]
    return {r.job: r for r in recs}


def panel_letters(ctx: Context) -> list[str]:
    ctx.stores.panel.forget()
    return [str(x) for x in ctx.stores.panel.read_one("applications")["candidate_letter"]]


def shortlisting_orders(ctx: Context) -> dict[str, set[str]]:
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    return {
        str(r["person_id"]): set(str(r["candidate_order"]).split(", "))
        for _, r in df.iterrows()
        if r["stage"] == "shortlisting"
    }


def msgs_by_person(msgs: dict[str, Any]) -> Counter[str]:
    """How many emails each person got (by the person id in each message's key)."""
    return Counter(k.split("|")[1] for k in msgs)


def status_text(config_dir: Path) -> str:
    res = CliRunner().invoke(main, ["--config", str(config_dir), "status"])
    assert res.exit_code == 0, res.output
    return res.output


def test_nothing_reaches_the_panel_until_checked_then_links_on_the_opening_day(
    settings: Settings, config_dir: Path
) -> None:
    with time_machine.travel(dt.datetime(2027, 1, 4, 9, 0, tzinfo=LONDON), tick=False) as t:
        ctx = make_context(settings)  # the (travelling) real clock
        init_campaign(ctx, example=True)
        runner = Runner(settings)

        # 1. The first run: letters and the report, and nothing for the panel.
        first = run(runner)
        assert panel_letters(ctx) == []
        assert shortlisting_orders(ctx) == {}
        assert outbox(ctx) == []
        held = (
            "6 applications wait for a check of their redaction report: "
            "Redaction report rows 2, 3, 4, 5, 6, 7"
        )
        assert held in first["redact"].detail
        assert held in first["forms_push"].detail
        words = status_text(config_dir)
        assert words.count(held) == 1 and "Nothing has gone to the panel yet" in words
        assert "go out on Monday 11 January 2027, when shortlisting opens" in words
        res = CliRunner().invoke(main, ["--config", str(config_dir), "redact", "report"])
        assert res.exit_code == 0 and held in res.output
        res = CliRunner().invoke(main, ["--config", str(config_dir), "check"])
        assert res.exit_code == 0, res.output  # a warning, not a fault in the workbooks
        assert "tab 'Redaction report'" in res.output and held in res.output

        # 2. Staff check five of the six: the release waits for the last one.
        report = report_rows(ctx)
        last = str(report.loc[5, "application_id"])  # row 5 of the sheet
        assert mark_reviewed(ctx, [a for a in report["application_id"] if a != last]) == 5
        run(runner)
        assert panel_letters(ctx) == [] and shortlisting_orders(ctx) == {} and outbox(ctx) == []
        words = status_text(config_dir)
        assert "1 application waits for a check of their redaction report: " in words
        assert "Redaction report row 5." in words

        # 3. The last one is checked: panel workbook and forms, but no link before the day.
        t.move_to(dt.datetime(2027, 1, 5, 9, 0, tzinfo=LONDON))
        mark_reviewed(ctx, [last])
        ready = run(runner)
        letters = sorted(panel_letters(ctx))
        assert letters == list("ABCDEF")
        orders = shortlisting_orders(ctx)
        assert set(orders) == SHORTLISTERS | {"p06"}
        assert all(o == set(letters) for o in orders.values())
        assert outbox(ctx) == [] and ready["forms_push"].messages_sent == 0
        assert "go out when shortlisting opens, on Monday 11 January 2027" in (
            ready["forms_push"].detail
        )
        assert "wait for a check" not in status_text(config_dir)

        # 4. The opening day: each shortlister's own link, once, in one email: the one
        #    that says shortlisting opens (forms push leaves the link to it, and the
        #    log counts that link as sent, so forms push never sends it on its own).
        t.move_to(dt.datetime(2027, 1, 11, 9, 0, tzinfo=LONDON))
        opened = run(runner)
        msgs = by_key(outbox(ctx))
        assert not any(k.startswith("form-link|") for k in msgs)
        opens = {k for k in msgs if k.startswith("shortlisting-opens|")}
        assert {k.split("|")[1] for k in opens} == SHORTLISTERS == set(msgs_by_person(msgs))
        assert all(n == 1 for n in msgs_by_person(msgs).values())  # one email each
        urls = links_of(ctx)
        for k, m in msgs.items():
            sent = parsedate_to_datetime(str(m["Date"])).astimezone(LONDON).date()
            assert sent == dt.date(2027, 1, 11), k
            assert urls[k.split("|")[1]] in text_of(m)  # their own link, on the day
        assert opened["forms_push"].messages_sent == 0
        assert "5 shortlisting link(s) go with the message that shortlisting opens" in (
            opened["forms_push"].detail
        )
        assert opened["remind"].messages_sent == 5
        log = ctx.stores.staff.read_one("sent_messages", refresh=True)
        carried = log[log["note"] == "Sent with the 'shortlisting-opens' message."]
        assert set(carried["person_id"]) == SHORTLISTERS
        assert set(carried["rule"]) == {"form-link"} and set(carried["status"]) == {"sent"}
        t.move_to(dt.datetime(2027, 1, 11, 15, 0, tzinfo=LONDON))
        assert all(r.messages_sent == 0 for r in run(runner).values())  # nothing twice

        # 5. Staff change an application after it was checked: it is held on its own.
        t.move_to(dt.datetime(2027, 1, 12, 9, 0, tzinfo=LONDON))
        key = ctx.stores.staff.read_one("candidate_key")
        letter = dict(zip(key["application_id"], key["candidate_letter"], strict=True))
        app = "0003"
        ctx.stores.staff.forget()
        apps = ctx.stores.staff.read_one("applications")
        answer = str(apps.loc[apps["application_id"] == app, "answer_2"].iloc[0])
        set_cell(
            ctx,
            "applications",
            {"application_id": app},
            answer_2=answer + " You can also write to me at joy.h@example.com any time.",
        )
        changed = run(runner)
        report = report_rows(ctx)
        mine = report[report["application_id"] == app]
        assert mine["reviewed_by"].tolist() == [""]
        assert (report[report["application_id"] != app]["reviewed_by"] != "").all()
        assert sorted(panel_letters(ctx)) == [x for x in letters if x != letter[app]]
        assert all(o == set(letters) - {letter[app]} for o in shortlisting_orders(ctx).values())
        assert any("changed since it was checked" in a for a in changed["redact"].attention)
        row = int(mine.index[0])
        words = status_text(config_dir)
        assert "1 application waits for a check of their redaction report: " in words
        assert f"Redaction report row {row}." in words and "the other applications stay" in words
        assert len(outbox(ctx)) == len(msgs)  # the same links: nobody is emailed again

        # 6. Checked again: back with the panel, and still nothing sent twice.
        mark_reviewed(ctx, [app])
        again = run(runner)
        assert sorted(panel_letters(ctx)) == letters
        assert all(o == set(letters) for o in shortlisting_orders(ctx).values())
        assert again["forms_push"].messages_sent == 0 and len(outbox(ctx)) == len(msgs)
        assert links_of(ctx) == urls  # the links people were sent still work


def links_of(ctx: Context) -> dict[str, str]:
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    return {str(r["person_id"]): str(r["url"]) for _, r in df.iterrows()}


def test_killed_between_the_report_and_the_panel_the_forms_still_hold_it_back(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped after the report (Reviewed by cleared) but before the panel write:
    the forms follow the report, and the rerun finishes the panel workbook."""
    redact_job(ctx)
    mark_reviewed(ctx)
    redact_job(ctx)
    push_job(ctx, send=False)
    assert len(panel_letters(ctx)) == 6
    set_cell(ctx, "applications", {"application_id": "0001"}, answer_1="Call me on 07700 900999.")
    panel = ctx.stores.panel

    def killed(*_: Any, **__: Any) -> int:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(panel, "write", killed)
    with pytest.raises(KeyboardInterrupt):
        redact_job(ctx)
    monkeypatch.undo()
    held = report_rows(ctx).set_index("application_id").loc["0001"]
    assert held["reviewed_by"] == "" and len(panel_letters(ctx)) == 6  # the panel is behind
    push_job(ctx, send=False)
    assert all(held["candidate_letter"] not in o for o in shortlisting_orders(ctx).values())
    redact_job(ctx)  # the rerun catches the panel workbook up
    assert held["candidate_letter"] not in panel_letters(ctx) and len(panel_letters(ctx)) == 5
    assert redact_job(ctx).rows_written == 0  # and a further run changes nothing


def test_staff_clearing_form_links_after_the_links_went_out_keeps_the_panel_set(
    ctx: Context,
) -> None:
    """The panel has started (links sent); staff then empty the Form links tab and one
    application is held: the panel workbook and forms keep the other five."""
    redact_job(ctx)
    mark_reviewed(ctx)
    redact_job(ctx)
    assert push_job(ctx).messages_sent > 0
    assert len(panel_letters(ctx)) == 6
    st = ctx.stores.staff
    st.forget()
    st.write({"form_links": st.read_one("form_links").iloc[0:0]})
    st.forget()
    set_cell(ctx, "applications", {"application_id": "0001"}, answer_1="Call me on 07700 900999.")
    redact_job(ctx)
    held = report_rows(ctx).set_index("application_id").loc["0001", "candidate_letter"]
    assert sorted(panel_letters(ctx)) == sorted(set("ABCDEF") - {held})
    push_job(ctx, send=False)
    orders = shortlisting_orders(ctx)
    assert orders and all(o == set("ABCDEF") - {held} for o in orders.values())


def test_scores_given_before_an_application_was_held_are_kept(ctx: Context) -> None:
    """Scores on the checked text stay scores when the application is held afterwards."""
    from automations.forms.base import form_key
    from automations.jobs.forms import collect_job, current_specs
    from tests.forms_support import client, exceptions, fill, path_of, raw_scores

    redact_job(ctx)
    mark_reviewed(ctx)
    redact_job(ctx)
    push_job(ctx, send=False)
    st = ctx.stores.staff
    st.forget()
    frames = st.read(
        ["people", "applications", "candidate_key", "timetable", "form_links", "redaction_report"]
    )
    spec = {s.key: s for s in current_specs(ctx, frames)}[
        form_key(ctx.campaign.id, "shortlisting", "p03")
    ]
    fill(client(ctx), spec, path_of(links_of(ctx)["p03"]), "3", nonce="before-the-change")
    set_cell(ctx, "applications", {"application_id": "0001"}, answer_1="Call me on 07700 900999.")
    redact_job(ctx)
    push_job(ctx, send=False)
    letter = report_rows(ctx).set_index("application_id").loc["0001", "candidate_letter"]
    assert letter not in panel_letters(ctx)
    collect_job(ctx)
    raw = raw_scores(ctx)
    assert set(raw["candidate_letter"]) == set("ABCDEF")  # the held one's scores too
    assert len(raw) == 6 * len(ctx.campaign.criteria) and len(exceptions(ctx)) == 0


def test_on_google_the_panel_workbook_is_shared_with_the_panel_only_after_the_check(
    google_ctx: Any, google_emulator: Any
) -> None:
    from automations.sharing import share_campaign
    from tests.google_emulator import drive

    def panel_people() -> dict[str, str]:
        f = drive.files(google_emulator)[google_ctx.stores.panel.spreadsheet_id]
        return {p.get("emailAddress", p["type"]): p["role"] for p in f.permissions}

    redact_job(google_ctx)
    first = share_campaign(google_ctx)
    assert first.added["panel"] == 1  # the staff editor only
    assert set(panel_people().values()) == {"owner", "writer"}
    assert "once every application's redaction report is checked" in first.summary()
    assert "6 applications wait" in first.summary()
    google_ctx.stores.staff.forget()
    mark_reviewed(google_ctx)
    redact_job(google_ctx)
    google_ctx.stores.staff.forget()
    then = share_campaign(google_ctx)
    assert then.added["panel"] == 6 and list(panel_people().values()).count("reader") == 6
    assert "redaction report" not in then.summary()


def test_run_example_marks_only_the_invented_applications_reviewed(config_dir: Path) -> None:
    """`corecruit run --example` shows a working form link: the demo's invented
    applications count as checked (a real campaign's staff check their own)."""
    log = logging.getLogger("corecruit")
    saved = (log.handlers[:], log.propagate, log.level)
    try:
        res = CliRunner().invoke(
            main,
            ["--config", str(config_dir), "run", "--once", "--example", "redact", "forms_push"],
        )
    finally:
        log.handlers[:], log.propagate, log.level = saved[0], saved[1], saved[2]
    assert res.exit_code == 0, res.output
    c = make_context(load_settings(config_dir))
    report = report_rows(c)
    assert len(report) == 6 and set(report["reviewed_by"]) == {EXAMPLE_REVIEWER}
    assert len(panel_letters(c)) == 6
    c.stores.staff.forget()
    links = c.stores.staff.read_one("form_links")
    assert len(links[links["stage"] == "shortlisting"]) == 6  # the demo's form links


# ------------------------------------------------------------------ the rules, pure


def _report(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["application_id", "candidate_letter", "reviewed_by"])
    df.index = pd.Index(range(2, len(df) + 2), name="row")
    return df


def _key(apps: list[tuple[str, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(apps, columns=["application_id", "candidate_letter", "retired"])


NO_LINKS = pd.DataFrame(columns=["person_id", "stage"])
FORMS = pd.DataFrame([{"person_id": "p01", "stage": "shortlisting"}])


def test_review_state_names_report_rows_and_skips_retired_letters() -> None:
    report = _report([("1", "A", "Priya"), ("2", "B", ""), ("3", "C", ""), ("4", "D", "")])
    key = _key([("1", "A", False), ("2", "B", False), ("3", "C", True), ("4", "D", False),
                ("5", "E", False)])  # fmt: skip
    state = review_state(report, key)
    assert [(h.application_id, h.row) for h in state.held] == [("2", 3), ("4", 5), ("5", None)]
    assert state.cleared == {"1"} and state.held_letters == {"B", "D", "E"}
    assert state.summary() == (
        "3 applications wait for a check of their redaction report: Redaction report rows "
        "3, 5; 1 has no row there yet (run 'corecruit redact')"
    )
    assert not released(state, NO_LINKS) and released(state, FORMS)
    off = review_state(report, key, required=False)
    assert off.held == [] and released(off, NO_LINKS)
    nothing = review_state(_report([]), _key([]))
    assert not released(nothing, NO_LINKS)  # nothing to show yet: the panel waits


def test_the_panel_has_started_by_its_sent_links_or_scores_too() -> None:
    from automations.jobs.forms import RULE

    assert RULE == FORM_LINK_RULE
    state = review_state(_report([("1", "A", ""), ("2", "B", "Sam")]), _key([("1", "A", False),
                         ("2", "B", False)]))  # fmt: skip
    sent = pd.DataFrame([{"rule": RULE, "occasion": "shortlisting"}])
    other = pd.DataFrame([{"rule": "new-candidate", "occasion": "shortlisting B"},
                          {"rule": RULE, "occasion": "interview"}])  # fmt: skip
    scores = pd.DataFrame([{"stage": "shortlisting", "candidate_letter": "B"}])
    interview = pd.DataFrame([{"stage": "interview", "candidate_letter": "B"}])
    assert not released(state, NO_LINKS) and not released(state, NO_LINKS, other, interview)
    assert released(state, NO_LINKS, sent) and released(state, NO_LINKS, None, scores)
    assert panel_has_forms(NO_LINKS, sent_messages=sent) and panel_has_forms(FORMS)


def test_gate_words_say_what_is_held_why_and_what_next() -> None:
    state = review_state(_report([("1", "A", ""), ("2", "B", "Sam")]), _key([("1", "A", False),
                         ("2", "B", False)]))  # fmt: skip
    before = gate_words(state, NO_LINKS, dt.date(2027, 1, 11), dt.date(2027, 1, 4))
    assert before.startswith(
        "1 application waits for a check of their redaction report: Redaction report row 2. "
        "Nothing has gone to the panel yet"
    )
    assert "go out on Monday 11 January 2027, when shortlisting opens" in before
    late = gate_words(state, NO_LINKS, dt.date(2027, 1, 11), dt.date(2027, 1, 12))
    assert "the shortlisting links go out at the next run" in late
    after = gate_words(state, FORMS, dt.date(2027, 1, 11), dt.date(2027, 1, 12))
    assert "the other applications stay" in after and "Nothing has gone" not in after
    done = review_state(_report([("1", "A", "Sam")]), _key([("1", "A", False)]))
    assert gate_words(done, NO_LINKS, dt.date(2027, 1, 11), dt.date(2027, 1, 4)) == ""


def test_require_review_false_is_the_old_behaviour(config_dir: Path) -> None:
    settings = load_settings(no_review_gate(config_dir))
    assert settings.campaign(CID).campaign.require_review is False
    c = make_context(settings, clock=lambda: dt.datetime(2027, 1, 25, 9, 0))
    init_campaign(c, example=True)
    res = redact_job(c)
    assert len(panel_letters(c)) == 6 and "held" not in res.detail
