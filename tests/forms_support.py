"""Helpers for the score-form tests: what the redact job would have done, and filling in forms."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd
from flask.testing import FlaskClient

from automations.context import Context
from automations.forms.base import FormSpec, ScaleItem, get_provider
from automations.forms.local import AppInfo, LocalFormsProvider, create_app
from automations.store import make_frame
from tests.remind_support import LETTERS, give_letters, set_status

# Anonymised answers as the panel workbook would hold them (invented, no names).
ANSWER = "Candidate {letter}'s answer to criterion {n}: I listen first and share the planning."


def seed_candidates(ctx: Context, interview: tuple[str, ...] = ()) -> list[str]:
    """Letters in the candidate key, anonymised applications in the panel workbook, each
    marked reviewed on the redaction report, and (optionally) some applications on the
    interview list."""
    give_letters(ctx)
    panel = ctx.stores.panel
    n = len(ctx.campaign.criteria)
    rows = [
        {
            "candidate_letter": letter,
            **{f"answer_{i}": ANSWER.format(letter=letter, n=i) for i in range(1, n + 1)},
        }
        for letter in sorted(LETTERS.values())
    ]
    panel.append("applications", make_frame(panel.tab("applications"), rows))
    st = ctx.stores.staff  # and staff have checked each one's redaction report
    st.append(
        "redaction_report",
        make_frame(
            st.tab("redaction_report"),
            [
                {"application_id": a, "candidate_letter": x, "reviewed_by": "R. Checker"}
                for a, x in LETTERS.items()
            ],
        ),
    )
    if interview:
        by_letter = {v: k for k, v in LETTERS.items()}
        set_status(ctx, [by_letter[x] for x in interview], "invited")
    return sorted(LETTERS.values())


def provider(ctx: Context) -> LocalFormsProvider:
    p = get_provider(ctx)
    assert isinstance(p, LocalFormsProvider)
    return p


def client(ctx: Context) -> FlaskClient:
    p = provider(ctx)
    return create_app(p.inbox, p.signer, info=AppInfo(tz="Europe/London"), now=p.now).test_client()


def path_of(url: str) -> str:
    m = re.search(r"(/f/[^/?#]+)$", url)
    assert m, url
    return m.group(1)


def links(ctx: Context) -> dict[tuple[str, str], str]:
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    return {(r["person_id"], r["stage"]): r["url"] for _, r in df.iterrows()}


def fill(
    c: FlaskClient,
    spec: FormSpec,
    path: str,
    score: Mapping[str, str] | str = "2",
    comments: Mapping[str, str] | None = None,
    nonce: str = "",
) -> str:
    """Fill every page and send from the check page (with the nonce it issued; ``nonce``
    is kept for older callers and not used); returns the response id.

    Follows the pages the server gives this person (large print and easy read people
    have one candidate a page), posting every answer each time: a page keeps its own."""
    data = {"nav": "next"}
    for item in spec.items():
        if isinstance(item, ScaleItem):
            data[item.item_id] = score if isinstance(score, str) else score.get(item.item_id, "2")
        elif comments and item.item_id in comments:
            data[item.item_id] = comments[item.item_id]
    at = f"{path}/1"
    while not at.endswith("/check"):
        r = c.post(at, data=data)
        assert r.status_code == 303, r.get_data(as_text=True)[:500]
        at = str(r.headers["Location"])
    r = c.post(f"{path}/send", data={"nonce": check_nonce(c, path)})
    assert r.status_code == 303
    return str(r.headers["Location"]).rsplit("/", 1)[1]


def check_nonce(c: FlaskClient, path: str) -> str:
    """The nonce the check page issues for its Send button."""
    m = re.search(r'name="nonce" value="([^"]+)"', c.get(f"{path}/check").get_data(as_text=True))
    assert m
    return m.group(1)


def raw_scores(ctx: Context) -> pd.DataFrame:
    ctx.stores.staff.forget()
    return ctx.stores.staff.read_one("raw_scores")


def exceptions(ctx: Context) -> pd.DataFrame:
    ctx.stores.staff.forget()
    return ctx.stores.staff.read_one("exceptions")
