"""A whole campaign through the real jobs, as the runner runs them, on both paths.

Each story moves a clock through the campaign and, at each stop, runs every job through
the real ``Runner`` (``run_job`` per job, in the runner's order, as ``run_once`` does;
on a reminder day only 'remind', as its daily 09:00 timing would), with staff acting in
the staff workbook in between, as they would:

applications in -> anonymised panel workbook -> shortlisting forms pushed -> scores
sent (one panel member in a real browser on the local path) -> collected -> merged
(each panel carries equal weight) -> candidates invited -> timetable, invitations ->
interview forms pushed, filled, collected, merged -> attendance recorded, rewards
accrue -> offer accepted, everyone told -> the clock jumps to the three-month check-in.

At the end: every message went out once, a further run of every job sends nothing and
changes no workbook cell, the run log has a row per job run, and holds no personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from automations.config import Settings, load_settings
from automations.context import Context, make_context
from automations.forms.base import FormSpec, ScaleItem, form_key
from automations.forms.google import FormState
from automations.runner import JOBS, Runner, RunRecord
from automations.store import make_frame
from automations.workspace import init_campaign
from tests.remind_support import no_personal_data, outbox, set_status, text_of
from tests.review_support import mark_reviewed

LONDON = ZoneInfo("Europe/London")
ALL = list(JOBS)
CID = "peer-support-2027"
COUNCIL = ["p01", "p02"]
LIVED = ["p03", "p05", "p06", "p07"]
SCORERS = COUNCIL + LIVED
INVITED = ["0002", "0004", "0001", "0006"]  # staff's shortlisting decision
NEW_WORKER = "0002"

# When the story stops (local time, as the sheets show it)
CHECKED = dt.datetime(2027, 1, 6, 9, 0)  # applications in; staff check the redaction report
OPENS = dt.datetime(2027, 1, 11, 9, 0)
SCORING = dt.datetime(2027, 1, 18, 14, 0)
DEADLINE_NEAR = dt.datetime(2027, 1, 20, 9, 0)  # two days before the shortlisting deadline
DECIDED = dt.datetime(2027, 1, 25, 9, 0)
WEEK_BEFORE = dt.datetime(2027, 2, 1, 9, 0)  # a week before the first interview day
TWO_DAYS_BEFORE = dt.datetime(2027, 2, 6, 9, 0)
INTERVIEWED = dt.datetime(2027, 2, 8, 17, 0)
OFFERED = dt.datetime(2027, 2, 12, 9, 0)
ACCEPTED = dt.datetime(2027, 2, 15, 9, 0)
CHECK_IN = dt.datetime(2027, 6, 14, 9, 0)  # 21 days before 3 months after the start date


class Clock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


# ----------------------------------------------------------------- what to check


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-zÀ-ÿ'’-]+", text))


def personal_data(staff: Context) -> dict[str, set[str]]:
    """Names, emails and phone numbers held in the staff workbook: every name of a
    candidate or referee, and every email and phone number of anyone. (Panel members'
    full names too: the panel workbook shows only the introduction each chose, on the
    questions tab, by design.)"""
    st = staff.stores.staff
    st.forget()
    frames = st.read(["applications", "people"])
    names: set[str] = set()
    emails: set[str] = set()
    phones: set[str] = set()
    full_names: set[str] = set()

    def text(v: Any) -> str:
        return "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)

    for _, r in frames["applications"].iterrows():
        for c in ("first_name", "last_name", "preferred_name", "referee_1_name", "referee_2_name"):
            names |= {w for w in re.split(r"[\s-]+", text(r.get(c))) if len(w) > 2}
        for c in ("email", "referee_1_email", "referee_2_email"):
            emails.add(text(r.get(c)).lower())
        for c in ("phone", "referee_1_phone", "referee_2_phone"):
            phones.add(re.sub(r"\D", "", text(r.get(c)))[-9:])
    for _, r in frames["people"].iterrows():
        full_names.add(text(r.get("name")))
        emails.add(text(r.get("email")).lower())
        phones.add(re.sub(r"\D", "", text(r.get("phone")))[-9:])
    return {
        "names": names,
        "full_names": {n for n in full_names if " " in n},
        "emails": {e for e in emails if "@" in e},
        "phones": {p for p in phones if len(p) == 9},
    }


def leaks(cells: list[str], pd_: dict[str, set[str]]) -> list[str]:
    """Every name (as a capitalised word), email or phone number found in ``cells``."""
    found = []
    for cell in cells:
        low, digits = cell.lower(), re.sub(r"\D", "", cell)
        words = _words(cell)
        found += [n for n in pd_["names"] if n in words]
        found += [n for n in pd_["full_names"] if n.lower() in low]
        found += [e for e in pd_["emails"] if e in low]
        found += [p for p in pd_["phones"] if p in digits]
    return found


def xlsx_cells(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet's cells as text, read by a second reader (calamine, not openpyxl)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        out[name] = [["" if v is None else str(v) for v in row] for row in rows]
    return out


def flat(sheets: dict[str, list[list[str]]]) -> list[str]:
    return [c for rows in sheets.values() for row in rows for c in row if c]


def keys_in_outbox(ctx: Context) -> list[str]:
    return [str(m["X-Corecruit-Key"]).strip() for m in outbox(ctx)]


# -------------------------------------------------------------- the shared story


class Story:
    """The campaign, moved along by the clock; jobs run through the real Runner."""

    def __init__(
        self,
        settings: Settings,
        factory: Callable[[Settings, str], Context],
        clock: Clock,
        snapshot: Callable[[], dict[str, Any]],
        check_panel: Callable[[dict[str, set[str]]], None],
        calls: Callable[[], int] | None = None,
    ) -> None:
        self.settings, self.factory, self.clock = settings, factory, clock
        self.runner = Runner(settings, clock=clock, context_factory=factory)
        self.snapshot = snapshot  # every workbook cell but the run log's, read directly
        self.check_panel = check_panel  # no personal data anywhere in the panel workbook
        self.calls = calls
        self.records: list[RunRecord] = []
        self.api_calls: dict[str, list[int]] = {}
        self.unlogged: list[int] = []  # calls seen by Google but not in the job's run record

    def ctx(self) -> Context:
        """A fresh context, as a member of staff opening the workbook would have."""
        return self.factory(self.settings, CID)

    def at(self, when: dt.datetime) -> None:
        assert when >= self.clock.t
        self.clock.t = when

    def tick(self, jobs: list[str] | None = None) -> dict[str, RunRecord]:
        """Run every job once, in the runner's order; every one must end well."""
        out = {}
        for name in jobs or ALL:
            before = self.calls() if self.calls else 0
            rec = self.runner.run_job(CID, name)
            if self.calls:
                seen = self.calls() - before
                self.api_calls.setdefault(name, []).append(seen)
                self.unlogged.append(seen - rec.api_calls)
            assert rec.outcome == "ok", (name, rec.detail)
            self.records.append(rec)
            out[name] = rec
        return out

    # staff actions, in the staff workbook -----------------------------------
    def review_first(self) -> None:
        """Before shortlisting opens: letters and the redaction report, nothing for the
        panel yet; then staff check every application's report (fill in 'Reviewed by')."""
        self.at(CHECKED)
        held = self.tick()
        n = len(self.read("applications"))
        assert f"{n} held until their redaction report is checked" in held["redact"].detail
        assert held["forms_push"].messages_sent == 0 and not self.links()
        assert not len(self.ctx().stores.panel.read_one("applications"))
        assert mark_reviewed(self.ctx()) == n

    def set_status(self, apps: list[str], status: str) -> None:
        set_status(self.ctx(), apps, status)

    def attend(self, rows: list[dict[str, Any]]) -> None:
        st = self.ctx().stores.staff
        st.append("attendance", make_frame(st.tab("attendance"), rows))

    # reading back ------------------------------------------------------------
    def read(self, tab: str) -> pd.DataFrame:
        st = self.ctx().stores.staff
        st.forget()
        return st.read_one(tab)

    def specs(self) -> dict[str, FormSpec]:
        from automations.jobs.forms import current_specs

        st = self.ctx().stores.staff
        st.forget()
        frames = st.read(["people", "applications", "candidate_key", "timetable", "form_links"])
        return {s.key: s for s in current_specs(self.ctx(), frames)}

    def links(self) -> dict[tuple[str, str], str]:
        df = self.read("form_links")
        return {(r["person_id"], r["stage"]): r["url"] for _, r in df.iterrows()}


def scores_for(spec: FormSpec, value: int | Callable[[ScaleItem], int]) -> dict[str, int]:
    return {
        i.item_id: value(i) if callable(value) else value
        for i in spec.items()
        if isinstance(i, ScaleItem)
    }


Submit = Callable[[Story, FormSpec, dict[str, int]], None]


def run_campaign(
    story: Story,
    submit: Submit,
    browser_submit: Submit | None = None,
    caplog: pytest.LogCaptureFixture | None = None,
) -> None:
    """The whole campaign; ``submit`` sends one person's scores as they would."""
    if caplog is not None:
        caplog.set_level(logging.DEBUG, logger="corecruit")
    c0 = story.ctx()
    everyone = personal_data(c0)

    # 0. Staff check the redaction report before anything reaches the panel.
    story.review_first()

    # 1. Shortlisting opens: letters, anonymised panel workbook, forms, links, emails.
    story.at(OPENS)
    first = story.tick()
    assert "6 candidate(s) for the panel" in first["redact"].detail
    # One email each on the opening day: the message that shortlisting opens carries the
    # person's own link (forms push leaves it to that message; p06 asked for a phone call).
    assert first["forms_push"].messages_sent == 0
    assert first["remind"].messages_sent == 5
    key = story.read("candidate_key")
    letters = dict(zip(key["application_id"], key["candidate_letter"], strict=True))
    assert sorted(letters.values()) == list("ABCDEF")
    keys = keys_in_outbox(c0)
    for p in ("p01", "p02", "p03", "p05", "p07"):
        assert not any(k.startswith(f"form-link|{p}|{CID}|shortlisting|") for k in keys)
        assert f"shortlisting-opens|{p}|{CID}|shortlisting opens" in keys
    urls = story.links()
    for m in outbox(c0):  # each person's email carries their own link, and no one else's
        k = str(m["X-Corecruit-Key"]).strip()
        if k.startswith("shortlisting-opens|"):
            body = text_of(m)
            person = k.split("|")[1]
            assert urls[(person, "shortlisting")] in body
            assert not any(u in body for (p, _), u in urls.items() if p != person)
    story.check_panel(everyone)

    # 2. Scores: the Council panel gives 4s, p03 gives 2s (in a real browser on the
    #    local path), the rest of the lived experience panel gives 1s.
    story.at(SCORING)
    specs = story.specs()
    for p in SCORERS:
        spec = specs[form_key(CID, "shortlisting", p)]
        value = 4 if p in COUNCIL else 2 if p == "p03" else 1
        (browser_submit if p == "p03" and browser_submit else submit)(
            story, spec, scores_for(spec, value)
        )
    ran = story.tick()
    n_items = len(specs[form_key(CID, "shortlisting", "p01")].scale_items())
    assert "new score(s)" in ran["forms_collect"].detail
    assert ran["forms_collect"].rows_written == 6 * n_items
    results = story.read("results")
    short = results[results["stage"] == "shortlisting"]
    assert len(short) == 6
    # By hand: Council panel 4/4 -> 100; lived experience panel mean(50, 25, 25, 25)
    # = 31.25; overall = (100 + 31.25) / 2 = 65.625 -> 65.63. (A plain mean over the six
    # members would give 54.17: the panels, not the head count, carry equal weight.)
    for _, r in short.iterrows():
        assert Decimal(str(r["council_score"])) == Decimal("100.00")
        assert Decimal(str(r["lived_experience_score"])) == Decimal("31.25")
        assert Decimal(str(r["overall_score"])) == Decimal("65.63")
    ledger = story.read("rewards_ledger")
    shortlisting_pay = ledger[ledger["activity"] == "shortlisting"]
    assert set(shortlisting_pay["person_id"]) == set(LIVED)  # paid from the score forms

    # On reminder days the runner's daily 09:00 run of 'remind' sends what is due.
    story.at(DEADLINE_NEAR)
    assert story.tick(["remind"])["remind"].messages_sent >= 5

    # 3. Staff decide: four candidates invited. Timetable, invitations, interview forms.
    story.at(DECIDED)
    story.set_status(INVITED, "invited")
    ran = story.tick()
    assert "4 interview(s)" in ran["timetable"].detail
    keys = keys_in_outbox(c0)
    for app in INVITED:
        assert any(k.startswith(f"candidate-invitation|{app}|") for k in keys), app
    tt = story.read("timetable")
    assert set(tt["candidate_letter"].dropna()) - {""} == {letters[a] for a in INVITED}
    story.tick()  # an hour later the timetable order is in the interview forms; no resend
    interview_links = [k for k in keys_in_outbox(c0) if "|interview|" in k]
    assert {k.split("|")[1] for k in interview_links} == {"p01", "p02", "p03", "p05", "p07"}
    # every interviewer's form lists the candidates in the order they are interviewed
    slots = tt[tt["candidate_letter"].fillna("") != ""].sort_values(["day", "starts"])
    order = ", ".join(slots["candidate_letter"])
    fl = story.read("form_links")
    assert set(fl[fl["stage"] == "interview"]["candidate_order"]) == {order}
    story.at(WEEK_BEFORE)
    story.tick(["remind"])
    story.at(TWO_DAYS_BEFORE)
    story.tick(["remind"])

    # 4. Interview days: everyone sends interview scores; attendance is recorded.
    story.at(INTERVIEWED)
    specs = story.specs()
    for p in SCORERS:
        spec = specs[form_key(CID, "interview", p)]
        submit(story, spec, scores_for(spec, 3 if p in COUNCIL else 4))
    day1 = dt.date(2027, 2, 8)  # four candidates: all on the first interview day
    tt_days = {
        d.date() if isinstance(d, dt.datetime) else d for d in story.read("timetable")["day"]
    }
    assert tt_days == {day1}
    story.attend(
        [
            {
                "person_id": p,
                "activity": "interview day",
                "date": day1,
                "confirmed_by": "Recruitment team",
            }
            for p in LIVED
        ]
    )
    ran = story.tick()
    results = story.read("results")
    inter = results[results["stage"] == "interview"]
    assert sorted(inter["candidate_letter"]) == sorted(letters[a] for a in INVITED)
    for _, r in inter.iterrows():  # Council 3/4 -> 75; lived experience 4/4 -> 100
        assert Decimal(str(r["overall_score"])) == Decimal("87.50")
    ledger = story.read("rewards_ledger")
    days = ledger[ledger["activity"] == "interview day"]
    assert len(days) == 4 and set(days["person_id"]) == set(LIVED)
    assert all(isinstance(a, Decimal) for a in ledger["amount"])
    # a full day is £100.00; p07 chose to give their time without payment
    paid = {(r["person_id"], r["amount"], r["status"]) for _, r in days.iterrows()}
    assert paid == {
        ("p03", Decimal("100.00"), "owed"),
        ("p05", Decimal("100.00"), "owed"),
        ("p06", Decimal("100.00"), "owed"),
        ("p07", Decimal("0.00"), "not claimed"),
    }

    # 5. The offer is made and accepted; everyone involved is told once.
    story.at(OFFERED)
    story.set_status([NEW_WORKER], "offered")
    ran = story.tick()
    # the decision meeting was on 10 February: no form links from now on
    assert "scoring is over" in ran["forms_push"].detail
    story.at(ACCEPTED)
    story.set_status([NEW_WORKER], "accepted")
    ran = story.tick()
    told = [k for k in keys_in_outbox(c0) if k.startswith("offer-answered|")]
    assert told and ran["remind"].messages_sent >= len(told)

    # 6. Time travel: the three-month check-in.
    story.at(CHECK_IN)
    story.tick()
    keys = keys_in_outbox(c0)
    assert any(k.startswith("check-in|") for k in keys)
    assert f"check-in-new-worker|{NEW_WORKER}|{CID}|check-in" in keys

    # At the end: each message once; another run sends and changes nothing.
    assert [k for k, n in Counter(keys).items() if n > 1] == []
    rules = Counter(k.split("|")[0] for k in keys)
    # five people by email: the interview links (their shortlisting links went with the
    # message that shortlisting opens); nothing after
    assert rules["form-link"] == 5
    for rule, people in {
        "shortlisting-opens": 5,
        "shortlisting-deadline": 5,
        "candidate-invitation": 4,
        "interview-day": 6,
        "candidate-reminder": 4,
        "offer-answered": 7,
        "check-in-new-worker": 1,
    }.items():
        assert rules[rule] == people, (rule, rules)
    assert rules["check-in"] >= 5
    before = story.snapshot()
    n_runs = len(story.read("run_log"))
    story.at(CHECK_IN + dt.timedelta(hours=1))
    again = story.tick()
    assert {j: r.messages_sent for j, r in again.items()} == dict.fromkeys(ALL, 0)
    assert keys_in_outbox(c0) == keys
    after = story.snapshot()
    assert after.keys() == before.keys()
    changed = [t for t in before if before[t] != after[t]]
    assert changed == [], changed
    log = story.read("run_log")
    assert len(log) == n_runs + len(ALL) == len(story.records)
    assert Counter(log["job"]) == Counter(r.job for r in story.records)
    assert set(log["outcome"]) == {"ok"}
    text = " ".join(str(v) for v in log.astype(str).to_numpy().ravel())
    assert no_personal_data(text) == [] and leaks([text], everyone) == []
    if caplog is not None:  # corecruit's own log lines, debug included
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("corecruit")]
        assert any("job=remind" in x for x in lines)
        assert no_personal_data("\n".join(lines)) == [] and leaks(lines, everyone) == []
    story.check_panel(everyone)


# ------------------------------------------------------------------- local path


@pytest.fixture
def local_story(settings: Settings) -> Story:
    clock = Clock(CHECKED)
    ctx = make_context(settings, clock=clock)
    init_campaign(ctx, example=True)
    folder = settings.workspace / CID

    def snapshot() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for book in ("staff", "panel"):
            for name, rows in xlsx_cells(folder / f"{book}.xlsx").items():
                if name != "Run log":
                    out[f"{book}/{name}"] = rows
        return out

    def check_panel(everyone: dict[str, set[str]]) -> None:
        found = leaks(flat(xlsx_cells(folder / "panel.xlsx")), everyone)
        assert found == [], f"the panel workbook holds personal data: {found}"

    def factory(s: Settings, cid: str) -> Context:
        return make_context(s, cid, clock=clock)

    return Story(settings, factory, clock, snapshot, check_panel)


def _path_of(url: str) -> str:
    m = re.search(r"(/f/[^/?#]+)$", url)
    assert m, url
    return m.group(1)


def local_submit(story: Story, spec: FormSpec, scores: dict[str, int]) -> None:
    from tests.forms_support import client, fill

    c = client(story.ctx())
    url = story.links()[(spec.person_id, spec.stage)]
    fill(c, spec, _path_of(url), {k: str(v) for k, v in scores.items()}, nonce=spec.key)


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        try:
            page = b.new_context(viewport={"width": 320, "height": 640}).new_page()
            yield page
        finally:
            b.close()


def browser_submit(page: Any) -> Submit:
    """Fill in the form in chromium, against the local form server on a free port."""

    def submit(story: Story, spec: FormSpec, scores: dict[str, int]) -> None:
        from automations.forms.local import AppInfo, create_app, start_server_thread
        from tests.forms_support import provider
        from tests.test_forms_browser import fits  # nothing wider than a 320 px screen

        p = provider(story.ctx())
        app = create_app(p.inbox, p.signer, info=AppInfo("Example Council", "the team"), now=p.now)
        server = start_server_thread(app)
        try:
            url = server.url + _path_of(story.links()[(spec.person_id, spec.stage)])
            page.goto(url)
            assert page.title().startswith("Shortlisting for the Peer Support Worker job")
            with page.expect_navigation():
                page.click("text=Start")
            titles = {sec.title for sec in spec.sections}
            # page by page as the server splits them (large print and easy read people
            # have one candidate a page)
            while "/check" not in page.url:
                assert page.locator("h1").inner_text() in titles
                fits(page)
                names = page.evaluate(
                    "[...new Set([...document.querySelectorAll('input[type=radio]')]"
                    ".map(i => i.name))]"
                )
                for name in names:
                    page.check(f"input[name='{name}'][value='{scores[name]}']")
                with page.expect_navigation():
                    page.click("button[value=next]")
            assert page.locator("h1").inner_text() == "Check your answers"
            with page.expect_navigation():
                page.click("text=Send my scores")
            assert "your scores are saved" in page.locator("h1").inner_text()
            fits(page)
        finally:
            server.stop()

    return submit


@pytest.mark.slow
@pytest.mark.browser
def test_a_whole_campaign_on_the_local_default(
    local_story: Story, browser_page: Any, caplog: pytest.LogCaptureFixture
) -> None:
    run_campaign(local_story, local_submit, browser_submit(browser_page), caplog)


# ---------------------------------------------------------- emulated Google path


def google_config(config_dir: Path, key_file: Path) -> Settings:
    """The example config with stores on Google Sheets and forms on Google Forms."""
    org = config_dir / "organisation.toml"
    text = org.read_text(encoding="utf-8")
    for old, new in (
        ('backend = "local"            # "local": .xlsx', 'backend = "google"  # .xlsx'),
        ('backend = "local"            # "local": corecruit', 'backend = "google"  # corecruit'),
        ('credentials_file = ""', f'credentials_file = "{key_file}"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    org.write_text(text, encoding="utf-8")
    settings = load_settings(config_dir)
    assert settings.org.storage.backend == settings.org.forms.backend == "google"
    return settings


def google_factory(emu: Any, key_file: Path, clock: Clock) -> Callable[[Settings, str], Context]:
    """What the runner is given: a context per job run, on the emulator's transport.

    Credentials are made once (as a long-running runner holds them), so tokens are
    fetched once, not per job."""
    from google.oauth2 import service_account

    from automations.forms.google import NEEDED_SCOPES
    from automations.google.auth import STORE_SCOPES
    from automations.google.http import RetryPolicy
    from tests.google_emulator.core import TEAM_ACCOUNT
    from tests.google_emulator.transport import emulator_session

    transport = emulator_session(emu)
    store_creds = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=list(STORE_SCOPES), subject=TEAM_ACCOUNT
    )
    form_creds = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=list(NEEDED_SCOPES), subject=TEAM_ACCOUNT
    )

    def retry() -> RetryPolicy:
        return RetryPolicy(max_attempts=5, max_seconds=60, sleep=lambda s: None)

    def factory(settings: Settings, cid: str) -> Context:
        ctx = make_context(
            settings,
            cid,
            clock=clock,
            transport=transport,
            credentials=store_creds,
            retry=retry(),
        )
        ctx.extras["google_transport"] = transport
        ctx.extras["google_credentials"] = form_creds
        ctx.extras["google_retry"] = retry()
        return ctx

    return factory


def sheet_cells(emu: Any, spreadsheet_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every tab's cells straight from the emulated Google Sheets (not through corecruit)."""
    from tests.google_emulator.sheets import spreadsheets

    with emu.lock:
        ss = spreadsheets(emu)[spreadsheet_id]
        return {
            sh.props["title"]: sorted(
                (k, c.kind, str(c.value), c.formula) for k, c in sh.cells.items()
            )
            for sh in ss.sheets
        }


def forms_of(emu: Any) -> dict[str, Any]:
    from tests.google_emulator.forms import forms

    with emu.lock:
        return dict(forms(emu))


def google_submit(emu: Any) -> Submit:
    """Answer a Google form as its respondent would (the emulator's respondent helper)."""
    from tests.google_emulator.forms import submit_response

    def submit(story: Story, spec: FormSpec, scores: dict[str, int]) -> None:
        record = FormState(story.settings.workspace / CID)
        state = {"forms": record.forms, "parts": record.parts}
        parts = len(state["parts"].get(spec.key, [])) or 1
        when = story.clock.t.replace(tzinfo=LONDON).astimezone(dt.UTC)
        for n in range(1, parts + 1):  # a form split into parts: each part is sent
            entry = state["forms"][spec.key if n == 1 else f"{spec.key}.part{n}"]
            question = {item: qid for qid, item in entry["questions"].items()}
            submit_response(
                emu,
                entry["form_id"],
                {question[k]: v for k, v in scores.items() if k in question},
                when=when,
            )

    return submit


def make_google_story(emu: Any, settings: Settings, key_file: Path) -> Story:
    clock = Clock(CHECKED)
    factory = google_factory(emu, key_file, clock)
    init_campaign(factory(settings, CID), example=True)
    ids = json.loads((settings.workspace / CID / "google_ids.json").read_text())

    def snapshot() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for book in ("staff", "panel"):
            for name, cells in sheet_cells(emu, ids[book]).items():
                if name != "Run log":
                    out[f"{book}/{name}"] = cells
        return out

    def check_panel(everyone: dict[str, set[str]]) -> None:
        cells = [v for rows in sheet_cells(emu, ids["panel"]).values() for _, _, v, _ in rows]
        found = leaks(cells, everyone)
        assert found == [], f"the panel spreadsheet holds personal data: {found}"

    return Story(settings, factory, clock, snapshot, check_panel, calls=emu.calls)


@pytest.mark.slow
def test_a_whole_campaign_on_emulated_google(
    config_dir: Path,
    google_emulator: Any,
    google_key_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = google_emulator
    settings = google_config(config_dir, google_key_file)
    story = make_google_story(emu, settings, google_key_file)
    submit = google_submit(emu)

    faults: list[Any] = []
    seen: set[dt.datetime] = set()
    real_tick = story.tick

    def tick_with_faults(jobs: list[str] | None = None) -> dict[str, RunRecord]:
        # Mid-campaign, Google says "slow down" and "unavailable" now and then, loses
        # the answer to changes it did make, drops a connection: every job must still
        # end well, with nothing made or written twice.
        t, first = story.clock.t, story.clock.t not in seen
        seen.add(t)
        if t == SCORING:
            faults.append(emu.fail(429, retry_after=1, times=2, match="sheets.spreadsheets.values"))
            faults.append(emu.fail(503, match="forms.forms.responses"))
        if t == DECIDED and first:
            faults.append(emu.fail(503, match="drive.files.create", when="after"))
            faults.append(emu.fail(429, match="forms.forms.batchUpdate"))
            faults.append(
                emu.fail(500, match="sheets.spreadsheets.values.batchUpdate", when="after")
            )
        if t == INTERVIEWED:
            faults.append(emu.drop(match="forms.forms.responses"))
        out = real_tick(jobs)
        assert emu.faults == [], "an injected fault was never met"
        return out

    story.tick = tick_with_faults  # type: ignore[method-assign]
    run_campaign(story, submit, caplog=caplog)
    statuses = Counter(s for *_, s in emu.log)
    assert statuses[429] >= 3 and statuses[503] >= 2 and statuses[500] >= 1
    # one form per panel member and stage, even though one creation's answer was lost
    assert len(forms_of(emu)) == 12

    # API economy: a handful of calls per job; the forms jobs pay per form (one per
    # panel member and stage: 12 here), never per application or score. The bounds
    # leave room for the retries of the faults injected above (they are counted too).
    forms = 12
    bound = {"forms_push": 3 * forms + 15, "forms_collect": forms + 12}
    worst = {job: max(n) for job, n in story.api_calls.items()}
    over = {j: n for j, n in worst.items() if n > bound.get(j, 12)}
    assert over == {}, story.api_calls
    # The run log's count is what Google saw, less the run log's own append: a read, and a
    # write only when something else is saved with it (the log alone waits in the ledger).
    assert all(r.api_calls > 0 for r in story.records)
    assert all(1 <= n <= 3 for n in story.unlogged), story.unlogged


def add_applications(ctx: Context, n: int) -> None:
    """``n`` more applications: copies of the example ones under new ids."""
    st = ctx.stores.staff
    st.forget()
    apps = st.read_one("applications")
    rows = []
    for i in range(n):
        r = apps.iloc[i % len(apps)].to_dict()
        r["application_id"] = f"{len(apps) + i + 1:04d}"
        rows.append(r)
    st.append("applications", make_frame(st.tab("applications"), rows))


def first_weeks(story: Story, submit: Submit) -> dict[str, list[int]]:
    """Shortlisting opens, every score is sent, four are invited: calls per job run."""
    story.review_first()
    story.at(OPENS)
    story.tick()
    story.at(SCORING)
    specs = story.specs()
    for p in SCORERS:
        spec = specs[form_key(CID, "shortlisting", p)]
        submit(story, spec, scores_for(spec, 2))
    story.tick()
    story.at(DECIDED)
    story.set_status(INVITED, "invited")
    story.tick()
    story.tick()
    return story.api_calls


@pytest.mark.slow
def test_google_calls_per_job_do_not_grow_with_applications(
    config_dir: Path,
    google_emulator: Any,
    google_key_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from automations.forms import google as gforms
    from tests.google_emulator.core import Emulator

    # A Google shortlisting form is split every 25 candidates (10 for large print and easy
    # read), each part a form of its own: calls grow with the forms, by design (see
    # bench/gforms_calls.py). Here both runs are one part each, so that what is compared
    # is calls against applications alone.
    monkeypatch.setattr(gforms, "PART_CANDIDATES", dict.fromkeys(gforms.PART_CANDIDATES, 25))
    small = make_google_story(
        google_emulator, google_config(config_dir, google_key_file), google_key_file
    )
    calls_6 = first_weeks(small, google_submit(google_emulator))

    emu = Emulator().start()
    try:
        other = tmp_path / "double" / "config"
        shutil.copytree(Path(__file__).resolve().parent.parent / "config", other)
        key = tmp_path / "double" / "key.json"
        key.write_text(json.dumps(emu.service_account_info()))
        big = make_google_story(emu, google_config(other, key), key)
        add_applications(big.ctx(), 6)
        calls_12 = first_weeks(big, google_submit(emu))
        assert len(big.read("candidate_key")) == 12
        results = big.read("results")
        assert len(results[results["stage"] == "shortlisting"]) == 12
    finally:
        emu.stop()
    assert not emu.errors
    assert calls_12 == calls_6
