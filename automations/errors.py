"""One exception hierarchy for every problem a person can fix.

Like gspread's, every error corecruit raises on purpose derives from
:class:`CorecruitError`, so the CLI can turn any of them into a clear message
and an exit code without a traceback.

Messages never carry personal data: they name a workbook, tab, row and column,
never the value that was in the cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .error_types import ConfigError, CorecruitError
from .templates import load_workbook_spec

__all__ = [
    "ConfigError",
    "CorecruitError",
    "GoogleAPIError",
    "JobError",
    "Problem",
    "RetryLimitReached",
    "SharingRefused",
    "SheetProblems",
    "StoreError",
    "WorkbookLockedError",
    "labels_for",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a sheet, said plainly and located exactly.

    ``tab`` and ``column`` are the ids the code uses; people are shown the tab
    title and the column header as they appear in the workbook (``tab_title`` and
    ``header`` when the store knows them, else the template's labels).
    """

    workbook: str
    tab: str
    message: str
    row: int | None = None  # spreadsheet row number as staff see it (header is row 1)
    column: str | None = None  # column id (snake_case)
    severity: str = "error"  # "error" or "warning"
    tab_title: str | None = None  # the tab's title in the workbook, when known
    header: str | None = None  # the column's header in the workbook, when known

    def where(self) -> str:
        tab, header = self.tab_title, self.header
        if tab is None or (self.column is not None and header is None):
            label, col_label = labels_for(self.workbook, self.tab, self.column)
            tab, header = tab or label, header or col_label
        parts = [f"{self.workbook} workbook", f"tab '{tab}'"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if header is not None:
            parts.append(f"column '{header}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


def labels_for(workbook: str, tab: str, column: str | None = None) -> tuple[str, str | None]:
    """The tab title and column header staff see for template ids (ids when unknown)."""
    try:  # a CSV file stands in for the staff workbook's tab of the same id
        book = load_workbook_spec(workbook if workbook in ("staff", "panel") else "staff")
        spec = book.tabs[tab]
    except Exception:  # not one of ours (a test's own template, say): show the ids
        return tab, column
    if column is None:
        return spec.label, None
    for c in spec.columns:
        if c.id == column:
            return spec.label, c.label
        if c.repeat:
            m = re.fullmatch(re.escape(c.id).replace(r"\{n\}", r"(\d+)"), column)
            if m:
                return spec.label, c.label.format(n=m.group(1))
    return spec.label, column


class StoreError(CorecruitError):
    """A workbook could not be read or written."""

    exit_code = 3


class WorkbookLockedError(StoreError):
    """Another job (or person) holds the workbook; nothing was written."""


class SheetProblems(StoreError):
    """A tab does not match its template; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) found:\n{shown}{more}")


class GoogleAPIError(StoreError):
    """Google answered with an error, or did not answer within the time limit."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class RetryLimitReached(GoogleAPIError):
    """The bounded retry gave up; the job stops before writing anything more."""


class SharingRefused(CorecruitError):
    """A sharing setting would show identified data to someone who must not see it."""

    exit_code = 2


class JobError(CorecruitError):
    """A job could not finish; nothing half-written was left behind."""
