"""Replay recorded Google traffic (vcrpy cassettes) against the emulator and compare answers.

Each cassette is a list of real requests and Google's real answers. We send the
same requests, in order, to a fresh emulator and compare its answers with
Google's: status and JSON body, with ids (file, sheet, protected range, named
range, permission) mapped from Google's to the emulator's as they appear, and
creation/modification times left out. Numbers compare with a small tolerance.

A cassette is *supported* when every request in it reaches a route the emulator
has and every ``spreadsheets.batchUpdate`` request kind is one it models.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import ROUTES, Emulator, Response
from .drive import SPREADSHEET, DriveFile, files
from .sheets import BATCH_UPDATES, new_spreadsheet

ID_KEYS = {"id", "spreadsheetId", "sheetId", "protectedRangeId", "namedRangeId", "permissionId"}
TIME_KEYS = {"createdTime", "modifiedTime"}
RECORDED_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"
SCOPES = ("spreadsheets", "drive")


@dataclass
class Result:
    name: str
    status: str  # "pass" | "fail" | "unsupported"
    detail: str = ""
    interactions: int = 0
    families: set[str] = field(default_factory=set)


def recordings_folder() -> Path:
    """The recordings in ``shared/`` next to the checkout (or next to its worktrees folder)."""
    import os

    here = Path(__file__).resolve()
    candidates = (
        [Path(os.environ["CORECRUIT_SHARED"])] if os.environ.get("CORECRUIT_SHARED") else []
    )
    candidates += [p / "shared" for p in here.parents]
    for c in candidates:
        folder = c / "google-api-recordings" / "gspread-cassettes"
        if folder.is_dir():
            return folder
    return candidates[0] / "google-api-recordings" / "gspread-cassettes"


def load(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["interactions"])


def _path(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _route_name(method: str, uri: str) -> str | None:
    path = _path(uri).partition("?")[0]
    for r in ROUTES:
        if r.method == method.upper() and r.pattern.match(path):
            return r.name
    return None


def support(interactions: list[dict[str, Any]]) -> tuple[bool, str, set[str]]:
    """Whether the emulator models every call; the first reason if not; every API family used."""
    families: set[str] = set()
    made: set[str] = set()
    reason = ""
    for it in interactions:
        req = it["request"]
        name = _route_name(req["method"], req["uri"])
        path = _path(req["uri"]).partition("?")[0]
        if name is None:
            families.add(f"{req['method']} {re.sub(r'/files/[^/]+', '/files/ID', path)}")
            reason = reason or f"no route for {req['method']} {path}"
            continue
        families.add(name)
        text = it["response"]["body"]["string"] or ""
        answer = json.loads(text) if text.strip().startswith("{") else {}
        if name in ("drive.files.create", "drive.files.copy") and "id" in answer:
            made.add(answer["id"])
        if name == "drive.files.list" and any(
            f.get("id") not in made for f in answer.get("files", [])
        ):
            reason = reason or "lists Drive files made outside the recording"
        if name == "sheets.spreadsheets.batchUpdate":
            for r in json.loads(req["body"] or "{}").get("requests") or []:
                for kind in r:
                    families.add(f"batchUpdate.{kind}")
                    if kind not in BATCH_UPDATES:
                        reason = reason or f"batchUpdate request {kind} is not modelled"
    return not reason, reason, families


def _walk_map(recorded: Any, actual: Any, mapping: dict[Any, Any]) -> None:
    """Learn Google-id -> emulator-id pairs by walking both answers side by side."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for k, v in recorded.items():
            if k not in actual:
                continue
            if k in ID_KEYS and isinstance(v, (str, int)) and not isinstance(v, bool):
                mapping.setdefault(v, actual[k])
            else:
                _walk_map(v, actual[k], mapping)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for a, b in zip(recorded, actual, strict=False):
            _walk_map(a, b, mapping)


def _sub(obj: Any, mapping: dict[Any, Any]) -> Any:
    """Replace Google's ids by the emulator's in a request or recorded answer."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ID_KEYS and not isinstance(v, bool) and v in mapping:
                out[k] = mapping[v]
            else:
                out[k] = _sub(v, mapping)
        return out
    if isinstance(obj, list):
        return [_sub(v, mapping) for v in obj]
    if isinstance(obj, str):
        for old, new in mapping.items():
            if isinstance(old, str) and len(old) > 20 and old in obj:
                obj = obj.replace(old, str(new))
        return obj
    return obj


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIME_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def diff(expected: Any, actual: Any, where: str = "") -> str | None:
    """The first difference, or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in sorted(set(expected) | set(actual)):
            if k not in actual:
                return f"{where}.{k}: missing (Google: {json.dumps(expected[k])[:120]})"
            if k not in expected:
                return f"{where}.{k}: extra (emulator: {json.dumps(actual[k])[:120]})"
            d = diff(expected[k], actual[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return (
                f"{where}: {len(actual)} items, Google {len(expected)}: {json.dumps(actual)[:200]}"
            )
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            d = diff(a, b, f"{where}[{i}]")
            if d:
                return d
        return None
    if (
        isinstance(expected, (int, float))
        and isinstance(actual, (int, float))
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        return (
            None
            if math.isclose(expected, actual, rel_tol=1e-6, abs_tol=1e-6)
            else (f"{where}: {actual!r}, Google {expected!r}")
        )
    return None if expected == actual else f"{where}: {actual!r}, Google {expected!r}"


def _ids_in(uri: str) -> list[str]:
    path = urllib.parse.urlsplit(uri).path
    for marker in ("/spreadsheets/", "/files/"):
        if marker in path:
            return [path.split(marker, 1)[1].split("/")[0].split(":")[0]]
    return []


def replay(path: Path) -> Result:
    interactions = load(path)
    name = path.stem
    ok, why, families = support(interactions)
    if not ok:
        return Result(name, "unsupported", why, len(interactions), families)
    emu = Emulator()
    # recorded before Google stopped service accounts owning files: this one still may
    emu.legacy_owners.add(RECORDED_ACCOUNT)
    token = emu.issue_token(RECORDED_ACCOUNT, SCOPES)
    mapping: dict[Any, Any] = {}
    created = set()
    for i, it in enumerate(interactions):
        req, rec = it["request"], it["response"]
        uri = req["uri"]
        for rid in _ids_in(uri):
            if rid not in mapping and rid not in created and rec["status"]["code"] == 403:
                # Someone else's spreadsheet: exists, but not shared with us.
                files(emu)[rid] = DriveFile(rid, "Private", SPREADSHEET, "owner@elsewhere.example")
                new_spreadsheet(emu, rid, "Private")
        for old, new in sorted(mapping.items(), key=lambda kv: -len(str(kv[0]))):
            if isinstance(old, str) and len(old) > 20:
                uri = uri.replace(old, str(new))
        body = req["body"]
        data = b""
        if body:
            try:
                data = json.dumps(_sub(json.loads(body), mapping)).encode()
            except json.JSONDecodeError:
                data = body.encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        resp, _ = emu.handle(req["method"], _path(uri), headers, data)
        assert isinstance(resp, Response)
        if emu.errors:
            return Result(
                name, "fail", f"#{i}: emulator error {emu.errors[0]!r}", len(interactions), families
            )
        want_status = rec["status"]["code"]
        text = rec["body"]["string"] or ""
        want = json.loads(text) if text.strip() else None
        got = json.loads(resp.encode()) if resp.body is not None else None
        if want is not None and got is not None:
            _walk_map(want, got, mapping)
            if req["method"] in ("POST",) and isinstance(got, dict) and "id" in got:
                created.add(got["id"])
        where = f"#{i} {req['method']} {_path(req['uri']).partition('?')[0][-60:]}"
        if resp.status != want_status:
            return Result(
                name,
                "fail",
                f"{where}: status {resp.status}, Google {want_status}; {json.dumps(got)[:200]}",
                len(interactions),
                families,
            )
        d = diff(_strip(_sub(want, mapping)), _strip(got))
        if d:
            return Result(name, "fail", f"{where}: {d}", len(interactions), families)
    return Result(name, "pass", "", len(interactions), families)


def replay_all(folder: Path) -> list[Result]:
    return [replay(p) for p in sorted(folder.glob("*.json"))]
