"""'I can't score this one' (issue 19) in a real browser at 320 px: chosen with the
arrow keys in the same group as the scores, shown on the check page, sent, collected
with no score, and merged as a missing score (never zero) that staff can read."""

from __future__ import annotations

from automations.context import Context
from automations.forms.base import FormSpec
from automations.forms.local import RunningServer
from automations.jobs.forms import collect_job
from automations.jobs.merge import merge_job
from automations.transforms.values import is_empty
from tests import test_forms_browser as B
from tests.forms_support import exceptions, provider, raw_scores
from tests.test_forms_browser import choose, fits, press_button

# the same chromium, server and 320 px page as the other form tests
browser, served, page = B.browser, B.served, B.page


def test_cant_score_chosen_with_the_keyboard_sent_collected_and_merged_as_missing(
    served: tuple[RunningServer, FormSpec, str], page: object, ctx: Context
) -> None:
    _server, spec, url = served
    items = spec.scale_items()
    first = items[0]
    page.goto(url + "/1")  # type: ignore[attr-defined]
    fits(page)
    # the choice follows the scale, in the same radio group, with its own label
    group = page.locator(f"input[name='{first.item_id}']")  # type: ignore[attr-defined]
    values = [group.nth(i).get_attribute("value") for i in range(group.count())]
    assert values[-3:] == ["cant-score:conflict", "cant-score:unreadable", "cant-score:other"]
    label = page.locator(f"label[for='{first.item_id}-cant-score-conflict']").inner_text()  # type: ignore[attr-defined]
    assert label == "I can't score this one: I have a conflict of interest"
    # keyboard only: to the top of the scale, then one more arrow reaches it
    choose(page, first, first.max)
    page.keyboard.press("ArrowDown")  # type: ignore[attr-defined]
    checked = page.locator(f"input[name='{first.item_id}']:checked")  # type: ignore[attr-defined]
    assert checked.get_attribute("value") == "cant-score:conflict"
    # the other scores on every page, then the check page
    n = 1
    while True:
        here = page.locator("input[type=radio][value='3']")  # type: ignore[attr-defined]
        for i in range(here.count()):
            radio = here.nth(i)
            name = radio.get_attribute("name")
            if name != first.item_id:
                radio.check()
        with page.expect_navigation():  # type: ignore[attr-defined]
            page.click("button[value=next]")  # type: ignore[attr-defined]
        assert "Error" not in page.title()  # type: ignore[attr-defined]
        if page.url.endswith("/check"):  # type: ignore[attr-defined]
            break
        n += 1
        assert n <= len(spec.sections) * len(items)
    row = page.locator(f"#row-{first.item_id}")  # type: ignore[attr-defined]
    assert "You can't score this one: a conflict of interest" in row.inner_text()
    assert "Not scored yet" not in page.content()  # type: ignore[attr-defined]
    fits(page)
    press_button(page, "Send my scores")
    assert "your scores are saved" in page.locator("h1").inner_text()  # type: ignore[attr-defined]
    [resp] = provider(ctx).inbox.responses([spec.key])
    assert resp.answers[first.item_id] == "cant-score:conflict"

    collect_job(ctx)
    raw = raw_scores(ctx)
    mine = raw[(raw["person_id"] == spec.person_id) & (raw["question_id"] == first.question_id)]
    got = mine[mine["candidate_letter"] == first.candidate_letter].iloc[0]
    assert got["cant_score"] == "a conflict of interest"
    assert is_empty(got["score"])  # no score at all: never a zero
    reasons = " ".join(str(x) for x in exceptions(ctx)["reason"])
    n_q = spec.question_order.index(first.question_id) + 1
    assert (
        f"{spec.person_id} could not score Candidate {first.candidate_letter} "
        f"on criterion {n_q} (a conflict of interest)"
    ) in reasons

    merge_job(ctx)
    ctx.stores.staff.forget()
    results = ctx.stores.staff.read_one("results")
    row_a = results[results["candidate_letter"] == first.candidate_letter].iloc[0]
    assert (
        f"{spec.person_id} said they could not score {first.question_id} (a conflict of interest)"
        in str(row_a["flags"])
    )
