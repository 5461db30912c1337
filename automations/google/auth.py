"""Service account credentials and the scopes corecruit asks for, in one place.

Least privilege: corecruit asks Google only for what each part needs.

* ``spreadsheets``: read and write the staff and panel workbooks.
* ``drive.file``: create the workbooks (in the configured Drive folder), find the
  ones corecruit created, and share them. It gives no access to any other file.
* ``forms.body`` and ``forms.responses.readonly``: only when ``[forms] backend``
  is ``google``.
* ``gmail.send`` and ``gmail.readonly``: only when ``[mail] transport`` is ``gmail``
  (readonly lets corecruit check whether a message already went out, so it is
  never sent twice).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError

_G = "https://www.googleapis.com/auth/"

STORE_SCOPES: tuple[str, ...] = (_G + "spreadsheets", _G + "drive.file")
FORMS_SCOPES: tuple[str, ...] = (_G + "forms.body", _G + "forms.responses.readonly")
GMAIL_SCOPES: tuple[str, ...] = (_G + "gmail.send", _G + "gmail.readonly")
ALL_SCOPES: tuple[str, ...] = STORE_SCOPES + FORMS_SCOPES + GMAIL_SCOPES

WHY = {
    _G + "spreadsheets": "read and write the workbooks",
    _G + "drive.file": "create, find and share the workbooks corecruit made",
    _G + "forms.body": "create the Google Forms",
    _G + "forms.responses.readonly": "read the Google Forms answers",
    _G + "gmail.send": "send emails through Gmail",
    _G + "gmail.readonly": "check whether an email already went out",
}

# A scope that covers another (asking for the broad one is allowed, not needed).
_COVERS = {
    _G + "spreadsheets": {_G + "drive"},
    _G + "drive.file": {_G + "drive"},
    _G + "forms.body": {_G + "drive"},
    _G + "gmail.readonly": {"https://mail.google.com/", _G + "gmail.modify"},
    _G + "gmail.send": {"https://mail.google.com/", _G + "gmail.modify", _G + "gmail.compose"},
}


def scopes_for(settings: Settings) -> tuple[str, ...]:
    """The scopes this organisation's configuration needs."""
    out = list(STORE_SCOPES) if settings.org.storage.backend == "google" else []
    if settings.org.forms.backend == "google":
        # drive.file too: find a form whose create answer was lost, open it to responders
        out += (*FORMS_SCOPES, _G + "drive.file")
    if settings.org.mail.transport == "gmail":
        out += GMAIL_SCOPES
    return tuple(dict.fromkeys(out))


def _key_source(settings: Settings) -> tuple[str, str]:
    """(where, text-or-path) of the service account key, or a clear ConfigError."""
    g = settings.org.google
    if g.credentials_file:
        return "organisation.toml [google] credentials_file", str(settings.path(g.credentials_file))
    env = g.credentials_env
    if env and os.environ.get(env):
        return f"environment variable {env}", os.environ[env]
    raise ConfigError(
        "organisation.toml",
        "google.credentials_file",
        "no Google service account key is set. Put the key file's path here, or in the "
        f"environment variable {env or 'named by google.credentials_env'} "
        "(see 'Connecting to Google' in the README).",
    )


def load_credentials(settings: Settings, scopes: Iterable[str] = STORE_SCOPES) -> Any:
    """Service account credentials from the key file (or environment) named in config."""
    from google.oauth2 import service_account

    where, value = _key_source(settings)
    try:
        if value.lstrip().startswith("{"):
            info = json.loads(value)
        else:
            with open(value, encoding="utf-8") as fh:
                info = json.load(fh)
        return service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
    except FileNotFoundError:
        raise ConfigError(
            "organisation.toml",
            "google.credentials_file",
            f"the service account key file named by {where} does not exist",
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            "organisation.toml",
            "google.credentials_file",
            f"the service account key named by {where} cannot be read: download a new "
            "JSON key for the service account from the Google Cloud console",
        ) from None


def token_path(settings: Settings) -> Path:
    """Where ``corecruit google login`` keeps the person's sign-in (refresh token)."""
    return settings.path(settings.org.google.token_file)


def credentials_for(settings: Settings, scopes: Iterable[str] = STORE_SCOPES) -> Any:
    """The credentials for the account set-up in ``[google] account``.

    * ``person``: the sign-in kept by ``corecruit google login`` (files are the person's);
    * ``act_as``: the service account acting as ``[google] act_as`` (domain-wide delegation);
    * ``shared_drive``: the service account itself (files go on a shared drive).
    """
    g = settings.org.google
    if g.account == "person":
        from google.oauth2.credentials import Credentials

        path = token_path(settings)
        if not path.exists():
            raise ConfigError(
                "organisation.toml",
                "google.account",
                "nobody has signed in to Google yet. Run 'corecruit google login' once on "
                "this computer (see 'Connecting to Google' in the README).",
            )
        try:
            return Credentials.from_authorized_user_file(str(path), scopes=list(scopes))
        except (OSError, ValueError, KeyError):
            raise ConfigError(
                "organisation.toml",
                "google.token_file",
                "the saved Google sign-in cannot be read. Run 'corecruit google login' again.",
            ) from None
    creds = load_credentials(settings, scopes)
    if g.account == "act_as":
        if "@" not in g.act_as:
            raise ConfigError(
                "organisation.toml",
                "google.act_as",
                'with account = "act_as", put the Google Workspace account the service '
                'account acts as here, e.g. act_as = "recruitment@council.example".',
            )
        return creds.with_subject(g.act_as.strip())
    return creds


def granted_scopes(credentials: Any) -> set[str] | None:
    """The scopes the credentials carry, when they say (None when they cannot)."""
    scopes = getattr(credentials, "scopes", None) or getattr(credentials, "_scopes", None)
    if scopes is None:
        return None
    return {str(s) for s in scopes}


def require_scopes(credentials: Any, needed: Sequence[str]) -> None:
    """Refuse, before any call, credentials that lack a scope corecruit needs."""
    have = granted_scopes(credentials)
    if have is None:
        return
    missing = [s for s in needed if s not in have and not (_COVERS.get(s, set()) & have)]
    if missing:
        what = "; ".join(f"{s.removeprefix(_G)} (to {WHY.get(s, 'work')})" for s in missing)
        raise ConfigError(
            "google credentials",
            "scopes",
            f"the Google credentials lack the scope(s) corecruit needs: {what}. "
            "See 'Connecting to Google' in the README.",
        )
