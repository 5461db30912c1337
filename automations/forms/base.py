"""The forms seam: what a score form is, what a response is, and who serves them.

Two backends implement :class:`FormsProvider`: ``local`` (corecruit's own small web
server, :mod:`automations.forms.local`) and ``google`` (Google Forms,
:mod:`automations.forms.google`). Jobs build :class:`FormSpec` objects with the pure
transforms in :mod:`automations.transforms.forms` and never care which backend runs.

Contract for every provider:

- ``ensure_forms(specs)`` makes sure each spec has a live form and returns a
  :class:`FormHandle` per ``spec.key``. It is idempotent by key: calling it again with
  the same keys returns the same forms (updated in place if the spec changed), never
  new ones, so a job killed half-way can simply be run again.
- ``fetch_responses(specs, since)`` returns submitted responses to those forms,
  submitted at or after ``since`` (``None``: all). Each :class:`Response` has a
  ``response_id`` that is stable and unique for that submission, so collecting twice
  never duplicates a score. Answers are keyed by the spec's ``item_id``s; a provider
  maps its own question ids back to them. ``answers`` holds every item that was on
  the form when it was sent, with ``''`` for one left blank; an item id missing from
  ``answers`` means "not on the form then" (say, a candidate added later) and is
  skipped rather than reported as a missing score. Providers do not validate scores: that is
  :func:`automations.transforms.forms.validate_responses`' job, so both backends
  reject the same things in the same words.
- ``mark_collected(responses)`` is called by a job only after it has written those
  responses to the workbook. Until then a provider must keep everything they need
  (Google keeps a question no longer asked while it holds uncollected answers).

Item ids are built only with :func:`score_item_id` / :func:`comment_item_id` and are
safe as HTML names and Google item descriptions (``[A-Za-z0-9_-]``).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

# The values a provider serves and collects live with the pure transforms; they are
# re-exported here, where the seam's callers have always found them.
from ..transforms.form_values import (
    CANT_SCORE,
    CommentItem,
    FormHandle,
    FormPart,
    FormSpec,
    Item,
    Response,
    ScaleItem,
    ScalePoint,
    Section,
    Source,
    Stage,
    cant_score_reason,
    comment_item_id,
    form_key,
    parse_form_key,
    score_item_id,
)

if TYPE_CHECKING:
    from ..context import Context


@runtime_checkable
class FormsProvider(Protocol):
    """A forms backend. See the module docstring for the contract."""

    def ensure_forms(self, specs: Sequence[FormSpec]) -> dict[str, FormHandle]: ...

    def fetch_responses(
        self, specs: Sequence[FormSpec], since: dt.datetime | None = None
    ) -> list[Response]: ...

    def mark_collected(self, responses: Sequence[Response]) -> None:
        """Called once these responses are written to the workbook (see the contract)."""
        ...


def get_provider(ctx: Context) -> FormsProvider:
    """The configured forms backend, made once per context (``ctx.forms`` calls this).

    ``automations.forms.<backend>`` must define ``<backend>_provider(ctx)``
    (``local_provider``, ``google_provider``). Tests may preset ``ctx.seams.forms``.
    """
    if ctx.seams.forms is None:
        backend = ctx.settings.org.forms.backend
        # imported lazily: only Google users need the Google client libraries
        module = importlib.import_module(f"automations.forms.{backend}")
        ctx.seams.forms = getattr(module, f"{backend}_provider")(ctx)
    return ctx.seams.forms


__all__ = [
    "CANT_SCORE",
    "CommentItem",
    "FormHandle",
    "FormPart",
    "FormSpec",
    "FormsProvider",
    "Item",
    "Response",
    "ScaleItem",
    "ScalePoint",
    "Section",
    "Source",
    "Stage",
    "cant_score_reason",
    "comment_item_id",
    "form_key",
    "get_provider",
    "parse_form_key",
    "score_item_id",
]
