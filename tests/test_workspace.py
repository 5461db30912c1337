"""`init` and `check`: created from the templates, safe to run twice, every bad input named."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.templates import load_workbook_spec
from automations.workspace import check_campaign, init_campaign


def _wb(ctx: Context, name: str = "staff") -> openpyxl.Workbook:
    store = getattr(ctx.stores, name)
    return openpyxl.load_workbook(store.path)


def test_init_creates_two_separate_workbooks_from_the_templates(ctx: Context) -> None:
    staff, panel = ctx.stores.staff.path, ctx.stores.panel.path
    assert staff != panel and staff.exists() and panel.exists()
    swb, pwb = _wb(ctx), _wb(ctx, "panel")
    assert "Candidate key" in swb.sheetnames and "Candidate key" not in pwb.sheetnames
    assert "People" not in pwb.sheetnames
    ws = swb["Applications"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Application ID", "First name", "Last name"]
    assert "Answer 4" in header and "Answer 5" not in header  # one per criterion
    assert ws.cell(1, 1).comment is not None and "leading zeros" in ws.cell(1, 1).comment.text
    key = swb["Candidate key"]
    assert key.cell(1, 2).fill.fgColor.rgb.endswith("D9D9D9")  # job-owned: grey header
    assert "please don't edit" in key.cell(1, 2).comment.text
    status_col = header.index("Status") + 1
    refs = [str(dv.sqref) for dv in ws.data_validations.dataValidation]
    letter = openpyxl.utils.get_column_letter(status_col)
    assert f"{letter}2:{letter}5000" in refs


def test_init_twice_leaves_data_untouched(ctx: Context) -> None:
    wb = _wb(ctx)
    ws = wb["Applications"]
    ws.cell(2, ws.max_column).value = "2027-01-12 09:14:00"
    ws.cell(2, 2).value = "Staff edit"
    ws.cell(1, ws.max_column + 1).value = "Our own column"
    ws.cell(2, ws.max_column).value = "our value"
    wb.save(ctx.stores.staff.path)
    before = ctx.stores.staff.read(["applications", "people", "dates"])
    res = init_campaign(ctx, example=True)
    assert not res.staff.created_workbook and res.staff.tabs_added == []
    assert res.loaded == {"dates": 0, "people": 0, "applications": 0}
    after = ctx.stores.staff.read(["applications", "people", "dates"])
    for tab in before:
        assert before[tab].equals(after[tab]), tab
    assert after["applications"]["first_name"].iloc[0] == "Staff edit"
    assert after["applications"]["Our own column"].iloc[0] == "our value"


def test_init_adds_missing_tabs_and_columns_without_reordering(ctx: Context) -> None:
    wb = _wb(ctx)
    del wb["Run log"]
    ws = wb["People"]
    header = [c.value for c in ws[1]]
    col = header.index("Format") + 1
    ws.delete_cols(col)
    wb.save(ctx.stores.staff.path)
    res = init_campaign(ctx)
    assert res.staff.tabs_added == ["run_log"]
    assert res.staff.columns_added == {"people": ["formats"]}
    people = ctx.stores.staff.read_one("people")
    assert len(people) == 8 and people["formats"].eq("").all()
    assert [c.value for c in _wb(ctx)["People"][1]][-1] == "Format"


def test_check_is_clean_on_the_example(ctx: Context) -> None:
    assert [p for p in check_campaign(ctx) if p.severity == "error"] == []


def test_check_names_each_kind_of_bad_input(ctx: Context) -> None:
    wb = _wb(ctx)
    ws = wb["Applications"]
    header = [c.value for c in ws[1]]
    ws.cell(3, 1).value = ws.cell(2, 1).value  # duplicated key on row 3
    ws.cell(4, header.index("Date of birth") + 1).value = "long ago"  # wrong type
    ws.cell(5, header.index("Last name") + 1).value = None  # required cell empty
    ws.cell(6, header.index("Status") + 1).value = "maybe"  # not an allowed value
    ws.cell(1, len(header) + 1).value = "Mystery"  # unknown header
    people = wb["People"]
    people.delete_cols([c.value for c in people[1]].index("Role") + 1)  # missing column
    del wb["Attendance"]  # missing tab
    wb.save(ctx.stores.staff.path)
    ctx.stores.staff.forget()
    found = {(p.tab, p.row, p.column, p.severity): p.message for p in check_campaign(ctx)}
    assert ("applications", 3, "application_id", "error") in found
    assert found[("applications", 4, "date_of_birth", "error")].startswith("expected a date")
    assert found[("applications", 5, "last_name", "error")] == "this cell is required but empty"
    assert "not one of the allowed" in found[("applications", 6, "status", "error")]
    assert any(
        k[0] == "applications" and k[3] == "warning" and "Mystery" in v for k, v in found.items()
    )
    assert "this column is missing" in found[("people", None, "role", "error")]
    assert "this tab is missing" in found[("attendance", None, None, "error")]


def test_cli_init_and_check(config_dir: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["--config", str(config_dir), "init", "--example"])
    assert r.exit_code == 0, r.output
    assert (
        "Staff workbook created" in r.output and "Loaded 6 new row(s) into applications" in r.output
    )
    r = runner.invoke(main, ["--config", str(config_dir), "check"])
    assert r.exit_code == 0 and "All good" in r.output
    staff = config_dir.parent / "workspace" / "peer-support-2027" / "staff.xlsx"
    wb = openpyxl.load_workbook(staff)
    ws = wb["People"]
    ws.cell(2, 1).value = None
    wb.save(staff)
    r = runner.invoke(main, ["--config", str(config_dir), "check"])
    assert r.exit_code == 4
    assert (
        "staff workbook, tab 'People', row 2, column 'Person ID': this cell is required" in r.output
    )


def test_cli_turns_config_errors_into_a_message(config_dir: Path) -> None:
    (config_dir / "organisation.toml").write_text("[organisation]\nname = 'x'\n")
    r = CliRunner().invoke(main, ["--config", str(config_dir), "check"])
    assert r.exit_code == 2
    assert "organisation.toml, key 'organisation.admin_email': this setting is required" in r.output
    assert "Traceback" not in r.output


def test_templates_mark_identifying_columns_and_the_panel_has_none() -> None:
    staff = load_workbook_spec("staff").expand(4)
    panel = load_workbook_spec("panel").expand(4)
    ident = {c.id for c in staff.tab("applications").columns if c.identifying}
    assert {"first_name", "email", "phone", "ni_number", "referee_1_name"} <= ident
    for tab in panel.tabs.values():
        assert not any(c.identifying for c in tab.columns), tab.id
        assert not ({c.id for c in tab.columns} & ident), tab.id
