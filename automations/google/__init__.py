"""The Google path: service account credentials, a bounded retry over one HTTP stack.

Everything corecruit sends to Google goes through a ``requests`` session (gspread's
own stack); googleapiclient is given the same session through an httplib2-shaped
adapter. Tests hand in a session whose adapters lead to the local emulator.
"""

from __future__ import annotations

from .auth import ALL_SCOPES, STORE_SCOPES, load_credentials, require_scopes
from .http import (
    RetryingHttp,
    RetryingHTTPClient,
    RetryPolicy,
    api_calls,
    authorized_session,
    build_service,
    gspread_client,
)

__all__ = [
    "ALL_SCOPES",
    "STORE_SCOPES",
    "RetryPolicy",
    "RetryingHTTPClient",
    "RetryingHttp",
    "api_calls",
    "authorized_session",
    "build_service",
    "gspread_client",
    "load_credentials",
    "require_scopes",
]
