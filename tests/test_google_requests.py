"""Every request corecruit sends to Google, checked against Google's discovery documents.

The emulator refuses unknown names in Sheets, Forms and Gmail requests as Google does;
this test also checks Drive (which ignores them at Google) and deprecated fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def corecruit_google_path(ctx: Any, emu: Any, transport: Any, key_file: Path) -> None:
    """Every kind of request corecruit sends to Google, once: workbooks, sharing, forms, mail."""
    import datetime as dt
    from email.message import EmailMessage

    from google.oauth2 import service_account

    from automations.forms.google import NEEDED_SCOPES, google_provider
    from automations.google.http import RetryPolicy
    from automations.mail.transports import GmailTransport, gmail_service
    from automations.sharing import share_campaign
    from automations.transforms.forms import Candidate, Scorer, interview_spec, shortlisting_spec
    from tests.google_emulator.forms import question_ids, submit_response

    ctx.stores.staff.write({"people": ctx.stores.staff.read_one("people")})
    share_campaign(ctx)
    ctx.extras["google_transport"] = transport
    ctx.extras["google_credentials"] = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=list(NEEDED_SCOPES), subject=emu.default_principal_email
    )
    ctx.extras["google_retry"] = RetryPolicy(sleep=lambda s: None)
    provider = google_provider(ctx)
    cands = [Candidate("A", {"c1": "I have cared for my dad.", "c2": "Yes."})]
    specs = [
        shortlisting_spec(ctx.campaign, "p03", cands),
        interview_spec(ctx.campaign, Scorer("p04", "mixed", "panel member"), ["A"]),
    ]
    handles = provider.ensure_forms(specs)
    form_id = handles[specs[1].key].form_id
    submit_response(emu, form_id, {q: "3" for q in question_ids(emu, form_id).values()})
    provider.fetch_responses(specs, since=dt.datetime(2026, 1, 1))
    wider = interview_spec(ctx.campaign, Scorer("p04", "mixed", "panel member"), ["A", "B"])
    corrected = [Candidate("A", {"c1": "I have cared for my dad (corrected).", "c2": "Yes."})]
    provider.ensure_forms([wider, shortlisting_spec(ctx.campaign, "p03", corrected)])  # in place
    mail = gmail_service(ctx.settings, session=transport)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "recruitment@example.org", "x@example.net", "Hi"
    msg.set_content("Hello")
    GmailTransport(mail, "me").send(msg)


@pytest.fixture
def capturing(google_emulator: Any) -> Any:
    """Capture from the start (before ``google_ctx`` makes the workbooks)."""
    google_emulator.capture = True
    return google_emulator


def test_every_request_corecruit_sends_is_in_googles_discovery_documents(
    capturing: Any, google_ctx: Any, google_transport: Any, google_key_file: Path
) -> None:
    """Checked strictly, Drive too (Google's Drive ignores unknown names: a misspelt
    ``supportsAllDrives`` would silently do nothing there)."""
    from tests.google_emulator.schema import problems

    emu = capturing
    corecruit_google_path(google_ctx, emu, google_transport, google_key_file)
    kinds: dict[str, list[str]] = {}
    found: list[str] = []
    for name, query, body in emu.captured:
        if name == "oauth2.token":
            continue
        parsed = json.loads(body) if body else None
        old: list[str] = []
        bad = problems(name, query, parsed, deprecated=old)
        assert bad is not None, f"{name} is not a method of Google's APIs"
        found += [f"{name}: {p}" for p in bad] + [f"{name}: deprecated {p}" for p in old]
        kinds.setdefault(name, [])
    assert not found
    # the whole path is here: workbooks, Drive sharing and search, forms, Gmail
    for must in (
        "drive.files.create",
        "drive.files.list",
        "drive.permissions.create",
        "drive.permissions.list",
        "sheets.spreadsheets.batchUpdate",
        "sheets.spreadsheets.values.batchGet",
        "forms.forms.batchUpdate",
        "forms.forms.responses.list",
        "forms.forms.setPublishSettings",
        "gmail.users.messages.send",
    ):
        assert must in kinds, must
