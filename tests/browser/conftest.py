"""Browser tests: a live server in a thread, Debian's Chromium, and Quick Draw strokes to replay.

pytest-playwright provides ``page``, ``context`` and ``browser``; this file points them at
Chromium and at a werkzeug server running the real app on a free port, with a temporary
database and drawings folder.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from webapp import create_app

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_MODEL_DIR = REPO_ROOT / "webapp" / "static" / "model"
CHROMIUM = os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
# Keep replayed drawings off the canvas edge, as a person would.
CANVAS_MARGIN_FRACTION = 0.08
QUICKDRAW_SIDE = 255.0
# The model loads in about a second; generous for a busy two-core machine.
MODEL_READY_TIMEOUT_MS = 30_000


class _QuietRequestHandler(WSGIRequestHandler):
    """Keep werkzeug's one line per request out of the test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing for successful requests; errors still go through log_error."""


class LiveServer:
    """The app served on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def start(self) -> None:
        """Start serving requests."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app with a throwaway database and drawings folder, served for the whole session."""
    store = tmp_path_factory.mktemp("contributions")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-tests",
            "DATABASE": str(store / "doodles.sqlite"),
            "DRAWINGS_DIR": str(store / "drawings"),
        }
    )
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Every ``page.goto("/...")`` goes to the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Drive Debian's Chromium: Playwright cannot download its own browsers here."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A laptop-sized window unless a test asks for another."""
    return {**browser_context_args, "viewport": DESKTOP_VIEWPORT}


@pytest.fixture(scope="session")
def web_model() -> dict[str, Any]:
    """The shipped model's metadata.json; the model is committed, so its absence is a failure."""
    metadata_path = WEB_MODEL_DIR / "metadata.json"
    if not metadata_path.exists():
        pytest.fail(f"no exported model at {WEB_MODEL_DIR}: run `make export`")
    return json.loads(metadata_path.read_text())


def _quickdraw_dir() -> Path | None:
    """The local Quick Draw mirror: $QUICKDRAW_SOURCE when it is a folder, else ../shared/quickdraw."""
    source = os.environ.get("QUICKDRAW_SOURCE", "")
    candidates = [] if "://" in source or not source else [Path(source)]
    candidates.append(REPO_ROOT.parent / "shared" / "quickdraw")
    for candidate in candidates:
        folder = candidate if candidate.is_absolute() else REPO_ROOT / candidate
        if (folder / "simplified").is_dir():
            return folder
    return None


@pytest.fixture(scope="session")
def quickdraw_drawings() -> Callable[[str], list[list]]:
    """Return a loader: category name -> its simplified Quick Draw drawings (strokes only)."""
    folder = _quickdraw_dir()
    if folder is None:
        pytest.skip("no local Quick Draw mirror with simplified/ (set QUICKDRAW_SOURCE to one)")

    def load(category: str) -> list[list]:
        path = folder / "simplified" / f"{category}.ndjson"
        if not path.exists():
            pytest.fail(f"the Quick Draw mirror has no simplified drawings for {category!r}: {path}")
        with path.open() as lines:
            return [json.loads(line)["drawing"] for line in lines if line.strip()]

    return load


class Pen:
    """Draws Quick Draw strokes (coordinates 0-255) on a page's canvas with a mouse or a finger.

    A finger is a real touch sequence sent through the Chrome DevTools Protocol, since
    Playwright's own touch API only taps.
    """

    def __init__(self, page: Page, touch: bool = False) -> None:
        self.page = page
        self.box = page.get_by_test_id("canvas").bounding_box()
        self.touch = page.context.new_cdp_session(page) if touch else None
        self.position = (0.0, 0.0)

    def point(self, x: float, y: float) -> tuple[float, float]:
        """Where a Quick Draw coordinate lands on screen, inside a margin of the canvas."""
        margin = self.box["width"] * CANVAS_MARGIN_FRACTION
        scale = (self.box["width"] - 2 * margin) / QUICKDRAW_SIDE
        return self.box["x"] + margin + x * scale, self.box["y"] + margin + y * scale

    def _touch(self, kind: str, points: list[tuple[float, float]]) -> None:
        self.touch.send(
            "Input.dispatchTouchEvent",
            {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]},
        )

    def press(self, x: float, y: float) -> None:
        """Put the pen down at a point."""
        self.position = self.point(x, y)
        if self.touch:
            self._touch("touchStart", [self.position])
        else:
            self.page.mouse.move(*self.position)
            self.page.mouse.down()

    def trace(self, xs: list[float], ys: list[float], steps: int = 1) -> None:
        """Move the pen through points; ``steps`` pointer moves per segment, like a real hand."""
        for x, y in zip(xs, ys):
            target = self.point(x, y)
            if self.touch:
                start = self.position
                for step in range(1, steps + 1):
                    fraction = step / steps
                    self._touch(
                        "touchMove",
                        [(start[0] + (target[0] - start[0]) * fraction, start[1] + (target[1] - start[1]) * fraction)],
                    )
            else:
                self.page.mouse.move(*target, steps=steps)
            self.position = target

    def lift(self) -> None:
        """Lift the pen, ending the stroke."""
        if self.touch:
            self._touch("touchEnd", [])
        else:
            self.page.mouse.up()

    def draw(self, strokes: list, steps: int = 1) -> None:
        """Draw whole strokes, lifting the pen after each."""
        for stroke in strokes:
            xs, ys = stroke[0], stroke[1]
            self.press(xs[0], ys[0])
            self.trace(xs[1:], ys[1:], steps)
            self.lift()


@pytest.fixture
def open_page(web_model: dict[str, Any]) -> Callable[..., Pen]:
    """Return a function that opens a path, waits until its model is ready, and returns a pen."""

    def open_and_wait(page: Page, path: str, touch: bool = False) -> Pen:
        page.goto(path)
        expect(page.get_by_test_id("model-status")).to_have_attribute(
            "data-state", "ready", timeout=MODEL_READY_TIMEOUT_MS
        )
        return Pen(page, touch=touch)

    return open_and_wait


@pytest.fixture
def final_guess() -> Callable[[Page], dict[str, Any]]:
    """Return a function that waits for the guess of the drawing as it is now and reads it."""

    def read(page: Page) -> dict[str, Any]:
        revision = page.get_by_test_id("canvas").get_attribute("data-revision")
        prediction = page.get_by_test_id("prediction")
        expect(prediction).to_have_attribute("data-revision", revision)
        return {
            "label": prediction.get_attribute("data-label"),
            "probability": float(prediction.get_attribute("data-probability")),
        }

    return read


@pytest.fixture
def read_bars() -> Callable[[Page], dict[str, float]]:
    """Return a function that reads every category's probability as the bars show it."""

    def read(page: Page) -> dict[str, float]:
        rows = page.get_by_test_id("probabilities").locator("[data-label]")
        pairs = rows.evaluate_all("rows => rows.map(row => [row.dataset.label, Number(row.dataset.probability)])")
        return dict(pairs)

    return read


@pytest.fixture
def outside_requests(page: Page) -> list[str]:
    """Every request the page makes to anywhere but the local server (should stay empty)."""
    leaked: list[str] = []

    def record(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            leaked.append(request.url)

    page.on("request", record)
    return leaked


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Uncaught exceptions and console errors (CSP violations show up here too)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors
