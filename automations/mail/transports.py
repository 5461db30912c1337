"""SMTP and Gmail API transports for the mail seam.

Both keep the seam's promise: ``send(msg)`` returns the Message-ID the message was
sent with, or raises :class:`~automations.mail.MailError` saying whether the
message certainly did not go out (``definite``) or might have (a connection lost
after the message data was handed over). Error messages name the server, never
an address.

SMTP cannot be asked afterwards whether a message went out, so ``confirm``
returns None and the delivery layer keeps such a message for staff to check
rather than send it twice. The Gmail API can be asked: ``confirm`` searches the
mailbox for the Message-ID (``rfc822msgid:``).
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import getaddresses, make_msgid
from typing import TYPE_CHECKING, Any

from ..config import Settings, read_secret
from ..errors import ConfigError
from ..google.auth import GMAIL_SCOPES as _GMAIL_SCOPES
from ..google.http import SessionHttp
from .base import MailError, MailTransport

if TYPE_CHECKING:
    from ..context import Context

log = logging.getLogger("corecruit.mail")

GMAIL_SCOPES = _GMAIL_SCOPES  # listed with every other scope in automations.google.auth


def _recipients(msg: EmailMessage) -> list[str]:
    fields = [str(v) for h in ("To", "Cc", "Bcc") for v in (msg.get_all(h) or [])]
    return [addr for _, addr in getaddresses(fields) if addr]


def _ensure_id(msg: EmailMessage, domain: str = "corecruit.local") -> str:
    if not msg["Message-ID"]:
        msg["Message-ID"] = make_msgid(domain=domain)
    return str(msg["Message-ID"])


class SmtpTransport:
    """Sends through an SMTP server: STARTTLS, SSL or (for a local relay) plain.

    One connection per message keeps the failure cases simple to tell apart: any
    failure before the message data is handed over means it did not go out.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.refused_last: int = 0  # copies (Cc) the server refused on the last send

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"could not connect to the mail server {self.where} "
                f"({type(exc).__name__}); nothing was sent"
            ) from None
        try:
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError:
            self._close(conn)
            raise MailError(
                f"the mail server {self.where} did not accept the username and "
                "password; nothing was sent"
            ) from None
        except smtplib.SMTPNotSupportedError:
            self._close(conn)
            raise MailError(
                f"the mail server {self.where} does not offer "
                f"{'STARTTLS' if self.security == 'starttls' else 'login'}; "
                "check [mail.smtp] security; nothing was sent"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._close(conn)
            raise MailError(
                f"the mail server {self.where} could not be set up "
                f"({type(exc).__name__}); nothing was sent"
            ) from None
        return conn

    @staticmethod
    def _close(conn: smtplib.SMTP) -> None:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()

    def send(self, msg: EmailMessage) -> str:
        mid = _ensure_id(msg)
        rcpts = _recipients(msg)
        if not rcpts:
            raise MailError("the message has no recipients; nothing was sent")
        sender = next((a for _, a in getaddresses([str(msg["From"] or "")]) if a), "")
        data = msg.as_bytes(policy=SMTP_POLICY)
        conn = self._connect()
        try:
            try:
                code, _ = conn.mail(sender)
                if code != 250:
                    raise MailError(
                        f"the mail server {self.where} refused the sender "
                        f"(code {code}); nothing was sent"
                    )
                accepted = 0
                refused = 0
                for r in rcpts:
                    code, _ = conn.rcpt(r)
                    if code in (250, 251):
                        accepted += 1
                    else:
                        refused += 1
                if not accepted:
                    conn.rset()
                    raise MailError(
                        f"the mail server {self.where} refused every recipient; nothing was sent"
                    )
            except (OSError, smtplib.SMTPException) as exc:
                raise MailError(
                    f"the mail server {self.where} stopped before the message was "
                    f"handed over ({type(exc).__name__}); nothing was sent"
                ) from None
            try:
                code, _ = conn.data(data)
            except smtplib.SMTPDataError as exc:
                raise MailError(
                    f"the mail server {self.where} rejected the message "
                    f"(code {exc.smtp_code}); nothing was sent"
                ) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise MailError(
                    f"the connection to {self.where} was lost while the message was being "
                    f"handed over ({type(exc).__name__}); it may or may not have gone out",
                    definite=False,
                ) from None
            self.refused_last = refused
            return mid
        finally:
            self._close(conn)

    def confirm(self, message_id: str) -> bool | None:
        """SMTP cannot be asked what it delivered."""
        return None


class GmailTransport:
    """Sends with the Gmail API (``users.messages.send`` with the raw message).

    Retries 429 and 5xx a bounded number of times; before retrying after a 5xx or a
    lost connection it searches the mailbox for the Message-ID, so a message Google
    accepted is not sent again.
    """

    def __init__(
        self,
        service: Any,
        user_id: str = "me",
        *,
        max_attempts: int = 5,
        max_retry_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.user_id = user_id
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.sleep = sleep
        self.calls = 0

    def _execute(self, request: Any) -> Any:
        self.calls += 1
        return request.execute(num_retries=0)

    def send(self, msg: EmailMessage) -> str:
        from googleapiclient.errors import HttpError
        from httplib2 import HttpLib2Error

        mid = _ensure_id(msg)
        raw = base64.urlsafe_b64encode(msg.as_bytes()).decode("ascii")
        started = time.monotonic()
        delay, slept = 1.0, 0.0
        for attempt in range(1, self.max_attempts + 1):
            unsure = False
            try:
                self._execute(
                    self.service.users().messages().send(userId=self.user_id, body={"raw": raw})
                )
                return mid
            except HttpError as exc:
                status = int(getattr(exc.resp, "status", 0) or 0)
                if status != 429 and status < 500:
                    raise MailError(
                        f"Gmail refused the message (HTTP {status}); nothing was sent"
                    ) from None
                unsure = status >= 500
                what = f"HTTP {status}"
            except (OSError, socket.timeout, HttpLib2Error) as exc:  # noqa: UP041
                unsure = True
                what = type(exc).__name__
            if unsure:
                seen = self.confirm(mid)
                if seen:
                    return mid
                unsure = seen is None
            spent = max(time.monotonic() - started, slept)
            if attempt == self.max_attempts or spent + delay > self.max_retry_seconds:
                raise MailError(
                    f"Gmail did not accept the message after {attempt} tries ({what})"
                    + ("; it may or may not have gone out" if unsure else "; nothing was sent"),
                    definite=not unsure,
                )
            log.info("Gmail answered %s; trying again in %.0f s", what, delay)
            self.sleep(delay)
            slept += delay
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def confirm(self, message_id: str) -> bool | None:
        """Search the mailbox (sent mail included) for the Message-ID; None if Google won't say."""
        from googleapiclient.errors import HttpError
        from httplib2 import HttpLib2Error

        q = f"rfc822msgid:{message_id.strip().strip('<>')}"
        try:
            resp = self._execute(
                self.service.users()
                .messages()
                .list(userId=self.user_id, q=q, includeSpamTrash=True, maxResults=1)
            )
        except (HttpError, OSError, HttpLib2Error):
            return None
        return bool(resp.get("messages"))


def _smtp_from_settings(settings: Settings) -> SmtpTransport:
    cfg = settings.org.mail.smtp
    user = ""
    if cfg.username_env:
        import os

        user = os.environ.get(cfg.username_env, "")
    password = ""
    if user:
        password = read_secret(
            cfg.password_env, cfg.password_file, what="mail server password", settings=settings
        )
    ctx = ssl.create_default_context()
    if cfg.ca_file:
        path = settings.path(cfg.ca_file)
        try:
            ctx.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError):
            raise ConfigError(
                str(path), "mail.smtp.ca_file", "this certificate file cannot be read"
            ) from None
    return SmtpTransport(
        cfg.host,
        cfg.port,
        security=cfg.security,
        username=user,
        password=password,
        timeout=cfg.timeout_seconds,
        ssl_context=ctx,
    )


def _service_account(settings: Settings) -> Any:
    from google.oauth2 import service_account

    g = settings.org.google
    try:
        if g.credentials_file:
            return service_account.Credentials.from_service_account_file(
                str(settings.path(g.credentials_file)), scopes=list(GMAIL_SCOPES)
            )
        import json

        info = read_secret(g.credentials_env, what="Google service account key", settings=settings)
        if info.lstrip().startswith("{"):
            return service_account.Credentials.from_service_account_info(
                json.loads(info), scopes=list(GMAIL_SCOPES)
            )
        return service_account.Credentials.from_service_account_file(
            info, scopes=list(GMAIL_SCOPES)
        )
    except (OSError, ValueError):
        raise ConfigError(
            "google", "credentials_file", "the Google service account key cannot be read"
        ) from None


def gmail_service(settings: Settings, *, session: Any = None, credentials: Any = None) -> Any:
    """A Gmail API client from the organisation's Google credentials.

    A service account sends as ``[mail] gmail_user`` (or the from address) through
    domain-wide delegation. ``session`` is the ``requests.Session`` to send through
    (tests hand in one whose adapters lead to the local emulator).
    """
    import requests
    from google.auth.transport.requests import AuthorizedSession
    from google.auth.transport.requests import Request as AuthRequest
    from googleapiclient.discovery import build

    mail = settings.org.mail
    if credentials is None and settings.org.google.account == "person":
        from ..google.auth import credentials_for

        credentials = credentials_for(settings, GMAIL_SCOPES)  # the signed-in person's Gmail
    if credentials is None:
        subject = mail.gmail_user if "@" in mail.gmail_user else mail.from_address
        credentials = _service_account(settings).with_subject(subject)
    base = session or requests.Session()
    authed = AuthorizedSession(credentials, auth_request=AuthRequest(base))
    for prefix, adapter in base.adapters.items():
        authed.mount(prefix, adapter)
    return build(
        "gmail", "v1", http=SessionHttp(authed), cache_discovery=False, static_discovery=True
    )


def make_transport(ctx: Context) -> MailTransport:
    """The SMTP or Gmail transport named in ``[mail] transport``."""
    settings = ctx.settings
    cfg = settings.org.mail
    if cfg.transport == "smtp":
        return _smtp_from_settings(settings)
    if cfg.transport == "gmail":
        g = settings.org.google
        service = ctx.extras.get("gmail_service") or gmail_service(
            settings, session=ctx.extras.get("google_transport")
        )
        user = cfg.gmail_user or "me"
        return GmailTransport(
            service, user, max_attempts=g.max_attempts, max_retry_seconds=g.max_retry_seconds
        )
    from .base import OutboxTransport

    return OutboxTransport(settings.path(cfg.outbox))
