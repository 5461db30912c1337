"""The merge job on the local store: batches, idempotence, release gating, no names."""

from __future__ import annotations

import dataclasses
import gc
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.jobs.merge import gc_paused, merge_job
from automations.store import make_frame
from automations.transforms import merge as M
from tests.merge_support import grid, score

ROOT = Path(__file__).resolve().parent.parent

CRIT = ["c1", "c2", "c3", "c4"]
COUNCIL = ["p01", "p02"]
LIVED = ["p03", "p05", "p06", "p07"]
LETTERS = {"0001": "A", "0002": "B", "0003": "C", "0004": "D", "0005": "E", "0006": "F"}


def _seed_key(ctx: Context, retired: tuple[str, ...] = ()) -> None:
    spec = ctx.stores.staff.tab("candidate_key")
    ctx.stores.staff.append(
        "candidate_key",
        make_frame(
            spec,
            [
                {"application_id": a, "candidate_letter": lt, "retired": lt in retired}
                for a, lt in LETTERS.items()
            ],
        ),
    )


def _scores(ctx: Context, rows: list[dict[str, Any]]) -> None:
    spec = ctx.stores.staff.tab("raw_scores")
    ctx.stores.staff.forget()  # another process (the CLI) may have written since
    ctx.stores.staff.append("raw_scores", make_frame(spec, rows))


def _full_shortlisting(
    letters: tuple[str, ...] = ("A", "B", "C", "D", "E", "F"),
) -> list[dict[str, Any]]:
    # Council gives A..F 4,3,2,1,0,2; lived experience gives 2 everywhere.
    c = {lt: v for lt, v in zip(LETTERS.values(), [4, 3, 2, 1, 0, 2], strict=True)}
    rows = grid(COUNCIL, letters, CRIT, lambda p, lt, q: c[lt], stage="shortlisting")
    rows += grid(LIVED, letters, CRIT, 2, stage="shortlisting")
    for r in rows:
        r["response_id"] = f"{r['person_id']}-{r['candidate_letter']}"
    return rows


class Counter:
    """Counts backend calls (reads and writes) on both workbooks."""

    def __init__(self, ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        for name in ("staff", "panel"):
            store = getattr(ctx.stores, name)
            for prim in ("_read_grids", "_write_grids"):
                orig = getattr(store, prim)

                def wrapped(*a: Any, _o=orig, _n=name, _p=prim, **k: Any) -> Any:
                    self.calls.append((_n, _p))
                    return _o(*a, **k)

                monkeypatch.setattr(store, prim, wrapped)

    def writes(self) -> list[str]:
        return [n for n, p in self.calls if p == "_write_grids"]

    def reads(self) -> list[str]:
        return [n for n, p in self.calls if p == "_read_grids"]


def _results(ctx: Context) -> pd.DataFrame:
    ctx.stores.staff.forget()
    return ctx.stores.staff.read_one("results")


def _panel(ctx: Context) -> pd.DataFrame:
    ctx.stores.panel.forget()
    return ctx.stores.panel.read_one("shortlisting_results")


def test_merge_writes_results_reviewers_and_panel_in_one_batch_each(ctx, monkeypatch):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    count = Counter(ctx, monkeypatch)
    res = merge_job(ctx)
    assert count.reads() == ["staff", "panel"]
    assert count.writes() == ["staff", "panel"]
    results = _results(ctx)
    a = results[results["candidate_letter"] == "A"].iloc[0]
    # A: Council 100, lived experience 50 -> 75.00, 1st
    assert a["council_score"] == Decimal("100.00")
    assert a["lived_experience_score"] == Decimal("50.00")
    assert a["overall_score"] == Decimal("75.00")
    assert a["rank"] == 1
    assert "Each panel carries half" in a["explanation"]
    # C and F tie (Council 50, lived experience 50 -> 50.00)
    c = results[results["candidate_letter"] == "C"].iloc[0]
    assert c["rank"] == 3 and "Tied 3rd with candidate F" in c["flags"]
    reviewers = ctx.stores.staff.read_one("reviewers")
    assert sorted(reviewers["person_id"]) == sorted(COUNCIL + LIVED)
    panel = _panel(ctx)
    assert list(panel["candidate_letter"]) == ["A", "B", "C", "F", "D", "E"]
    assert "shown on the panel workbook" in res.detail


def test_rerun_changes_nothing_and_keeps_the_decision(ctx, monkeypatch):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    merge_job(ctx)
    staff = ctx.stores.staff
    results = _results(ctx)
    results.loc[results["candidate_letter"] == "A", "decision"] = "Invite to interview"
    staff.write({"results": results})
    count = Counter(ctx, monkeypatch)
    res = merge_job(ctx)
    assert count.writes() == []  # nothing changed: no write at all
    assert res.rows_written == 0
    after = _results(ctx)
    assert after.loc[after["candidate_letter"] == "A", "decision"].iloc[0] == "Invite to interview"
    pd.testing.assert_frame_equal(after, _results(ctx))


def test_backend_calls_do_not_grow_with_rows(ctx, monkeypatch):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting(("A",)))
    count = Counter(ctx, monkeypatch)
    merge_job(ctx)
    small = list(count.calls)
    _scores(ctx, _full_shortlisting())
    count.calls.clear()
    merge_job(ctx)  # 6 times the rows, and now complete, so the panel is written too
    big = list(count.calls)
    for calls in (small, big):
        assert [n for n, p in calls if p == "_read_grids"] == ["staff", "panel"]
        writes = [n for n, p in calls if p == "_write_grids"]
        assert len(writes) == len(set(writes))  # at most one write per workbook
    assert ("panel", "_write_grids") in big


def test_panel_workbook_waits_until_every_score_is_in(ctx):
    _seed_key(ctx)
    rows = _full_shortlisting()
    held = [r for r in rows if not (r["person_id"] == "p07" and r["candidate_letter"] == "F")]
    _scores(ctx, held)
    res = merge_job(ctx)
    assert len(_panel(ctx)) == 0
    assert "held back from the panel" in res.detail
    # Nothing anywhere in the panel workbook shows who scored what.
    wb = openpyxl.load_workbook(Path(ctx.stores.panel.location), read_only=True)
    cells = [
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    ]
    shown = [list(r) for r in wb["Shortlisting results"].iter_rows(values_only=True)]
    wb.close()
    assert len(shown) == 1  # the header row only
    assert not set(COUNCIL + LIVED) & set(cells)
    results = _results(ctx)
    f = results[results["candidate_letter"] == "F"].iloc[0]
    assert "p07 has not scored this candidate" in f["flags"]
    # p07 sends the last scores: now the panel sees the results (letters only).
    _scores(ctx, [r for r in rows if r not in held])
    merge_job(ctx)
    assert len(_panel(ctx)) == 6


def test_staff_can_release_early_or_never(ctx):
    _seed_key(ctx)
    rows = _full_shortlisting()
    _scores(ctx, rows[:-1])
    merge = ctx.campaign.merge
    ctx.campaign = ctx.campaign.model_copy(
        update={"merge": merge.model_copy(update={"released": True})}
    )
    merge_job(ctx)
    assert len(_panel(ctx)) == 6
    # Switching the release off again takes the results off the panel workbook.
    ctx.campaign = ctx.campaign.model_copy(
        update={"merge": merge.model_copy(update={"release_shortlisting_to_panel": False})}
    )
    _scores(ctx, rows[-1:])
    merge_job(ctx)
    assert len(_panel(ctx)) == 0


def test_panel_workbook_holds_no_names_and_no_ones_own_scores(ctx, config_dir):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    merge_job(ctx)
    staff = ctx.stores.staff
    staff.forget()
    frames = staff.read(["applications", "people"])
    secrets: set[str] = set()
    for _, a in frames["applications"].iterrows():
        for col in ("first_name", "last_name", "preferred_name", "email", "phone"):
            v = str(a[col] or "").strip()
            if len(v) > 2:
                secrets.add(v.casefold())
    people_ids = set(frames["people"]["person_id"])
    wb = openpyxl.load_workbook(Path(ctx.stores.panel.location), read_only=True)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            texts += [str(v).casefold() for v in row if v is not None]
    results_ws = wb["Shortlisting results"]
    result_cells = [str(v) for row in results_ws.iter_rows(values_only=True) for v in row if v]
    wb.close()
    leaks = [s for s in secrets if any(s in t for t in texts)]
    assert leaks == []
    assert not people_ids & set(result_cells)  # no person ids next to scores
    header = result_cells[:6]
    assert header[0] == "Candidate" and "Rank" in header


def test_supporting_worker_and_bad_rows_go_to_needs_attention_once(ctx):
    _seed_key(ctx)
    rows = _full_shortlisting(("A",))
    rows.append(score("p04", "A", "c1", 0, stage="shortlisting", response="sw"))
    rows.append(score("p01", "A", "c2", 9, stage="shortlisting", response="big", minutes=9))
    _scores(ctx, rows)
    # Put text in a score cell with a second writer (a person typing into the sheet): the
    # column is corecruit's, so the recorded score is put back (issue 17), and said so.
    path = Path(ctx.stores.staff.location)
    wb = openpyxl.load_workbook(path)
    ws = wb["Raw scores"]
    header = [c.value for c in ws[1]]
    ws.cell(row=3, column=header.index("Score") + 1, value="four")
    wb.save(path)
    ctx.stores.staff.forget()
    res = merge_job(ctx)
    assert "put back 1 cell(s) of its own columns in 'Raw scores'" in " ".join(
        ctx.stores.staff.notices
    )
    exc = ctx.stores.staff.read_one("exceptions")
    reasons = dict(zip(exc["source"], exc["reason"], strict=True))
    n = len(rows) + 1
    assert any("supporting workers" in r for r in reasons.values())
    assert "staff workbook, tab 'Raw scores', row 3, column 'Score'" not in reasons
    assert f"staff workbook, tab 'Raw scores', row {n}, column 'Score'" in reasons
    assert (
        "must be from 0 to 4"
        in reasons[f"staff workbook, tab 'Raw scores', row {n}, column 'Score'"]
    )
    assert len(exc) == 2
    assert any("not counted" in a for a in res.attention)
    for r in reasons.values():
        assert "Helen" not in r and "Price" not in r  # the supporting worker's name
    merge_job(ctx)
    assert len(ctx.stores.staff.read_one("exceptions")) == 2  # not listed twice


class Killed(BaseException):
    """Stands in for the process being killed at that line."""


@pytest.mark.parametrize("where", ["staff", "panel"])
def test_killed_at_a_write_then_rerun_gives_the_same_workbooks(ctx, monkeypatch, where, tmp_path):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    store = getattr(ctx.stores, where)

    def boom(*a: Any, **k: Any) -> None:
        raise Killed()

    with monkeypatch.context() as m:
        m.setattr(store, "_write_grids", boom)
        with pytest.raises(Killed):
            merge_job(ctx)
    if where == "staff":  # never half-written: the ledger holds the whole save, or none of it
        assert len(_results(ctx)) in (0, 6)
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    merge_job(ctx)
    got = (_results(ctx), _panel(ctx), ctx.stores.staff.read_one("reviewers"))
    merge_job(ctx)  # and once more: the same
    again = (_results(ctx), _panel(ctx), ctx.stores.staff.read_one("reviewers"))
    for x, y in zip(got, again, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert len(got[0]) == 6 and len(got[1]) == 6


def test_dry_run_writes_nothing(ctx, monkeypatch):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    count = Counter(ctx, monkeypatch)
    res = merge_job(ctx, dry_run=True)
    assert count.writes() == []
    assert "would update results, reviewers, shortlisting_results" in res.detail


def test_retired_letters_are_left_out(ctx):
    _seed_key(ctx, retired=("F",))
    _scores(ctx, _full_shortlisting())
    merge_job(ctx)
    assert "F" not in set(_results(ctx)["candidate_letter"])


def test_a_withdrawal_after_merging_clears_that_row(ctx):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    merge_job(ctx)
    staff = ctx.stores.staff
    staff.forget()
    key = staff.read_one("candidate_key")
    key.loc[key["candidate_letter"] == "F", "retired"] = True
    staff.write({"candidate_key": key})
    merge_job(ctx)
    results = _results(ctx)
    f = results[results["candidate_letter"] == "F"].iloc[0]
    assert f["overall_score"] is None and pd.isna(f["rank"])
    assert f["flags"].startswith("No longer merged")
    c = results[results["candidate_letter"] == "C"].iloc[0]
    assert "Tied" not in c["flags"]  # the tie with F is gone
    assert "F" not in set(_panel(ctx)["candidate_letter"])


def test_text_typed_in_a_corecruit_column_of_results_is_put_back_from_the_record(ctx):
    """Issue 17: corecruit's own columns come from its ledger, so a rank typed over by
    hand neither stops the job nor counts; the run says the cell was put back."""
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    merge_job(ctx)
    before = _results(ctx)
    path = Path(ctx.stores.staff.location)
    wb = openpyxl.load_workbook(path)
    ws = wb["Results"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("Rank") + 1, value="first")
    wb.save(path)
    ctx.stores.staff.forget()
    merge_job(ctx)
    pd.testing.assert_frame_equal(_results(ctx), before)
    assert "put back 1 cell(s) of its own columns in 'Results'" in " ".join(
        ctx.stores.staff.notices
    )


# --------------------------------------------------------------------------------- CLI


def _cli(config_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config_dir), *args])


def test_cli_merge_and_pack(ctx, config_dir):
    _seed_key(ctx)
    _scores(ctx, _full_shortlisting()[:-1])
    r = _cli(config_dir, "merge", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "dry run: nothing written" in r.output
    r = _cli(config_dir, "merge", "--staff-pack", str(config_dir / "s.html"))
    assert r.exit_code == 0, r.output
    assert "some scores missing" in r.output
    assert "Candidate A: Joy Hill" in (config_dir / "s.html").read_text()
    r = _cli(config_dir, "merge", "pack", "--staff")
    assert r.exit_code == 0, r.output
    staff_pack = ctx.settings.workspace / ctx.campaign.id / "decision-pack-staff.html"
    assert staff_pack.exists()
    html = staff_pack.read_text()
    assert "Candidate A: Joy Hill" in html
    assert "How each reviewer scores" in html
    # The panel version (the default: letters only) waits for every score or a release.
    r = _cli(config_dir, "merge", "pack")
    assert r.exit_code == 1
    assert "held back" in r.output
    _scores(ctx, _full_shortlisting()[-1:])
    r = _cli(config_dir, "merge", "pack", "--panel", "--out", str(config_dir / "p.html"))
    assert r.exit_code == 0, r.output
    html = (config_dir / "p.html").read_text()
    assert "Candidate A" in html and "Joy" not in html and "Hill" not in html
    assert "p01" not in html and "How each reviewer scores" not in html


def test_comment_text_stays_text_in_the_pack(ctx, config_dir):
    _seed_key(ctx)
    rows = _full_shortlisting()
    rows[0]["comment"] = '=HYPERLINK("http://x") <script>alert(1)</script>'
    _scores(ctx, rows)
    r = _cli(config_dir, "merge", "pack", "--staff")
    assert r.exit_code == 0, r.output
    html = (ctx.settings.workspace / ctx.campaign.id / "decision-pack-staff.html").read_text()
    assert "<script>alert" not in html
    assert "=HYPERLINK(&#34;http://x&#34;) &lt;script&gt;" in html


def test_results_record_fields_match_the_template(ctx):
    spec = ctx.stores.staff.tab("results")
    out = M.merge_scores(
        make_frame(ctx.stores.staff.tab("raw_scores"), _full_shortlisting()),
        ctx.stores.staff.read_one("people"),
        ctx.campaign,
    )
    recs = M.results_records(out)
    assert set(recs[0]) <= set(spec.column_ids)
    assert dataclasses.is_dataclass(out)


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_matches_an_uninterrupted_run(ctx, config_dir):
    """A real kill (SIGKILL) of `corecruit merge` in a child process, then a rerun."""
    import random
    import signal
    import subprocess
    import sys
    import time

    _seed_key(ctx)
    _scores(ctx, _full_shortlisting())
    folder = ctx.settings.workspace / ctx.campaign.id
    pristine = {p.name: p.read_bytes() for p in folder.glob("*.xlsx")}
    merge_job(ctx)
    want = (_results(ctx), _panel(ctx), ctx.stores.staff.read_one("reviewers"))
    rnd = random.Random(6)
    code = "import sys; from automations.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "--config", str(config_dir), "merge"]
    for name, data in pristine.items():  # how long an uninterrupted child takes here
        (folder / name).write_bytes(data)
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    whole = time.monotonic() - t0
    killed = 0
    for _ in range(4):
        for name, data in pristine.items():
            (folder / name).write_bytes(data)
        child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.3, 0.9) * whole)  # somewhere in the run, on a fast or slow machine
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        _, err = child.communicate()
        assert child.returncode in (0, -signal.SIGKILL), err.decode()
        ctx.stores.staff.forget()
        ctx.stores.panel.forget()
        merge_job(ctx)
        got = (_results(ctx), _panel(ctx), ctx.stores.staff.read_one("reviewers"))
        for x, y in zip(got, want, strict=True):
            pd.testing.assert_frame_equal(x, y)
        exc = ctx.stores.staff.read_one("exceptions")
        assert exc["exception_id"].is_unique
    assert killed >= 1


def test_the_merge_gives_the_garbage_collector_back_as_it_found_it():
    """The merge pauses cyclic collection while it works (issue 17), and only then."""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a merge that fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left off, as the caller had it
    finally:
        gc.enable()
