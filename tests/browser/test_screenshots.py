"""Screenshots of both pages with a drawing and its guess, on a laptop and on a phone.

They land in docs/screenshots/ for the README. The phone run draws with a finger (real
touch events), so it also checks that drawing works on touch screens.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize(
    "screen", ["desktop", pytest.param("phone", marks=pytest.mark.browser_context_args(**PHONE))]
)
def test_screenshots(
    page, screen, open_page, final_guess, quickdraw_drawings, web_model, outside_requests, page_errors
):
    """Draw a real drawing on each page and save what a person sees."""
    touch = screen == "phone"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    categories = web_model["categories"]
    category = categories[len(categories) // 2]
    strokes = quickdraw_drawings(category)[0]

    pen = open_page(page, "/", touch=touch)
    pen.draw(strokes, steps=2)
    final_guess(page)
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", re.compile("confident|unsure"))
    page.screenshot(path=SCREENSHOT_DIR / f"draw-{screen}.png", full_page=touch, animations="disabled")

    pen = open_page(page, "/contribute", touch=touch)
    page.get_by_label("What will you draw?").select_option(category)
    expect(page.get_by_test_id("stats").locator("[data-label]")).to_have_count(len(categories))
    pen.draw(strokes, steps=2)
    final_guess(page)
    page.screenshot(path=SCREENSHOT_DIR / f"contribute-{screen}.png", full_page=touch, animations="disabled")

    assert outside_requests == []
    assert page_errors == []
