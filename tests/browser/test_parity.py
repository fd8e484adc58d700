"""The browser (preprocess.js + TF.js) and the server (Python preprocessing + Keras) give
the same probabilities for the same strokes."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# Float32 inference on two runtimes, after two implementations of the same rendering.
TOLERANCE = 1e-3


def server_probabilities(page, strokes: list) -> dict[str, float]:
    """POST the strokes to /api/predict and return {label: probability}."""
    response = page.request.post("/api/predict", data={"strokes": strokes})
    assert response.status == 200, f"/api/predict answered {response.status}: {response.text()}"
    return response.json()["probabilities"]


def largest_difference(first: dict[str, float], second: dict[str, float]) -> float:
    """The largest absolute difference between two {label: probability} maps with the same labels."""
    assert first.keys() == second.keys()
    return max(abs(first[label] - second[label]) for label in first)


def test_browser_and_server_predictions_agree(page, open_page, final_guess, read_bars, quickdraw_drawings, web_model):
    """Every replayed drawing: the bars on screen and the test hook both match /api/predict."""
    categories = web_model["categories"]
    pen = open_page(page, "/")
    clear = page.get_by_role("button", name="Clear")
    differences = []
    for category in categories:
        drawings = quickdraw_drawings(category)
        # The first drawing goes through the whole page: pointer events, canvas coordinates, bars.
        pen.draw(drawings[0])
        final_guess(page)
        shown = read_bars(page)
        canvas_strokes = page.evaluate("window.__doodles.getStrokes()")
        differences.append((category, "on screen", largest_difference(shown, server_probabilities(page, canvas_strokes))))
        clear.click()
        # The rest go through the page's own predict() on Quick Draw's coordinates.
        for index, strokes in enumerate(drawings):
            ranked = page.evaluate("strokes => window.__doodles.predictStrokes(strokes)", strokes)
            browser = {item["label"]: item["probability"] for item in ranked}
            differences.append((category, index, largest_difference(browser, server_probabilities(page, strokes))))

    worst = max(differences, key=lambda item: item[2])
    assert worst[2] <= TOLERANCE, f"largest browser/server difference {worst[2]:.2e} ({worst[0]} drawing {worst[1]})"
