"""The reference opinion: the top 3 of a model knowing all Quick Draw categories, stored with each contribution.

Review puts first what the reference doubts; a missing or broken reference never costs a
contribution; the reference set is never offered to people.
"""

from __future__ import annotations

import json

import pytest
from webapp_support import BACKENDS, REFERENCE_SET, REPO_ROOT, SQUARE, write_other_model, write_reference_model

from hand_drawn import NOT_ACCESSORIES
from preprocessing.categories import DEFAULT_CATEGORIES, all_categories
from webapp.reference import doubts
from webapp.store import get_store

TOKEN = "reference-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
SERVED = REPO_ROOT / "served"
UMBRELLA = REPO_ROOT / "tests" / "fixtures" / "quickdraw" / "simplified" / "umbrella.ndjson"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


def review_items(client) -> list[dict]:
    """The first page of the review queue."""
    response = client.get("/api/review", headers=BEARER)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["drawings"]


def test_review_items_carry_the_reference_top_three(make_other_app):
    """Three Quick Draw names with spaces, most probable first, and whether the reference doubts the label."""
    client = make_other_app(ADMIN_TOKEN=TOKEN).test_client()
    client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE})
    [item] = review_items(client)
    reference = item["reference"]
    assert len(reference) == 3
    assert all(guess["label"] in all_categories() for guess in reference)
    probabilities = [guess["probability"] for guess in reference]
    assert probabilities == sorted(probabilities, reverse=True) and all(0 <= p <= 1 for p in probabilities)
    assert item["reference_doubts"] == ("sock" not in [guess["label"] for guess in reference])


def test_without_a_reference_the_contribution_is_stored_without_an_opinion(make_app):
    """A served folder with no reference set: stored as ever, reference null."""
    client = make_app(ADMIN_TOKEN=TOKEN).test_client()
    assert client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}).status_code == 201
    [item] = review_items(client)
    assert (item["reference"], item["reference_doubts"]) == (None, None)


def test_a_broken_reference_loses_nothing(make_app, other_models, tmp_path):
    """A reference whose Keras twin is gone: the contribution is stored, with reference null."""
    root = tmp_path / "served"
    write_other_model(root, other_models["accessories"].keras_model)
    broken = write_reference_model(root, other_models["reference"].keras_model)
    (broken.directory / "model.keras").unlink()
    app = make_app(share_predictor=False, ADMIN_TOKEN=TOKEN, MODEL_DIR=str(root))
    client = app.test_client()
    response = client.post("/api/drawings", json={"label": "other", "name": "house", "strokes": SQUARE})
    assert response.status_code == 201, response.get_json()
    drawing = get_store(app).get_drawing(response.get_json()["id"])
    assert (drawing["name"], drawing["reference"]) == ("house", None)


def test_the_reference_is_never_offered_to_people(make_other_app):
    """/api/models leaves the reference set out, and asking for it by name is as for a set that does not exist."""
    client = make_other_app().test_client()
    assert [entry["name"] for entry in client.get("/api/models").get_json()["sets"]] == ["accessories"]
    for response in (client.get(f"/api/model?set={REFERENCE_SET}"),
                     client.post("/api/predict", json={"set": REFERENCE_SET, "strokes": SQUARE})):
        assert response.status_code == 404
        assert response.get_json() == {"error": f"unknown model set {REFERENCE_SET!r}"}


DOUBTS = [
    ("sock", [("sock", 0.9), ("belt", 0.05), ("hat", 0.01)], False),
    ("sock", [("belt", 0.5), ("hat", 0.3), ("sock", 0.1)], False),
    ("purse", [("house", 0.9), ("barn", 0.09), ("church", 0.01)], True),
    ("other", [("house", 0.9), ("barn", 0.09), ("purse", 0.01)], False),
    ("other", [("purse", 0.6), ("house", 0.3), ("barn", 0.1)], True),
]


@pytest.mark.parametrize(("label", "reference", "doubted"), DOUBTS)
def test_what_the_reference_doubts(label, reference, doubted):
    """A category is doubted outside the top 3; "other" is doubted when the top guess is one of the set's categories."""
    guesses = [{"label": name, "probability": probability} for name, probability in reference]
    assert doubts(guesses, label, DEFAULT_CATEGORIES, "other") is doubted


def test_a_fish_sent_as_purse_is_reviewed_before_an_agreed_umbrella(make_app):
    """With the shipped models: the accessories model agrees the fish is a purse, the reference sees a fish.

    (The issue's house: since the teacher the shipped model answers "none of these" for it,
    so it would come first for that reason alone; this fish is still "purse".)
    """
    umbrella = json.loads(UMBRELLA.read_text().splitlines()[0])["drawing"]
    app = make_app(share_predictor=False, ADMIN_TOKEN=TOKEN, MODEL_DIR=str(SERVED))
    client = app.test_client()
    umbrella_id = client.post("/api/drawings", json={"label": "umbrella", "strokes": umbrella}).get_json()["id"]
    fish = NOT_ACCESSORIES["fish"][2]()
    fish_id = client.post("/api/drawings", json={"label": "purse", "strokes": fish}).get_json()["id"]
    items = {item["id"]: item for item in review_items(client)}
    assert [item["id"] for item in review_items(client)] == [fish_id, umbrella_id]
    fish_item, umbrella_item = items[fish_id], items[umbrella_id]
    assert fish_item["guess"] == "purse" and umbrella_item["guess"] == "umbrella"  # The model agrees with both.
    assert fish_item["reference"][0]["label"] == "fish" and fish_item["reference_doubts"] is True
    assert umbrella_item["reference"][0]["label"] == "umbrella" and umbrella_item["reference_doubts"] is False
