"""One email per person on the day shortlisting opens (issue 16).

The reminder that says shortlisting opens carries each shortlister's own score form
link, so ``forms push`` does not send the link in an email of its own on the reminder's
days (the opening day and its catch-up days); the log counts that link as sent with the
reminder. Someone who joins the shortlisting later, or whose link is renewed after those
days, still gets their link from ``forms push``, once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from automations.config import load_settings
from automations.context import make_context
from automations.runner import Runner
from automations.workspace import init_campaign
from tests.remind_support import by_key, outbox, set_cell, text_of
from tests.review_support import no_review_gate

LONDON = ZoneInfo("Europe/London")
SHORTLISTERS = {"p01", "p02", "p03", "p05", "p07"}  # p06 prefers a phone call


def run(runner: Runner, jobs: list[str]) -> dict[str, Any]:
    recs = runner.run_once(jobs)
    assert [r.outcome for r in recs] == ["ok"] * len(jobs), [(r.job, r.detail) for r in recs]
    return {r.job: r for r in recs}


def links(ctx: Any) -> dict[str, str]:
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    return {
        str(r["person_id"]): str(r["url"]) for _, r in df.iterrows() if r["stage"] == "shortlisting"
    }


def emails_by_person(ctx: Any) -> Counter[str]:
    return Counter(k.split("|")[1] for k in by_key(outbox(ctx)))


def test_one_email_on_opening_day_late_people_and_renewed_links_still_get_theirs(
    config_dir: Path,
) -> None:
    org = config_dir / "organisation.toml"  # short-lived links: renewed during shortlisting
    org.write_text(org.read_text().replace("link_days = 60", "link_days = 8", 1))
    settings = load_settings(no_review_gate(config_dir))
    at = dt.datetime(2027, 1, 11, 8, 0, tzinfo=LONDON)
    with time_machine.travel(at, tick=False) as t:
        ctx = make_context(settings)
        init_campaign(ctx, example=True)
        runner = Runner(settings)

        # Opening day, forms push first (as the runner orders them): it makes the forms
        # and leaves every emailed shortlister's link to the opening reminder.
        pushed = run(runner, ["redact", "forms_push"])["forms_push"]
        assert pushed.messages_sent == 0
        assert "5 shortlisting link(s) go with the message that shortlisting opens" in (
            pushed.detail
        )
        assert not any(k.startswith("form-link|") for k in by_key(outbox(ctx)))
        reminded = run(runner, ["remind"])["remind"]
        assert reminded.messages_sent == 5
        first = links(ctx)
        msgs = by_key(outbox(ctx))
        assert emails_by_person(ctx) == Counter(dict.fromkeys(SHORTLISTERS, 1))
        for k, m in msgs.items():
            assert k.startswith("shortlisting-opens|")
            assert first[k.split("|")[1]] in text_of(m)  # their own link
        t.move_to(dt.datetime(2027, 1, 11, 15, 0, tzinfo=LONDON))
        again = run(runner, ["forms_push", "remind"])
        assert all(r.messages_sent == 0 for r in again.values())

        # Two days on (a catch-up day of the opening reminder): someone joins the
        # shortlisting; they too get the link once, with the opening message.
        t.move_to(dt.datetime(2027, 1, 13, 9, 0, tzinfo=LONDON))
        set_cell(ctx, "people", {"person_id": "p04"}, role="panel member", shortlists=True)
        late = run(runner, ["forms_push", "remind"])
        assert late["forms_push"].messages_sent == 0 and late["remind"].messages_sent == 1
        mine = [k for k in by_key(outbox(ctx)) if k.split("|")[1] == "p04"]
        assert [k.split("|")[0] for k in mine] == ["shortlisting-opens"]
        assert links(ctx)["p04"] in text_of(by_key(outbox(ctx))[mine[0]])

        # After the reminder's days: the links it carried are never sent again on their
        # own; a renewed link (less than a quarter of its life left) goes by forms push,
        # once, and so does the link of someone who joins the shortlisting now.
        t.move_to(dt.datetime(2027, 1, 17, 9, 0, tzinfo=LONDON))
        p04 = links(ctx)["p04"]
        set_cell(ctx, "people", {"person_id": "p08"}, role="panel member", shortlists=True)
        before = set(by_key(outbox(ctx)))
        pushed = run(runner, ["forms_push"])["forms_push"]
        now = links(ctx)
        assert all(now[p] != first[p] for p in SHORTLISTERS) and now["p04"] == p04
        new = {k: m for k, m in by_key(outbox(ctx)).items() if k not in before}
        assert {k.split("|")[1] for k in new} == SHORTLISTERS | {"p08"}
        assert pushed.messages_sent == len(new) == 6
        for k, m in new.items():
            assert k.startswith("form-link|") and now[k.split("|")[1]] in text_of(m)
        t.move_to(dt.datetime(2027, 1, 17, 15, 0, tzinfo=LONDON))
        assert run(runner, ["forms_push"])["forms_push"].messages_sent == 0
