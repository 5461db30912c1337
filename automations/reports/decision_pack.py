"""The decision pack for the panels' meeting: plain HTML people can read, print or zoom.

The guidance: both panels "meet after the interviews have finished to share their
scores and make the overall decision together". The pack prepares that meeting: per
candidate, each panel's view side by side, question by question, with the numbers
written out, the things to talk about and the comments. It never picks anyone.

Two versions:

* ``staff``: may name candidates (from the candidate key) and shows how each reviewer
  scores. Keep it with staff.
* ``panel``: candidate letters only; no names and no one person's scores. Only stages
  whose results are released (every score in, or ``merge.released``) are included.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import jinja2
import pandas as pd

from ..config import CampaignConfig
from ..context import Context
from ..errors import CorecruitError
from ..files import private_dir
from ..transforms import merge as M
from ..transforms.values import is_empty

TEMPLATES = Path(__file__).resolve().parent / "templates"
VERSIONS = ("staff", "panel")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class PackHeldBack(CorecruitError):
    """The panel version cannot be made yet: results are not released."""


@dataclass
class Bar:
    label: str
    panel: str
    value: str  # "72.50" or "no score"
    width: str  # percent for CSS, "0"


def _bar(panel: str, f: Fraction | None) -> Bar:
    d = M.to_decimal(f)
    width = "0" if d is None else str(max(Decimal(0), min(d, Decimal(100))))
    return Bar(M.PANEL_WORDS[panel].capitalize(), panel.replace(" ", "-"), M.show(d), width)


def _names(frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Candidate letter -> name, for the staff version only."""
    key = frames.get("candidate_key")
    apps = frames.get("applications")
    if key is None or apps is None or not len(key) or not len(apps):
        return {}
    by_app = {}
    for _, a in apps.iterrows():
        first = "" if is_empty(a.get("preferred_name")) else str(a["preferred_name"]).strip()
        first = first or ("" if is_empty(a.get("first_name")) else str(a["first_name"]).strip())
        last = "" if is_empty(a.get("last_name")) else str(a["last_name"]).strip()
        by_app[str(a.get("application_id", ""))] = " ".join(x for x in (first, last) if x)
    out = {}
    for _, k in key.iterrows():
        name = by_app.get(str(k.get("application_id", "")), "")
        if name:
            out[str(k["candidate_letter"])] = name
    return out


def render_pack(
    outcome: M.MergeOutcome,
    campaign: CampaignConfig,
    version: str,
    *,
    names: Mapping[str, str] | None = None,
    stages: tuple[str, ...] = M.STAGES,
    generated_at: dt.datetime | None = None,
    organisation: str = "",
    evidence: Mapping[str, Mapping[str, object]] | None = None,
) -> str:
    """The pack as one HTML document (no scripts, no outside files)."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}")
    staff = version == "staff"
    names = dict(names or {}) if staff else {}
    panels = outcome.panels
    stage_views = []
    for stage in stages:
        results = outcome.stage(stage)
        if not results:
            continue
        items = outcome.items[stage]
        cands = []
        for r in sorted(results, key=lambda x: x.letter):
            rows = []
            for it in items:
                rows.append(
                    {
                        "id": it.id,
                        "text": it.text,
                        "weight": it.weight,
                        "bars": [
                            _bar(p, r.by_item[it.id].get(p)) for p in panels if it.for_panel(p)
                        ],
                    }
                )
            comments = [
                {
                    "who": (
                        f"{c.person_id} ({M.PANEL_WORDS[c.panel]})"
                        if staff
                        else f"A member of the {M.PANEL_WORDS[c.panel]}"
                    ),
                    "item": c.item_id,
                    "text": c.text,
                }
                for c in r.comments
            ]
            cands.append(
                {
                    "letter": r.letter,
                    "name": names.get(r.letter, ""),
                    "rank": r.rank,
                    "overall": M.show(r.overall),
                    "totals": [_bar(p, r.panel_scores.get(p)) for p in panels],
                    "explanation": r.explanation(panels, outcome.carry_weight),
                    "flags": [f.for_staff() if staff else f.text for f in r.flags],
                    "rows": rows,
                    "comments": comments,
                    # extra evidence (issue 10), beside the interview scores
                    "evidence": (evidence or {}).get(r.letter) if stage == "interview" else None,
                    "members": (
                        sorted((pid, M.show(v)) for pid, v in r.member_scores.items())
                        if staff
                        else []
                    ),
                }
            )
        summary = [
            {
                "letter": r.letter,
                "name": names.get(r.letter, ""),
                "scores": [M.show(r.panel_scores.get(p)) for p in panels],
                "overall": M.show(r.overall),
                "rank": r.rank if r.rank is not None else "–",
                "check_rank": (r.check_rank if r.check_rank is not None else "–"),
                "flags": len(r.flags),
            }
            for r in results
        ]
        reviewers = [
            {
                **rec,
                "mean": M.show(rec["mean"]),
                "spread": M.show(rec["spread"]),
                "others_mean": M.show(rec["others_mean"]),
                "panel_spread": M.show(rec["panel_spread"]),
                "difference": M.show(rec["difference"]),
                "mean_z": M.show(rec["mean_z"]),
            }
            for rec in M.reviewer_records(outcome)
            if rec["stage"] == stage
        ]
        stage_views.append(
            {
                "id": stage,
                "title": "Shortlisting" if stage == "shortlisting" else "Interviews",
                "what": "criterion" if stage == "shortlisting" else "question",
                "complete": outcome.complete.get(stage, False),
                "summary": summary,
                "candidates": cands,
                "reviewers": reviewers if staff else [],
                "carry": stage == "interview" and outcome.carry_weight > 0,
            }
        )
    example = _worked_example(outcome, stages)
    return _ENV.get_template("decision_pack.html.j2").render(
        staff=staff,
        campaign=campaign.campaign,
        organisation=organisation,
        panels=[M.PANEL_WORDS[p] for p in panels],
        panel_keys=[p.replace(" ", "-") for p in panels],
        separate=len(panels) > 1,
        gap=M.show(Fraction(campaign.merge.disagreement_gap)),
        carry=M.to_decimal(outcome.carry_weight * 100, 0),
        zscores=outcome.zscores and staff,
        stages=stage_views,
        example=example,
        generated=(generated_at or dt.datetime.now()).strftime("%d %B %Y at %H:%M"),
    )


def _worked_example(outcome: M.MergeOutcome, stages: tuple[str, ...]) -> str:
    """The equal weighting shown on the first candidate with every panel's score."""
    for stage in stages:
        for r in outcome.stage(stage):
            if r.stage_score is not None:
                return f"For example, candidate {r.letter}: " + r.explanation(
                    outcome.panels, Fraction(0)
                )
    return ""


def _evidence(
    ctx: Context, frames: Mapping[str, pd.DataFrame], outcome: M.MergeOutcome
) -> dict[str, dict[str, object]]:
    """Extra evidence per letter (issue 10), beside the panels' overall interview score."""
    from ..transforms.evidence import summarise

    ev = frames.get("extra_evidence")
    if ev is None or ev.empty:
        return {}
    cfg = ctx.campaign.extra_evidence
    overall = {
        r.letter: d
        for r in outcome.stage("interview")
        if (d := M.to_decimal(r.overall, 1)) is not None
    }
    out: dict[str, dict[str, object]] = {}
    for row in summarise(ev, overall, cfg):
        out[str(row["candidate_letter"])] = {
            **row,
            "views": str(row["views"]).split("\n"),
            "share": M.to_decimal(Fraction(cfg.share) * 100, 0),
        }
    return out


def write_pack(ctx: Context, version: str = "staff", out: Path | None = None) -> Path:
    """Read the staff workbook once, merge, and write the pack (atomically)."""
    from ..jobs.merge import pack_frames, released, run_merge

    frames = pack_frames(ctx)
    outcome = run_merge(ctx, frames)
    stages: tuple[str, ...] = M.STAGES
    if version == "panel":
        stages = tuple(s for s in M.STAGES if released(ctx, outcome, s))
        if not stages:
            raise PackHeldBack(
                "The panel version is held back: some panel members have not sent in all "
                "their scores yet, so showing the results now could sway them. Run it again "
                "once every score is in, or set merge.released = true in the campaign's "
                "config to release the results anyway."
            )
    html = render_pack(
        outcome,
        ctx.campaign,
        version,
        names=_names(frames) if version == "staff" else None,
        stages=stages,
        generated_at=ctx.now(),
        organisation=ctx.settings.org.organisation.name,
        evidence=_evidence(ctx, frames, outcome),
    )
    if out is None:
        out = ctx.settings.workspace / ctx.campaign.id / f"decision-pack-{version}.html"
    private_dir(out.parent)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".pack-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
