"""Personal links (signed, expiring) and the append-only inbox."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from automations.config import Settings
from automations.errors import ConfigError
from automations.forms.base import CommentItem, FormSpec, ScaleItem, ScalePoint, Section
from automations.forms.inbox import Inbox, spec_from_json, spec_to_json
from automations.forms.tokens import BadLink, LinkClaims, LinkSigner, load_secret

NOW = dt.datetime(2027, 1, 25, 9, 0, tzinfo=dt.UTC)
CLAIMS = LinkClaims("camp.shortlisting.p03", "p03", "tok1", NOW + dt.timedelta(days=60))


def test_a_genuine_link_opens_and_is_the_same_every_time() -> None:
    s = LinkSigner("a-secret-long-enough-for-us")
    t = s.sign(CLAIMS)
    assert s.sign(CLAIMS) == t
    assert s.verify(t, NOW) == CLAIMS


@pytest.mark.parametrize("where", [0, 5, -1, -5])
def test_a_changed_character_is_refused(where: int) -> None:
    s = LinkSigner("a-secret-long-enough-for-us")
    t = s.sign(CLAIMS)
    bad = t[:where] + ("A" if t[where] != "A" else "B") + (t[where + 1 :] if where != -1 else "")
    with pytest.raises(BadLink) as e:
        s.verify(bad, NOW)
    assert not e.value.expired


def test_someone_elses_link_cannot_be_made_without_the_secret() -> None:
    mine = LinkSigner("a-secret-long-enough-for-us")
    theirs = LinkSigner("another-secret-long-enough")
    forged = theirs.sign(LinkClaims("camp.shortlisting.p05", "p05", "tok1", CLAIMS.expires_at))
    with pytest.raises(BadLink):
        mine.verify(forged, NOW)
    # swapping the signed part from a real link onto another body fails too
    _body, _, mac = mine.sign(CLAIMS).partition(".")
    other_body = theirs.sign(
        LinkClaims("camp.shortlisting.p05", "p05", "tok1", CLAIMS.expires_at)
    ).partition(".")[0]
    with pytest.raises(BadLink):
        mine.verify(f"{other_body}.{mac}", NOW)
    for junk in ["", ".", "abc", "a.b.c", "x" * 3000]:
        with pytest.raises(BadLink):
            mine.verify(junk, NOW)


def test_an_expired_link_is_told_apart() -> None:
    s = LinkSigner("a-secret-long-enough-for-us")
    t = s.sign(CLAIMS)
    with pytest.raises(BadLink) as e:
        s.verify(t, CLAIMS.expires_at)
    assert e.value.expired


def test_secret_from_environment_or_a_private_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORECRUIT_FORMS_SECRET", raising=False)
    first = load_secret(settings)
    path = settings.path(settings.org.forms.secret_file)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(settings) == first and len(first) >= 32
    monkeypatch.setenv("CORECRUIT_FORMS_SECRET", "from-the-environment-123")
    assert load_secret(settings) == "from-the-environment-123"
    monkeypatch.delenv("CORECRUIT_FORMS_SECRET")
    path.write_text("short")
    with pytest.raises(ConfigError, match="too short"):
        load_secret(settings)


SPEC = FormSpec(
    key="camp.shortlisting.p03",
    campaign_id="camp",
    stage="shortlisting",
    person_id="p03",
    title="T",
    intro="I",
    sections=(
        Section(
            "criterion-c1",
            "C1",
            "d",
            (
                ScaleItem(
                    "score__A__c1",
                    "A",
                    "c1",
                    "Candidate A",
                    (ScalePoint(0, "No"), ScalePoint(1, "Yes")),
                    "ans",
                ),
                CommentItem("comment__A__c1", "A", "c1", "Notes"),
            ),
        ),
    ),
    candidate_order=("A",),
    question_order=("c1",),
    order_seed="s",
    question_by_question=True,
)


def test_spec_round_trips_through_the_inbox() -> None:
    assert spec_from_json(spec_to_json(SPEC)) == SPEC


def test_submissions_are_append_only_and_sending_twice_stores_once(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    kw = dict(
        form_key=SPEC.key, person_id="p03", token_id="t", answers={"score__A__c1": "1"}, now=NOW
    )
    rid, _, new = inbox.submit(nonce="n1", **kw)  # type: ignore[arg-type]
    rid2, _, new2 = inbox.submit(nonce="n1", **kw)  # type: ignore[arg-type]
    assert new and not new2 and rid == rid2 and inbox.count() == 1
    # Back to the check page (a new nonce) and Send again with the same answers: one copy
    assert inbox.submit(nonce="n2", **kw)[0] == rid and inbox.count() == 1  # type: ignore[arg-type]
    kw["answers"] = {"score__A__c1": "0"}
    rid3, _, _ = inbox.submit(nonce="n3", **kw)  # type: ignore[arg-type]
    assert rid3 != rid and inbox.count() == 2
    con = sqlite3.connect(tmp_path / "inbox.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE submissions SET answers_json='{}'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM submissions")
    con.close()
    assert [r.response_id for r in inbox.responses([SPEC.key])] == [rid, rid3]
    assert inbox.responses([SPEC.key], since=NOW + dt.timedelta(seconds=1)) == []
    assert inbox.draft(SPEC.key) == {"score__A__c1": "1"}  # made by the first send


def test_many_threads_submitting_at_once_lose_nothing(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                inbox.submit(
                    form_key=f"k{i}",
                    person_id="p",
                    token_id="t",
                    answers={"a": str(j)},
                    nonce=f"{i}-{j}",
                    now=NOW,
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rs = inbox.responses()
    assert len(rs) == 80 and len({r.response_id for r in rs}) == 80
