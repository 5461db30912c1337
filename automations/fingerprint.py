"""Whether a scheduled job has anything new to work on: a fingerprint of all it reads.

Issue 17 asks that a run cost what it changes. A job run by the runner is skipped when
everything it reads is exactly as it was at the start of its last successful run:

* the tabs it reads (declared beside the job in :data:`automations.runner.JOBS` and
  checked against what it really reads by ``tests/test_skip_unchanged.py``): on the
  local store, a digest of each tab's cells as the file holds them, found from the
  tab's token (its part's CRC-32 and size in the file's zip directory,
  :meth:`TableStore.tab_tokens`) when the record has seen that token before (no cell
  is read: a skipped job reads nothing), else read from the file; and each tab's
  version in the ledger (what the record holds for it). On Google, where reading is
  the one call, the tabs are read in one batch with :meth:`TableStore.prefetch`,
  which the job's own first read then reuses;
* the config that matters (organisation.toml and the campaign, header_map included, by
  content; the team's own email templates) and the code (package version and files);
* today's date for a job that acts on a date (forms open on a date, "today");
* outside the workbooks: the answers in the local forms inbox (how many, the newest's
  number: they are append-only) for a job that brings answers in.

A job that asks Google Forms is never skipped (nothing tells cheaply that nothing
changed there), nor is one driven by the time of day (``remind``), nor one that sends
while a message's outcome is still unknown (each run asks again: see :func:`settled`).

The fingerprint is taken *before* the job runs and kept only after an ``ok`` run that
wrote and sent nothing and in which the record put nothing right, so a person's edit
made while a job runs is never missed, and a job that wrote something (and so changed
its own inputs) runs once more, then settles. Commands run by hand always run.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .mail.delivery import TAB as MESSAGES_TAB
from .store.base import grid_token

if TYPE_CHECKING:
    from .config import Settings
    from .context import Context
    from .store import Grid, TableStore

log = logging.getLogger("corecruit.runner")

Tab = tuple[str, str]  # (workbook, tab id)
WORKBOOKS = ("staff", "panel")


def staff(*tabs: str) -> tuple[Tab, ...]:
    return tuple(("staff", t) for t in tabs)


def panel(*tabs: str) -> tuple[Tab, ...]:
    return tuple(("panel", t) for t in tabs)


@dataclass(frozen=True)
class Inputs:
    """Everything one job reads, declared once, beside the job in the runner's JOBS."""

    tabs: tuple[Tab, ...]
    # read only to be written: what they hold never decides what the job does, so they
    # are not fingerprinted (on Google that read would be a call the job may not make)
    rewritten: tuple[Tab, ...] = ()
    dated: bool = False  # acts on today's date: the date is an input
    form_answers: bool = False  # brings in answers: the local inbox's answers are an input
    form_backend: bool = False  # makes forms: fine on the local inbox, not on Google Forms
    sends: bool = False  # sends email: not skipped while a message's outcome is unknown

    def of(self, workbook: str) -> list[str]:
        return sorted({t for w, t in self.tabs if w == workbook})


# ------------------------------------------------------------------ the parts


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version and its files (name, size, time): new code is a change."""
    from . import __version__

    root = Path(__file__).resolve().parent
    h = hashlib.sha256(__version__.encode())
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            st = p.stat()
            h.update(f"{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def config_version(settings: Settings, campaign_id: str) -> str:
    """organisation.toml and the campaign (header_map included) by content, and the
    team's own email templates, if any."""
    h = hashlib.sha256(settings.org.model_dump_json().encode())
    h.update(settings.campaign(campaign_id).model_dump_json().encode())
    team = settings.path(settings.org.mail.templates)
    if team.is_dir():
        for p in sorted(team.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(team)}\n".encode())
                h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def inbox_version(settings: Settings) -> str:
    """The answers in the local forms inbox: how many, and the newest one's number.

    Submissions are append-only (the inbox refuses to change or delete one), so this
    changes with every new answer, and not when a form is made or a draft saved.
    """
    from .forms.inbox import Inbox, inbox_path

    db = inbox_path(settings)
    if not db.exists():
        return "inbox: none"
    inbox = Inbox(db)
    try:
        return f"inbox: {inbox.answers_version()}"
    finally:
        inbox.close()


def grid_version(grid: Grid | None) -> str:
    """A tab as the store returned it (title, header, every cell with its type)."""
    return grid_token(grid)


def _unsettled(store: TableStore, grid: Grid | None) -> bool:
    """A message in the Messages sent tab still 'intended': each run asks what became of it."""
    if grid is None:
        return True
    ids = store._map_header(store.tab(MESSAGES_TAB), grid.header)
    if "status" not in ids:
        return True
    j = ids.index("status")
    return any(j < len(r) and str(r[j] or "").strip() == "intended" for r in grid.rows)


# ------------------------------------------------------------------ the fingerprint


def why_not(ctx: Context, inputs: Inputs | None) -> str | None:
    """Why this job always runs here (None when a fingerprint can tell)."""
    if inputs is None:
        return "driven by the time of day"
    if (inputs.form_answers or inputs.form_backend) and ctx.settings.org.forms.backend != "local":
        return "asks Google Forms"
    return None


def take(ctx: Context, inputs: Inputs | None) -> str | None:
    """The fingerprint of everything the job reads now, or None when it must run anyway.

    On a store that has tokens, reads no cell; otherwise reads the declared tabs through
    the store (kept for the job). Any trouble reading is left for the job itself to meet
    and report: the job then simply runs.
    """
    if inputs is None or why_not(ctx, inputs) is not None:
        return None
    try:
        parts: list[str] = [code_version(), config_version(ctx.settings, ctx.campaign.id)]
        if inputs.dated:
            parts.append(f"today {ctx.today().isoformat()}")
        for name in WORKBOOKS:
            tabs = inputs.of(name)
            if not tabs:
                continue
            store: TableStore = getattr(ctx.stores, name)
            cheap = tab_versions(store, tabs)
            if cheap is not None:
                parts += [f"{name}/{t}: {v}" for t, v in cheap.items()]
                continue
            grids = store.prefetch(tabs)
            if store.notices:  # the ledger put something right: the job says so
                return None
            if inputs.sends and name == "staff" and _unsettled(store, grids.get(MESSAGES_TAB)):
                return None
            parts += [f"{name}/{t}: {grid_version(grids[t])}" for t in tabs]
        if inputs.form_answers:
            parts.append(inbox_version(ctx.settings))
    except Exception as exc:  # the job meets it again and reports it in words
        log.debug("fingerprint not taken: %s", type(exc).__name__)
        return None
    return digest(parts)


def tab_versions(
    store: TableStore, tabs: Sequence[str], *, read: bool = True
) -> dict[str, str] | None:
    """Each tab's cells (a digest) and ledger version, read without a cell when the file
    did not change (None when the store cannot tell without reading the tabs).

    A tab's token (see :meth:`TableStore.tab_tokens`) is looked up in the record with the
    digest of the cells it stood for; only a tab whose token is new is read (and its
    digest kept), so a workbook saved by a spreadsheet program, which changes every
    tab's token, runs only the jobs whose tabs' cells changed. Not the workbook's stamp
    tab: every save changes it, and a tab whose cells and ledger rows are both as they
    were reads the same, stamp or not (an older copy saved back is said by the next
    read that merges, at the latest the Status tab's). ``read=False``: None rather than
    read a tab whose token is new (for a job that wants only what the runner, which
    looked just before it, already knows).
    """
    tokens = store.tab_tokens(tabs)
    if tokens is None:
        return None
    led = store.sync.ledger if store.sync is not None else None
    if led is None:
        return dict(tokens)
    name = store.spec.name
    known = led.contents(name)
    cells: dict[str, str] = {}
    new: list[str] = []
    for t, tok in tokens.items():
        if tok == "missing":
            cells[t] = tok
        elif t in known and known[t][0] == tok:
            cells[t] = known[t][1]
        else:
            new.append(t)
    if new and not read:
        return None
    if new:  # read as the file holds them (not merged): the digest of what the token means
        grids = store._read_grids([store.tab(t) for t in new])
        now = store._tokens_of(grids)
        keep: dict[str, tuple[str, str]] = {}
        for t in new:
            cells[t] = grid_token(grids.get(t))
            if t in now:
                keep[t] = (now[t], cells[t])
        led.keep_contents(name, keep)
    versions = led.tab_versions(name)
    return {t: f"{cells[t]} v{versions.get(t, 0)}" for t in tabs}


def settled(ctx: Context, inputs: Inputs | None) -> bool:
    """Whether a job that sends left no message 'intended' (then each run asks again).

    Told from the Messages sent tab as the job read it (read now only if it did not).
    """
    if inputs is None or not inputs.sends:
        return True
    try:
        store: TableStore = ctx.stores.staff
        grid = store._grids.get(MESSAGES_TAB)
        if grid is None:
            grid = store.prefetch([MESSAGES_TAB])[MESSAGES_TAB]
        return not _unsettled(store, grid)
    except Exception as exc:  # unknown: the job runs next time
        log.debug("messages not checked: %s", type(exc).__name__)
        return False


def digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\n")
    return h.hexdigest()


__all__ = [
    "Inputs",
    "code_version",
    "config_version",
    "panel",
    "settled",
    "staff",
    "tab_versions",
    "take",
    "why_not",
]
