"""The review page, driven by keyboard only (the token asked once, arrows, A approves, R rejects), then the gallery.

The session's live server has review off, so this module serves its own app with an admin
token and a store of its own, seeded through the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from live_server import LiveServer
from playwright.sync_api import Page, expect
from test_page_sources import PageParts

from webapp import create_app

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TOKEN = "browser-review-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
SQUARE = [[[10, 200, 200, 10, 10], [10, 10, 200, 200, 10]]]
DRAWINGS = 4
# Generous: each decision is a request to a server sharing two busy cores with the browser.
UI_TIMEOUT_MS = 15_000


@dataclass
class ReviewServer:
    """The app with review on, served on 127.0.0.1, and the ids of the drawings seeded into it."""

    url: str
    ids: list[int]

    def statuses(self) -> dict[int, str]:
        """Every seeded drawing's status, as the moderator API reports it (pending) or the gallery shows it."""
        pending = requests.get(f"{self.url}/api/review", headers=BEARER, timeout=10).json()["drawings"]
        found = {item["id"]: "pending" for item in pending}
        for drawing_id in self.ids:
            if drawing_id not in found:
                public = requests.get(f"{self.url}/api/drawings/{drawing_id}.png", timeout=10)
                found[drawing_id] = "approved" if public.status_code == 200 else "rejected"
        return found


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory, web_model: dict[str, Any]) -> Iterator[ReviewServer]:
    """A server with an admin token and a few pending drawings."""
    store = tmp_path_factory.mktemp("review")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-review-tests",
            "DATABASE": str(store / "doodles.sqlite"),
            "DRAWINGS_DIR": str(store / "drawings"),
            "ADMIN_TOKEN": TOKEN,
        }
    )
    server = LiveServer(app, name="review-server")
    server.start()
    url = server.url
    label = web_model["categories"][0]
    ids = [
        requests.post(f"{url}/api/drawings", json={"label": label, "strokes": SQUARE}, timeout=30).json()["id"]
        for _ in range(DRAWINGS)
    ]
    try:
        yield ReviewServer(url, ids)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("path", "test_ids"),
    [("/review", {"token-form", "review-grid", "review-status"}), ("/gallery", {"gallery-categories", "gallery-grid"})],
)
def test_pages_are_csp_clean(review_server: ReviewServer, path: str, test_ids: set[str]) -> None:
    """The review and gallery pages carry no inline code and load only this server's files."""
    response = requests.get(f"{review_server.url}{path}", timeout=10)
    assert response.status_code == 200
    parts = PageParts()
    parts.feed(response.text)
    assert parts.inline == []
    assert parts.loaded_urls and all(url.startswith("/static/") for url in parts.loaded_urls), parts.loaded_urls
    assert test_ids <= parts.test_ids


def test_review_by_keyboard(page: Page, review_server: ReviewServer, watch) -> None:
    """Enter the token once, then approve and reject with the keys alone; the token never reaches a URL."""
    page_watch = watch(page)
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(f"{review_server.url}/review")

    page.get_by_label("Admin token").fill(TOKEN)
    page.keyboard.press("Enter")
    tiles = page.get_by_test_id("review-grid").get_by_role("option")
    expect(tiles).to_have_count(DRAWINGS, timeout=UI_TIMEOUT_MS)
    first = tiles.first
    expect(first).to_be_focused(timeout=UI_TIMEOUT_MS)
    order = [int(tiles.nth(index).get_attribute("data-id")) for index in range(DRAWINGS)]

    # A approves the focused drawing; focus moves on to the next one.
    page.keyboard.press("a")
    expect(tiles).to_have_count(DRAWINGS - 1, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("review-status")).to_have_text("Approved 1 drawing.", timeout=UI_TIMEOUT_MS)
    expect(tiles.first).to_be_focused(timeout=UI_TIMEOUT_MS)
    # Arrow right, then R rejects that one.
    page.keyboard.press("ArrowRight")
    expect(tiles.nth(1)).to_be_focused(timeout=UI_TIMEOUT_MS)
    page.keyboard.press("r")
    expect(page.get_by_test_id("review-status")).to_have_text("Rejected 1 drawing.", timeout=UI_TIMEOUT_MS)
    expect(tiles).to_have_count(DRAWINGS - 2, timeout=UI_TIMEOUT_MS)
    # Space selects several; A approves them all at once and the queue empties.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press(" ")
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    page.keyboard.press("a")
    expect(page.get_by_test_id("review-status")).to_contain_text("Nothing to review", timeout=UI_TIMEOUT_MS)
    expect(tiles).to_have_count(0, timeout=UI_TIMEOUT_MS)

    assert review_server.statuses() == {
        order[0]: "approved", order[1]: "approved", order[2]: "rejected", order[3]: "approved"
    }
    # Asked once: a reload in the same tab goes straight to the grid.
    page.reload()
    expect(page.get_by_test_id("review-status")).to_contain_text("Nothing to review", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("token-form")).to_be_hidden(timeout=UI_TIMEOUT_MS)
    assert not any(TOKEN in url for url in urls)
    assert page.evaluate("document.cookie") == ""

    # The gallery shows the three approved drawings, newest first, and not the rejected one.
    page.goto(f"{review_server.url}/gallery")
    label = page.get_by_test_id("gallery-categories").get_by_role("button").first
    expect(label).to_have_attribute("aria-pressed", "true", timeout=UI_TIMEOUT_MS)
    shown = page.get_by_test_id("gallery-grid").get_by_role("img")
    expect(shown).to_have_count(3, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("gallery-status")).to_contain_text("3 approved", timeout=UI_TIMEOUT_MS)
    assert [int(shown.nth(index).evaluate("image => image.closest('li').dataset.id")) for index in range(3)] == sorted(
        [order[0], order[1], order[3]], reverse=True
    )
    page.wait_for_function("[...document.querySelectorAll('#gallery-grid img')].every((image) => image.complete)")
    assert shown.evaluate_all("images => images.map((image) => image.naturalWidth)") == [28, 28, 28]
    page_watch.assert_clean()


def test_a_wrong_token_is_asked_for_again(page: Page, review_server: ReviewServer) -> None:
    """A refused token is forgotten and the form says why; nothing is shown without the right one."""
    page.goto(f"{review_server.url}/review")
    page.get_by_label("Admin token").fill("not-the-admin-token-000000")
    page.get_by_role("button", name="Start reviewing").click()
    expect(page.get_by_test_id("token-form")).to_contain_text("The server refused the token", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_label("Admin token")).to_be_focused(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("review-grid")).to_be_hidden(timeout=UI_TIMEOUT_MS)
    assert page.evaluate("sessionStorage.length") == 0
