""""Something else…", as a person meets it: a house the model calls a purse, from "Wrong? Tell us what it was"
to the gallery, with the reference model's opinion on the review page on the way.

The session's live server has review off, so this module serves its own app (the shipped
models, the reference included) with an admin token and a store of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from live_server import LiveServer
from playwright.sync_api import Page, expect

from hand_drawn import house
from webapp import create_app

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TOKEN = "browser-something-else-token-0123"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
UI_TIMEOUT_MS = 30_000  # The first contribution loads the reference model on a busy two-core machine.


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, live_server: LiveServer) -> Iterator[str]:
    """A server with review on, serving what the session's live server serves."""
    store = tmp_path_factory.mktemp("something-else")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "browser-something-else",
        "DATABASE": str(store / "doodles.sqlite"),
        "DRAWINGS_DIR": str(store / "drawings"),
        "MODEL_DIR": live_server.app.config["MODEL_DIR"],
        "ADMIN_TOKEN": TOKEN,
    })
    server = LiveServer(app, name="something-else-server")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_something_else_from_the_wrong_guess_to_the_gallery(page: Page, server_url: str, new_pen, watch) -> None:
    """Draw a house, follow the wrong-guess link, send it as "Something else…" named house, approve it, find it."""
    page_watch = watch(page)
    page.goto(f"{server_url}/")
    expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=UI_TIMEOUT_MS)
    new_pen(page).draw(house())
    page.get_by_role("link", name="Wrong? Tell us what it was").click()
    expect(page).to_have_url(re.compile("/contribute"))
    expect(page.get_by_test_id("status")).to_contain_text("Something else…", timeout=UI_TIMEOUT_MS)

    name = page.get_by_label("What is it?")
    expect(name).to_be_hidden()
    page.get_by_label("What will you draw?").select_option(label="Something else…")
    expect(name).to_be_visible()
    name.fill("  house ")
    page.get_by_role("button", name="Send drawing").click()
    expect(page.get_by_test_id("status")).to_have_text(re.compile(r"^Saved your house drawing #\d+"),
                                                        timeout=UI_TIMEOUT_MS)
    drawing_id = int(re.search(r"#(\d+)", page.get_by_test_id("status").text_content()).group(1))

    # The review page shows the name and what the reference model saw beside the drawing.
    page.goto(f"{server_url}/review")
    page.get_by_label("Admin token").fill(TOKEN)
    page.keyboard.press("Enter")
    tile = page.locator(f'[data-testid=review-tile][data-id="{drawing_id}"]')
    expect(tile).to_contain_text("something else: house", timeout=UI_TIMEOUT_MS)
    expect(tile.get_by_test_id("review-reference")).to_contain_text("reference: house")

    approved = requests.post(f"{server_url}/api/review", json={"ids": [drawing_id], "status": "approved"},
                             headers=BEARER, timeout=10)
    assert approved.status_code == 200, approved.text

    page.goto(f"{server_url}/gallery")
    page.get_by_test_id("gallery-categories").get_by_role("button", name="something else").click()
    expect(page).to_have_url(re.compile("#other$"))
    shown = page.locator(f'[data-testid=gallery-grid] li[data-id="{drawing_id}"]')
    expect(shown.get_by_test_id("gallery-name")).to_have_text("something else: house", timeout=UI_TIMEOUT_MS)
    expect(shown.get_by_role("img")).to_have_attribute("alt", "A drawing of house")
    page_watch.assert_clean()
