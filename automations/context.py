"""What a job needs to run for one campaign: settings, stores, clock and seams.

Jobs take a :class:`Context` instead of reaching for globals, so tests can hand
them an emulated Google, a frozen clock or a loopback mail server.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .config import CampaignConfig, Settings
from .store import Stores, open_stores

log = logging.getLogger("corecruit")


def local_now(tz: str) -> dt.datetime:
    """Now in the organisation's timezone, without tzinfo (how the sheets show time)."""
    return dt.datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)


@dataclass
class Context:
    settings: Settings
    campaign: CampaignConfig
    stores: Stores
    clock: Callable[[], dt.datetime] | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # seams made on first use (mail, forms)

    def now(self) -> dt.datetime:
        return self.clock() if self.clock else local_now(self.settings.org.organisation.timezone)

    def today(self) -> dt.date:
        return self.now().date()


def make_context(
    settings: Settings,
    campaign_id: str | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    **store_kw: Any,
) -> Context:
    campaign = settings.campaign(campaign_id)
    return Context(settings, campaign, open_stores(settings, campaign, **store_kw), clock)
