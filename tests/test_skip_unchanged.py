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
from automations.runner import JOBS, Runner, RunRecord, job_inputs
from automations.store import TableStore, make_frame
from automations.workspace import init_campaign
from tests.review_support import mark_reviewed
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
        inputs = job_inputs(job)
        if inputs is None:
            continue  # never skipped
        declared = set(inputs.tabs) | set(inputs.rewritten)
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


# ------------------------------------------------------------ a run with nothing new

FORMS = {"forms_collect", "rewards", "coprod"}  # bring in answers from the forms inbox


def _settled(runner: Runner) -> list[RunRecord]:
    """Run every job until a run finds nothing new (a job that wrote runs once more)."""
    for _ in range(4):
        recs = runner.run_once()
        assert [r.outcome for r in recs] == ["ok"] * len(ALL), [(r.job, r.detail) for r in recs]
        if all(r.unchanged for r in recs if r.job != "remind"):
            return recs
    raise AssertionError("the jobs never settled")


def _ran(runner: Runner) -> set[str]:
    recs = runner.run_once()
    assert [r.outcome for r in recs] == ["ok"] * len(ALL), [(r.job, r.detail) for r in recs]
    return {r.job for r in recs if not r.unchanged}


@pytest.fixture
def settled(ctx: Context, settings: Settings) -> Runner:
    """The example campaign, reviewed, with every job run until nothing is new."""
    runner = Runner(settings, clock=ctx.clock)
    runner.run_once(["redact"])
    mark_reviewed(ctx)
    _settled(runner)
    return runner


def test_a_second_run_with_nothing_new_skips_every_job_but_remind(
    settled: Runner, settings: Settings
) -> None:
    folder = settings.workspace / CID
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.xlsx")}
    recs = settled.run_once()
    skipped = {r.job for r in recs if r.unchanged}
    assert skipped == set(ALL) - {"remind"}
    for r in recs:
        assert r.outcome == "ok" and r.rows_written == r.messages_sent == 0
        if r.unchanged:
            assert r.detail == "nothing new since 2027-01-25 09:00"
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.xlsx")} == before
    # status stays truthful: each skipped job's last run is this one, ok, nothing new
    runs = {j.job: j for j in settled.job_runs(CID)}
    assert runs["merge"].outcome == "ok" and runs["merge"].detail.startswith("nothing new")
    # a fresh runner (the next cron run) skips them too: the fingerprints are kept
    again = Runner(settings, clock=settled.clock).run_once()
    assert {r.job for r in again if r.unchanged} == skipped


def test_an_edit_to_an_input_tab_runs_exactly_the_jobs_that_read_it(
    settled: Runner, ctx: Context
) -> None:
    st = ctx.stores.staff
    st.forget()
    dates = st.read_one("dates")  # read by forms_push, rewards, timetable and coprod
    dates.iloc[0, dates.columns.get_loc("venue")] = "Room 2, the Town Hall"
    st.write({"dates": dates})
    assert _ran(settled) == {"forms_push", "rewards", "timetable", "coprod", "remind"}
    st.forget()
    att = st.tab("attendance")  # read by rewards and coprod
    st.append("attendance", make_frame(att, [{"person_id": "p03", "activity": "shortlisting"}]))
    assert _ran(settled) == {"rewards", "coprod", "remind"}
    _settled(settled)  # and then each settles


def test_a_config_change_runs_every_job(settled: Runner, config_dir: Path) -> None:
    path = config_dir / "campaigns" / "example.toml"
    text = path.read_text()
    assert "[campaign]\n" in text
    assert text.endswith('"Surname" = "last_name"\n')  # the header_map is the last section
    path.write_text(text + '"Mobile" = "phone"\n')
    runner = Runner(load_settings(config_dir), clock=settled.clock)
    try:
        assert _ran(runner) == set(ALL)
    finally:
        path.write_text(text)


def test_a_new_answer_in_the_local_inbox_runs_the_jobs_that_bring_answers_in(
    settled: Runner, ctx: Context
) -> None:
    from tests.forms_support import provider

    inbox = provider(ctx).inbox
    form = next(iter(inbox.forms().values()))
    inbox.submit(
        form_key=form.spec.key,
        person_id=form.spec.person_id,
        token_id=form.token_id,
        answers={},
        nonce="one",
        now=dt.datetime(2027, 1, 25, 9, 5, tzinfo=dt.UTC),
    )
    assert _ran(settled) == FORMS | {"remind"}


def test_a_clock_driven_job_is_never_skipped_and_a_dated_one_runs_on_a_new_day(
    settled: Runner, ctx: Context
) -> None:
    clock = Clock(dt.datetime(2027, 1, 25, 17, 0))
    later = Runner(settled.settings, clock=clock)
    assert _ran(later) == {"remind"}
    clock.t = dt.datetime(2027, 1, 26, 9, 0)
    assert _ran(later) == {"forms_push", "rewards", "timetable", "remind"}


def test_commands_run_by_hand_always_run(settled: Runner, ctx: Context) -> None:
    from automations.jobs.merge import merge_job

    res = settled.by_hand(ctx, "merge", lambda: merge_job(ctx))
    assert "nothing new" not in res.detail
    assert settled.state.entry(CID, "merge")["last_detail"].endswith("(run by hand)")


@pytest.mark.slow
def test_on_google_the_fingerprint_costs_no_extra_call(
    config_dir: Path, google_emulator: Any, google_key_file: Path, tmp_path: Path
) -> None:
    """The same first weeks on emulated Google, with and without the skip: no job run
    ever makes more calls with it (the job reuses what the fingerprint read; a job
    skipped makes only its reads). Jobs that ask Google Forms are never skipped there."""
    import json
    import shutil

    from tests.google_emulator.core import Emulator
    from tests.test_end_to_end import first_weeks, google_config, google_submit, make_google_story

    plain = make_google_story(
        google_emulator, google_config(config_dir, google_key_file), google_key_file
    )
    plain.runner.skip_unchanged = False
    without = first_weeks(plain, google_submit(google_emulator))

    emu = Emulator().start()
    try:
        other = tmp_path / "skip" / "config"
        shutil.copytree(Path(__file__).resolve().parent.parent / "config", other)
        key = tmp_path / "skip" / "key.json"
        key.write_text(json.dumps(emu.service_account_info()))
        story = make_google_story(emu, google_config(other, key), key)
        with_skip = first_weeks(story, google_submit(emu))
    finally:
        emu.stop()
    assert not emu.errors
    assert with_skip.keys() == without.keys()
    for job, calls in with_skip.items():
        assert all(a <= b for a, b in zip(calls, without[job], strict=True)), (
            job,
            calls,
            without[job],
        )
    skipped = {r.job for r in story.records if r.unchanged}
    assert skipped and not skipped & {"forms_push", "forms_collect", "rewards", "coprod"}
