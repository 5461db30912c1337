"""What a job needs to run for one campaign: settings, stores, clock and seams.

Jobs take a :class:`Context` instead of reaching for globals, so tests can hand
them an emulated Google, a frozen clock or a loopback mail server.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .config import CampaignConfig, Settings
from .store import Stores, open_stores

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from .forms.base import FormsProvider
    from .google.http import RetryPolicy
    from .mail import MailTransport
    from .mail.render import Renderer

log = logging.getLogger("corecruit")


def local_now(tz: str) -> dt.datetime:
    """Now in the organisation's timezone, without tzinfo (how the sheets show time)."""
    return dt.datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)


@dataclass
class Seams:
    """The I/O seams a job may use, each made from the settings on first use.

    Tests preset them: a transport that fails half-way, the Google emulator's session,
    credentials with fewer scopes. ``None`` means "make it from the settings".
    """

    mail: MailTransport | None = None
    forms: FormsProvider | None = None
    mail_renderer: Renderer | None = None
    google_transport: Any = None  # the requests.Session carrying Google's bytes
    google_credentials: Credentials | None = None
    google_retry: RetryPolicy | None = None
    gmail_service: Any = None  # a googleapiclient Gmail resource


SEAM_NAMES = frozenset(f.name for f in fields(Seams))


class SeamsByName(MutableMapping[str, Any]):
    """The seams by name, as ``ctx.extras`` has always offered them (``ctx.extras["mail"]``).

    Only the names of :class:`Seams` are accepted, so a misspelt seam is an error rather
    than a value nobody reads; a seam not made yet is not in it.
    """

    def __init__(self, seams: Seams) -> None:
        self._seams = seams

    @staticmethod
    def _name(key: str) -> str:
        if key not in SEAM_NAMES:
            raise KeyError(f"there is no seam called {key!r}; known: {sorted(SEAM_NAMES)}")
        return key

    def __getitem__(self, key: str) -> Any:
        value = getattr(self._seams, self._name(key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self._seams, self._name(key), value)

    def __delitem__(self, key: str) -> None:
        self[key]  # KeyError when not made
        setattr(self._seams, key, None)

    def __iter__(self) -> Iterator[str]:
        return (n for n in sorted(SEAM_NAMES) if getattr(self._seams, n) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class Context:
    settings: Settings
    campaign: CampaignConfig
    stores: Stores
    clock: Callable[[], dt.datetime] | None = None
    seams: Seams = field(default_factory=Seams)

    def now(self) -> dt.datetime:
        return self.clock() if self.clock else local_now(self.settings.org.organisation.timezone)

    def today(self) -> dt.date:
        return self.now().date()

    def release(self) -> None:
        """Drop what the stores kept of this job's reads, and the grids it keyed: the job
        has ended, and each job reads its tabs afresh (the file's kept read stays: the
        next job reading an unchanged tab takes its cells from it without parsing).

        The stores and their ledger record refer to each other, so without this their
        grids would live until Python's cycle collector runs (rarely, with millions of
        cells about). A context used again (tests that hand the runner one) reads afresh.
        """
        from .ledger.merge import forget_keyings  # it imports the stores, which import us

        for store in (self.stores.staff, self.stores.panel):
            store.forget()
        forget_keyings()

    @property
    def extras(self) -> MutableMapping[str, Any]:
        """The seams by name (older call sites and tests); prefer ``ctx.mail``/``ctx.forms``."""
        return SeamsByName(self.seams)

    # The seam modules import Context, so each is imported when its seam is first made.
    @property
    def mail(self) -> MailTransport:
        """The configured mail transport, made once per context."""
        from .mail import get_transport

        return get_transport(self)

    @mail.setter
    def mail(self, transport: MailTransport | None) -> None:
        self.seams.mail = transport

    @property
    def forms(self) -> FormsProvider:
        """The configured forms backend, made once per context."""
        from .forms.base import get_provider

        return get_provider(self)

    @forms.setter
    def forms(self, provider: FormsProvider | None) -> None:
        self.seams.forms = provider


def make_context(
    settings: Settings,
    campaign_id: str | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    **store_kw: Any,
) -> Context:
    campaign = settings.campaign(campaign_id)
    return Context(settings, campaign, open_stores(settings, campaign, **store_kw), clock)
