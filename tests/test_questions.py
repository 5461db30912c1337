"""Questions shaped together: criteria -> drafts -> advisors' views -> agreed set -> candidates."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.config import load_settings
from automations.config.models import Question
from automations.context import Context
from automations.errors import JobError, SheetProblems
from automations.jobs.questions import agree_job, collect_job, propose_job, send_pack_job
from automations.store import make_frame
from automations.transforms import questions as tq
from tests.remind_support import by_key, give_letters, outbox, set_status, text_of


def _views(ctx: Context, rows: list[dict[str, object]]) -> None:
    st = ctx.stores.staff
    st.forget()
    st.append(tq.VIEWS, make_frame(st.tab(tq.VIEWS), rows))


def _decide(ctx: Context, decisions: dict[str, dict[str, object]]) -> None:
    st = ctx.stores.staff
    st.forget()
    for d, v in decisions.items():  # one row at a time: only the cells staff typed change
        st.upsert(tq.DRAFTS, pd.DataFrame([{"draft_id": d, **v}]))


def test_bank_starts_with_the_guides_sample_questions() -> None:
    bank = tq.load_bank([tq.PACKAGED_BANK])
    texts = " ".join(b.text for b in bank)
    assert "who you are and why you're interested in this job" in texts
    assert "teased" in texts and "big challenge" in texts
    assert all(b.tests for b in bank)


def test_propose_covers_every_criterion_and_runs_once(ctx: Context) -> None:
    res = propose_job(ctx)
    assert res.rows_written == 6  # six people ask questions in the example
    drafts = ctx.stores.staff.read_one(tq.DRAFTS)
    covered = {c.strip() for cs in drafts["criteria"] for c in cs.split(",")}
    assert covered == {"c1", "c2", "c3", "c4"}
    assert len(set(drafts["text"])) == 6
    page = res.files[0].read_text()
    assert "Help us shape the interview questions" in page and page.count('class="item"') == 6
    again = propose_job(ctx)
    assert again.rows_written == 0 and "already proposed" in again.detail
    ctx.stores.staff.forget()
    assert len(ctx.stores.staff.read_one(tq.DRAFTS)) == 6


def test_fewer_panel_members_than_criteria_is_said() -> None:
    settings = load_settings(Path(__file__).resolve().parent.parent / "config")
    p = tq.propose(settings.campaign(None), tq.load_bank([tq.PACKAGED_BANK]), 2)
    assert len(p.drafts) == 4 and "4 criteria but 2 panel member" in p.notes[0]


def test_a_criterion_the_bank_does_not_fit_gets_its_own_question(settings) -> None:  # type: ignore[no-untyped-def]
    camp = settings.campaign(None)
    odd = camp.model_copy(
        update={
            "criteria": [
                *camp.criteria[:1],
                camp.criteria[0].model_copy(
                    update={"id": "c9", "text": "Holds a full UK driving licence"}
                ),
            ]
        }
    )
    p = tq.propose(odd, tq.load_bank([tq.PACKAGED_BANK]), 2)
    own = [d for d in p.drafts if d.criteria == ("c9",)]
    assert own and own[0].text.startswith("Can you tell us about your experience of holds a full")
    assert own[0].source == "written from criterion c9"


def test_collect_lines_views_up_side_by_side(ctx: Context) -> None:
    propose_job(ctx)
    t = dt.datetime(2027, 1, 20, 10, 0)
    _views(
        ctx,
        [
            {
                "response_id": "r1",
                "person_id": "p03",
                "draft_id": "d1",
                "choice": "keep",
                "submitted_at": t,
            },
            {
                "response_id": "r1",
                "person_id": "p03",
                "draft_id": "d2",
                "choice": "change",
                "wording": "What difference did you make for someone?",
                "submitted_at": t,
            },
            {
                "response_id": "r2",
                "person_id": "p05",
                "draft_id": "d2",
                "choice": "drop",
                "comment": "Too long",
                "submitted_at": t,
            },
            # p05 changes their mind later: the later view counts
            {
                "response_id": "r3",
                "person_id": "p05",
                "draft_id": "d2",
                "choice": "keep",
                "submitted_at": t + dt.timedelta(hours=1),
            },
            {
                "response_id": "r4",
                "person_id": "p06",
                "draft_id": "d99",
                "choice": "keep",
                "submitted_at": t,
            },
        ],
    )
    res = collect_job(ctx)
    assert any("row 6, column 'Draft'" in a for a in res.attention)
    drafts = ctx.stores.staff.read_one(tq.DRAFTS).set_index("draft_id")
    assert drafts.loc["d1", "keep_count"] == 1
    assert (
        drafts.loc["d2", "keep_count"],
        drafts.loc["d2", "change_count"],
        drafts.loc["d2", "drop_count"],
    ) == (1, 1, 0)
    assert drafts.loc["d2", "suggestions"] == "Grace: What difference did you make for someone?"
    page = res.files[0].read_text()
    assert "What difference did you make for someone?" in page and "Change 1" in page
    assert "Okafor" not in page  # people by the name they chose, never full names
    # rerun: same sheet, nothing rewritten
    assert collect_job(ctx).rows_written == 0


def _agree_all(ctx: Context) -> None:
    propose_job(ctx)
    _decide(
        ctx,
        {
            "d1": {"decision": "agree", "asker": "p01"},
            "d2": {
                "decision": "agree with changes",
                "agreed_text": "What difference have you made for someone you supported?",
                "asker": "p03",
            },
            "d3": {"decision": "agree", "asker": "p05"},
            "d4": {"decision": "drop"},
            "d5": {"decision": "agree", "asker": "p06"},
            "d6": {"decision": "agree", "asker": "p07"},
        },
    )


def test_agree_writes_campaign_and_panel_and_keeps_the_record(ctx: Context) -> None:
    path = ctx.settings.campaign_files[ctx.campaign.id]
    before = path.read_text()
    _agree_all(ctx)
    res = agree_job(ctx)
    assert "5 agreed question(s)" in res.detail
    after = path.read_text()
    # everything else in the file is as it was, comments included
    assert "[interviews]" in after and "# What is sent, to whom and when." in after
    assert before.split("[[questions]]")[0] in after
    data = tomllib.loads(after)
    qs = data["questions"]
    assert [q["id"] for q in qs] == ["q1", "q2", "q3", "q4", "q5"]
    assert qs[1]["text"] == "What difference have you made for someone you supported?"
    assert qs[1]["asker"] == "p03"
    # the context now runs on the agreed set
    assert [q.id for q in ctx.campaign.questions] == ["q1", "q2", "q3", "q4", "q5"]
    fresh = load_settings(ctx.settings.config_dir).campaign(None)
    old = tomllib.loads(before)
    assert (
        fresh.model_dump(exclude={"questions"})["interviews"]
        == ctx.campaign.model_dump()["interviews"]
    )
    assert old["reminders"] == data["reminders"]
    panel = ctx.stores.panel.read_one("questions")
    assert list(panel["question_id"]) == ["q1", "q2", "q3", "q4", "q5"]
    assert "Original wording:" in panel.iloc[1]["how_shaped"]
    assert panel.iloc[0]["asked_by"].startswith("Aisha")
    drafts = ctx.stores.staff.read_one(tq.DRAFTS).set_index("draft_id")
    assert drafts.loc["d4", "question_id"] == "" and drafts.loc["d5", "question_id"] == "q4"
    stamp = drafts.loc["d1", "agreed_at"]
    # rerun: the file is byte for byte the same, and nothing moves
    again = agree_job(ctx)
    assert "already had them" in again.detail
    assert path.read_text() == after
    ctx.stores.staff.forget()
    assert (
        ctx.stores.staff.read_one(tq.DRAFTS).set_index("draft_id").loc["d1", "agreed_at"] == stamp
    )


def test_agree_problems_are_named_and_nothing_is_written(ctx: Context) -> None:
    path = ctx.settings.campaign_files[ctx.campaign.id]
    before = path.read_text()
    propose_job(ctx)
    _decide(
        ctx,
        {
            "d1": {"decision": "agree"},  # no asker
            "d2": {"decision": "agree", "asker": "p04"},  # supporting worker
            "d3": {"decision": "agree with changes", "asker": "p05"},  # no wording
            "d4": {"decision": "agree", "asker": "p06", "criteria": "c1, c7"},
        },
    )
    with pytest.raises(SheetProblems) as exc:
        agree_job(ctx)
    where = [(p.row, p.column) for p in exc.value.problems]
    assert where == [(2, "asker"), (3, "asker"), (4, "agreed_text"), (5, "criteria")]
    assert path.read_text() == before
    assert len(ctx.stores.panel.read_one("questions")) == 6  # the example's, untouched


def test_agree_after_interview_scores_needs_force(ctx: Context) -> None:
    _agree_all(ctx)
    st = ctx.stores.staff
    st.append(
        "raw_scores",
        make_frame(
            st.tab("raw_scores"),
            [
                {
                    "response_id": "x",
                    "person_id": "p03",
                    "stage": "interview",
                    "candidate_letter": "A",
                    "question_id": "q1",
                    "score": Decimal(3),
                    "submitted_at": dt.datetime(2027, 2, 8, 11),
                }
            ],
        ),
    )
    with pytest.raises(JobError, match="--force"):
        agree_job(ctx)
    assert "5 agreed" in agree_job(ctx, force=True).detail


def test_replace_questions_without_any_and_with_awkward_text() -> None:
    text = '[campaign]\nid = "x"\n\n# keep me\n[dates]\na = 1\n'
    q = Question(
        id="q1",
        text='Say "hello" \\ then = + @',
        asker="p1",
        criteria=["c1"],
        weight=Decimal("1.5"),
    )
    out = tq.replace_questions(text, [q])
    data = tomllib.loads(out)
    assert data["questions"][0]["text"] == 'Say "hello" \\ then = + @'
    assert data["questions"][0]["weight"] == "1.5"
    assert "# keep me" in out and data["dates"] == {"a": 1}


# ------------------------------------------------------------------ candidate pack


def test_pack_goes_to_invited_candidates_once_and_corrected_when_changed(ctx: Context) -> None:
    give_letters(ctx)
    set_status(ctx, ["0001", "0002"], "invited")
    res = send_pack_job(ctx)
    assert res.messages_sent == 2
    msgs = by_key(outbox(ctx))
    assert set(msgs) == {
        "candidate-pack|0001|peer-support-2027|interview questions",
        "candidate-pack|0002|peer-support-2027|interview questions",
    }
    m = msgs["candidate-pack|0002|peer-support-2027|interview questions"]
    body = text_of(m)
    assert m["Subject"] == "Your interview questions for the Peer Support Worker job"
    assert "Dear Frank" in body
    for q in ctx.campaign.questions:
        assert q.text in body
    assert "Aisha, Team Manager in the Community Mental Health Team" in body  # chair first
    assert "Helen" in body  # the supporting worker is introduced too
    assert "Okafor" not in body and "Large print papers" not in body  # no access data
    att = [p for p in m.iter_attachments() if p.get_filename() == "interview-questions.html"]
    assert att and "Who will be on the panel" in att[0].get_content()
    # the page and the email come from the same data
    page = (
        ctx.settings.workspace / ctx.campaign.id / "questions" / "candidate-pack.html"
    ).read_text()
    for q in ctx.campaign.questions:
        assert q.text.replace("'", "&#39;") in page
    # run again: nothing
    again = send_pack_job(ctx)
    assert again.messages_sent == 0 and len(outbox(ctx)) == 2
    # the questions change: each candidate gets one corrected pack
    _agree_all(ctx)
    agree_job(ctx)
    res = send_pack_job(ctx)
    assert res.messages_sent == 2
    msgs = by_key(outbox(ctx))
    v2 = msgs["candidate-pack|0001|peer-support-2027|interview questions|v2"]
    assert v2["Subject"] == "Updated interview questions for the Peer Support Worker job"
    assert "What difference have you made" in text_of(v2)
    assert send_pack_job(ctx).messages_sent == 0


def test_pack_dry_run_and_cli(ctx: Context, config_dir: Path) -> None:
    give_letters(ctx)
    set_status(ctx, ["0003"], "invited")
    runner = CliRunner()
    out = runner.invoke(main, ["--config", str(config_dir), "questions", "send-pack", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "candidate-pack -> 0003 (candidate), v1" in out.output
    assert outbox(ctx) == []
    out = runner.invoke(main, ["--config", str(config_dir), "questions", "propose"])
    assert out.exit_code == 0 and "6 draft question(s)" in out.output
    out = runner.invoke(main, ["--config", str(config_dir), "questions", "agree"])
    assert out.exit_code == 3 and "no question is agreed yet" in out.output


def test_agree_killed_before_the_panel_write_is_finished_by_a_rerun(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _agree_all(ctx)
    panel = ctx.stores.panel
    real = panel.write

    def boom(frames: object) -> int:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(panel, "write", boom)
    with pytest.raises(KeyboardInterrupt):
        agree_job(ctx)
    monkeypatch.setattr(panel, "write", real)
    path = ctx.settings.campaign_files[ctx.campaign.id]
    written = path.read_text()
    assert len(ctx.stores.panel.read_one("questions")) == 6  # the old set, untouched
    res = agree_job(ctx)  # the rerun finishes the job
    assert path.read_text() == written
    panel.forget()
    assert list(panel.read_one("questions")["question_id"]) == ["q1", "q2", "q3", "q4", "q5"]
    assert "5 agreed" in res.detail
