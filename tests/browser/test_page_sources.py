"""What the pages are made of, checked without a browser: no inline code for the CSP to
refuse, nothing loaded from another site, the test hooks in place, and no category name
written anywhere but in the model's metadata.json."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from training.categories import DEFAULT_CATEGORIES

WEBAPP_DIR = Path(__file__).resolve().parents[2] / "webapp"
PAGES = {
    "/": {"canvas", "clear", "undo", "prediction", "probabilities", "model-status"},
    "/contribute": {"canvas", "clear", "undo", "prediction", "model-status", "label-select", "submit", "status",
                    "label-warning"},
    "/play": {"canvas", "model-status", "play-start", "play-prompt", "play-timer", "play-guess",
              "play-round-result", "play-next", "play-summary", "play-donate", "play-donated", "play-again"},
}


class PageParts(HTMLParser):
    """Collects a page's test ids, the URLs it loads, and any inline script, style or handler."""

    def __init__(self) -> None:
        super().__init__()
        self.test_ids: set[str] = set()
        self.loaded_urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record what one element contributes."""
        attributes = dict(attrs)
        if "data-testid" in attributes:
            self.test_ids.add(attributes["data-testid"] or "")
        if tag == "script":
            if attributes.get("src"):
                self.loaded_urls.append(attributes["src"])
            else:
                self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "link" and attributes.get("href"):
            self.loaded_urls.append(attributes["href"])
        if tag == "img" and attributes.get("src"):
            self.loaded_urls.append(attributes["src"])
        self.inline += [f"{tag} {name}=" for name in attributes if name == "style" or name.startswith("on")]


@pytest.mark.parametrize(("path", "test_ids"), PAGES.items())
def test_pages_have_no_inline_code_and_load_only_local_files(live_server, path, test_ids):
    """The CSP forbids inline code, so there is none; every file comes from this server."""
    response = live_server.app.test_client().get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "'unsafe-eval'" not in policy
    parts = PageParts()
    parts.feed(response.get_data(as_text=True))
    assert parts.inline == []
    assert parts.loaded_urls and all(url.startswith("/static/") for url in parts.loaded_urls), parts.loaded_urls
    assert test_ids <= parts.test_ids
    # TF.js comes from the vendored ES2017 bundles.
    assert "/static/vendor/tf.es2017.min.js" in parts.loaded_urls


def test_no_category_name_is_written_into_the_pages():
    """Categories reach the browser only through metadata.json, so a retrained model needs no page edit."""
    sources = [
        path
        for folder in ("templates", "static/js", "static/css")
        for path in sorted((WEBAPP_DIR / folder).rglob("*"))
        if path.suffix in {".html", ".js", ".css"}
    ]
    assert sources
    mentions = [
        f"{path.relative_to(WEBAPP_DIR)}: {category}"
        for path in sources
        for category in DEFAULT_CATEGORIES
        if category in path.read_text().lower()
    ]
    assert mentions == []
