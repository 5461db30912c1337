"""The co-production jobs on the Google path (real gspread/googleapiclient against the
emulator): the number of Google calls does not grow with the rows, and the panel
spreadsheet never gets access data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from automations.jobs.involvement import involvement_job
from automations.jobs.questions import agree_job, propose_job
from automations.jobs.scoresheets import enter_paper_job
from automations.store import make_frame
from tests.remind_support import give_letters, set_status


def _paper(ctx: Any, n_letters: int, n_questions: int) -> None:
    st = ctx.stores.staff
    rows = [
        {
            "person_id": pid,
            "stage": "interview",
            "candidate_letter": letter,
            "question_id": f"q{q}",
            "score": Decimal((q + i) % 5),
        }
        for i, letter in enumerate("ABCDEF"[:n_letters])
        for q in range(1, n_questions + 1)
        for pid in ("p01", "p03", "p07")
    ]
    st.forget()
    st.write({"paper_scores": make_frame(st.tab("paper_scores"), rows)})


def test_paper_entry_calls_do_not_grow_with_rows(google_ctx: Any, google_emulator: Any) -> None:
    give_letters(google_ctx)
    set_status(google_ctx, ["0001", "0002", "0003", "0004", "0005", "0006"], "invited")
    counts = []
    for letters, questions in ((1, 1), (6, 6)):
        _paper(google_ctx, letters, questions)
        google_ctx.stores.staff.forget()
        google_emulator.reset_counts()
        res = enter_paper_job(google_ctx)
        assert res.detail.endswith("paper score(s) entered")
        counts.append(google_emulator.calls("sheets."))
    assert counts[0] == counts[1] <= 4  # one batch read, one batch write (plus metadata)
    google_ctx.stores.staff.forget()
    raw = google_ctx.stores.staff.read_one("raw_scores")
    # the three rows typed again unchanged, at the same moment, are the same scores
    assert len(raw) == 108 and set(raw["source"]) == {"paper"}


def test_questions_and_access_data_on_google(google_ctx: Any, google_emulator: Any) -> None:
    st = google_ctx.stores.staff
    st.append(
        "expressions_of_interest",
        make_frame(
            st.tab("expressions_of_interest"),
            [
                {
                    "response_id": "e1",
                    "person_id": "p07",
                    "interested": "yes",
                    "access_requirements": "ACCESS-SECRET-GOOGLE",
                }
            ],
        ),
    )
    involvement_job(google_ctx, forms=False)
    propose_job(google_ctx, forms=False)
    for d, who in (("d1", "p01"), ("d2", "p07")):
        st.forget()
        st.upsert(
            "question_drafts", pd.DataFrame([{"draft_id": d, "decision": "agree", "asker": who}])
        )
    res = agree_job(google_ctx)
    assert "2 agreed question(s)" in res.detail
    panel_id = google_ctx.stores.panel.spreadsheet_id
    panel = google_emulator.state("sheets")["spreadsheets"][panel_id]
    text = repr(panel.__dict__)
    assert "Drafted from the job criteria" in text  # the agreed set is there
    assert "ACCESS-SECRET-GOOGLE" not in text
    staff = google_emulator.state("sheets")["spreadsheets"][google_ctx.stores.staff.spreadsheet_id]
    assert "ACCESS-SECRET-GOOGLE" in repr(staff.__dict__)  # it is in the staff workbook
