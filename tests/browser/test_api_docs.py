"""The API's contract page in Chromium: Swagger UI renders /api/openapi.json offline, under the app's CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_the_docs_page_shows_every_operation_without_leaving_the_machine(page: Page, page_watch):
    """The contract's operations are listed and open, with no CSP violation, error or outside request."""
    page.goto("/api/docs")
    expect(page.get_by_text("fashion-doodles API")).to_be_visible()
    for path in ("/api/predict", "/api/drawings", "/api/review", "/models/{set_name}/{version}/{filename}"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    page.get_by_text("/api/gallery", exact=True).first.click()
    expect(page.get_by_text("Try it out")).to_be_visible()
    page_watch.assert_clean()
