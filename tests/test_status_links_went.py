"""The Status tab's "what happens next" on the day shortlisting opens (issue 19): the
line "Shortlisting links go out on Mon 11 Jan" turns into "Shortlisting links went out
on Mon 11 Jan" once the *Messages sent* log says the links went, says how many are still
to go when only some did, and is gone the next day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from automations.config import Settings
from automations.transforms.status import NEXT, StatusInputs, what_happens_next

OPENS = dt.datetime(2027, 1, 11, 9, 0)


def inputs(settings: Settings, now: dt.datetime, sent: list[dict[str, Any]]) -> StatusInputs:
    links = pd.DataFrame(
        [{"person_id": p, "stage": "shortlisting"} for p in ("p01", "p02", "p03")]
        + [{"person_id": "p01", "stage": "interview"}]
    )
    dates = pd.DataFrame([{"event": "shortlisting opens", "starts_at": OPENS}])
    camp = next(iter(settings.campaigns.values()))
    return StatusInputs(
        campaign=camp,
        now=now,
        jobs=[],
        tabs={"form_links": links, "sent_messages": pd.DataFrame(sent), "dates": dates},
        titles={},
    )


def link_row(pid: str, status: str = "sent", **kw: Any) -> dict[str, Any]:
    at = dt.datetime(2027, 1, 11, 9, 5)
    return {
        "rule": "form-link",
        "person_id": pid,
        "occasion": "shortlisting",
        "status": status,
        "sent_at": at,
        **kw,
    }


def first_line(settings: Settings, now: dt.datetime, sent: list[dict[str, Any]]) -> str:
    rows = what_happens_next(inputs(settings, now, sent))
    assert all(r["section"] == NEXT for r in rows)
    return rows[0]["item"]


def test_before_they_went_the_line_says_when_they_go(settings: Settings) -> None:
    assert first_line(settings, dt.datetime(2027, 1, 6, 9), []) == (
        "Shortlisting links go out on Mon 11 Jan"
    )
    # opening morning, before the forms job ran: still to go
    other = [{"rule": "shortlisting-opens", "person_id": "p01", "occasion": "x", "status": "sent"}]
    assert first_line(settings, dt.datetime(2027, 1, 11, 8), other) == (
        "Shortlisting links go out on Mon 11 Jan"
    )


def test_once_every_link_went_it_says_they_went(settings: Settings) -> None:
    # a person on paper gets a letter saved for staff ('contact another way'): that counts
    sent = [link_row("p01"), link_row("p02"), link_row("p03", "contact another way")]
    line = first_line(settings, dt.datetime(2027, 1, 11, 15), sent)
    assert line == "Shortlisting links went out on Mon 11 Jan"
    items = [r["item"] for r in what_happens_next(inputs(settings, OPENS, sent))]
    assert not any("links go out" in x for x in items)


def test_when_some_went_it_says_how_many_and_that_the_rest_follow(settings: Settings) -> None:
    sent = [link_row("p01"), link_row("p02", "failed"), link_row("p03", "intended")]
    assert first_line(settings, dt.datetime(2027, 1, 11, 15), sent) == (
        "Shortlisting links went out on Mon 11 Jan to 1 of 3 shortlisters; "
        "the others go at the next run"
    )


def test_the_day_after_the_line_is_gone(settings: Settings) -> None:
    sent = [link_row(p) for p in ("p01", "p02", "p03")]
    items = [
        r["item"] for r in what_happens_next(inputs(settings, dt.datetime(2027, 1, 12, 9), sent))
    ]
    assert not any("Shortlisting links" in x for x in items)
