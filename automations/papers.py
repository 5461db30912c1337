"""Printed papers: score sheets as pages, and the panel's papers by post for people who
cannot be given the panel workbook.

Many panel members with lived experience use a personal address that has no Google
account: Drive will not share the panel workbook with it (see :mod:`.sharing`, which
records "could not share" on the Sharing tab). What works without an account is
their own form link, and paper. :func:`post_papers` gives each of them

* a pack in ``<workspace>/<campaign>/post/<person>-<version>/``: their score sheets
  with each candidate's anonymised answers (the same build as
  ``corecruit scoresheets print``), as HTML and as PDF printed by chromium;
* a letter saying what is in the envelope, with their own form link, queued for staff
  through the one sender (:func:`.sending.send_once`) as a letter, never an email: the
  issue asks for these papers by letter only;
* a line on 'Needs attention': "Print and post Candidate papers to p03", with where the
  letter and the pack are.

A pack's version is a hash of its pages, so a run killed anywhere and run again
makes no second letter (the sent-messages log has it), and a changed panel content
(a late candidate, an edited answer) makes a new version and a new letter, once.
Before anything is made, every page goes through the redaction guard
(:func:`.transforms.scoresheets.paper_leaks`): a candidate's name or contact detail on
a page stops the pack. Logs and Needs attention name people by person id only.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from .context import Context
from .errors import JobError
from .jobs import JobResult
from .locks import job_lock
from .mail.delivery import letter_stem
from .printing import html_to_pdf, render_page, write_atomic
from .sending import Item, send_once
from .store.frames import make_frame
from .transforms.messages import (
    DELIVERED,
    base_key,
    fingerprint,
    person_recipient,
)
from .transforms.scoresheets import (
    Sheet,
    answers_by_letter,
    build_sheets,
    letters_for,
    paper_leaks,
    posted_to,
    sheet_context,
)
from .transforms.values import text as _text

log = logging.getLogger("corecruit.papers")

RULE = "candidate-papers"  # the rule named on the sent-messages log
OCCASION = "panel papers"
TEMPLATE = "post/candidate_papers"
JOB = "papers by post"
STAFF_TABS = ["sharing", "people", "candidate_key", "applications", "timetable", "form_links"]
WHY = (
    "could not be given access to the panel workbook, so their candidate papers go by "
    "post with this letter"
)
NOBODY = "nobody needs papers by post"
STAGE_WORDS = {"shortlisting": "shortlisting", "interview": "interview"}


def sheet_pages(
    ctx: Context,
    sheets: Sequence[Sheet],
    answers: dict[str, dict[str, str]] | None = None,
) -> list[tuple[str, str]]:
    """Each sheet set as one printable HTML page: (file stem, html)."""
    org = ctx.settings.org.organisation.name
    return [
        (
            s.file_stem,
            render_page(
                "score_sheet.html.j2", sheet_context(s, ctx.campaign, org, answers), ctx.settings
            ),
        )
        for s in sheets
    ]


@dataclass
class Pack:
    """One person's papers for post, at one version of the panel's content."""

    person_id: str
    pages: list[tuple[str, str]]  # (file stem, html)
    describe: list[str] = field(default_factory=list)  # what is in the envelope, in words
    folder: Path = Path()

    @property
    def version(self) -> str:
        """A hash of what is printed: the same papers, the same version."""
        h = hashlib.sha256()
        for stem, html in self.pages:
            h.update(stem.encode() + b"\0" + html.encode() + b"\0")
        return h.hexdigest()[:12]


def _describe(sheet: Sheet, n: int) -> str:
    kind = (
        "Shortlisting score sheets, with each candidate's answers to read"
        if sheet.stage == "shortlisting"
        else "Interview score sheets"
    )
    fmt = "" if sheet.format == "standard" else f", in {sheet.format}"
    return f"{kind}{fmt}: {n} candidate(s), shown by letter only"


def build_packs(
    ctx: Context, frames: dict[str, pd.DataFrame], panel_apps: pd.DataFrame, who: Sequence[str]
) -> tuple[list[Pack], list[str]]:
    """Each person's pages (every stage with candidates), and notes for staff."""
    answers = answers_by_letter(ctx.campaign, panel_apps)
    packs: list[Pack] = []
    notes: list[str] = []
    for pid in who:
        pack = Pack(pid, [])
        for stage in ("shortlisting", "interview"):
            letters, _ = letters_for(
                stage, frames["candidate_key"], frames["applications"], frames["timetable"]
            )
            if not letters:
                continue
            sheets = build_sheets(ctx.campaign, frames["people"], letters, stage, only=[pid])
            pack.pages += sheet_pages(ctx, sheets, answers if stage == "shortlisting" else None)
            pack.describe += [_describe(s, len(letters)) for s in sheets]
        if pack.pages:
            packs.append(pack)
        else:
            notes.append(
                f"{pid} could not be given access to the panel workbook, and there are no "
                "score sheets for them yet (no candidate letters, or they do not score). "
                "Post them what they need from the panel workbook another way."
            )
    return packs, notes


def write_pack(pack: Pack, folder: Path, chromium: str) -> list[Path]:
    """The pack's HTML and PDF files in ``folder`` (a rerun reuses what is there)."""
    pack.folder = folder
    htmls: list[Path] = []
    for stem, html in pack.pages:
        path = folder / f"{stem}.html"
        if not path.exists() or path.read_text(encoding="utf-8") != html:
            write_atomic(path, html)
        htmls.append(path)
    todo = [p for p in htmls if not p.with_suffix(".pdf").exists()]
    html_to_pdf(todo, chromium)
    return [p.with_suffix(".pdf") for p in htmls]


def _links(frames: dict[str, pd.DataFrame], pid: str) -> list[dict[str, str]]:
    """The person's own score form links (they work without a Google account)."""
    out = []
    for _, r in frames["form_links"].iterrows():
        stage, url = _text(r.get("stage")), _text(r.get("url"))
        if _text(r.get("person_id")) == pid and stage in STAGE_WORDS and url:
            out.append({"words": f"Your {STAGE_WORDS[stage]} score form", "url": url})
    return out


def _letter_key(ctx: Context, item: Item, sent: dict[str, Item], log_df: pd.DataFrame) -> str:
    """The sent-messages key of ``item`` as sent now, or as sent by an earlier run."""
    for key, it in sent.items():
        if it is item:
            return key
    base = base_key(item.rule, item.recipient.id, ctx.campaign.id, item.occasion)
    h = fingerprint(item.facts)
    for _, r in log_df.iterrows():
        key = _text(r.get("message_key"))
        if (
            (key == base or key.startswith(base + "|v"))
            and _text(r.get("content_hash")) == h
            and _text(r.get("status")) in DELIVERED
        ):
            return key
    return ""


def post_papers(ctx: Context) -> JobResult:
    """For everyone the panel workbook could not be shared with: their papers and a letter
    for staff to post, once per version of the papers, and a line on Needs attention.

    One run per campaign at a time (two at once would print the same pack twice)."""
    with job_lock(ctx, "papers"):
        return _post_papers(ctx)


def _post_papers(ctx: Context) -> JobResult:
    res = JobResult(job=JOB)
    staff = ctx.stores.staff
    frames = staff.read(STAFF_TABS, errors="collect")
    res.api_calls += 1
    who = posted_to(frames["sharing"])
    if not who:
        res.detail = NOBODY
        return res
    panel_apps = ctx.stores.panel.read_one("applications", errors="collect")
    res.api_calls += 1
    res.rows_read = sum(len(df) for df in frames.values()) + len(panel_apps)
    packs, notes = build_packs(ctx, frames, panel_apps, who)
    res.attention.extend(notes)
    leaks = paper_leaks(
        [p for pack in packs for p in pack.pages], frames["applications"], frames["candidate_key"]
    )
    title = ctx.stores.panel.tab("applications").label
    if leaks:  # the last guard: nothing is printed or queued
        raise JobError(
            "No papers were made for post: "
            + "; ".join(leaks)
            + f". Edit the answer on the panel workbook's '{title}' tab (by candidate letter) "
            "and run again."
        )
    folder = ctx.settings.workspace / ctx.campaign.id
    chromium = ctx.settings.org.printing.chromium
    people = {_text(r.get("person_id")): r.to_dict() for _, r in frames["people"].iterrows()}
    items: list[tuple[Pack, Item]] = []
    for pack in packs:
        pdfs = write_pack(pack, folder / "post" / f"{pack.person_id}-{pack.version}", chromium)
        r = replace(person_recipient(people[pack.person_id]), channel="other", reason=WHY)
        items.append(
            (
                pack,
                Item(
                    rule=RULE,
                    recipient=r,
                    occasion=OCCASION,
                    template=TEMPLATE,
                    context={
                        "papers": pack.describe,
                        "files": [p.name for p in pdfs],
                        "form_links": _links(frames, pack.person_id),
                    },
                    facts={"papers": pack.version},
                    planned=f"{RULE} -> {r.label}, papers {pack.version}",
                ),
            )
        )
    sent = send_once(ctx, [it for _, it in items])
    sent.add_to(res)
    new = len(sent.report.other_way) if sent.report is not None else 0
    log_df = sent.frames.get("sent_messages", pd.DataFrame())
    now = ctx.now()
    rows = []
    for pack, it in items:
        key = _letter_key(ctx, it, sent.sent_keys, log_df)
        if not key:
            continue  # not settled yet: the next run says it
        version = key.rpartition("|v")[2] if "|v" in key else "1"
        letter = folder / "letters" / f"{letter_stem(key)}.html"
        if not letter.exists():  # a team template may give text only
            letter = letter.with_suffix(".txt")
        rows.append(
            {
                "exception_id": f"post|{pack.person_id}|{pack.version}",
                "job": JOB,
                "source": f"panel workbook, {pack.person_id}",
                "reason": f"Print and post Candidate papers to {pack.person_id}: they could not "
                f"be given access to the panel workbook. Print the letter ({letter}) and "
                f"every PDF in {pack.folder}, and post them together (no address is kept "
                "here: use the one your team has for them)."
                + (
                    f" This is version {version}: it replaces the papers posted before "
                    "(the panel workbook changed)."
                    if version != "1"
                    else ""
                ),
                "raised_at": now,
            }
        )
        log.info("papers by post: %s, papers %s", pack.person_id, pack.version)
    if rows:
        res.rows_written += staff.append("exceptions", make_frame(staff.tab("exceptions"), rows))
        res.api_calls += 1
    res.detail = (
        f"{len(packs)} person(s) get their papers by post; {new} new letter(s) "
        "for staff to print and post: see 'Needs attention'"
    )
    return res


__all__ = ["NOBODY", "Pack", "build_packs", "post_papers", "sheet_pages", "write_pack"]
