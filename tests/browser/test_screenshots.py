"""Screenshots of both pages with a drawing and its guess (and of a drawing that is no accessory), on a laptop and on a phone.

They land in a temporary folder, so `make test` leaves the checkout clean; `make screenshots`
(``SCREENSHOT_DIR=docs/screenshots``) refreshes the README's on purpose. The phone run draws with a finger (real
touch events) on a touch screen with a dense display, as a person on a phone would.
"""

from __future__ import annotations

import re

import pytest
from hand_drawn import smiley
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SCREENS = {"desktop": ("page", "mouse"), "phone": ("phone_page", "touch")}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_screenshots(request, screen, open_page, final_guess, quickdraw_drawings, web_model, watch, screenshot_dir):
    """Draw a real drawing on each page and save what a person sees."""
    page_fixture, kind = SCREENS[screen]
    page = request.getfixturevalue(page_fixture)
    page_watch = watch(page)
    categories = web_model["categories"]
    category = categories[len(categories) // 2]
    strokes = quickdraw_drawings(category)[0]

    pen = open_page(page, "/", kind=kind)
    pen.draw(strokes, steps=2)
    final_guess(page)
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", re.compile("confident|unsure"))
    page.screenshot(path=screenshot_dir / f"draw-{screen}.png", full_page=True, animations="disabled")

    # Something that is none of the accessories: the page says so.
    page.get_by_role("button", name="Clear").click()
    pen.draw(smiley(), steps=2)
    final_guess(page)
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "other")
    page.screenshot(path=screenshot_dir / f"draw-{screen}-none.png", full_page=True, animations="disabled")

    pen = open_page(page, "/contribute", kind=kind)
    page.get_by_label("What will you draw?").select_option(category)
    expect(page.get_by_test_id("stats").locator("[data-label]")).to_have_count(len(categories))
    pen.draw(strokes, steps=2)
    final_guess(page)
    page.screenshot(path=screenshot_dir / f"contribute-{screen}.png", full_page=True, animations="disabled")
    page_watch.assert_clean()
