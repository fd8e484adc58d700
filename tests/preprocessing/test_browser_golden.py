"""preprocess.js in headless Chromium agrees with every Python golden vector."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO / "tests" / "golden"
MEAN_TOLERANCE = 3 / 255
MAX_TOLERANCE = 64 / 255

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# Runs in the page: imports the module over HTTP (ES modules do not load from file://),
# renders every vector and returns the differences, the points kept, and any NaN.
COMPARE_IN_PAGE = """
async (files) => {
  const preprocess = await import("/static/js/preprocess.js");
  const keptIndices = (points, kept) => {
    const indices = [];
    for (let index = 0, next = 0; index < points.length / 2; index += 1) {
      if (next < kept.length && points[2 * index] === kept[next]
          && points[2 * index + 1] === kept[next + 1]) {
        indices.push(index);
        next += 2;
      }
    }
    return indices;
  };
  const results = [];
  let spec = null;
  for (const file of files) {
    const golden = await (await fetch(`/golden/${file}`)).json();
    spec = golden.spec;
    for (const vector of golden.vectors) {
      const bitmap = preprocess.drawingToBitmap(vector.strokes, spec);
      let sum = 0, max = 0, invalid = 0;
      for (let index = 0; index < vector.expected.length; index += 1) {
        if (!(bitmap[index] >= 0 && bitmap[index] <= 1)) invalid += 1;
        const difference = Math.abs(bitmap[index] - vector.expected[index]);
        sum += difference;
        max = Math.max(max, difference);
      }
      const kept = preprocess.normalize(preprocess.parseStrokes(vector.strokes), spec)
        .map((points) => keptIndices(points, preprocess.simplify(points, spec.simplify_epsilon)));
      results.push({
        name: `${file}:${vector.name}`, length: bitmap.length, invalid,
        mean: sum / vector.expected.length, max,
        keptAgrees: JSON.stringify(kept) === JSON.stringify(vector.kept_indices),
      });
    }
  }
  let emptyError = null;
  try { preprocess.drawingToBitmap([], spec); } catch (error) { emptyError = error.message; }
  return { results, emptyError };
}
"""


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves webapp/static at /static/ and tests/golden at /golden/, and a blank page."""

    routes = {"/static/": (REPO / "webapp" / "static").resolve(), "/golden/": GOLDEN_DIR}

    def translate_path(self, path: str) -> str:
        clean = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0])
        for prefix, folder in self.routes.items():
            target = (folder / clean[len(prefix):]).resolve()
            if clean.startswith(prefix) and target.is_relative_to(folder):
                return str(target)
        return str(GOLDEN_DIR / "not-served")  # A path that does not exist: 404.

    def do_GET(self) -> None:
        if self.path == "/":
            body = b"<!doctype html><title>preprocess.js golden vectors</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # Keep test output clean.
        pass


@pytest.fixture(scope="module")
def static_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_StaticHandler, directory=str(GOLDEN_DIR))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_chromium_agrees_with_every_golden_vector(page, static_server):
    # decision.json holds the decision rule's vectors (tests/preprocessing/test_decision.py), not preprocessing's.
    files = sorted(path.name for path in GOLDEN_DIR.glob("*.json") if path.name != "decision.json")
    page.goto(static_server + "/")
    outcome = page.evaluate(COMPARE_IN_PAGE, files)
    results = outcome["results"]
    expected_count = sum(
        len(json.loads((GOLDEN_DIR / name).read_text())["vectors"]) for name in files
    )
    assert len(results) == expected_count > 40
    for result in results:
        assert result["length"] == 28 * 28 and result["invalid"] == 0, result["name"]
        name = result["name"]
        assert result["mean"] <= MEAN_TOLERANCE, f"{name}: mean {result['mean'] * 255}/255"
        assert result["max"] <= MAX_TOLERANCE, f"{name}: max {result['max'] * 255}/255"
        assert result["keptAgrees"], f"{result['name']}: other points kept than in Python"
    assert "empty" in outcome["emptyError"]
    worst = max(result["max"] for result in results) * 255
    print(f"Chromium: {len(results)} vectors, worst max difference {worst:.4f}/255")
