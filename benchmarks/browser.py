"""In-browser figures: inference latency per backend, perceived latency, page weight and start.

Everything runs in Debian's headless Chromium (no GPU) against the product served by
waitress on loopback, through the page's own code: ``window.__doodles`` is the hook the
page exposes once its model is ready (the same ``predict`` the live guesses use).
"""

from __future__ import annotations

import statistics
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from benchmarks.fixtures import REPO, sample_drawings
from benchmarks.server import product_server
from export.chromium import launch_options

BACKENDS = ("wasm", "webgl", "cpu")
READY_TIMEOUT_MS = 60_000
# Replayed drawings stay inside the canvas, off its edge, as a person's would.
CANVAS_MARGIN_FRACTION = 0.08

# Times each of the three stages the page runs for one guess, after a warm-up, in the page.
_INFERENCE_SCRIPT = """
async ({drawings, count, warmUp}) => {
  const hook = window.__doodles;
  const metadataUrl = document.getElementById('main').dataset.metadataUrl;
  const metadata = await (await fetch(metadataUrl)).json();
  const {drawingToBitmap} = await import('/static/js/preprocess.js');
  const bitmaps = drawings.map((strokes) => drawingToBitmap(strokes, metadata.preprocessing));
  const stages = {
    whole_path: (index) => hook.predictStrokes(drawings[index % drawings.length]),
    model_only: (index) => hook.predictBitmap(bitmaps[index % bitmaps.length]),
    preprocessing_only: async (index) => drawingToBitmap(drawings[index % drawings.length], metadata.preprocessing),
  };
  const timings = {};
  for (const [name, run] of Object.entries(stages)) {
    for (let index = 0; index < warmUp; index += 1) await run(index);
    const samples = [];
    const started = performance.now();
    for (let index = 0; index < count; index += 1) {
      const before = performance.now();
      await run(index);
      samples.push(performance.now() - before);
    }
    timings[name] = {samples, mean: (performance.now() - started) / count};
  }
  return {timings, backend: hook.backend, isolated: self.crossOriginIsolated};
}
"""

# Records when each pointer event changed the drawing and when each guess reached the DOM.
_PERCEIVED_HOOKS = """
() => {
  const canvas = document.querySelector('[data-testid=canvas]');
  const prediction = document.querySelector('[data-testid=prediction]');
  const log = {moves: [], ends: [], shown: []};
  // Registered after the canvas's own listeners, so the revision already counts this event.
  const record = (list) => () => list.push([performance.now(), Number(canvas.dataset.revision)]);
  canvas.addEventListener('pointermove', record(log.moves));
  canvas.addEventListener('pointerup', record(log.ends));
  new MutationObserver(() => {
    const revision = Number(prediction.dataset.revision);
    if (revision) log.shown.push([performance.now(), revision]);
  }).observe(prediction, {attributes: true, attributeFilter: ['data-revision']});
  window.__perceived = log;
}
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95 and count of a list of milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0, "p50_ms": float("nan"), "p95_ms": float("nan")}
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 4),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
    }


def _open_ready(browser: Browser, url: str) -> tuple[Page, Any]:
    """A fresh context and page at ``url``, waited on until its model is ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector('[data-testid=model-status][data-state="ready"]', timeout=READY_TIMEOUT_MS)
    return page, context


def first_load(browser: Browser, base_url: str, runs: int = 5, path: str = "/") -> dict[str, Any]:
    """Bytes on the wire and time to a ready model, cold cache, then one reload with a warm cache."""
    loads = []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        session = context.new_cdp_session(page)
        session.send("Network.enable")
        kinds: dict[str, str] = {}
        transferred: dict[str, int] = {}

        def on_response(event: dict, kinds: dict = kinds) -> None:
            kinds[event["requestId"]] = _kind(event["response"]["url"], event["response"].get("mimeType", ""))

        def on_finished(event: dict, kinds: dict = kinds, transferred: dict = transferred) -> None:
            kind = kinds.get(event["requestId"], "other")
            transferred[kind] = transferred.get(kind, 0) + int(event["encodedDataLength"])

        session.on("Network.responseReceived", on_response)
        session.on("Network.loadingFinished", on_finished)
        page.goto(base_url + path)
        page.wait_for_selector('[data-testid=model-status][data-state="ready"]', timeout=READY_TIMEOUT_MS)
        ready_ms = page.evaluate("performance.getEntriesByName('model-ready')[0].startTime")
        cold = dict(transferred)
        transferred.clear()
        page.reload()
        page.wait_for_selector('[data-testid=model-status][data-state="ready"]', timeout=READY_TIMEOUT_MS)
        warm_ready_ms = page.evaluate("performance.getEntriesByName('model-ready')[0].startTime")
        loads.append({"bytes": cold, "ready_ms": ready_ms, "reload_bytes": sum(transferred.values()),
                      "reload_ready_ms": warm_ready_ms})
        context.close()
    by_kind = loads[-1]["bytes"]
    return {
        "bytes_by_kind": by_kind,
        "total_bytes": sum(by_kind.values()),
        "ready_ms": percentiles([load["ready_ms"] for load in loads]),
        "reload_total_bytes": loads[-1]["reload_bytes"],
        "reload_ready_ms": percentiles([load["reload_ready_ms"] for load in loads]),
        "runs": runs,
    }


def _kind(url: str, mime: str) -> str:
    """Group a response for the page-weight table."""
    if "/models/" in url or "/api/model" in url:
        return "model"
    if url.endswith(".wasm"):
        return "wasm"
    if "/static/vendor/" in url:
        return "tfjs"
    if url.endswith(".js"):
        return "app_js"
    if url.endswith(".css") or "svg" in mime or mime.startswith("image/"):
        return "css_images"
    if "html" in mime:
        return "html"
    return "other"


def inference(browser: Browser, base_url: str, backend: str, drawings: list, count: int = 500) -> dict[str, Any]:
    """Per-guess latency on one backend: whole path, model call alone, preprocessing alone."""
    page, context = _open_ready(browser, f"{base_url}/?backend={backend}")
    try:
        measured = page.evaluate(_INFERENCE_SCRIPT, {"drawings": drawings, "count": count, "warmUp": 50})
    finally:
        context.close()
    result: dict[str, Any] = {"requested": backend, "backend": measured["backend"],
                              "cross_origin_isolated": measured["isolated"]}
    for stage, timing in measured["timings"].items():
        result[stage] = {**percentiles(timing["samples"]), "mean_ms": round(timing["mean"], 4)}
    return result


def draw_with_mouse(page: Page, strokes: list) -> None:
    """Draw Quick Draw strokes (0-255 coordinates) on the page's canvas with the mouse, stroke by stroke."""
    box = page.get_by_test_id("canvas").bounding_box()
    margin = box["width"] * CANVAS_MARGIN_FRACTION
    scale = (box["width"] - 2 * margin) / 255.0
    for xs, ys, *_ in strokes:
        page.mouse.move(box["x"] + margin + xs[0] * scale, box["y"] + margin + ys[0] * scale)
        page.mouse.down()
        for x, y in zip(xs[1:], ys[1:]):
            page.mouse.move(box["x"] + margin + x * scale, box["y"] + margin + y * scale, steps=2)
        page.mouse.up()


def perceived_latency(browser: Browser, base_url: str, drawings: list, backend: str = "wasm") -> dict[str, Any]:
    """From a pointer event to the guess for the drawing it produced being in the DOM."""
    page, context = _open_ready(browser, f"{base_url}/?backend={backend}")
    try:
        page.evaluate(_PERCEIVED_HOOKS)
        clear = page.get_by_test_id("clear")
        for strokes in drawings:
            draw_with_mouse(page, strokes)
            page.wait_for_timeout(100)  # Let the last guess land before the canvas is cleared.
            clear.click()
        log = page.evaluate("window.__perceived")
    finally:
        context.close()
    return {
        "backend": backend,
        "stroke_end": percentiles(_latencies(log["ends"], log["shown"])),
        "every_pointer_move": percentiles(_latencies(log["moves"], log["shown"])),
        "drawings": len(drawings),
    }


# The game's hooks: pointer moves on the canvas, and each guess sentence with its revision.
_GAME_HOOKS = """
() => {
  const canvas = document.querySelector('[data-testid=canvas]');
  const guess = document.querySelector('[data-testid=play-guess]');
  const log = {moves: [], shown: []};
  // Only moves that drew count: a move over a locked canvas (a round just ended) asks for no guess.
  // The page's own listener runs first, so a move that drew has already bumped the revision.
  let drawn = Number(canvas.dataset.revision);
  canvas.addEventListener('pointermove', () => {
    const revision = Number(canvas.dataset.revision);
    if (revision !== drawn) log.moves.push([performance.now(), revision]);
    drawn = revision;
  });
  new MutationObserver(() => {
    const revision = Number(guess.dataset.revision);
    if (revision) log.shown.push([performance.now(), revision]);
  }).observe(guess, {attributes: true, attributeFilter: ['data-revision']});
  window.__perceived = log;
}
"""


def game_latency(browser: Browser, base_url: str, drawings: list, backend: str = "wasm") -> dict[str, Any]:
    """On /play: from a pen move to the guess sentence for that drawing on screen."""
    page, context = _open_ready(browser, f"{base_url}/play?backend={backend}&seconds=3600")
    try:
        page.evaluate(_GAME_HOOKS)
        page.get_by_test_id("play-start").click()
        result = page.get_by_test_id("play-round-result")
        for strokes in drawings:
            # A drawing the model recognises as the prompt ends the round: go on to the next.
            if result.is_visible():
                page.get_by_test_id("play-next").click()
                if page.get_by_test_id("play-summary").is_visible():
                    page.get_by_test_id("play-again").click()
            draw_with_mouse(page, strokes)
            page.wait_for_timeout(100)
            if not result.is_visible():
                page.get_by_test_id("clear").click()
        log = page.evaluate("window.__perceived")
    finally:
        context.close()
    return {"backend": backend, "pen_move_to_sentence": percentiles(_latencies(log["moves"], log["shown"])),
            "drawings": len(drawings)}


def _latencies(events: list[list[float]], shown: list[list[float]]) -> list[float]:
    """For each event, the time until a guess of that drawing revision or a later one was shown."""
    latencies = []
    for time, revision in events:
        later = [shown_time for shown_time, shown_revision in shown if shown_revision >= revision and shown_time >= time]
        if later:
            latencies.append(min(later) - time)
    return latencies


def bench_browser(count: int = 500) -> dict[str, Any]:
    """Every in-browser figure, with TF.js's default WebGL backend measured beside WASM."""
    drawings = [strokes for _, strokes in sample_drawings()]
    with product_server() as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        try:
            results: dict[str, Any] = {"first_load": first_load(browser, base_url)}
            results["inference"] = {backend: inference(browser, base_url, backend, drawings, count)
                                    for backend in BACKENDS}
            replayed = drawings[::5][:30]
            results["perceived"] = {backend: perceived_latency(browser, base_url, replayed, backend)
                                    for backend in ("wasm", "webgl")}
            results["baseline_page_weight"] = baseline_page_weight(results["first_load"]["bytes_by_kind"])
            results["play"] = {"first_load": first_load(browser, base_url, runs=3, path="/play"),
                               "perceived": game_latency(browser, base_url, replayed)}
        finally:
            browser.close()
    return results


def baseline_page_weight(ours: dict[str, int]) -> dict[str, int]:
    """What a CDN page using ``<script src=".../@tensorflow/tfjs">`` and WebGL would download.

    The CDN resolves that tag to ``dist/tf.min.js`` (the ES5 bundle, served gzip-compressed by
    jsDelivr); the model and the page itself are taken as ours, the wasm files as absent.
    """
    import gzip

    bundle = REPO / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js"
    compressed = len(gzip.compress(bundle.read_bytes(), compresslevel=6))
    rest = sum(size for kind, size in ours.items() if kind not in ("tfjs", "wasm"))
    return {"tfjs_gzip_bytes": compressed, "total_bytes": compressed + rest}
