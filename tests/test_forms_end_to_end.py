"""The whole shortlisting flow on the local backend: redact, check, push, fill in, collect,
merge.

Independent scoring: until every shortlister has sent their scores, nothing a panel
member can reach (their own pages, the panel workbook) shows anyone's scores.
"""

from __future__ import annotations

import openpyxl
import pytest

from automations.context import Context
from automations.forms.base import comment_item_id, form_key
from automations.jobs.forms import collect_job, push_job
from automations.jobs.merge import merge_job
from automations.jobs.redact import redact_job
from tests.forms_support import client, fill, links, path_of, raw_scores
from tests.review_support import mark_reviewed
from tests.test_forms_jobs import SCORERS, specs_by_key


def panel_cells(ctx: Context) -> list[str]:
    wb = openpyxl.load_workbook(ctx.settings.workspace / ctx.campaign.id / "panel.xlsx")
    return [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]


@pytest.mark.slow
def test_redact_push_fill_collect_merge(ctx: Context) -> None:
    redact_job(ctx)
    assert mark_reviewed(ctx) == 6  # staff check the redaction report first
    redact_job(ctx)
    push_job(ctx, send=False)
    specs = specs_by_key(ctx)
    letters = sorted(specs[form_key(ctx.campaign.id, "shortlisting", "p01")].candidate_order)
    assert len(letters) == 6
    c = client(ctx)
    note = "Reviewer note only staff may read"
    for i, pid in enumerate(SCORERS):
        spec = specs[form_key(ctx.campaign.id, "shortlisting", pid)]
        fill(
            c,
            spec,
            path_of(links(ctx)[(pid, "shortlisting")]),
            str(i % 5),
            comments={comment_item_id(letters[0], "c1"): note},
            nonce=pid,
        )
        collect_job(ctx)
        merge_job(ctx)
        cells = panel_cells(ctx)
        assert note not in " ".join(cells)
        ctx.stores.panel.forget()
        shown = ctx.stores.panel.read_one("shortlisting_results")
        if i < len(SCORERS) - 1:
            assert shown.empty  # held back until everyone has sent theirs
    assert len(raw_scores(ctx)) == 6 * 6 * len(ctx.campaign.criteria)
    assert sorted(shown["candidate_letter"]) == letters  # released, by letter only
