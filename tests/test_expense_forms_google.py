"""The expense claim form on Google Forms (real googleapiclient against the emulator):
one form per person, made once; the answers collected into 'Expense claims' once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import requests
from google.oauth2 import service_account

from automations.config import load_settings
from automations.context import Context
from automations.forms.google import NEEDED_SCOPES
from automations.jobs import expense_forms as J
from automations.transforms import expense_forms as ef
from tests.google_emulator.core import TEAM_ACCOUNT, Emulator
from tests.google_emulator.forms import submit_response
from tests.test_google_forms_provider import policy, question_of, state_of

FORM_CALLS = "forms.forms."


@pytest.fixture
def gx(ctx: Context, google_transport: requests.Session, google_key_file: Path) -> Context:
    ctx.extras["google_transport"] = google_transport
    ctx.extras["google_credentials"] = service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=list(NEEDED_SCOPES), subject=TEAM_ACCOUNT
    )
    ctx.extras["google_retry"] = policy()
    return ctx


def test_expense_forms_on_google(gx: Context, config_dir: Path, google_emulator: Emulator) -> None:
    org = config_dir / "organisation.toml"
    org.write_text(
        org.read_text().replace(
            'backend = "local"            # "local": corecruit',
            'backend = "google"  # corecruit',
            1,
        )
    )
    gx.settings = load_settings(config_dir)
    gx.clock = lambda: dt.datetime(2027, 2, 12, 9, 0)
    res = J.send_links(gx)
    assert sorted(res.links) == ["p03", "p05", "p06", "p07"]
    assert google_emulator.calls("drive.files.create") == 4
    google_emulator.reset_counts()
    J.send_links(gx)
    assert google_emulator.calls(FORM_CALLS) == 0  # ensured by key: nothing new

    key = "peer-support-2027.expenses.p05"
    q = question_of(gx, key, google_emulator)
    fid = state_of(gx)[key]["form_id"]
    spec = ef.expense_spec(gx.campaign, "p05", gx.settings.org.rewards)

    def words(item_id: str, value: str) -> str:
        """The option a person clicks on Google: its words, not the number behind them."""
        from automations.forms.base import ScaleItem
        from automations.forms.google import option_texts

        item = spec.item(item_id)
        assert isinstance(item, ScaleItem)
        return next(t for t, v in option_texts(item).items() if v == value)

    kind, activity = words(ef.choice_id("kind", 1), "1"), words(ef.choice_id("activity", 1), "3")
    assert "mile" in kind.lower() and "interview" in activity.lower()
    answers: dict[str, Any] = {
        q[ef.choice_id("kind", 1)]: kind,  # mileage
        q[ef.choice_id("activity", 1)]: activity,  # interview day
        q[ef.text_id("date", 1)]: "8 Feb 2027",
        q[ef.text_id("miles", 1)]: "14",
        q[ef.text_id("note", 1)]: "=HYPERLINK(1) there and back",
    }
    submit_response(google_emulator, fid, answers, when=dt.datetime(2027, 2, 10, 12, tzinfo=dt.UTC))
    google_emulator.reset_counts()
    got = J.collect(gx)
    assert "1 claim(s) new or changed" in got.detail
    assert google_emulator.counts(FORM_CALLS) == {"forms.forms.responses.list": 4}  # one a form
    gx.stores.staff.forget()
    rows = gx.stores.staff.read_one("expense_claims").set_index("claim_id")
    row = rows.loc["F-p05-1"]
    assert row["kind"] == "mileage" and row["miles"] == D("14")
    assert row["date"] == dt.date(2027, 2, 8)
    assert row["note"].endswith("=HYPERLINK(1) there and back")  # text, never a formula
    again = J.collect(gx)
    assert again.rows_written == 0
