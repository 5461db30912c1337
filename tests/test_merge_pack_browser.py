"""The decision pack opened in a real browser (Debian's chromium via Playwright)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from automations.config import Settings
from automations.config.models import Merge
from automations.reports.decision_pack import render_pack
from automations.transforms import merge as M
from tests.merge_support import grid, people, person, raw

CHROMIUM = "/usr/bin/chromium"
CRIT = ["c1", "c2", "c3", "c4"]


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI")
        pytest.skip("Debian's chromium is not installed")


@pytest.fixture
def outcome(settings: Settings) -> tuple[M.MergeOutcome, object]:
    camp = settings.campaign(None)
    camp = camp.model_copy(
        update={"merge": Merge(**{**camp.merge.model_dump(), "reviewer_zscores": True})}
    )
    ppl = people(
        [person("p01", "council", role="chair"), person("p02", "council")]
        + [person(p, "lived experience") for p in ("p03", "p05", "p06", "p07")]
    )
    val = {"A": 4, "B": 3, "C": 2}
    rows = grid(["p01", "p02"], list(val), CRIT, lambda p, lt, q: val[lt], stage="shortlisting")
    rows += grid(["p03", "p05", "p06", "p07"], list(val), CRIT, 2, stage="shortlisting")
    rows[0]["comment"] = "Clear, kind answer with real examples."
    return M.merge_scores(raw(rows), ppl, camp), camp


@pytest.mark.browser
@pytest.mark.parametrize("version", ["staff", "panel"])
def test_pack_in_chromium_headings_tables_and_pdf(outcome, tmp_path, version):
    _need_chromium()
    from playwright.sync_api import sync_playwright

    out, camp = outcome
    html = render_pack(
        out,
        camp,  # type: ignore[arg-type]
        version,
        names={"A": "Joy Hill"},
        generated_at=dt.datetime(2027, 1, 25, 9, 0),
    )
    page_file = tmp_path / f"pack-{version}.html"
    page_file.write_text(html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(page_file.as_uri())
            assert page.locator("html").get_attribute("lang") == "en-GB"
            assert page.locator("h1").inner_text().startswith("Decision pack")
            h2 = page.locator("h2").all_inner_texts()
            assert h2 == ["How the scores were put together", "Shortlisting"]
            h3 = page.locator("h3").all_inner_texts()
            cand = [h for h in h3 if h.startswith("Candidate")]
            if version == "staff":
                assert cand == ["Candidate A: Joy Hill", "Candidate B", "Candidate C"]
                assert "How each reviewer scores (shortlisting, staff only)" in h3
            else:
                assert cand == ["Candidate A", "Candidate B", "Candidate C"]
                assert "Joy" not in page.content() and "p01" not in page.content()
            # Table semantics: captions, column headers and row headers.
            summary = page.locator("table").first
            assert "each panel's score" in summary.locator("caption").inner_text()
            cols = summary.locator("th[scope=col]").all_inner_texts()
            assert cols[0] == "Candidate" and "Council panel" in cols and "Overall" in cols
            rows = summary.locator("tbody th[scope=row]").all_inner_texts()
            assert rows == ["Candidate A", "Candidate B", "Candidate C"]
            # The numbers are written out, not only drawn.
            body = page.locator("body").inner_text()
            assert "(100.00 + 50.00) / 2 = 75.00" in body
            assert "each panel counts for exactly half" in body
            # Bars are drawn at the width of their score.
            bar = page.locator(".candidate .bar.council").first
            track = page.locator(".candidate .track").first
            ratio = bar.bounding_box()["width"] / track.bounding_box()["width"]  # type: ignore[index]
            assert 0.97 < ratio <= 1.0
            page.screenshot(path=str(tmp_path / f"pack-{version}.png"), full_page=True)
            # Narrow phone screen: nothing spills sideways outside its scroll box.
            page.set_viewport_size({"width": 320, "height": 700})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            pdf = page.pdf(format="A4", print_background=True)
            assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
            (tmp_path / f"pack-{version}.pdf").write_bytes(pdf)
        finally:
            browser.close()
    assert (tmp_path / f"pack-{version}.png").stat().st_size > 10_000


def test_pack_text_without_a_browser(outcome):
    out, camp = outcome
    html = render_pack(out, camp, "panel")  # type: ignore[arg-type]
    assert "Panel version" in html
    assert "Clear, kind answer" in html
    assert "A member of the Council panel" in html
    staff = render_pack(out, camp, "staff")  # type: ignore[arg-type]
    assert "p01 (Council panel)" in staff
    assert "Check place (standardised)" in staff
    assert Decimal("75.00") == out.stage("shortlisting")[0].overall_decimal


def test_pack_interviews_with_carry_and_a_mixed_panel(settings):
    camp = settings.campaign(None)
    info = camp.campaign.model_copy(update={"panel_mode": "mixed"})
    camp = camp.model_copy(
        update={
            "campaign": info,
            "merge": Merge(**{**camp.merge.model_dump(), "carry_shortlisting_weight": "0.2"}),
        }
    )
    ppl = people([person("p01", "council"), person("p03", "lived experience")])
    qs = [f"q{i}" for i in range(1, 7)]
    rows = grid(["p01", "p03"], ["A", "B"], CRIT, 2, stage="shortlisting")
    rows += grid(["p01", "p03"], ["A"], qs, 4, stage="interview")
    out = M.merge_scores(raw(rows), ppl, camp)
    html = render_pack(out, camp, "panel")
    assert "There is one mixed panel" in html
    assert "20% of each candidate's shortlisting score is carried" in html
    # A: interview 100, shortlisting 50 -> 0.8*100 + 0.2*50 = 90.00
    assert "20% of the shortlisting score (50.00) is carried in: 90.00" in html
    assert '<h2 id="stage-interview">Interviews</h2>' in html
    assert "Mixed panel" in html and "Council panel" not in html
