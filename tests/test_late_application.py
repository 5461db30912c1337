"""A late application added after a shortlister sent their scores: they are told once.

From the user's side: forms pushed, one person fills in their shortlisting form on
the real form app and it is collected; then a new application gets Candidate G.
The next ``forms push`` emails that person one short note (exactly once, even when
run again), nobody else, and ``status`` says whose scores the results wait for.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.forms.base import form_key
from automations.jobs.forms import collect_job, current_specs, push_job
from automations.mail.render import Rendered
from automations.store import make_frame
from tests.forms_support import ANSWER, client, fill, links, path_of, raw_scores, seed_candidates
from tests.remind_support import by_key, outbox, text_of
from tests.test_mail_templates import problems_in

SUBJECT = "A new application, Candidate G, has been added to your form"


def _add_late_application(ctx: Context, after: dt.datetime) -> None:
    st, panel = ctx.stores.staff, ctx.stores.panel
    st.forget()
    st.append(
        "candidate_key",
        make_frame(
            st.tab("candidate_key"),
            [
                {
                    "application_id": "0007",
                    "candidate_letter": "G",
                    "assigned_at": after + dt.timedelta(hours=1),
                }
            ],
        ),
    )
    n = len(ctx.campaign.criteria)
    row = {f"answer_{i}": ANSWER.format(letter="G", n=i) for i in range(1, n + 1)}
    panel.append(
        "applications", make_frame(panel.tab("applications"), [{"candidate_letter": "G", **row}])
    )


def test_late_application_tells_who_already_scored_once(ctx: Context, config_dir: Path) -> None:
    seed_candidates(ctx)
    push_job(ctx)
    before = set(by_key(outbox(ctx)))
    st = ctx.stores.staff
    st.forget()
    frames = st.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    specs = {s.key: s for s in current_specs(ctx, frames)}
    url = links(ctx)[("p03", "shortlisting")]
    fill(client(ctx), specs[form_key(ctx.campaign.id, "shortlisting", "p03")], path_of(url), "2")
    collect_job(ctx)
    last = max(raw_scores(ctx)["submitted_at"])
    _add_late_application(ctx, last)

    held = push_job(ctx)  # staff have not checked its redaction report yet: nobody is told
    assert held.messages_sent == 0 and set(by_key(outbox(ctx))) == before
    st.append(
        "redaction_report",
        make_frame(
            st.tab("redaction_report"),
            [{"application_id": "0007", "candidate_letter": "G", "reviewed_by": "R. Checker"}],
        ),
    )
    res = push_job(ctx)
    sent = by_key(outbox(ctx))
    assert sorted(set(sent) - before) == ["new-candidate|p03|peer-support-2027|shortlisting|G"]
    assert res.messages_sent == 1
    msg = sent["new-candidate|p03|peer-support-2027|shortlisting|G"]
    assert msg["Subject"] == SUBJECT
    body = text_of(msg)
    html = msg.get_body(("html",))
    assert html is not None
    rendered = Rendered(str(msg["Subject"]), body, str(html.get_content()))  # type: ignore[attr-defined]
    assert problems_in(rendered) == []
    assert links(ctx)[("p03", "shortlisting")] in body
    assert "The scores you already sent are kept" in body

    again = push_job(ctx)  # run again (or after a kill): nobody is told twice
    assert again.messages_sent == 0 and len(outbox(ctx)) == len(before) + 1

    r = CliRunner().invoke(main, ["--config", str(config_dir), "status"])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if "shortlisting results wait for" in ln)
    assert "p03 (Candidate G)" in line and "p01 (not sent yet)" in line
