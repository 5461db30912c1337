"""forms push stops once the decision meeting has begun: no renewed links months later.

Found by the end-to-end test: at the three-month check-in, push renewed every
expired shortlisting and interview link and emailed them all again, to people whose
scoring was long finished.
"""

from __future__ import annotations

import datetime as dt

from automations.context import Context
from automations.jobs.forms import push_job
from tests.forms_support import links, seed_candidates
from tests.remind_support import move_event, outbox


def test_no_forms_renewed_or_sent_after_the_decision_meeting(ctx: Context) -> None:
    seed_candidates(ctx, interview=("A", "B"))
    assert push_job(ctx).messages_sent == 10
    before = links(ctx)
    sent = len(outbox(ctx))

    # Four months on, every link has expired: nothing is renewed, nobody is emailed.
    ctx.clock = lambda: dt.datetime(2027, 6, 14, 9, 0)
    res = push_job(ctx)
    assert res.messages_sent == 0 and "scoring is over" in res.detail
    assert "Wednesday 10 February 2027" in res.detail
    assert links(ctx) == before and len(outbox(ctx)) == sent


def test_links_are_still_renewed_before_a_moved_decision_meeting(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx)
    before = links(ctx)
    # The decision meeting moved to April; in March the links near their end are renewed.
    move_event(ctx, "decision meeting", dt.datetime(2027, 4, 1, 10, 0))
    ctx.clock = lambda: dt.datetime(2027, 3, 15, 9, 0)
    res = push_job(ctx)
    assert res.messages_sent == 5
    after = links(ctx)
    assert after.keys() == before.keys() and all(after[k] != before[k] for k in before)
    # and from the moved meeting on, nothing more
    ctx.clock = lambda: dt.datetime(2027, 4, 1, 10, 0)
    assert "scoring is over" in push_job(ctx).detail
