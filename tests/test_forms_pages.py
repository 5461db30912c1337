"""How a form is split into pages (pure): a score stays with its notes, the person's
choice is kept, and large print and easy read start at one candidate a page."""

from __future__ import annotations

from dataclasses import replace

import pytest

from automations.config import CampaignConfig, Settings
from automations.forms.base import CommentItem, FormSpec
from automations.forms.pages import PER_PAGE_KEY, page_of_item, pages, per_page
from automations.transforms.forms import Candidate, shortlisting_spec


@pytest.fixture
def example_campaign(settings: Settings) -> CampaignConfig:
    return settings.campaign(None)


def _spec(campaign: CampaignConfig, fmt: str = "standard") -> FormSpec:
    cands = [Candidate(x, {c.id: "An answer." for c in campaign.criteria}) for x in "ABCDEFG"]
    return shortlisting_spec(campaign, "p01", cands, fmt)


def test_pages_keep_each_score_with_its_notes_and_every_item_once(
    example_campaign: CampaignConfig,
) -> None:
    spec = _spec(example_campaign)
    n_crit = len(spec.sections)
    assert [len(pages(spec, c)) for c in ("all", "3", "1")] == [n_crit, 3 * n_crit, 7 * n_crit]
    for choice in ("all", "3", "1"):
        ps = pages(spec, choice)
        assert [p.number for p in ps] == list(range(1, len(ps) + 1))
        items = [i.item_id for p in ps for i in p.items]
        assert items == [i.item_id for i in spec.items()]  # same order, nothing lost
        for p in ps:
            for k, item in enumerate(p.items):
                if isinstance(item, CommentItem):
                    assert p.items[k - 1].candidate_letter == item.candidate_letter
        assert set(page_of_item(ps)) == set(items)
    three = pages(spec, "3")
    assert [p.letters for p in three[:3]] == [
        list(spec.candidate_order[0:3]),
        list(spec.candidate_order[3:6]),
        list(spec.candidate_order[6:7]),
    ]
    assert [(p.part, p.parts) for p in three[:3]] == [(1, 3), (2, 3), (3, 3)]


def test_large_print_and_easy_read_start_at_one_a_page_and_a_choice_is_kept(
    example_campaign: CampaignConfig,
) -> None:
    assert per_page(_spec(example_campaign), {}) == "all"
    for fmt in ("large print", "easy read"):
        spec = _spec(example_campaign, fmt)
        assert spec.format == fmt
        assert per_page(spec, {}) == "1"
        assert per_page(spec, {PER_PAGE_KEY: "all"}) == "all"
        assert per_page(spec, {PER_PAGE_KEY: "7; drop"}) == "1"  # anything else: the default
    # forms that are not score forms are never split
    other = replace(_spec(example_campaign, "large print"), kind="answers")
    assert len(pages(other, "1")) == len(other.sections)
