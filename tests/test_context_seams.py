"""The seams on the context are typed and made once, on first use; the old ``extras``
names still reach the same seams, and a misspelt one is refused rather than ignored."""

from __future__ import annotations

import pytest

from automations.context import Context, SeamsByName
from automations.forms.base import get_provider
from automations.forms.local import LocalFormsProvider
from automations.mail import OutboxTransport, get_transport


def test_mail_and_forms_are_made_once_from_the_settings(ctx: Context) -> None:
    assert ctx.seams.mail is None and ctx.seams.forms is None
    mail = ctx.mail
    assert isinstance(mail, OutboxTransport)
    assert mail.folder == ctx.settings.path(ctx.settings.org.mail.outbox)
    assert ctx.mail is mail is get_transport(ctx) is ctx.seams.mail
    forms = ctx.forms
    assert isinstance(forms, LocalFormsProvider)
    assert ctx.forms is forms is get_provider(ctx) is ctx.seams.forms


def test_a_preset_seam_is_used_by_every_way_of_asking(ctx: Context) -> None:
    other = OutboxTransport(ctx.settings.path("elsewhere"))
    ctx.extras["mail"] = other  # how tests have always preset it
    assert ctx.mail is other and ctx.seams.mail is other and get_transport(ctx) is other
    ctx.mail = None  # forget it: the next use makes the configured one again
    assert "mail" not in ctx.extras
    assert ctx.mail is not other


def test_extras_holds_only_the_seams_that_are_made(ctx: Context) -> None:
    extras = ctx.extras
    assert isinstance(extras, SeamsByName)
    assert dict(extras) == {} and len(extras) == 0
    ctx.seams.google_retry = object()  # type: ignore[assignment]
    assert list(extras) == ["google_retry"]
    assert extras.pop("forms", None) is None
    del extras["google_retry"]
    assert ctx.seams.google_retry is None
    with pytest.raises(KeyError):
        del extras["google_retry"]


def test_a_misspelt_seam_is_refused(ctx: Context) -> None:
    with pytest.raises(KeyError, match="no seam called 'mial'"):
        ctx.extras["mial"] = object()
    with pytest.raises(KeyError, match="no seam called 'mial'"):
        ctx.extras["mial"]
