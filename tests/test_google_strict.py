"""The emulator says no where Google says no: unknown fields, files a service account
cannot own, shared drives without ``supportsAllDrives``, sharing with an address that
has no Google account, and answers that go with a deleted question."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.credentials import Credentials

from tests.google_emulator.core import Emulator
from tests.google_emulator.drive import FORM, NO_QUOTA, add_folder, add_shared_drive, files
from tests.google_emulator.forms import form_state, submit_response
from tests.google_emulator.schema import methods, problems

SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE = "https://www.googleapis.com/drive/v3/files"
FORMS = "https://forms.googleapis.com/v1/forms"
ALL = ("spreadsheets", "drive", "forms.body", "forms.responses.readonly")


def session(emu: Emulator, transport: requests.Session, who: str | None = None) -> Any:
    """An authorised session for ``who`` (default: the team's person account)."""
    s = AuthorizedSession(Credentials(emu.issue_token(who, ALL)), auth_request=Request(transport))
    for prefix, adapter in transport.adapters.items():
        s.mount(prefix, adapter)
    return s


@pytest.fixture
def robot(google_emulator: Emulator, google_transport: requests.Session) -> Any:
    """A service account on its own (no delegation)."""
    return session(google_emulator, google_transport, google_emulator.default_service_account)


def test_unknown_fields_and_enum_values_get_googles_400(
    google_emulator: Emulator, google_transport: requests.Session
) -> None:
    s = session(google_emulator, google_transport)
    sid = s.post(SHEETS, json={"properties": {"title": "t"}}).json()["spreadsheetId"]
    bad = {"requests": [{"repeatCell": {"cell": {"userEnteredFormat": {"bold": True}}}}]}
    r = s.post(f"{SHEETS}/{sid}:batchUpdate", json=bad)
    assert r.status_code == 400
    msg = r.json()["error"]["message"]
    assert msg == (
        'Invalid JSON payload received. Unknown name "bold" at '
        "'requests[0].repeat_cell.cell.user_entered_format': Cannot find field."
    )
    r = s.put(
        f"{SHEETS}/{sid}/values/A1",
        params={"valueInputOption": "RAWW"},
        json={"values": [["x"]]},
    )
    assert r.status_code == 400 and '(TYPE_ENUM), "RAWW"' in r.json()["error"]["message"]
    r = s.get(f"{SHEETS}/{sid}", params={"includeGridDatas": "true"})
    assert r.status_code == 400 and "Cannot bind query parameter" in r.json()["error"]["message"]
    # a form item with a misspelt field is refused the same way
    fid = s.post(DRIVE, json={"name": "f", "mimeType": FORM}).json()["id"]
    item = {"title": "Q", "questionItem": {"question": {"scaleQuestoin": {"low": 1}}}}
    r = s.post(
        f"{FORMS}/{fid}:batchUpdate",
        json={"requests": [{"createItem": {"item": item, "location": {"index": 0}}}]},
    )
    assert r.status_code == 400 and 'Unknown name "scaleQuestoin"' in r.json()["error"]["message"]
    # Drive, like Google's, lets unknown names pass: the conformance test checks corecruit's
    assert problems("drive.files.create", {"supportAllDrives": ["true"]}, {}) == [
        'Unknown name "supportAllDrives": Cannot bind query parameter. Field '
        "'supportAllDrives' could not be found in request message."
    ]


def test_every_route_is_a_method_in_googles_discovery_documents() -> None:
    from tests.google_emulator.core import ROUTES

    names = {r.name for r in ROUTES if not r.name.startswith("oauth2.")}
    known = {m for api in ("sheets", "drive", "forms", "gmail") for m in methods(api)}
    assert names and names <= known


def test_a_service_account_cannot_own_files_outside_a_shared_drive(
    google_emulator: Emulator, google_transport: requests.Session, robot: Any
) -> None:
    emu = google_emulator
    person = session(emu, google_transport)
    folder = add_folder(emu, "Recruitment", emu.default_principal_email)  # a My Drive folder
    person.post(
        f"{DRIVE}/{folder}/permissions",
        params={"sendNotificationEmail": "false"},
        json={"type": "user", "role": "writer", "emailAddress": emu.default_service_account},
    ).raise_for_status()
    tries = [
        robot.post(SHEETS, json={"properties": {"title": "own"}}),
        robot.post(DRIVE, json={"name": "own", "mimeType": FORM}),
        robot.post(
            DRIVE,
            params={"supportsAllDrives": "true"},
            json={"name": "in the folder", "parents": [folder]},
        ),
        robot.post(FORMS, json={"info": {"title": "a form"}}),  # always the caller's own Drive
    ]
    for r in tries:
        assert r.status_code == 403
        err = r.json()["error"]
        assert err["message"] == NO_QUOTA
        assert err["errors"][0]["reason"] == "storageQuotaExceeded"
    assert not [f for f in files(emu).values() if f.name in ("own", "in the folder", "a form")]


def test_shared_drives_need_supports_all_drives(
    google_emulator: Emulator, google_transport: requests.Session, robot: Any
) -> None:
    emu = google_emulator
    drive_id = add_shared_drive(emu, "Recruitment", {emu.default_service_account: "writer"})
    body = {"name": "corecruit form", "mimeType": FORM, "parents": [drive_id]}
    assert robot.post(DRIVE, json=body).status_code == 404  # no supportsAllDrives: not found
    r = robot.post(DRIVE, params={"supportsAllDrives": "true", "fields": "id,driveId"}, json=body)
    assert r.status_code == 200 and r.json()["driveId"] == drive_id
    fid = r.json()["id"]
    assert robot.get(f"{DRIVE}/{fid}").status_code == 404
    assert robot.get(f"{DRIVE}/{fid}", params={"supportsAllDrives": "true"}).status_code == 200
    listed = robot.get(DRIVE, params={"q": f"'{drive_id}' in parents"}).json()["files"]
    assert listed == []  # not without includeItemsFromAllDrives
    listed = robot.get(
        DRIVE,
        params={
            "q": f"'{drive_id}' in parents",
            "supportsAllDrives": "true",
            "includeItemsFromAllDrives": "true",
        },
    ).json()["files"]
    assert [f["id"] for f in listed] == [fid]
    # the form made through Drive is empty and untitled, filled in through the Forms API
    assert form_state(emu, fid)["info"]["title"] == "Untitled form"


def test_sharing_with_an_address_with_no_google_account_needs_a_notification(
    google_emulator: Emulator, google_transport: requests.Session
) -> None:
    emu = google_emulator
    emu.no_google_account.add("someone@example.net")
    s = session(emu, google_transport)
    fid = s.post(DRIVE, json={"name": "panel", "mimeType": FORM}).json()["id"]
    perm = {"type": "user", "role": "reader", "emailAddress": "someone@example.net"}
    r = s.post(f"{DRIVE}/{fid}/permissions", params={"sendNotificationEmail": "false"}, json=perm)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["errors"][0]["reason"] == "invalidSharingRequest"
    assert "no Google account associated with this email address" in err["message"]
    r = s.post(f"{DRIVE}/{fid}/permissions", json=perm)  # with Google's invitation email
    assert r.status_code == 200
    assert emu.state("drive")["notifications"][-1]["to"] == "someone@example.net"


def test_deleting_a_question_deletes_its_answers(
    google_emulator: Emulator, google_transport: requests.Session
) -> None:
    emu = google_emulator
    s = session(emu, google_transport)
    fid = s.post(FORMS, json={"info": {"title": "Scores"}}).json()["formId"]
    items = [
        {"createItem": {"item": {"title": t, "questionItem": {"question": {"textQuestion": {}}}},
                        "location": {"index": i}}}
        for i, t in enumerate(("A", "B"))
    ]  # fmt: skip
    replies = s.post(f"{FORMS}/{fid}:batchUpdate", json={"requests": items}).json()["replies"]
    qa, qb = (r["createItem"]["questionId"][0] for r in replies)
    s.post(
        f"{FORMS}/{fid}:setPublishSettings",
        json={"publishSettings": {"publishState": {"isPublished": True,
                                                   "isAcceptingResponses": True}}},
    ).raise_for_status()  # fmt: skip
    submit_response(emu, fid, {qa: "3", qb: "4"}, respondent=emu.default_principal_email)
    s.post(
        f"{FORMS}/{fid}:batchUpdate",
        json={"requests": [{"deleteItem": {"location": {"index": 0}}}]},
    ).raise_for_status()
    answers = s.get(f"{FORMS}/{fid}/responses").json()["responses"][0]["answers"]
    assert set(answers) == {qb}
