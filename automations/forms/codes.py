"""The short codes of people's local form links, for letters staff read out or post.

A letter for someone who prefers a phone call or post cannot carry a 170-character
link: every email template's ``m.link`` gives such a letter the link's short code
instead (see :mod:`automations.transforms.short_codes`), or, for a link with no code
(Google Forms, a video call), says whom to ask for it. This module finds the codes:
the forms inbox keeps them beside each form, never in a workbook cell. No Flask.
"""

from __future__ import annotations

from ..config import Settings
from ..transforms.short_codes import grouped, spoken
from .inbox import Inbox, inbox_path
from .links import base_url
from .tokens import LinkClaims, LinkSigner, form_link, load_secret


def codes_by_link(settings: Settings) -> dict[str, dict[str, str]]:
    """Each current local form link with a short code -> its code and the code spelt
    out ({} on Google Forms, or before any form was made)."""
    if settings.org.forms.backend != "local":
        return {}
    path = inbox_path(settings)
    if not path.exists():
        return {}
    inbox = Inbox(path)
    try:
        codes = inbox.codes()
        if not codes:
            return {}
        signer = LinkSigner(load_secret(settings))
        base = base_url(settings)
        out: dict[str, dict[str, str]] = {}
        for key, stored in inbox.forms().items():
            code = codes.get((key, stored.token_id))
            if code:
                claims = LinkClaims(key, stored.spec.person_id, stored.token_id, stored.expires_at)
                out[form_link(signer, base, claims)] = {
                    "code": grouped(code),
                    "words": spoken(code),
                }
        return out
    finally:
        inbox.close()


__all__ = ["codes_by_link"]
