"""The plain data every store module shares: a tab's grid, what init did, a campaign's two
workbooks, and which columns are number cells.

Apart from ``base.py`` so that the ledger's side of a store (``record.py``) and the
backends can use them without importing the table store itself, and ``base.py`` can
import ``record.py`` at the top: no module of the store imports another that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..templates import ColumnSpec
from .cells import Cell

if TYPE_CHECKING:
    from .base import TableStore


@dataclass
class Grid:
    """A tab as the backend sees it: its title, header row and data rows."""

    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def norm_header(h: str) -> str:
    """A header as compared with others: case, spaces and underscores do not count."""
    return " ".join(str(h).replace("_", " ").split()).casefold()


@dataclass
class InitReport:
    """What ``init`` did to one workbook."""

    created_workbook: bool = False
    tabs_added: list[str] = field(default_factory=list)
    columns_added: dict[str, list[str]] = field(default_factory=dict)
    location: str = ""
    tabs_missing: list[str] = field(default_factory=list)  # left missing (add_tabs=False)
    # columns the record knows were there, missing now: never added empty (tab -> messages)
    columns_missing: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Stores:
    """The two workbooks of one campaign."""

    staff: TableStore
    panel: TableStore


def number_column(column: ColumnSpec) -> bool:
    """Decimal columns (scores, hours, miles) are written as number cells, so they sort and
    sum in Excel and Sheets. Money columns (type ``money``: amounts, rates, limits) stay
    exact text, so a pound amount is never rounded by a spreadsheet. The type is the rule."""
    return column.type == "decimal"
