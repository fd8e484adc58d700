"""Screenshots of both pages with a drawing and its guess, on a laptop and on a phone.

They land in a temporary folder, or in ``$SCREENSHOTS`` when set: ``make screenshots`` points
it at docs/screenshots/ for the README, so a test run never rewrites tracked files. The phone run draws with a finger (real
touch events) on a touch screen with a dense display, as a person on a phone would.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SCREENS = {"desktop": ("page", "mouse"), "phone": ("phone_page", "touch")}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_screenshots(request, screen, open_page, final_guess, quickdraw_drawings, web_model, watch, tmp_path):
    """Draw a real drawing on each page and save what a person sees."""
    SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOTS") or tmp_path)  # noqa: N806  (reads as the folder it is)
    page_fixture, kind = SCREENS[screen]
    page = request.getfixturevalue(page_fixture)
    page_watch = watch(page)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    categories = web_model["categories"]
    category = categories[len(categories) // 2]
    strokes = quickdraw_drawings(category)[0]

    pen = open_page(page, "/", kind=kind)
    pen.draw(strokes, steps=2)
    final_guess(page)
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", re.compile("confident|unsure"))
    page.screenshot(path=SCREENSHOT_DIR / f"draw-{screen}.png", full_page=True, animations="disabled")

    pen = open_page(page, "/contribute", kind=kind)
    page.get_by_label("What will you draw?").select_option(category)
    expect(page.get_by_test_id("stats").locator("[data-label]")).to_have_count(len(categories))
    pen.draw(strokes, steps=2)
    final_guess(page)
    page.screenshot(path=SCREENSHOT_DIR / f"contribute-{screen}.png", full_page=True, animations="disabled")
    page_watch.assert_clean()
