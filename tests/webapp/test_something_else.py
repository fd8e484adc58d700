""""It's something else": contributions labelled "other" with what they are, through review to the gallery."""

from __future__ import annotations

import pytest
from webapp_support import BACKENDS, CROSS, SQUARE

from webapp.store import get_store

TOKEN = "something-else-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def other_client(make_other_app):
    """A client of the app whose default set has "none of these", with review on."""
    return make_other_app(ADMIN_TOKEN=TOKEN).test_client()


def test_something_else_goes_from_contribution_to_the_gallery_with_its_name(other_client):
    """"other" with a name is stored trimmed, listed for review with it, and shown in the gallery once approved."""
    response = other_client.post("/api/drawings", json={"label": "other", "name": "  house ", "strokes": SQUARE})
    assert response.status_code == 201, response.get_json()
    drawing_id = response.get_json()["id"]
    unnamed = other_client.post("/api/drawings", json={"label": "other", "strokes": CROSS}).get_json()["id"]
    assert get_store(other_client.application).get_drawing(drawing_id)["name"] == "house"

    queue = other_client.get("/api/review", headers=BEARER).get_json()["drawings"]
    names = {item["id"]: item["name"] for item in queue}
    assert names == {drawing_id: "house", unnamed: None}

    approved = other_client.post("/api/review", json={"ids": [drawing_id, unnamed], "status": "approved"},
                                 headers=BEARER)
    assert approved.status_code == 200
    gallery = other_client.get("/api/gallery?label=other").get_json()
    assert [(item["id"], item["label"], item["name"]) for item in gallery["drawings"]] == [
        (unnamed, "other", None), (drawing_id, "other", "house")]


def test_a_batch_may_mix_categories_and_something_else(other_client):
    """A game's batch holds named "other" drawings beside categories."""
    response = other_client.post("/api/drawings", json={"drawings": [
        {"label": "sock", "strokes": SQUARE},
        {"label": "other", "name": "the Eiffel Tower", "strokes": CROSS},
    ]})
    assert response.status_code == 201, response.get_json()
    stored = [get_store(other_client.application).get_drawing(drawing_id) for drawing_id in response.get_json()["ids"]]
    assert [(drawing["label"], drawing["name"]) for drawing in stored] == [("sock", None), ("other", "the Eiffel Tower")]


@pytest.mark.parametrize(
    ("drawing", "message"),
    [
        ({"label": "other", "name": "x" * 41}, "1 to 40 characters"),
        ({"label": "other", "name": "   "}, "1 to 40 characters"),
        ({"label": "other", "name": 7}, '"name" must be a string'),
        ({"label": "other", "name": "a\nhouse"}, "printable text on one line"),
        ({"label": "sock", "name": "house"}, 'leave it out for a drawing labelled \'sock\''),
        ({"label": "Other"}, "unknown label"),
    ],
    ids=["41 characters", "only spaces", "not a string", "two lines", "a name with a category", "other's case"],
)
def test_bad_names_are_400_and_store_nothing(other_client, drawing, message):
    """A name is 1 to 40 printable characters after trimming, and only for "other"; anything else is refused whole."""
    response = other_client.post("/api/drawings", json={**drawing, "strokes": SQUARE})
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert get_store(other_client.application).count_drawings() == 0


def test_forty_characters_after_trimming_are_accepted(other_client):
    """The limit counts the name, not the spaces around it."""
    name = "x" * 40
    response = other_client.post("/api/drawings", json={"label": "other", "name": f"  {name}  ", "strokes": SQUARE})
    assert response.status_code == 201, response.get_json()


def test_a_set_without_none_of_these_refuses_other(client, app):
    """The tiny model has no "other" output: "other" is refused with a sentence saying why, and nothing is stored."""
    response = client.post("/api/drawings", json={"label": "other", "name": "house", "strokes": SQUARE})
    assert response.status_code == 400
    assert 'no "none of these"' in response.get_json()["error"]
    assert client.get("/api/gallery?label=other").status_code == 400
    assert get_store(app).count_drawings() == 0


def test_the_page_is_given_quick_draw_names_once(other_client):
    """The contribute page suggests Quick Draw's names from one list the server renders, not a copy in JavaScript."""
    page = other_client.get("/contribute").get_data(as_text=True)
    assert '<option value="house">' in page and '<option value="The Eiffel Tower">' in page
