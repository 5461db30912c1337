"""The Gmail transport's bounded retry, through the real googleapiclient over scripted HTTP.

(The Gmail path against the Google emulator is in test_mail_gmail.py; these cover the
answers an emulator would rarely give: 429s, 5xx after Google took the message, a
request that never comes back.)
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import pytest
from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence

from automations.mail import MailError
from automations.mail.transports import GmailTransport


class Recording(HttpMockSequence):
    """Scripted answers; remembers each request's method and URI."""

    def __init__(self, answers: list[tuple[dict[str, str], bytes]]) -> None:
        super().__init__(answers)
        self.requests: list[tuple[str, str]] = []

    def request(self, uri: str, method: str = "GET", *a: Any, **kw: Any) -> Any:
        self.requests.append((method, uri))
        return super().request(uri, method, *a, **kw)


def service(*answers: tuple[int, dict[str, Any]]) -> tuple[Any, Recording]:
    http = Recording([({"status": str(code)}, json.dumps(body).encode()) for code, body in answers])
    return build("gmail", "v1", http=http, cache_discovery=False, static_discovery=True), http


def msg() -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "recruitment@example.org", "p@example.net", "Hello"
    m["Message-ID"] = "<abc123.corecruit@example.org>"
    m.set_content("Hello")
    return m


ERR = {"error": {"code": 0, "message": "try later"}}
SENT = {"id": "18c", "threadId": "18c", "labelIds": ["SENT"]}


def test_429_is_retried_with_growing_waits() -> None:
    svc, http = service((429, ERR), (429, ERR), (200, SENT))
    waits: list[float] = []
    t = GmailTransport(svc, "me", sleep=waits.append)
    assert t.send(msg()) == "<abc123.corecruit@example.org>"
    assert waits == [1.0, 2.0] and t.calls == 3
    assert all(u.endswith("/users/me/messages/send?alt=json") for _, u in http.requests)


def test_retry_gives_up_after_max_attempts_and_says_nothing_was_sent() -> None:
    svc, _ = service(*[(429, ERR)] * 3)
    t = GmailTransport(svc, "me", max_attempts=3, sleep=lambda s: None)
    with pytest.raises(MailError) as exc:
        t.send(msg())
    assert exc.value.definite and "after 3 tries (HTTP 429); nothing was sent" in str(exc.value)


def test_retry_gives_up_within_the_time_limit() -> None:
    svc, _ = service((429, ERR), (429, ERR), (429, ERR))
    t = GmailTransport(svc, "me", max_attempts=8, max_retry_seconds=2.5, sleep=lambda s: None)
    with pytest.raises(MailError, match="after 2 tries"):
        t.send(msg())


def test_a_5xx_after_google_took_the_message_is_not_sent_again() -> None:
    # send -> 500; search by Message-ID finds it -> done, no second send
    svc, http = service((500, ERR), (200, {"messages": [{"id": "18c"}]}))
    t = GmailTransport(svc, "me", sleep=lambda s: pytest.fail("no retry needed"))
    assert t.send(msg()) == "<abc123.corecruit@example.org>"
    assert [m for m, _ in http.requests] == ["POST", "GET"]
    assert "rfc822msgid%3Aabc123.corecruit%40example.org" in http.requests[1][1]


def test_a_5xx_not_found_in_the_mailbox_is_retried() -> None:
    svc, _ = service((503, ERR), (200, {"resultSizeEstimate": 0}), (200, SENT))
    t = GmailTransport(svc, "me", sleep=lambda s: None)
    t.send(msg())
    assert t.calls == 3


def test_a_5xx_that_cannot_be_checked_is_reported_as_unsure() -> None:
    svc, _ = service((500, ERR), (500, ERR))  # the send and the search both fail
    t = GmailTransport(svc, "me", max_attempts=1, sleep=lambda s: None)
    with pytest.raises(MailError) as exc:
        t.send(msg())
    assert not exc.value.definite and "may or may not have gone out" in str(exc.value)


def test_a_client_error_is_not_retried() -> None:
    svc, _ = service((400, ERR))
    t = GmailTransport(svc, "me", sleep=lambda s: pytest.fail("must not retry"))
    with pytest.raises(MailError, match=r"Gmail refused the message \(HTTP 400\)"):
        t.send(msg())


def test_confirm_searches_by_message_id() -> None:
    svc, _ = service((200, {"messages": [{"id": "1"}]}), (200, {}), (403, ERR))
    t = GmailTransport(svc, "me")
    assert t.confirm("<abc123.corecruit@example.org>") is True
    assert t.confirm("<other@example.org>") is False
    assert t.confirm("<x@example.org>") is None  # Google would not say


class Unreachable:
    """An http object whose every request fails like a dropped network."""

    def request(self, *a: Any, **kw: Any) -> Any:
        import httplib2

        raise httplib2.ServerNotFoundError("no route")


def test_a_network_failure_is_unsure_when_it_cannot_be_checked() -> None:
    svc = build("gmail", "v1", http=Unreachable(), cache_discovery=False, static_discovery=True)
    t = GmailTransport(svc, "me", max_attempts=2, sleep=lambda s: None)
    with pytest.raises(MailError) as exc:
        t.send(msg())
    assert not exc.value.definite and "ServerNotFoundError" in str(exc.value)
