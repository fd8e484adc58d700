"""The JSON API through Flask's test client: what each endpoint answers, stores and counts."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from webapp_support import SQUARE
from PIL import Image

from training.categories import DEFAULT_CATEGORIES
from webapp.security import CONTENT_SECURITY_POLICY


def png_data_url(strokes_image: Image.Image) -> str:
    """A PNG data URL, as a canvas's toDataURL() makes."""
    buffer = io.BytesIO()
    strokes_image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def square_image(size: int = 120) -> Image.Image:
    """Black square outline on white, as a person would draw it in an image editor."""
    pixels = np.full((size, size), 255, np.uint8)
    pixels[20:100, 20:24] = pixels[20:100, 96:100] = pixels[20:24, 20:100] = pixels[96:100, 20:100] = 0
    return Image.fromarray(pixels)


def test_predict_strokes_answers_label_probabilities_and_version(client, web_model):
    """Strokes in: the top label, one probability per category summing to 1, the model version."""
    response = client.post("/api/predict", json={"strokes": SQUARE})
    assert response.status_code == 200
    body = response.get_json()
    assert list(body["probabilities"]) == list(DEFAULT_CATEGORIES)
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert body["label"] == max(body["probabilities"], key=body["probabilities"].get)
    assert set(body) == {"label", "probabilities", "model"}
    assert body["model"] == {"version": web_model.metadata["version"]}


@pytest.mark.parametrize("form", ["json-data-url", "json-bare-base64", "form-field", "multipart-file"])
def test_predict_accepts_an_image_in_every_documented_form(client, form):
    """The same picture as a data URL, bare base64, a form field (the original endpoint) or a file gives one answer."""
    data_url = png_data_url(square_image())
    png = base64.b64decode(data_url.split(",", 1)[1])
    if form == "json-data-url":
        response = client.post("/api/predict", json={"image": data_url})
    elif form == "json-bare-base64":
        response = client.post("/api/predict", json={"image": base64.b64encode(png).decode()})
    elif form == "form-field":
        response = client.post("/api/predict", data={"image": data_url})
    else:
        response = client.post("/api/predict", data={"image": (io.BytesIO(png), "drawing.png")},
                               content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    reference = client.post("/api/predict", json={"image": data_url}).get_json()
    assert response.get_json()["probabilities"] == reference["probabilities"]


def test_model_and_health(client, web_model):
    """/api/model is metadata.json; /api/health names the model and counts drawings."""
    assert client.get("/api/model").get_json() == web_model.metadata
    assert client.get("/api/health").get_json() == {"status": "ok", "model": "test-model-1", "drawings": 0}
    client.post("/api/drawings", json={"label": "umbrella", "strokes": SQUARE})
    assert client.get("/api/health").get_json()["drawings"] == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nothing-here", 404),
        ("GET", "/api", 404),
        ("GET", "/api/predict", 405),
        ("PUT", "/api/drawings", 405),
        ("DELETE", "/api/drawings/stats", 405),
        ("POST", "/api/health", 405),
    ],
)
def test_unknown_routes_and_methods_answer_json(client, method, path, status):
    """404 and 405 under /api/ are JSON errors like every other API error."""
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["error"]
    if status == 405:
        assert "Allow" in response.headers


def test_unexpected_errors_are_json_500_without_details(app, monkeypatch):
    """A bug answers 500 {"error"} with no traceback or exception text."""
    from webapp import api

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api, "count_drawings", broken)
    response = app.test_client().get("/api/health")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error"}


def test_pages_keep_html_errors(client):
    """Outside /api/ a missing page is an ordinary HTML 404."""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("path", ["/", "/contribute", "/api/health", "/api/nothing", "/static/css/app.css"])
def test_security_headers_on_every_response(client, path):
    """CSP, nosniff, frame and referrer headers on pages, API answers, errors and static files."""
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_caching_policy(app, client, tmp_path):
    """Vendor files are cached a day; model files, pages and scripts revalidate; the API is never stored."""
    static = Path(app.static_folder)
    vendor = sorted((static / "vendor").glob("*.wasm"))
    if not vendor:
        pytest.skip("webapp/static/vendor is empty: run `make setup`")
    wasm = client.get(f"/static/vendor/{vendor[0].name}")
    assert wasm.status_code == 200
    assert wasm.mimetype == "application/wasm"
    assert wasm.headers["Cache-Control"] == "public, max-age=86400"
    assert client.get("/").headers["Cache-Control"] == "no-cache"
    script = client.get("/static/js/model.js")
    assert script.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/js/model.js", headers={"If-None-Match": script.headers["ETag"]}).status_code == 304
    assert client.get("/api/health").headers["Cache-Control"] == "no-store"
    assert client.get("/static/model/metadata.json").headers["Cache-Control"] == "no-cache"


def test_stats_after_contributions_through_the_page_url(client):
    """The page's configured URLs are the API's: the contribute page posts where the API listens."""
    page = client.get("/contribute").get_data(as_text=True)
    assert 'data-drawings-url="/api/drawings"' in page
    assert 'data-stats-url="/api/drawings/stats"' in page


def test_model_files_come_from_the_configured_web_model(client, web_model):
    """/static/model/* serves WEB_MODEL_DIR, the folder validated at start-up, and nothing outside it."""
    metadata = client.get("/static/model/metadata.json")
    assert metadata.status_code == 200
    assert metadata.get_json() == web_model.metadata
    assert metadata.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/model/model.json").status_code == 200
    assert client.get("/static/model/../model.keras").status_code == 404
    assert client.get("/static/model/%2e%2e/model.keras").status_code == 404
