"""Independent scoring (issue 11): one test scans everything a panel member can reach.

A campaign runs through every job (``Runner.run_once``), two members (p01 on the Council
panel, p05 on the lived experience panel) send their shortlisting scores with planted,
distinctive comments and score patterns, and then, for every panel member, we gather
everything they can reach:

* the panel workbook, every tab, read with a second reader (python-calamine);
* every page of each of their own local forms (start, each page, check, thank-you);
* every email addressed to them in the outbox (body, HTML and attachments such as .ics),
  and every letter in the letters folder made for them (people contacted another way);
* their printed score sheets (HTML, for shortlisting and interviews);
* the timetable calendar files (.ics);
* the panel version of the decision pack, once it is produced.

Before release nothing there may hold another member's comment or score pattern, and
the panel pack must refuse to be made. After the last scores come in (release), the
panel workbook holds only the merged results by letter (the same numbers as the staff
workbook's results tab), the panel pack names no member, and still no member's own
score pattern or name-tagged comment appears anywhere.

The printed PDF score sheets are scanned too, read back with pypdf, in a browser test of
their own (chromium prints them). Not scanned here: Google Forms (the Google path has its
own tests).
"""

from __future__ import annotations

import datetime as dt
import email
import os
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from automations.context import Context
from automations.forms.base import FormSpec, ScaleItem, comment_item_id, form_key, score_item_id
from automations.jobs.forms import current_specs
from automations.jobs.scoresheets import scoresheets_job
from automations.reports.decision_pack import PackHeldBack, write_pack
from automations.runner import Runner
from tests.forms_support import client, fill, links, path_of
from tests.remind_support import set_status
from tests.review_support import mark_reviewed

# Distinctive scores per letter (same for every criterion), chosen so they cannot be a
# run of the scale's own points (0 1 2 3 4) printed on forms and sheets.
PLANTED: dict[str, dict[str, Any]] = {
    "p01": {
        "comment": "Quartzfeather remark, planted for this test",
        # interview results are not released in this test, so this must never show
        "interview_comment": "Tangerine-lighthouse interview remark, planted too",
        "scores": {"A": 4, "B": 0, "C": 3, "D": 1, "E": 4, "F": 0},
    },
    "p05": {
        "comment": "Marmalade-obelisk remark, planted for this test",
        "scores": {"A": 1, "B": 4, "C": 0, "D": 4, "E": 2, "F": 3},
    },
}
OTHERS_SCORE = "2"
NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(x) for x in NUM.findall(text)]


def _contains_run(numbers: list[float], run: list[float]) -> bool:
    n = len(run)
    return any(numbers[i : i + n] == run for i in range(len(numbers) - n + 1))


def _patterns(pid: str, n_criteria: int) -> list[list[float]]:
    """The ways one member's scores could show: per criterion, per candidate total,
    per candidate percentage (0-100), each in letter order."""
    s = [float(v) for _, v in sorted(PLANTED[pid]["scores"].items())]
    return [s, [v * n_criteria for v in s], [v * 25 for v in s]]


def _leaks(text: str, viewer: str, n_criteria: int) -> list[str]:
    """Other members' planted comments or score patterns found in ``text``."""
    found = []
    nums = _numbers(text)
    for pid, plant in PLANTED.items():
        if pid == viewer:
            continue
        if plant["comment"].casefold() in text.casefold():
            found.append(f"{pid} comment")
        if plant.get("interview_comment", "\0").casefold() in text.casefold():
            found.append(f"{pid} interview comment")
        for pat in _patterns(pid, n_criteria):
            if _contains_run(nums, pat):
                found.append(f"{pid} scores {pat}")
    return found


# ------------------------------------------------------------- what a member can reach


def _row_leaks(path: Path, viewer: str, n_criteria: int) -> list[str]:
    """A member's per-candidate totals or percentages shown row by row, in any order:
    every letter's row in some tab holds that member's value for the letter."""
    wb = CalamineWorkbook.from_path(str(path))
    rows = [r for name in wb.sheet_names for r in wb.get_sheet_by_name(name).to_python()]
    found = []
    for pid, plant in PLANTED.items():
        if pid == viewer:
            continue
        for k, scale in (("totals", n_criteria), ("percentages", 25)):
            hits = set()
            for letter, v in plant["scores"].items():
                for r in rows:
                    cells = [str(c).strip() for c in r]
                    if letter in cells and float(v * scale) in _numbers(" | ".join(cells)):
                        hits.add(letter)
            if hits == set(plant["scores"]):
                found.append(f"{pid} {k} by row")
    return found


def _workbook_texts(path: Path) -> dict[str, str]:
    """Each tab of the panel workbook as text, row by row and column by column."""
    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        width = max((len(r) for r in rows), default=0)
        cols = [[r[i] if i < len(r) else "" for r in rows] for i in range(width)]
        by_row = "\n".join(" | ".join(str(v) for v in r) for r in rows)
        by_col = "\n".join(" | ".join(str(v) for v in c) for c in cols)
        out[f"panel workbook: {name}"] = by_row + "\n" + by_col
    return out


def _message_text(m: EmailMessage) -> str:
    parts = []
    for part in m.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts.append(payload.decode("utf-8", "replace"))
    return str(m["Subject"]) + "\n" + "\n".join(parts)


def _emails_to(ctx: Context, address: str) -> dict[str, str]:
    folder = Path(ctx.settings.path(ctx.settings.org.mail.outbox))
    out = {}
    for f in sorted(folder.glob("*.eml")):
        m = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        if address.casefold() in str(m["To"]).casefold():
            out[f"email {f.name}"] = _message_text(m)  # type: ignore[arg-type]
    return out


def _specs(ctx: Context) -> dict[str, FormSpec]:
    st = ctx.stores.staff
    st.forget()
    frames = st.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    return {s.key: s for s in current_specs(ctx, frames)}


def _form_pages(ctx: Context, pid: str, done: dict[str, dict[str, str]]) -> dict[str, str]:
    """Every page of this member's own local forms, as they would open them."""
    c = client(ctx)
    specs = _specs(ctx)
    out = {}
    for (who, stage), url in links(ctx).items():
        if who != pid:
            continue
        path = path_of(url)
        spec = specs[form_key(ctx.campaign.id, stage, pid)]
        urls = [path, f"{path}/check"] + [f"{path}/{n}" for n in range(1, len(spec.sections) + 1)]
        if stage in done.get(pid, {}):
            urls.append(f"{path}/done/{done[pid][stage]}")
        # another member's thank-you page (their answers) cannot be opened with this link
        for other, theirs in done.items():
            if other != pid and stage in theirs:
                r = c.get(f"{path}/done/{theirs[stage]}")
                assert r.status_code == 404, (pid, other, stage, r.status_code)
        for u in urls:
            r = c.get(u)
            assert r.status_code in (200, 303), (u, r.status_code)
            out[f"form {stage} {u[len(path) :] or '/'}"] = r.get_data(as_text=True)
    return out


def _reachable(
    ctx: Context, pid: str, address: str, sheets: list[Path], done: dict[str, dict[str, str]]
) -> dict[str, str]:
    camp = ctx.settings.workspace / ctx.campaign.id
    out = _workbook_texts(Path(str(ctx.stores.panel.location)))
    out.update(_form_pages(ctx, pid, done))
    if address:
        out.update(_emails_to(ctx, address))
    for f in sorted((camp / "letters").glob(f"*_{pid}_*")):
        out[f"letter {f.name}"] = f.read_text(errors="replace")
    for f in sheets:
        if f.suffix == ".html" and re.search(rf"-{pid}(-|$)", f.stem):
            out[f"score sheet {f.name}"] = f.read_text()
    for f in sorted(camp.rglob("*.ics")):
        out[f"calendar {f.name}"] = f.read_text()
    pack = camp / "decision-pack-panel.html"
    if pack.exists():
        out["panel decision pack"] = pack.read_text()
    return out


# -------------------------------------------------------------------------- the test


def _send(ctx: Context, pid: str, stage: str = "shortlisting") -> str:
    """Fill and send this member's form: planted scores and comment, or the plain 2s."""
    spec = _specs(ctx)[form_key(ctx.campaign.id, stage, pid)]
    path = path_of(links(ctx)[(pid, stage)])
    plant = PLANTED.get(pid)
    if plant is None:
        return fill(client(ctx), spec, path, OTHERS_SCORE, nonce=f"{pid}-{stage}")
    items = [item for sec in spec.sections for item in sec.items]
    if stage == "interview":
        notes = {
            i.item_id: plant["interview_comment"] for i in items if not isinstance(i, ScaleItem)
        }
        assert notes  # the interview form has comment boxes to plant in
        return fill(client(ctx), spec, path, "3", comments=notes, nonce=f"{pid}-{stage}")
    scores = {
        i.item_id: str(plant["scores"][i.item_id.split("__")[1]])
        for i in items
        if isinstance(i, ScaleItem)
    }
    comments = {comment_item_id(x, "c1"): plant["comment"] for x in plant["scores"]}
    return fill(client(ctx), spec, path, scores, comments=comments, nonce=f"{pid}-{stage}")


def _people(ctx: Context) -> dict[str, str]:
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("people")
    return {
        str(r["person_id"]): ("" if r["email"] is None else str(r["email"] or ""))
        for _, r in df.iterrows()
    }


class Campaign:
    """The example campaign run through every job, with p01 and p05's scores sent."""

    def __init__(self, ctx: Context) -> None:
        assert score_item_id("A", "c1").split("__")[1] == "A"  # how _send reads a letter
        self.ctx = ctx
        self.runner = Runner(ctx.settings, clock=ctx.clock)
        self.run_all()  # letters and the redaction report; nothing reaches the panel yet
        assert mark_reviewed(ctx) == 6  # staff check each application's redaction report
        self.run_all()  # panel applications, shortlisting forms and emails
        key = ctx.stores.staff.read_one("candidate_key")
        assert sorted(key["candidate_letter"]) == sorted(PLANTED["p01"]["scores"])
        # Two candidates invited: interview forms, the timetable and its calendar follow.
        invited = [str(a) for a in key.sort_values("candidate_letter")["application_id"][:2]]
        set_status(ctx, invited, "invited")
        self.run_all()
        self.done = {pid: {"shortlisting": _send(ctx, pid)} for pid in PLANTED}
        self.done["p01"]["interview"] = _send(ctx, "p01", "interview")
        self.run_all()  # collect the two members' scores, merge (held back), remind, ...
        raw = ctx.stores.staff.read_one("raw_scores")
        assert set(raw["person_id"]) == set(PLANTED)  # the plants did reach the staff side
        assert PLANTED["p01"]["interview_comment"] in set(raw["comment"])
        self.people = _people(ctx)
        self.scorers = sorted({k[0] for k in links(ctx)})
        assert {"p01", "p02", "p03", "p05", "p06", "p07"} <= set(self.scorers)

    def run_all(self) -> None:
        recs = self.runner.run_once()
        assert [r.outcome for r in recs] == ["ok"] * len(recs), [
            (r.job, r.detail) for r in recs if r.outcome != "ok"
        ]
        self.ctx.stores.staff.forget()
        self.ctx.stores.panel.forget()


def test_no_member_can_reach_another_members_scores_until_release(ctx: Context) -> None:
    n_crit = len(ctx.campaign.criteria)
    camp = Campaign(ctx)
    run_all, done, people, scorers = camp.run_all, camp.done, camp.people, camp.scorers

    def sheets() -> list[Path]:
        files: list[Path] = []
        for stage in ("shortlisting", "interview"):
            files += scoresheets_job(ctx, stage).files  # type: ignore[arg-type]
        return files

    # ------------------------------------------------------------ before release
    with pytest.raises(PackHeldBack):
        write_pack(ctx, "panel")
    printed = sheets()
    assert printed
    kinds: set[str] = set()
    for pid in scorers:
        reach = _reachable(ctx, pid, people.get(pid, ""), printed, done)
        kinds |= {k.split(" ")[0] for k in reach}
        for where, text in reach.items():
            assert not _leaks(text, pid, n_crit), (pid, where, _leaks(text, pid, n_crit))
            if where.startswith("form") and pid not in PLANTED:
                # no score is pre-ticked on a form its owner has not filled in (the
                # start page's "candidates a page" choice shows the one in use)
                assert not re.search(r'<input[^>]*\bname="score__[^>]*\bchecked', text), (
                    pid,
                    where,
                )
    assert not _row_leaks(Path(str(ctx.stores.panel.location)), "", n_crit)
    # the scan did cover every kind of thing (a scan of nothing would pass)
    assert {"panel", "form", "email", "letter", "score", "calendar"} <= kinds
    results_tab = _workbook_texts(Path(str(ctx.stores.panel.location)))
    assert not _numbers(results_tab["panel workbook: Shortlisting results"].split("\n")[1])

    # ------------------------------------------------------------- after release
    for pid in scorers:
        if pid not in PLANTED:
            done.setdefault(pid, {})["shortlisting"] = _send(ctx, pid)
    run_all()
    write_pack(ctx, "panel")
    merged = ctx.stores.staff.read_one("results")
    merged = merged[merged["stage"] == "shortlisting"]
    shown = ctx.stores.panel.read_one("shortlisting_results")
    assert sorted(shown["candidate_letter"]) == sorted(merged["candidate_letter"])
    for _, r in shown.iterrows():
        m = merged[merged["candidate_letter"] == r["candidate_letter"]].iloc[0]
        assert r["council_score"] == m["council_score"]
        assert r["lived_experience_score"] == m["lived_experience_score"]
        assert r["overall_score"] == m["overall_score"]
    assert list(shown.columns)[:1] == ["candidate_letter"]
    assert not {"person_id", "comment", "comments"} & set(shown.columns)
    assert not _row_leaks(Path(str(ctx.stores.panel.location)), "", n_crit)
    printed = sheets()
    for pid in scorers:
        reach = _reachable(ctx, pid, people.get(pid, ""), printed, done)
        assert "panel decision pack" in reach
        for where, text in reach.items():
            leaks = [x for x in _leaks(text, pid, n_crit) if not re.fullmatch(r"p\d+ comment", x)]
            assert not leaks, (pid, where, leaks)  # no scores, no unreleased interview notes
            if where == "panel decision pack":
                # shortlisting comments are shared for the meeting, never who wrote them
                assert not re.search(r"\bp0\d\b", text)
                for other, plant in PLANTED.items():
                    if other == pid:
                        continue
                    at = [m.start() for m in re.finditer(re.escape(plant["comment"]), text)]
                    assert at, (pid, other)  # the released results really are there
                    for a in at:
                        assert "A member of the" in text[max(0, a - 400) : a]
            elif where.startswith("panel workbook"):
                assert not any(p["comment"] in text for p in PLANTED.values())
            elif not (where.startswith("form") and pid in PLANTED):
                # forms, emails, letters, sheets and calendars never carry comments
                assert not _leaks(text, pid, n_crit), (pid, where)
    # The merged numbers are really there for the panels to see.
    assert _numbers(
        _workbook_texts(Path(str(ctx.stores.panel.location)))[
            "panel workbook: Shortlisting results"
        ].split("\n")[1]
    )
    assert dt.date(2027, 1, 25) == ctx.now().date()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
def test_printed_pdf_score_sheets_hold_no_other_members_scores(ctx: Context) -> None:
    from pypdf import PdfReader

    camp = Campaign(ctx)
    n_crit = len(ctx.campaign.criteria)
    for pid in ("p03", "p05"):  # large print (p03), and a member who has scored (p05)
        for stage in ("shortlisting", "interview"):
            res = scoresheets_job(ctx, stage, people=[pid], pdf=True)  # type: ignore[arg-type]
            pdfs = [f for f in res.files if f.suffix == ".pdf"]
            assert pdfs, (pid, stage)
            for f in pdfs:
                text = "\n".join(pg.extract_text() or "" for pg in PdfReader(f).pages)
                # the reader really reads the sheet: every letter's heading is there
                letters = ["A", "B"] if stage == "interview" else sorted(PLANTED["p01"]["scores"])
                for x in letters:
                    assert f"Candidate {x}" in text, (f.name, x)
                assert not _leaks(text, pid, n_crit), (f.name, _leaks(text, pid, n_crit))
    assert camp.scorers
