"""Sharing the Google workbooks: staff only for the staff one, the panel for the panel one.

Runs on the emulator's Drive, whose permissions and sharing emails are inspected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from automations.cli import State, main
from automations.config.models import GoogleFiles
from automations.errors import SharingRefused
from automations.google.http import RetryPolicy
from automations.sharing import share_campaign, sharing_problems
from tests.google_emulator import drive
from tests.review_support import no_review_gate

MANAGER = "recruiting.manager@example.org"
PANEL_EMAILS = {
    "aisha.rahman@example.org",
    "tom.whitfield@example.org",
    "grace.okafor@example.net",
    "helen.price@example.org",
    "marek.nowak@example.net",
    "sam.adeyemi@example.net",
}
PERSONAL = ("grace", "okafor", "Grace", "example.net", "marek", "Marek")


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    """About who gets which workbook, not the review gate (test_review_gate.py):
    applications reach the panel as if staff had checked them."""
    return no_review_gate(config_dir)


def _perms(emu: Any, file_id: str) -> dict[str, str]:
    f = drive.files(emu)[file_id]
    return {p.get("emailAddress", p["type"]): p["role"] for p in f.permissions}


def _with_editors(ctx: Any, editors: list[str]) -> Any:
    ctx.campaign = ctx.campaign.model_copy(update={"google": GoogleFiles(staff_editors=editors)})
    return ctx


def test_staff_workbook_to_staff_panel_workbook_to_the_panel(
    google_ctx: Any, google_emulator: Any
) -> None:
    report = share_campaign(google_ctx)
    sa = google_emulator.default_principal_email  # the account corecruit acts as owns them
    staff = _perms(google_emulator, google_ctx.stores.staff.spreadsheet_id)
    panel = _perms(google_emulator, google_ctx.stores.panel.spreadsheet_id)
    assert staff == {sa: "owner", MANAGER: "writer"}
    assert panel == {sa: "owner", MANAGER: "writer", **{e: "reader" for e in PANEL_EMAILS}}
    assert report.added == {"staff": 1, "panel": 7}
    assert report.no_email == ["p06"]  # a panel member without email is named by id only
    assert "p06" in report.summary() and "@" not in report.summary()
    assert google_emulator.state("drive").get("notifications", []) == []  # no Google emails


def test_sharing_again_adds_nobody_twice(google_ctx: Any, google_emulator: Any) -> None:
    share_campaign(google_ctx)
    google_emulator.reset_counts()
    again = share_campaign(google_ctx)
    assert again.added == {"staff": 0, "panel": 0}
    assert again.already == {"staff": 1, "panel": 7}
    assert google_emulator.calls("drive.permissions.create") == 0
    assert google_emulator.calls("drive.permissions.list") == 2


def test_a_panel_member_in_staff_editors_is_refused_and_nothing_is_shared(
    google_ctx: Any, google_emulator: Any
) -> None:
    _with_editors(google_ctx, [MANAGER, "Grace.Okafor@Example.NET "])
    google_emulator.reset_counts()
    with pytest.raises(SharingRefused) as err:
        share_campaign(google_ctx)
    text = str(err.value)
    assert "entry 2" in text and "person p03" in text and "nothing was shared" in text
    assert not any(s in text for s in PERSONAL)
    assert google_emulator.calls("drive.permissions.create") == 0
    problems = sharing_problems(google_ctx)
    assert problems and problems[0].severity == "error" and "p03" in problems[0].message


def test_a_staff_workbook_already_open_to_a_panel_member_is_refused(
    google_ctx: Any, google_emulator: Any
) -> None:
    f = drive.files(google_emulator)[google_ctx.stores.staff.spreadsheet_id]
    f.permissions.append(
        {"id": "99", "type": "user", "role": "reader", "emailAddress": "marek.nowak@example.net"}
    )
    with pytest.raises(SharingRefused, match=r"person p05") as err:
        share_campaign(google_ctx)
    assert not any(s in str(err.value) for s in PERSONAL)
    assert google_emulator.calls("drive.permissions.create") == 0
    assert any("p05" in p.message for p in sharing_problems(google_ctx))


def test_a_staff_workbook_open_to_anyone_with_the_link_is_refused(
    google_ctx: Any, google_emulator: Any
) -> None:
    f = drive.files(google_emulator)[google_ctx.stores.staff.spreadsheet_id]
    f.permissions.append({"id": "98", "type": "anyone", "role": "reader"})
    with pytest.raises(SharingRefused, match="anyone with the link"):
        share_campaign(google_ctx)
    assert any("Restricted" in p.message for p in sharing_problems(google_ctx))


def test_check_warns_about_accounts_that_are_not_staff_editors(
    google_ctx: Any, google_emulator: Any
) -> None:
    share_campaign(google_ctx)
    assert sharing_problems(google_ctx) == []
    f = drive.files(google_emulator)[google_ctx.stores.staff.spreadsheet_id]
    f.permissions.append(
        {"id": "97", "type": "user", "role": "writer", "emailAddress": "someone@else.org"}
    )
    (warning,) = sharing_problems(google_ctx)
    assert warning.severity == "warning" and "1 account(s)" in warning.message
    assert "someone" not in str(warning)


# ----------------------------------------------------------------- the commands


@pytest.fixture
def cli_google(
    monkeypatch: pytest.MonkeyPatch,
    google_settings: Any,
    google_transport: Any,
    google_credentials: Any,
) -> Path:
    monkeypatch.setattr(
        State,
        "store_kw",
        {
            "transport": google_transport,
            "credentials": google_credentials,
            "retry": RetryPolicy(sleep=lambda _: None),
        },
    )
    return Path(google_settings.config_dir)


def test_corecruit_init_and_check_on_google(cli_google: Path, google_emulator: Any) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(cli_google), "init", "--example"])
    assert res.exit_code == 0, res.output
    assert "Staff workbook created: https://docs.google.com/spreadsheets/d/" in res.output
    assert "Loaded 8 new row(s) into people." in res.output
    assert "Sharing: staff workbook: 1 shared" in res.output
    ids = cli_google.parent / "workspace" / "peer-support-2027" / "google_ids.json"
    assert ids.exists()
    res = runner.invoke(main, ["--config", str(cli_google), "check"])
    assert res.exit_code == 0, res.output
    assert "All good" in res.output
    google_emulator.reset_counts()
    res = runner.invoke(main, ["--config", str(cli_google), "init"])
    assert res.exit_code == 0, res.output
    assert "Staff workbook checked" in res.output and "0 shared" in res.output
    assert google_emulator.calls("drive.files.create") == 0


def test_corecruit_init_refuses_to_share_the_staff_workbook_with_a_panel_member(
    cli_google: Path, google_emulator: Any
) -> None:
    camp = cli_google / "campaigns" / "example.toml"
    text = camp.read_text(encoding="utf-8")
    camp.write_text(
        text.replace(
            f'staff_editors = ["{MANAGER}"]',
            f'staff_editors = ["{MANAGER}", "sam.adeyemi@example.net"]',
        ),
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["--config", str(cli_google), "init", "--example"])
    assert res.exit_code == 2
    assert "person p07" in res.output and "sam" not in res.output.lower()
    assert google_emulator.calls("drive.permissions.create") == 0
    res = CliRunner().invoke(main, ["--config", str(cli_google), "check"])
    assert res.exit_code == 4 and "person p07" in res.output


def test_one_address_google_will_not_share_with_does_not_stop_the_others(
    google_ctx: Any, google_emulator: Any
) -> None:
    # Grace's personal address has no Google account: Drive refuses it without an invitation
    google_emulator.no_google_account.add("grace.okafor@example.net")
    report = share_campaign(google_ctx)
    panel = _perms(google_emulator, google_ctx.stores.panel.spreadsheet_id)
    others = PANEL_EMAILS - {"grace.okafor@example.net"}
    assert {e: r for e, r in panel.items() if e in PANEL_EMAILS} == dict.fromkeys(others, "reader")
    assert report.added == {"staff": 1, "panel": 6} and report.failed == {"panel": ["p03"]}
    assert "1 could not be shared with (p03): see 'Needs attention'" in report.summary()
    assert google_emulator.state("drive").get("notifications", []) == []  # still no emails
    staff = google_ctx.stores.staff
    tab = staff.read_one("sharing")
    outcome = {(r.who, r.workbook): r.outcome for r in tab.itertuples()}
    assert outcome[("p03", "panel")] == "could not share"
    assert outcome[("p05", "panel")] == "shared"
    assert outcome[("staff editor 1", "staff")] == "shared"
    grace = tab[tab["who"] == "p03"].iloc[0]
    assert "no Google account" in grace["reason"] and "form link" in grace["reason"]
    assert "scoresheets print --people p03" in grace["reason"]
    (issue,) = staff.read_one("exceptions").itertuples()
    assert issue.job == "sharing" and "p03" in issue.reason and "form link" in issue.reason
    everything = str(report.summary()) + tab.to_csv() + str(issue)
    assert not any(s in everything for s in PERSONAL)  # named by person id only
    # run again: the others already have access, Grace is tried again, listed once
    again = share_campaign(google_ctx)
    assert again.already == {"staff": 1, "panel": 6} and again.failed == {"panel": ["p03"]}
    assert len(staff.read_one("exceptions")) == 1


def test_a_cell_with_two_addresses_is_not_shared_with_and_is_listed_by_person_id(
    google_ctx: Any, google_emulator: Any
) -> None:
    staff = google_ctx.stores.staff
    people = staff.read_one("people")
    row = people.index[people["person_id"] == "p03"][0]
    people.loc[row, "email"] = "grace.okafor@example.net, zq@example.org"
    staff.write({"people": people})
    report = share_campaign(google_ctx)
    panel = _perms(google_emulator, google_ctx.stores.panel.spreadsheet_id)
    assert not any("zq" in e or "grace" in e for e in panel)  # neither address was tried
    assert report.failed == {"panel": ["p03"]} and report.added == {"staff": 1, "panel": 6}
    tab = staff.read_one("sharing")
    grace = tab[tab["who"] == "p03"].iloc[0]
    assert grace["outcome"] == "could not share"
    assert "more than one address" in grace["reason"] and "people tab" in grace["reason"]
    (issue,) = staff.read_one("exceptions").itertuples()
    everything = str(report.summary()) + tab.to_csv() + str(issue)
    assert "zq" not in everything and not any(s in everything for s in PERSONAL)


def test_a_workbook_corecruit_may_not_share_stops_sharing_with_a_clear_error(
    google_ctx: Any, google_emulator: Any
) -> None:
    from automations.errors import GoogleAPIError

    f = drive.files(google_emulator)[google_ctx.stores.panel.spreadsheet_id]
    f.permissions[0]["role"] = "reader"  # the account corecruit uses may only read it now
    with pytest.raises(GoogleAPIError) as err:
        share_campaign(google_ctx)
    assert err.value.status == 403
    panel = _perms(google_emulator, google_ctx.stores.panel.spreadsheet_id)
    assert not PANEL_EMAILS & set(panel)  # nobody was recorded as a person Google refused


def test_people_with_no_person_id_are_named_by_their_row_each_on_their_own(
    google_ctx: Any, google_emulator: Any
) -> None:
    staff = google_ctx.stores.staff
    people = staff.read_one("people")
    rows = []
    for email in ("grace.okafor@example.net", "marek.nowak@example.net"):
        google_emulator.no_google_account.add(email)
        row = people.index[people["email"] == email][0]
        people.loc[row, "person_id"] = ""
        rows.append(int(row))
    staff.write({"people": people})
    staff.forget()
    report = share_campaign(google_ctx)
    names = [f"People row {r}" for r in rows]
    assert sorted(report.failed["panel"]) == sorted(names)
    issues = staff.read_one("exceptions")
    assert sorted(issues["exception_id"]) == sorted(f"sharing|panel|{n}" for n in names)
    assert not any("?" in s for s in issues["exception_id"])
    assert not any("scoresheets print --people People" in r for r in issues["reason"])
    everything = str(report.summary()) + issues.to_csv()
    assert not any(s in everything for s in PERSONAL)


def test_refusals_met_before_a_workbook_fails_are_still_recorded(
    google_ctx: Any, google_emulator: Any
) -> None:
    from automations.errors import GoogleAPIError

    google_emulator.no_google_account.add(MANAGER)  # refused on the staff workbook
    f = drive.files(google_emulator)[google_ctx.stores.panel.spreadsheet_id]
    f.permissions[0]["role"] = "reader"  # then the panel workbook may not be shared at all
    with pytest.raises(GoogleAPIError):
        share_campaign(google_ctx)
    staff = google_ctx.stores.staff
    staff.forget()
    tab = staff.read_one("sharing")
    outcome = {(r.who, r.workbook): r.outcome for r in tab.itertuples()}
    assert outcome == {("staff editor 1", "staff"): "could not share"}
    (issue,) = staff.read_one("exceptions").itertuples()
    assert issue.exception_id == "sharing|staff|staff editor 1"
    assert "no Google account" in issue.reason
