"""Carry requests for ``https://*.googleapis.com`` to the emulator on loopback.

Only test code uses this: the project's own code builds ordinary Google clients
and is handed a ``requests.Session`` whose adapters decide where bytes go.
Anything else over https is refused, so a test can never reach the internet.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

GOOGLE_HOSTS = (
    "sheets.googleapis.com",
    "www.googleapis.com",
    "oauth2.googleapis.com",
    "drive.googleapis.com",
    "forms.googleapis.com",
    "gmail.googleapis.com",
)


class EmulatorAdapter(HTTPAdapter):
    """An HTTPAdapter that rewrites ``https://<google host>/path`` to the emulator."""

    def __init__(self, base_url: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        assert request.url is not None
        parts = urllib.parse.urlsplit(request.url)
        request.headers["X-Emulated-Host"] = parts.netloc
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        request.url = self.base_url + tail
        return super().send(request, *args, **kw)


class NoInternet(BaseAdapter):
    """Refuses every request: tests run without the internet."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        raise requests.ConnectionError(f"tests do not reach the internet ({request.url})")

    def close(self) -> None:
        return


def mount_emulator(session: requests.Session, base_url: str) -> requests.Session:
    adapter = EmulatorAdapter(base_url)
    session.mount("https://", NoInternet())
    session.mount("http://", NoInternet())
    session.mount(base_url, HTTPAdapter())
    for host in GOOGLE_HOSTS:
        session.mount(f"https://{host}/", adapter)
    return session


def emulator_session(emu: Any) -> requests.Session:
    """A plain requests session that talks to ``emu`` wherever Google is addressed."""
    return mount_emulator(requests.Session(), emu.base_url)
