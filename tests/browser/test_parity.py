"""The browser (preprocess.js + TF.js) and the server (Python preprocessing + Keras) give
the same probabilities for the same strokes.

The browser side comes from the replay of every Quick Draw drawing (conftest.py); the server
side is the same app, asked through Flask's test client.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# Float32 inference on two runtimes, after two implementations of the same rendering.
TOLERANCE = 1e-3


def server_answer(client, strokes: list) -> dict:
    """POST the strokes to /api/predict and return its answer (label, state, probabilities)."""
    response = client.post("/api/predict", json={"strokes": strokes})
    assert response.status_code == 200, f"/api/predict answered {response.status_code}: {response.get_data(as_text=True)}"
    return response.get_json()


def server_probabilities(client, strokes: list) -> dict[str, float]:
    """POST the strokes to /api/predict and return {output: probability}, "other" included."""
    return server_answer(client, strokes)["probabilities"]


def largest_difference(first: dict[str, float], second: dict[str, float]) -> float:
    """The largest absolute difference over the first map's labels (the page's bars leave out "other")."""
    assert set(first) <= set(second) and len(first) >= len(second) - 1
    return max(abs(first[label] - second[label]) for label in first)


def test_browser_and_server_predictions_agree(replayed_drawings, live_server, web_model):
    """Every replayed drawing: the bars on screen, and the page's predict() on Quick Draw's own
    coordinates, both match what /api/predict answers for the same strokes."""
    client = live_server.app.test_client()
    differences = []
    for category in web_model["categories"]:
        for drawing in replayed_drawings[category].drawings:
            answer = server_answer(client, drawing.guess["strokes"])
            on_screen = answer["probabilities"]
            # One decision rule: the page's verdict is the API's for the same strokes.
            assert (drawing.guess["label"] or None, drawing.guess["state"]) == (
                answer["label"], {"named": "confident"}.get(answer["state"], answer["state"])
            ), f"{category} drawing {drawing.index}"
            differences.append((category, drawing.index, "on screen", largest_difference(drawing.guess["bars"], on_screen)))
            quickdraw = server_probabilities(client, drawing.strokes)
            differences.append(
                (category, drawing.index, "Quick Draw coordinates", largest_difference(drawing.quickdraw_probabilities, quickdraw))
            )

    assert len(differences) == 2 * 25 * len(web_model["categories"])
    category, index, path, worst = max(differences, key=lambda item: item[3])
    print(f"largest browser/server difference {worst:.2e} over {len(differences)} predictions")
    assert worst <= TOLERANCE, f"largest browser/server difference {worst:.2e} ({category} drawing {index}, {path})"
