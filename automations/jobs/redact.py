"""The redact job: applications become Candidate A, B, C for the panel workbook.

One read of the staff workbook (applications, candidate key, redaction report),
pure transforms, then two writes, each one batch:

1. staff workbook: candidate key + redaction report (the key is the record of
   letters, so it is written first);
2. panel workbook: the anonymised applications (letter and answers only).

Kill it anywhere and run it again: before step 1 nothing was written and the
same letters come out (they follow from the key and a keyed hash); between 1 and
2 the key already holds the letters and step 2 is simply done again; the panel
tab is replaced, never appended to, so nothing is duplicated.

Nothing here logs or raises with a name, email or phone number in it: messages
name the application id, the candidate letter, the tab, row and column.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import fingerprint
from ..context import Context
from ..errors import JobError, Problem, SheetProblems
from ..fingerprint import code_version  # the package's files: new code scrubs afresh
from ..locks import job_lock
from ..store.cells import CellError, parse_cell
from ..store.frames import emptied
from ..transforms.redact import (
    LetterPlan,
    Reuse,
    _t,
    anonymise,
    answer_columns,
    assign_letters,
    duplicate_ids,
    leak_kinds,
    merge_report,
    missing_ids,
    records,
)
from ..transforms.review import NEXT_STEP, ReviewState, open_anyway, released, review_state
from ..transforms.scrub import KINDS, fold
from ..transforms.values import same_rows
from . import JobResult

log = logging.getLogger("corecruit.redact")

STAFF_TABS = ["applications", "candidate_key", "redaction_report", "form_links"]
# Whether the panel has started (transforms.review), read only when the review gate
# could hold the panel back: Raw scores grows to many thousand rows.
STARTED = ["sent_messages", "raw_scores"]
# What the output is made from whatever the panel has done: with the review gate open
# (see transforms.review.open_anyway) Form links and the STARTED tabs change nothing.
OWN = ["applications", "candidate_key", "redaction_report"]
GATE = ["form_links", *STARTED]
# The ledger's mark of the last run that wrote nothing: what it was made from and said.
QUIET_MARK = "redact.quiet"


@dataclass
class RedactOutcome:
    """What a run produced (for the CLI and tests); holds no values, only frames."""

    plan: LetterPlan
    panel: pd.DataFrame  # what the panel workbook gets: held applications left out
    report: pd.DataFrame
    review: ReviewState
    anonymised: pd.DataFrame | None = None  # every application's answers, none held back
    done: dict[str, Reuse] = field(default_factory=dict)  # kept for the next run
    scrubbed: int = 0  # applications scrubbed afresh this run


def hold_back(
    panel: pd.DataFrame,
    review: ReviewState,
    form_links: pd.DataFrame | None = None,
    sent_messages: pd.DataFrame | None = None,
    raw_scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The panel's applications less the ones waiting for a check; none at all before the
    first release (while any is waiting and nobody has a shortlisting form yet), so the
    panel never starts on a partial set. See transforms.review."""
    if form_links is not None and not released(review, form_links, sent_messages, raw_scores):
        return panel.iloc[0:0]
    if not review.held_letters:
        return panel
    keep = [
        str(v).removeprefix("Candidate ").strip() not in review.held_letters
        for v in panel["candidate_letter"]
    ]
    return panel[keep].reset_index(drop=True)


def check_applications(apps: pd.DataFrame, found: list[Problem] | None = None) -> None:
    """Rows without an id, or an id used twice, stop the job before anything is written.

    ``found`` are problems the store already saw (a cell that does not fit its
    column, an id used twice); all of them are reported together.
    """
    problems = list(found or [])
    ids_twice = {p.row for p in problems if p.column == "application_id"}
    problems += [
        Problem(
            "staff",
            "applications",
            "this application has no Application ID; give it one so it gets a candidate letter",
            row=row,
            column="application_id",
        )
        for row in missing_ids(apps)
    ]
    problems += [
        Problem(
            "staff",
            "applications",
            "this Application ID is used on an earlier row too; each application needs its own",
            row=row,
            column="application_id",
        )
        for row, _ in duplicate_ids(apps)
        if row not in ids_twice
    ]
    problems.sort(key=lambda p: (p.tab, p.row or 0, p.column or ""))
    if problems:
        raise SheetProblems(problems)


def leak_check(
    apps: pd.DataFrame,
    letters: Mapping[str, str],
    panel: pd.DataFrame,
    fresh: Collection[str] | None = None,
) -> None:
    """Last guard: no value from the form survives in the panel text, in any layout.

    Every structured value (emails, phone numbers, NI number, postcode, date of
    birth, each part of the address) and the full name are checked, normalised
    (:func:`leak_kinds`), and any email on any application. The scrubber should
    never leave one; if it did, the job stops before writing and says where
    (sheet row and column) and what kind, never what. With ``fresh`` (application
    ids scrubbed this run), the others were checked when they were scrubbed and
    their row is unchanged, so only the emails of the other applications are
    looked for in them.
    """
    fresh_letters = None if fresh is None else {letters[a] for a in fresh if a in letters}
    by_letter = {
        letters[_t(r.get("application_id"))]: (row, r)
        for row, r in records(apps)
        if _t(r.get("application_id")) in letters
    }
    cols = answer_columns(panel)
    problems: list[Problem] = []
    every_email = {
        _t(r.get(c)).lower()
        for r in apps.to_dict("records")
        for c in ("email", "referee_1_email", "referee_2_email")
        if "@" in _t(r.get(c))
    }
    for p in panel.to_dict("records"):
        row, r = by_letter[p["candidate_letter"]]
        for c in cols:
            text = _t(p.get(c))
            low = fold(text)[0].lower()
            again = fresh_letters is None or p["candidate_letter"] in fresh_letters
            kinds = leak_kinds(r, text) if again else []
            if "@" in low and any(e in low for e in every_email):
                kinds = sorted({*kinds, "email"})
            if kinds:
                what = ", ".join(KINDS[k][1] for k in kinds)
                problems.append(
                    Problem(
                        "staff",
                        "applications",
                        f"a detail from the form ({what}) could not be taken out of this "
                        "answer automatically; nothing was written. Please edit the answer "
                        "by hand.",
                        row=int(row),
                        column=c,
                    )
                )
    if problems:
        raise SheetProblems(problems)


def plan_redaction(
    ctx: Context,
    data: Mapping[str, pd.DataFrame],
    panel_columns: list[str] | None = None,
    known: Mapping[str, Reuse] | None = None,
    started: Callable[[], Mapping[str, pd.DataFrame]] | None = None,
) -> RedactOutcome:
    """Pure part of the job on what was read: letters, anonymised answers, report.
    ``known``: the last run's output per application (see :func:`load_known`);
    ``started`` reads the STARTED tabs, called only when the review gate needs them."""
    apps = data["applications"]
    check_applications(apps, [p for df in data.values() for p in df.attrs.get("problems", [])])
    info = ctx.campaign.campaign
    now = ctx.now()
    plan = assign_letters(
        apps,
        data["candidate_key"],
        campaign_id=info.id,
        order=info.letter_order,
        seed=info.seed,
        now=now,
    )
    letters = plan.active()
    panel_cols = panel_columns or ["candidate_letter", *answer_columns(apps)]
    extra = [
        str(c)
        for c in apps.columns
        if re.fullmatch(r"answer[\s_]*\d+", str(c).strip().lower()) and c not in panel_cols
    ]
    if extra:
        raise SheetProblems(
            [
                Problem(
                    "staff",
                    "applications",
                    f"the campaign has {len(ctx.campaign.criteria)} job criteria, so there is "
                    "no panel column for this answer. Add the criterion to the campaign "
                    "config and run 'corecruit init', or rename the column.",
                    column=c,
                )
                for c in extra
            ]
        )
    anon = anonymise(apps, letters, label_style=info.own_name_as, known=known, salt=code_version())
    leak_check(apps, letters, anon.panel, anon.scrubbed if known is not None else None)
    report = merge_report(data["redaction_report"], anon.report, now)
    review = review_state(
        report,
        plan.key,
        required=info.require_review,
        rows=list(range(2, len(report) + 2)),  # written from row 2, in this order
    )
    if started is not None and not open_anyway(review):
        data = {**data, **started()}
    panel = hold_back(
        anon.panel,
        review,
        data.get("form_links"),
        data.get("sent_messages"),
        data.get("raw_scores"),
    )
    return RedactOutcome(plan, panel, report, review, anon.panel, anon.done, len(anon.scrubbed))


def redact_job(ctx: Context, *, dry_run: bool = False, **_: Any) -> JobResult:
    """Give letters, scrub the answers, write key + report (staff) and answers (panel)."""
    res = JobResult("redact")
    with job_lock(ctx, "redact"):
        staff, panel = ctx.stores.staff, ctx.stores.panel
        led = staff.sync.ledger if staff.sync is not None else None
        quiet = None if dry_run or led is None else _Quiet.look(ctx, led, staff.spec.name)
        if quiet is not None and quiet.same(res):
            log.info("redact: %s (its inputs as at its last run that wrote nothing)", res.detail)
            return res
        data = staff.read(STAFF_TABS, errors="collect")
        current_panel = panel.read_one("applications", errors="collect")
        res.rows_read = len(data["applications"])
        known = load_known(led.mark(staff.spec.name, KNOWN_MARK)) if led is not None else None
        out = plan_redaction(
            ctx,
            data,
            panel.tab("applications").column_ids,
            known,
            lambda: staff.read(STARTED, errors="collect"),
        )
        _never_blanked(ctx, current_panel, out.anonymised)
        plan = out.plan
        active = plan.active()
        report_rows = out.report.to_dict("records")
        unsure = [r for r in report_rows if _t(r["unsure"]) and _t(r["application_id"]) in active]
        for r in report_rows:
            if _t(r["unsure"]) and _t(r["application_id"]) in active:
                res.attention.append(
                    f"application {r['application_id']} (Candidate {r['candidate_letter']}): "
                    "please check the redaction report before sharing the panel workbook"
                )
        what = (
            f"{len(active)} candidate(s) for the panel, {len(plan.new)} new letter(s), "
            f"{len(plan.retired)} retired, {len(unsure)} to check"
        )
        held = ""  # said in the detail; 'status' works it out afresh, so it is never stale
        if out.review.held:
            what += f", {len(out.review.held)} held until their redaction report is checked"
            held = f". {out.review.summary()}. {NEXT_STEP}"
        res.attention.extend(_checks_undone(data["redaction_report"], out.report))
        if dry_run:
            res.detail = "Dry run, nothing written: " + what + held
            return res
        res.api_calls = 2  # one read of each workbook
        if not _key_unchanged(data["candidate_key"], plan.key) or not _same(
            data["redaction_report"], out.report
        ):
            res.rows_written += staff.write(
                {"candidate_key": plan.key, "redaction_report": out.report}
            )
            res.api_calls += 1
        if not _same_panel(current_panel, out.panel):
            res.rows_written += panel.write({"applications": out.panel})
            res.api_calls += 1
        if led is not None and out.done != known:
            led.set_mark(staff.spec.name, KNOWN_MARK, dump_known(out.done))
        res.detail = what + held
        if quiet is not None and led is not None:
            still = not res.rows_written and out.done == known
            still = still and not staff.notices and not panel.notices
            quiet.keep(res, led, staff.spec.name, open_anyway(out.review) if still else None)
        log.info("redact: %s (%d scrubbed afresh)", what, out.scrubbed)
    return res


def _inputs_key(ctx: Context, gate: bool) -> str | None:
    """What the job's output is made from, without reading a cell (see
    :func:`automations.fingerprint.tab_versions`; the runner has just looked at the same
    tabs, so it costs a look-up): the applications, key, report and the panel's
    applications, the config and the code; with ``gate`` (the review gate shut) also the
    tabs that tell whether the panel has started. None when that is not known without
    reading a tab (a job run by hand: it simply runs)."""
    tabs = [*OWN, *GATE] if gate else OWN
    staff = fingerprint.tab_versions(ctx.stores.staff, tabs, read=False)
    panel = fingerprint.tab_versions(ctx.stores.panel, ["applications"], read=False)
    if staff is None or panel is None:
        return None
    return fingerprint.digest(
        [
            code_version(),
            fingerprint.config_version(ctx.settings, ctx.campaign.id),
            f"gate: {gate}",
            *(f"staff/{t}: {staff[t]}" for t in tabs),
            f"panel/applications: {panel['applications']}",
        ]
    )


@dataclass
class _Quiet:
    """The last run that wrote nothing, as kept in the ledger (see :data:`QUIET_MARK`)."""

    keys: dict[bool, str | None]  # gate shut? -> what the inputs are now (worked out once)
    kept: dict[str, Any]

    @classmethod
    def look(cls, ctx: Context, led: Any, workbook: str) -> _Quiet:
        try:
            kept = json.loads(led.mark(workbook, QUIET_MARK) or "{}")
        except ValueError:
            kept = {}
        kept = kept if isinstance(kept, dict) else {}
        quiet = cls({}, kept)
        # worked out before anything is read; both when the last run kept none
        for gate in (False, True) if not kept else (not kept.get("open", True),):
            quiet.keys[gate] = _inputs_key(ctx, gate)
        return quiet

    def same(self, res: JobResult) -> bool:
        """Whether the inputs are as at the last run that wrote nothing: this run would
        make the same output and write nothing. ``res`` gets what that run said (its
        detail and the applications to check, said at each run)."""
        k = self.kept
        gate = not k.get("open", True)
        if not k or k.get("key") is None or self.keys.get(gate) != k.get("key"):
            return False
        res.detail = str(k["detail"])
        res.attention = [str(a) for a in k.get("attention", [])]
        return True

    def keep(self, res: JobResult, led: Any, workbook: str, gate_open: bool | None) -> None:
        """After a run: what it was made from when it wrote nothing (``gate_open``: the
        review gate was open, so the panel's progress did not count); else nothing. A
        key not worked out before the reads is not kept (an edit made meanwhile)."""
        key = None if gate_open is None else self.keys.get(not gate_open)
        value = None
        if key is not None:
            value = json.dumps(
                {"open": gate_open, "key": key, "detail": res.detail, "attention": res.attention}
            )
        if value != led.mark(workbook, QUIET_MARK):
            led.set_mark(workbook, QUIET_MARK, value)


# The ledger's mark holding each application's last output (job-owned, never a cell).
KNOWN_MARK = "redact.known"


def load_known(value: str | None) -> dict[str, Reuse]:
    """The last run's output per application from the ledger ({} when none or unreadable:
    then every application is scrubbed, as before)."""
    if not value:
        return {}
    try:
        rows = json.loads(zlib.decompress(base64.b64decode(value)))
        return {app: Reuse(d, dict(a), rm, un) for app, (d, a, rm, un) in rows.items()}
    except (ValueError, TypeError, zlib.error):
        return {}


def dump_known(done: Mapping[str, Reuse]) -> str:
    rows = {app: [r.digest, r.answers, r.removed, r.unsure] for app, r in done.items()}
    raw = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(raw, 1)).decode()


def _never_blanked(ctx: Context, current: pd.DataFrame, new: pd.DataFrame | None) -> None:
    """Refuse to replace the panel's answers with blanks: an answer column empty in every
    application is one that went missing or was added back empty, not answers taken back.
    Checked before anything is written (blank answers would also undo the checks)."""
    if new is None:
        return
    gone = emptied(current, new, ["candidate_letter"], answer_columns(new))
    if gone:
        staff = ctx.stores.staff
        spec = staff.tab("applications")
        raise SheetProblems(
            [
                staff.problem(
                    spec,
                    "this column is empty in every application, but the panel workbook holds "
                    "the answers it had, so nothing was written. If the column "
                    "was deleted or replaced, put it back from the version history or a "
                    "backup; the panel keeps the answers meanwhile.",
                    column=c,
                )
                for c in gone
            ]
        )


def _checks_undone(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """Applications that had been checked but whose findings changed, so the check was
    cleared: said once, on the run that cleared it (ids and letters only)."""
    before = {_t(r.get("application_id")): _t(r.get("reviewed_by")) for r in old.to_dict("records")}
    return [
        f"application {app} (Candidate {_t(r.get('candidate_letter'))}): what was taken out "
        "of it changed since it was checked, so 'Reviewed by' was cleared and it is held "
        "from the panel until someone checks it again"
        for r in new.to_dict("records")
        if before.get(app := _t(r.get("application_id"))) and not _t(r.get("reviewed_by"))
    ]


def _key_unchanged(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    return same_rows(old, new, KEY_COLUMNS, ordered=False)


def _same_panel(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    return same_rows(old, new, dict.fromkeys(new.columns, "text"))


def _same(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    return same_rows(old, new, REPORT_COLUMNS, ordered=False)


KEY_COLUMNS = {"application_id": "text", "candidate_letter": "text", "retired": "boolean"}
REPORT_COLUMNS = dict.fromkeys(
    ("application_id", "candidate_letter", "removed", "unsure", "reviewed_by"), "text"
)


def _csv_column_ids(columns: list[str]) -> dict[str, str]:
    """Column headers as staff write them ("First name", "Answer 1") -> column ids."""
    from ..store.base import norm_header
    from ..templates import load_workbook_spec

    spec = load_workbook_spec("staff").tab("applications")
    lookup = {}
    for c in spec.columns:
        lookup[norm_header(c.id)] = c.id
        lookup[norm_header(c.label)] = c.id
    out = {}
    for col in columns:
        m = re.fullmatch(r"answer[\s_]*(\d+)", str(col).strip().lower())
        if m:
            out[col] = f"answer_{m.group(1)}"
        elif norm_header(str(col)) in lookup:
            out[col] = lookup[norm_header(str(col))]
    return out


def redact_frames(
    applications: pd.DataFrame,
    key: pd.DataFrame,
    *,
    campaign_id: str,
    order: str = "shuffled",
    seed: int = 0,
    label_style: str = "letter",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The same steps on plain frames (for CSV files): key, panel answers, report."""
    ids = _csv_column_ids(list(applications.columns))
    apps = applications.rename(columns=ids)
    header = {cid: str(col) for col, cid in ids.items()}  # the file's own headers, for messages
    if "status" not in apps.columns:
        apps = apps.assign(status="")
    apps.index = pd.Index(range(2, len(apps) + 2), name="row")
    if "application_id" not in apps.columns:
        raise JobError("the applications file has no 'application_id' column")
    problems: list[Problem] = []
    if "date_of_birth" in apps.columns:
        dobs = []
        for row, v in apps["date_of_birth"].items():
            try:
                dobs.append(parse_cell(v if isinstance(v, str) else None, "date"))
            except CellError as exc:
                dobs.append(None)
                problems.append(
                    Problem(
                        "csv",
                        "applications",
                        str(exc),
                        row=int(row),
                        column="date_of_birth",
                        header=header.get("date_of_birth", "date_of_birth"),
                    )
                )
        apps["date_of_birth"] = dobs
    check_applications(apps, problems)
    plan = assign_letters(apps, key, campaign_id=campaign_id, order=order, seed=seed)
    letters = plan.active()
    anon = anonymise(apps, letters, label_style=label_style)
    leak_check(apps, letters, anon.panel)
    return plan.key, anon.panel, anon.report
