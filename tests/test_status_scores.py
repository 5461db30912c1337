"""The Status tab reads Raw scores as a summary (who sent shortlisting scores, for which
candidate), never as a frame of every score: the rows must be the same as from the
whole tab, and a run whose Raw scores did not change must not read it at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from automations import status
from automations.context import Context
from automations.store import make_frame
from automations.transforms.late import SENT_COLUMNS, shortlisting_sent, waiting_for
from automations.transforms.review import panel_has_forms
from automations.transforms.status import JobRun, scores_frame, scores_sent, status_rows

T0 = dt.datetime(2027, 1, 12, 10, 0)


def _frame(rows: list[tuple[Any, Any, Any, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["stage", "person_id", "submitted_at", "candidate_letter"], dtype=object
    )


CASES = {
    "none": [],
    "only interview scores": [("interview", "p01", T0, "A")],
    "bare shortlisting rows": [("shortlisting", "", T0, "A"), ("shortlisting", "p02", "x", "B")],
    "two people, repeats, later times": [
        ("shortlisting", "p01", T0, "A"),
        ("shortlisting", "p01", T0 + dt.timedelta(hours=1), "A"),
        ("shortlisting", "p01", T0, "B"),
        (" shortlisting ", " p02 ", T0, " C "),
        ("interview", "p02", T0 + dt.timedelta(days=3), "D"),
        ("shortlisting", "p03", None, "A"),
        ("shortlisting", "p04", T0, ""),
    ],
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_summary_reads_as_the_whole_tab(name: str) -> None:
    full = _frame(CASES[name])
    small = scores_frame(
        scores_sent(*(full[c].tolist() for c in SENT_COLUMNS)),
    )
    assert shortlisting_sent(small) == shortlisting_sent(full)
    links = pd.DataFrame({"stage": ["interview"], "person_id": ["p09"]})
    assert panel_has_forms(links, None, small) == panel_has_forms(links, None, full)
    forms = {"p01": ["A", "B", "C"], "p02": ["C", "D"], "p03": ["A"], "p05": ["A"]}
    assert waiting_for(forms, small) == waiting_for(forms, full)
    # kept in the record as JSON and read back the same
    seen = scores_sent(*(full[c].tolist() for c in SENT_COLUMNS))
    assert type(seen).from_json(seen.as_json()) == seen


def _scores(ctx: Context) -> None:
    """Two shortlisters with forms; one sent scores for two of three candidates."""
    st = ctx.stores.staff
    links = make_frame(
        st.tab("form_links"),
        [
            {"person_id": "p01", "stage": "shortlisting", "candidate_order": "A, B, C"},
            {"person_id": "p02", "stage": "shortlisting", "candidate_order": "A, B, C"},
        ],
    )
    raw = make_frame(
        st.tab("raw_scores"),
        [
            {
                "response_id": f"r{i}",
                "person_id": "p01",
                "stage": "shortlisting",
                "candidate_letter": letter,
                "question_id": q,
                "score": 3,
                "submitted_at": T0,
            }
            for i, (letter, q) in enumerate((x, q) for x in "AB" for q in ("q1", "q2"))
        ],
    )
    st.write({"form_links": links, "raw_scores": raw})


def test_status_rows_are_those_of_the_whole_tab(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scores(ctx)
    jobs = [JobRun("merge", T0, "ok")]
    st = ctx.stores.staff
    st.forget()
    whole = st.read([*status.INPUTS], errors="collect")
    assert len(whole["raw_scores"]) == 4
    want = status_rows(status.inputs(ctx, jobs, whole))
    assert any("wait for p01 (Candidate C); p02 (not sent yet)" in r["item"] for r in want)
    st.forget()
    assert status.current(ctx, jobs) == want

    # Kept in the record: with Raw scores as it was, the next Status reads none of it.
    seen: list[str] = []
    real = type(st)._read_grids

    def spy(self: Any, tabs: Any) -> Any:
        seen.extend(t.id for t in tabs)
        return real(self, tabs)

    monkeypatch.setattr(type(st), "_read_grids", spy)
    st.forget()
    assert status.current(ctx, jobs) == want
    assert "raw_scores" not in seen


def test_a_missing_raw_scores_tab_is_said_as_before(ctx: Context) -> None:
    import openpyxl

    path = ctx.stores.staff.location
    wb = openpyxl.load_workbook(path)
    wb["Raw scores"].title = "Old scores"
    wb.save(path)
    ctx.stores.staff.forget()
    rows = status.current(ctx, [JobRun("merge", T0, "ok")])
    assert any("The tab 'Raw scores' could not be read" in r["item"] for r in rows)
