"""What staff type into the workbooks, read carefully: money by the one strict reader,
formulas with no saved value reported, a missing input tab never read as an empty one,
and every CSV the package writes safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.errors import SheetProblems
from automations.jobs import rewards as RJ
from automations.workspace import check_campaign, init_campaign


def sheetnames(path: Path) -> list[str]:
    """The workbook's tab names, read with the file closed again afterwards."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def staff_path(ctx: Context) -> Path:
    return Path(ctx.stores.staff.location)


def type_rows(ctx: Context, label: str, rows: list[dict[str, Any]]) -> list[int]:
    """Type rows into a tab of the staff workbook as a person would (header labels)."""
    path = staff_path(ctx)
    wb = openpyxl.load_workbook(path)
    ws = wb[label]
    header = [c.value for c in ws[1]]
    out = []
    for r in rows:
        n = ws.max_row + 1
        for k, v in r.items():
            ws.cell(n, header.index(k) + 1).value = v
        out.append(n)
    wb.save(path)
    ctx.stores.staff.forget()
    return out


def claim(cid: str, amount: Any, pid: str = "p03") -> dict[str, Any]:
    return {
        "Claim ID": cid,
        "Person ID": pid,
        "Kind": "travel",
        "Activity": "interview day",
        "Date": dt.date(2027, 2, 8),
        "Amount (£)": amount,
        "Receipt reference": "R-1",
    }


def problems_at(ctx: Context, tab: str) -> dict[tuple[int | None, str | None], str]:
    return {(p.row, p.column): p.message for p in check_campaign(ctx) if p.tab == tab}


# ---------------------------------------------------------------------------- money


def test_check_and_the_ledger_refuse_a_decimal_comma_and_an_exponent(ctx: Context) -> None:
    comma, exp, nan, fine, number = type_rows(
        ctx,
        "Expense claims",
        [
            claim("C1", "£12,50"),
            claim("C2", "1e3"),
            claim("C3", "sNaN"),
            claim("C4", "£1,250.00", "p06"),
            claim("C5", 12.5, "p06"),  # a number cell
        ],
    )
    got = problems_at(ctx, "expense_claims")
    assert "a comma can only separate thousands" in got[(comma, "amount")]
    assert "without an 'e'" in got[(exp, "amount")]
    assert "this is not an amount" in got[(nan, "amount")]
    assert (fine, "amount") not in got and (number, "amount") not in got
    assert not any(v in " ".join(got.values()) for v in ("12,50", "1e3", "sNaN"))

    ctx.clock = lambda: dt.datetime(2027, 2, 12, 9, 0)
    RJ.accrue_job(ctx)
    lines = ctx.stores.staff.read_one(RJ.LEDGER)
    owed = {k.split("#")[-1]: a for k, a in zip(lines["line_key"], lines["amount"], strict=True)}
    assert owed["C4"] == D("1250.00") and owed["C5"] == D("12.50")
    assert not {"C1", "C2", "C3"} & set(owed)  # never £1,250.00 or £1,000.00 owed
    reasons = " ".join(ctx.stores.staff.read_one(RJ.EXCEPTIONS)["reason"])
    assert "a comma can only separate thousands" in reasons and "without an 'e'" in reasons


def test_an_earnings_limit_is_money_too(ctx: Context) -> None:
    path = staff_path(ctx)
    wb = openpyxl.load_workbook(path)
    ws = wb["People"]
    col = [c.value for c in ws[1]].index("Earnings limit (£)") + 1
    ws.cell(2, col).value = "1e3"
    wb.save(path)
    ctx.stores.staff.forget()
    assert "without an 'e'" in problems_at(ctx, "people")[(2, "earnings_limit")]


def test_a_negative_earnings_limit_or_claim_is_refused_where_people_type_it(
    ctx: Context,
) -> None:
    """Only a job writes a negative amount (a reversal on the Rewards ledger); a negative
    earnings limit would hold every estimate for that person as over the limit."""
    path = staff_path(ctx)
    wb = openpyxl.load_workbook(path)
    ws = wb["People"]
    col = [c.value for c in ws[1]].index("Earnings limit (£)") + 1
    ws.cell(2, col).value = "-50.00"
    wb.save(path)
    ctx.stores.staff.forget()
    (neg_claim,) = type_rows(ctx, "Expense claims", [claim("C9", "-£12.00", "p06")])
    problems = [p for p in check_campaign(ctx) if p.tab in ("people", "expense_claims")]
    said = {(p.tab, p.row, p.column): str(p) for p in problems}
    limit = said[("people", 2, "earnings_limit")]
    assert "tab 'People'" in limit and "row 2" in limit and "Earnings limit (£)" in limit
    assert "cannot be below £0.00" in limit and "50" not in limit
    assert "cannot be below £0.00" in said[("expense_claims", neg_claim, "amount")]
    st = ctx.stores.staff
    st.forget()
    spec = st.tab(RJ.LEDGER)
    line = {c.id: "" for c in spec.columns} | {"line_key": "x|r1", "amount": "-15.00"}
    st.append(RJ.LEDGER, pd.DataFrame([line]))
    st.forget()
    ledger = st.read_one(RJ.LEDGER, errors="collect")
    assert D("-15.00") in list(ledger["amount"])  # a job's own reversal may be negative
    assert not [p for p in ledger.attrs.get("problems", []) if p.column == "amount"]

    ctx.clock = lambda: dt.datetime(2027, 2, 12, 9, 0)
    RJ.accrue_job(ctx)
    exc = ctx.stores.staff.read_one(RJ.EXCEPTIONS)
    where = " ".join(exc["where"]) if "where" in exc.columns else ""
    reasons = " ".join(exc["reason"])
    assert "This row could not be used for rewards: the amount cannot be below £0.00" in reasons
    assert "This claim was not used: the amount cannot be below £0.00" in reasons
    assert "50" not in reasons and "12.00" not in reasons and "-50" not in where


# ------------------------------------------------------------------------------ CSV

EXAMPLE = Path(__file__).resolve().parent.parent / "sheets_templates/example/applications.csv"


def test_the_key_csv_is_neutralised_and_letters_stay_the_same(tmp_path: Path) -> None:
    apps = list(csv.DictReader(EXAMPLE.read_text(encoding="utf-8").splitlines()))
    apps[0]["application_id"], apps[1]["application_id"] = "=1+1", "@SUM(A1)"
    apps[2]["application_id"] = "'=2+2"  # already quoted once: must come back the same
    src, out, key = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "key.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(apps[0]))
        w.writeheader()
        w.writerows(apps)
    args = ["--config", str(tmp_path / "none"), "redact", "--from-csv", str(src),
            "--to-csv", str(out), "--key-csv", str(key)]  # fmt: skip
    assert CliRunner().invoke(main, args).exit_code == 0
    rows = list(csv.DictReader(key.read_text(encoding="utf-8").splitlines()))
    ids = [r["application_id"] for r in rows]
    assert "'=1+1" in ids and "'@SUM(A1)" in ids and "''=2+2" in ids
    assert not any(i.startswith(("=", "+", "-", "@")) for r in rows for i in r.values())
    letters = {r["application_id"]: r["candidate_letter"] for r in rows}
    res = CliRunner().invoke(main, args)  # read back: the same letters, no new ones
    assert res.exit_code == 0, res.output
    again = {
        r["application_id"]: r["candidate_letter"]
        for r in csv.DictReader(key.read_text(encoding="utf-8").splitlines())
    }
    assert again == letters and len(again) == len(apps)


def test_one_rule_for_every_csv_cell() -> None:
    from automations.transforms.csv_cells import csv_cell, csv_restore
    from automations.transforms.rewards import csv_safe

    raws = ("=1+1", "+44", "-x", "@a", "\t=1", "\r=1", "'=1", "''@x", "Grace", "-15.00", "0099")
    for raw in raws:
        cell = csv_cell(raw)
        assert csv_safe(raw) == cell
        assert csv_restore(cell) == raw
        assert not cell.startswith(("=", "+", "@", "\t", "\r")) and (
            not cell.startswith("-") or cell == "-15.00"
        )
    assert csv_cell(None) == "" and csv_cell(float("nan")) == ""


# ------------------------------------------------------------------------- formulas


def test_a_formula_with_no_saved_value_is_reported_not_read_as_blank(ctx: Context) -> None:
    # openpyxl saves a formula without calculating it: the file holds no value for it
    (hours_row,) = type_rows(
        ctx,
        "Attendance",
        [
            {
                "Person ID": "p03",
                "Activity": "shortlisting",
                "Date": dt.date(2027, 1, 20),
                "Hours": "=1+2",
                "Confirmed by": '="Priya"',
            }
        ],
    )
    (claim_row,) = type_rows(ctx, "Expense claims", [claim("C1", "=3.5*2")])
    got = problems_at(ctx, "attendance")
    why = "this cell holds a formula with no saved value; type the value instead"
    assert got[(hours_row, "hours")] == why and got[(hours_row, "confirmed_by")] == why
    assert problems_at(ctx, "expense_claims")[(claim_row, "amount")] == why
    r = CliRunner().invoke(main, ["--config", str(ctx.settings.config_dir), "check"])
    assert r.exit_code == 4 and f"tab 'Attendance', row {hours_row}, column 'Hours'" in r.output

    ctx.clock = lambda: dt.datetime(2027, 2, 12, 9, 0)
    RJ.accrue_job(ctx)  # the rows are held as bad cells, not paid or refused as blank
    exc = ctx.stores.staff.read_one(RJ.EXCEPTIONS)
    reasons = " ".join(exc["reason"])
    assert reasons.count("formula with no saved value") >= 2
    assert "no hours are filled in" not in reasons and "has no amount" not in reasons


# ---------------------------------------------------------------------- missing tabs


@pytest.mark.parametrize(
    ("label", "job"),
    [("Applications", "redact"), ("Rewards ledger", "rewards"), ("People", "remind")],
)
def test_a_run_never_reads_a_deleted_input_tab_as_an_empty_one(
    ctx: Context, label: str, job: str
) -> None:
    path = staff_path(ctx)
    wb = openpyxl.load_workbook(path)
    del wb[label]
    wb.save(path)
    args = ["--config", str(ctx.settings.config_dir), "run", "--once", job]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1, r.output
    line = r.output[r.output.index(f"{job}: failed") :]
    assert "staff workbook, tab '" in line and "this tab is missing" in line
    assert f"give it back the name '{label}'" in line
    assert label not in sheetnames(path)
    again = CliRunner().invoke(main, args)  # the next run says the same; nothing is made up
    assert again.exit_code == 1 and f"give it back the name '{label}'" in again.output
    assert label not in sheetnames(path)


def test_init_by_a_person_still_adds_a_missing_tab(ctx: Context) -> None:
    path = staff_path(ctx)
    wb = openpyxl.load_workbook(path)
    del wb["Applications"]
    wb.save(path)
    r = CliRunner().invoke(main, ["--config", str(ctx.settings.config_dir), "init"])
    assert r.exit_code == 0, r.output
    assert "Applications" in sheetnames(path)


def test_on_google_a_renamed_tab_is_left_missing_at_the_start_of_a_run(google_ctx: Any) -> None:
    from automations.jobs.redact import redact_job
    from automations.store.google import SHEETS_API

    staff = google_ctx.stores.staff
    sid = staff.spreadsheet_id
    meta = staff.http.call("GET", f"{SHEETS_API}/{sid}").json()
    sheet = next(s for s in meta["sheets"] if s["properties"]["title"] == "Applications")
    staff.http.call(
        "POST",
        f"{SHEETS_API}/{sid}:batchUpdate",
        json={
            "requests": [
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": sheet["properties"]["sheetId"], "title": "Old"},
                        "fields": "title",
                    }
                }
            ]
        },
    )
    staff.forget()
    res = init_campaign(google_ctx, add_tabs=False)
    assert res.staff.tabs_missing == ["applications"] and res.staff.tabs_added == []
    with pytest.raises(SheetProblems, match="give it back the name 'Applications'"):
        redact_job(google_ctx)
    titles = [
        s["properties"]["title"]
        for s in staff.http.call("GET", f"{SHEETS_API}/{sid}").json()["sheets"]
    ]
    assert "Applications" not in titles and "Old" in titles


def test_a_workbook_staff_made_empty_is_set_up_in_full_at_the_start_of_a_run(
    settings: Any,
) -> None:
    from automations.context import make_context

    ctx = make_context(settings)
    path = staff_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    openpyxl.Workbook().save(path)  # one blank 'Sheet', none of corecruit's tabs
    res = init_campaign(ctx, add_tabs=False)
    assert res.staff.tabs_missing == [] and "applications" in res.staff.tabs_added
    assert ctx.stores.staff.read_one("applications").empty
