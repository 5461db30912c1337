"""Set up a campaign's workbooks (``init``) and check them against the templates (``check``)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .config import CampaignConfig
from .context import Context
from .errors import Problem, SheetProblems

# Owner-only files and folders live in files.py (the stores and the mail seam use them
# without importing the rest of corecruit); they are the workspace's helpers too.
from .files import private_dir as private_dir
from .files import private_file as private_file
from .files import secure_tree
from .files import write_private as write_private
from .store import InitReport, make_frame
from .store.cells import CellError, parse_cell
from .templates import TabSpec, templates_root

EXAMPLE_DIR = templates_root() / "example"


@dataclass
class InitResult:
    staff: InitReport
    panel: InitReport
    loaded: dict[str, int] = field(default_factory=dict)


def scale_text(scale: object) -> str:
    """A scale in words, e.g. '0 No evidence · 1 A little … 4 Excellent'."""
    lo, hi, labels = scale.min, scale.max, scale.labels  # type: ignore[attr-defined]
    if not labels:
        return f"{lo} to {hi}"
    return "; ".join(f"{k} = {v}" for k, v in sorted(labels.items(), key=lambda kv: int(kv[0])))


def campaign_dates(campaign: CampaignConfig) -> list[dict[str, object]]:
    """The dates tab rows that config supplies (staff may then change them in the sheet)."""
    d = campaign.dates
    plan = campaign.interviews

    def at(day: dt.date, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, t)

    rows: list[dict[str, object]] = [
        {"event": "recruitment agreed", "starts_at": at(d.recruitment_agreed, dt.time(9))},
        {"event": "shortlisting opens", "starts_at": at(d.shortlisting_opens, dt.time(9))},
        {"event": "shortlisting deadline", "starts_at": at(d.shortlisting_deadline, dt.time(17))},
    ]
    if d.preparation_meeting:
        rows.append(
            {
                "event": "preparation meeting",
                "starts_at": d.preparation_meeting,
                "ends_at": d.preparation_meeting + dt.timedelta(hours=2),
                "venue": plan.venue,
                "video_link": plan.video_link,
            }
        )
    names = ["interview day", "interview day 2", "interview day 3"]
    for i, day in enumerate(d.interview_days[:3]):
        rows.append(
            {
                "event": names[i],
                "starts_at": at(day, plan.arrival),
                "venue": plan.venue,
                "video_link": plan.video_link,
            }
        )
    if d.decision_meeting:
        rows.append(
            {
                "event": "decision meeting",
                "starts_at": d.decision_meeting,
                "ends_at": d.decision_meeting + dt.timedelta(hours=1),
                "venue": plan.venue,
                "video_link": plan.video_link,
            }
        )
    if d.feedback_meeting:
        rows.append(
            {
                "event": "feedback meeting",
                "starts_at": d.feedback_meeting,
                "ends_at": d.feedback_meeting + dt.timedelta(hours=1),
                "venue": plan.venue,
                "video_link": plan.video_link,
            }
        )
    if d.start_date:
        rows.append({"event": "start date", "starts_at": at(d.start_date, dt.time(9))})
    return rows


def _csv_frame(spec: TabSpec, path: Path) -> pd.DataFrame:
    with path.open(newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    records = []
    for i, r in enumerate(raw, start=2):
        rec = {}
        for c in spec.columns:
            try:
                rec[c.id] = parse_cell(r.get(c.id, ""), c.type)
            except CellError as exc:
                raise SheetProblems(
                    [Problem(path.name, spec.id, str(exc), row=i, column=c.id)]
                ) from None
        records.append(rec)
    return make_frame(spec, records)


def init_campaign(ctx: Context, *, example: bool = False, add_tabs: bool = True) -> InitResult:
    """Create or update both workbooks; load config dates and, with ``example``, sample data.

    Safe to run again: tabs and columns are only added, rows are only added when
    their key is new, and nothing staff typed is changed. ``add_tabs=False`` (the start
    of ``corecruit run``) adds no tab to a workbook that exists: a missing tab stays
    missing, and the jobs that need it say so (see :meth:`TableStore.init`).
    """
    settings = ctx.settings
    for folder in (settings.workspace, settings.path(settings.org.mail.outbox)):
        secure_tree(folder)  # a workspace made before files were owner-only
    staff, panel = ctx.stores.staff, ctx.stores.panel
    result = InitResult(staff=staff.init(add_tabs=add_tabs), panel=panel.init(add_tabs=add_tabs))
    camp = ctx.campaign
    with staff.locked():
        here = [  # a tab missing, or missing a column it had, is said by the jobs
            t
            for t in ("dates", "people", "applications")
            if t not in result.staff.tabs_missing and t not in result.staff.columns_missing
        ]
        staff.read(here, refresh=True)
        if "dates" in here:
            result.loaded["dates"] = staff.append(
                "dates", make_frame(staff.tab("dates"), campaign_dates(camp))
            )
        for tab in ("people", "applications") if example else ():
            if tab in here:
                spec = staff.tab(tab)
                result.loaded[tab] = staff.append(tab, _csv_frame(spec, EXAMPLE_DIR / f"{tab}.csv"))
    if {"criteria", "questions"} & set(result.panel.tabs_missing):
        return result  # the jobs that need them say they are missing
    with panel.locked():
        panel.read(["criteria", "questions"], refresh=True)
        crit = make_frame(
            panel.tab("criteria"),
            [
                {
                    "criterion_id": c.id,
                    "text": c.text,
                    "essential": c.essential,
                    "scale": scale_text(c.scale),
                }
                for c in camp.criteria
            ],
        )
        qs = make_frame(
            panel.tab("questions"),
            [
                {
                    "question_id": q.id,
                    "text": q.text,
                    "scale": scale_text(q.scale),
                    "weight": q.weight,
                }
                for q in camp.questions
            ],
        )
        panel.write(
            {
                "criteria": crit,
                "questions": _with_askers(ctx, qs),
            }
        )
    return result


def _with_askers(ctx: Context, qs: pd.DataFrame) -> pd.DataFrame:
    """Fill 'asked by' with each asker's chosen introduction (never their contact details)."""
    try:
        people = ctx.stores.staff.read_one("people", refresh=False, errors="collect")
    except SheetProblems:
        return qs
    intro = {}
    for _, p in people.iterrows():
        first = str(p["name"]).split(" ")[0] if p["name"] else p["person_id"]
        intro[p["person_id"]] = p["introduction"] or first
    asker = {q.id: q.asker for q in ctx.campaign.questions}
    qs = qs.copy()
    qs["asked_by"] = [intro.get(asker.get(q) or "", "") for q in qs["question_id"]]
    return qs


def check_campaign(ctx: Context, tabs: Sequence[str] | None = None) -> list[Problem]:
    """Every problem in the workbooks: structure, types, required cells, keys, allowed values."""
    problems: list[Problem] = []
    for store in (ctx.stores.staff, ctx.stores.panel):
        if not store.exists():
            recorded = store.sync is not None and store.sync.ledger.generation(store.spec.name)
            problems.append(
                Problem(
                    store.spec.name,
                    "(workbook)",
                    "this workbook is gone, but corecruit has a record of it. Run "
                    "'corecruit restore' to rebuild it."
                    if recorded
                    else "this workbook does not exist yet. Run 'corecruit init'.",
                )
            )
            continue
        wanted = [t for t in store.spec.tabs if tabs is None or t in tabs]
        # one batch for every tab (on Google: one values.batchGet); problems come below
        with contextlib.suppress(SheetProblems):
            store.read(wanted, errors="collect", refresh=True)
        for tab in wanted:
            try:
                df = store.read_one(tab, errors="collect", refresh=False)
            except SheetProblems as exc:
                problems.extend(exc.problems)
                continue
            problems.extend(df.attrs.get("problems", []))
            problems.extend(store.validate(store.tab(tab), df))
            known = set(store.tab(tab).column_ids)
            for extra in [c for c in df.columns if c not in known]:
                problems.append(
                    Problem(
                        store.spec.name,
                        tab,
                        f"the header '{extra}' is not one corecruit knows. It is kept as it is; "
                        "map it in the campaign's header_map if it means one of "
                        "corecruit's columns.",
                        severity="warning",
                    )
                )
    problems.extend(address_problems(ctx, tabs))
    if ctx.stores.staff.exists() and (tabs is None or "people" in tabs):
        from .transforms.panels import panel_problems

        try:
            people = ctx.stores.staff.read_one("people", errors="collect", refresh=False)
        except SheetProblems:
            return problems  # the people tab's own problems are listed above
        problems.extend(panel_problems(ctx.campaign, people))
    return problems


# The cells corecruit sends email to; each must hold exactly one address.
ADDRESS_COLUMNS = {"people": ("email", "copy_to"), "applications": ("email",)}


def address_problems(ctx: Context, tabs: Sequence[str] | None = None) -> list[Problem]:
    """Every email cell that is not exactly one address, by tab, row and column (no value)."""
    from .transforms.addresses import one_mailbox

    staff = ctx.stores.staff
    out: list[Problem] = []
    if not staff.exists():
        return out
    for tab, columns in ADDRESS_COLUMNS.items():
        if tabs is not None and tab not in tabs:
            continue
        try:
            df = staff.read_one(tab, errors="collect", refresh=False)
        except SheetProblems:
            continue  # the tab's own problems are listed already
        for col in [c for c in columns if c in df.columns]:
            for row, value in df[col].items():
                why = one_mailbox(value)[1]
                if why:
                    out.append(
                        Problem(
                            staff.spec.name,
                            tab,
                            f"this email address {why}. Nothing will be emailed to it: the "
                            "person will be listed to contact another way until it is put right.",
                            row=int(row),
                            column=col,
                        )
                    )
    return out
