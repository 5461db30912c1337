"""One HTTP stack for Google, with a bounded retry and a call counter.

* :class:`RetryPolicy` retries 429, 500, 502, 503, 504 and dropped connections
  with exponential backoff and jitter, honours ``Retry-After``, and gives up
  after ``[google] max_attempts`` tries or ``max_retry_seconds`` with
  :class:`~automations.errors.RetryLimitReached`. Sleep, clock and randomness are
  injectable so tests run in no time.
* :class:`RetryingHTTPClient` is gspread's ``HTTPClient`` with that retry (gspread's
  own ``BackOffHTTPClient`` never gives up, so it is not used).
* :class:`RetryingHttp` is the httplib2 shape googleapiclient wants, over the same
  ``requests`` session and retry.
* :func:`api_calls` counts every request sent to Google in this process, so a job
  can report ``api_calls`` (``n = api_calls(); ...; api_calls() - n``).

Error messages say which operation failed and Google's status; email addresses
in Google's text are blanked, and cell values are never quoted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import requests
from google.auth import exceptions as gauth_exceptions
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from ..config import Settings
from ..errors import GoogleAPIError, RetryLimitReached

log = logging.getLogger("corecruit.google")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DROPPED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    ConnectionError,
    TimeoutError,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_QUOTED = re.compile(r'"[^"]*"|\u201c[^\u201d]*\u201d')

# ----------------------------------------------------------------- call counter


class CallCounter:
    """Requests sent to Google by this process (the runner reads ``CALLS.total``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.total += n


CALLS = CallCounter()


def count_call() -> None:
    CALLS.add()


def api_calls() -> int:
    """Requests sent to Google by this process so far (retries included)."""
    return CALLS.total


# ------------------------------------------------------------------------ errors


def scrub(text: str) -> str:
    """Google's message without email addresses or quoted values (and not too long).

    Google sometimes quotes the value it did not accept; that could be a name.
    """
    text = _QUOTED.sub('"…"', str(text))
    return _EMAIL.sub("(an email address)", text)[:300]


def error_info(resp: requests.Response) -> tuple[str, str, str]:
    """(status, reason, message) from Google's error envelope, as far as it has them."""
    try:
        err = resp.json().get("error") or {}
    except ValueError:
        return "", "", ""
    if not isinstance(err, dict):
        return "", "", str(err)
    reasons = [
        str(d.get("reason", "")) for d in (err.get("errors") or err.get("details") or []) if d
    ]
    return (
        str(err.get("status", "")),
        ",".join(r for r in reasons if r),
        str(err.get("message", "")),
    )


NO_OWNER = (
    "Google will not let a service account own files (it has no storage of its own). "
    "Choose one of the set-ups in 'Connecting to Google' in the README: put the files in "
    'a folder on a shared drive ([google] account = "shared_drive" and drive_folder_id), '
    'let the service account act as a person (account = "act_as"), or sign in as a '
    "person (account = \"person\", then 'corecruit google login'). Nothing was created."
)


def no_storage(reason: str, message: str) -> bool:
    """Google's 403 for a file a service account would own outside a shared drive."""
    return "storageQuotaExceeded" in reason or "do not have storage quota" in message


def describe_refusal(resp: requests.Response, what: str) -> str:
    status, reason, message = error_info(resp)
    code = resp.status_code
    if code == 403 and no_storage(reason, message):
        return f"Google refused {what}. {NO_OWNER}"
    if code == 403 and ("scope" in message.lower() or "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in reason):
        return (
            f"Google refused {what}: the credentials lack a permission (scope) corecruit "
            "needs. Check the scopes in 'Connecting to Google' in the README."
        )
    if code == 401:
        return (
            f"Google refused {what}: the service account key was not accepted. "
            "Download a new key and check [google] credentials_file."
        )
    if code == 404:
        return (
            f"Google could not find the file for {what} (HTTP 404): it was deleted, or is "
            "not shared with corecruit's service account. Check the spreadsheet id in the "
            "campaign's [google] settings."
        )
    if code == 403:
        return (
            f"Google refused {what} (HTTP 403{', ' + status if status else ''}): corecruit's "
            "service account may not edit this file. Share it with the service account as "
            f"an editor. Google said: {scrub(message)}"
        )
    return f"Google refused {what} (HTTP {code} {status}): {scrub(message)}".rstrip(": ")


class GoogleRefused(GoogleAPIError, APIError):
    """Google answered with an error that retrying will not mend.

    Also a gspread ``APIError``, so gspread's own code that expects one still works.
    """

    def __init__(self, message: str, response: requests.Response) -> None:
        Exception.__init__(self, message)  # not APIError's: it wants a response first
        self.status = response.status_code
        self.response = response
        try:
            err = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            err = {"code": response.status_code, "message": "", "status": ""}
        self.error = err
        self.code = response.status_code
        self._message = message

    def __str__(self) -> str:
        return self._message

    def __repr__(self) -> str:
        return f"GoogleRefused({self._message!r})"

    def __reduce__(self) -> Any:
        return (GoogleAPIError, (self._message, self.code))


class Unsettled(GoogleAPIError):
    """A change was sent, the answer was lost, and it is not known whether it was made."""


# ------------------------------------------------------------------------- retry


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass
class RetryPolicy:
    """Bounded retry: at most ``max_attempts`` tries within ``max_seconds``."""

    max_attempts: int = 8
    max_seconds: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    retries: int = 0  # how many times this policy waited and tried again

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> RetryPolicy:
        g = settings.org.google
        return cls(max_attempts=g.max_attempts, max_seconds=g.max_retry_seconds, **kw)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + self.rng.uniform(0, min(1.0, self.base_delay))
        d = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return d / 2 + self.rng.uniform(0, d / 2)

    def run(
        self,
        send: Callable[[], requests.Response],
        *,
        what: str,
        idempotent: bool = True,
        settle: Callable[[], Any] | None = None,
    ) -> Any:
        """Send until Google answers something other than a retryable failure.

        Returns the response (which may be a non-retryable error: the caller
        decides). For a change that is not safe to repeat (``idempotent=False``), a
        5xx or a lost answer first calls ``settle()``: if it finds the change was
        made, its result is returned; if there is no ``settle``, :class:`Unsettled`
        is raised rather than risk making the change twice.
        """
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            count_call()
            retry_after: float | None = None
            try:
                resp = send()
            except DROPPED as exc:
                last = f"the connection was lost ({type(exc).__name__})"
                status: int | None = None
                ambiguous = True
            except gauth_exceptions.RefreshError as exc:
                if "unauthorized_client" in str(exc.args[0] if exc.args else ""):
                    raise GoogleAPIError(
                        "Google would not let corecruit's service account act as the account "
                        "in [google] act_as: in the Google Admin console (Security, API "
                        "controls, Domain-wide delegation) add the service account's client "
                        "ID with the scopes listed in 'Connecting to Google' in the README.",
                        401,
                    ) from None
                if not getattr(exc, "retryable", False):
                    raise GoogleAPIError(
                        "Google did not accept corecruit's service account key when signing "
                        f"in ({scrub(str(exc.args[0]) if exc.args else '')}). Check [google] "
                        "credentials_file, and download a new key if this one was deleted.",
                        401,
                    ) from None
                last, status, ambiguous = "signing in to Google failed for now", None, False
            except gauth_exceptions.TransportError as exc:
                last = f"signing in to Google was cut off ({type(exc).__name__})"
                status, ambiguous = None, False  # nothing was sent to the API yet
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp
                status = resp.status_code
                last = f"HTTP {status}"
                ambiguous = status >= 500
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
            if ambiguous and not idempotent:
                if settle is None:
                    raise Unsettled(
                        f"Google did not confirm {what} ({last}); it may or may not have "
                        "been done. Run the command again: it checks before repeating.",
                        status,
                    )
                found = settle()
                if found is not None:
                    return found
            pause = self.delay(attempt, retry_after)
            spent = self.clock() - started
            if attempt >= self.max_attempts or spent + pause > self.max_seconds:
                raise RetryLimitReached(
                    f"Google did not complete {what} after {attempt} tries in {spent:.0f} s "
                    f"(last answer: {last}). Nothing more was written; run the job again "
                    "later (limits: [google] max_attempts and max_retry_seconds).",
                    status,
                )
            log.info("Google answered %s to %s; trying again in %.1f s", last, what, pause)
            self.retries += 1
            self.sleep(pause)


# --------------------------------------------------------------- gspread client


def _what(method: str, url: str) -> str:
    """A short name for a request, from its URL (no ids, no values)."""
    path = url.split("?", 1)[0]
    if "sheets.googleapis.com" in path:
        if "/values:batchGet" in path:
            return "reading the sheets (values.batchGet)"
        if "/values:batchUpdate" in path:
            return "writing the sheets (values.batchUpdate)"
        if "/values:batchClear" in path:
            return "clearing rows (values.batchClear)"
        if ":batchUpdate" in path:
            return "changing the spreadsheet's tabs (spreadsheets.batchUpdate)"
        if "/values/" in path:
            return "a sheet range (values)"
        if method.upper() == "POST" and path.rstrip("/").endswith("/spreadsheets"):
            return "creating a spreadsheet"
        return "reading the spreadsheet's details (spreadsheets.get)"
    if "/permissions" in path:
        return "sharing (Drive permissions)"
    if "googleapis.com/drive" in path or "/drive/v3" in path:
        return "finding or creating a file (Drive)"
    return f"a Google request ({method.upper()})"


def _idempotent(method: str, url: str) -> bool:
    """Whether repeating the request after a lost answer is harmless."""
    if method.upper() != "POST":
        return True
    path = url.split("?", 1)[0]
    return any(
        s in path
        for s in ("/values:batchUpdate", "/values:batchClear", "/values:batchGet", ":clear")
    ) or path.endswith("/permissions")


class RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client with corecruit's bounded retry and clear errors."""

    def __init__(
        self,
        auth: Any = None,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        if session is None:
            if auth is None:
                raise ValueError("a session or credentials are needed")
            session = authorized_session(auth)
        super().__init__(auth, session=session)
        if auth is not None:
            self.auth = auth
        self.policy = policy or RetryPolicy()
        self.timeout = timeout

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        what: str | None = None,
        idempotent: bool | None = None,
        settle: Callable[[], Any] | None = None,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> Any:
        """One request with the retry; the response, or what ``settle`` found."""
        what = what or _what(method, endpoint)
        result = self.policy.run(
            lambda: self.session.request(
                method=method,
                url=endpoint,
                json=json,
                params=params,
                data=data,
                files=files,
                headers=headers,
                timeout=self.timeout,
            ),
            what=what,
            idempotent=_idempotent(method, endpoint) if idempotent is None else idempotent,
            settle=settle,
        )
        if isinstance(result, requests.Response) and not result.ok:
            raise GoogleRefused(describe_refusal(result, what), result)
        return result

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: Any = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        resp: requests.Response = self.call(
            method, endpoint, params=params, data=data, json=json, files=files, headers=headers
        )
        return resp


def authorized_session(credentials: Any, transport: requests.Session | None = None) -> Any:
    """A ``requests`` session that adds the credentials' bearer token.

    ``transport`` is the session whose adapters carry the bytes (tests hand in one
    leading to the emulator); tokens are fetched through it too.
    """
    from google.auth.transport.requests import AuthorizedSession
    from google.auth.transport.requests import Request as AuthRequest

    base = transport or requests.Session()
    authed = AuthorizedSession(credentials, auth_request=AuthRequest(base))
    for prefix, adapter in base.adapters.items():
        authed.mount(prefix, adapter)
    return authed


def gspread_client(
    credentials: Any,
    transport: requests.Session | None = None,
    policy: RetryPolicy | None = None,
) -> Any:
    """A ``gspread.Client`` whose every request goes through the bounded retry."""
    import gspread

    session = authorized_session(credentials, transport)
    client = gspread.Client(credentials, session=session)
    client.http_client = RetryingHTTPClient(credentials, session=session, policy=policy)
    return client


# -------------------------------------------------------- googleapiclient adapter


class SessionHttp:
    """The httplib2 shape googleapiclient wants, over a ``requests`` session.

    Going through requests (as gspread does) means one HTTP stack for all of
    corecruit's Google traffic, with proxies, timeouts and adapters set in one place.
    No retry here: the caller decides (the Gmail transport settles by search).
    """

    def __init__(self, session: Any, timeout: float = 60.0) -> None:
        self.session = session
        self.timeout = timeout

    def _send(
        self, uri: str, method: str, body: Any, headers: Any, redirections: int
    ) -> requests.Response:
        r: requests.Response = self.session.request(
            method,
            uri,
            data=body,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=redirections > 0,
        )
        return r

    @staticmethod
    def _as_httplib2(r: requests.Response) -> tuple[Any, bytes]:
        import httplib2

        info = {k.lower(): v for k, v in r.headers.items()}
        info["status"] = str(r.status_code)
        resp = httplib2.Response(info)
        resp.reason = r.reason
        return resp, r.content

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[Any, bytes]:
        try:
            r = self._send(uri, method, body, headers, redirections)
        except requests.Timeout as exc:
            raise TimeoutError(str(type(exc).__name__)) from None
        except requests.RequestException as exc:
            raise ConnectionError(type(exc).__name__) from None
        return self._as_httplib2(r)


class RetryingHttp(SessionHttp):
    """:class:`SessionHttp` with the bounded retry (for googleapiclient services).

    Requests that are not safe to repeat (POST) are retried on 429 only; a 5xx or
    a lost answer is handed back to the caller (as the response, or as
    ``ConnectionError``) to settle.
    """

    def __init__(self, session: Any, policy: RetryPolicy | None = None, timeout: float = 60.0):
        super().__init__(session, timeout)
        self.policy = policy or RetryPolicy()

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[Any, bytes]:
        safe = method.upper() != "POST"
        last: list[requests.Response] = []

        def settle() -> Any:
            if last:
                return last[-1]  # a 5xx on a change: the caller decides
            raise ConnectionError("the answer was lost; the change may or may not have been made")

        def send() -> requests.Response:
            last.clear()
            r = self._send(uri, method, body, headers, redirections)
            last.append(r)
            return r

        try:
            r = self.policy.run(send, what=_what(method, uri), idempotent=safe, settle=settle)
        except RetryLimitReached:
            raise
        except requests.RequestException as exc:  # pragma: no cover - run() catches these
            raise ConnectionError(type(exc).__name__) from None
        return self._as_httplib2(r)


def build_service(
    name: str,
    version: str,
    credentials: Any,
    transport: requests.Session | None = None,
    policy: RetryPolicy | None = None,
) -> Any:
    """A googleapiclient service over the authorised session, with the bounded retry."""
    from googleapiclient.discovery import build

    http = RetryingHttp(authorized_session(credentials, transport), policy)
    return build(name, version, http=http, cache_discovery=False, static_discovery=True)
