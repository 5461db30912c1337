"""Questions shaped together: propose, collect the views, agree, and tell candidates.

* :func:`propose_job` drafts questions from the job criteria and the bank into the
  staff workbook's ``question_drafts`` tab (once: a rerun adds nothing), and writes
  a printable version for advisors who prefer paper.
* :func:`collect_job` lines up the advisors' views (``question_views``) beside each
  draft, and writes a side-by-side page for the pre-meeting.
* :func:`agree_job` writes the agreed set to the campaign file, the panel
  workbook's questions tab and, beside each draft, how it was shaped.
* :func:`send_pack_job` sends each invited candidate the questions, what to expect
  and who is on the panel, exactly once (a corrected pack if the questions change).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import load_settings
from ..config.models import CampaignConfig
from ..context import Context
from ..coprod_forms import collect_forms, push_forms
from ..errors import ConfigError, JobError, SheetProblems
from ..printing import render_page, write_atomic
from ..sending import Item, send_once
from ..store import append_new, make_frame, upsert_rows
from ..transforms import questions as tq
from ..transforms.coprod_mail import pack_panel, pack_questions
from ..transforms.messages import candidate_recipient
from ..transforms.reminders import letters_from_key
from ..workspace import scale_text
from . import JobResult


@dataclass
class QuestionsResult(JobResult):
    files: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # what to show (ids and words, no names)


def _folder(ctx: Context) -> Path:
    return ctx.settings.workspace / ctx.campaign.id / "questions"


def bank_paths(ctx: Context) -> list[Path]:
    return [ctx.settings.config_dir / "question_bank.toml", tq.PACKAGED_BANK]


def _criteria_words(campaign: CampaignConfig) -> dict[str, str]:
    return {c.id: c.text for c in campaign.criteria}


def propose_job(ctx: Context, *, forms: bool = True, send: bool = True) -> QuestionsResult:
    """Draft one question per panel member from the criteria (once; reruns add nothing),
    then give each co-production advisor their own questions form (link sent once)."""
    res = _propose(ctx)
    if forms:
        pushed = push_forms(ctx, "questions", send=send)
        res.messages_sent += pushed.messages_sent
        res.attention.extend(pushed.attention)
        res.lines.extend(f"form link: {line}" for line in pushed.planned)
        res.detail += f"; {pushed.detail}"
    return res


def _propose(ctx: Context) -> QuestionsResult:
    res = QuestionsResult(job="questions propose")
    staff = ctx.stores.staff
    with staff.locked():
        frames = staff.read(["people", tq.DRAFTS], errors="collect")
        res.api_calls += 1
        existing = frames[tq.DRAFTS]
        if len(existing):
            res.detail = f"{len(existing)} draft(s) already proposed; nothing changed"
            res.lines = [
                f"{d}: {t}" for d, t in zip(existing["draft_id"], existing["text"], strict=True)
            ]
            return res
        n = len(tq.askers(frames["people"]))
        proposal = tq.propose(ctx.campaign, tq.load_bank(bank_paths(ctx)), n)
        res.attention.extend(proposal.notes)
        spec = staff.tab(tq.DRAFTS)
        merged, added = append_new(
            spec, existing, make_frame(spec, tq.draft_rows(proposal, ctx.now()))
        )
        staff.write({tq.DRAFTS: merged})
        res.api_calls += 1
        res.rows_written = added
    res.lines = [f"{d.draft_id} ({', '.join(d.criteria)}): {d.text}" for d in proposal.drafts]
    res.files.append(_write_shaping_page(ctx, merged))
    res.detail = f"{added} draft question(s) proposed for {n} panel member(s)"
    return res


def _drafts_context(ctx: Context, drafts: pd.DataFrame) -> list[dict[str, Any]]:
    words = _criteria_words(ctx.campaign)
    out = []
    for _, d in drafts.iterrows():
        ids = [c.strip() for c in tq._text(d.get("criteria")).split(",") if c.strip()]
        out.append(
            {
                "draft_id": tq._text(d["draft_id"]),
                "text": tq._text(d["text"]),
                "criteria": [words.get(c, c) for c in ids],
                "keep": tq._int(d.get("keep_count")),
                "change": tq._int(d.get("change_count")),
                "drop": tq._int(d.get("drop_count")),
                "suggestions": [s for s in tq._text(d.get("suggestions")).split("\n") if s],
                "comments": [s for s in tq._text(d.get("comments")).split("\n") if s],
            }
        )
    return out


def _page_context(ctx: Context) -> dict[str, Any]:
    c = ctx.campaign.campaign
    return {
        "org_name": ctx.settings.org.organisation.name,
        "post": c.post,
        "team": c.team,
        "large": False,
        "easy_read": False,
    }


def _write_shaping_page(ctx: Context, drafts: pd.DataFrame, large: bool = False) -> Path:
    """The draft questions as a printable page, for advisors who prefer paper."""
    page = render_page(
        "question_shaping.html.j2",
        {**_page_context(ctx), "large": large, "drafts": _drafts_context(ctx, drafts)},
        ctx.settings,
    )
    path = _folder(ctx) / ("draft-questions-large-print.html" if large else "draft-questions.html")
    write_atomic(path, page)
    return path


def collect_job(ctx: Context, *, forms: bool = True) -> QuestionsResult:
    """Bring in the questions forms' answers, then line up the advisors' views beside
    each draft, in the sheet and on a page for the pre-meeting."""
    res = QuestionsResult(job="questions collect")
    if forms:
        got = collect_forms(ctx, "questions")
        res.api_calls += got.api_calls
        res.rows_written += got.rows_written
    staff = ctx.stores.staff
    with staff.locked():
        frames = staff.read(["people", tq.DRAFTS, tq.VIEWS], errors="collect")
        res.api_calls += 1
        drafts, views = frames[tq.DRAFTS], frames[tq.VIEWS]
        res.rows_read = len(drafts) + len(views)
        if drafts.empty:
            raise JobError("there are no draft questions yet. Run 'corecruit questions propose'.")
        res.attention.extend(f"{p} (left out)" for p in views.attrs.get("problems", []))
        summary = tq.side_by_side(drafts, views, tq.view_names(frames["people"]))
        res.attention.extend(f"{p} (left out)" for p in summary.problems)
        spec = staff.tab(tq.DRAFTS)
        merged = upsert_rows(spec, drafts, pd.DataFrame(summary.rows))
        if not merged.reset_index(drop=True).equals(
            upsert_rows(spec, drafts, drafts.iloc[0:0]).reset_index(drop=True)
        ):
            res.rows_written += staff.write({tq.DRAFTS: merged})
            res.api_calls += 1
    n_people = views["person_id"].map(tq._text).replace("", pd.NA).dropna().nunique()
    page = render_page(
        "question_premeeting.html.j2",
        {**_page_context(ctx), "drafts": _drafts_context(ctx, merged), "n_people": n_people},
        ctx.settings,
    )
    path = _folder(ctx) / "pre-meeting.html"
    write_atomic(path, page)
    res.files.append(path)
    res.lines = [
        f"{r['draft_id']}: keep {r['keep_count']}, change {r['change_count']}, "
        f"drop {r['drop_count']}"
        for r in summary.rows
    ]
    res.detail = f"views from {n_people} people on {len(drafts)} draft(s)"
    return res


# ---------------------------------------------------------------------- agree


def write_campaign_questions(
    path: Path, campaign: CampaignConfig, agreed: tq.Agreed, now: dt.datetime
) -> bool:
    """Replace the campaign file's questions, atomically, only if the result loads."""
    from ..config import parse_file

    text = path.read_text(encoding="utf-8")
    if _same_questions(text, agreed):
        return False
    new = tq.replace_questions(
        text,
        agreed.questions,
        note=f"{tq.NOTE_PREFIX[2:]}; written by 'corecruit questions agree' "
        f"on {now:%Y-%m-%d}. How each was shaped is in the staff workbook.",
    )
    tmp_dir = path.parent
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".", suffix=".toml.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    try:
        check = parse_file(Path(tmp), CampaignConfig)
        if [q.model_dump() for q in check.questions] != [q.model_dump() for q in agreed.questions]:
            raise ConfigError(
                str(path), "questions", "the agreed questions could not be written safely"
            )
        if check.model_dump(exclude={"questions"}) != campaign.model_dump(exclude={"questions"}):
            raise ConfigError(str(path), None, "writing the questions would change other settings")
    except Exception:
        os.unlink(tmp)
        raise
    os.replace(tmp, path)
    return True


def _same_questions(text: str, agreed: tq.Agreed) -> bool:
    try:
        now_qs = CampaignConfig.model_validate(tomllib.loads(text)).questions
    except Exception:
        return False
    return [q.model_dump() for q in now_qs] == [q.model_dump() for q in agreed.questions]


def agree_job(ctx: Context, *, force: bool = False) -> QuestionsResult:
    """Write the agreed questions to the campaign file and the panel workbook."""
    res = QuestionsResult(job="questions agree")
    staff, panel = ctx.stores.staff, ctx.stores.panel
    path = ctx.settings.campaign_files.get(ctx.campaign.id)
    if path is None:
        raise ConfigError("campaigns", ctx.campaign.id, "the campaign file is not known")
    with staff.locked():
        frames = staff.read(["people", tq.DRAFTS, "raw_scores"], errors="collect")
        res.api_calls += 1
        drafts = frames[tq.DRAFTS]
        probs = list(drafts.attrs.get("problems", []))
        agreed = tq.agreed_set(drafts, frames["people"], ctx.campaign)
        probs.extend(agreed.problems)
        if probs:
            raise SheetProblems(probs)
        res.attention.extend(agreed.warnings)
        raw = frames["raw_scores"]
        scored = int((raw["stage"] == "interview").sum()) if len(raw) else 0
        current = [q.model_dump() for q in ctx.campaign.questions]
        changing = current != [q.model_dump() for q in agreed.questions]
        if scored and changing and not force:
            raise JobError(
                f"{scored} interview score(s) are already in Raw scores for the current "
                "questions. Changing the questions now would mix two sets. If you are sure, "
                "run again with --force."
            )
        now = ctx.now()
        wrote_file = write_campaign_questions(path, ctx.campaign, agreed, now)
        # the sheets: staff drafts get ids and the shaping record; the panel gets the set
        rows = []
        for did, qid in agreed.question_ids.items():
            prev = drafts[drafts["draft_id"] == did]
            was = tq._text(prev.iloc[0]["how_shaped"]) if len(prev) else ""
            same = was == agreed.history[did] and tq._text(prev.iloc[0]["question_id"]) == qid
            rows.append(
                {
                    "draft_id": did,
                    "question_id": qid,
                    "how_shaped": agreed.history[did],
                    "agreed_at": prev.iloc[0]["agreed_at"] if same else now,
                }
            )
        for _, d in drafts.iterrows():
            if tq._text(d["draft_id"]) not in agreed.question_ids and tq._text(d["question_id"]):
                rows.append(
                    {"draft_id": tq._text(d["draft_id"]), "question_id": "", "how_shaped": ""}
                )
        merged = upsert_rows(staff.tab(tq.DRAFTS), drafts, pd.DataFrame(rows))
        res.rows_written += staff.write({tq.DRAFTS: merged})
        res.api_calls += 1
    ctx.settings = load_settings(ctx.settings.config_dir)
    ctx.campaign = ctx.settings.campaign(ctx.campaign.id)
    by_q = {qid: did for did, qid in agreed.question_ids.items()}
    names = tq.view_names(frames["people"])
    intro = {
        tq._text(r["person_id"]): tq._text(r["introduction"])
        or names.get(tq._text(r["person_id"]), "")
        for _, r in frames["people"].iterrows()
    }
    words = _criteria_words(ctx.campaign)
    pq = make_frame(
        panel.tab("questions"),
        [
            {
                "question_id": q.id,
                "text": q.text,
                "asked_by": intro.get(q.asker or "", ""),
                "scale": scale_text(q.scale),
                "criteria": "; ".join(words[c] for c in q.criteria),
                "how_shaped": agreed.history[by_q[q.id]],
                "weight": q.weight,
            }
            for q in agreed.questions
        ],
    )
    with panel.locked():
        panel.read(["questions"], refresh=True)
        res.rows_written += panel.write({"questions": pq})
        res.api_calls += 2
    res.lines = [
        f"{q.id} (asked by {q.asker}; tests {', '.join(q.criteria)}): {q.text}"
        for q in agreed.questions
    ]
    res.detail = f"{len(agreed.questions)} agreed question(s) written to the panel workbook" + (
        f" and {path.name}" if wrote_file else f" ({path.name} already had them)"
    )
    return res


# ---------------------------------------------------------------- candidate pack


def pack_context(ctx: Context, people: pd.DataFrame) -> dict[str, Any]:
    """What every candidate's pack says: the same data for the email and the page."""
    return {"questions": pack_questions(ctx.campaign, people), "panel": pack_panel(people)}


def send_pack_job(ctx: Context, *, dry_run: bool = False) -> QuestionsResult:
    """Send each invited candidate the questions, what to expect and the panel, once."""
    res = QuestionsResult(job="questions send-pack")
    frames = ctx.stores.staff.read(["people", "applications", "candidate_key"], errors="collect")
    res.api_calls += 1
    if not ctx.campaign.questions:
        raise JobError("there are no agreed questions yet. Run 'corecruit questions agree' first.")
    letters = letters_from_key(frames["candidate_key"])
    base = pack_context(ctx, frames["people"])
    org = ctx.settings.org
    page_values = {
        **_page_context(ctx),
        **base,
        "team_contact": org.organisation.team_contact or org.mail.from_address,
    }
    page = render_page("candidate_pack.html.j2", page_values, ctx.settings)
    large = render_page("candidate_pack.html.j2", {**page_values, "large": True}, ctx.settings)
    for name, text in (("candidate-pack.html", page), ("candidate-pack-large-print.html", large)):
        write_atomic(_folder(ctx) / name, text)
        res.files.append(_folder(ctx) / name)
    facts = {"questions": base["questions"], "panel": base["panel"]}
    items = []
    for _, a in frames["applications"].iterrows():
        app = tq._text(a.get("application_id"))
        if tq._text(a.get("status")) != "invited" or app not in letters:
            continue
        r = candidate_recipient(a.to_dict(), letters[app])
        items.append(
            Item(
                rule="candidate-pack",
                recipient=r,
                occasion="interview questions",
                template="coprod/candidate_pack",
                context=base,
                facts=facts,
                attachments=[("interview-questions.html", page.encode(), "text", "html")],
            )
        )
    sent = send_once(ctx, items, dry_run=dry_run)
    res.lines = sent.planned
    res.attention.extend(sent.attention)
    if dry_run or sent.report is None:
        res.detail = (
            f"dry run: {len(sent.planned)} pack(s) would go out"
            if dry_run
            else f"nothing to send ({len(items)} invited candidate(s) already have the pack)"
        )
        return res
    rep = sent.report
    res.messages_sent = len(rep.sent)
    res.rows_written = rep.rows_written
    res.detail = f"{len(rep.sent)} pack(s) sent" + (
        f", {len(rep.other_way)} for staff to pass on another way" if rep.other_way else ""
    )
    return res
