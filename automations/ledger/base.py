"""The ledger seam: versioned rows per workbook and tab, generations and events.

A *generation* is one commit for one workbook (``staff`` or ``panel``). Rows are
versioned (valid from one generation until another), so the content of any
recent generation can be rebuilt and storage grows with changes, not with runs.
Keys and cells are JSON text made by :mod:`automations.ledger.codec`; the ledger
never looks inside them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

STAMP_NEW = -1  # commit(sheet_stamp=STAMP_NEW): the workbook will hold the new generation

# key json -> (position, cells json)
TabRows = dict[str, tuple[int, str]]
# a tab's header row as it was last seen: (header text, column id or None) per position
Header = list[tuple[str, str | None]]


@dataclass
class TabChange:
    """What one commit changes in one tab: rows added or changed, rows gone."""

    upserts: dict[str, tuple[int, str]] = field(default_factory=dict)
    removes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.upserts or self.removes)


@dataclass(frozen=True)
class Event:
    """Something that happened to a workbook, in words without personal values."""

    workbook: str
    generation: int
    at: str
    kind: str
    text: str


@dataclass(frozen=True)
class Generation:
    """One commit: when, what stamp the workbook holds for it, and when it was exported."""

    generation: int
    made_at: str
    sheet_stamp: int | None
    exported_at: str | None
    kind: str


class Ledger(ABC):
    """Versioned rows of the workbooks of one campaign, with one transaction per commit."""

    @abstractmethod
    def workbook_id(self, workbook: str) -> str:
        """The random id of this workbook (made on first use), stamped into every export."""

    @abstractmethod
    def generation(self, workbook: str) -> int:
        """The latest generation committed (0: nothing recorded yet)."""

    @abstractmethod
    def info(self, workbook: str, generation: int) -> Generation | None:
        """One generation's record."""

    @abstractmethod
    def base_generation(self, workbook: str, stamp: int) -> int | None:
        """The newest generation whose content a workbook stamped ``stamp`` holds."""

    @abstractmethod
    def last_exported(self, workbook: str) -> int:
        """The newest generation confirmed as saved to the workbook (0: none)."""

    @abstractmethod
    def pending_export(self, workbook: str) -> bool:
        """Whether a generation committed to be saved is not in the workbook yet (held,
        e.g. while the file is open in an office program, or stopped before saving)."""

    @abstractmethod
    def tracked(self, workbook: str, generation: int) -> set[str]:
        """Tabs the ledger held rows for at ``generation``."""

    @abstractmethod
    def rows(self, workbook: str, tabs: list[str], generation: int) -> dict[str, TabRows]:
        """The rows of ``tabs`` as they were at ``generation`` (tracked tabs only)."""

    @abstractmethod
    def tab_versions(self, workbook: str) -> dict[str, int]:
        """Each tracked tab's version: the generation that last changed its rows.

        Other tabs' commits leave it as it is, so a tab nobody touched keeps its version
        while the workbook's generation moves on (see :meth:`tokens`).
        """

    @abstractmethod
    def tokens(self, workbook: str) -> dict[str, tuple[str, int]]:
        """Per tab, the token of the tab as the workbook held it (its backend's cheap
        summary of the content: see :meth:`TableStore.tab_tokens`) when the record last
        found it holding exactly the ledger's rows, with the tab's version then.

        The same token and version again mean the same rows on both sides: the reader
        takes the tab as it is without merging it (a fact about two contents, so it
        never goes stale)."""

    @abstractmethod
    def keep_tokens(self, workbook: str, tokens: Mapping[str, tuple[str, int]]) -> None:
        """Record tabs found holding the ledger's rows (see :meth:`tokens`)."""

    @abstractmethod
    def contents(self, workbook: str) -> dict[str, tuple[str, str]]:
        """Per tab, the last token seen and a digest of the cells the workbook held then.

        A save by a spreadsheet program rewrites every part of the file, so every tab's
        token changes; the digest tells which tabs' cells really did (the fingerprint
        of a job, see :mod:`automations.fingerprint`)."""

    @abstractmethod
    def keep_contents(self, workbook: str, contents: Mapping[str, tuple[str, str]]) -> None:
        """Record tabs' tokens with the digest of their cells (see :meth:`contents`)."""

    @abstractmethod
    def mark(self, workbook: str, name: str) -> str | None:
        """A small named value kept with the workbook's record (None: none kept)."""

    @abstractmethod
    def set_mark(self, workbook: str, name: str, value: str | None) -> None:
        """Keep (or, with None, forget) a named value."""

    @abstractmethod
    def form_records(self) -> dict[tuple[str, str], str]:
        """The forms backend's own record: (kind, key) -> value (text it made)."""

    @abstractmethod
    def keep_form_records(self, changes: Mapping[tuple[str, str], str | None]) -> None:
        """Record (or, with None, forget) form records in one transaction."""

    @abstractmethod
    def commit(
        self,
        workbook: str,
        changes: Mapping[str, TabChange],
        *,
        sheet_stamp: int | None,
        kind: str,
        at: str,
        exported: bool = False,
    ) -> int:
        """Apply ``changes`` as a new generation in one transaction; return its number.

        ``sheet_stamp`` is the stamp the workbook holds once this content is in it:
        the new generation for an export, the stamp it already holds when the commit
        only takes in what was read (no export), ``None`` when unknown.
        """

    @abstractmethod
    def mark_exported(self, workbook: str, generation: int, at: str) -> None:
        """Record that ``generation`` is now in the workbook."""

    @abstractmethod
    def headers(self, workbook: str) -> dict[str, Header]:
        """Each tab's header row as last read or exported in full (every column there).

        A column's identity travels with its place: a header renamed by a person is
        recognised from where the column stood (see :mod:`automations.store.record`).
        """

    @abstractmethod
    def keep_headers(self, workbook: str, headers: Mapping[str, Header], at: str) -> None:
        """Record tabs' header rows as they are now (one transaction)."""

    @abstractmethod
    def prune(self, workbook: str, *, keep_last: int, keep_since: str) -> int:
        """Forget row versions no generation worth keeping needs; return how many went.

        Kept: the last ``keep_last`` generations and every generation made at or after
        ``keep_since``, so an older copy saved back within that time is still merged
        against its own content. An older copy than that is merged without it (what
        corecruit fills in still comes from the record; the copy's cells count as edits).
        """

    @abstractmethod
    def add_event(self, workbook: str, kind: str, text: str, at: str) -> bool:
        """Record an event once per generation (False when the same words are there)."""

    @abstractmethod
    def events(self, workbook: str | None = None, limit: int = 20) -> list[Event]:
        """The newest events first."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection."""
