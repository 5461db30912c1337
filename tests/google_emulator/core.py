"""The emulator's machinery: a small route registry, auth, counting and faults.

Services (Sheets, Drive, the OAuth token endpoint, and later Forms and Gmail)
live in their own modules and register handlers with :func:`route`. The
:class:`Emulator` loads every module named in :data:`SERVICE_MODULES` that
exists, so adding a service is adding a file (see README.md).

Everything a test needs to steer or inspect is a method on :class:`Emulator`:
``calls()`` / ``counts()`` / ``reset_counts()``, ``fail()`` / ``drop()`` /
``slow()`` for faults, ``issue_token()`` / ``service_account_info()`` for
credentials, and ``state(service)`` for each service's data.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import random
import re
import socket
import string
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICE_MODULES = ("oauth", "drive", "sheets", "forms", "gmail")

# The team's Google account tests act as by default (the example config's from address).
TEAM_ACCOUNT = "recruitment@example.org"

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' "
    "of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "Deadline expired before operation could complete.",
}

UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class ApiError(Exception):
    """An error answered in Google's envelope ``{"error": {"code", "message", "status"}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            err["errors"] = self.errors
        err["status"] = self.status
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


@dataclass
class Principal:
    """Who a bearer token belongs to, and what it may do."""

    email: str
    scopes: frozenset[str]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    principal: Principal | None = None
    route_name: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def flag(self, name: str, default: bool = False) -> bool:
        v = self.arg(name)
        return default if v is None else v.strip().lower() == "true"

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(
                400, "Invalid JSON payload received. Unexpected token.", "INVALID_ARGUMENT"
            ) from None

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, indent=2).encode("utf-8")


Handler = Callable[..., Any]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    scopes: tuple[str, ...]
    handler: Handler
    auth: bool = True


ROUTES: list[Route] = []

SCOPE = "https://www.googleapis.com/auth/"


def route(
    method: str, pattern: str, *, name: str, scopes: Iterable[str] = (), auth: bool = True
) -> Callable[[Handler], Handler]:
    """Register ``handler(emu, req, **groups)`` for ``method`` and a path regex.

    ``pattern`` is matched against the raw (still percent-encoded) path; named
    groups are percent-decoded and passed as keyword arguments. ``scopes`` are
    alternatives: a token needs at least one of them (short names such as
    ``"spreadsheets"`` mean ``https://www.googleapis.com/auth/spreadsheets``).
    The handler returns a dict (JSON, status 200), a :class:`Response`, or raises
    :class:`ApiError`.
    """
    full = tuple(s if s.startswith("https://") else SCOPE + s for s in scopes)

    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), re.compile(pattern + r"\Z"), name, full, fn, auth))
        return fn

    return deco


@dataclass
class Fault:
    """One injected misbehaviour, used up ``times`` times by requests that match."""

    kind: str  # "status" | "drop" | "slow"
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    match: str | None = None  # route-name prefix, e.g. "sheets.spreadsheets.values"
    when: str = "before"  # "before": nothing is done; "after": the request is applied first
    message: str | None = None

    def matches(self, name: str) -> bool:
        return self.match is None or name.startswith(self.match)


DROP = object()  # a handler outcome: close the connection without answering


class Emulator:
    """The emulated Google: routes, state, tokens, counts and faults, behind one lock."""

    def __init__(self, *, seed: int = 0, services: Iterable[str] = SERVICE_MODULES) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self._state: dict[str, dict[str, Any]] = {}
        self._counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, str, int]] = []  # (route name, method, path, status)
        self.faults: list[Fault] = []
        self.tokens: dict[str, tuple[Principal, float]] = {}
        self.service_accounts: dict[str, Any] = {}  # email -> public key
        # Who ``issue_token()`` speaks for unless told: a person (a Workspace user), since
        # a service account on its own cannot own files (see drive.py).
        self.default_principal_email = TEAM_ACCOUNT
        self.default_service_account = "corecruit@emulated-project.iam.gserviceaccount.com"
        # Service accounts an admin has NOT allowed to act as people (domain-wide delegation).
        self.no_delegation: set[str] = set()
        # Service accounts that may still own files (gspread's recordings predate the rule).
        self.legacy_owners: set[str] = set()
        self.services: list[str] = []
        self.errors: list[BaseException] = []  # handler crashes (the fixture fails the test)
        # Check every request against Google's discovery documents (schema.py), as Google does.
        self.strict = True
        # With ``capture`` on, every request that reached a route: (route name, query, body).
        self.capture = False
        self.captured: list[tuple[str, dict[str, list[str]], bytes]] = []
        # Drive's search is eventually consistent: files.list misses a file made less than
        # this many seconds ago (files.get by id sees it at once). 0: no lag.
        self.search_lag = 0.0
        # Addresses that have no Google account (Drive sharing treats them differently).
        self.no_google_account: set[str] = set()
        for name in services:
            try:
                importlib.import_module(f"{__package__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__package__}.{name}":
                    raise
                continue
            self.services.append(name)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ state

    def state(self, service: str) -> dict[str, Any]:
        """The service's own data (a dict made on first use)."""
        with self.lock:
            return self._state.setdefault(service, {})

    def new_id(self, length: int = 44) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self.rng.choice(alphabet) for _ in range(length - 1))

    def new_int_id(self) -> int:
        return self.rng.randint(1, 2**31 - 1)

    # ---------------------------------------------------------------- counting

    def calls(self, prefix: str = "") -> int:
        """Requests received whose route name starts with ``prefix`` (faulted ones too)."""
        with self.lock:
            return sum(n for k, n in self._counts.items() if k.startswith(prefix))

    def counts(self, prefix: str = "") -> dict[str, int]:
        with self.lock:
            return {k: n for k, n in sorted(self._counts.items()) if k.startswith(prefix)}

    def reset_counts(self) -> None:
        with self.lock:
            self._counts.clear()
            self.log.clear()

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        status: int = 503,
        *,
        times: int = 1,
        retry_after: float | str | None = None,
        match: str | None = None,
        when: str = "before",
        message: str | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (429, 500, 503…)."""
        f = Fault(
            "status",
            times,
            status,
            None if retry_after is None else str(retry_after),
            0.0,
            match,
            when,
            message,
        )
        with self.lock:
            self.faults.append(f)
        return f

    def drop(self, *, times: int = 1, match: str | None = None, when: str = "before") -> Fault:
        """Close the connection without answering the next ``times`` matching requests."""
        f = Fault("drop", times, match=match, when=when)
        with self.lock:
            self.faults.append(f)
        return f

    def slow(self, seconds: float, *, times: int = 1, match: str | None = None) -> Fault:
        """Wait ``seconds`` before answering the next ``times`` matching requests."""
        f = Fault("slow", times, delay=seconds, match=match)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, name: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.times > 0 and f.matches(name):
                    f.times -= 1
                    if f.times == 0:
                        self.faults.remove(f)
                    return f
        return None

    # -------------------------------------------------------------------- auth

    def issue_token(
        self, email: str | None = None, scopes: Iterable[str] = (), lifetime: float = 3600
    ) -> str:
        """A bearer token for ``email`` with ``scopes`` (short or full names)."""
        full = frozenset(s if s.startswith("https://") else SCOPE + s for s in scopes)
        token = "ya29.emu-" + "".join(self.rng.choice(string.ascii_letters) for _ in range(40))
        with self.lock:
            self.tokens[token] = (
                Principal(email or self.default_principal_email, full),
                time.time() + lifetime,
            )
        return token

    def expire_tokens(self) -> None:
        """Make every token issued so far expire (clients must refresh)."""
        with self.lock:
            self.tokens = {t: (p, 0.0) for t, (p, _) in self.tokens.items()}

    def principal_for(self, headers: dict[str, str]) -> Principal | None:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        with self.lock:
            entry = self.tokens.get(auth[7:].strip())
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def service_account_info(
        self, email: str | None = None, *, project_id: str = "emulated-project"
    ) -> dict[str, str]:
        """A service account key (as the JSON file Google gives) whose tokens this emulator issues.

        ``token_uri`` is Google's real one: the test transport carries it here.
        """
        from .oauth import make_key

        email = email or self.default_service_account
        private_pem, public_key, key_id = make_key()
        with self.lock:
            self.service_accounts[email] = public_key
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": private_pem,
            "client_email": email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + urllib.parse.quote(email),
            "universe_domain": "googleapis.com",
        }

    # ---------------------------------------------------------------- dispatch

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[Response | object, float]:
        """Answer one request: (Response or DROP, seconds to wait first)."""
        path, _, qs = raw_path.partition("?")
        query = urllib.parse.parse_qs(qs, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}
        req = Request(method.upper(), path, query, headers, body)
        found: tuple[Route, dict[str, str]] | None = None
        allowed = False
        for r in ROUTES:
            m = r.pattern.match(path)
            if m:
                allowed = True
                if r.method == req.method:
                    groups = {
                        k: urllib.parse.unquote(v)
                        for k, v in m.groupdict().items()
                        if v is not None
                    }
                    found = (r, groups)
                    break
        if found is None:
            name = f"unknown {req.method} {path}"
            with self.lock:
                self._counts[name] += 1
                self.log.append((name, req.method, path, 404 if not allowed else 405))
            msg = "Method not allowed" if allowed else f"The requested URL {path} was not found."
            return Response(404 if not allowed else 405, ApiError(404, msg).body()), 0.0
        r, groups = found
        req.route_name = r.name
        with self.lock:
            self._counts[r.name] += 1
        fault = self._take_fault(r.name)
        delay = fault.delay if fault is not None and fault.kind == "slow" else 0.0
        if fault is not None and fault.when == "before" and fault.kind in ("status", "drop"):
            return self._fault_outcome(req, fault), delay
        resp = self._run(r, req, groups)
        if fault is not None and fault.when == "after" and fault.kind in ("status", "drop"):
            return self._fault_outcome(req, fault), delay
        with self.lock:
            self.log.append((r.name, req.method, path, resp.status))
        return resp, delay

    def _fault_outcome(self, req: Request, fault: Fault) -> Response | object:
        with self.lock:
            self.log.append(
                (req.route_name, req.method, req.path, 0 if fault.kind == "drop" else fault.status)
            )
        if fault.kind == "drop":
            return DROP
        msg = fault.message or DEFAULT_MESSAGES.get(fault.status, "Error")
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return Response(fault.status, ApiError(fault.status, msg).body(), headers)

    def _run(self, r: Route, req: Request, groups: dict[str, str]) -> Response:
        try:
            if r.auth:
                req.principal = self.principal_for(req.headers)
                if req.principal is None:
                    raise ApiError(
                        401,
                        UNAUTHENTICATED,
                        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                    )
                if r.scopes and not (req.principal.scopes & set(r.scopes)):
                    raise ApiError(
                        403,
                        "Request had insufficient authentication scopes.",
                        details=[
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                "domain": "googleapis.com",
                                "metadata": {"method": r.name},
                            }
                        ],
                    )
            if self.capture:
                with self.lock:
                    self.captured.append((r.name, req.query, req.body))
            if self.strict:
                from .schema import check

                check(r.name, req.query, req.body)
            with self.lock:
                out = r.handler(self, req, **groups)
        except ApiError as exc:
            return Response(exc.code, exc.body(), dict(exc.headers))
        except Exception as exc:  # a bug in the emulator: answer 500, keep it for the test
            with self.lock:
                self.errors.append(exc)
            return Response(500, ApiError(500, f"emulator error: {type(exc).__name__}").body())
        if isinstance(out, Response):
            return out
        return Response(200, out)

    # ------------------------------------------------------------------ server

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Emulator:
        emu = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # answers leave at once (no 40 ms delayed-ACK stall)

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                resp, delay = emu.handle(self.command, self.path, dict(self.headers), body)
                if delay:
                    time.sleep(delay)
                if resp is DROP:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                assert isinstance(resp, Response)
                data = resp.encode()
                self.send_response(resp.status)
                if data or resp.status != 204:
                    self.send_header("Content-Type", resp.content_type)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # dropped connections are expected; never print from a test server

        self._server = _Server((host, port), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the emulator is not running"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(**kw: Any) -> Iterator[Emulator]:
    """An emulator on a free loopback port for the duration of a ``with`` block."""
    emu = Emulator(**kw).start()
    try:
        yield emu
    finally:
        emu.stop()


# ------------------------------------------------------------------ field masks


def parse_fields(text: str) -> dict[str, Any]:
    """``a,b(c,d/e),f.g`` -> {"a": True, "b": {"c": True, "d": {"e": True}}, "f": {"g": True}}."""
    pos = 0
    text = text.replace(" ", "")

    def merge(into: dict[str, Any], path: list[str], sub: Any) -> None:
        node = into
        for p in path[:-1]:
            nxt = node.get(p)
            if nxt is True:
                return  # already fully selected
            node = node.setdefault(p, {})
        last = path[-1]
        if sub is True or node.get(last) is True:
            node[last] = True
        elif isinstance(node.get(last), dict):
            for k, v in sub.items():
                merge(node[last], [k], v)
        else:
            node[last] = sub

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        while pos < len(text):
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = [p for p in re.split(r"[./]", text[start:pos]) if p]
            sub: Any = True
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos < len(text) and text[pos] == ")":
                    pos += 1
            if path:
                merge(out, path, sub)
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            if pos < len(text) and text[pos] == ")":
                return out
        return out

    return parse_list()


def apply_fields(obj: Any, tree: dict[str, Any] | bool) -> Any:
    """Keep only what a parsed field mask selects (Google keeps selected empty messages)."""
    if tree is True or not isinstance(obj, dict):
        return obj
    assert isinstance(tree, dict)
    out: dict[str, Any] = {}
    for key, sub in tree.items():
        if key == "*":
            return obj
        if key not in obj:
            continue
        val = obj[key]
        if sub is True:
            out[key] = val
        elif isinstance(val, list):
            out[key] = [apply_fields(v, sub) for v in val]
        else:
            out[key] = apply_fields(val, sub)
    return out
