"""Feedback: summarised per campaign; the three-month check-in invitation links to the form."""

from __future__ import annotations

import datetime as dt

from automations.context import Context
from automations.jobs.feedback import summary_job
from automations.jobs.remind import preview
from automations.store import make_frame
from tests.remind_support import give_letters, set_status


def _feedback(ctx: Context, rows: list[dict[str, object]]) -> None:
    st = ctx.stores.staff
    st.forget()
    st.append("feedback", make_frame(st.tab("feedback"), rows))


def test_summary_counts_groups_and_keeps_words_without_names(ctx: Context) -> None:
    t = dt.datetime(2027, 2, 17, 15)
    _feedback(
        ctx,
        [
            {
                "response_id": "f1",
                "person_id": "p03",
                "kind": "lived experience",
                "how_it_felt": 5,
                "listened_to": 5,
                "what_worked": "Being treated as an equal.",
                "submitted_at": t,
            },
            {
                "response_id": "f2",
                "kind": "lived experience",
                "how_it_felt": 4,
                "listened_to": 3,
                "what_to_change": "More time between interviews.",
                "submitted_at": t,
            },
            {
                "response_id": "f3",
                "person_id": "p01",
                "kind": "council",
                "how_it_felt": 4,
                "listened_to": 4,
                "what_to_change": "<b>Start later</b>",
                "submitted_at": t,
            },
        ],
    )
    res = summary_job(ctx)
    assert res.lines[:3] == [
        "3 feedback response(s)",
        "From: lived experience 2, council 1",
        "How it felt: 4.3 out of 5 on average",
    ]
    assert "Felt listened to (lived experience): 4.0 out of 5 on average" in res.lines
    page = res.files[0].read_text()
    assert "Being treated as an equal." in page and "More time between interviews." in page
    assert "&lt;b&gt;Start later" in page  # typed text shown, never run
    assert "p03" not in page and "Grace" not in page


def test_empty_feedback_says_so(ctx: Context) -> None:
    res = summary_job(ctx)
    assert res.lines == ["0 feedback response(s)"]
    assert "Nothing written yet." in res.files[0].read_text()


def test_check_in_invitation_links_to_the_feedback_form(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0002"], "accepted")
    st = ctx.stores.staff
    st.append(
        "form_links",
        make_frame(
            st.tab("form_links"),
            [
                {
                    "person_id": "p03",
                    "stage": "feedback",
                    "url": "http://127.0.0.1:8765/f/feedback/p03-token",
                }
            ],
        ),
    )
    # the check-in is three months after the start date (5 April 2027); 21 days' notice
    ctx.clock = lambda: dt.datetime(2027, 6, 14, 9)
    msgs = {p.recipient.id: r for p, r in preview(ctx) if p.rule.id == "check-in"}
    assert "http://127.0.0.1:8765/f/feedback/p03-token" in msgs["p03"].text
    assert "how the recruitment felt for you" in msgs["p03"].text
    assert "/f/feedback/" not in msgs["p01"].text  # no link, no sentence
