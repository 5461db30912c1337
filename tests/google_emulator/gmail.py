"""Gmail v1: enough of ``users.messages`` for corecruit's mail transport.

* ``send``: takes ``{"raw": base64url RFC 822}``, refuses a message with no
  recipient (400 "Recipient address required"), keeps the Message-ID the client
  set (Gmail does for API sends) or adds one, and files it in the sender's
  mailbox with the ``SENT`` label.
* ``list``: ``q`` understands ``rfc822msgid:``, ``to:``, ``subject:`` and
  ``in:sent`` (space-separated terms are ANDed); ``maxResults``; Gmail leaves
  ``messages`` out when nothing matches. Under the metadata scope ``q`` is refused,
  as at Google.
* ``get``: ``format`` raw, full or metadata (headers only).

The mailbox is the token's principal; ``userId`` must be ``me`` or that address
(anything else is Google's 403 "Delegation denied").
"""

from __future__ import annotations

import base64
import email
import time
from email import policy
from email.utils import getaddresses, make_msgid
from typing import Any

from .core import ApiError, Emulator, Request, route

SEND_SCOPES = ("gmail.send", "gmail.compose", "gmail.modify", "https://mail.google.com/")
READ_SCOPES = ("gmail.readonly", "gmail.modify", "gmail.metadata", "https://mail.google.com/")
USER = r"/gmail/v1/users/(?P<user_id>[^/]+)"


def _mailbox(emu: Emulator, req: Request, user_id: str) -> list[dict[str, Any]]:
    me = req.principal.email if req.principal else ""
    if user_id not in ("me", me):
        raise ApiError(403, f"Delegation denied for {me}")
    boxes: dict[str, list[dict[str, Any]]] = emu.state("gmail").setdefault("mailboxes", {})
    return boxes.setdefault(me, [])


def mailbox(emu: Emulator, email_address: str | None = None) -> list[dict[str, Any]]:
    """For tests: the messages in a mailbox (the default service account's by default)."""
    boxes = emu.state("gmail").setdefault("mailboxes", {})
    return list(boxes.get(email_address or emu.default_principal_email, []))


def _decode(raw: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError):
        raise ApiError(400, "Invalid value for ByteString: raw") from None


@route("POST", USER + r"/messages/send", name="gmail.users.messages.send", scopes=SEND_SCOPES)
def send(emu: Emulator, req: Request, user_id: str) -> dict[str, Any]:
    box = _mailbox(emu, req, user_id)
    raw = req.json().get("raw")
    if not raw:
        raise ApiError(
            400,
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
        )
    data = _decode(str(raw))
    msg = email.message_from_bytes(data, policy=policy.default)
    rcpts = [
        a
        for _, a in getaddresses(
            [str(v) for h in ("To", "Cc", "Bcc") for v in (msg.get_all(h) or [])]
        )
        if a
    ]
    if not rcpts:
        raise ApiError(400, "Invalid To header")
    if not msg["Message-ID"]:
        msg["Message-ID"] = make_msgid(domain="mail.gmail.com")
        data = msg.as_bytes()
    mid, tid = emu.new_id(16), emu.new_id(16)
    box.append(
        {
            "id": mid,
            "threadId": tid,
            "labelIds": ["SENT"],
            "raw": data,
            "internalDate": str(int(time.time() * 1000)),
            "headers": [{"name": k, "value": str(v)} for k, v in msg.items()],
            "message_id": str(msg["Message-ID"]).strip(),
            "to": [a.lower() for a in rcpts],
            "subject": str(msg["Subject"] or ""),
        }
    )
    return {"id": mid, "threadId": tid, "labelIds": ["SENT"]}


def _matches(m: dict[str, Any], q: str) -> bool:
    for term in q.split():
        key, _, value = term.partition(":")
        key, value = key.lower(), value.strip().strip('"')
        if key == "rfc822msgid":
            if m["message_id"].strip("<>") != value.strip("<>"):
                return False
        elif key == "to":
            if value.lower() not in m["to"]:
                return False
        elif key == "subject":
            if value.lower() not in m["subject"].lower():
                return False
        elif key == "in":
            if value.lower() != "sent":
                return False
        else:
            raise ApiError(400, f"Invalid query: unsupported term '{key}' in the emulator")
    return True


@route("GET", USER + r"/messages", name="gmail.users.messages.list", scopes=READ_SCOPES)
def list_messages(emu: Emulator, req: Request, user_id: str) -> dict[str, Any]:
    box = _mailbox(emu, req, user_id)
    q = req.arg("q") or ""
    scopes = req.principal.scopes if req.principal else frozenset()
    only_metadata = scopes and all(
        s.endswith("gmail.metadata") for s in scopes if "gmail" in s or "mail.google.com" in s
    )
    if q and only_metadata:
        raise ApiError(403, "Metadata scope does not support 'q' parameter")
    found = [m for m in reversed(box) if _matches(m, q)]
    limit = int(req.arg("maxResults") or 100)
    out: dict[str, Any] = {"resultSizeEstimate": len(found)}
    if found:
        out["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in found[:limit]]
    return out


@route(
    "GET",
    USER + r"/messages/(?P<message_id>[^/]+)",
    name="gmail.users.messages.get",
    scopes=READ_SCOPES,
)
def get_message(emu: Emulator, req: Request, user_id: str, message_id: str) -> dict[str, Any]:
    box = _mailbox(emu, req, user_id)
    m = next((x for x in box if x["id"] == message_id), None)
    if m is None:
        raise ApiError(404, "Requested entity was not found.")
    fmt = (req.arg("format") or "full").lower()
    out: dict[str, Any] = {
        "id": m["id"],
        "threadId": m["threadId"],
        "labelIds": m["labelIds"],
        "internalDate": m["internalDate"],
        "sizeEstimate": len(m["raw"]),
    }
    if fmt == "raw":
        out["raw"] = base64.urlsafe_b64encode(m["raw"]).decode("ascii")
    elif fmt in ("full", "metadata"):
        wanted = [h.lower() for h in req.args("metadataHeaders")]
        headers = [h for h in m["headers"] if not wanted or h["name"].lower() in wanted]
        out["payload"] = {"headers": headers}
    return out
