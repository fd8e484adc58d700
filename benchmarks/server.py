"""Server figures: /api/predict latency and throughput, /api/drawings throughput per store, and the baseline.

Both servers run as separate processes on loopback with waitress, the product's production
server; the load generator shares the same 2 cores, so throughput is a lower bound.
``bench_contributions`` compares the stores side by side: SQLite and PostgreSQL (a
throwaway cluster with durable settings: fsync and synchronous_commit on), one and two app
servers, plus the bytes a stored drawing takes and the model a player downloads.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

from benchmarks.fixtures import REPO, canvas_png_data_url, sample_drawings
from benchmarks.load import json_body, run_load, timed_together
from webapp.store.throwaway import free_port

CONTRIBUTION_CLIENTS = 16
CONTRIBUTIONS_PER_CLIENT = 60


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


@contextlib.contextmanager
def app_servers(count: int, env: dict[str, str]) -> Iterator[list[int]]:
    """``count`` app servers on free ports sharing the store ``env`` names; yields their ports."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            port = free_port()
            command = [sys.executable, "-m", "webapp.serve", "--host", "127.0.0.1", "--port", str(port)]
            stack.enter_context(running(command, f"http://127.0.0.1:{port}/api/health", env))
            ports.append(port)
        yield ports


def served_model_bytes() -> dict:
    """What a player downloads once for the model: model.json and its weight shards (metadata.json beside)."""
    served = REPO / "served" / "accessories"
    if (served / "CURRENT").is_file():
        folder = served / (served / "CURRENT").read_text().strip()
    else:
        folder = REPO / "webapp" / "static" / "model"
    files = [path for path in folder.iterdir() if path.suffix in (".json", ".bin")]
    return {"folder": str(folder.relative_to(REPO)), "bytes": sum(path.stat().st_size for path in files),
            "files": sorted(path.name for path in files)}


def _postgres_sizes(url: str) -> dict:
    """Bytes per stored drawing on PostgreSQL: the table with its indexes and TOAST, and the average row."""
    import psycopg

    with psycopg.connect(url) as connection:
        count, total, row = connection.execute(
            "SELECT COUNT(*), pg_total_relation_size('drawing'), AVG(pg_column_size(drawing.*)) FROM drawing"
        ).fetchone()
    return {"drawings": count, "bytes_per_drawing_on_disk": round(total / count), "bytes_per_row": round(float(row))}


def _sqlite_sizes(path: Path) -> dict:
    """Bytes per stored drawing in SQLite: the file (after a checkpoint) over the rows, and the average row's data."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count, row = connection.execute(
            "SELECT COUNT(*), AVG(LENGTH(strokes) + LENGTH(bitmap) + COALESCE(LENGTH(image), 0) + 100) FROM drawing"
        ).fetchone()
    return {"drawings": count, "bytes_per_drawing_on_disk": round(path.stat().st_size / count),
            "bytes_per_row": round(row)}


def store_inserts(store_config: dict, threads: int = 8, per_thread: int = 150) -> dict:
    """Drawings/s the store alone takes (no HTTP, no model): ``threads`` writers calling add_drawings in one process."""
    import numpy as np

    from webapp.store import Contribution, open_store
    from webapp.validation import strokes_bitmap

    drawings = sample_drawings()
    contributions = []
    for label, strokes in drawings[:50]:
        arrays = [np.array([stroke[0], stroke[1]], dtype=np.float64).T for stroke in strokes]
        contributions.append(Contribution(label=label, strokes=arrays, bitmap=strokes_bitmap(arrays), guess=label,
                                          guess_probability=0.9, model_version="bench", model_set="accessories"))
    store = open_store(store_config)
    store.migrate()

    def write(index: int, ready: Callable[[], object]) -> None:
        ready()
        for number in range(per_thread):
            store.add_drawings([contributions[(index * 7 + number) % len(contributions)]])

    seconds = timed_together(write, threads)
    store.close()
    return {"threads": threads, "drawings": threads * per_thread,
            "drawings_per_second": round(threads * per_thread / seconds, 1)}


def bench_contributions(clients: int = CONTRIBUTION_CLIENTS, per_client: int = CONTRIBUTIONS_PER_CLIENT) -> dict:
    """/api/drawings throughput on SQLite and PostgreSQL with one and two app servers, and storage figures."""
    from webapp.store.throwaway import ThrowawayCluster

    drawings = sample_drawings()
    bodies = [json_body({"label": label, "strokes": strokes}) for label, strokes in drawings]
    rows = []
    sizes = {}
    cluster = ThrowawayCluster(fast=False)
    try:
        for store in ("sqlite", "postgresql"):
            for servers in (1, 2):
                with tempfile.TemporaryDirectory() as folder:
                    env = {"FLASK_RATE_LIMIT": "0", "FLASK_SECRET_KEY": "bench", "TF_CPP_MIN_LOG_LEVEL": "2",
                           "FLASK_DATABASE": str(Path(folder) / "drawings.sqlite3"), "FLASK_DATABASE_URL": ""}
                    if store == "postgresql":
                        env["FLASK_DATABASE_URL"] = cluster.create_database(f"bench_{servers}")
                    with app_servers(servers, env) as ports:
                        # Warm up every server's model and connections; not timed.
                        run_load("127.0.0.1", ports, "/api/drawings", lambda c, n: bodies[n % len(bodies)],
                                 2 * servers, 5, ok_statuses=(201,))
                        load = run_load("127.0.0.1", ports, "/api/drawings",
                                        lambda c, n: bodies[(c * 13 + n) % len(bodies)], clients, per_client,
                                        ok_statuses=(201,))
                    rows.append({"store": store, "servers": servers, **load.summary(), "statuses": load.statuses})
                    print(f"  {store}, {servers} server(s): {rows[-1]['requests_per_second']} contributions/s",
                          flush=True)
                    if servers == 2:
                        sizes[store] = (_postgres_sizes(env["FLASK_DATABASE_URL"]) if store == "postgresql"
                                        else _sqlite_sizes(Path(env["FLASK_DATABASE"])))
        with tempfile.TemporaryDirectory() as folder:
            store_only = {
                "sqlite": store_inserts({"DATABASE": str(Path(folder) / "inserts.sqlite3")}),
                "postgresql": store_inserts({"DATABASE_URL": cluster.create_database("inserts")}),
            }
        print(f"  store alone: {store_only}", flush=True)
    finally:
        cluster.destroy()
    return {"contributions": rows, "store_only": store_only, "storage": sizes, "model_download": served_model_bytes(),
            "clients": clients, "per_client": per_client}
