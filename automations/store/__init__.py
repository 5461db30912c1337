"""Table stores: the seam between the jobs and the spreadsheets.

``open_stores`` picks the backend named in config (``local`` or ``google``) and
returns the staff and panel workbooks of one campaign: two separate files,
never one, because sharing is per file.
"""

from __future__ import annotations

from ..config import CampaignConfig, Settings
from ..ledger import open_ledger
from ..templates import WorkbookSpec, load_workbook_spec
from .base import TableStore
from .frames import append_new, conform, empty_frame, make_frame, upsert_rows
from .local import LocalStore
from .shapes import Grid, InitReport, Stores

__all__ = [
    "Grid",
    "InitReport",
    "LocalStore",
    "Stores",
    "TableStore",
    "append_new",
    "conform",
    "empty_frame",
    "make_frame",
    "open_stores",
    "upsert_rows",
    "workbook_specs",
]


def workbook_specs(campaign: CampaignConfig) -> tuple[WorkbookSpec, WorkbookSpec]:
    """Templates expanded for this campaign (one answer column per criterion)."""
    n = len(campaign.criteria)
    return load_workbook_spec("staff").expand(n), load_workbook_spec("panel").expand(n)


def open_stores(settings: Settings, campaign: CampaignConfig, **google_kw: object) -> Stores:
    """Open the campaign's staff and panel workbooks on the configured backend."""
    staff_spec, panel_spec = workbook_specs(campaign)
    folder = settings.workspace / campaign.id
    if settings.org.storage.backend == "google":
        from .google import open_google_stores  # imported lazily: only Google users need it

        stores = open_google_stores(settings, campaign, staff_spec, panel_spec, **google_kw)
    else:
        timeout = settings.org.storage.lock_timeout_seconds
        stores = Stores(
            staff=LocalStore(staff_spec, folder / "staff.xlsx", campaign.header_map, timeout),
            panel=LocalStore(panel_spec, folder / "panel.xlsx", {}, timeout),
        )
    ledger = open_ledger(folder)  # the jobs' own record, under both workbooks
    for store in (stores.staff, stores.panel):
        store.attach_ledger(ledger, folder)
    return stores
