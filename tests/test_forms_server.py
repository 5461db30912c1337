"""The local form server under careless or hostile use (issue 14, "Form server"):
odd numbers as scores, two tabs saving at once, replayed sends, headers on every
response, where links point, and a server that cannot start."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from automations.cli import main
from automations.config import load_settings
from automations.context import Context, make_context
from automations.errors import ConfigError, StoreError
from automations.forms.base import FormSpec, ScaleItem, ScalePoint, Section
from automations.forms.inbox import Inbox, StoredForm
from automations.forms.local import (
    SECURITY_HEADERS,
    RunningServer,
    create_app,
    link_warnings,
    links_unreachable,
    start_server_thread,
)
from automations.forms.tokens import LinkClaims, LinkSigner
from automations.jobs.forms import push_job
from automations.transforms.forms import check_score
from tests.forms_support import links, seed_candidates
from tests.remind_support import sent_log

NOW = dt.datetime(2027, 1, 25, 9, 0, tzinfo=dt.UTC)
PAGES = 40
POINTS = tuple(ScalePoint(v, f"point {v}") for v in range(5))
SPEC = FormSpec(
    key="camp.shortlisting.p03",
    campaign_id="camp",
    stage="shortlisting",
    person_id="p03",
    title="Shortlisting",
    intro="Please score each answer.",
    sections=tuple(
        Section(
            f"s{n}", f"Page {n}", "", (ScaleItem(f"score__A__c{n}", "A", f"c{n}", "A", POINTS),)
        )
        for n in range(1, PAGES + 1)
    ),
    candidate_order=("A",),
    question_order=tuple(f"c{n}" for n in range(1, PAGES + 1)),
)
SIGNER = LinkSigner("a-secret-long-enough-for-us")


class Form:
    """One person's form in a fresh inbox, with its app and link path."""

    def __init__(self, folder: Path, per_hour: int = 20) -> None:
        self.inbox = Inbox(folder / "inbox.sqlite3")
        self.stored = StoredForm(SPEC, "tok1", NOW, NOW + dt.timedelta(days=60))
        self.inbox.put_forms([self.stored], NOW)
        claims = LinkClaims(SPEC.key, "p03", "tok1", self.stored.expires_at)
        self.path = f"/f/{SIGNER.sign(claims)}"
        self.app = create_app(self.inbox, SIGNER, now=lambda: NOW, sends_per_hour=per_hour)

    def fill_all(self, c: object, score: str = "2") -> None:
        for n in range(1, PAGES + 1):
            r = c.post(f"{self.path}/{n}", data={f"score__A__c{n}": score, "nav": "save"})  # type: ignore[attr-defined]
            assert r.status_code == 200


def nonce_of(html: str) -> str:
    m = re.search(r'name="nonce" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.fixture
def form(tmp_path: Path) -> Form:
    return Form(tmp_path)


@pytest.fixture
def served(form: Form) -> Iterator[tuple[Form, RunningServer]]:
    server = start_server_thread(form.app, threads=8)
    try:
        yield form, server
    finally:
        server.stop()


# ------------------------------------------------------------ 1. numbers


ODD = ["sNaN", "-sNaN", "NaN", "-NaN", "Infinity", "-Inf", "1e3", "1e0", "1_0", "٣", "0x2", "2,0"]


@pytest.mark.parametrize("text", ODD)
def test_odd_numbers_as_a_score_get_the_usual_kind_message_not_a_crash(
    form: Form, text: str
) -> None:
    c = form.app.test_client()
    r = c.post(f"{form.path}/1", data={"score__A__c1": text, "nav": "next"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Please choose one of the scores shown" in page
    assert form.inbox.draft(SPEC.key) == {}  # a value off the scale is never kept
    assert check_score(SPEC.sections[0].items[0], text)[0] is None  # type: ignore[arg-type]


def test_plain_whole_numbers_still_count() -> None:
    item = SPEC.sections[0].items[0]
    assert isinstance(item, ScaleItem)
    assert [check_score(item, t)[0] for t in ["3", " 4 ", "2.0", "+1", "0"]] == [3, 4, 2, 1, 0]
    assert check_score(item, "2.5")[1] == "the score is not a whole number"


# ------------------------------------------------------------ 2. two tabs at once


def test_pages_saved_at_once_from_two_tabs_and_two_servers_all_keep_their_answers(
    served: tuple[Form, RunningServer],
) -> None:
    form, one = served
    # a second server process's worth: another app and server on the same inbox file
    two = start_server_thread(create_app(Inbox(form.inbox.path), SIGNER, now=lambda: NOW))
    go = threading.Barrier(PAGES)

    def save(n: int) -> int:
        url = (one if n % 2 else two).url
        with requests.Session() as s:
            go.wait(timeout=30)
            r = s.post(
                f"{url}{form.path}/{n}",
                data={f"score__A__c{n}": str(n % 5), "nav": "save"},
                timeout=60,
            )
        return r.status_code

    try:
        with ThreadPoolExecutor(PAGES) as pool:
            codes = list(pool.map(save, range(1, PAGES + 1)))
    finally:
        two.stop()
    assert codes == [200] * PAGES
    assert form.inbox.draft(SPEC.key) == {f"score__A__c{n}": str(n % 5) for n in range(1, 41)}


# ------------------------------------------------------------ 3. sending


def test_send_needs_the_check_pages_nonce(form: Form) -> None:
    c = form.app.test_client()
    form.fill_all(c)
    other = SIGNER.new_nonce("camp.shortlisting.p05", "tok1")  # another form's
    for data in [{}, {"nonce": ""}, {"nonce": "made-up"}, {"nonce": other}, {"nonce": "a.b"}]:
        r = c.post(f"{form.path}/send", data=data)
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and "Please send from the check page" in page, data
        assert "Your saved answers are safe" in page
    assert form.inbox.count() == 0
    nonce = nonce_of(c.get(f"{form.path}/check").get_data(as_text=True))
    first = c.post(f"{form.path}/send", data={"nonce": nonce})
    assert first.status_code == 303 and form.inbox.count() == 1
    # the same post replayed, and Back to a fresh check page then Send again: one copy
    assert (
        c.post(f"{form.path}/send", data={"nonce": nonce}).headers["Location"]
        == first.headers["Location"]
    )
    again = nonce_of(c.get(f"{form.path}/check").get_data(as_text=True))
    assert again != nonce
    r = c.post(f"{form.path}/send", data={"nonce": again})
    assert r.headers["Location"] == first.headers["Location"] and form.inbox.count() == 1
    # a real correction is a new submission, and the latest counts
    c.post(f"{form.path}/1", data={"score__A__c1": "4", "nav": "save"})
    nonce = nonce_of(c.get(f"{form.path}/check").get_data(as_text=True))
    r = c.post(f"{form.path}/send", data={"nonce": nonce})
    assert r.status_code == 303 and r.headers["Location"] != first.headers["Location"]
    assert [x.answers["score__A__c1"] for x in form.inbox.responses()] == ["2", "4"]


def test_sends_per_form_per_hour_are_bounded_with_a_kind_page(tmp_path: Path) -> None:
    form = Form(tmp_path, per_hour=3)
    c = form.app.test_client()
    form.fill_all(c)
    for score in "0123":
        c.post(f"{form.path}/1", data={"score__A__c1": score, "nav": "save"})
        nonce = nonce_of(c.get(f"{form.path}/check").get_data(as_text=True))
        r = c.post(f"{form.path}/send", data={"nonce": nonce})
    page = r.get_data(as_text=True)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600"
    assert "Please wait a while before sending again" in page
    assert "Your answers are still kept" in page
    assert form.inbox.count() == 3 and form.inbox.draft(SPEC.key)["score__A__c1"] == "3"
    # an hour later the form can be sent again
    later = create_app(form.inbox, SIGNER, now=lambda: NOW + dt.timedelta(minutes=61))
    c2 = later.test_client()
    nonce = nonce_of(c2.get(f"{form.path}/check").get_data(as_text=True))
    assert c2.post(f"{form.path}/send", data={"nonce": nonce}).status_code == 303
    assert form.inbox.count() == 4


def test_the_limit_comes_from_config(config_dir: Path) -> None:
    org = config_dir / "organisation.toml"
    org.write_text(org.read_text().replace("sends_per_hour = 20", "sends_per_hour = 5"))
    assert load_settings(config_dir).org.forms.sends_per_hour == 5


# ------------------------------------------------------------ 4. headers


def test_every_response_carries_the_security_headers(
    served: tuple[Form, RunningServer],
) -> None:
    form, server = served

    def boom() -> str:
        raise RuntimeError("something with a value in it: p03@example.org")

    assert isinstance(form.app, Flask)
    form.app.add_url_rule("/boom", view_func=boom)
    u = server.url
    got = {
        "home": requests.get(u + "/", timeout=10),
        "healthz": requests.get(u + "/healthz", timeout=10),
        "form": requests.get(u + form.path, timeout=10),
        "redirect": requests.post(
            f"{u}{form.path}/1", data={"score__A__c1": "1"}, allow_redirects=False, timeout=10
        ),
        "404": requests.get(u + "/nothing-here", timeout=10),
        "405": requests.get(f"{u}{form.path}/send", timeout=10),
        "405 post": requests.post(u + "/healthz", timeout=10),
        "500": requests.get(u + "/boom", timeout=10),
        "400": requests.post(f"{u}{form.path}/send", timeout=10),
        "403": requests.get(u + "/f/not-a-link", timeout=10),
        "413": requests.post(
            f"{u}{form.path}/1", data={"score__A__c1": "x" * 3_000_000}, timeout=30
        ),
    }
    codes = {k: r.status_code for k, r in got.items()}
    assert codes == {
        "home": 200,
        "healthz": 200,
        "form": 200,
        "redirect": 303,
        "404": 404,
        "405": 405,
        "405 post": 405,
        "500": 500,
        "400": 400,
        "403": 403,
        "413": 413,
    }
    for what, r in got.items():
        for name, value in SECURITY_HEADERS:
            assert r.headers.get(name) == value, (what, name)
        assert r.headers["Cache-Control"] == "no-store"
        assert "p03@example.org" not in r.text and "Traceback" not in r.text
    assert "Sorry, something went wrong on our side" in got["500"].text
    assert got["405"].headers["Allow"] and "<html" in got["405"].text.lower()


# ------------------------------------------------------------ 5. where links point


def org_with(config_dir: Path, transport: str, public_url: str, host: str = "127.0.0.1") -> Path:
    org = config_dir / "organisation.toml"
    text = org.read_text().replace('transport = "outbox"', f'transport = "{transport}"')
    text = text.replace('public_url = ""', f'public_url = "{public_url}"')
    text = text.replace('host = "127.0.0.1"', f'host = "{host}"')
    org.write_text(text)
    return config_dir


@pytest.mark.parametrize(
    ("transport", "public_url", "host", "refused", "warned"),
    [
        ("smtp", "", "127.0.0.1", True, True),
        ("gmail", "", "0.0.0.0", True, True),
        ("smtp", "http://localhost:8765", "127.0.0.1", True, True),
        ("smtp", "https://[::1]/forms", "127.0.0.1", True, True),
        ("smtp", "http://forms.example.org", "127.0.0.1", False, True),
        ("smtp", "", "10.1.2.3", False, True),
        ("smtp", "https://forms.example.org", "127.0.0.1", False, False),
        ("outbox", "", "127.0.0.1", False, False),
    ],
)
def test_links_nobody_could_open_are_named_plainly(
    config_dir: Path, transport: str, public_url: str, host: str, refused: bool, warned: bool
) -> None:
    settings = load_settings(org_with(config_dir, transport, public_url, host))
    assert bool(links_unreachable(settings)) == refused
    warnings = link_warnings(settings)
    assert bool(warnings) == warned
    for w in warnings:
        assert "forms.public_url" in w and "https://" in w


def test_push_writes_loopback_links_but_emails_none_and_says_why(
    ctx: Context, config_dir: Path
) -> None:
    smtp = make_context(load_settings(org_with(config_dir, "smtp", "")), clock=ctx.now)
    seed_candidates(smtp)
    res = push_job(smtp)  # smtp.example.org is never contacted
    assert len(links(smtp)) == 6
    assert any("No form links were emailed" in a and "public_url" in a for a in res.attention)
    assert "no links emailed" in res.detail
    assert len(sent_log(smtp)) == 0
    r = CliRunner().invoke(main, ["--config", str(config_dir), "forms", "push"])
    assert r.exit_code == 0, r.output
    assert "Warning: forms.public_url is empty" in r.output
    assert "Please look: No form links were emailed" in r.output


def test_check_warns_about_links_nobody_could_open(ctx: Context, config_dir: Path) -> None:
    org_with(config_dir, "gmail", "http://127.0.0.1:8765")
    r = CliRunner().invoke(main, ["--config", str(config_dir), "check"])
    assert "Warning: forms.public_url points to this computer only" in r.output, r.output


def test_serving_on_every_address_says_it_must_sit_behind_https(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import automations.forms.local as local

    monkeypatch.setattr(local, "serve", lambda settings, host, port: None)
    args = ["--config", str(config_dir), "forms", "serve"]
    r = CliRunner().invoke(main, [*args, "--host", "0.0.0.0"])
    assert r.exit_code == 0 and "must sit behind an HTTPS proxy" in r.output
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "HTTPS proxy" not in r.output


def test_the_container_listens_beyond_itself() -> None:
    docker = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()
    cmd = next(line for line in docker.splitlines() if line.startswith("CMD"))
    assert '"--forms-host", "0.0.0.0"' in cmd and "EXPOSE 8765" in docker
    r = CliRunner().invoke(main, ["run", "--help"])
    assert "--forms-host" in r.output


def test_run_serves_on_the_forms_host_it_is_given(config_dir: Path) -> None:
    settings = load_settings(config_dir)
    server = start_server_thread(settings, host="0.0.0.0", port=0)
    try:
        port = server.server.effective_port
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).text == "ok"
    finally:
        server.stop()


# ------------------------------------------------------------ 6. cannot start


def test_a_second_server_on_the_same_port_is_one_plain_line(config_dir: Path) -> None:
    first = start_server_thread(load_settings(config_dir), port=0)
    port = first.server.effective_port
    try:
        with pytest.raises(ConfigError, match=f"port {port} is already in use"):
            start_server_thread(load_settings(config_dir), port=port)
        r = CliRunner().invoke(
            main, ["--config", str(config_dir), "forms", "serve", "--port", str(port)]
        )
        assert r.exit_code == 2
        problem = [line for line in r.output.splitlines() if line.startswith("Problem:")]
        assert len(problem) == 1 and "already in use" in problem[0]
        assert "Traceback" not in r.output and "Errno" not in r.output
        # the first server still answers
        assert requests.get(f"{first.url}/healthz", timeout=10).text == "ok"
    finally:
        first.stop()


def test_a_workspace_that_cannot_be_written_is_one_plain_line(config_dir: Path) -> None:
    settings = load_settings(config_dir)
    settings.workspace.mkdir(parents=True, exist_ok=True)
    (settings.workspace / "forms").write_text("not a folder")  # the inbox cannot go here
    with pytest.raises(StoreError, match="cannot be written"):
        Inbox(settings.workspace / "forms" / "inbox.sqlite3")
    r = CliRunner().invoke(main, ["--config", str(config_dir), "forms", "serve", "--port", "0"])
    assert r.exit_code == 3, r.output
    assert r.output.count("Problem:") == 1 and "cannot be written" in r.output
    assert "Traceback" not in r.output


# ------------------------------------------------------------ 2b. a page that changed shape


def test_a_page_sent_after_its_layout_changed_keeps_what_the_browser_sent(tmp_path: Path) -> None:
    """Page n is worked out again when it comes back: if another tab chose fewer
    candidates a page in between, page 1 now holds only Candidate A. What the person
    chose for B and C on the page they saw must still be saved, and nothing they did
    not send may overwrite an answer saved before."""
    items = tuple(ScaleItem(f"score__{c}__c1", c, "c1", c, POINTS) for c in "ABC")
    spec = FormSpec(
        key="camp.shortlisting.p04",
        campaign_id="camp",
        stage="shortlisting",
        person_id="p04",
        title="Shortlisting",
        intro="Please score each answer.",
        sections=(Section("s1", "Criterion 1", "", items),),
        candidate_order=("A", "B", "C"),
        question_order=("c1",),
    )
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    stored = StoredForm(spec, "tok4", NOW, NOW + dt.timedelta(days=60))
    inbox.put_forms([stored], NOW)
    path = f"/f/{SIGNER.sign(LinkClaims(spec.key, 'p04', 'tok4', stored.expires_at))}"
    c = create_app(inbox, SIGNER, now=lambda: NOW).test_client()
    r = c.post(f"{path}/start", data={"per_page": "all"})
    assert r.status_code == 303
    every = {f"score__{x}__c1": "1" for x in "ABC"}
    assert c.post(f"{path}/1", data={**every, "nav": "save"}).status_code == 200
    # another tab: one candidate a page; page 1 is now Candidate A alone
    assert c.post(f"{path}/start", data={"per_page": "1"}).status_code == 303
    # the first tab sends the page it showed (all three) with new scores, and, as every
    # page does, which questions it showed
    shown = re.search(r'name="shown" value="([^"]*)"', c.get(f"{path}/1").get_data(as_text=True))
    assert shown and shown.group(1) == "score__A__c1"  # page 1 as it is now
    sent = {"score__A__c1": "4", "score__B__c1": "3", "score__C__c1": "2", "nav": "save"}
    sent["shown"] = " ".join(k for k in sent if k != "nav")  # as the old page showed it
    assert c.post(f"{path}/1", data=sent).status_code == 200
    draft = inbox.draft(spec.key)
    assert {k: draft[k] for k in every} == {
        "score__A__c1": "4",
        "score__B__c1": "3",
        "score__C__c1": "2",
    }
    # a page that showed other questions never blanks one it did not show
    assert c.post(f"{path}/2", data={"shown": "score__A__c1", "nav": "save"}).status_code == 200
    assert inbox.draft(spec.key)["score__B__c1"] == "3"
