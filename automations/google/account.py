"""The three ways a council connects corecruit to Google, and the commands that set them up.

``[google] account`` in ``organisation.toml`` says which (see "Connecting to Google"
in the README):

* ``person``: a person signs in once (:func:`login`); the refresh token is kept in
  ``[google] token_file``, readable only by its owner; :func:`logout` revokes it.
* ``act_as``: a service account acting as ``[google] act_as`` (domain-wide delegation).
* ``shared_drive``: a service account on its own; every file goes in
  ``[google] drive_folder_id``, which must be on a shared drive (a service account
  cannot own files anywhere else).

:func:`check_google` says, one plain sentence each, what is wrong and what to do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError, CorecruitError
from ..files import private_dir
from .auth import (
    FORMS_SCOPES,
    GMAIL_SCOPES,
    STORE_SCOPES,
    credentials_for,
    scopes_for,
    token_path,
)
from .http import no_storage

REVOKE_URI = "https://oauth2.googleapis.com/revoke"
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"
FORMS = "https://forms.googleapis.com/v1/forms"
GMAIL = "https://gmail.googleapis.com/gmail/v1/users/me/messages"

HOW = {
    "person": "a person's Google account (signed in with 'corecruit google login')",
    "act_as": "a service account acting as {act_as}",
    "shared_drive": "a service account, with the files on a shared drive",
}


def describe(settings: Settings) -> str:
    g = settings.org.google
    return HOW[g.account].format(act_as=g.act_as or "(act_as is not set)")


def _mount(session: Any, transport: Any) -> None:
    """Send ``session``'s requests the way ``transport`` does (tests: to the emulator)."""
    if transport is not None:
        for prefix, adapter in transport.adapters.items():
            session.mount(prefix, adapter)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (0600), replacing it whole."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def login(
    settings: Settings,
    *,
    open_browser: bool = True,
    browser: str | None = None,
    transport: Any = None,
    port: int = 0,
    echo: Callable[[str], None] = print,
) -> Path:
    """Ask the person for access (Google's consent page) and keep their sign-in.

    With ``open_browser`` the consent page opens in the browser; without, its address
    is printed to open by hand. Returns the token file's path.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    g = settings.org.google
    if g.account != "person":
        raise ConfigError(
            "organisation.toml",
            "google.account",
            f'signing in is for account = "person"; this organisation uses {describe(settings)}.',
        )
    if not g.oauth_client_file:
        raise ConfigError(
            "organisation.toml",
            "google.oauth_client_file",
            "put the path of the OAuth client file (a desktop app client, downloaded "
            "from the Google Cloud console) here first.",
        )
    client = settings.path(g.oauth_client_file)
    try:
        flow = InstalledAppFlow.from_client_secrets_file(
            str(client), scopes=list(scopes_for(settings))
        )
    except (OSError, ValueError):
        raise ConfigError(
            "organisation.toml",
            "google.oauth_client_file",
            "the OAuth client file cannot be read: download it again from the Google Cloud "
            "console (APIs & Services, Credentials, a client of type 'Desktop app').",
        ) from None
    _mount(flow.oauth2session, transport)
    creds = flow.run_local_server(
        host="localhost",
        port=port,
        open_browser=open_browser,
        browser=browser,
        authorization_prompt_message=(
            "Open this page to let corecruit use your Google account "
            "(on this computer: the page comes back here when you are done):\n{url}"
        ),
        success_message="corecruit is signed in to Google. You can close this page.",
        timeout_seconds=600,
        access_type="offline",
        prompt="consent",
    )
    path = token_path(settings)
    write_private(path, creds.to_json())
    echo(f"Signed in. The sign-in is kept in {path} (only you can read it).")
    return path


def logout(settings: Settings, *, transport: Any = None) -> bool:
    """Revoke the kept sign-in at Google and delete the file; True if there was one."""
    import requests

    path = token_path(settings)
    if not path.exists():
        return False
    try:
        token = str(json.loads(path.read_text(encoding="utf-8")).get("refresh_token") or "")
    except (OSError, ValueError):
        token = ""
    revoked = False
    if token:
        with requests.Session() as s:
            _mount(s, transport)
            try:
                r = s.post(REVOKE_URI, data={"token": token}, timeout=30)
                revoked = r.status_code in (200, 400)  # 400: already revoked
            except requests.RequestException:
                revoked = False
    path.unlink()
    if token and not revoked:
        raise CorecruitError(
            "The sign-in file was deleted, but Google could not be reached to cancel it. "
            "To be sure, remove corecruit at https://myaccount.google.com/permissions."
        )
    return True


# ------------------------------------------------------------------- check


def _plain_refusal(api: str, status: int, body: dict[str, Any]) -> str:
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = str((err or {}).get("message", ""))
    reasons = " ".join(
        str(d.get("reason", ""))
        for d in ((err or {}).get("errors") or (err or {}).get("details") or [])
    )
    if status == 403 and ("scope" in message.lower() or "SCOPE" in reasons):
        return (
            f"The {api} API refused for want of permission (a scope): sign in again with "
            "'corecruit google login', or add the scopes listed in the README to the "
            "service account's domain-wide delegation."
        )
    if status == 403 and ("SERVICE_DISABLED" in reasons or "has not been used" in message):
        return (
            f"The {api} API is not turned on for the Google Cloud project: turn it on in "
            "the Cloud console (APIs & Services, Library)."
        )
    if status == 401:
        return f"The {api} API did not accept the credentials: sign in or download a new key."
    return f"The {api} API answered HTTP {status}: run 'corecruit google check' again later."


ON_MY_DRIVE = (
    "The folder in [google] drive_folder_id is in someone's My Drive, not on a shared "
    "drive, so a service account cannot create files there: use a folder on a shared "
    'drive, or set account = "act_as" or "person".'
)
NOT_FOUND = (
    "The folder in [google] drive_folder_id cannot be found: check the id, and that the "
    "folder is shared with the account corecruit uses (as an editor, or a Content manager "
    "of the shared drive)."
)
FOLDER_MIME = "application/vnd.google-apps.folder"


def _check_folder(account: str, folder: str, ask: Callable[..., Any]) -> list[str]:
    """Is the folder there, may corecruit make files in it, and is it on a shared drive?

    With the narrow ``drive.file`` scope Drive shows corecruit only the files it made,
    so the folder itself may be out of sight: then a small empty folder is made in
    it (and deleted), which is exactly what Google would refuse.
    """
    params = {"supportsAllDrives": "true", "fields": "id,mimeType,driveId"}
    got = ask("Drive", "GET", f"{DRIVE_FILES}/{folder}", params=params)
    if got is None:
        return []
    if got[0] == 200:
        if got[1].get("mimeType") != FOLDER_MIME:
            return ["[google] drive_folder_id is not a folder: use a folder's id."]
        if account == "shared_drive" and not got[1].get("driveId"):
            return [ON_MY_DRIVE]
        return []
    probe = {"name": "corecruit connection check (safe to delete)", "mimeType": FOLDER_MIME}
    got = ask(
        "Drive",
        "POST",
        DRIVE_FILES,
        params={"supportsAllDrives": "true", "fields": "id,driveId"},
        json={**probe, "parents": [folder]},
    )
    if got is None:
        return []
    status, body = got
    if status == 200:
        ask(
            "Drive",
            "DELETE",
            f"{DRIVE_FILES}/{body.get('id')}",
            params={"supportsAllDrives": "true"},
        )
        return [ON_MY_DRIVE] if account == "shared_drive" and not body.get("driveId") else []
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    reasons = " ".join(str(e.get("reason", "")) for e in (err or {}).get("errors") or [])
    if status == 403 and no_storage(reasons, str((err or {}).get("message", ""))):
        return [ON_MY_DRIVE]
    if status == 404:
        return [NOT_FOUND]
    return [_plain_refusal("Drive", status, body)]


def check_google(
    settings: Settings, *, transport: Any = None, credentials: Any = None
) -> list[str]:
    """Problems with the Google connection, one plain sentence each (empty: all well)."""
    from .http import authorized_session

    g = settings.org.google
    problems: list[str] = []
    needs_google = (
        settings.org.storage.backend == "google"
        or settings.org.forms.backend == "google"
        or settings.org.mail.transport == "gmail"
    )
    if not needs_google:
        return []
    if g.account == "shared_drive" and not g.drive_folder_id:
        problems.append(
            'With account = "shared_drive", set [google] drive_folder_id to a folder on a '
            "shared drive that the service account is a member of (Content manager): a "
            "service account cannot own files anywhere else."
        )
    scopes = scopes_for(settings)
    if credentials is None:
        try:
            credentials = credentials_for(settings, scopes)
        except ConfigError as exc:
            return [*problems, str(exc)]
    session = authorized_session(credentials, transport)

    def ask(api: str, method: str, url: str, **kw: Any) -> tuple[int, dict[str, Any]] | None:
        from google.auth import exceptions as gauth

        try:
            r = session.request(method, url, timeout=30, **kw)
        except gauth.RefreshError as exc:
            text = str(exc.args[0]) if exc.args else ""
            if "unauthorized_client" in text:
                problems.append(
                    f"The service account may not act as {g.act_as}: in the Google Admin "
                    "console (Security, API controls, Domain-wide delegation) add its client "
                    "ID with the scopes listed in the README."
                )
            else:
                problems.append(
                    "Google did not accept the credentials: sign in again with 'corecruit "
                    "google login', or download a new service account key."
                )
            return None
        except OSError:
            problems.append(f"Google's {api} API could not be reached: check the internet.")
            return None
        try:
            body = r.json()
        except ValueError:
            body = {}
        return r.status_code, body if isinstance(body, dict) else {}

    got = ask("Drive", "GET", DRIVE_FILES, params={"pageSize": 1, "fields": "files(id)"})
    if got is None:
        return problems
    if got[0] != 200:
        problems.append(_plain_refusal("Drive", *got))
    if g.drive_folder_id:
        problems += _check_folder(g.account, g.drive_folder_id, ask)
    probes = []
    if any(s in scopes for s in STORE_SCOPES[:1]):
        probes.append(("Sheets", f"{SHEETS}/corecruit-check"))
    if any(s in scopes for s in FORMS_SCOPES):
        probes.append(("Forms", f"{FORMS}/corecruit-check"))
    for api, url in probes:  # an id that does not exist: 404 means the API answers
        got = ask(api, "GET", url)
        if got is not None and got[0] not in (200, 404):
            problems.append(_plain_refusal(api, *got))
    if any(s in scopes for s in GMAIL_SCOPES):
        got = ask("Gmail", "GET", GMAIL, params={"maxResults": 1, "q": "in:sent"})
        if got is not None and got[0] != 200:
            problems.append(_plain_refusal("Gmail", *got))
    return problems
