"""Involvement, the panel's make-up, extra evidence, and access data kept from the panel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.errors import SheetProblems
from automations.jobs.involvement import evidence_job, involvement_job
from automations.store import make_frame
from automations.transforms.involvement import involved_in
from tests.remind_support import give_letters

T = dt.datetime(2027, 1, 20, 10, 0)


def _add(ctx: Context, tab: str, rows: list[dict[str, object]]) -> None:
    st = ctx.stores.staff
    st.forget()
    st.append(tab, make_frame(st.tab(tab), rows))


def _score(
    pid: str, stage: str, letter: str, q: str, source: str = "local form"
) -> dict[str, object]:
    return {
        "response_id": f"{pid}-{stage}-{letter}-{q}",
        "person_id": pid,
        "stage": stage,
        "candidate_letter": letter,
        "question_id": q,
        "score": Decimal(3),
        "submitted_at": T,
        "source": source,
    }


def test_involvement_from_the_evidence_in_the_workbook(ctx: Context) -> None:
    _add(
        ctx,
        "raw_scores",
        [
            _score("p03", "shortlisting", "A", "c1"),
            _score("p03", "shortlisting", "B", "c1"),
            _score("p05", "interview", "A", "q1", "paper"),
        ],
    )
    _add(
        ctx,
        "question_views",
        [{"response_id": "r1", "person_id": "p06", "draft_id": "d1", "choice": "keep"}],
    )
    _add(
        ctx,
        "attendance",
        [{"person_id": "p07", "activity": "preparation meeting", "date": dt.date(2027, 1, 29)}],
    )
    res = involvement_job(ctx)
    inv = ctx.stores.staff.read_one("involvement")
    row = inv[(inv.person_id == "p03") & (inv.stage == "shortlisting")].iloc[0]
    assert row["took_part"] and row["planned"] and row["evidence"] == "scored 2 candidates"
    assert row["kind"] == "lived experience"
    p05 = inv[(inv.person_id == "p05") & (inv.stage == "interview")].iloc[0]
    assert p05["evidence"] == "scored 1 candidate (some on paper)"
    assert involved_in(inv, "question shaping") == ["p06"]
    assert involved_in(inv, "preparation meeting") == ["p07"]
    # planned but not yet evidenced: planned TRUE, took part empty
    p01 = inv[(inv.person_id == "p01") & (inv.stage == "interview")].iloc[0]
    assert p01["planned"] and p01["took_part"] is not True
    assert res.rows_written == len(inv)
    # rerun: nothing changes, nothing written
    again = involvement_job(ctx)
    assert again.rows_written == 0 and "0 involvement" in again.detail
    # staff mark someone as having taken part by hand: kept on the next run
    st = ctx.stores.staff
    st.upsert(
        "involvement", pd.DataFrame([{"person_id": "p01", "stage": "interview", "took_part": True}])
    )
    involvement_job(ctx)
    st.forget()
    assert "p01" in involved_in(st.read_one("involvement"), "interview")


def test_make_up_warnings_come_from_the_panel_rules(ctx: Context) -> None:
    assert not any("same people who interview" in a for a in involvement_job(ctx).attention)
    ctx.stores.staff.upsert(
        "people", pd.DataFrame([{"person_id": p, "interviews": False} for p in ("p05", "p06")])
    )
    text = " | ".join(involvement_job(ctx).attention)
    assert "p05, p06 shortlist but will not interview" in text  # as 'corecruit check' says


def test_expressions_of_interest_land_in_people_never_in_panel(ctx: Context) -> None:
    _add(
        ctx,
        "expressions_of_interest",
        [
            {
                "response_id": "e1",
                "person_id": "p07",
                "submitted_at": T,
                "interested": "yes",
                "access_requirements": "Hearing loop; ACCESS-SECRET-7",
                "reward_choice": "vouchers",
                "introduction": "Sam, who has lived experience of mental health support",
                "team_experience": True,
                "unavailable": "2027-02-09 09:00-12:00",
            },
            {
                "response_id": "e2",
                "person_id": "p06",
                "submitted_at": T,
                "interested": "no",
                "access_requirements": "ACCESS-SECRET-6",
            },
        ],
    )
    res = involvement_job(ctx)
    assert any("1 expression(s) of interest copied" in a for a in res.attention)
    st = ctx.stores.staff
    st.forget()
    people = st.read_one("people").set_index("person_id")
    assert people.loc["p07", "access_requirements"] == "Hearing loop; ACCESS-SECRET-7"
    assert people.loc["p07", "reward_choice"] == "vouchers"
    assert people.loc["p06", "access_requirements"] != "ACCESS-SECRET-6"  # said no: not copied
    eoi = st.read_one("expressions_of_interest")
    assert eoi["copied_at"].notna().all()
    inv = st.read_one("involvement")
    assert set(inv[inv.stage == "expression of interest"]["person_id"]) == {"p06", "p07"}
    # a rerun copies nothing again
    assert not any("copied" in a for a in involvement_job(ctx).attention)
    # the panel workbook never gets access data, whatever else runs
    from automations.jobs.questions import agree_job, propose_job
    from automations.jobs.scoresheets import scoresheets_job

    propose_job(ctx)
    for d, who in (("d1", "p01"), ("d2", "p07")):
        st.forget()
        st.upsert(
            "question_drafts", pd.DataFrame([{"draft_id": d, "decision": "agree", "asker": who}])
        )
    agree_job(ctx)
    give_letters(ctx)
    scoresheets_job(ctx, "shortlisting")
    panel_file = ctx.settings.workspace / ctx.campaign.id / "panel.xlsx"
    _assert_no_access_data(
        panel_file, ["ACCESS-SECRET", "Hearing loop", "Large print papers", "Step-free access"]
    )
    for f in (ctx.settings.workspace / ctx.campaign.id / "score_sheets").glob("*.html"):
        assert "ACCESS-SECRET" not in f.read_text() and "Hearing loop" not in f.read_text()


def _assert_no_access_data(path: Path, needles: list[str]) -> None:
    """Scan every cell of every sheet of the panel workbook with a second reader."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    seen = 0
    for name in wb.sheet_names:
        for row in wb.get_sheet_by_name(name).to_python():
            for cell in row:
                seen += 1
                for n in needles:
                    assert n not in str(cell), (name, n)
    assert seen > 50  # it really read the workbook


def test_extra_evidence_beside_scores_and_counted_only_when_configured(
    ctx: Context, config_dir: Path
) -> None:
    give_letters(ctx)
    _add(
        ctx,
        "results",
        [
            {"stage": "interview", "candidate_letter": "A", "overall_score": Decimal("60.0")},
            {"stage": "interview", "candidate_letter": "B", "overall_score": Decimal("70.0")},
        ],
    )
    _add(
        ctx,
        "extra_evidence",
        [
            {
                "evidence_id": "e1",
                "candidate_letter": "A",
                "reviewer": "p07",
                "kind": "portfolio",
                "view": "Clear, warm writing.",
                "score": Decimal(4),
            },
            {
                "evidence_id": "e2",
                "candidate_letter": "a",
                "reviewer": "p06",
                "kind": "portfolio",
                "view": "Good examples.",
                "score": Decimal(2),
            },
            {
                "evidence_id": "e3",
                "candidate_letter": "B",
                "reviewer": "p07",
                "kind": "work sample",
                "view": "No score given.",
            },
        ],
    )
    res = evidence_job(ctx)
    assert "not counted" in res.detail
    summary = ctx.stores.staff.read_one("evidence_summary").set_index("candidate_letter")
    assert summary.loc["A", "evidence_score"] == Decimal("75.0")
    assert summary.loc["A", "overall_score"] == Decimal("60.0")
    assert summary.loc["A", "reviews"] == 2 and not summary.loc["A", "counts"]
    assert summary.loc["A", "score_with_evidence"] is None
    assert "portfolio: Clear, warm writing." in summary.loc["A", "views"]
    assert summary.loc["B", "evidence_score"] is None
    assert evidence_job(ctx).rows_written == 0  # rerun: nothing changes
    # the campaign says it counts: 20% of the score
    path = config_dir / "campaigns" / "example.toml"
    text = path.read_text()
    assert "counts_in_score = false" in text
    path.write_text(text.replace("counts_in_score = false", "counts_in_score = true"))
    out = CliRunner().invoke(main, ["--config", str(config_dir), "evidence"])
    assert out.exit_code == 0, out.output
    assert "counts for 20% of the score" in out.output
    ctx.stores.staff.forget()
    summary = ctx.stores.staff.read_one("evidence_summary").set_index("candidate_letter")
    assert summary.loc["A", "score_with_evidence"] == Decimal("63.0")  # 60*0.8 + 75*0.2


def test_bad_evidence_rows_named(ctx: Context) -> None:
    give_letters(ctx)
    _add(
        ctx,
        "extra_evidence",
        [
            {"evidence_id": "e1", "candidate_letter": "Q", "reviewer": "p07", "view": "x"},
            {
                "evidence_id": "e2",
                "candidate_letter": "A",
                "reviewer": "p77",
                "view": "x",
                "score": Decimal(9),
            },
        ],
    )
    with pytest.raises(SheetProblems) as exc:
        evidence_job(ctx)
    assert [(p.row, p.column) for p in exc.value.problems] == [
        (2, "candidate_letter"),
        (3, "reviewer"),
        (3, "score"),
    ]


def test_extra_evidence_in_the_decision_pack(ctx: Context, config_dir: Path) -> None:
    from automations.reports.decision_pack import write_pack
    from tests.merge_support import grid

    give_letters(ctx)
    interviewers = ["p01", "p02", "p03", "p05", "p06", "p07"]
    qids = [q.id for q in ctx.campaign.questions]
    _add(
        ctx,
        "raw_scores",
        grid(interviewers, ["A", "B"], qids, lambda p, x, q: 3 if x == "A" else 2),
    )
    _add(
        ctx,
        "extra_evidence",
        [
            {
                "evidence_id": "e1",
                "candidate_letter": "A",
                "reviewer": "p07",
                "kind": "portfolio",
                "view": "Warm, clear <b>writing</b>.",
                "score": Decimal(4),
            }
        ],
    )
    html = write_pack(ctx, "staff").read_text()
    assert "Extra evidence" in html and "scored it 100.0 out of 100" in html
    assert "Warm, clear &lt;b&gt;writing&lt;/b&gt;." in html
    assert "it is not counted in them" in html
    path = config_dir / "campaigns" / "example.toml"
    path.write_text(path.read_text().replace("counts_in_score = false", "counts_in_score = true"))
    from automations.config import load_settings

    ctx.settings = load_settings(config_dir)
    ctx.campaign = ctx.settings.campaign(None)
    html = write_pack(ctx, "staff").read_text()
    # the panels' 75.0 with the evidence's 100.0 at 20%: 80.0
    assert "It counts for 20% of the score: with it, the score is 80.0." in html
