"""Server figures: /api/predict latency and throughput, /api/drawings throughput, and the baseline.

Both servers run as separate processes on loopback with waitress, the product's production
server; the load generator shares the same 2 cores, so throughput is a lower bound.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

from benchmarks.fixtures import REPO, canvas_png_data_url, sample_drawings
from benchmarks.load import json_body, run_load


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, timeout: float = 120.0) -> None:
    """Poll ``url`` until it answers 200, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up in {timeout:.0f} s")


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str] | None = None) -> Iterator[IO[str]]:
    """Run a process for the duration of the block and always stop it; yields its stderr log."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **(env or {})},
                                   stdout=subprocess.DEVNULL, stderr=log)
        try:
            yield log
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def running(command: list[str], health_url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run a server process for the duration of the block, once ``health_url`` answers."""
    with _process(command, env) as log:
        try:
            wait_until_up(health_url)
        except RuntimeError as error:
            log.seek(0)
            raise RuntimeError(f"{error}; its log ends:\n{log.read()[-2000:]}") from None
        yield


@contextlib.contextmanager
def product_server() -> Iterator[str]:
    """The app under waitress on a free port, with a throwaway drawing store; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as store:
        env = {
            "FLASK_DATABASE": str(Path(store) / "drawings.sqlite3"),
            "FLASK_DRAWINGS_DIR": str(Path(store) / "drawings"),
            "FLASK_RATE_LIMIT": "0",
            # The browser benchmarks drive the page's own predict() through window.__doodles.
            "FLASK_TEST_HOOKS": "true",
        }
        command = [sys.executable, "-m", "webapp.serve", "--host", "127.0.0.1", "--port", str(port)]
        with running(command, f"http://127.0.0.1:{port}/api/health", env):
            yield f"http://127.0.0.1:{port}"


def bench_product_server(requests_per_client: int = 200) -> dict:
    """/api/predict at 1, 4 and 16 clients (strokes and PNG bodies), /api/drawings at 16."""
    drawings = sample_drawings()
    stroke_bodies = [json_body({"strokes": strokes}) for _, strokes in drawings]
    image_bodies = [json_body({"image": canvas_png_data_url(strokes)}) for _, strokes in drawings[:30]]
    contribution_bodies = [json_body({"label": label, "strokes": strokes}) for label, strokes in drawings]
    results: dict = {"predict_strokes": [], "predict_image": []}
    with product_server() as url:
        port = int(url.rsplit(":", 1)[1])
        # The first prediction loads TensorFlow and the model; that is start-up, not latency.
        run_load("127.0.0.1", port, "/api/predict", lambda c, n: stroke_bodies[n % len(stroke_bodies)], 1, 30)
        for clients in (1, 4, 16):
            load = run_load("127.0.0.1", port, "/api/predict",
                            lambda c, n: stroke_bodies[(c * 7 + n) % len(stroke_bodies)],
                            clients, requests_per_client if clients == 1 else max(50, 800 // clients))
            results["predict_strokes"].append(load.summary())
        for clients in (1, 4):
            load = run_load("127.0.0.1", port, "/api/predict",
                            lambda c, n: image_bodies[(c + n) % len(image_bodies)], clients, 60)
            results["predict_image"].append(load.summary())
        load = run_load("127.0.0.1", port, "/api/drawings",
                        lambda c, n: contribution_bodies[(c * 13 + n) % len(contribution_bodies)], 16, 40,
                        ok_statuses=(201,))
        results["drawings_16_clients"] = {**load.summary(), "statuses": load.statuses}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/drawings/stats") as response:
            results["drawings_16_clients"]["stored_total"] = json.load(response)["total"]
    return results


def bench_baseline_server(keras_model: Path, requests_per_client: int = 15) -> dict:
    """The original endpoint: model re-loaded and ``model.predict`` on every request."""
    drawings = sample_drawings()
    bodies = [urlencode({"image": canvas_png_data_url(strokes)}).encode() for _, strokes in drawings[:30]]
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.baseline_app", str(keras_model), str(port)]
    results = []
    with _baseline(command, port):
        for clients in (1, 4):
            load = run_load("127.0.0.1", port, "/predict", lambda c, n: bodies[(c + n) % len(bodies)], clients,
                            requests_per_client, content_type="application/x-www-form-urlencoded")
            results.append(load.summary())
    return {"predict_image": results}


@contextlib.contextmanager
def _baseline(command: list[str], port: int) -> Iterator[None]:
    """Start the baseline, which has no health route, and wait until its port accepts connections."""
    with _process(command):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        yield
