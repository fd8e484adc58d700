"""The public gallery: approved drawings only, one category at a time, newest first, paged."""

from __future__ import annotations

import pytest
from webapp_support import BACKENDS, CROSS, SQUARE, ZIGZAG, contribute

TOKEN = "gallery-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def client(make_app):
    """A client of the app with review on."""
    return make_app(ADMIN_TOKEN=TOKEN).test_client()


def decide(client, ids, status) -> None:
    """Approve or reject drawings as the moderator."""
    response = client.post("/api/review", json={"ids": ids, "status": status}, headers=BEARER)
    assert response.status_code == 200, response.get_json()


def gallery_ids(client, label: str, **query: str) -> list[int]:
    """Every id the gallery shows for ``label``, following ``next`` to the end."""
    ids, before = [], None
    while True:
        arguments = {"label": label, **query, **({"before": before} if before is not None else {})}
        response = client.get("/api/gallery", query_string=arguments)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        ids += [item["id"] for item in body["drawings"]]
        before = body["next"]
        if before is None:
            return ids


def test_gallery_shows_approved_drawings_only(client):
    """Pending and rejected drawings never appear, nor do other categories; approved ones do, newest first."""
    approved = [contribute(client) for _ in range(3)]
    rejected = contribute(client)
    pending = contribute(client)
    other_label = contribute(client, "purse")
    decide(client, approved + [other_label], "approved")
    decide(client, [rejected], "rejected")
    assert gallery_ids(client, "sock") == sorted(approved, reverse=True)
    assert pending not in gallery_ids(client, "sock") and rejected not in gallery_ids(client, "sock")
    assert gallery_ids(client, "purse") == [other_label]
    assert gallery_ids(client, "umbrella") == []
    # Un-approving takes a drawing out again.
    decide(client, [approved[0]], "rejected")
    assert gallery_ids(client, "sock") == sorted(approved[1:], reverse=True)


def test_gallery_items_carry_no_private_details(client):
    """An item is its id, label, name (for "something else"), time and a public image URL; nothing about the contributor or the model."""
    drawing_id = contribute(client)
    decide(client, [drawing_id], "approved")
    body = client.get("/api/gallery?label=sock").get_json()
    assert body["label"] == "sock" and body["next"] is None
    [item] = body["drawings"]
    assert set(item) == {"id", "label", "name", "created", "image_url"}
    assert item["name"] is None
    image = client.get(item["image_url"])
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_gallery_pages_with_before(client):
    """limit and before page through the gallery without gaps or repeats."""
    ids = [contribute(client, "sock", strokes) for strokes in (SQUARE, CROSS, ZIGZAG, SQUARE, CROSS)]
    decide(client, ids, "approved")
    first = client.get("/api/gallery?label=sock&limit=2").get_json()
    assert [item["id"] for item in first["drawings"]] == ids[:-3:-1]
    assert first["next"] == ids[-2]
    assert gallery_ids(client, "sock", limit="2") == ids[::-1]
    assert gallery_ids(client, "sock", limit="5") == ids[::-1]


def test_gallery_works_with_review_off(make_app):
    """The gallery is public: it needs no token, even on a server where review is off."""
    client = make_app().test_client()
    response = client.get("/api/gallery?label=sock")
    assert response.status_code == 200
    assert response.get_json()["drawings"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "label must be one of"),
        ("label=hat", "label must be one of"),
        ("label=other", "label must be one of"),
        ("label=sock&limit=0", "limit"),
        ("label=sock&limit=x", "limit"),
        ("label=sock&before=0", "before"),
        ("label=sock&before=-5", "before"),
        (f"label=sock&before={10**30}", "before"),
    ],
)
def test_bad_gallery_requests_are_400(client, query, message):
    """An unknown or missing label, or bad paging, is a 400 JSON error."""
    response = client.get(f"/api/gallery?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_gallery_page_renders_without_categories(client):
    """The gallery page is a shell: categories come from the model's metadata in the browser, never the HTML."""
    response = client.get("/gallery")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-gallery-url="/api/gallery"' in page
    for category in ("sock", "umbrella", "wristwatch"):
        assert category not in page
