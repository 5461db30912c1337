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
RANDOM_COLUMNS = {"Content", "Message-ID"}  # a hash of the text with its link; random
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


def _column(rows: list[list[str]], header: str) -> list[str]:
    j = rows[0].index(header)
    return [r[j] if j < len(r) else "" for r in rows[1:]]


def _names(snap: dict[str, Any]) -> dict[str, str]:
    """The random parts named by what they are: each form's id and link by person and
    stage, each response id by person, stage and order."""
    names: dict[str, str] = {}
    links = snap["staff/Form links"]
    for pid, stage, fid, url in zip(
        *(_column(links, h) for h in ("Person ID", "Stage", "Form ID", "Link")), strict=True
    ):
        names[fid] = f"<form {pid} {stage}>"
        names[url] = f"<link {pid} {stage}>"
    scores = snap["staff/Raw scores"]
    for rid, pid, stage in zip(
        *(_column(scores, h) for h in ("Response ID", "Person ID", "Stage")), strict=True
    ):
        names.setdefault(rid, f"<response {pid} {stage} {len(names)}>")
    return names


def _named(text: str, names: dict[str, str]) -> str:
    for old in sorted((k for k in names if k and k in text), key=len, reverse=True):
        text = text.replace(old, names[old])
    return text


def _same_names(snap: dict[str, Any]) -> dict[str, Any]:
    """The workbooks with their random parts named (see _names); the columns made from
    them (a message's content hash and Message-ID) left out."""
    names = _names(snap)
    out: dict[str, Any] = {}
    for tab, rows in snap.items():
        drop = {i for i, h in enumerate(rows[0] if rows else []) if h in RANDOM_COLUMNS}
        fixed = []
        for r in rows:
            cells = []
            for i, c in enumerate(r):
                c = _named(c, names)
                cells.append("<made from the above>" if i in drop and r is not rows[0] else c)
            fixed.append(cells)
        out[tab] = fixed
    return out


def _eml(settings: Settings, names: dict[str, str]) -> list[tuple[str, str, str]]:
    """The outbox: each message's key, recipients and subject (random parts named)."""
    out = []
    for p in sorted(settings.path(settings.org.mail.outbox).rglob("*.eml")):
        m = email.message_from_bytes(p.read_bytes())
        key = _named(str(m["X-Corecruit-Key"]).strip(), names)
        out.append((key, str(m["To"]), str(m["Subject"])))
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
    ra, rb = a.snapshot(), b.snapshot()
    assert _same_names(ra) == _same_names(rb)
    sent = _eml(plain, _names(ra))
    assert len(sent) > 40 and sent == _eml(with_skip, _names(rb))
    skipped = [r.job for r in b.records if r.unchanged]
    assert skipped and "remind" not in skipped
    assert not any(r.unchanged for r in a.records)
