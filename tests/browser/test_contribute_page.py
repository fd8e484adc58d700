"""The contribute page: a labelled drawing reaches the database and the drawings folder, the
person is told what was stored, and empty or unlabelled drawings are refused."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def stored_count(page, label: str) -> int:
    """How many drawings of ``label`` the server says it stores."""
    response = page.request.get("/api/drawings/stats")
    assert response.ok, response.text()
    return response.json()["by_label"].get(label, 0)


def test_contribute_stores_a_labelled_drawing(
    page, open_page, final_guess, quickdraw_drawings, web_model, live_server, outside_requests, page_errors
):
    """Choose, draw, send: the drawing is stored with its label, and the page says so."""
    label = web_model["categories"][-1]
    pen = open_page(page, "/contribute")
    before = stored_count(page, label)
    counter = page.get_by_test_id("stats").locator(f'[data-label="{label}"]')
    expect(counter).to_have_attribute("data-count", str(before))

    page.get_by_label("What will you draw?").select_option(label)
    pen.draw(quickdraw_drawings(label)[1])
    final_guess(page)  # The live guess works here too.
    sent_strokes = page.evaluate("window.__doodles.getStrokes()")
    page.get_by_role("button", name="Send drawing").click()

    status = page.get_by_test_id("status")
    expect(status).to_have_text(re.compile(rf"^Saved your {re.escape(label)} drawing #\d+ — thank you"))
    drawing_id = int(re.search(r"#(\d+)", status.text_content()).group(1))
    # Ready for the next drawing: the canvas is cleared and the counts are fresh.
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
    assert page.evaluate("window.__doodles.getStrokes()") == []
    expect(counter).to_have_attribute("data-count", str(before + 1))
    assert stored_count(page, label) == before + 1

    database = live_server.app.config["DATABASE"]
    with sqlite3.connect(database) as connection:
        row = connection.execute("SELECT label FROM drawing WHERE id = ?", (drawing_id,)).fetchone()
    assert row == (label,)
    drawings_dir = Path(live_server.app.config["DRAWINGS_DIR"])
    files = [path for path in drawings_dir.rglob("*") if path.is_file() and str(drawing_id) in path.stem]
    assert files, f"no file for drawing {drawing_id} in {drawings_dir}"
    assert sent_strokes  # What was sent was the drawing on the canvas, not an empty list.
    assert outside_requests == []
    assert page_errors == []


def test_contribute_refuses_unlabelled_and_empty_drawings(page, open_page, quickdraw_drawings, web_model):
    """No label or no strokes: the page explains and sends nothing; the server refuses too."""
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
