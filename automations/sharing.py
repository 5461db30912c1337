"""Sharing the two Google workbooks with the right people, and only them.

* The staff workbook (names, contact details, access needs) is shared with the
  campaign's ``staff_editors`` as editors, and with nobody else. If one of them
  is listed in the people tab as a person with lived experience, or the file is
  open to a link or a whole domain, corecruit refuses (:class:`SharingRefused`)
  and shares nothing.
* The panel workbook (anonymised) is shared with the panel members in the people
  tab as viewers (chair, panel members and supporting workers who sit on a
  panel and have an email address), and with the staff editors as editors.

Each person is shared with separately: a refusal for one (often a personal address
with no Google account, which Drive will not share with silently) is recorded and
the others are still shared with. Every outcome goes on the staff workbook's
'Sharing' tab; anyone who could not be given access is put on 'Needs attention'
with what works without an account (their own form link).

Existing permissions are listed first, so running it again adds nobody twice.
Google's own sharing email is switched off: it would carry the file's name and
the sharer's address; people hear about their workbook from the team instead.
Nothing here logs or raises an email address: people are named by ``person_id``
or by their position in ``staff_editors``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .context import Context
from .errors import Problem, SharingRefused, SheetProblems, StoreError
from .google.http import GoogleRefused, RetryingHTTPClient, error_info
from .store.frames import append_new, make_frame
from .transforms.addresses import one_mailbox

log = logging.getLogger("corecruit.sharing")

DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
PANEL_ROLES = ("chair", "panel member", "supporting worker")
PANELS = ("mixed", "council", "lived experience")
RANK = {"reader": 1, "commenter": 2, "writer": 3, "fileOrganizer": 4, "organizer": 4, "owner": 5}


@dataclass
class ShareReport:
    added: dict[str, int] = field(default_factory=dict)  # workbook -> permissions created
    already: dict[str, int] = field(default_factory=dict)  # workbook -> people who had access
    no_email: list[str] = field(default_factory=list)  # person_ids with no email address
    held: str = ""  # why panel members wait for the panel workbook (the review gate)
    # workbook -> who could not be given access (person ids, or "staff editor N")
    failed: dict[str, list[str]] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # rows of the Sharing tab

    def summary(self) -> str:
        parts = [
            f"{wb} workbook: {self.added.get(wb, 0)} shared, "
            f"{self.already.get(wb, 0)} already had access"
            + (
                f", {len(self.failed[wb])} could not be shared with ({', '.join(self.failed[wb])}"
                "): see 'Needs attention'"
                if self.failed.get(wb)
                else ""
            )
            for wb in ("staff", "panel")
        ]
        if self.no_email:
            parts.append(
                f"{len(self.no_email)} panel member(s) have no email address "
                f"({', '.join(self.no_email)}): give them their papers another way"
            )
        if self.held:
            parts.append(
                f"panel members get the panel workbook once every application's redaction "
                f"report is checked ({self.held}); run 'corecruit init' again then"
            )
        return "; ".join(parts)


def panel_waits(ctx: Context) -> str:
    """Why the panel workbook is not for panel members yet ('' when it is): the review
    gate, worked out as the redact and forms jobs do (see transforms.review)."""
    from .transforms.review import released, review_state

    tabs = ctx.stores.staff.read(
        ["redaction_report", "candidate_key", "form_links", "sent_messages", "raw_scores"],
        refresh=False,
        errors="collect",
    )
    state = review_state(
        tabs["redaction_report"],
        tabs["candidate_key"],
        required=ctx.campaign.campaign.require_review,
    )
    if released(state, tabs["form_links"], tabs["sent_messages"], tabs["raw_scores"]):
        return ""
    return state.summary() or "no application has been anonymised and checked yet"


def _norm(email: str) -> str:
    return email.strip().casefold()


ROW_NAME = "People row "  # someone with no person id, named by their row (never "?")


def _pid(row: object, p: Mapping[str, Any]) -> str:
    """How a person is named here: their id, or their People row when it is empty, so two
    people without an id are never one Needs attention item."""
    return str(p.get("person_id") or "").strip() or f"{ROW_NAME}{row}"


def _people(ctx: Context) -> pd.DataFrame:
    return ctx.stores.staff.read_one("people", refresh=False, errors="collect")


def lived_experience_emails(people: pd.DataFrame) -> dict[str, str]:
    """email -> person_id for everyone the people tab lists as lived experience."""
    out: dict[str, str] = {}
    for i, p in people.iterrows():
        if str(p.get("kind", "")).strip().casefold() == "lived experience":
            for col in ("email", "copy_to"):
                e = _norm(str(p.get(col) or ""))
                if "@" in e:
                    out[e] = _pid(i, p)
    return out


def staff_plan(staff_editors: Iterable[str], people: pd.DataFrame) -> dict[str, str]:
    """Who gets the staff workbook (email -> role); refuses anyone with lived experience."""
    pwle = lived_experience_emails(people)
    plan: dict[str, str] = {}
    for i, raw in enumerate(staff_editors, start=1):
        e, why = one_mailbox(raw)
        if why or not e:
            raise SharingRefused(
                f"campaign [google] staff_editors, entry {i}: this is not one usable email "
                "address. Put it right; nothing was shared."
            )
        e = _norm(e)
        if e in pwle:
            raise SharingRefused(
                f"campaign [google] staff_editors, entry {i}, is the email of a person with "
                f"lived experience (person {pwle[e]} in the people tab). The staff workbook "
                "holds names and contact details, so it is shared with staff only. Remove "
                "the entry; nothing was shared."
            )
        plan[e] = "writer"
    return plan


def panel_plan(
    staff_editors: Iterable[str], people: pd.DataFrame
) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """Who gets the panel workbook (email -> role), panel members with no email, and
    those whose address is not one usable mailbox (person_id -> why, never the value)."""
    plan: dict[str, str] = {}
    no_email: list[str] = []
    bad: dict[str, str] = {}
    for i, p in people.iterrows():
        role = str(p.get("role") or "").strip().casefold()
        panel = str(p.get("panel") or "").strip().casefold()
        if role not in PANEL_ROLES or panel not in PANELS:
            continue
        e, why = one_mailbox(p.get("email"))
        if not e:
            no_email.append(_pid(i, p))
            continue
        if why:  # two addresses in one cell would share one person's workbook with both
            bad[_pid(i, p)] = why
            continue
        plan[_norm(e)] = "reader"
    for raw in staff_editors:
        e, why = one_mailbox(raw)
        if e and not why:
            plan[_norm(e)] = "writer"
    return plan, no_email, bad


def who_is(staff_editors: Iterable[str], people: pd.DataFrame) -> dict[str, str]:
    """email -> how the Sharing tab names them: person id, or 'staff editor N' (no emails)."""
    out: dict[str, str] = {}
    for i, raw in enumerate(staff_editors, start=1):
        out.setdefault(_norm(raw), f"staff editor {i}")
    for i, p in people.iterrows():
        e = _norm(str(p.get("email") or ""))
        if "@" in e:
            out[e] = _pid(i, p)
    return out


def refusal_reason(resp: Any) -> str:
    """Why Google would not share with one person, in plain words (never the address)."""
    _status, reason, message = error_info(resp)
    if "invalidSharingRequest" in reason or "no Google account" in message:
        return (
            "this email address has no Google account, so Google will not share the "
            "workbook with it. Their own form link works without an account, and their "
            "papers go by post instead of the workbook."
        )
    if resp.status_code == 403:
        return (
            "Google would not share with this address (your Google Workspace may only "
            "allow sharing inside your organisation). Their own form link still works."
        )
    return f"Google would not share with this address (HTTP {resp.status_code})."


def list_permissions(http: RetryingHTTPClient, file_id: str) -> list[dict[str, Any]]:
    perms: list[dict[str, Any]] = []
    token = ""
    while True:
        params: dict[str, Any] = {
            "fields": "nextPageToken,permissions(id,type,role,emailAddress,domain)",
            "supportsAllDrives": "true",
            "pageSize": 100,
        }
        if token:
            params["pageToken"] = token
        data = http.call(
            "GET",
            f"{DRIVE_FILES}/{file_id}/permissions",
            what="listing who can open the workbook (Drive permissions)",
            params=params,
        ).json()
        perms.extend(data.get("permissions") or [])
        token = data.get("nextPageToken") or ""
        if not token:
            return perms


def _open_to_all(perms: Iterable[Mapping[str, Any]]) -> bool:
    return any(p.get("type") in ("anyone", "domain") for p in perms)


def _apply(
    http: RetryingHTTPClient,
    file_id: str,
    plan: Mapping[str, str],
    existing: list[dict[str, Any]],
    report: ShareReport,
    workbook: str,
    names: Mapping[str, str],
) -> None:
    """Share with each person on their own: one refusal does not stop the others."""
    have = {
        _norm(str(p.get("emailAddress") or "")): str(p.get("role") or "")
        for p in existing
        if p.get("type") in ("user", "group")
    }
    added = already = 0
    for email, role in plan.items():
        who = names.get(email, "?")
        row: dict[str, Any] = {"who": who, "workbook": workbook}
        if RANK.get(have.get(email, ""), 0) >= RANK[role]:
            already += 1
            report.outcomes.append({**row, "outcome": "already had access"})
            continue
        try:
            http.call(
                "POST",
                f"{DRIVE_FILES}/{file_id}/permissions",
                what="sharing the workbook (Drive permissions)",
                params={
                    "sendNotificationEmail": "false",
                    "supportsAllDrives": "true",
                    "fields": "id",
                },
                json={"type": "user", "role": role, "emailAddress": email},
            )
        except GoogleRefused as exc:
            if exc.status not in (400, 403) or "insufficientFilePermissions" in str(
                error_info(exc.response)[1]
            ):
                raise  # the file itself is the problem (gone, or not ours to share): stop
            reason = refusal_reason(exc.response)
            if not who.startswith(("staff editor", ROW_NAME)):
                reason += (
                    " 'corecruit init' then makes their papers without names, and a letter, "
                    "for you to print and post (again after a change: 'corecruit scoresheets "
                    f"post'); 'corecruit scoresheets print --people {who}' makes the score "
                    "sheets alone."
                )
            report.failed.setdefault(workbook, []).append(who)
            report.outcomes.append({**row, "outcome": "could not share", "reason": reason})
            log.warning("sharing: could not share the %s workbook with %s", workbook, who)
            continue
        added += 1
        report.outcomes.append({**row, "outcome": "shared"})
    report.added[workbook], report.already[workbook] = added, already


def _google_parts(ctx: Context) -> tuple[RetryingHTTPClient, str, str]:
    staff, panel = ctx.stores.staff, ctx.stores.panel
    http = getattr(staff, "http", None)
    sid, pid = getattr(staff, "spreadsheet_id", ""), getattr(panel, "spreadsheet_id", "")
    if http is None:
        raise StoreError('sharing is done in Google Drive: set [storage] backend = "google"')
    if not sid or not pid:
        raise StoreError("the workbooks do not exist yet. Run 'corecruit init' first.")
    if sid == pid:
        raise SharingRefused(
            "the staff and panel workbooks are the same spreadsheet; they must be two files. "
            "Nothing was shared."
        )
    return http, sid, pid


def share_campaign(ctx: Context) -> ShareReport:
    """Share both workbooks as described above; refuse before sharing anything if unsafe."""
    http, staff_id, panel_id = _google_parts(ctx)
    people = _people(ctx)
    editors = ctx.campaign.google.staff_editors
    staff_want = staff_plan(editors, people)
    panel_want, no_email, bad = panel_plan(editors, people)
    held = panel_waits(ctx)
    if held:  # staff editors only, until the panel's applications are checked
        panel_want = {e: r for e, r in panel_want.items() if r == "writer"}
    staff_perms = list_permissions(http, staff_id)
    pwle = lived_experience_emails(people)
    for p in staff_perms:
        e = _norm(str(p.get("emailAddress") or ""))
        if e in pwle:
            raise SharingRefused(
                f"the staff workbook is already shared with a person with lived experience "
                f"(person {pwle[e]} in the people tab). Remove their access in Google Drive "
                "(Share) and run again; nothing was shared."
            )
    if _open_to_all(staff_perms):
        raise SharingRefused(
            "the staff workbook can be opened by anyone with the link or by a whole domain. "
            "Turn that off in Google Drive (Share, General access: Restricted) and run again; "
            "nothing was shared."
        )
    panel_perms = list_permissions(http, panel_id)
    report = ShareReport(no_email=no_email, held=held)
    names = who_is(editors, people)
    try:
        _apply(http, staff_id, staff_want, staff_perms, report, "staff", names)
        _apply(http, panel_id, panel_want, panel_perms, report, "panel", names)
    finally:  # what was done (and refused) is recorded even when one file fails
        for who, why in ({} if held else bad).items():
            report.failed.setdefault("panel", []).append(who)
            reason = (
                f"the email address on the people tab {why}, so Google was not asked to share "
                "with it. Put it right and run 'corecruit init' again."
            )
            report.outcomes.append(
                {"who": who, "workbook": "panel", "outcome": "could not share", "reason": reason}
            )
        _record(ctx, report)
    log.info("sharing: %s", report.summary())
    return report


def _record(ctx: Context, report: ShareReport) -> None:
    """Each outcome on the Sharing tab; who could not be given access on Needs attention.

    One read and one write of the staff workbook; a rerun lists nobody twice.
    """
    staff = ctx.stores.staff
    now = ctx.now()
    frames = staff.read(["sharing", "exceptions"], errors="collect")
    spec_s, spec_x = staff.tab("sharing"), staff.tab("exceptions")
    rows = [{"reason": "", **o, "checked_at": now} for o in report.outcomes]
    issues = [
        {
            "exception_id": f"sharing|{o['workbook']}|{o['who']}",
            "job": "sharing",
            "source": f"{o['workbook']} workbook, {o['who']}",
            "reason": f"Could not give {o['who']} access to the {o['workbook']} workbook: "
            + str(o["reason"]),
            "raised_at": now,
        }
        for o in report.outcomes
        if o["outcome"] == "could not share"
    ]
    exc, _added = append_new(spec_x, frames["exceptions"], make_frame(spec_x, issues))
    staff.write({"sharing": make_frame(spec_s, rows), "exceptions": exc})


def sharing_problems(ctx: Context) -> list[Problem]:
    """For ``check``: what is wrong with who can open the staff workbook (read-only)."""
    try:
        http, staff_id, _ = _google_parts(ctx)
        people = _people(ctx)
        staff_plan(ctx.campaign.google.staff_editors, people)
    except SharingRefused as exc:
        return [Problem("staff", "(sharing)", str(exc))]
    except (SheetProblems, StoreError):
        return []
    perms = list_permissions(http, staff_id)
    problems: list[Problem] = []
    pwle = lived_experience_emails(people)
    for p in perms:
        e = _norm(str(p.get("emailAddress") or ""))
        if e in pwle:
            problems.append(
                Problem(
                    "staff",
                    "(sharing)",
                    f"shared with a person with lived experience (person {pwle[e]}); "
                    "remove their access in Google Drive",
                )
            )
    if _open_to_all(perms):
        problems.append(
            Problem(
                "staff",
                "(sharing)",
                "anyone with the link (or a whole domain) can open it; make it Restricted",
            )
        )
    staff = {_norm(e) for e in ctx.campaign.google.staff_editors}
    robot = _norm(str(getattr(getattr(http, "auth", None), "service_account_email", "") or ""))
    staff.add(robot)
    others = [
        p
        for p in perms
        if p.get("type") in ("user", "group")
        and p.get("role") != "owner"
        and _norm(str(p.get("emailAddress") or "")) not in staff
        and _norm(str(p.get("emailAddress") or "")) not in pwle
    ]
    if others:
        problems.append(
            Problem(
                "staff",
                "(sharing)",
                f"{len(others)} account(s) not in staff_editors can open it; check they are staff",
                severity="warning",
            )
        )
    return problems
