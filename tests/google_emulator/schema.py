"""Google's own request schemas, from the discovery documents googleapiclient ships.

Google answers a request that names a field or an enum value its API does not
have with 400 "Invalid JSON payload received. Unknown name …". The emulator
checks every request the same way (:func:`check`), so a misspelt field fails a
test instead of passing here and failing at Google. :func:`problems` gives the
same findings as plain strings (the conformance test uses it on captured
requests).

Drive v3 is the exception at Google itself: it ignores query parameters and body
fields it does not know (gspread's recordings send ``includeItemsFromAllDrives`` to
``files.get`` and ``withLink`` to ``permissions.create``, and Google answered 200),
so the emulator does too, and a misspelt Drive field would silently do nothing.
``tests/test_google_conformance.py`` checks corecruit's own Drive requests
strictly with :func:`problems` instead.

Only the four APIs corecruit uses are loaded: Sheets v4, Drive v3, Forms v1 and
Gmail v1. A route whose name is not a discovery method id (``oauth2.token``) is
not checked.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from .core import ApiError

DOCS = {"sheets": "sheets.v4.json", "drive": "drive.v3.json", "forms": "forms.v1.json",
        "gmail": "gmail.v1.json"}  # fmt: skip


def _documents() -> Path:
    import googleapiclient

    return Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@functools.cache
def document(api: str) -> dict[str, Any]:
    """The discovery document of one API (``sheets``, ``drive``, ``forms``, ``gmail``)."""
    doc: dict[str, Any] = json.loads((_documents() / DOCS[api]).read_text(encoding="utf-8"))
    return doc


def _walk(resources: dict[str, Any], out: dict[str, dict[str, Any]]) -> None:
    for res in resources.values():
        for m in (res.get("methods") or {}).values():
            out[m["id"]] = m
        _walk(res.get("resources") or {}, out)


@functools.cache
def methods(api: str) -> dict[str, dict[str, Any]]:
    """Method id (``sheets.spreadsheets.batchUpdate``) -> its discovery entry."""
    out: dict[str, dict[str, Any]] = {}
    _walk(document(api).get("resources") or {}, out)
    return out


def method(name: str) -> dict[str, Any] | None:
    api = name.split(".", 1)[0]
    if api not in DOCS:
        return None
    return methods(api).get(name)


def _snake(name: str) -> str:
    """Google names fields in error paths the proto way: ``repeatCell`` -> ``repeat_cell``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _join(path: str, key: str) -> str:
    return f"{path}.{_snake(key)}" if path else _snake(key)


def _body_problems(
    api: str,
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[str],
    old: list[str] | None = None,
) -> None:
    schemas = document(api)["schemas"]
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if props is not None and key in props:
                if old is not None and props[key].get("deprecated"):
                    old.append(_join(path, key))
                _body_problems(api, props[key], sub, _join(path, key), out, old)
            elif extra is not None:
                _body_problems(api, extra, sub, f"{path}[{key}]", out, old)
            elif props is not None:
                where = f" at '{path}'" if path else ""
                out.append(f'Unknown name "{key}"{where}: Cannot find field.')
    elif kind == "array" and isinstance(value, list):
        for i, sub in enumerate(value):
            _body_problems(api, schema.get("items") or {}, sub, f"{path}[{i}]", out, old)
    elif kind == "string" and isinstance(value, str) and value not in schema.get("enum", [value]):
        out.append(f"Invalid value at '{path}' (TYPE_ENUM), \"{value}\"")


def problems(
    name: str,
    query: dict[str, list[str]],
    body: Any,
    *,
    params: bool = True,
    deprecated: list[str] | None = None,
) -> list[str] | None:
    """What Google would refuse in this request (None: not a method of the four APIs).

    ``params=False`` leaves query parameters out: Drive ignores ones it does not know
    (gspread's recordings send ``includeItemsFromAllDrives`` to ``files.get``).
    Fields Google marks deprecated are added to ``deprecated`` when it is given.
    """
    m = method(name)
    if m is None:
        return None
    api = name.split(".", 1)[0]
    out: list[str] = []
    known = {**document(api).get("parameters", {}), **(m.get("parameters") or {})}
    for key, values in query.items() if params else ():
        p = known.get(key)
        if p is None:
            out.append(
                f"Unknown name \"{key}\": Cannot bind query parameter. Field '{key}' could not "
                "be found in request message."
            )
            continue
        for v in values:
            if "enum" in p and v not in p["enum"]:
                out.append(f"Invalid value at '{_snake(key)}' (TYPE_ENUM), \"{v}\"")
    request = m.get("request")
    if body is not None and body != {} and request is not None:
        _body_problems(api, request, body, "", out, deprecated)
    return out


def check(name: str, query: dict[str, list[str]], raw_body: bytes) -> None:
    """Raise Google's 400 for a request whose parameters or body the API does not know."""
    body: Any = None
    if raw_body:
        try:
            body = json.loads(raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return  # not JSON (an upload): the handler says what it thinks
    if name.startswith("drive."):
        return  # Drive ignores what it does not know (the conformance test checks corecruit's)
    found = problems(name, query, body)
    if not found:
        return
    msg = "Invalid JSON payload received. " + "\n".join(found)
    raise ApiError(
        400,
        msg,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"description": p} for p in found],
            }
        ],
    )
