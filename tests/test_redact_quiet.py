"""Redact after a run that wrote nothing (issue 17): when its own inputs (applications,
candidate key, redaction report, the panel's applications, config, code) are as then and
the review gate is open, the panel's progress (Form links, Messages sent, Raw scores)
changes nothing it makes, so it reads nothing and says what that run said. Anything of
its own changed, or the gate shut, and it works everything out as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from automations.config import Settings
from automations.context import Context, make_context
from automations.jobs import redact as job
from automations.runner import Runner
from automations.store import make_frame
from automations.workspace import init_campaign
from tests.review_support import mark_reviewed, no_review_gate


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the runs that worked the output out (read and planned)."""
    seen: list[int] = []
    real = job.plan_redaction

    def counted(*a: Any, **k: Any) -> Any:
        seen.append(1)
        return real(*a, **k)

    monkeypatch.setattr(job, "plan_redaction", counted)
    return seen


def _panel_moves(ctx: Context, n: int) -> None:
    """The panel's progress: a new form link (what forms_push writes)."""
    st = ctx.stores.staff
    links = st.read_one("form_links", errors="collect")
    row = {"person_id": f"p0{n}", "stage": "shortlisting", "candidate_order": "A, B"}
    st.write({"form_links": make_frame(st.tab("form_links"), [*links.to_dict("records"), row])})


def _run(settings: Settings) -> Any:
    rec = Runner(settings).run_job("peer-support-2027", "redact")
    assert rec.outcome == "ok", rec.detail
    return rec


def test_the_panels_progress_alone_reads_nothing(
    config_dir: Any, planned: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from automations.config import load_settings

    settings = load_settings(no_review_gate(config_dir))
    ctx = make_context(settings)
    init_campaign(ctx, example=True)
    first = _run(settings)  # letters, report and panel written
    assert first.rows_written and len(planned) == 1
    settled = _run(settings)  # once more: nothing to write (and this is kept)
    assert not settled.rows_written and len(planned) == 2

    _panel_moves(ctx, 7)
    reads: list[str] = []
    real = type(ctx.stores.staff).read

    def read(self: Any, tabs: Any, **kw: Any) -> Any:
        reads.extend(tabs)
        return real(self, tabs, **kw)

    monkeypatch.setattr(type(ctx.stores.staff), "read", read)
    quiet = _run(settings)
    assert not quiet.unchanged  # the runner ran it (one of its inputs changed)
    assert len(planned) == 2  # nothing planned, and none of its tabs read
    assert not set(reads) & {*job.STAFF_TABS, *job.STARTED}
    assert (quiet.detail, quiet.rows_written) == (settled.detail, 0)
    assert quiet.notes == settled.notes

    # an application changed: worked out again
    st = ctx.stores.staff
    apps = st.read_one("applications", errors="collect")
    first_answer = next(c for c in apps.columns if c.startswith("answer"))
    apps.loc[apps.index[0], first_answer] = "I changed my answer about the role."
    st.write({"applications": apps})
    _run(settings)
    assert len(planned) == 3


def test_with_the_review_gate_shut_the_panels_progress_counts(
    settings: Settings, planned: list[int]
) -> None:
    ctx = make_context(settings)
    init_campaign(ctx, example=True)  # the example asks for a check: the gate is shut
    _run(settings)
    _run(settings)
    assert len(planned) == 2
    led = ctx.stores.staff.sync.ledger if ctx.stores.staff.sync else None
    assert led is not None and '"open": false' in (led.mark("staff", job.QUIET_MARK) or "")
    _panel_moves(ctx, 7)  # the panel has started: it may change what is held back
    _run(settings)
    assert len(planned) == 3
    assert mark_reviewed(ctx) > 0  # checked: the report changed, worked out again
    _run(settings)
    assert len(planned) == 4
