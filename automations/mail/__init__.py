"""The mail seam: one interface, transports chosen in config (outbox, SMTP, Gmail).

Jobs build an :class:`email.message.EmailMessage` and hand it to
``get_transport(ctx).send(msg)``, which returns the message's id. The outbox
(the embedded default) writes ``.eml`` files a person can open in any mail program;
SMTP and the Gmail API are in :mod:`automations.mail.transports`.

A transport may also answer ``confirm(message_id)``: True when it can see the
message went out, False when it can see it did not, None when it cannot tell
(plain SMTP). The exactly-once delivery in :mod:`automations.mail.delivery` uses
that to settle sends a crash left unconfirmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import MailError, MailTransport, OutboxTransport, confirm

if TYPE_CHECKING:
    from ..context import Context


def get_transport(ctx: Context) -> MailTransport:
    """The configured transport, made once per context."""
    if "mail" not in ctx.extras:
        cfg = ctx.settings.org.mail
        if cfg.transport == "outbox":
            ctx.extras["mail"] = OutboxTransport(ctx.settings.path(cfg.outbox))
        else:
            from .transports import make_transport

            ctx.extras["mail"] = make_transport(ctx)
    return ctx.extras["mail"]


__all__ = ["MailError", "MailTransport", "OutboxTransport", "confirm", "get_transport"]
