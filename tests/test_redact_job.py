"""The redact job on real workbooks: letters, the panel file, reruns, crashes, CSV mode."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from automations.cli import main
from automations.context import Context
from automations.errors import SheetProblems
from automations.jobs.redact import redact_job
from automations.store import make_frame
from automations.store.local import LocalStore
from tests.data.redact_corpus import generate
from tests.review_support import no_review_gate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "sheets_templates" / "example" / "applications.csv"


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    """About letters and anonymised text, not the review gate (test_review_gate.py):
    applications reach the panel as if staff had checked them."""
    return no_review_gate(config_dir)


def staff_path(ctx: Context) -> Path:
    store = ctx.stores.staff
    assert isinstance(store, LocalStore)
    return store.path


def panel_path(ctx: Context) -> Path:
    store = ctx.stores.panel
    assert isinstance(store, LocalStore)
    return store.path


def key_of(ctx: Context) -> dict[str, tuple[str, bool]]:
    df = ctx.stores.staff.read_one("candidate_key")
    return {
        r.application_id: (r.candidate_letter, bool(r.retired) if r.retired is not pd.NA else False)
        for r in df.itertuples()
    }


def panel_rows(ctx: Context) -> list[dict[str, Any]]:
    return ctx.stores.panel.read_one("applications").to_dict("records")


def calamine_cells(path: Path) -> list[list[Any]]:
    """Every cell of every sheet, as a second reader sees them."""
    wb = CalamineWorkbook.from_path(str(path))
    out = []
    for name in wb.sheet_names:
        out += wb.get_sheet_by_name(name).to_python()
    return out


def add_applications(ctx: Context, rows: list[dict[str, Any]]) -> None:
    staff = ctx.stores.staff
    staff.append("applications", make_frame(staff.tab("applications"), rows))


def set_status(ctx: Context, app_id: str, status: str) -> None:
    staff = ctx.stores.staff
    df = staff.read_one("applications")
    df.loc[df.application_id == app_id, "status"] = status
    staff.write({"applications": df})


def corpus_rows(n: int, start: int = 100) -> list[dict[str, Any]]:
    rows = []
    for a in generate(n, seed=start):
        f = dict(a.fields)
        f.pop("emergency_contact_name", None)
        f["application_id"] = f"{start}-{f['application_id']}"
        f["date_of_birth"] = dt.date.fromisoformat(f["date_of_birth"])
        rows.append(f)
    return rows


# ------------------------------------------------------------------ the happy path


def test_letters_key_report_and_panel(ctx: Context) -> None:
    res = redact_job(ctx)
    key = key_of(ctx)
    assert sorted(letter for letter, _ in key.values()) == ["A", "B", "C", "D", "E", "F"]
    rows = panel_rows(ctx)
    assert [r["candidate_letter"] for r in rows] == ["A", "B", "C", "D", "E", "F"]
    joy = next(r for r in rows if r["candidate_letter"] == key["0001"][0])
    assert joy["answer_1"].startswith(f"My name is Candidate {key['0001'][0]} and I have used")
    assert "a joy to work with" in joy["answer_1"]
    assert "up the hill" in joy["answer_2"]
    report = ctx.stores.staff.read_one("redaction_report")
    assert set(report.application_id) == set(key)
    line = report[report.application_id == "0001"].iloc[0]
    assert line.removed == "own name: 1; referee name: 2; email: 1"
    assert res.rows_read == 6 and "6 candidate(s) for the panel" in res.detail


def test_panel_workbook_read_by_a_second_reader_holds_no_personal_data(ctx: Context) -> None:
    redact_job(ctx)
    staff = ctx.stores.staff.read_one("applications")
    cells = " ".join(str(c) for row in calamine_cells(panel_path(ctx)) for c in row)
    low = cells.lower()
    for r in staff.itertuples():
        for secret in (r.email, r.referee_1_email, r.postcode, r.ni_number):
            assert not secret or secret.lower() not in low
        digits = "".join(ch for ch in cells if ch.isdigit() or ch == " ")
        phone = "".join(ch for ch in r.phone if ch.isdigit())
        assert phone[-9:] not in digits.replace(" ", "")
        for name in (r.first_name, r.last_name, r.referee_1_name):
            assert f" {name} " not in f" {cells} "
        assert f"{r.first_name} {r.last_name}".lower() not in low
    # and the candidate key / report never went to the panel file
    wb = CalamineWorkbook.from_path(str(panel_path(ctx)))
    assert not {"Candidate key", "Redaction report", "candidate_key"} & set(wb.sheet_names)
    assert "application_id" not in low.replace(" ", "_")


def test_formula_looking_answers_stay_text(ctx: Context) -> None:
    redact_job(ctx)
    rows = panel_rows(ctx)
    texts = [r[c] for r in rows for c in r if c.startswith("answer_")]
    assert any(t.startswith("=HYPERLINK(") for t in texts)
    assert any(t.startswith("-I stay calm") for t in texts)
    wb = openpyxl.load_workbook(panel_path(ctx))
    ws = wb["Applications"]
    starts = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    risky = [c for c in starts if c.value.startswith(("=", "+", "-", "@"))]
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)
    cal = calamine_cells(panel_path(ctx))
    assert any(str(v).startswith("=HYPERLINK(") for row in cal for v in row)


# ------------------------------------------------------------------ idempotency


def test_rerun_keeps_letters_text_and_report(ctx: Context, fixed_now: dt.datetime) -> None:
    redact_job(ctx)
    key1, panel1 = key_of(ctx), panel_rows(ctx)
    report1 = ctx.stores.staff.read_one("redaction_report")
    ctx.clock = lambda: fixed_now + dt.timedelta(days=3)
    res = redact_job(ctx)
    assert key_of(ctx) == key1
    assert panel_rows(ctx) == panel1
    report2 = ctx.stores.staff.read_one("redaction_report")
    pd.testing.assert_frame_equal(report1, report2)
    assert "0 new letter(s)" in res.detail


def test_reviewer_kept_while_text_unchanged(ctx: Context) -> None:
    redact_job(ctx)
    staff = ctx.stores.staff
    rep = staff.read_one("redaction_report")
    rep["reviewed_by"] = "Priya"
    staff.write({"redaction_report": rep})
    redact_job(ctx)
    assert set(staff.read_one("redaction_report").reviewed_by) == {"Priya"}


def test_late_application_gets_the_next_free_letter(ctx: Context) -> None:
    redact_job(ctx)
    before = key_of(ctx)
    add_applications(ctx, corpus_rows(1))
    res = redact_job(ctx)
    after = key_of(ctx)
    assert {k: after[k] for k in before} == before
    (late,) = set(after) - set(before)
    assert after[late] == ("G", False)
    assert "1 new letter(s)" in res.detail
    assert [r["candidate_letter"] for r in panel_rows(ctx)][-1] == "G"


def test_withdrawn_application_leaves_the_panel_and_its_letter_is_retired(ctx: Context) -> None:
    redact_job(ctx)
    letter = key_of(ctx)["0002"][0]
    set_status(ctx, "0002", "withdrawn")
    res = redact_job(ctx)
    assert key_of(ctx)["0002"] == (letter, True)
    assert letter not in [r["candidate_letter"] for r in panel_rows(ctx)]
    assert "1 retired" in res.detail
    add_applications(ctx, corpus_rows(2))
    redact_job(ctx)
    letters = [v[0] for v in key_of(ctx).values()]
    assert letters.count(letter) == 1  # never given to anyone else
    assert sorted(letters, key=lambda s: (len(s), s))[-2:] == ["G", "H"]


def test_dry_run_writes_nothing(ctx: Context) -> None:
    before = (staff_path(ctx).read_bytes(), panel_path(ctx).read_bytes())
    res = redact_job(ctx, dry_run=True)
    assert res.detail.startswith("Dry run, nothing written: 6 candidate(s)")
    assert (staff_path(ctx).read_bytes(), panel_path(ctx).read_bytes()) == before


def test_shuffled_letters_follow_the_campaign_seed(ctx: Context) -> None:
    redact_job(ctx)
    first = key_of(ctx)
    # the same applications in a fresh key with the same seed: the same letters
    ctx.stores.staff.write({"candidate_key": ctx.stores.staff.read_one("candidate_key").iloc[0:0]})
    redact_job(ctx)
    assert key_of(ctx) == first
    info = ctx.campaign.campaign.model_copy(update={"seed": 1})
    ctx.campaign = ctx.campaign.model_copy(update={"campaign": info})
    ctx.stores.staff.write({"candidate_key": ctx.stores.staff.read_one("candidate_key").iloc[0:0]})
    redact_job(ctx)
    assert key_of(ctx) != first


def test_own_name_as_the_candidate(ctx: Context) -> None:
    info = ctx.campaign.campaign.model_copy(update={"own_name_as": "the candidate"})
    ctx.campaign = ctx.campaign.model_copy(update={"campaign": info})
    redact_job(ctx)
    texts = [r["answer_1"] for r in panel_rows(ctx)]
    assert any(t.startswith("My name is the candidate and") for t in texts)
    assert any(t.startswith("The candidate here.") for t in texts)
    assert not any("Candidate " in t for t in texts)


# ------------------------------------------------------------------ crashes


def test_crash_between_the_two_writes_then_rerun(ctx: Context, monkeypatch: Any) -> None:
    clean = ctx  # run once to learn what a clean run gives
    panel = ctx.stores.panel
    real_write = panel.write

    def boom(frames: Any) -> int:
        raise RuntimeError("power cut")

    monkeypatch.setattr(panel, "write", boom)
    with pytest.raises(RuntimeError):
        redact_job(clean)
    key_after_crash = key_of(ctx)
    assert len(key_after_crash) == 6  # the key was written first
    assert panel_rows(ctx) == []
    monkeypatch.setattr(panel, "write", real_write)
    redact_job(ctx)
    assert key_of(ctx) == key_after_crash
    assert len(panel_rows(ctx)) == 6


def test_crash_before_any_write_then_rerun_gives_the_same_letters(
    ctx: Context, monkeypatch: Any
) -> None:
    staff = ctx.stores.staff
    real = staff.write
    monkeypatch.setattr(staff, "write", lambda frames: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        redact_job(ctx)
    assert key_of(ctx) == {}
    monkeypatch.setattr(staff, "write", real)
    redact_job(ctx)
    once = key_of(ctx)
    staff.write({"candidate_key": staff.read_one("candidate_key").iloc[0:0]})
    redact_job(ctx)
    assert key_of(ctx) == once


KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from automations.config import load_settings
from automations.context import make_context
from automations.jobs.redact import redact_job
from automations.store.local import LocalStore
calls = {{"n": 0}}
real_save = LocalStore._save
def save(self, wb):
    calls["n"] += 1
    if calls["n"] == {kill_at}:
        if {mid_save}:
            import openpyxl.writer.excel as xl
            def half(*a, **k):
                os.kill(os.getpid(), signal.SIGKILL)
            xl.ExcelWriter.write_data = half
            os.fsync = half  # a fast save: the new file written, not yet renamed
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return real_save(self, wb)
LocalStore._save = save
ctx = make_context(load_settings({config!r}))
redact_job(ctx)
print("finished")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_at", "mid_save"),
    [(1, False), (1, True), (2, False), (2, True)],
    ids=["before staff save", "inside staff save", "before panel save", "inside panel save"],
)
def test_sigkill_at_each_write_then_rerun_matches_an_uninterrupted_run(
    ctx: Context, settings: Any, kill_at: int, mid_save: bool
) -> None:
    script = KILL_SCRIPT.format(
        root=str(ROOT), config=str(settings.config_dir), kill_at=kill_at, mid_save=mid_save
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert "finished" not in proc.stdout
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    redact_job(ctx)
    key = key_of(ctx)
    assert sorted(v[0] for v in key.values()) == list("ABCDEF")
    rows = panel_rows(ctx)
    assert [r["candidate_letter"] for r in rows] == list("ABCDEF")
    # the same as a run that was never interrupted (letters follow the seed)
    ctx.stores.staff.write({"candidate_key": ctx.stores.staff.read_one("candidate_key").iloc[0:0]})
    redact_job(ctx)
    assert key_of(ctx) == key and panel_rows(ctx) == rows


# ------------------------------------------------------------------ bad input


def test_missing_and_duplicate_ids_named_by_row_and_column_nothing_written(ctx: Context) -> None:
    staff = ctx.stores.staff
    df = staff.read_one("applications")
    df.loc[3, "application_id"] = ""
    df.loc[5, "application_id"] = "0001"
    staff.write({"applications": df})
    before = (staff_path(ctx).read_bytes(), panel_path(ctx).read_bytes())
    with pytest.raises(SheetProblems) as exc:
        redact_job(ctx)
    msg = str(exc.value)
    assert "tab 'Applications', row 3, column 'Application ID'" in msg
    assert "tab 'Applications', row 5, column 'Application ID'" in msg
    for secret in ("Hill", "Bell", "example.com", "07700"):
        assert secret not in msg
    assert (staff_path(ctx).read_bytes(), panel_path(ctx).read_bytes()) == before


def test_an_answer_column_the_panel_has_no_place_for_is_named(ctx: Context) -> None:
    wb = openpyxl.load_workbook(staff_path(ctx))
    ws = wb["Applications"]  # staff added a column the campaign does not have
    col = ws.max_column + 1
    ws.cell(row=1, column=col, value="Answer 5")
    ws.cell(row=2, column=col, value="Joy Hill again")
    wb.save(staff_path(ctx))
    ctx.stores.staff.forget()
    with pytest.raises(SheetProblems) as exc:
        redact_job(ctx)
    assert "tab 'Applications', column 'Answer 5'" in str(exc.value)
    assert "Joy" not in str(exc.value)


def test_a_name_that_is_ordinary_words_in_lower_case_does_not_stop_the_job(
    ctx: Context,
) -> None:
    add_applications(
        ctx,
        [{"application_id": "0100", "first_name": "Will", "last_name": "Hope",
          "answer_1": "I will hope for the best and Will Hope signs this.", "status": "received"}],
    )  # fmt: skip
    redact_job(ctx)
    letter = key_of(ctx)["0100"][0]
    row = next(r for r in panel_rows(ctx) if r["candidate_letter"] == letter)
    assert row["answer_1"] == f"I will hope for the best and Candidate {letter} signs this."


def test_leak_guard_stops_before_writing(ctx: Context, monkeypatch: Any) -> None:
    import automations.jobs.redact as job

    real = job.anonymise

    def leaky(apps: pd.DataFrame, letters: Any, **kw: Any) -> Any:
        out = real(apps, letters, **kw)
        row = out.panel.index[out.panel.candidate_letter == letters["0002"]][0]
        out.panel.loc[row, "answer_1"] = "write to frank.bell@example.com"
        return out

    monkeypatch.setattr(job, "anonymise", leaky)
    before = panel_path(ctx).read_bytes()
    with pytest.raises(SheetProblems) as exc:
        redact_job(ctx)
    assert "row 3, column 'Answer 1'" in str(exc.value) and "frank" not in str(exc.value)
    assert panel_path(ctx).read_bytes() == before


def test_logs_hold_no_personal_data(ctx: Context, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    res = redact_job(ctx)
    text = caplog.text + res.detail + " ".join(res.attention)
    for secret in ("Joy", "Hill", "Bell", "Mensah", "example.com", "07700", "DN1"):
        assert secret not in text


# ------------------------------------------------------------------ API economy


def test_backend_calls_do_not_grow_with_applications(ctx: Context, monkeypatch: Any) -> None:
    counts: dict[str, int] = {"read": 0, "write": 0}
    for store in (ctx.stores.staff, ctx.stores.panel):
        for prim, name in (("_read_grids", "read"), ("_write_grids", "write")):
            real = getattr(store, prim)

            def counted(*a: Any, _real: Any = real, _name: str = name) -> Any:
                counts[_name] += 1
                return _real(*a)

            monkeypatch.setattr(store, prim, counted)
    redact_job(ctx)
    small = dict(counts)
    add_applications(ctx, corpus_rows(60))
    counts.update(read=0, write=0)
    res = redact_job(ctx)
    assert counts == small == {"read": 2, "write": 2}
    assert res.api_calls == 4 and "60 new letter(s)" in res.detail
    # nothing changed: two reads, no write
    counts.update(read=0, write=0)
    assert redact_job(ctx).api_calls == 2
    assert counts == {"read": 2, "write": 0}


# ------------------------------------------------------------------ CLI and CSV mode


def test_cli_redact_and_report(ctx: Context, settings: Any) -> None:
    runner = CliRunner()
    cfg = ["--config", str(settings.config_dir)]
    out = runner.invoke(main, [*cfg, "redact", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "Dry run, nothing written" in out.output
    out = runner.invoke(main, [*cfg, "redact"])
    assert out.exit_code == 0 and "6 candidate(s) for the panel" in out.output
    out = runner.invoke(main, [*cfg, "redact", "report"])
    assert out.exit_code == 0
    assert "0001  Candidate" in out.output and "own name: 1" in out.output
    assert "still to check" in out.output
    assert "Hill" not in out.output and "example.com" not in out.output


def test_cli_problem_exit_code(ctx: Context, settings: Any) -> None:
    staff = ctx.stores.staff
    df = staff.read_one("applications")
    df.loc[4, "application_id"] = ""
    staff.write({"applications": df})
    out = CliRunner().invoke(main, ["--config", str(settings.config_dir), "redact"])
    assert out.exit_code == 3
    assert "row 4, column 'Application ID'" in out.output


def test_csv_mode_keeps_letters_and_neutralises_formulas(tmp_path: Path) -> None:
    runner = CliRunner()
    out_csv, key_csv, rep_csv = tmp_path / "out.csv", tmp_path / "key.csv", tmp_path / "rep.csv"
    args = ["redact", "--from-csv", str(EXAMPLE), "--to-csv", str(out_csv), "--key-csv",
            str(key_csv), "--report-csv", str(rep_csv)]  # fmt: skip
    res = runner.invoke(main, ["--config", str(tmp_path / "none"), *args])
    assert res.exit_code == 0, res.output
    first_key = key_csv.read_text()
    panel = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert list(panel.columns) == [
        "candidate_letter",
        "answer_1",
        "answer_2",
        "answer_3",
        "answer_4",
    ]
    text = out_csv.read_text()
    assert "Hill" not in text and "@example.com" not in text and "07700" not in text
    assert "'=HYPERLINK(" in text and "'-I stay calm" in text
    # a late application in the CSV: old letters kept, one new
    apps = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    late = apps.iloc[[0]].assign(application_id="0099", first_name="Ola", last_name="Nowak")
    pd.concat([apps, late]).to_csv(tmp_path / "more.csv", index=False)
    args[2] = str(tmp_path / "more.csv")
    res = runner.invoke(main, ["--config", str(tmp_path / "none"), *args])
    assert res.exit_code == 0, res.output
    new_key = pd.read_csv(key_csv, dtype=str, keep_default_na=False)
    old_key = pd.read_csv(pd.io.common.StringIO(first_key), dtype=str, keep_default_na=False)
    merged = new_key.merge(old_key, on="application_id", suffixes=("", "_old"))
    assert (merged.candidate_letter == merged.candidate_letter_old).all()
    assert new_key.set_index("application_id").loc["0099", "candidate_letter"] == "G"
    report = pd.read_csv(rep_csv, dtype=str, keep_default_na=False)
    assert "Hill" not in report.to_string()


def test_csv_mode_understands_staff_headers_and_names_a_bad_date(tmp_path: Path) -> None:
    apps = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    labels = {
        "application_id": "Application ID",
        "first_name": "First name",
        "last_name": "Last name",
        "date_of_birth": "Date of birth",
        "answer_3": "Answer 3",
    }
    apps = apps.rename(columns=labels)
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    apps.to_csv(src, index=False)
    res = CliRunner().invoke(main, ["--config", str(tmp_path / "none"), "redact", "--from-csv",
                                    str(src), "--to-csv", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "born on [date of birth]" in text and "Mensah" not in text
    apps.loc[2, "Date of birth"] = "sometime in spring"
    apps.to_csv(src, index=False)
    res = CliRunner().invoke(main, ["--config", str(tmp_path / "none"), "redact", "--from-csv",
                                    str(src), "--to-csv", str(out)])  # fmt: skip
    assert res.exit_code == 3
    assert "row 4, column 'Date of birth'" in res.output and "spring" not in res.output


# ------------------------------------------------------------------ Google path


def test_on_google_raw_text_flat_calls_and_faults_survived(
    google_ctx: Any, google_emulator: Any
) -> None:
    ctx = google_ctx
    ctx.stores.staff.forget()
    ctx.stores.panel.forget()
    google_emulator.reset_counts()
    google_emulator.fail(
        429, retry_after=1, times=1, match="sheets.spreadsheets.values.batchUpdate"
    )
    google_emulator.fail(503, times=1, match="sheets.spreadsheets.values.batchGet")
    redact_job(ctx)
    assert not google_emulator.faults  # met and retried
    first_gets = google_emulator.calls("sheets.spreadsheets.values.batchGet")
    first_sets = google_emulator.calls("sheets.spreadsheets.values.batchUpdate")
    ctx.stores.panel.forget()
    rows = panel_rows(ctx)
    assert [r["candidate_letter"] for r in rows] == list("ABCDEF")
    texts = [r[c] for r in rows for c in r if c.startswith("answer_")]
    # written RAW: the formula-looking answer is still its text, not "click"
    assert (
        '=HYPERLINK("[web address]","click") is what someone once typed into our form. '
        "I would listen first." in texts
    )
    assert not any("Hill" in t or "@example.com" in t for t in texts)
    # more applications: the same number of calls; an idle rerun writes nothing
    add_applications(ctx, corpus_rows(30))
    for store in (ctx.stores.staff, ctx.stores.panel):
        store.forget()
    google_emulator.reset_counts()
    redact_job(ctx)
    assert google_emulator.calls("sheets.spreadsheets.values.batchGet") == 2
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 2
    assert first_gets >= 2 and first_sets >= 2
    for store in (ctx.stores.staff, ctx.stores.panel):
        store.forget()
    google_emulator.reset_counts()
    redact_job(ctx)
    assert google_emulator.calls("sheets.spreadsheets.values.batchUpdate") == 0
    assert len(key_of(ctx)) == 36
