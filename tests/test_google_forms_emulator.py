"""The emulator's Forms v1 through the real googleapiclient (``build('forms', 'v1')``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from automations.google.http import SessionHttp
from tests.google_emulator.core import Emulator
from tests.google_emulator.forms import SubmitRefused, form_state, submit_response

FORMS = ("forms.body", "forms.responses.readonly", "drive.file")
T0 = dt.datetime(2027, 1, 20, 10, 0, tzinfo=dt.UTC)


def client(emu: Emulator, session: requests.Session, scopes: tuple[str, ...] = FORMS) -> Any:
    token = emu.issue_token(scopes=scopes)
    authed = AuthorizedSession(Credentials(token))
    for prefix, adapter in session.adapters.items():
        authed.mount(prefix, adapter)
    return build("forms", "v1", http=SessionHttp(authed), static_discovery=True)


def drive(emu: Emulator, session: requests.Session, scopes: tuple[str, ...] = FORMS) -> Any:
    token = emu.issue_token(scopes=scopes)
    authed = AuthorizedSession(Credentials(token))
    for prefix, adapter in session.adapters.items():
        authed.mount(prefix, adapter)
    return build("drive", "v3", http=SessionHttp(authed), static_discovery=True)


def error_of(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as info:
        call()
    import json

    return int(info.value.resp.status), json.loads(info.value.content)["error"]


@pytest.fixture
def svc(google_emulator: Emulator, google_transport: requests.Session) -> Any:
    return client(google_emulator, google_transport)


def scale(title: str, low: int = 0, high: int = 4) -> dict[str, Any]:
    return {
        "title": title,
        "questionItem": {
            "question": {
                "required": True,
                "scaleQuestion": {"low": low, "high": high, "lowLabel": "No evidence"},
            }
        },
    }


def create_item(item: dict[str, Any], index: int) -> dict[str, Any]:
    return {"createItem": {"item": item, "location": {"index": index}}}


def new_form(svc: Any, title: str = "Interview scores") -> dict[str, Any]:
    form = svc.forms().create(body={"info": {"title": title}}).execute()
    svc.forms().setPublishSettings(
        formId=form["formId"],
        body={
            "publishSettings": {"publishState": {"isPublished": True, "isAcceptingResponses": True}}
        },
    ).execute()
    return dict(svc.forms().get(formId=form["formId"]).execute())


def test_create_copies_only_the_title_and_makes_a_drive_file(
    svc: Any, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    form = (
        svc.forms()
        .create(body={"info": {"title": "Interview scores", "documentTitle": "corecruit p03"}})
        .execute()
    )
    assert form["info"] == {"title": "Interview scores", "documentTitle": "corecruit p03"}
    assert "items" not in form and form["revisionId"] == "00000002"
    assert form["responderUri"].startswith("https://docs.google.com/forms/d/e/")
    assert form["publishSettings"]["publishState"] == {  # new API forms start unpublished
        "isPublished": False,
        "isAcceptingResponses": False,
    }
    found = (
        drive(google_emulator, google_transport)
        .files()
        .list(q="name = 'corecruit p03' and mimeType = 'application/vnd.google-apps.form'")
        .execute()
    )
    assert [f["id"] for f in found["files"]] == [form["formId"]]
    code, err = error_of(
        lambda: (
            svc.forms()
            .create(body={"info": {"title": "x", "description": "no"}, "items": [scale("Q")]})
            .execute()
        )
    )
    assert code == 400 and err["status"] == "INVALID_ARGUMENT"
    assert "info.description" in err["message"] and "items" in err["message"]
    code, err = error_of(lambda: svc.forms().create(body={"info": {}}).execute())
    assert code == 400 and "title" in err["message"]
    opened = svc.forms().create(body={"info": {"title": "t"}}, unpublished=False).execute()
    assert opened["publishSettings"]["publishState"]["isPublished"] is True


def test_batch_update_builds_items_in_one_call_and_answers_ids(
    svc: Any, google_emulator: Emulator
) -> None:
    form = new_form(svc)
    body = {
        "includeFormInResponse": True,
        "writeControl": {"requiredRevisionId": form["revisionId"]},
        "requests": [
            {
                "updateFormInfo": {
                    "info": {"title": "Your interview scores", "description": "Thank you."},
                    "updateMask": "title,description",
                }
            },
            {
                "updateSettings": {
                    "settings": {
                        "quizSettings": {"isQuiz": False},
                        "emailCollectionType": "DO_NOT_COLLECT",
                    },
                    "updateMask": "quizSettings.isQuiz,emailCollectionType",
                }
            },
            create_item(scale("Candidate A: question 1"), 0),
            create_item({"title": "Notes", "textItem": {}}, 0),
            create_item(
                {
                    "title": "Comment",
                    "questionItem": {"question": {"textQuestion": {"paragraph": True}}},
                },
                2,
            ),
            create_item(
                {
                    "title": "Recommend?",
                    "questionItem": {
                        "question": {
                            "choiceQuestion": {
                                "type": "RADIO",
                                "options": [{"value": "Yes"}, {"value": "No"}],
                            }
                        }
                    },
                },
                3,
            ),
        ],
    }
    google_emulator.reset_counts()
    out = svc.forms().batchUpdate(formId=form["formId"], body=body).execute()
    assert google_emulator.counts("forms") == {"forms.forms.batchUpdate": 1}
    replies = out["replies"]
    assert replies[0] == {} and replies[1] == {}
    assert set(replies[2]["createItem"]) == {"itemId", "questionId"}
    assert set(replies[3]["createItem"]) == {"itemId"}  # a text item has no question
    got = out["form"]
    assert got["info"]["title"] == "Your interview scores"
    assert got["info"]["documentTitle"] == "Interview scores"  # Drive name is not changed
    assert [i["title"] for i in got["items"]] == [
        "Notes",
        "Candidate A: question 1",
        "Comment",
        "Recommend?",
    ]
    assert got["settings"] == {"emailCollectionType": "DO_NOT_COLLECT"}
    assert out["writeControl"]["requiredRevisionId"] == got["revisionId"] == "00000003"
    qid = replies[2]["createItem"]["questionId"][0]
    assert got["items"][1]["questionItem"]["question"]["questionId"] == qid
    # move and delete
    svc.forms().batchUpdate(
        formId=form["formId"],
        body={
            "requests": [
                {"moveItem": {"originalLocation": {"index": 0}, "newLocation": {"index": 3}}},
                {"deleteItem": {"location": {"index": 0}}},
            ]
        },
    ).execute()
    after = svc.forms().get(formId=form["formId"]).execute()
    assert [i["title"] for i in after["items"]] == ["Comment", "Recommend?", "Notes"]
    assert after["revisionId"] == "00000004"


def test_bad_requests_get_googles_envelope_and_change_nothing(
    svc: Any, google_emulator: Emulator
) -> None:
    form = new_form(svc)
    fid = form["formId"]
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([create_item(scale("ok"), 0), create_item(scale("far"), 5)], "requests[1].createItem"),
        ([{"deleteItem": {"location": {"index": 0}}}], "requests[0].deleteItem"),
        ([{"createItem": {"item": scale("no location")}}], "location is required"),
        ([create_item({"title": "two kinds", "textItem": {}, "pageBreakItem": {}}, 0)], "kind"),
        ([create_item(scale("bad scale", 0, 11), 0)], "between 2 and 10"),
        ([{"updateFormInfo": {"info": {"title": "x"}}}], "updateMask is required"),
        ([{"updateSettings": {"updateMask": "*"}}], "settings is required"),
        ([], "at least one request"),
    ]
    for requests_, words in cases:
        code, err = error_of(
            lambda r=requests_: (
                svc.forms()  # type: ignore[misc]
                .batchUpdate(formId=fid, body={"requests": r})
                .execute()
            )
        )
        assert code == 400 and err["status"] == "INVALID_ARGUMENT", err
        assert words in err["message"], err["message"]
    assert "items" not in svc.forms().get(formId=fid).execute()  # all or nothing
    code, err = error_of(
        lambda: (
            svc.forms()
            .batchUpdate(
                formId=fid,
                body={
                    "requests": [create_item(scale("late"), 0)],
                    "writeControl": {"requiredRevisionId": "00000001"},
                },
            )
            .execute()
        )
    )
    assert code == 400 and "revision" in err["message"]
    code, err = error_of(lambda: svc.forms().get(formId="nope").execute())
    assert code == 404 and err["status"] == "NOT_FOUND"


def test_scopes_and_access_as_at_google(
    svc: Any, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    form = new_form(svc)
    reader = client(google_emulator, google_transport, ("forms.body.readonly",))
    assert reader.forms().get(formId=form["formId"]).execute()["formId"] == form["formId"]
    code, err = error_of(lambda: reader.forms().create(body={"info": {"title": "x"}}).execute())
    assert code == 403 and "insufficient authentication scopes" in err["message"]
    code, err = error_of(lambda: reader.forms().responses().list(formId=form["formId"]).execute())
    assert code == 403
    body_only = client(google_emulator, google_transport, ("forms.body",))
    code, _ = error_of(lambda: body_only.forms().responses().list(formId=form["formId"]).execute())
    assert code == 403
    google_emulator.default_principal_email = "someone.else@example.org"
    stranger = client(google_emulator, google_transport)
    code, err = error_of(lambda: stranger.forms().get(formId=form["formId"]).execute())
    assert code == 403 and err["message"] == "The caller does not have permission"


def answer(emu: Emulator, fid: str, answers: dict[str, Any], **kw: Any) -> str:
    """Submit as the form's owner trying it out (needs no responder access)."""
    return submit_response(emu, fid, answers, respondent=emu.default_principal_email, **kw)


def test_responses_list_filters_by_time_and_pages(svc: Any, google_emulator: Emulator) -> None:
    form = new_form(svc)
    fid = form["formId"]
    out = (
        svc.forms()
        .batchUpdate(
            formId=fid,
            body={"requests": [create_item(scale("Q1"), 0), create_item(scale("Q2", 1, 5), 1)]},
        )
        .execute()
    )
    q1, q2 = (r["createItem"]["questionId"][0] for r in out["replies"])
    assert svc.forms().responses().list(formId=fid).execute() == {}
    ids = [
        answer(google_emulator, fid, {q1: i % 5, q2: 1 + i % 5}, when=T0 + dt.timedelta(minutes=i))
        for i in range(7)
    ]
    google_emulator.reset_counts()
    pages, token = [], None
    while True:
        page = svc.forms().responses().list(formId=fid, pageSize=3, pageToken=token).execute()
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            break
    assert google_emulator.calls("forms.forms.responses.list") == 3
    got = [r for p in pages for r in p["responses"]]
    assert [r["responseId"] for r in got] == ids
    first = got[0]
    assert "formId" not in first and "respondentEmail" not in first
    assert first["answers"][q1] == {"questionId": q1, "textAnswers": {"answers": [{"value": "0"}]}}
    assert first["createTime"] == first["lastSubmittedTime"] == "2027-01-20T10:00:00.000000Z"
    since = "2027-01-20T10:04:00Z"
    after = svc.forms().responses().list(formId=fid, filter=f"timestamp > {since}").execute()
    assert [r["responseId"] for r in after["responses"]] == ids[5:]
    at = svc.forms().responses().list(formId=fid, filter=f"timestamp >= {since}").execute()
    assert [r["responseId"] for r in at["responses"]] == ids[4:]
    one = svc.forms().responses().get(formId=fid, responseId=ids[2]).execute()
    assert one["formId"] == fid and one["answers"][q2]["textAnswers"]["answers"][0]["value"] == "3"
    for bad in ("createTime > 2027-01-01T00:00:00Z", "timestamp > yesterday"):
        code, err = error_of(
            lambda b=bad: svc.forms().responses().list(formId=fid, filter=b).execute()  # type: ignore[misc]
        )
        assert code == 400 and "filter" in err["message"].lower()
    token = svc.forms().responses().list(formId=fid, pageSize=2).execute()["nextPageToken"]
    code, _ = error_of(
        lambda: (
            svc.forms()
            .responses()
            .list(formId=fid, pageToken=token, filter=f"timestamp > {since}")
            .execute()
        )
    )
    assert code == 400
    code, _ = error_of(lambda: svc.forms().responses().get(formId=fid, responseId="x").execute())
    assert code == 404


def test_an_edited_response_keeps_its_id_and_moves_in_time(
    svc: Any, google_emulator: Emulator
) -> None:
    fid = new_form(svc)["formId"]
    out = (
        svc.forms()
        .batchUpdate(formId=fid, body={"requests": [create_item(scale("Q1"), 0)]})
        .execute()
    )
    q1 = out["replies"][0]["createItem"]["questionId"][0]
    rid = answer(google_emulator, fid, {q1: 1}, when=T0)
    answer(google_emulator, fid, {q1: 3}, when=T0 + dt.timedelta(hours=1), edit_of=rid)
    later = svc.forms().responses().list(formId=fid, filter="timestamp > 2027-01-20T10:30:00Z")
    got = later.execute()["responses"]
    assert [r["responseId"] for r in got] == [rid]
    assert got[0]["createTime"] < got[0]["lastSubmittedTime"]
    assert got[0]["answers"][q1]["textAnswers"]["answers"] == [{"value": "3"}]


def test_the_respondent_helper_checks_what_the_form_page_would(
    svc: Any, google_emulator: Emulator, google_transport: requests.Session
) -> None:
    fid = new_form(svc)["formId"]
    out = (
        svc.forms()
        .batchUpdate(
            formId=fid,
            body={
                "requests": [
                    create_item(scale("Q1"), 0),
                    create_item(
                        {"title": "c", "questionItem": {"question": {"textQuestion": {}}}}, 1
                    ),
                ]
            },
        )
        .execute()
    )
    q1 = out["replies"][0]["createItem"]["questionId"][0]
    q2 = out["replies"][1]["createItem"]["questionId"][0]
    # the owner can try the form; nobody else has been given access yet
    owner = google_emulator.default_principal_email
    submit_response(google_emulator, fid, {q1: 2}, respondent=owner, when=T0)
    with pytest.raises(SubmitRefused, match="permission"):
        submit_response(google_emulator, fid, {q1: 2}, respondent="panel@example.net")
    d = drive(google_emulator, google_transport)
    d.permissions().create(
        fileId=fid, body={"type": "anyone", "role": "reader", "view": "published"}
    ).execute()
    submit_response(google_emulator, fid, {q1: 2, q2: "=1+1"}, when=T0 + dt.timedelta(minutes=1))
    for answers, words in [
        ({q2: "only a comment"}, "required"),
        ({q1: 5}, "from 0 to 4"),
        ({q1: "two"}, "one number"),
        ({"zzz": 1, q1: 1}, "no such question"),
    ]:
        with pytest.raises(SubmitRefused, match=words):
            submit_response(google_emulator, fid, answers)
    svc.forms().setPublishSettings(
        formId=fid,
        body={
            "publishSettings": {
                "publishState": {"isPublished": True, "isAcceptingResponses": False}
            }
        },
    ).execute()
    with pytest.raises(SubmitRefused, match="not accepting"):
        submit_response(google_emulator, fid, {q1: 1})
    code, _ = error_of(
        lambda: (
            svc.forms()
            .setPublishSettings(
                formId=fid,
                body={
                    "publishSettings": {
                        "publishState": {"isPublished": False, "isAcceptingResponses": True}
                    }
                },
            )
            .execute()
        )
    )
    assert code == 400
    got = svc.forms().responses().list(formId=fid).execute()["responses"]
    assert [r["answers"].get(q2, {}).get("textAnswers") for r in got] == [
        None,
        {"answers": [{"value": "=1+1"}]},  # text stays text
    ]
    assert form_state(google_emulator, fid)["publishSettings"]["publishState"] == {
        "isPublished": True,
        "isAcceptingResponses": False,
    }


def test_faults_and_counts_work_for_forms(svc: Any, google_emulator: Emulator) -> None:
    google_emulator.fail(429, retry_after=1, match="forms.forms.create")
    code, err = error_of(lambda: new_form(svc))
    assert code == 429 and err["status"] == "RESOURCE_EXHAUSTED"
    google_emulator.fail(503, match="forms.", when="after")
    code, _ = error_of(lambda: new_form(svc, "lost answer"))
    assert code == 503
    titles = [e["form"]["info"]["title"] for e in google_emulator.state("forms")["forms"].values()]
    assert titles == ["lost answer"]  # applied, answer lost: the ambiguous case
    assert google_emulator.counts("forms") == {"forms.forms.create": 2}


def test_update_item_changes_only_the_masked_fields(svc: Any) -> None:
    fid = new_form(svc)["formId"]
    out = (
        svc.forms()
        .batchUpdate(formId=fid, body={"requests": [create_item(scale("Old title"), 0)]})
        .execute()
    )
    qid = out["replies"][0]["createItem"]["questionId"][0]
    svc.forms().batchUpdate(
        formId=fid,
        body={
            "requests": [
                {
                    "updateItem": {
                        "item": {"title": "New title", "description": "not in the mask"},
                        "location": {"index": 0},
                        "updateMask": "title",
                    }
                }
            ]
        },
    ).execute()
    item = svc.forms().get(formId=fid).execute()["items"][0]
    assert item["title"] == "New title" and "description" not in item
    assert item["questionItem"]["question"]["questionId"] == qid  # answers still map
    code, err = error_of(
        lambda: (
            svc.forms()
            .batchUpdate(
                formId=fid,
                body={
                    "requests": [
                        {
                            "updateItem": {
                                "item": {"title": "x"},
                                "location": {"index": 0},
                                "updateMask": "colour",
                            }
                        }
                    ]
                },
            )
            .execute()
        )
    )
    assert code == 400 and "unknown field 'colour'" in err["message"]
