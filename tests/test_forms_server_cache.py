"""What the form server keeps between requests (issue 17) never outlives what it stands for.

The server keeps checked links, each form as read from the inbox, each spec's pages and
the words file; these tests change each thing underneath a running app and check that
the next request sees the change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

from automations.forms.base import FormSpec, ScaleItem, ScalePoint, Section
from automations.forms.inbox import Inbox, StoredForm
from automations.forms.local import AppInfo, create_app
from automations.forms.tokens import LinkClaims, LinkSigner

NOW = dt.datetime(2027, 1, 25, 9, 0, tzinfo=dt.UTC)
POINTS = tuple(ScalePoint(v, f"point {v}") for v in range(5))
SIGNER = LinkSigner("a-secret-long-enough-for-us")
SECTIONS = (Section("s1", "Page 1", "", (ScaleItem("score__A__c1", "A", "c1", "A", POINTS),)),)


def spec(key: str = "camp.shortlisting.p03", title: str = "Shortlisting") -> FormSpec:
    return FormSpec(
        key=key,
        campaign_id="camp",
        stage="shortlisting",
        person_id="p03",
        title=title,
        intro="Please score each answer.",
        sections=(
            Section("s1", "Page 1", "", (ScaleItem("score__A__c1", "A", "c1", "A", POINTS),)),
        ),
        candidate_order=("A",),
        question_order=("c1",),
    )


def link(stored: StoredForm) -> str:
    claims = LinkClaims(stored.spec.key, stored.spec.person_id, stored.token_id, stored.expires_at)
    return f"/f/{SIGNER.sign(claims)}"


def test_a_link_the_server_accepted_still_expires(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    stored = StoredForm(spec(), "tok1", NOW, NOW + dt.timedelta(days=1))
    inbox.put_forms([stored], NOW)
    clock = [NOW]
    c = create_app(inbox, SIGNER, now=lambda: clock[0]).test_client()
    assert c.get(link(stored)).status_code == 200
    clock[0] = NOW + dt.timedelta(days=1)
    r = c.get(link(stored))
    assert r.status_code == 410 and "This link has expired" in r.get_data(as_text=True)


def test_a_form_pushed_again_is_served_as_pushed_even_at_the_same_moment(tmp_path: Path) -> None:
    """The job writes through its own inbox (its own connection, as another process
    would); the server's next request shows the new spec, and a replaced link stops."""
    path = tmp_path / "inbox.sqlite3"
    server_inbox, job_inbox = Inbox(path), Inbox(path)
    first = StoredForm(spec(), "tok1", NOW, NOW + dt.timedelta(days=60))
    job_inbox.put_forms([first], NOW)
    c = create_app(server_inbox, SIGNER, now=lambda: NOW).test_client()
    assert "Shortlisting" in c.get(link(first)).get_data(as_text=True)

    renamed = dataclasses.replace(first, spec=spec(title="Shortlisting, second round"))
    job_inbox.put_forms([renamed], NOW)  # same key, same link, same clock
    assert "Shortlisting, second round" in c.get(link(first)).get_data(as_text=True)

    replaced = StoredForm(spec(), "tok2", NOW, NOW + dt.timedelta(days=60))
    job_inbox.put_forms([replaced], NOW)
    r = c.get(link(first))
    assert r.status_code == 410 and "no longer in use" in r.get_data(as_text=True)
    assert c.get(link(replaced)).status_code == 200


def test_each_form_is_parsed_once_however_many_forms_are_served(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    keys = [f"camp.shortlisting.p{i:03d}" for i in range(200)]
    inbox.put_forms(
        [StoredForm(spec(k), "tok", NOW, NOW + dt.timedelta(days=60)) for k in keys], NOW
    )
    first = {k: inbox.form(k) for k in keys}
    again = {k: inbox.form(k) for k in keys}
    assert all(again[k] is first[k] for k in keys)  # kept, not read and parsed again
    assert all(f is not None and f.spec.key == k for k, f in first.items())
    assert inbox.form("camp.shortlisting.nobody") is None


def test_a_teams_words_file_that_uses_a_page_value_still_gets_it(tmp_path: Path) -> None:
    package = Path(__file__).resolve().parent.parent / "automations" / "forms" / "templates"
    words = (package / "_words.html").read_text(encoding="utf-8")
    ours = '{% set check_heading = "Check your answers" %}'
    assert ours in words
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "_words.html").write_text(
        words.replace(ours, '{% set check_heading = "Check your answers for " ~ org_name %}'),
        encoding="utf-8",
    )
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    stored = StoredForm(spec(), "tok1", NOW, NOW + dt.timedelta(days=60))
    inbox.put_forms([stored], NOW)
    app = create_app(
        inbox, SIGNER, info=AppInfo(org_name="Riverside Trust"), now=lambda: NOW, templates=folder
    )
    page = app.test_client().get(f"{link(stored)}/check").get_data(as_text=True)
    assert re.search(r"<h1>Check your answers for Riverside Trust</h1>", page)
