"""The contribute page: a labelled drawing reaches the database, the person is told what was
stored, and empty or unlabelled drawings are refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from webapp.store import get_store

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def stored_count(page, label: str) -> int:
    """How many drawings of ``label`` the server says it stores."""
    response = page.request.get("/api/drawings/stats")
    assert response.ok, response.text()
    stats = response.json()
    assert set(stats) == {"total", "by_label"}
    assert stats["total"] == sum(stats["by_label"].values())
    return stats["by_label"][label]


def test_contribute_stores_a_labelled_drawing(
    page, open_page, final_guess, quickdraw_drawings, web_model, live_server, page_watch
):
    """Choose, draw, send: the drawing is stored with its label, and the page says so."""
    label = web_model["categories"][-1]
    pen = open_page(page, "/contribute")
    before = stored_count(page, label)
    counter = page.get_by_test_id("stats").locator(f'[data-label="{label}"]')
    expect(counter).to_have_attribute("data-count", str(before))

    page.get_by_label("What will you draw?").select_option(label)
    strokes = quickdraw_drawings(label)[1]
    pen.draw(strokes)
    final_guess(page)  # The live guess works here too.
    sent_strokes = page.evaluate("window.__doodles.getStrokes()")
    page.get_by_role("button", name="Send drawing").click()

    status = page.get_by_test_id("status")
    expect(status).to_have_text(re.compile(rf"^Saved your {re.escape(label)} drawing #\d+ — thank you"))
    expect(status).to_have_attribute("data-state", "success")
    drawing_id = int(re.search(r"#(\d+)", status.text_content()).group(1))
    # Ready for the next drawing: the canvas is cleared and the counts are fresh.
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
    assert page.evaluate("window.__doodles.getStrokes()") == []
    expect(counter).to_have_attribute("data-count", str(before + 1))
    assert stored_count(page, label) == before + 1

    # The row exists with the strokes drawn on the canvas and the 28x28 PNG (the store holds both).
    store = get_store(live_server.app)
    drawing = store.get_drawing(drawing_id)
    assert drawing is not None, f"no database row for drawing {drawing_id}"
    assert (drawing["label"], drawing["n_strokes"]) == (label, len(strokes))
    assert len(drawing["strokes"]) == len(sent_strokes) == len(strokes)
    assert store.drawing_png(drawing_id).startswith(PNG_SIGNATURE)
    page_watch.assert_clean()


def test_contribute_refuses_unlabelled_and_empty_drawings(page, open_page, quickdraw_drawings, web_model):
    """No label or no strokes: the page explains and sends nothing; the server refuses too.

    A drawing the server refuses keeps its strokes on the canvas, with the server's reason.
    """
    label = web_model["categories"][0]
    pen = open_page(page, "/contribute")
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    send = page.get_by_role("button", name="Send drawing")
    status = page.get_by_test_id("status")

    pen.draw(quickdraw_drawings(label)[0])
    send.click()
    expect(status).to_have_text("Choose what you drew first.")
    expect(page.get_by_label("What will you draw?")).to_be_focused()

    page.get_by_role("button", name="Clear").click()
    page.get_by_label("What will you draw?").select_option(label)
    send.click()
    expect(status).to_have_text(re.compile("canvas is empty"))
    assert posts == []

    response = page.request.post("/api/drawings", data={"label": label, "strokes": []})
    assert response.status == 400
    assert response.json()["error"]

    # The server says no (here: too many contributions): the page shows why and keeps the drawing.
    refusal = "too many contributions from this address; try again later"
    page.route(
        "**/api/drawings",
        lambda route: route.fulfill(status=429, json={"error": refusal}, headers={"Retry-After": "60"}),
    )
    strokes = quickdraw_drawings(label)[0]
    pen.draw(strokes)
    send.click()
    expect(status).to_have_text(f"Not saved: {refusal}")
    expect(status).to_have_attribute("data-state", "error")
    assert page.evaluate("window.__doodles.getStrokes().length") == len(strokes)
    expect(send).to_be_enabled()
