"""Browser tests: a live server in a thread, and Quick Draw strokes to replay on its pages.

pytest-playwright provides ``page``, ``context`` and ``browser`` (tests/conftest.py points
them at Debian's Chromium); this file points them at a werkzeug server running the real app
on a free port, with a temporary database and drawings folder. Every Quick Draw drawing is
replayed once per session (``replayed_drawings``) and several tests check the results.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext as AsyncBrowserContext
from playwright.async_api import Page as AsyncPage
from playwright.async_api import async_playwright
from live_server import LiveServer
from playwright.sync_api import Browser, Page, expect

from preprocessing import served
from preprocessing.model_metadata import load_metadata
from webapp import config, create_app
from webapp.predictor import get_predictor

REPO_ROOT = Path(__file__).resolve().parents[2]
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# Keep replayed drawings off the canvas edge, as a person would.
CANVAS_MARGIN_FRACTION = 0.08
QUICKDRAW_SIDE = 255.0
# The model loads in about a second; generous for a busy two-core machine.
MODEL_READY_TIMEOUT_MS = 30_000
GUESS_TIMEOUT_MS = 10_000
POINTER_KINDS = ("mouse", "touch", "pen")

# Resolves to the guess on screen once it is the guess for the drawing as it is now (the
# canvas and the prediction carry the same revision), or to false until then.
_CURRENT_GUESS = """
() => {
  const canvas = document.querySelector('[data-testid=canvas]');
  const prediction = document.querySelector('[data-testid=prediction]');
  if (!prediction.dataset.revision || prediction.dataset.revision !== canvas.dataset.revision) return false;
  return {
    label: prediction.dataset.label,
    probability: Number(prediction.dataset.probability),
    state: prediction.dataset.state,
    revision: Number(prediction.dataset.revision),
  };
}
"""
# The same, plus every bar and the strokes the canvas recorded, for the replay.
_CURRENT_GUESS_IN_FULL = """
() => {
  const canvas = document.querySelector('[data-testid=canvas]');
  const prediction = document.querySelector('[data-testid=prediction]');
  if (!prediction.dataset.revision || prediction.dataset.revision !== canvas.dataset.revision) return false;
  const rows = document.querySelectorAll('[data-testid=probabilities] [data-label]');
  return {
    label: prediction.dataset.label,
    probability: Number(prediction.dataset.probability),
    state: prediction.dataset.state,
    revision: Number(prediction.dataset.revision),
    bars: Object.fromEntries([...rows].map((row) => [row.dataset.label, Number(row.dataset.probability)])),
    strokes: window.__doodles.getStrokes(),
  };
}
"""


def model_dir() -> str:
    """The served model folder: ``$FLASK_MODEL_DIR`` (or ``$MODEL_DIR``) when set, else the app's default.

    The app reads FLASK_* variables only without a test_config, so the tests pass this one on
    themselves: it lets them run against models exported outside served/.
    """
    configured = os.environ.get("FLASK_MODEL_DIR") or os.environ.get("MODEL_DIR")
    return configured or config.defaults(str(REPO_ROOT / "instance"))["MODEL_DIR"]


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
            "MODEL_DIR": model_dir(),
            # window.__doodles: the page's own predict() on any strokes.
            "TEST_HOOKS": True,
        }
    )
    # Load TensorFlow and the model before the first page, as `python -m webapp.serve` does: on a
    # busy machine the first contribution's guess would otherwise outlast the page's timeouts.
    get_predictor(app)
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Every ``page.goto("/...")`` goes to the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A laptop-sized window unless a test asks for another."""
    return {**browser_context_args, "viewport": DESKTOP_VIEWPORT}


@pytest.fixture(scope="session")
def web_model() -> dict[str, Any]:
    """The served default model's metadata.json; the model is committed, so its absence is a failure."""
    root = Path(model_dir())
    try:
        return load_metadata(served.version_dir(root, "accessories", served.read_current(root, "accessories")))
    except ValueError as error:
        pytest.fail(f"no usable served model in {root}: {error}")


@pytest.fixture(scope="session")
def quickdraw_drawings(quickdraw_fixture: Path) -> Callable[[str], list[list]]:
    """Return a loader: category name -> its 25 simplified Quick Draw drawings from the shipped fixture (strokes only)."""
    folder = quickdraw_fixture

    def load(category: str) -> list[list]:
        path = folder / "simplified" / f"{category}.ndjson"
        if not path.exists():
            pytest.fail(f"the Quick Draw fixture has no simplified drawings for {category!r}: {path}")
        with path.open() as lines:
            return [json.loads(line)["drawing"] for line in lines if line.strip()]

    return load


def screen_point(canvas_box: dict[str, float], x: float, y: float) -> tuple[float, float]:
    """Where a Quick Draw coordinate (0-255) lands on screen, inside a margin of the canvas."""
    margin = canvas_box["width"] * CANVAS_MARGIN_FRACTION
    scale = (canvas_box["width"] - 2 * margin) / QUICKDRAW_SIDE
    return canvas_box["x"] + margin + x * scale, canvas_box["y"] + margin + y * scale


class Pen:
    """Draws Quick Draw strokes (coordinates 0-255) on a page's canvas with a mouse, a finger or a pen.

    The mouse goes through Playwright. A finger and a stylus go through the Chrome DevTools
    Protocol, since Playwright's own touch API only taps and it has no stylus at all: they
    reach the page as pointer events with pointerType "touch" and "pen".
    """

    def __init__(self, page: Page, kind: str = "mouse") -> None:
        if kind not in POINTER_KINDS:
            raise ValueError(f"unknown pointer kind {kind!r}; choose one of {POINTER_KINDS}")
        self.page = page
        self.kind = kind
        self.canvas = page.get_by_test_id("canvas")
        self.box = self.canvas.bounding_box()
        self.cdp = page.context.new_cdp_session(page) if kind != "mouse" else None
        self.position = (0.0, 0.0)

    def point(self, x: float, y: float) -> tuple[float, float]:
        """Where a Quick Draw coordinate lands on screen."""
        return screen_point(self.box, x, y)

    def _send(self, action: str, position: tuple[float, float] | None = None) -> None:
        """One pointer event through the DevTools Protocol: action is 'down', 'move' or 'up'."""
        x, y = position or self.position
        if self.kind == "touch":
            kind = {"down": "touchStart", "move": "touchMove", "up": "touchEnd"}[action]
            points = [] if action == "up" else [{"x": x, "y": y}]
            self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        else:
            kind = {"down": "mousePressed", "move": "mouseMoved", "up": "mouseReleased"}[action]
            self.cdp.send(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": x,
                    "y": y,
                    "button": "left",
                    "buttons": 0 if action == "up" else 1,
                    "clickCount": 1,
                    "pointerType": "pen",
                },
            )

    def press(self, x: float, y: float) -> None:
        """Put the pen down at a point (of a canvas scrolled into view: clicks elsewhere may scroll)."""
        self.canvas.scroll_into_view_if_needed()
        self.box = self.canvas.bounding_box()
        self.position = self.point(x, y)
        if self.cdp:
            self._send("down")
        else:
            self.page.mouse.move(*self.position)
            self.page.mouse.down()

    def trace(self, xs: list[float], ys: list[float], steps: int = 1) -> None:
        """Move the pen through points; ``steps`` pointer moves per segment, like a real hand."""
        for x, y in zip(xs, ys):
            target = self.point(x, y)
            if self.cdp:
                start = self.position
                for step in range(1, steps + 1):
                    fraction = step / steps
                    self._send(
                        "move",
                        (start[0] + (target[0] - start[0]) * fraction, start[1] + (target[1] - start[1]) * fraction),
                    )
            else:
                self.page.mouse.move(*target, steps=steps)
            self.position = target

    def lift(self) -> None:
        """Lift the pen, ending the stroke."""
        if self.cdp:
            self._send("up")
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
def new_pen() -> Callable[..., Pen]:
    """Return Pen: ``new_pen(page, kind)`` draws on a page whose model need not be ready."""
    return Pen


def open_and_wait(page: Page, path: str, kind: str = "mouse") -> Pen:
    """Open a path, wait until its model is ready, and return a pen for its canvas."""
    page.goto(path)
    expect(page.get_by_test_id("model-status")).to_have_attribute(
        "data-state", "ready", timeout=MODEL_READY_TIMEOUT_MS
    )
    return Pen(page, kind=kind)


@pytest.fixture
def open_page(web_model: dict[str, Any]) -> Callable[..., Pen]:
    """Return open_and_wait: open a path, wait for its model, get a pen (mouse, touch or pen)."""
    return open_and_wait


def read_guess(page: Page) -> dict[str, Any]:
    """Wait for the guess of the drawing as it is now and return {label, probability, state, revision}."""
    return page.wait_for_function(_CURRENT_GUESS, polling="raf", timeout=GUESS_TIMEOUT_MS).json_value()


@pytest.fixture
def final_guess() -> Callable[[Page], dict[str, Any]]:
    """Return read_guess: the guess on screen once it belongs to the current drawing."""
    return read_guess


def read_probability_bars(page: Page) -> dict[str, float]:
    """Every category's probability as the bars show it, in the order they are shown."""
    rows = page.get_by_test_id("probabilities").locator("[data-label]")
    pairs = rows.evaluate_all("rows => rows.map(row => [row.dataset.label, Number(row.dataset.probability)])")
    return dict(pairs)


@pytest.fixture
def read_bars() -> Callable[[Page], dict[str, float]]:
    """Return read_probability_bars."""
    return read_probability_bars


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder, or ``$SCREENSHOT_DIR`` when set: `make screenshots` refreshes docs/screenshots/ on purpose."""
    configured = os.environ.get("SCREENSHOT_DIR")
    folder = REPO_ROOT / configured if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class PageWatch:
    """What a page did that users must never see: requests off this machine, and errors.

    Console errors include Content-Security-Policy violations, which Chromium reports there.
    """

    def __init__(self, page: Page) -> None:
        self.outside_requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._record_request)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)

    def _record_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            self.outside_requests.append(request.url)

    def assert_clean(self) -> None:
        """Fail if the page reached beyond 127.0.0.1 or logged an error."""
        assert self.outside_requests == [], f"requests left 127.0.0.1: {self.outside_requests}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def phone_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    """A page on a phone-sized touch screen with a dense display, in a context of its own."""
    context = browser.new_context(**{**browser_context_args, **PHONE})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def watch() -> Callable[[Page], PageWatch]:
    """Return PageWatch: ``watch(page)`` starts recording a page; ``assert_clean()`` checks it."""
    return PageWatch


@pytest.fixture
def page_watch(page: Page) -> PageWatch:
    """A PageWatch on the test's page; call ``assert_clean()`` at the end of the test."""
    return PageWatch(page)


# ---- Replaying every Quick Draw drawing on the draw page ----
#
# Moving a mouse through Playwright's sync API waits for Chromium to handle each move, and
# Chromium handles moves once per frame: about 20 ms a point, two minutes for the 150
# drawings on this machine. A stroke's moves are sent together instead, as a very fast hand
# makes them: Chromium coalesces them into fewer pointermove events that still carry every
# point (canvas.js reads getCoalescedEvents(); the tests check that no point is lost).
# The six categories replay side by side, each on a page of its own. Playwright's async API
# does both; it runs in a thread of its own because the sync API already drives an event
# loop in this one. test_draw_page.py draws at a hand's pace where the pace matters.


@dataclass
class ReplayedDrawing:
    """One Quick Draw drawing replayed on the draw page, and what the page showed for it."""

    category: str
    index: int
    strokes: list  # As Quick Draw stores them, in 0-255 coordinates.
    live_guess: dict[str, Any]  # On screen while the pen was still down in the last stroke.
    guess: dict[str, Any]  # On screen once the pen lifted: label, probability, revision, bars, strokes.
    quickdraw_probabilities: dict[str, float]  # The page's predict() on Quick Draw's own coordinates.


@dataclass(repr=False)
class ReplayedCategory:
    """The drawings of one category, replayed on one page, with what the page did besides."""

    drawings: list[ReplayedDrawing] = field(default_factory=list)
    tensors_after_first: int = -1
    tensors_after_last: int = -1
    outside_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        """A one-line summary: failing tests print fixture values, and 25 drawings are a lot."""
        guesses = [drawing.guess["label"] for drawing in self.drawings]
        return f"<{len(self.drawings)} replayed drawings guessed as {sorted(set(guesses))}>"


async def _wait_for_guess(page: AsyncPage) -> dict[str, Any]:
    """The guess once it belongs to the drawing as it is now, with its bars and strokes."""
    handle = await page.wait_for_function(_CURRENT_GUESS_IN_FULL, polling="raf", timeout=GUESS_TIMEOUT_MS)
    return await handle.json_value()


async def _replay_category(
    context: AsyncBrowserContext, base_url: str, category: str, drawings: list[list]
) -> ReplayedCategory:
    """Draw each drawing with the mouse on a fresh canvas and record the guesses."""
    page = await context.new_page()
    watch = PageWatch(page)
    await page.goto(f"{base_url}/")
    await page.wait_for_selector(
        '[data-testid=model-status][data-state="ready"]', timeout=MODEL_READY_TIMEOUT_MS
    )
    box = await page.get_by_test_id("canvas").bounding_box()
    mouse = await context.new_cdp_session(page)

    async def mouse_event(kind: str, point: tuple[float, float], buttons: int) -> None:
        """One mouse event through the DevTools Protocol: a press needs no hover move before it."""
        event = {"type": kind, "x": point[0], "y": point[1], "button": "left", "buttons": buttons, "clickCount": 1}
        await mouse.send("Input.dispatchMouseEvent", event)

    replayed = ReplayedCategory(outside_requests=watch.outside_requests, errors=watch.errors)
    for index, strokes in enumerate(drawings):
        # The Clear button itself is tested elsewhere; a click from script costs no frame.
        await page.evaluate("document.querySelector('[data-testid=clear]').click()")
        live_guess: dict[str, Any] = {}
        for number, (xs, ys) in enumerate(stroke[:2] for stroke in strokes):
            points = [screen_point(box, x, y) for x, y in zip(xs, ys)]
            await mouse_event("mousePressed", points[0], 1)
            # A stroke's moves go at once; a press or release must wait for them, or it
            # would overtake the moves Chromium holds back for the next frame.
            await asyncio.gather(*(mouse_event("mouseMoved", point, 1) for point in points[1:]))
            if number == len(strokes) - 1:
                # The pen is still down in the last stroke: this guess was made while drawing.
                live_guess = await _wait_for_guess(page)
            await mouse_event("mouseReleased", points[-1], 0)
        guess = await _wait_for_guess(page)
        ranked = await page.evaluate("strokes => window.__doodles.predictStrokes(strokes)", strokes)
        replayed.drawings.append(
            ReplayedDrawing(
                category=category,
                index=index,
                strokes=strokes,
                live_guess=live_guess,
                guess=guess,
                quickdraw_probabilities={item["label"]: item["probability"] for item in ranked},
            )
        )
        if index == 0:
            replayed.tensors_after_first = await page.evaluate("tf.memory().numTensors")
    replayed.tensors_after_last = await page.evaluate("tf.memory().numTensors")
    await page.close()
    return replayed


async def _replay_all(
    launch_args: dict[str, Any], context_args: dict[str, Any], drawings: dict[str, list[list]]
) -> dict[str, ReplayedCategory]:
    """Replay every group's drawings at once (a category's, say), one page per group."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_args)
        try:
            context = await browser.new_context(**context_args)
            base_url = context_args["base_url"]
            results = await asyncio.gather(
                *(_replay_category(context, base_url, category, items) for category, items in drawings.items())
            )
        finally:
            await browser.close()
    return dict(zip(drawings, results))


@pytest.fixture(scope="session")
def replay(
    browser_type_launch_args: dict[str, Any], browser_context_args: dict[str, Any], web_model: dict[str, Any]
) -> Callable[[dict[str, list[list]]], dict[str, ReplayedCategory]]:
    """Return a replayer: ``replay({group: [strokes, ...]})`` draws each group on a page of its own, clearing between drawings."""

    def run(drawings: dict[str, list[list]]) -> dict[str, ReplayedCategory]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            future = executor.submit(asyncio.run, _replay_all(browser_type_launch_args, browser_context_args, drawings))
            return future.result()

    return run


@pytest.fixture(scope="session")
def replayed_drawings(
    replay: Callable[[dict[str, list[list]]], dict[str, ReplayedCategory]],
    web_model: dict[str, Any],
    quickdraw_drawings: Callable[[str], list[list]],
) -> dict[str, ReplayedCategory]:
    """Every category's Quick Draw drawings replayed on the draw page: {category: ReplayedCategory}."""
    return replay({category: quickdraw_drawings(category) for category in web_model["categories"]})
