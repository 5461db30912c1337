"""Co-production collect asks the form backend only about forms that were pushed.

Found by the end-to-end test on the emulated Google path: the hourly 'coprod' run
searched Drive once per person for interest and feedback forms nobody had been sent
(11 Drive searches an hour for the example's eight people, growing with the people).
"""

from __future__ import annotations

from typing import Any

import pytest

from automations.context import Context
from automations.coprod_forms import collect_forms, push_forms, specs_for
from automations.forms.base import get_provider


def test_collect_asks_only_about_pushed_forms(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = get_provider(ctx)
    asked: list[list[str]] = []
    real = provider.fetch_responses

    def spy(specs: Any, since: Any = None) -> Any:
        asked.append(sorted(s.key for s in specs))
        return real(specs, since)

    monkeypatch.setattr(provider, "fetch_responses", spy)
    for kind in ("interest", "feedback"):
        assert collect_forms(ctx, kind).detail == "0 response(s) seen, 0 new row(s)"
    assert asked == []  # nothing pushed: nothing to ask about

    push_forms(ctx, "feedback", send=False)
    collect_forms(ctx, "interest")
    collect_forms(ctx, "feedback")
    st = ctx.stores.staff
    st.forget()
    frames = st.read(["people", "dates", "question_drafts", "form_links"])
    assert asked == [sorted(s.key for s in specs_for(ctx, "feedback", frames))]
    assert asked[0]
