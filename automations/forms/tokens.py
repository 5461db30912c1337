"""Personal form links: signed, expiring tokens (HMAC-SHA256).

A token carries the form key, the person id, a token id and the expiry, signed
with the organisation's forms secret. Anyone who changes a single character gets
"not a valid link"; nobody can make a link for someone else without the secret.
Tokens are deterministic for the same (key, token id, expiry), so pushing forms
again gives people the same link.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError
from ..files import private_dir, warn_if_shared


class BadLink(Exception):
    """A link that was changed, or signed with another secret. ``expired`` when it was
    genuine but is too old."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class LinkClaims:
    form_key: str
    person_id: str
    token_id: str
    expires_at: dt.datetime  # UTC, aware


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ConfigError("forms", "secret", "the forms secret is too short (16+ characters)")
        self._key = hashlib.sha256(b"corecruit-forms-link|" + key).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def sign(self, claims: LinkClaims) -> str:
        payload = {
            "k": claims.form_key,
            "p": claims.person_id,
            "i": claims.token_id,
            "e": int(claims.expires_at.timestamp()),
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def new_nonce(self, form_key: str, token_id: str) -> str:
        """A one-send ticket for a form's check page. Signed, so ``/send`` can refuse a
        nonce it never issued (a replayed or scripted post) without storing each one."""
        rand = secrets.token_urlsafe(12)
        return f"{rand}.{self._nonce_mac(form_key, token_id, rand)}"

    def nonce_ok(self, nonce: str, form_key: str, token_id: str) -> bool:
        """True for a nonce this signer issued for this form and link."""
        rand, dot, mac = nonce.partition(".")
        if not dot or not rand or len(nonce) > 64:
            return False
        return hmac.compare_digest(self._nonce_mac(form_key, token_id, rand), mac)

    def _nonce_mac(self, form_key: str, token_id: str, rand: str) -> str:
        return self._mac(f"nonce|{form_key}|{token_id}|{rand}")[:22]

    def code_digest(self, form_key: str, token_id: str, attempt: int = 0) -> bytes:
        """The secret-keyed digest a link's short code is drawn from (``attempt`` picks
        another in the rare case a code is taken): nobody can work a code out from a
        form or a person without the secret."""
        body = f"short-code|{form_key}|{token_id}|{attempt}".encode()
        return hmac.new(self._key, body, hashlib.sha256).digest()

    def verify(self, token: str, now: dt.datetime | None = None) -> LinkClaims:
        """The claims of a genuine, unexpired token; :class:`BadLink` otherwise."""
        body, dot, mac = token.partition(".")
        if not dot or not body or not mac or len(token) > 2000:
            raise BadLink("not a link corecruit made")
        if not hmac.compare_digest(self._mac(body), mac):
            raise BadLink("the link was changed or is not one corecruit made")
        try:
            data = json.loads(_unb64(body))
            claims = LinkClaims(
                str(data["k"]),
                str(data["p"]),
                str(data["i"]),
                dt.datetime.fromtimestamp(int(data["e"]), dt.UTC),
            )
        except (ValueError, KeyError, TypeError):
            raise BadLink("the link could not be read") from None
        now = now or dt.datetime.now(dt.UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        if now >= claims.expires_at:
            raise BadLink("the link has expired", expired=True)
        return claims


def form_link(signer: LinkSigner, base: str, claims: LinkClaims) -> str:
    """A person's own form link (``base`` '' for the path alone). Signing is
    deterministic, so the same form and token always give the same link."""
    return f"{base.rstrip('/')}/f/{signer.sign(claims)}"


def new_token_id() -> str:
    return secrets.token_urlsafe(9)


def load_secret(settings: Settings) -> str:
    """The signing secret: the environment variable named by ``forms.secret_env`` if
    set, else the file named by ``forms.secret_file`` (made, readable only by its
    owner, on first use)."""
    cfg = settings.org.forms
    if cfg.secret_env and os.environ.get(cfg.secret_env):
        return os.environ[cfg.secret_env]
    if not cfg.secret_file:
        raise ConfigError(
            "organisation.toml",
            "forms.secret_env",
            f"the forms signing secret is not set: put it in the environment variable "
            f"{cfg.secret_env or '(none named)'} or name a file in forms.secret_file",
        )
    path: Path = settings.path(cfg.secret_file)
    if not path.exists():
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    warn_if_shared(path, "file holding the forms secret")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigError(
            str(path), None, "the file holding the forms secret cannot be read"
        ) from None
    if len(secret) < 16:
        raise ConfigError(str(path), None, "the forms secret in this file is too short")
    return secret
