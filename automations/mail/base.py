"""The mail seam's parts every transport shares: the error, the interface, the outbox.

Kept apart from :mod:`automations.mail` (which chooses a transport from config) so
the transports can import them without importing the package that imports them.
"""

from __future__ import annotations

import os
import re
import tempfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from ..errors import CorecruitError
from ..files import private_dir


class MailError(CorecruitError):
    """A message could not be sent. ``definite``: it certainly did not go out.

    When ``definite`` is False the server may have accepted the message before
    the failure (a dropped connection after the data was sent), so it must not be
    sent again blindly. Messages never include addresses.
    """

    def __init__(self, message: str, *, definite: bool = True) -> None:
        self.definite = definite
        super().__init__(message)


class MailTransport(Protocol):
    def send(self, msg: EmailMessage) -> str:
        """Send ``msg``; return its Message-ID. Raise MailError on failure."""
        ...


def confirm(transport: MailTransport, message_id: str) -> bool | None:
    """Whether ``message_id`` went out: True, False, or None when the transport cannot tell."""
    fn = getattr(transport, "confirm", None)
    return fn(message_id) if callable(fn) else None


class OutboxTransport:
    """Writes each message as an ``.eml`` file; the file name comes from the Message-ID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, msg: EmailMessage) -> str:
        if not msg["Message-ID"]:
            msg["Message-ID"] = make_msgid(domain="corecruit.local")
        mid = str(msg["Message-ID"])
        private_dir(self.folder)
        name = self.file_name(mid)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)
        return mid

    @staticmethod
    def file_name(message_id: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "_", message_id.strip("<>")) + ".eml"

    def sent_ids(self) -> set[str]:
        """Message-IDs already in the outbox (to settle unconfirmed sends after a crash)."""
        return {"<" + p.stem + ">" for p in self.folder.glob("*.eml")}

    def confirm(self, message_id: str) -> bool:
        """The outbox can always tell: the file is there (written atomically) or it is not."""
        return (self.folder / self.file_name(message_id)).exists()


__all__ = ["MailError", "MailTransport", "OutboxTransport", "confirm"]
