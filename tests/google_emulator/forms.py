"""Forms v1: forms (create, get, batchUpdate, setPublishSettings) and responses (list, get).

Shapes follow the discovery document shipped with googleapiclient
(``discovery_cache/documents/forms.v1.json``):

* ``create`` copies only ``info.title`` and ``info.documentTitle``; anything else
  in the body (items, settings, a description) is refused with 400, as at Google.
  The form is also a Drive file (mime type ``application/vnd.google-apps.form``,
  named after the document title) so Drive ``files.list`` and permissions see it.
  A new form starts unpublished and closed to responses, as forms made with the
  API after 31 March 2026 do (Google's release notes); ``unpublished=false`` asks
  for a published one. ``setPublishSettings`` publishes it, and people can answer
  only with a Drive permission with ``view: published`` (or edit access).
* ``batchUpdate`` applies ``createItem``, ``updateItem``, ``updateFormInfo``,
  ``updateSettings``, ``deleteItem`` and ``moveItem`` all or nothing; the first
  bad request fails the whole batch with ``Invalid requests[i].<kind>: ...``.
  ``writeControl.requiredRevisionId`` must be the current revision;
  ``includeFormInResponse`` returns the updated form. Replies map 1:1 to requests.
* ``responses.list`` understands ``filter=timestamp > T`` and ``timestamp >= T``
  (RFC 3339 UTC, on the last submitted time), ``pageSize`` (at most 5000) and
  ``pageToken`` (only with the same filter); a form with no responses answers ``{}``.

The real API has no way to submit a response: tests use :func:`submit_response`,
which checks what Google's form page would (published, accepting responses, the
respondent allowed to respond, required questions answered, values in range).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
from typing import Any

from .core import SCOPE, ApiError, Emulator, Principal, Request, route
from .drive import FORM, DriveFile, add_file, files, refuse_service_account_owner, touch

BODY_WRITE = ("forms.body", "drive", "drive.file")
BODY_READ = ("forms.body", "forms.body.readonly", "drive", "drive.file", "drive.readonly")
RESPONSES_READ = ("forms.responses.readonly", "drive", "drive.file")
MAX_PAGE = 5000
ITEM_KINDS = (
    "questionItem",
    "questionGroupItem",
    "pageBreakItem",
    "textItem",
    "imageItem",
    "videoItem",
)
QUESTION_KINDS = (
    "choiceQuestion",
    "textQuestion",
    "scaleQuestion",
    "dateQuestion",
    "timeQuestion",
    "fileUploadQuestion",
    "rowQuestion",
    "ratingQuestion",
)
EDITOR_ROLES = ("owner", "writer", "organizer", "fileOrganizer")
# Scopes that reach every form the account can open; drive.file alone reaches the app's own.
BROAD = {SCOPE + s for s in ("drive", "drive.readonly", "forms.body", "forms.body.readonly")}
BROAD_RESPONSES = {SCOPE + s for s in ("drive", "forms.responses.readonly")}


def forms(emu: Emulator) -> dict[str, dict[str, Any]]:
    """form id -> {"form": Form JSON, "revision": int, "responses": [FormResponse]}."""
    return emu.state("forms").setdefault("forms", {})


def now_rfc3339(when: dt.datetime | None = None) -> str:
    t = when or dt.datetime.now(dt.UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> dt.datetime | None:
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z", text.strip())
    if not m:
        return None
    frac = (m.group(7) or "").ljust(9, "0")
    try:
        base = dt.datetime(*(int(m.group(i)) for i in range(1, 7)), tzinfo=dt.UTC)
    except ValueError:
        return None
    return base + dt.timedelta(microseconds=int(frac[:6]))


def _rev(n: int) -> str:
    return f"{n:08d}"


def _hex_id(emu: Emulator) -> str:
    return f"{emu.rng.randint(0, 0xFFFFFFFF):08x}"


def _entry(emu: Emulator, form_id: str) -> dict[str, Any]:
    e = forms(emu).get(form_id)
    if e is None:
        raise ApiError(404, "Requested entity was not found.")
    return e


def _check_access(
    emu: Emulator, principal: Principal | None, form_id: str, *, responses: bool = False
) -> dict[str, Any]:
    """The form entry if ``principal`` may edit it (editors see responses too)."""
    assert principal is not None
    e = _entry(emu, form_id)
    f: DriveFile | None = files(emu).get(form_id)
    denied = ApiError(403, "The caller does not have permission")
    if f is None:  # deleted through Drive
        raise ApiError(404, "Requested entity was not found.")
    broad = BROAD_RESPONSES if responses else BROAD
    if not (principal.scopes & broad) and principal.email not in f.app_access:
        raise denied  # drive.file only: forms this app did not create are out of reach
    editor = any(
        p.get("role") in EDITOR_ROLES
        and p.get("view") != "published"
        and p.get("type") == "user"
        and p.get("emailAddress", "").lower() == principal.email.lower()
        for p in f.permissions
    ) or (f.members.get(principal.email.lower()) in EDITOR_ROLES)  # on a shared drive
    if not editor:
        raise denied
    return e


def _drop_defaults(obj: Any) -> Any:
    """Google's JSON leaves out proto3 defaults (false, 0, empty strings) in items."""
    if isinstance(obj, dict):
        return {
            k: _drop_defaults(v)
            for k, v in obj.items()
            if not (v is False or (type(v) is int and v == 0) or v == "")
        }
    if isinstance(obj, list):
        return [_drop_defaults(v) for v in obj]
    return obj


def _form_out(e: dict[str, Any]) -> dict[str, Any]:
    form = copy.deepcopy(e["form"])
    form["revisionId"] = _rev(e["revision"])
    if form.get("items"):
        form["items"] = _drop_defaults(form["items"])
    else:
        form.pop("items", None)
    return form


# ------------------------------------------------------------------ forms


def new_form(
    emu: Emulator, form_id: str, title: str, doc_title: str, *, published: bool = False
) -> None:
    """The form behind a new Drive file of the form type (untitled when made through Drive)."""
    form: dict[str, Any] = {
        "formId": form_id,
        "info": {"title": title or "Untitled form", "documentTitle": doc_title},
        "settings": {"emailCollectionType": "DO_NOT_COLLECT"},
        "items": [],
        "responderUri": f"https://docs.google.com/forms/d/e/1FAIpQLS{emu.new_id(48)}/viewform",
        "publishSettings": {
            "publishState": {"isPublished": published, "isAcceptingResponses": published}
        },
    }
    forms(emu)[form_id] = {"form": form, "revision": 2, "responses": []}


@route("POST", r"/v1/forms", name="forms.forms.create", scopes=BODY_WRITE)
def forms_create(emu: Emulator, req: Request) -> dict[str, Any]:
    assert req.principal is not None
    body = req.json() or {}
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. Expected an object.")
    extra = sorted(k for k in body if k not in ("info", "formId", "revisionId", "responderUri"))
    info = body.get("info") or {}
    extra += sorted(f"info.{k}" for k in info if k not in ("title", "documentTitle"))
    if extra:
        raise ApiError(
            400,
            "Only info.title and info.document_title may be set in a create request; "
            f"found: {', '.join(extra)}. Add items and settings with forms.batchUpdate.",
        )
    for k in ("formId", "revisionId", "responderUri"):
        if k in body:
            raise ApiError(400, f"{k} is output only and cannot be set.")
    title = info.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ApiError(400, "Invalid value at 'form.info.title': a title is required.")
    doc_title = info.get("documentTitle") or title
    # forms.create always makes the form in the caller's own Drive
    refuse_service_account_owner(emu, req.principal, "")
    f = add_file(emu, doc_title, FORM, req.principal.email)
    unpublished = req.flag("unpublished", default=True)
    new_form(emu, f.id, title, doc_title, published=not unpublished)
    return _form_out(forms(emu)[f.id])


@route("GET", r"/v1/forms/(?P<form_id>[^/:]+)", name="forms.forms.get", scopes=BODY_READ)
def forms_get(emu: Emulator, req: Request, form_id: str) -> dict[str, Any]:
    return _form_out(_check_access(emu, req.principal, form_id))


@route(
    "POST",
    r"/v1/forms/(?P<form_id>[^/:]+):setPublishSettings",
    name="forms.forms.setPublishSettings",
    scopes=BODY_WRITE,
)
def forms_set_publish(emu: Emulator, req: Request, form_id: str) -> dict[str, Any]:
    e = _check_access(emu, req.principal, form_id)
    body = req.json() or {}
    state = (body.get("publishSettings") or {}).get("publishState")
    if not isinstance(state, dict):
        raise ApiError(400, "publish_settings.publish_state is required.")
    if "isPublished" not in state or "isAcceptingResponses" not in state:
        raise ApiError(
            400, "Both is_published and is_accepting_responses must be set in publish_state."
        )
    published, accepting = bool(state["isPublished"]), bool(state["isAcceptingResponses"])
    if accepting and not published:
        raise ApiError(400, "A form that is not published cannot accept responses.")
    e["form"]["publishSettings"] = {
        "publishState": {"isPublished": published, "isAcceptingResponses": accepting}
    }
    return {"formId": form_id, "publishSettings": copy.deepcopy(e["form"]["publishSettings"])}


class _Bad(Exception):
    pass


def _location(req: dict[str, Any], key: str, n: int, *, inclusive: bool = False) -> int:
    loc = req.get(key)
    if not isinstance(loc, dict) or "index" not in loc:
        raise _Bad(f"{key} is required")
    idx = loc["index"]
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
        raise _Bad(f"{key}.index must be a number of 0 or more")
    top = n if inclusive else n - 1
    if idx > top:
        if inclusive:
            raise _Bad(
                f"index {idx} must be less than or equal to the number of items in the form ({n})"
            )
        raise _Bad(f"index {idx} must be less than the number of items in the form ({n})")
    return idx


def _ids_in(form: dict[str, Any]) -> tuple[set[str], set[str]]:
    items, questions = set(), set()
    for it in form["items"]:
        items.add(it["itemId"])
        for q in _questions_of(it):
            questions.add(q["questionId"])
    return items, questions


def _questions_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    if "questionItem" in item:
        return [item["questionItem"]["question"]]
    if "questionGroupItem" in item:
        return list(item["questionGroupItem"].get("questions", []))
    return []


def _check_question(q: dict[str, Any], where: str) -> None:
    kinds = [k for k in QUESTION_KINDS if k in q]
    if len(kinds) != 1:
        raise _Bad(f"{where} must set exactly one kind of question")
    kind = kinds[0]
    body = q[kind] or {}
    if kind == "scaleQuestion":
        low, high = body.get("low", 0), body.get("high")
        if high is None:
            raise _Bad(f"{where}.scaleQuestion.high is required")
        if low not in (0, 1):
            raise _Bad(f"{where}.scaleQuestion: the low value must be 0 or 1")
        if not isinstance(high, int) or not 2 <= high <= 10:
            raise _Bad(f"{where}.scaleQuestion: the high value must be between 2 and 10")
    elif kind == "choiceQuestion":
        if body.get("type") not in ("RADIO", "CHECKBOX", "DROP_DOWN"):
            raise _Bad(f"{where}.choiceQuestion.type is required")
        opts = body.get("options") or []
        if not opts:
            raise _Bad(f"{where}.choiceQuestion.options is required")
        values = [o.get("value", "") for o in opts if not o.get("isOther")]
        if any(not str(v).strip() for v in values):
            raise _Bad(f"{where}.choiceQuestion: option values cannot be empty")
        if len(set(values)) != len(values):
            raise _Bad(f"{where}.choiceQuestion: option values must be unique")
    elif kind == "ratingQuestion":
        level = body.get("ratingScaleLevel")
        if not isinstance(level, int) or not 3 <= level <= 10:
            raise _Bad(f"{where}.ratingQuestion: ratingScaleLevel must be between 3 and 10")
        if body.get("iconType") not in ("STAR", "HEART", "THUMB_UP"):
            raise _Bad(f"{where}.ratingQuestion.iconType is required")


def _new_item(emu: Emulator, form: dict[str, Any], item: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(item, dict):
        raise _Bad("item is required")
    item = copy.deepcopy(item)
    kinds = [k for k in ITEM_KINDS if k in item]
    if len(kinds) != 1:
        raise _Bad("an item must set exactly one kind (questionItem, textItem, pageBreakItem, …)")
    items_used, questions_used = _ids_in(form)
    if item.get("itemId"):
        if item["itemId"] in items_used:
            raise _Bad(f"item ID {item['itemId']} is already used in this form")
    else:
        item["itemId"] = _hex_id(emu)
    questions = []
    if "questionItem" in item:
        q = (item["questionItem"] or {}).get("question")
        if not isinstance(q, dict):
            raise _Bad("questionItem.question is required")
        _check_question(q, "question")
        questions = [q]
    elif "questionGroupItem" in item:
        group = item["questionGroupItem"] or {}
        questions = list(group.get("questions") or [])
        if not questions:
            raise _Bad("questionGroupItem.questions is required")
    made = []
    for q in questions:
        qid = q.get("questionId")
        if qid:
            if qid in questions_used:
                raise _Bad(f"question ID {qid} is already used in this form")
        else:
            qid = _hex_id(emu)
            q["questionId"] = qid
        questions_used.add(qid)
        made.append(qid)
    return item, made


def _mask(value: Any, allowed: tuple[str, ...], what: str) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"updateMask is required for {what}")
    paths = [p.strip() for p in value.split(",") if p.strip()]
    if paths == ["*"]:
        return list(allowed)
    for p in paths:
        if p not in allowed:
            raise _Bad(f"updateMask: unknown field '{p}' for {what}")
    return paths


def _set_path(dst: dict[str, Any], src: dict[str, Any], path: str) -> None:
    keys = path.split(".")
    s: Any = src
    for k in keys:
        s = s.get(k) if isinstance(s, dict) else None
    d = dst
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    if s is None:
        d.pop(keys[-1], None)
    else:
        d[keys[-1]] = copy.deepcopy(s)


def _apply(emu: Emulator, form: dict[str, Any], i: int, r: Any) -> dict[str, Any]:
    if not isinstance(r, dict):
        raise ApiError(400, f"Invalid requests[{i}]: empty request")
    kinds = [
        k
        for k in (
            "createItem",
            "updateItem",
            "updateFormInfo",
            "updateSettings",
            "deleteItem",
            "moveItem",
        )
        if k in r
    ]
    if len(kinds) != 1:
        raise ApiError(400, f"Invalid requests[{i}]: a request must set exactly one kind")
    kind = kinds[0]
    body = r[kind] or {}
    items: list[dict[str, Any]] = form["items"]
    try:
        if kind == "createItem":
            idx = _location(body, "location", len(items), inclusive=True)
            item, qids = _new_item(emu, form, body.get("item"))
            items.insert(idx, item)
            reply: dict[str, Any] = {"itemId": item["itemId"]}
            if qids:
                reply["questionId"] = qids
            return {"createItem": reply}
        if kind == "deleteItem":
            idx = _location(body, "location", len(items))
            del items[idx]
            return {}
        if kind == "moveItem":
            src = _location(body, "originalLocation", len(items))
            dst = _location(body, "newLocation", len(items))
            items.insert(dst, items.pop(src))
            return {}
        if kind == "updateItem":
            idx = _location(body, "location", len(items))
            new = body.get("item")
            if not isinstance(new, dict):
                raise _Bad("item is required")
            paths = _mask(
                body.get("updateMask"),
                ("title", "description", *ITEM_KINDS),
                "updateItem",
            )
            old = items[idx]
            merged = copy.deepcopy(old)
            for p in paths:
                _set_path(merged, new, p)
            for q in _questions_of(merged):
                if "questionItem" in merged:
                    _check_question(q, "question")
                q.setdefault("questionId", _hex_id(emu))
            items[idx] = merged
            return {}
        if kind == "updateFormInfo":
            info = body.get("info")
            if not isinstance(info, dict):
                raise _Bad("info is required")
            paths = _mask(body.get("updateMask"), ("title", "description"), "updateFormInfo")
            for p in paths:
                _set_path(form["info"], info, p)
            if not (form["info"].get("title") or "").strip():
                raise _Bad("the form title cannot be empty")
            return {}
        # updateSettings
        settings = body.get("settings")
        if not isinstance(settings, dict):
            raise _Bad("settings is required")
        paths = _mask(
            body.get("updateMask"),
            ("quizSettings.isQuiz", "emailCollectionType"),
            "updateSettings",
        )
        paths = ["quizSettings.isQuiz" if p == "quizSettings" else p for p in paths]
        for p in paths:
            _set_path(form["settings"], settings, p)
        ect = form["settings"].get("emailCollectionType", "DO_NOT_COLLECT")
        if ect not in ("DO_NOT_COLLECT", "VERIFIED", "RESPONDER_INPUT"):
            raise _Bad(f"emailCollectionType {ect} is not a valid value")
        if not form["settings"].get("quizSettings", {}).get("isQuiz"):
            form["settings"].pop("quizSettings", None)
            for it in form["items"]:  # turning the quiz off deletes all grading
                for q in _questions_of(it):
                    q.pop("grading", None)
        return {}
    except _Bad as exc:
        raise ApiError(400, f"Invalid requests[{i}].{kind}: {exc}") from None


@route(
    "POST",
    r"/v1/forms/(?P<form_id>[^/:]+):batchUpdate",
    name="forms.forms.batchUpdate",
    scopes=BODY_WRITE,
)
def forms_batch_update(emu: Emulator, req: Request, form_id: str) -> dict[str, Any]:
    e = _check_access(emu, req.principal, form_id)
    body = req.json() or {}
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise ApiError(400, "Must specify at least one request.")
    wc = body.get("writeControl") or {}
    if "requiredRevisionId" in wc and "targetRevisionId" in wc:
        raise ApiError(400, "Only one of required_revision_id and target_revision_id may be set.")
    required = wc.get("requiredRevisionId")
    if required is not None and required != _rev(e["revision"]):
        raise ApiError(
            400,
            f"The revision ID '{required}' is not the latest revision of the form "
            f"('{_rev(e['revision'])}'); read the form again and retry.",
            "FAILED_PRECONDITION",
        )
    target = wc.get("targetRevisionId")
    if target is not None and (not str(target).isdigit() or int(target) > e["revision"]):
        raise ApiError(400, f"Invalid target revision ID '{target}'.")
    form = copy.deepcopy(e["form"])
    replies = [_apply(emu, form, i, r) for i, r in enumerate(requests)]
    if form != e["form"]:
        # as at Google, a question deleted from the form takes its answers with it
        before = {q.get("questionId") for it in e["form"]["items"] for q in _questions_of(it)}
        after = {q.get("questionId") for it in form["items"] for q in _questions_of(it)}
        for r in e["responses"]:
            for qid in before - after:
                r["answers"].pop(qid, None)
        e["form"] = form
        e["revision"] += 1
        f = files(emu).get(form_id)
        if f is not None:
            touch(f)
    out: dict[str, Any] = {
        "replies": replies,
        "writeControl": {"requiredRevisionId": _rev(e["revision"])},
    }
    if body.get("includeFormInResponse"):
        out["form"] = _form_out(e)
    return out


# -------------------------------------------------------------- responses

_FILTER = re.compile(r"\s*timestamp\s*(>=|>)\s*(\S+)\s*\Z")


def _token(offset: int, flt: str) -> str:
    raw = json.dumps({"o": offset, "f": flt}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _untoken(token: str, flt: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, was = int(data["o"]), str(data["f"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Invalid page token.") from None
    if was != flt:
        raise ApiError(400, "The filter must be the same as for the request that gave the token.")
    return offset


def _response_out(r: dict[str, Any], *, with_form: bool) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in r.items() if not k.startswith("_")}
    if not with_form:
        out.pop("formId", None)
    if not out.get("answers"):
        out.pop("answers", None)
    return out


@route(
    "GET",
    r"/v1/forms/(?P<form_id>[^/:]+)/responses",
    name="forms.forms.responses.list",
    scopes=RESPONSES_READ,
)
def responses_list(emu: Emulator, req: Request, form_id: str) -> dict[str, Any]:
    e = _check_access(emu, req.principal, form_id, responses=True)
    flt = req.arg("filter") or ""
    found = list(e["responses"])
    if flt:
        m = _FILTER.match(flt)
        when = parse_rfc3339(m.group(2)) if m else None
        if m is None or when is None:
            raise ApiError(
                400,
                "Invalid filter: only 'timestamp > T' and 'timestamp >= T' are supported, "
                "with T in RFC 3339 UTC ('Zulu') form, e.g. 2014-10-02T15:01:23Z.",
            )
        strict = m.group(1) == ">"
        found = [
            r
            for r in found
            if (r["_last"] > when if strict else r["_last"] >= when)  # type: ignore[operator]
        ]
    found.sort(key=lambda r: (r["_last"], r["responseId"]))
    size_arg = req.arg("pageSize") or "0"
    try:
        size = int(size_arg)
    except ValueError:
        raise ApiError(400, f"Invalid value at 'page_size' (TYPE_INT32), \"{size_arg}\"") from None
    if size < 0:
        raise ApiError(400, "page_size must not be negative.")
    size = MAX_PAGE if size == 0 else min(size, MAX_PAGE)
    start = _untoken(req.arg("pageToken") or "", flt) if req.arg("pageToken") else 0
    page = found[start : start + size]
    out: dict[str, Any] = {}
    if page:
        out["responses"] = [_response_out(r, with_form=False) for r in page]
    if start + size < len(found):
        out["nextPageToken"] = _token(start + size, flt)
    return out


@route(
    "GET",
    r"/v1/forms/(?P<form_id>[^/:]+)/responses/(?P<response_id>[^/:]+)",
    name="forms.forms.responses.get",
    scopes=RESPONSES_READ,
)
def responses_get(emu: Emulator, req: Request, form_id: str, response_id: str) -> dict[str, Any]:
    e = _check_access(emu, req.principal, form_id, responses=True)
    for r in e["responses"]:
        if r["responseId"] == response_id:
            return _response_out(r, with_form=True)
    raise ApiError(404, "Requested entity was not found.")


# ------------------------------------------------- the respondent (test side)


class SubmitRefused(ValueError):
    """What the respondent's form page would say instead of accepting the answers."""


def _may_respond(emu: Emulator, form_id: str, respondent: str | None) -> bool:
    f = files(emu).get(form_id)
    if f is None:
        return False
    for p in f.permissions:
        if p.get("type") == "anyone" and p.get("view") == "published":
            return True
        if respondent and p.get("emailAddress", "").lower() == respondent.lower():
            return True  # a named responder, or an editor trying their own form
    return False


def submit_response(
    emu: Emulator,
    form_id: str,
    answers: dict[str, Any],
    *,
    respondent: str | None = None,
    when: dt.datetime | None = None,
    edit_of: str | None = None,
) -> str:
    """Submit ``answers`` (question id -> value, or list of values) as a respondent would.

    ``respondent`` is the signed-in account (None: not signed in). ``edit_of`` edits
    an earlier response (same response id, new last submitted time, as when a
    respondent uses "Edit your response"). Returns the response id. Raises
    :class:`SubmitRefused` where the form page would not accept the answers.
    """
    with emu.lock:
        e = forms(emu).get(form_id)
        if e is None:
            raise SubmitRefused("this form does not exist")
        state = e["form"].get("publishSettings", {}).get("publishState", {})
        if not state.get("isPublished") or not state.get("isAcceptingResponses"):
            raise SubmitRefused("this form is not accepting responses")
        if not _may_respond(emu, form_id, respondent):
            raise SubmitRefused("you need permission to respond to this form")
        questions: dict[str, dict[str, Any]] = {}
        for it in e["form"]["items"]:
            for q in _questions_of(it):
                questions[q["questionId"]] = q
        unknown = sorted(set(answers) - set(questions))
        if unknown:
            raise SubmitRefused(f"no such question: {', '.join(unknown)}")
        out: dict[str, Any] = {}
        for qid, q in questions.items():
            raw = answers.get(qid)
            values = [] if raw is None else raw if isinstance(raw, list) else [raw]
            values = [str(v) for v in values if str(v) != ""]
            if not values:
                if q.get("required"):
                    raise SubmitRefused(f"question {qid} is required")
                continue
            _check_answer(q, qid, values)
            out[qid] = {
                "questionId": qid,
                "textAnswers": {"answers": [{"value": v} for v in values]},
            }
        stamp = when or dt.datetime.now(dt.UTC)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        settings = e["form"].get("settings", {})
        email_mode = settings.get("emailCollectionType", "DO_NOT_COLLECT")
        if edit_of is not None:
            old = next((r for r in e["responses"] if r["responseId"] == edit_of), None)
            if old is None:
                raise SubmitRefused("no such response to edit")
            old["answers"] = out
            old["lastSubmittedTime"] = now_rfc3339(stamp)
            old["_last"] = stamp
            return str(edit_of)
        rid = "ACYDBN" + emu.new_id(40)
        resp: dict[str, Any] = {
            "formId": form_id,
            "responseId": rid,
            "createTime": now_rfc3339(stamp),
            "lastSubmittedTime": now_rfc3339(stamp),
            "answers": out,
            "_last": stamp,
        }
        if email_mode != "DO_NOT_COLLECT" and respondent:
            resp["respondentEmail"] = respondent
        if settings.get("quizSettings", {}).get("isQuiz"):
            resp["totalScore"] = 0
        e["responses"].append(resp)
        return rid


def _check_answer(q: dict[str, Any], qid: str, values: list[str]) -> None:
    if "scaleQuestion" in q:
        s = q["scaleQuestion"]
        low, high = int(s.get("low", 0)), int(s["high"])
        if len(values) != 1 or not values[0].lstrip("-").isdigit():
            raise SubmitRefused(f"question {qid} takes one number")
        if not low <= int(values[0]) <= high:
            raise SubmitRefused(f"question {qid} takes a number from {low} to {high}")
    elif "choiceQuestion" in q:
        c = q["choiceQuestion"]
        allowed = {o.get("value") for o in c.get("options", []) if not o.get("isOther")}
        other = any(o.get("isOther") for o in c.get("options", []))
        if c.get("type") != "CHECKBOX" and len(values) != 1:
            raise SubmitRefused(f"question {qid} takes one choice")
        for v in values:
            if v not in allowed and not other:
                raise SubmitRefused(f"question {qid} has no option {v!r}")
    elif "textQuestion" in q and not q["textQuestion"].get("paragraph") and len(values) != 1:
        raise SubmitRefused(f"question {qid} takes one answer")
    elif "ratingQuestion" in q:
        level = int(q["ratingQuestion"]["ratingScaleLevel"])
        if len(values) != 1 or not values[0].isdigit() or not 1 <= int(values[0]) <= level:
            raise SubmitRefused(f"question {qid} takes a rating from 1 to {level}")


def form_state(emu: Emulator, form_id: str) -> dict[str, Any]:
    """For tests: the stored form (as ``forms.get`` would answer it)."""
    with emu.lock:
        return _form_out(_entry(emu, form_id))


def question_ids(emu: Emulator, form_id: str) -> dict[str, str]:
    """For tests: item title -> question id, for the form's single-question items."""
    with emu.lock:
        e = _entry(emu, form_id)
        return {
            it.get("title", ""): it["questionItem"]["question"]["questionId"]
            for it in e["form"]["items"]
            if "questionItem" in it
        }
