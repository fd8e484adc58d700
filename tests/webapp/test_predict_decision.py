"""/api/predict decides with metadata.json's decision block, exactly as preprocessing.decision (and model.js) do."""

from __future__ import annotations

import pytest
from webapp_support import SQUARE, build_tiny_model, write_web_model

from preprocessing.decision import decide
from training.categories import DEFAULT_CATEGORIES

OUTPUTS = [*DEFAULT_CATEGORIES, "other"]


@pytest.mark.parametrize(
    ("strokes", "state"),
    [
        ([[[50], [50]]], "too-small"),  # A tap.
        ([[[50, 55], [50, 52]]], "too-small"),  # A mark 5 px long.
        ([[[50, 50], [50, 50]], [[51], [51]]], "too-small"),
    ],
)
def test_a_tap_or_tiny_mark_gets_no_label(client, strokes, state):
    """Too small to judge: state too-small, label null, probabilities still reported."""
    body = client.post("/api/predict", json={"strokes": strokes}).get_json()
    assert (body["state"], body["label"]) == (state, None)
    assert list(body["probabilities"]) == list(DEFAULT_CATEGORIES)


def test_the_extent_is_measured_before_normalisation(client):
    """The same shape drawn small and large: small is too-small, large is judged (normalised, both fill 28x28)."""
    small = [[[0, 4, 4, 0, 0], [0, 0, 4, 4, 0]]]
    large = [[[0, 400, 400, 0, 0], [0, 0, 400, 400, 0]]]
    assert client.post("/api/predict", json={"strokes": small}).get_json()["state"] == "too-small"
    assert client.post("/api/predict", json={"strokes": large}).get_json()["state"] != "too-small"


@pytest.fixture
def other_app(make_app, tmp_path):
    """An app serving a seven-output model ("other" last) whose rule rejects below 0.99 (so the tiny model says other)."""
    keras_model = build_tiny_model(tmp_path / "seven.keras", categories=len(OUTPUTS), seed=3)
    decision = {"other_label": "other", "reject_below": 0.99, "unsure_below": 0.995, "min_extent": 12.0}
    web = write_web_model(tmp_path / "served", keras_model, outputs=OUTPUTS, decision=decision)
    return make_app(share_predictor=False, MODEL_DIR=str(web.root)), decision


def test_a_model_with_other_reports_every_output_and_rejects(other_app):
    """Probabilities cover the categories plus "other"; below reject_below the answer is "none of these"."""
    app, decision = other_app
    body = app.test_client().post("/api/predict", json={"strokes": SQUARE}).get_json()
    assert list(body["probabilities"]) == OUTPUTS
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert (body["state"], body["label"]) == ("other", None)
    assert decide(body["probabilities"], decision, 190, 5).state == "other"
    model = app.test_client().get("/api/model").get_json()
    assert model["outputs"] == OUTPUTS and model["categories"] == list(DEFAULT_CATEGORIES)


def test_an_image_is_judged_without_a_size_check(client):
    """An uploaded image has no strokes to measure: never too-small."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    pixels = np.full((60, 60), 255, np.uint8)
    pixels[10:50, 10:14] = pixels[10:50, 46:50] = 0
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    image = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    body = client.post("/api/predict", json={"image": image}).get_json()
    assert body["state"] in ("named", "unsure")
    assert body["label"] in DEFAULT_CATEGORIES


@pytest.mark.parametrize("strokes", [[[[50], [50]]], [[[50, 55], [50, 52]]]])
def test_a_too_small_contribution_is_refused(client, strokes):
    """A tap or a tiny mark cannot be contributed: 400, nothing stored."""
    response = client.post("/api/drawings", json={"label": "sock", "strokes": strokes})
    assert response.status_code == 400
    assert "too small" in response.get_json()["error"]
    assert client.get("/api/drawings/stats").get_json()["total"] == 0
