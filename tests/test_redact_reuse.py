"""Redact scrubs only what changed (issue 17): an application whose cells, letter and the
code are as at the last run is taken from the ledger's record, with the same output."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from automations.context import Context
from automations.jobs import redact as job
from automations.jobs.redact import KNOWN_MARK, load_known, redact_job
from automations.transforms import redact as tr
from automations.transforms.redact import anonymise, assign_letters
from tests.review_support import no_review_gate
from tests.test_redact_job import corpus_rows, panel_rows


@pytest.fixture
def config_dir(config_dir: Any) -> Any:
    return no_review_gate(config_dir)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts applications scrubbed afresh (each one's identity is worked out once)."""
    seen: list[int] = []
    real = tr.identity_of

    def counted(*a: Any, **k: Any) -> Any:
        seen.append(1)
        return real(*a, **k)

    monkeypatch.setattr(tr, "identity_of", counted)
    return seen


def _apps(n: int) -> pd.DataFrame:
    apps = pd.DataFrame(corpus_rows(n)).assign(status="")
    apps.index = pd.Index(range(2, len(apps) + 2), name="row")
    return apps


def _letters(apps: pd.DataFrame) -> dict[str, str]:
    empty = pd.DataFrame(columns=["application_id", "candidate_letter", "retired", "assigned_at"])
    return assign_letters(apps, empty, campaign_id="c", order="submission").active()


def test_unchanged_rows_are_reused_and_give_the_same_output() -> None:
    apps = _apps(8)
    letters = _letters(apps)
    first = anonymise(apps, letters, known={}, salt="v1")
    assert first.scrubbed == set(letters) and set(first.done) == set(letters)
    again = anonymise(apps, letters, known=first.done, salt="v1")
    assert again.scrubbed == set()
    pd.testing.assert_frame_equal(again.panel, first.panel)
    pd.testing.assert_frame_equal(again.report, first.report)
    assert again.attention == first.attention


def test_a_changed_cell_or_new_code_scrubs_again() -> None:
    apps = _apps(8)
    letters = _letters(apps)
    first = anonymise(apps, letters, known={}, salt="v1")
    changed = apps.copy()
    app = str(changed.iloc[3]["application_id"])
    changed.iloc[3, changed.columns.get_loc("answer_1")] = (
        f"I am {changed.iloc[3]['first_name']} and I like gardens."
    )
    # a name cell alone changes what must be taken out of the answers
    other = str(changed.iloc[5]["application_id"])
    changed.iloc[5, changed.columns.get_loc("last_name")] = "Gardens"
    again = anonymise(changed, letters, known=first.done, salt="v1")
    assert again.scrubbed == {app, other}
    fresh = anonymise(changed, letters)
    pd.testing.assert_frame_equal(again.panel, fresh.panel)
    pd.testing.assert_frame_equal(again.report, fresh.report)
    assert (
        "Candidate"
        in again.panel.loc[again.panel.candidate_letter == letters[app]].iloc[0]["answer_1"]
    )
    assert anonymise(apps, letters, known=first.done, salt="v2").scrubbed == set(letters)
    style = anonymise(apps, letters, known=first.done, salt="v1", label_style="the candidate")
    assert style.scrubbed == set(letters)


def _job_rows(ctx: Context) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    staff = ctx.stores.staff
    return (
        panel_rows(ctx),
        staff.read_one("redaction_report"),
        staff.read_one("candidate_key"),
    )


def test_job_scrubs_only_the_changed_application_and_matches_a_full_run(
    ctx: Context, builds: list[int]
) -> None:
    staff = ctx.stores.staff
    assert staff.sync is not None
    led = staff.sync.ledger
    redact_job(ctx)
    assert len(builds) == 6
    assert len(load_known(led.mark(staff.spec.name, KNOWN_MARK))) == 6
    redact_job(ctx)  # nothing changed: nothing scrubbed, nothing written
    assert len(builds) == 6
    apps = staff.read_one("applications")
    apps.loc[apps.application_id == "0002", "answer_2"] = "I learnt to listen, said my mum."
    staff.write({"applications": apps})
    res = redact_job(ctx)
    assert len(builds) == 7 and "6 candidate(s) for the panel" in res.detail
    reused = _job_rows(ctx)
    led.set_mark(staff.spec.name, KNOWN_MARK, None)  # as before this change: all afresh
    redact_job(ctx)
    assert len(builds) == 13
    full = _job_rows(ctx)
    assert reused[0] == full[0]
    pd.testing.assert_frame_equal(reused[1], full[1])
    pd.testing.assert_frame_equal(reused[2], full[2])


def test_an_unreadable_record_scrubs_everything(ctx: Context, builds: list[int]) -> None:
    staff = ctx.stores.staff
    assert staff.sync is not None
    redact_job(ctx)
    before = _job_rows(ctx)
    staff.sync.ledger.set_mark(staff.spec.name, KNOWN_MARK, "not a record")
    assert load_known("not a record") == {}
    redact_job(ctx)
    assert len(builds) == 12
    after = _job_rows(ctx)
    assert after[0] == before[0]
    pd.testing.assert_frame_equal(after[1], before[1])


def test_new_code_scrubs_everything(
    ctx: Context, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    redact_job(ctx)
    monkeypatch.setattr(job, "code_version", lambda: "another version")
    redact_job(ctx)
    assert len(builds) == 12


def test_scores_and_messages_are_read_only_when_the_gate_could_hold(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw scores grows to many thousand rows; with nothing held it decides nothing."""
    staff = ctx.stores.staff
    asked: list[str] = []
    real = staff.read

    def read(tabs: list[str], **kw: Any) -> Any:
        asked.extend(tabs)
        return real(tabs, **kw)

    monkeypatch.setattr(staff, "read", read)
    res = redact_job(ctx)
    assert "applications" in asked and "6 candidate(s) for the panel" in res.detail
    assert not {"raw_scores", "sent_messages"} & set(asked)
    assert len(panel_rows(ctx)) == 6
