"""Drive v3: files (create, list with ``q``, get, update, copy, delete) and permissions.

Access works as at Google: a file is visible to its owner and to whoever it is
shared with. With the least-privilege ``drive.file`` scope an app sees only the
files it created (or was given), so adopting someone else's spreadsheet works
through the Sheets API but not through Drive. Sharing notifications are kept in
``emu.state("drive")["notifications"]`` so tests can read what people would be sent.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .core import (
    SCOPE,
    ApiError,
    Emulator,
    Principal,
    Request,
    Response,
    apply_fields,
    parse_fields,
    route,
)

SPREADSHEET = "application/vnd.google-apps.spreadsheet"
FOLDER = "application/vnd.google-apps.folder"
FORM = "application/vnd.google-apps.form"
DRIVE_READ = (
    "drive",
    "drive.file",
    "drive.readonly",
    "drive.metadata.readonly",
    "drive.metadata",
)
DRIVE_WRITE = ("drive", "drive.file")


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    owner: str
    parents: list[str] = field(default_factory=list)
    created: str = field(default_factory=now_rfc3339)
    modified: str = field(default_factory=now_rfc3339)
    trashed: bool = False
    permissions: list[dict[str, Any]] = field(default_factory=list)
    app_access: set[str] = field(default_factory=set)  # principals that created/were given it
    drive_id: str = ""  # the shared drive it is on ("": someone's My Drive)
    members: dict[str, str] = field(default_factory=dict)  # the shared drive's members -> role
    made: float = field(default_factory=time.monotonic)  # for the search lag (files.list)

    def full(self) -> dict[str, Any]:
        out = self._full()
        if self.drive_id:
            out["driveId"] = self.drive_id
            del out["owners"]  # files on a shared drive belong to the organisation
        return out

    def _full(self) -> dict[str, Any]:
        return {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents) or ["root"],
            "trashed": self.trashed,
            "createdTime": self.created,
            "modifiedTime": self.modified,
            "owners": [{"kind": "drive#user", "emailAddress": self.owner, "me": False}],
            "webViewLink": (
                f"https://docs.google.com/spreadsheets/d/{self.id}/edit?usp=drivesdk"
                if self.mime_type == SPREADSHEET
                else f"https://docs.google.com/forms/d/{self.id}/edit?usp=drivesdk"
                if self.mime_type == FORM
                else f"https://drive.google.com/file/d/{self.id}/view?usp=drivesdk"
            ),
            "permissions": copy.deepcopy(self.permissions),
        }

    def role_of(self, email: str) -> str | None:
        best = None
        rank = {
            "reader": 1,
            "commenter": 2,
            "writer": 3,
            "fileOrganizer": 3,
            "organizer": 4,
            "owner": 5,
        }
        for p in self.permissions:
            if p.get("view") == "published":
                continue  # a form's responders may fill it in, not open the file
            mine = p.get("type") == "anyone" or p.get("emailAddress", "").lower() == email.lower()
            if mine and (best is None or rank.get(p["role"], 0) > rank.get(best, 0)):
                best = p["role"]
        member = self.members.get(email.lower())
        if member and (best is None or rank.get(member, 0) > rank.get(best, 0)):
            best = member
        return best


def files(emu: Emulator) -> dict[str, DriveFile]:
    return emu.state("drive").setdefault("files", {})


def not_found(file_id: str) -> ApiError:
    msg = f"File not found: {file_id}."
    return ApiError(
        404,
        msg,
        errors=[
            {
                "message": msg,
                "domain": "global",
                "reason": "notFound",
                "location": "fileId",
                "locationType": "parameter",
            }
        ],
    )


def add_file(
    emu: Emulator,
    name: str,
    mime_type: str,
    owner: str,
    parents: list[str] | None = None,
    file_id: str | None = None,
) -> DriveFile:
    """Create a file owned by ``owner`` (also used by the Sheets create call and by tests).

    In a shared drive folder the file belongs to the shared drive (its members have
    access; nobody owns it). A form made this way is an empty, untitled form.
    """
    f = DriveFile(file_id or emu.new_id(), name, mime_type, owner, list(parents or []))
    parent = files(emu).get(f.parents[0]) if f.parents else None
    if parent is not None and parent.drive_id:
        f.drive_id, f.members = parent.drive_id, parent.members
    else:
        f.permissions.append(
            {
                "kind": "drive#permission",
                "id": _perm_id(emu),
                "type": "user",
                "emailAddress": owner,
                "role": "owner",
                "displayName": owner.split("@")[0],
                "deleted": False,
                "pendingOwner": False,
            }
        )
    f.app_access.add(owner)
    files(emu)[f.id] = f
    if mime_type == SPREADSHEET:
        from .sheets import new_spreadsheet

        new_spreadsheet(emu, f.id, name)
    if mime_type == FORM:
        from .forms import new_form

        new_form(emu, f.id, "", name)
    return f


def add_shared_drive(emu: Emulator, name: str, members: dict[str, str]) -> str:
    """A shared drive (its id is also its root folder's id) with ``members`` (email -> role).

    Roles are Drive's: ``organizer`` (manager), ``fileOrganizer`` (content manager),
    ``writer`` (contributor), ``commenter``, ``reader``.
    """
    drive_id = "0A" + emu.new_id(17)
    root = DriveFile(drive_id, name, FOLDER, "", [], drive_id=drive_id)
    root.members = {e.lower(): r for e, r in members.items()}
    files(emu)[drive_id] = root
    emu.state("drive").setdefault("drives", {})[drive_id] = root
    return drive_id


def add_folder(emu: Emulator, name: str, owner: str, parent: str | None = None) -> str:
    """A folder in ``owner``'s My Drive (or in ``parent``, which may be on a shared drive)."""
    return add_file(emu, name, FOLDER, owner, [parent] if parent else None).id


def is_service_account(email: str) -> bool:
    return email.lower().endswith(".gserviceaccount.com")


NO_QUOTA = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use "
    "OAuth delegation (http://support.google.com/a/answer/7281227) instead."
)


def refuse_service_account_owner(emu: Emulator, principal: Principal, drive_id: str) -> None:
    """Google's 403: a service account cannot own a file (outside a shared drive)."""
    if drive_id or not is_service_account(principal.email) or principal.email in emu.legacy_owners:
        return
    raise ApiError(
        403,
        NO_QUOTA,
        errors=[{"message": NO_QUOTA, "domain": "usageLimits", "reason": "storageQuotaExceeded"}],
    )


def _perm_id(emu: Emulator) -> str:
    return "".join(str(emu.rng.randint(0, 9)) for _ in range(20))


BROAD_DRIVE = {
    SCOPE + s for s in ("drive", "drive.readonly", "drive.metadata", "drive.metadata.readonly")
}
BROAD_SHEETS = {
    SCOPE + s for s in ("drive", "drive.readonly", "spreadsheets", "spreadsheets.readonly")
}


def file_for(
    emu: Emulator,
    principal: Principal,
    file_id: str,
    *,
    write: bool = False,
    via_drive: bool = True,
    all_drives: bool = True,
) -> DriveFile:
    """The file if ``principal`` may see it (and change it, with ``write``); else Google's error.

    ``via_drive`` picks the error style: Drive says 404 "File not found" for a file
    you may not see; Sheets says 404 for an unknown id and 403 for someone else's.
    Drive pretends a file on a shared drive does not exist unless the request says
    ``supportsAllDrives=true`` (``all_drives``).
    """
    f = files(emu).get(file_id)
    if f is not None and f.drive_id and via_drive and not all_drives:
        raise not_found(file_id)
    if f is None:
        raise not_found(file_id) if via_drive else ApiError(404, "Requested entity was not found.")
    denied = (
        not_found(file_id) if via_drive else ApiError(403, "The caller does not have permission")
    )
    broad = BROAD_DRIVE if via_drive else BROAD_SHEETS
    if not (principal.scopes & broad) and principal.email not in f.app_access:
        raise denied  # drive.file only: files this app did not create are out of reach
    role = f.role_of(principal.email)
    if role is None:
        raise denied
    if write and role not in ("writer", "owner", "organizer", "fileOrganizer"):
        if not via_drive:
            raise ApiError(403, "The caller does not have permission")
        msg = "The user does not have sufficient permissions for this file."
        raise ApiError(
            403,
            msg,
            errors=[{"message": msg, "domain": "global", "reason": "insufficientFilePermissions"}],
        )
    return f


def touch(f: DriveFile) -> None:
    f.modified = now_rfc3339()


def _shape(obj: dict[str, Any], req: Request, default: tuple[str, ...]) -> dict[str, Any]:
    fields = req.arg("fields")
    if fields:
        return apply_fields(obj, parse_fields(fields))
    return {k: obj[k] for k in default if k in obj}


FILE_DEFAULT = ("kind", "id", "name", "mimeType")


def _all(req: Request) -> bool:
    return req.flag("supportsAllDrives") or req.flag("supportsTeamDrives")


PERM_DEFAULT = ("kind", "id", "type", "role")


# ------------------------------------------------------------------------ files


def generated(emu: Emulator) -> set[str]:
    """Ids handed out by ``files.generateIds`` and not used yet."""
    return emu.state("drive").setdefault("generated", set())


@route("GET", r"/drive/v3/files/generateIds", name="drive.files.generateIds", scopes=DRIVE_WRITE)
def files_generate_ids(emu: Emulator, req: Request) -> dict[str, Any]:
    """Ids a later ``files.create`` may give its file (so a lost answer can be checked by id)."""
    count = int(req.arg("count", "10") or 10)
    if not 1 <= count <= 1000:
        raise ApiError(400, "Invalid value for count: it must be from 1 to 1000.")
    space = req.arg("space", "drive") or "drive"
    ids = [emu.new_id(33) for _ in range(count)]
    generated(emu).update(ids)
    return {"kind": "drive#generatedIds", "space": space, "ids": ids}


@route("POST", r"/drive/v3/files", name="drive.files.create", scopes=DRIVE_WRITE)
def files_create(emu: Emulator, req: Request) -> dict[str, Any]:
    body = req.json() or {}
    assert req.principal is not None
    wanted = body.get("id")
    if wanted is not None:
        if wanted in files(emu):
            raise ApiError(409, "A file already exists with the provided ID.")
        if wanted not in generated(emu):
            raise ApiError(400, "The provided file ID is not usable.")
    parents = list(body.get("parents") or [])
    drive_id = ""
    for p in parents:
        parent = files(emu).get(p)
        if (
            parent is None
            or (parent.drive_id and not _all(req))
            or parent.role_of(req.principal.email)
            not in ("writer", "owner", "organizer", "fileOrganizer")
        ):
            raise not_found(p)
        drive_id = parent.drive_id
    refuse_service_account_owner(emu, req.principal, drive_id)
    f = add_file(
        emu,
        body.get("name") or "Untitled",
        body.get("mimeType") or "application/octet-stream",
        req.principal.email,
        parents,
        file_id=wanted,
    )
    generated(emu).discard(f.id)
    return _shape(f.full(), req, FILE_DEFAULT)


@route("GET", r"/drive/v3/files/(?P<file_id>[^/]+)", name="drive.files.get", scopes=DRIVE_READ)
def files_get(emu: Emulator, req: Request, file_id: str) -> dict[str, Any]:
    assert req.principal is not None
    f = file_for(emu, req.principal, file_id, all_drives=_all(req))
    return _shape(f.full(), req, FILE_DEFAULT)


@route(
    "PATCH", r"/drive/v3/files/(?P<file_id>[^/]+)", name="drive.files.update", scopes=DRIVE_WRITE
)
def files_update(emu: Emulator, req: Request, file_id: str) -> dict[str, Any]:
    assert req.principal is not None
    f = file_for(emu, req.principal, file_id, write=True, all_drives=_all(req))
    body = req.json() or {}
    if "name" in body:
        f.name = body["name"]
        from .sheets import spreadsheets

        if f.id in spreadsheets(emu):
            spreadsheets(emu)[f.id].properties["title"] = f.name
    if "trashed" in body:
        f.trashed = bool(body["trashed"])
    for p in (req.arg("addParents") or "").split(","):
        if p and p not in f.parents:
            target = files(emu).get(p)
            if target is None or (target.drive_id and not _all(req)):
                raise not_found(p)
            if target.drive_id and not f.drive_id:  # moved onto a shared drive: it owns it now
                f.drive_id, f.members = target.drive_id, target.members
                f.permissions = [x for x in f.permissions if x.get("role") != "owner"]
            f.parents.append(p)
    for p in (req.arg("removeParents") or "").split(","):
        if p in f.parents:
            f.parents.remove(p)
    touch(f)
    return _shape(f.full(), req, FILE_DEFAULT)


@route(
    "DELETE", r"/drive/v3/files/(?P<file_id>[^/]+)", name="drive.files.delete", scopes=DRIVE_WRITE
)
def files_delete(emu: Emulator, req: Request, file_id: str) -> Response:
    assert req.principal is not None
    f = file_for(emu, req.principal, file_id, write=True, all_drives=_all(req))
    role = f.role_of(req.principal.email)
    if role != "owner" and not (f.drive_id and role in ("organizer", "fileOrganizer")):
        raise ApiError(
            403,
            "The user does not have sufficient permissions for this file.",
            errors=[
                {
                    "message": "The user does not have sufficient permissions for this file.",
                    "domain": "global",
                    "reason": "insufficientFilePermissions",
                }
            ],
        )
    del files(emu)[file_id]
    from .sheets import spreadsheets

    spreadsheets(emu).pop(file_id, None)
    return Response(204, None, content_type="text/html")


@route(
    "POST", r"/drive/v3/files/(?P<file_id>[^/]+)/copy", name="drive.files.copy", scopes=DRIVE_WRITE
)
def files_copy(emu: Emulator, req: Request, file_id: str) -> dict[str, Any]:
    assert req.principal is not None
    src = file_for(emu, req.principal, file_id, all_drives=_all(req))
    body = req.json() or {}
    name = body.get("name") or f"Copy of {src.name}"
    target = files(emu).get((list(body.get("parents") or src.parents) or [""])[0])
    refuse_service_account_owner(emu, req.principal, target.drive_id if target else "")
    new = DriveFile(
        emu.new_id(),
        name,
        src.mime_type,
        req.principal.email,
        list(body.get("parents") or src.parents),
    )
    new.permissions.append(
        {
            "kind": "drive#permission",
            "id": _perm_id(emu),
            "type": "user",
            "emailAddress": req.principal.email,
            "role": "owner",
            "displayName": req.principal.email.split("@")[0],
            "deleted": False,
            "pendingOwner": False,
        }
    )
    new.app_access.add(req.principal.email)
    files(emu)[new.id] = new
    from .sheets import spreadsheets

    if src.id in spreadsheets(emu):
        sh = copy.deepcopy(spreadsheets(emu)[src.id])
        sh.id = new.id
        sh.properties["title"] = name
        spreadsheets(emu)[new.id] = sh
    return _shape(new.full(), req, FILE_DEFAULT)


_CLAUSE = re.compile(
    r"""^\s*(?:
        (?P<field>name|mimeType|trashed|fullText)\s*(?P<op>=|!=|contains)\s*
        (?P<val>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|true|false)
      | (?P<pval>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s+in\s+
        (?P<pfield>parents|owners|writers|readers)
    )\s*$""",
    re.X,
)


def _unquote(v: str) -> str:
    if v[:1] in "'\"":
        return re.sub(r"\\(.)", r"\1", v[1:-1])
    return v


def _split_and(q: str) -> list[str]:
    parts, buf, quote = [], "", ""
    i = 0
    while i < len(q):
        ch = q[i]
        if quote:
            buf += ch
            if ch == "\\" and i + 1 < len(q):
                buf += q[i + 1]
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            buf += ch
        elif q[i : i + 5].lower() == " and ":
            parts.append(buf)
            buf = ""
            i += 5
            continue
        else:
            buf += ch
        i += 1
    parts.append(buf)
    return [p for p in parts if p.strip()]


def _matches(f: DriveFile, q: str) -> bool:
    if not q.strip():
        return True
    for clause in _split_and(q):
        m = _CLAUSE.match(clause)
        if not m:
            raise ApiError(
                400,
                "Invalid Value",
                errors=[
                    {
                        "message": "Invalid Value",
                        "domain": "global",
                        "reason": "invalid",
                        "location": "q",
                        "locationType": "parameter",
                    }
                ],
            )
        if m.group("pfield"):
            val = _unquote(m.group("pval"))
            if m.group("pfield") == "parents":
                ok = val in (f.parents or ["root"])
            else:
                ok = f.role_of(val) is not None
        else:
            fieldname, op, raw = m.group("field"), m.group("op"), m.group("val")
            if fieldname == "trashed":
                actual: Any = f.trashed
                want: Any = raw == "true"
            else:
                actual = {"name": f.name, "mimeType": f.mime_type, "fullText": f.name}[fieldname]
                want = _unquote(raw)
            if op == "=":
                ok = actual == want
            elif op == "!=":
                ok = actual != want
            else:
                ok = str(want).lower() in str(actual).lower()
        if not ok:
            return False
    return True


@route("GET", r"/drive/v3/files", name="drive.files.list", scopes=DRIVE_READ)
def files_list(emu: Emulator, req: Request) -> dict[str, Any]:
    assert req.principal is not None
    q = req.arg("q", "") or ""
    if "trashed" not in q:
        q = (q + " and " if q.strip() else "") + "trashed = false"
    visible = []
    for f in files(emu).values():
        try:
            file_for(emu, req.principal, f.id)
        except ApiError:
            continue
        if f.drive_id and not (_all(req) and req.flag("includeItemsFromAllDrives")):
            continue
        if f.id == f.drive_id:
            continue  # a shared drive's root is listed by drives.list, not files.list
        if emu.search_lag and time.monotonic() - f.made < emu.search_lag:
            continue  # Drive's search index has not caught up with a file this new yet
        if _matches(f, q):
            visible.append(f)
    size = int(req.arg("pageSize", "100") or 100)
    start = int(req.arg("pageToken") or 0) if (req.arg("pageToken") or "").isdigit() else 0
    page = visible[start : start + size]
    out: dict[str, Any] = {"kind": "drive#fileList"}
    if start + size < len(visible):
        out["nextPageToken"] = str(start + size)
    out["incompleteSearch"] = False
    out["files"] = [f.full() for f in page]
    fields = req.arg("fields")
    if fields:
        return apply_fields(out, parse_fields(fields))
    out["files"] = [{k: x[k] for k in FILE_DEFAULT} for x in out["files"]]
    return out


# ------------------------------------------------------------------ permissions


@route(
    "POST",
    r"/drive/v3/files/(?P<file_id>[^/]+)/permissions",
    name="drive.permissions.create",
    scopes=DRIVE_WRITE,
)
def permissions_create(emu: Emulator, req: Request, file_id: str) -> dict[str, Any]:
    assert req.principal is not None
    f = file_for(emu, req.principal, file_id, write=True, all_drives=_all(req))
    body = req.json() or {}
    kind, role = body.get("type"), body.get("role")
    if kind not in ("user", "group", "domain", "anyone"):
        raise ApiError(
            400,
            "The permission type field is required.",
            errors=[
                {
                    "message": "The permission type field is required.",
                    "domain": "global",
                    "reason": "required",
                    "location": "permission.type",
                    "locationType": "other",
                }
            ],
        )
    if role not in ("reader", "commenter", "writer", "owner", "fileOrganizer", "organizer"):
        raise ApiError(
            400,
            "The permission role field is required.",
            errors=[
                {
                    "message": "The permission role field is required.",
                    "domain": "global",
                    "reason": "required",
                    "location": "permission.role",
                    "locationType": "other",
                }
            ],
        )
    email = body.get("emailAddress", "")
    if kind in ("user", "group") and "@" not in email:
        raise ApiError(
            400,
            "The email address is not valid.",
            errors=[
                {
                    "message": "The email address is not valid.",
                    "domain": "global",
                    "reason": "invalid",
                    "location": "permission.emailAddress",
                    "locationType": "other",
                }
            ],
        )
    view = body.get("view")
    if view is not None and (view != "published" or f.mime_type != FORM or role != "reader"):
        raise ApiError(
            400,
            "The view field is only supported for a form's responders (role reader, "
            "view published).",
            errors=[
                {
                    "message": "Invalid value for view.",
                    "domain": "global",
                    "reason": "invalid",
                    "location": "permission.view",
                    "locationType": "other",
                }
            ],
        )
    notify = req.flag("sendNotificationEmail", default=kind in ("user", "group"))
    if kind == "user" and not notify and email.lower() in emu.no_google_account:
        msg = (
            f'Bad Request. User message: "You are trying to invite {email}. Since there is no '
            'Google account associated with this email address, you must check the "Notify '
            'people" box to invite this recipient.'
        )
        raise ApiError(
            400,
            msg,
            errors=[{"message": msg, "domain": "global", "reason": "invalidSharingRequest"}],
        )
    existing = next(
        (
            p
            for p in f.permissions
            if kind in ("user", "group", "anyone")
            and p.get("type") == kind
            and p.get("emailAddress", "").lower() == email.lower()
            and p.get("view") == view
        ),
        None,
    )
    if existing is not None:
        if existing["role"] != "owner":
            existing["role"] = role
        perm = existing
    else:
        perm = {
            "kind": "drive#permission",
            "id": _perm_id(emu),
            "type": kind,
            "role": role,
            "deleted": False,
            "pendingOwner": False,
        }
        if email:
            perm["emailAddress"] = email
            perm["displayName"] = email.split("@")[0]
        if view is not None:
            perm["view"] = view
        f.permissions.append(perm)
    if notify:
        emu.state("drive").setdefault("notifications", []).append(
            {
                "file_id": f.id,
                "to": email,
                "role": role,
                "message": req.arg("emailMessage") or "",
            }
        )
    touch(f)
    return _shape(perm, req, PERM_DEFAULT)


@route(
    "GET",
    r"/drive/v3/files/(?P<file_id>[^/]+)/permissions",
    name="drive.permissions.list",
    scopes=DRIVE_READ,
)
def permissions_list(emu: Emulator, req: Request, file_id: str) -> dict[str, Any]:
    assert req.principal is not None
    f = file_for(emu, req.principal, file_id, all_drives=_all(req))
    out = {"kind": "drive#permissionList", "permissions": copy.deepcopy(f.permissions)}
    fields = req.arg("fields")
    if fields:
        return apply_fields(out, parse_fields(fields))
    out["permissions"] = [{k: p[k] for k in PERM_DEFAULT if k in p} for p in out["permissions"]]
    return out


@route(
    "DELETE",
    r"/drive/v3/files/(?P<file_id>[^/]+)/permissions/(?P<perm_id>[^/]+)",
    name="drive.permissions.delete",
    scopes=DRIVE_WRITE,
)
def permissions_delete(emu: Emulator, req: Request, file_id: str, perm_id: str) -> Response:
    assert req.principal is not None
    f = file_for(emu, req.principal, file_id, write=True, all_drives=_all(req))
    for p in f.permissions:
        if p["id"] == perm_id:
            if p["role"] == "owner":
                raise ApiError(403, "The owner of a file cannot be removed.")
            f.permissions.remove(p)
            return Response(204, None, content_type="text/html")
    raise ApiError(
        404,
        f"Permission not found: {perm_id}.",
        errors=[
            {
                "message": f"Permission not found: {perm_id}.",
                "domain": "global",
                "reason": "notFound",
                "location": "permissionId",
                "locationType": "parameter",
            }
        ],
    )


@route(
    "GET",
    r"/drive/v3/files/(?P<file_id>[^/]+)/comments",
    name="drive.comments.list",
    scopes=DRIVE_READ,
)
def comments_list(emu: Emulator, req: Request, file_id: str) -> dict[str, Any]:
    assert req.principal is not None
    file_for(emu, req.principal, file_id, all_drives=_all(req))
    out: dict[str, Any] = {"kind": "drive#commentList", "comments": []}
    fields = req.arg("fields")
    return apply_fields(out, parse_fields(fields)) if fields else out
