"""The mail seam: one interface, transports chosen in config (outbox, SMTP, Gmail).

Jobs build an :class:`email.message.EmailMessage` and hand it to
``get_transport(ctx).send(msg)``, which returns the message's id. The outbox
(the embedded default) writes ``.eml`` files a person can open in any mail program.
"""

from __future__ import annotations

import os
import re
import tempfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..context import Context


class MailTransport(Protocol):
    def send(self, msg: EmailMessage) -> str:
        """Send ``msg``; return its Message-ID. Raise CorecruitError on failure."""
        ...


class OutboxTransport:
    """Writes each message as an ``.eml`` file; the file name comes from the Message-ID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, msg: EmailMessage) -> str:
        if not msg["Message-ID"]:
            msg["Message-ID"] = make_msgid(domain="corecruit.local")
        mid = str(msg["Message-ID"])
        self.folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", mid.strip("<>")) + ".eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)
        return mid

    def sent_ids(self) -> set[str]:
        """Message-IDs already in the outbox (to settle unconfirmed sends after a crash)."""
        return {"<" + p.stem + ">" for p in self.folder.glob("*.eml")}


def get_transport(ctx: Context) -> MailTransport:
    """The configured transport, made once per context."""
    if "mail" not in ctx.extras:
        cfg = ctx.settings.org.mail
        if cfg.transport == "outbox":
            ctx.extras["mail"] = OutboxTransport(ctx.settings.path(cfg.outbox))
        else:  # smtp and gmail are added by the reminders work
            from .transports import make_transport

            ctx.extras["mail"] = make_transport(ctx)
    return ctx.extras["mail"]
