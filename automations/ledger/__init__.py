"""The job-owned ledger: what corecruit wrote and read, kept outside the workbooks.

Workbooks are where people work; the ledger is where "sent once" and "paid once"
live. Every save of a workbook is first committed here as a new *generation*
(versioned rows per tab), then exported with the generation stamped in a hidden
tab, so a copy saved back over a newer one, a deleted row or a deleted workbook
can be recognised and put right from this record. See :mod:`.sqlite` for the one
implementation and :class:`.base.Ledger` for the seam (PostgreSQL could follow).
"""

from __future__ import annotations

from .base import Event, Header, Ledger, TabChange, TabRows
from .sqlite import LEDGER_NAME, SqliteLedger, open_ledger

__all__ = [
    "LEDGER_NAME",
    "Event",
    "Header",
    "Ledger",
    "SqliteLedger",
    "TabChange",
    "TabRows",
    "open_ledger",
]
