"""Papers by post for a panel member the panel workbook cannot be shared with (issue 18).

On the emulated Google path: Drive refuses to share with Grace's personal address (no
Google account); everyone else is shared with. She then gets her score sheets with the
anonymised answers as a PDF printed by a real chromium and read back with pypdf, and a
letter (never an email) for staff to print and post, once per version of the papers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader

from automations.errors import JobError
from automations.papers import RULE, post_papers
from automations.sharing import share_campaign
from automations.store import make_frame
from automations.transforms.scoresheets import paper_leaks, posted_to
from tests.forms_support import ANSWER, seed_candidates
from tests.remind_support import NAMES
from tests.review_support import no_review_gate

CHROMIUM = Path("/usr/bin/chromium")
GRACE = "grace.okafor@example.net"
PERSONAL = ("grace", "okafor", "Grace", "example.net")
LINK = "https://docs.google.com/forms/d/e/1FAIpQL-p03-shortlisting/viewform"
# a candidate whose name has quotes and angle brackets (escaped on the page, never shown)
ODD_FIRST, ODD_LAST = 'Zephyrine "Zeph"', "O'Quill <Vane>"
ODD_ANSWER = 'I said "listen first" & <share> the planning.'


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    return no_review_gate(config_dir)


def _pdf_text(pdf: Path) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages)


def _folder(ctx: Any) -> Path:
    return Path(ctx.settings.workspace) / ctx.campaign.id


def _setup(ctx: Any, emu: Any) -> None:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed")
    seed_candidates(ctx)
    st = ctx.stores.staff
    st.forget()
    st.upsert(
        "applications",
        pd.DataFrame([{"application_id": "0002", "first_name": ODD_FIRST, "last_name": ODD_LAST}]),
    )
    panel = ctx.stores.panel  # Candidate A (application 0002) wrote quotes and brackets
    apps = panel.read_one("applications")
    apps.loc[apps["candidate_letter"] == "A", "answer_2"] = ODD_ANSWER
    panel.write({"applications": apps})
    st.append(
        "form_links",
        make_frame(
            st.tab("form_links"), [{"person_id": "p03", "stage": "shortlisting", "url": LINK}]
        ),
    )
    emu.no_google_account.add(GRACE)
    report = share_campaign(ctx)
    assert report.failed["panel"][0] == "p03" and "p01" not in report.failed["panel"]


def _log(ctx: Any) -> pd.DataFrame:
    st = ctx.stores.staff
    st.forget()
    log = st.read_one("sent_messages")
    return log[log["rule"] == RULE]


def _post_items(ctx: Any) -> pd.DataFrame:
    x = ctx.stores.staff.read_one("exceptions")
    return x[x["job"] == "papers by post"]


@pytest.mark.browser
def add_late_candidate(ctx: Any) -> None:
    """Candidate G arrives late: a letter in the staff key, an answer on the panel workbook."""
    st = ctx.stores.staff
    st.append(
        "candidate_key",
        make_frame(st.tab("candidate_key"), [{"application_id": "0007", "candidate_letter": "G"}]),
    )
    panel = ctx.stores.panel
    late = {"candidate_letter": "G", "answer_1": ANSWER.format(letter="G", n=1)}
    panel.append("applications", make_frame(panel.tab("applications"), [late]))


def test_refused_panel_member_gets_a_posted_pack_once(
    google_ctx: Any, google_emulator: Any
) -> None:
    _setup(google_ctx, google_emulator)
    res = post_papers(google_ctx)
    folder = _folder(google_ctx)
    (pack,) = sorted((folder / "post").iterdir())
    assert pack.name.startswith("p03-")
    pdf = pack / "shortlisting-p03-large-print.pdf"  # her own format, from the people tab
    text = _pdf_text(pdf)
    for letter in ("A", "B", "C", "D", "E", "F"):
        assert ANSWER.format(letter=letter, n=1) in text  # every candidate's answers
    assert ODD_ANSWER in text  # what a candidate typed, shown as typed
    assert text.count("Tick one") == 6 * len(google_ctx.campaign.criteria)  # scoring pages
    for name in [*NAMES, "Zephyrine", "Zeph", "Quill", "Vane"]:  # letters only, never a name
        assert not re.search(rf"\b{re.escape(name)}\b", text), name
    # a letter for staff to post, never an email
    (row,) = _log(google_ctx).itertuples()
    assert row.status == "contact another way" and row.person_id == "p03"
    letters = sorted((folder / "letters").glob("candidate-papers*p03*.txt"))
    assert len(letters) == 1
    letter = letters[0].read_text()
    assert "Your papers for the" in letter and "Dear Grace" in letter  # her own letter
    assert "Shortlisting score sheets" in letter and "large print" in letter
    assert LINK in letter and "without a Google account" in letter
    html = letters[0].with_suffix(".html").read_text()
    assert "Content-Security-Policy" in html and LINK in html
    outbox = Path(google_ctx.settings.path(google_ctx.settings.org.mail.outbox))
    assert not list(outbox.glob("*.eml")) if outbox.exists() else True
    # Needs attention says what to do, by person id, with where the papers are
    (item,) = _post_items(google_ctx).itertuples()
    assert item.reason.startswith("Print and post Candidate papers to p03")
    assert str(pack) in item.reason and letters[0].with_suffix(".html").name in item.reason
    everything = item.reason + item.source + res.summary() + " ".join(res.attention)
    everything += _log(google_ctx).to_csv()
    assert not any(s in everything for s in PERSONAL)
    # run again: no second pack, letter or Needs attention line; chromium is not needed
    google_emulator.reset_counts()
    again = post_papers(google_ctx)
    assert again.messages_sent == 0 and "0 new letter(s)" in again.detail
    assert sorted((folder / "post").iterdir()) == [pack]
    assert len(_log(google_ctx)) == 1 and len(_post_items(google_ctx)) == 1
    assert len(sorted((folder / "letters").glob("candidate-papers*"))) == 2  # .txt and .html
    # a late candidate changes the panel's papers: a new version, posted once
    add_late_candidate(google_ctx)
    post_papers(google_ctx)
    post_papers(google_ctx)  # and only once
    packs = sorted((folder / "post").iterdir())
    assert len(packs) == 2
    (new,) = [p for p in packs if p != pack]
    assert ANSWER.format(letter="G", n=1) in _pdf_text(new / "shortlisting-p03-large-print.pdf")
    log = _log(google_ctx)
    assert sorted(log["version"].astype(int)) == [1, 2]
    (v2,) = sorted((folder / "letters").glob("candidate-papers*p03*v2.txt"))
    assert "replace the ones we sent before" in v2.read_text()
    items = _post_items(google_ctx)
    assert len(items) == 2 and any("version 2" in r and str(new) in r for r in items["reason"])


@pytest.mark.browser
def test_killed_between_pack_and_letter_or_letter_and_note_posts_once(
    google_ctx: Any, google_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import automations.papers as papers

    _setup(google_ctx, google_emulator)
    real = papers.send_once

    def killed(*a: Any, **k: Any) -> Any:
        raise KeyboardInterrupt  # as a kill: the pack is made, no letter yet

    monkeypatch.setattr(papers, "send_once", killed)
    with pytest.raises(KeyboardInterrupt):
        post_papers(google_ctx)
    assert len(list((_folder(google_ctx) / "post").iterdir())) == 1
    assert _log(google_ctx).empty
    monkeypatch.setattr(papers, "send_once", real)
    st = google_ctx.stores.staff

    def killed_append(*a: Any, **k: Any) -> int:
        raise KeyboardInterrupt  # the letter is queued, Needs attention not written yet

    monkeypatch.setattr(st, "append", killed_append)
    with pytest.raises(KeyboardInterrupt):
        post_papers(google_ctx)
    assert len(_log(google_ctx)) == 1
    monkeypatch.undo()
    res = post_papers(google_ctx)  # the rerun: no second letter, the note is written
    assert res.messages_sent == 0 and len(_log(google_ctx)) == 1
    assert len(list((_folder(google_ctx) / "post").iterdir())) == 1
    (item,) = _post_items(google_ctx).itertuples()
    assert "p03" in item.reason


@pytest.mark.browser
def test_a_name_left_in_an_answer_stops_the_pack(google_ctx: Any, google_emulator: Any) -> None:
    _setup(google_ctx, google_emulator)
    panel = google_ctx.stores.panel
    apps = panel.read_one("applications")
    leaked = f"As {ODD_FIRST} {ODD_LAST} I listen first."
    apps.loc[apps["candidate_letter"] == "A", "answer_1"] = leaked
    panel.write({"applications": apps})
    with pytest.raises(JobError) as err:
        post_papers(google_ctx)
    msg = str(err.value)
    assert "Candidate A" in msg and "own name" in msg and "No papers were made" in msg
    assert not any(s in msg for s in ("Zeph", "Quill", "Vane", "<"))
    assert not (_folder(google_ctx) / "post").exists()
    assert _log(google_ctx).empty


def test_who_gets_papers_by_post_and_the_guard_alone() -> None:
    sharing = pd.DataFrame(
        [
            {"who": "p03", "workbook": "panel", "outcome": "could not share"},
            {"who": "p03", "workbook": "staff", "outcome": "could not share"},
            {"who": "p05", "workbook": "panel", "outcome": "shared"},
            {"who": "staff editor 1", "workbook": "panel", "outcome": "could not share"},
            {"who": "People row 4", "workbook": "panel", "outcome": "could not share"},
        ]
    )
    assert posted_to(sharing) == ["p03"]
    apps = pd.DataFrame(
        [
            {"application_id": "1", "first_name": ODD_FIRST, "last_name": ODD_LAST,
             "email": "zq@example.com"},
            {"application_id": "2", "first_name": "Ann", "last_name": "Lee", "email": ""},
        ]
    )  # fmt: skip
    key = pd.DataFrame([{"application_id": "1", "candidate_letter": "A"}])
    page = '<section class="page" aria-labelledby="h-B">{}</section>'
    clean = [("s", page.format("I listen first &amp; share."))]
    assert paper_leaks(clean, apps, key) == []
    escaped = "Zephyrine &quot;Zeph&quot; O&#39;Quill &lt;Vane&gt; said so"
    (leak,) = paper_leaks([("s", page.format(escaped))], apps, key)  # found when escaped
    assert "own name" in leak and "Zeph" not in leak
    own = '<section class="page" aria-labelledby="h-A">mail zq@example.com</section>'
    found = paper_leaks([("s", own)], apps, key)
    assert found and all("email" in f and "zq" not in f for f in found)


@pytest.mark.browser
def test_the_letters_read_well_in_each_format(google_ctx: Any, google_emulator: Any) -> None:
    """Grace (large print) and Marek (easy read): letters with every field filled."""
    from automations.mail.render import Rendered
    from tests.test_mail_templates import problems_in

    google_emulator.no_google_account.add("marek.nowak@example.net")
    _setup(google_ctx, google_emulator)
    post_papers(google_ctx)
    folder = _folder(google_ctx)
    assert sorted(p.name.split("-")[0] for p in (folder / "post").iterdir()) == ["p03", "p05"]
    easy = _pdf_text(next((folder / "post").glob("p05-*")) / "shortlisting-p05-easy-read.pdf")
    assert "What Candidate B wrote" in easy
    texts = {}
    for path in sorted((folder / "letters").glob("candidate-papers*.txt")):
        subject, _, body = path.read_text().partition("\n\n")
        page = path.with_suffix(".html").read_text()
        r = Rendered(subject.removeprefix("Subject: "), body, page)
        assert problems_in(r) == [], path.name
        texts[path.name.split("_")[1]] = body
    assert "Hello Marek" in texts["p05"] and "in easy read" in texts["p05"]
    assert "Your own score form" in texts["p03"]
    assert "Score online" not in texts["p05"]  # no link of his yet: no empty section
    assert "font-size" in next((folder / "letters").glob("*p03*.html")).read_text()


@pytest.mark.browser
def test_corecruit_init_posts_papers_and_scoresheets_post_runs_it_again(
    google_ctx: Any,
    google_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    google_settings: Any,
    google_transport: Any,
    google_credentials: Any,
) -> None:
    from click.testing import CliRunner

    from automations.cli import State, main
    from automations.google.http import RetryPolicy

    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed")
    monkeypatch.setattr(
        State,
        "store_kw",
        {
            "transport": google_transport,
            "credentials": google_credentials,
            "retry": RetryPolicy(sleep=lambda _: None),
        },
    )
    config = ["--config", str(google_settings.config_dir)]
    google_emulator.no_google_account.add(GRACE)
    runner = CliRunner()
    first = runner.invoke(main, [*config, "init"])  # no candidates yet: nothing to print
    assert first.exit_code == 0, first.output
    assert "p03 could not be given access" in first.output and "no score sheets" in first.output
    seed_candidates(google_ctx)
    res = runner.invoke(main, [*config, "init"])
    assert res.exit_code == 0, res.output
    assert "1 could not be shared with (p03)" in res.output
    assert "Papers by post: 1 person(s) get their papers by post; 1 new letter(s)" in res.output
    assert "Please look at: Please contact p03 (panel member) another way" in res.output
    again = runner.invoke(main, [*config, "scoresheets", "post"])
    assert again.exit_code == 0, again.output
    assert "0 new letter(s)" in again.output
    assert not any(s in res.output + again.output for s in PERSONAL)
    assert len(_log(google_ctx)) == 1

    # the runner's papers job: nothing new twice, then a late candidate is posted once
    from automations.context import make_context
    from automations.runner import Runner

    def fresh(settings: Any, campaign: str) -> Any:
        return make_context(
            settings,
            clock=lambda: dt.datetime(2027, 1, 25, 9, 30),
            transport=google_transport,
            credentials=google_credentials,
            retry=RetryPolicy(sleep=lambda _: None),
        )

    sched = Runner(google_settings, context_factory=fresh)
    ticks = [sched.run_job(google_ctx.campaign.id, "papers") for _ in range(2)]
    assert [r.outcome for r in ticks] == ["ok", "ok"] and ticks[1].unchanged
    add_late_candidate(google_ctx)
    ticks = [sched.run_job(google_ctx.campaign.id, "papers") for _ in range(2)]
    assert [r.outcome for r in ticks] == ["ok", "ok"] and not ticks[0].unchanged
    assert sorted(_log(google_ctx)["version"].astype(int)) == [1, 2]  # posted once
    assert not any(s in r.detail for r in ticks for s in PERSONAL)


def _child(config_dir: Path, mode: str) -> int:
    import subprocess
    import sys

    return subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parent / "papers_child.py"),
            str(config_dir),
            "2027-01-25T09:30:00",
            mode,
        ],
        capture_output=True,
        timeout=180,
        check=False,
    ).returncode


@pytest.mark.browser
def test_killed_hard_at_each_step_and_run_again_posts_once(ctx: Any, config_dir: Path) -> None:
    """The same papers on the local store, the run SIGKILL-like (os._exit) at each step."""
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed")
    seed_candidates(ctx)
    st = ctx.stores.staff
    st.write(  # what 'init' records on Google when Drive refuses p03's address
        {
            "sharing": make_frame(
                st.tab("sharing"),
                [{"who": "p03", "workbook": "panel", "outcome": "could not share"}],
            )
        }
    )
    folder = _folder(ctx)
    assert _child(config_dir, "after-pack") == 9
    (pack,) = (folder / "post").iterdir()
    assert (pack / "shortlisting-p03-large-print.pdf").exists()
    assert _log(ctx).empty and not (folder / "letters").exists()
    assert _child(config_dir, "before-log") == 9
    assert len(list((folder / "letters").glob("candidate-papers*.txt"))) == 1
    assert _log(ctx).empty
    assert _child(config_dir, "after-log") == 9
    assert len(_log(ctx)) == 1 and _post_items(ctx).empty
    st.forget()
    res = post_papers(ctx)
    assert res.messages_sent == 0 and "0 new letter(s)" in res.detail
    (row,) = _log(ctx).itertuples()
    assert row.status == "contact another way" and row.version == 1
    assert list((folder / "post").iterdir()) == [pack]
    assert len(list((folder / "letters").glob("candidate-papers*"))) == 2  # .txt and .html
    (item,) = _post_items(ctx).itertuples()
    assert item.reason.startswith("Print and post Candidate papers to p03")
