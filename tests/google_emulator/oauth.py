"""The OAuth token endpoint (``https://oauth2.googleapis.com/token``).

google-auth's service account credentials sign a JWT with the key file's
private key and trade it here for an access token. The emulator checks the
signature against the public half it kept when it made the key
(:meth:`Emulator.service_account_info`), and the token carries the scopes the
JWT asked for, so a job that asks for too little gets Google's 403.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from .core import Emulator, Request, Response, route


@functools.cache
def _keypair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def make_key() -> tuple[str, str, str]:
    """(private key PEM, public key PEM, key id); one throwaway key per test process."""
    private, public = _keypair()
    return private, public, hashlib.sha1(public.encode()).hexdigest()


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response(status, {"error": error, "error_description": description})


@route("POST", r"/token", name="oauth2.token", auth=False)
def token(emu: Emulator, req: Request) -> Response:
    from google.auth import exceptions, jwt

    form = req.form()
    if form.get("grant_type") in ("authorization_code", "refresh_token"):
        return _person_grant(emu, form, req.headers)
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _oauth_error(
            "unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", "")
        )
    assertion = form.get("assertion", "")
    try:
        claims: dict[str, Any] = jwt.decode(assertion, verify=False)
    except (ValueError, exceptions.GoogleAuthError):
        return _oauth_error("invalid_grant", "Invalid JWT Signature.")
    email = str(claims.get("iss", ""))
    public = emu.service_accounts.get(email)
    if public is None:
        return _oauth_error("invalid_grant", "Invalid grant: account not found")
    try:
        jwt.decode(assertion, certs=public, audience="https://oauth2.googleapis.com/token")
    except (ValueError, exceptions.GoogleAuthError):
        return _oauth_error("invalid_grant", "Invalid JWT Signature.")
    scopes = str(claims.get("scope", "")).split()
    if not scopes:
        return _oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    subject = str(claims.get("sub") or "")
    if subject and subject != email:  # a service account acting as a person
        if email in emu.no_delegation:
            return _oauth_error(
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
                401,
            )
        email = subject
    lifetime = 3599
    tok = emu.issue_token(email, scopes, lifetime=lifetime)
    return Response(200, {"access_token": tok, "expires_in": lifetime, "token_type": "Bearer"})


# ------------------------------------------------------- a person's sign-in (OAuth)

CLIENT_ID = "100000000001-emulated.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-emulated-secret"


def client_info() -> dict[str, Any]:
    """An OAuth client file (desktop app) as the Google Cloud console gives it."""
    return {
        "installed": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "project_id": "emulated-project",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "redirect_uris": ["http://localhost"],
        }
    }


def consent(emu: Emulator, email: str, scopes: list[str]) -> str:
    """What Google's consent page does when ``email`` says yes: an authorisation code."""
    code = "4/0A" + emu.new_id(40)
    with emu.lock:
        emu.state("oauth").setdefault("codes", {})[code] = (email, list(scopes))
    return code


def _person_grant(emu: Emulator, form: dict[str, str], headers: dict[str, str]) -> Response:
    st = emu.state("oauth")
    basic = headers.get("authorization", "")
    if basic.lower().startswith("basic "):  # the client may sign in either way, as at Google
        import base64
        import urllib.parse

        pair = base64.b64decode(basic[6:]).decode()
        cid, _, secret = pair.partition(":")
        form = {**form, "client_id": urllib.parse.unquote_plus(cid),
                "client_secret": urllib.parse.unquote_plus(secret)}  # fmt: skip
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
        return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
    if form.get("grant_type") == "authorization_code":
        entry = st.setdefault("codes", {}).pop(form.get("code", ""), None)
        if entry is None:
            return _oauth_error("invalid_grant", "Malformed auth code.")
        email, scopes = entry
        refresh = "1//0g" + emu.new_id(40)
        st.setdefault("refresh", {})[refresh] = (email, scopes)
    else:
        refresh = form.get("refresh_token", "")
        found = st.setdefault("refresh", {}).get(refresh)
        if found is None:
            return _oauth_error("invalid_grant", "Token has been expired or revoked.")
        email, scopes = found
    tok = emu.issue_token(email, scopes, lifetime=3599)
    out = {"access_token": tok, "expires_in": 3599, "scope": " ".join(scopes)}
    out["token_type"] = "Bearer"
    if form.get("grant_type") == "authorization_code":
        out["refresh_token"] = refresh
    return Response(200, out)


@route("POST", r"/revoke", name="oauth2.revoke", auth=False)
def revoke(emu: Emulator, req: Request) -> Response:
    token = req.form().get("token") or req.arg("token") or ""
    if emu.state("oauth").setdefault("refresh", {}).pop(token, None) is None:
        return _oauth_error("invalid_token", "Token expired or revoked")
    return Response(200, {})
