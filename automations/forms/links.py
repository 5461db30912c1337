"""Where people's form links point, and whether they may be emailed. Pure: settings in,
plain words out (no Flask), so every job that emails a form link can ask at import time.

A link only this computer can open (loopback, or the empty "every address" 0.0.0.0),
or a plain http:// link, while mail really goes out, would reach people who cannot open
it or would carry their scores unprotected.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ..config import Settings


def base_url(settings: Settings) -> str:
    cfg = settings.org.forms
    return (cfg.public_url or f"http://{cfg.host}:{cfg.port}").rstrip("/")


def _this_computer_only(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """True for a link address only this computer can open (or 'every address',
    0.0.0.0, which is no address at all in a link)."""
    if _this_computer_only(host):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _mail_goes_out(settings: Settings) -> bool:
    org = settings.org
    return org.forms.backend == "local" and org.mail.transport in ("smtp", "gmail")


def links_unreachable(settings: Settings) -> str:
    """Why emailed form links could not be opened by the people who get them ('' when
    they can, or when no mail really goes out)."""
    if not _mail_goes_out(settings):
        return ""
    if not is_loopback(urlsplit(base_url(settings)).hostname or ""):
        return ""
    why = "is empty" if not settings.org.forms.public_url else "points to this computer only"
    return (
        f"forms.public_url {why}, so people's form links would open only on this "
        "computer: nobody who gets one by email could open it. Please set "
        "forms.public_url in organisation.toml to the https:// address people use to "
        "reach the form server."
    )


def links_not_emailed(settings: Settings) -> str:
    """The 'Please look' line of a job that must not email form links nobody could open
    ('' when it may email them): every job that emails a form link asks this first."""
    why = links_unreachable(settings)
    return f"No form links were emailed: {why}" if why else ""


def link_warnings(settings: Settings) -> list[str]:
    """Plain warnings about the address in people's form links, when mail really goes
    out (``check`` and ``forms push`` show them)."""
    unreachable = links_unreachable(settings)
    if unreachable:
        return [unreachable]
    if not _mail_goes_out(settings) or urlsplit(base_url(settings)).scheme == "https":
        return []
    why = "is empty" if not settings.org.forms.public_url else "starts with http://"
    return [
        f"forms.public_url {why}, so people's form links start with http:// and their "
        "scores and notes would cross the network unprotected (many browsers also warn "
        "people away from such pages). Please put the form server behind an HTTPS proxy "
        "and set forms.public_url to its https:// address."
    ]


def exposed_host_note(host: str) -> str:
    """What to say when the server listens beyond this computer ('' when it does not)."""
    if _this_computer_only(host):
        return ""
    return (
        f"The form server is listening on {host}, so other computers can reach it. It must "
        "sit behind an HTTPS proxy (for example nginx or Caddy), with forms.public_url set "
        "to the proxy's https:// address: never send people plain http:// links."
    )
