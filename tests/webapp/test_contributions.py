"""Contributions through the API on both store backends: one drawing or a batch, idempotency, stats, 503."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import BACKENDS
from PIL import Image
from test_api import png_data_url, square_image
from webapp_support import CROSS, DRAWINGS, SQUARE, ZIGZAG, store_snapshot

from training.categories import DEFAULT_CATEGORIES
from webapp.store import StoreUnavailable, get_store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


def game(count: int = 6) -> list[dict]:
    """A game's donation: ``count`` labelled drawings."""
    shapes = [SQUARE, CROSS, ZIGZAG]
    return [{"label": DEFAULT_CATEGORIES[index % len(DEFAULT_CATEGORIES)], "strokes": shapes[index % 3]}
            for index in range(count)]


def test_contribution_is_stored_as_one_row(client, app):
    """201 with an id; the row holds the label, guess, sizes, strokes and the 28x28 PNG; it starts pending."""
    response = client.post("/api/drawings", json={"label": "sock", "strokes": CROSS})
    assert response.status_code == 201
    drawing_id = response.get_json()["id"]
    assert isinstance(drawing_id, int)

    drawing = get_store(app).get_drawing(drawing_id)
    assert drawing["label"] == "sock"
    assert drawing["status"] == "pending"
    assert drawing["guess"] in DEFAULT_CATEGORIES
    assert 0 < drawing["guess_probability"] <= 1
    assert drawing["model_version"] == "test-model-1"
    assert (drawing["n_strokes"], drawing["n_points"]) == (2, 4)
    assert drawing["client_hash"] and "127.0.0.1" not in drawing["client_hash"]
    assert drawing["strokes"] == [[[float(v) for v in stroke[0]], [float(v) for v in stroke[1]]] for stroke in CROSS]
    assert drawing["created"].endswith("+00:00")
    assert not drawing["has_image"]
    with Image.open(io.BytesIO(get_store(app).drawing_png(drawing_id))) as bitmap:
        assert bitmap.size == (28, 28)
        assert np.asarray(bitmap).max() == 255  # Ink, white on black like numpy_bitmap rows.
    assert store_snapshot(app) == (1, [drawing_id])


def test_contribution_with_an_image_stores_the_image_too(client, app):
    """An optional image that decodes and shows a drawing is kept in the row, with its type."""
    data_url = png_data_url(square_image())
    response = client.post("/api/drawings", json={"label": "purse", "strokes": SQUARE, "image": data_url})
    assert response.status_code == 201
    drawing_id = response.get_json()["id"]
    assert get_store(app).get_drawing(drawing_id)["has_image"]
    image, image_type = get_store(app).drawing_image(drawing_id)
    assert image_type == "PNG" and image.startswith(b"\x89PNG")


def test_contribution_survives_a_broken_model(make_app, tmp_path):
    """The guess is best effort: with an unloadable Keras model the drawing is still stored, guess NULL."""
    app = make_app(share_predictor=False, KERAS_MODEL=str(tmp_path / "missing.keras"))
    response = app.test_client().post("/api/drawings", json={"label": "sock", "strokes": SQUARE})
    assert response.status_code == 201
    drawing = get_store(app).get_drawing(response.get_json()["id"])
    assert (drawing["guess"], drawing["guess_probability"]) == (None, None)
    predict = app.test_client().post("/api/predict", json={"strokes": SQUARE})
    assert predict.status_code == 503
    assert "model" in predict.get_json()["error"]
    assert "missing.keras" not in predict.get_json()["error"]  # Server paths stay in the log.


def test_stats_count_every_category_and_add_up(client):
    """Stats list every category (zeros included) and the total is their sum."""
    empty = client.get("/api/drawings/stats").get_json()
    assert empty["total"] == 0
    assert empty["by_label"] == {category: 0 for category in DEFAULT_CATEGORIES}
    for label, strokes in [("sock", SQUARE), ("sock", CROSS), ("bowtie", DRAWINGS["zigzag"])]:
        assert client.post("/api/drawings", json={"label": label, "strokes": strokes}).status_code == 201
    stats = client.get("/api/drawings/stats").get_json()
    assert stats["total"] == 3
    assert stats["by_label"] == {**{category: 0 for category in DEFAULT_CATEGORIES}, "sock": 2, "bowtie": 1}
    assert set(stats) == {"total", "by_label"}
    assert list(stats["by_label"]) == list(DEFAULT_CATEGORIES)
    assert client.get("/api/health").get_json()["drawings"] == 3


def test_a_batch_is_stored_in_one_go(client, app):
    """A game's six drawings: 201 with six ids in order, each row labelled as sent."""
    drawings = game()
    response = client.post("/api/drawings", json={"drawings": drawings})
    assert response.status_code == 201, response.get_json()
    ids = response.get_json()["ids"]
    assert len(ids) == 6 and ids == sorted(ids)
    assert [get_store(app).get_drawing(drawing_id)["label"] for drawing_id in ids] == [d["label"] for d in drawings]
    assert store_snapshot(app) == (6, ids)


@pytest.mark.parametrize(
    ("drawings", "message"),
    [
        ([], "1 to 12"),
        (game(13), "1 to 12"),
        ("six drawings", "1 to 12"),
        (game(5) + [{"label": "nope", "strokes": SQUARE}], "drawings[5]: unknown label"),
        (game(2) + [{"label": "sock", "strokes": []}], "drawings[2]"),
        (game(1) + ["not an object"], "drawings[1]"),
    ],
)
def test_a_bad_batch_stores_nothing(client, app, drawings, message):
    """All or none: one bad drawing refuses the whole batch with 400, naming which one."""
    response = client.post("/api/drawings", json={"drawings": drawings})
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert store_snapshot(app) == (0, [])


def test_a_batch_fails_whole_when_the_store_fails_midway(client, app, monkeypatch):
    """A database error while inserting the fourth drawing leaves none of the six."""
    from webapp.store import base

    original = base.bitmap_png
    calls = []

    def failing(bitmap):
        calls.append(1)
        if len(calls) == 4:
            raise StoreUnavailable("the database went away")
        return original(bitmap)

    monkeypatch.setattr(base, "bitmap_png", failing)
    response = client.post("/api/drawings", json={"drawings": game()})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]
    monkeypatch.undo()
    assert store_snapshot(app) == (0, [])


def test_idempotency_key_makes_a_retry_store_nothing(client, app):
    """The same batch with the same key: 200 and the same ids; another key stores again; a reused key with other drawings is 422."""
    headers = {"Idempotency-Key": "game-7f3a"}
    first = client.post("/api/drawings", json={"drawings": game()}, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/drawings", json={"drawings": game()}, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert store_snapshot(app)[0] == 6
    other = client.post("/api/drawings", json={"drawings": game(3)}, headers=headers)
    assert other.status_code == 422
    assert store_snapshot(app)[0] == 6
    fresh = client.post("/api/drawings", json={"drawings": game()}, headers={"Idempotency-Key": "game-2"})
    assert fresh.status_code == 201 and store_snapshot(app)[0] == 12
    single = {"label": "sock", "strokes": SQUARE}
    one = client.post("/api/drawings", json=single, headers={"Idempotency-Key": "one"})
    assert client.post("/api/drawings", json=single, headers={"Idempotency-Key": "one"}).get_json() == one.get_json()
    bad = client.post("/api/drawings", json=single, headers={"Idempotency-Key": "x" * 200})
    assert bad.status_code == 400


def test_store_unavailable_is_503_with_retry_after(client, app, monkeypatch):
    """When the database is unreachable, contributions, stats and health answer 503 JSON with Retry-After."""
    store = get_store(app)

    def unavailable(*args, **kwargs):
        raise StoreUnavailable("connection refused")

    for name in ("add_drawings", "counts_by_label", "count_drawings"):
        monkeypatch.setattr(store, name, unavailable)
    for response in (client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}),
                     client.get("/api/drawings/stats"), client.get("/api/health")):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "unavailable" in response.get_json()["error"]
        assert "refused" not in response.get_json()["error"]  # Details stay in the log.
