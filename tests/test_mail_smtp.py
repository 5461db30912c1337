"""The SMTP transport against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from remind_support import no_personal_data, sent_log, set_cell

from automations.config import load_settings
from automations.context import Context, make_context
from automations.mail import MailError, get_transport
from automations.mail.transports import SmtpTransport
from automations.pipelines import remind_job
from automations.transforms.ics import parse_events
from automations.workspace import init_campaign

HERE = Path(__file__).resolve().parent
AGREED = dt.datetime(2026, 12, 1, 9)
INVITED = {"grace.okafor@example.net", "marek.nowak@example.net", "sam.adeyemi@example.net"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway certificate authority and a server certificate for 127.0.0.1."""
    d = tmp_path_factory.mktemp("certs")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "corecruit test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


class Inbox:
    """An aiosmtpd handler that keeps what it receives, and can misbehave on purpose."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.drop_after_data = False
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        if self.drop_after_data:
            server.transport.close()  # accepted, but the reply never reaches the client
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        return sorted(str(m["X-Corecruit-Key"]).strip() for _, m in self.received)


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"corecruit"
        and auth_data.password == b"s3cret-pass"
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def server(
    request: pytest.FixtureRequest, certs: dict[str, Path]
) -> Iterator[tuple[Inbox, int, str]]:
    security = getattr(request, "param", "none")
    inbox = Inbox()
    port = free_port()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certs["cert"]), str(certs["key"]))
    kw: dict[str, Any] = {}
    if security == "starttls":
        kw = {
            "tls_context": ctx,
            "require_starttls": True,
            "auth_required": True,
            "authenticator": authenticator,
        }
    elif security == "ssl":
        # aiosmtpd cannot tell implicit TLS from plain, so it must be told AUTH is fine here
        kw = {"ssl_context": ctx, "authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield inbox, port, security
    finally:
        controller.stop()


def smtp_ctx(
    config_dir: Path, port: int, security: str, ca: Path | None = None, timeout: float = 10
) -> Context:
    org = config_dir / "organisation.toml"
    text = org.read_text()
    text = text.replace('transport = "outbox"', 'transport = "smtp"')
    text = text.replace('host = "smtp.example.org"', 'host = "127.0.0.1"')
    text = text.replace(
        "port = 587",
        f"port = {port}\ntimeout_seconds = {timeout}" + (f'\nca_file = "{ca}"' if ca else ""),
    )
    text = text.replace('security = "starttls"', f'security = "{security}"')
    org.write_text(text)
    c = make_context(load_settings(config_dir), clock=lambda: AGREED)
    init_campaign(c, example=True)
    return c


def statuses(ctx: Context) -> dict[str, str]:
    log = sent_log(ctx)
    return {k.split("|")[1]: s for k, s in zip(log["message_key"], log["status"], strict=True)}


@pytest.fixture
def login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORECRUIT_SMTP_USERNAME", "corecruit")
    monkeypatch.setenv("CORECRUIT_SMTP_PASSWORD", "s3cret-pass")


def test_plain_smtp_delivers_multipart_messages(
    server: tuple[Inbox, int, str], config_dir: Path
) -> None:
    inbox, port, _ = server
    ctx = smtp_ctx(config_dir, port, "none")
    res = remind_job(ctx)
    assert res.messages_sent == 3
    rcpts = {r for rs, _ in inbox.received for r in rs}
    assert rcpts == INVITED | {"support.worker@example.net"}  # Marek's copy_to, in Cc
    log = sent_log(ctx).set_index("person_id")
    for _rs, m in inbox.received:
        assert m.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in m.iter_parts()] == ["text/plain", "text/html"]
        assert m["From"] == "Recruitment team <recruitment@example.org>"
        assert m["Auto-Submitted"] == "auto-generated"
        key = str(m["X-Corecruit-Key"]).strip()
        assert log.loc[key.split("|")[1], "transport_id"] == m["Message-ID"]
        assert m.get_body(("plain",)).get_content().startswith(("Dear ", "Hello Marek,"))
    assert set(statuses(ctx).values()) == {"sent", "contact another way"}
    remind_job(ctx)
    assert len(inbox.received) == 3  # nothing twice


@pytest.mark.parametrize("server", ["starttls", "ssl"], indirect=True)
def test_tls_and_login(
    server: tuple[Inbox, int, str], config_dir: Path, certs: dict[str, Path], login: None
) -> None:
    inbox, port, security = server
    ctx = smtp_ctx(config_dir, port, security, ca=certs["ca"])
    res = remind_job(ctx)
    assert res.messages_sent == 3, res.attention
    assert {r for rs, _ in inbox.received for r in rs} >= INVITED


@pytest.mark.parametrize("server", ["starttls"], indirect=True)
def test_an_untrusted_certificate_is_refused(
    server: tuple[Inbox, int, str], config_dir: Path, login: None
) -> None:
    inbox, port, security = server
    ctx = smtp_ctx(config_dir, port, security)  # no ca_file: the test CA is not trusted
    res = remind_job(ctx)
    assert res.messages_sent == 0 and inbox.received == []
    assert any(
        "could not be set up (SSLCertVerificationError); nothing was sent" in a
        for a in res.attention
    )
    assert set(statuses(ctx).values()) == {"failed", "contact another way"}


@pytest.mark.parametrize("server", ["starttls"], indirect=True)
def test_a_wrong_password_is_said_without_repeating_it(
    server: tuple[Inbox, int, str],
    config_dir: Path,
    certs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORECRUIT_SMTP_USERNAME", "corecruit")
    monkeypatch.setenv("CORECRUIT_SMTP_PASSWORD", "wrong-one")
    inbox, port, security = server
    ctx = smtp_ctx(config_dir, port, security, ca=certs["ca"])
    res = remind_job(ctx)
    assert res.messages_sent == 0 and inbox.received == []
    text = " ".join(res.attention)
    assert "did not accept the username and password" in text and "wrong-one" not in text
    # fixed next day: the failed ones go out, once
    monkeypatch.setenv("CORECRUIT_SMTP_PASSWORD", "s3cret-pass")
    ctx2 = make_context(load_settings(config_dir), clock=lambda: AGREED + dt.timedelta(days=1))
    assert remind_job(ctx2).messages_sent == 3
    assert len(inbox.received) == 3


def test_a_refused_address_fails_definitely(
    server: tuple[Inbox, int, str], config_dir: Path
) -> None:
    inbox, port, _ = server
    inbox.refuse = {"sam.adeyemi@example.net"}
    ctx = smtp_ctx(config_dir, port, "none")
    res = remind_job(ctx)
    assert res.messages_sent == 2
    assert statuses(ctx)["p07"] == "failed"
    note = sent_log(ctx).set_index("person_id").loc["p07", "note"]
    assert "refused every recipient; nothing was sent" in note
    assert no_personal_data(note + " ".join(res.attention)) == []


def test_nothing_listening_fails_definitely() -> None:
    t = SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "Hi"
    msg.set_content("Hello")
    with pytest.raises(MailError) as exc:
        t.send(msg)
    assert exc.value.definite and "could not connect" in str(exc.value)


def test_a_silent_server_times_out_definitely() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)  # accepts the connection, never says hello
        t = SmtpTransport("127.0.0.1", s.getsockname()[1], security="none", timeout=0.5)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "Hi"
        msg.set_content("Hello")
        with pytest.raises(MailError) as exc:
            t.send(msg)
    assert exc.value.definite


def test_a_connection_lost_after_the_data_is_held_not_resent(
    server: tuple[Inbox, int, str], config_dir: Path
) -> None:
    inbox, port, _ = server
    inbox.drop_after_data = True
    ctx = smtp_ctx(config_dir, port, "none")
    res = remind_job(ctx)
    assert res.messages_sent == 0 and len(inbox.received) == 3  # they went; we were not told
    assert set(statuses(ctx).values()) == {"intended", "contact another way"}
    inbox.drop_after_data = False
    for day in (1, 2):
        c = make_context(
            load_settings(config_dir), clock=lambda d=day: AGREED + dt.timedelta(days=d)
        )
        res = remind_job(c)
        assert res.messages_sent == 0
        assert len([a for a in res.attention if "may or may not have gone out" in a]) == 3
    assert len(inbox.received) == 3
    # staff check the sent mail and mark them sent: nothing more is said or sent
    for p in ("p03", "p05", "p07"):
        set_cell(
            ctx,
            "sent_messages",
            {"message_key": f"pwle-invitation|{p}|peer-support-2027|recruitment agreed"},
            status="sent",
        )
    c = make_context(load_settings(config_dir), clock=lambda: AGREED + dt.timedelta(days=3))
    res = remind_job(c)
    assert not [a for a in res.attention if "may or may not" in a] and len(inbox.received) == 3


def test_a_kill_between_send_and_log_is_never_a_second_email(
    server: tuple[Inbox, int, str], config_dir: Path
) -> None:
    inbox, port, _ = server
    ctx = smtp_ctx(config_dir, port, "none")
    rc = subprocess.run(
        [
            sys.executable,
            str(HERE / "remind_child.py"),
            str(config_dir),
            AGREED.isoformat(),
            "after-send",
            "1",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    ).returncode
    assert rc == 9 and len(inbox.received) == 1
    first = inbox.keys()[0]
    res = remind_job(ctx)
    # the one that went cannot be confirmed by SMTP: held for staff; the others go now
    assert res.messages_sent == 2 and len(inbox.received) == 3
    assert sorted(inbox.keys()) == sorted(set(inbox.keys()))
    assert any(first in a and "may or may not have gone out" in a for a in res.attention)
    remind_job(ctx)
    assert len(inbox.received) == 3


def test_smtp_messages_carry_the_calendar_invitation(
    server: tuple[Inbox, int, str], config_dir: Path
) -> None:
    inbox, port, _ = server
    ctx = smtp_ctx(config_dir, port, "none")
    ctx.clock = lambda: dt.datetime(2027, 1, 15, 9)
    remind_job(ctx)
    prep = [m for _, m in inbox.received if "preparation-meeting|p01" in m["X-Corecruit-Key"]]
    assert len(prep) == 1
    cal = [p for p in prep[0].iter_attachments() if p.get_content_type() == "text/calendar"]
    assert cal[0].get_param("method") == "REQUEST"
    ev = parse_events(cal[0].get_content())[0]
    assert ev["DTSTART"] == "20270129T100000Z" and ev["SUMMARY"].startswith("Preparation meeting")
    assert ev["ATTENDEE"].endswith("mailto:aisha.rahman@example.org")


def test_get_transport_builds_smtp_from_config(config_dir: Path, login: None) -> None:
    ctx = smtp_ctx(config_dir, 2525, "starttls")
    t = get_transport(ctx)
    assert isinstance(t, SmtpTransport)
    assert (t.host, t.port, t.security, t.username, t.timeout) == (
        "127.0.0.1",
        2525,
        "starttls",
        "corecruit",
        10,
    )
    assert get_transport(ctx) is t
