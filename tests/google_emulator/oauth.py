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
