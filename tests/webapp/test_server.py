"""The production server for real: ``python -m webapp.serve`` (waitress) in its own process.

Concurrent clients must neither lose nor duplicate a contribution, and a server killed
with SIGKILL mid-burst must keep every contribution it acknowledged with 201.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from webapp_support import CROSS, REPO_ROOT, SQUARE, ZIGZAG, write_web_model
from PIL import Image

from training.categories import DEFAULT_CATEGORIES
from webapp import db as database
from webapp import store

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CLIENTS = 20
CONTRIBUTIONS_PER_CLIENT = 50
STARTUP_TIMEOUT_SECONDS = 120
KILL_AFTER_ACKNOWLEDGED = 150
SHAPES = [SQUARE, CROSS, ZIGZAG]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A ``python -m webapp.serve`` process and where it listens."""

    process: subprocess.Popen
    port: int
    log: Path

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: status, headers and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers={"Content-Type": content_type} if body else {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, path: str) -> dict:
        """GET a JSON document."""
        status, _, body = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)


def start_server(environment: dict[str, str], log: Path) -> Server:
    """Start the server and wait until /api/health answers (or the process dies)."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp.serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "8"],
            cwd=REPO_ROOT, env={**os.environ, **environment}, stdout=output, stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if server.request("GET", "/api/health")[0] == 200:
                return server
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"the server did not answer in {STARTUP_TIMEOUT_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    """Terminate the server, killing it if it does not stop."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's database and drawings folder, shared by the tests of this module."""
    return tmp_path_factory.mktemp("server-store")


@pytest.fixture(scope="module")
def environment(store_dir: Path, web_model) -> dict[str, str]:
    """FLASK_* variables pointing the server at the tiny model and the temporary store."""
    return {
        "FLASK_DATABASE": str(store_dir / "doodles.sqlite3"),
        "FLASK_DRAWINGS_DIR": str(store_dir / "drawings"),
        # The hosting convention's plain MODEL_DIR (python -m webapp.serve honours it like FLASK_MODEL_DIR).
        "MODEL_DIR": str(web_model.root),
        "FLASK_RATE_LIMIT": "0",
        "FLASK_SECRET_KEY": "server-tests",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


@pytest.fixture(scope="module")
def server(environment: dict[str, str], store_dir: Path) -> Iterator[Server]:
    """A running server; a test may kill it (the fixture then has nothing left to stop)."""
    running = start_server(environment, store_dir / "server.log")
    yield running
    stop_server(running)


@dataclass
class Burst:
    """What concurrent clients sent and what the server acknowledged."""

    acknowledged: dict[int, str] = field(default_factory=dict)  # id -> label
    statuses: Counter = field(default_factory=Counter)
    failures: int = 0
    seconds: float = 0.0


def contribute_concurrently(port: int, clients: int, per_client: int,
                            stop: threading.Event | None = None) -> Burst:
    """Each client posts drawings on its own keep-alive connection; returns the acknowledgements."""
    burst = Burst()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    duplicates: list[int] = []

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        for number in range(per_client):
            if stop is not None and stop.is_set():
                break
            label = DEFAULT_CATEGORIES[(index + number) % len(DEFAULT_CATEGORIES)]
            body = json.dumps({"label": label, "strokes": SHAPES[(index * 7 + number) % len(SHAPES)]})
            try:
                connection.request("POST", "/api/drawings", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    burst.failures += 1
                if stop is not None:
                    break  # The server was killed: this request's fate is unknown, as for a real client.
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            with lock:
                burst.statuses[response.status] += 1
                if response.status == 201:
                    drawing_id = json.loads(answer)["id"]
                    if drawing_id in burst.acknowledged:
                        duplicates.append(drawing_id)
                    burst.acknowledged[drawing_id] = label
        connection.close()

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300)
    burst.seconds = time.perf_counter() - started
    assert duplicates == [], f"ids acknowledged twice: {duplicates[:10]}"
    return burst


def stored_rows(database_path: str) -> dict[int, sqlite3.Row]:
    """Every row of the drawings table, by id, read straight from the file."""
    with contextlib.closing(sqlite3.connect(database_path)) as connection:
        connection.row_factory = sqlite3.Row
        return {row["id"]: row for row in connection.execute("SELECT * FROM drawing")}


def assert_readable(drawings_dir: Path, row: sqlite3.Row) -> None:
    """A stored contribution's files exist and parse: the strokes JSON and the 28x28 PNG."""
    record = json.loads((drawings_dir / row["strokes_path"]).read_text())
    assert record["word"] == row["label"]
    assert len(record["drawing"]) == row["n_strokes"]
    with Image.open(drawings_dir / row["bitmap_path"]) as bitmap:
        bitmap.load()
        assert bitmap.size == (28, 28)


def drawing_files(drawings_dir: Path) -> list[str]:
    """Every file under the drawings folder, relative to it."""
    return sorted(path.relative_to(drawings_dir).as_posix() for path in drawings_dir.rglob("*") if path.is_file())


def test_concurrent_contributions_are_all_stored_exactly_once(server, environment, capsys):
    """1,000 contributions from 20 keep-alive clients: stats, rows and files agree, none lost or doubled."""
    before = server.json("/api/drawings/stats")["total"]
    burst = contribute_concurrently(server.port, CLIENTS, CONTRIBUTIONS_PER_CLIENT)
    sent = CLIENTS * CONTRIBUTIONS_PER_CLIENT
    with capsys.disabled():
        print(f"\n{sent} contributions from {CLIENTS} clients in {burst.seconds:.1f} s "
              f"({sent / burst.seconds:.0f}/s) against waitress with 8 threads")
    assert burst.failures == 0
    assert burst.statuses == {201: sent}
    assert len(burst.acknowledged) == sent

    stats = server.json("/api/drawings/stats")
    rows = stored_rows(environment["FLASK_DATABASE"])
    drawings_dir = Path(environment["FLASK_DRAWINGS_DIR"])
    assert stats["total"] == before + sent == len(rows)
    assert set(burst.acknowledged) <= set(rows)
    assert stats["by_label"] == dict(Counter(row["label"] for row in rows.values()))
    for drawing_id, label in burst.acknowledged.items():
        assert rows[drawing_id]["label"] == label
        assert rows[drawing_id]["guess"] in DEFAULT_CATEGORIES
    referenced = sorted(path for row in rows.values() for path in (row["strokes_path"], row["bitmap_path"]))
    assert drawing_files(drawings_dir) == referenced  # No orphan, no missing file.
    for row in rows.values():
        assert_readable(drawings_dir, row)
    assert server.json("/api/health")["drawings"] == len(rows)


def test_oversized_bodies_are_refused_and_the_server_carries_on(server):
    """A body over the limit gets a JSON 413; one far over is cut off by waitress itself; both leave it healthy."""
    status, headers, body = server.request("POST", "/api/drawings", b"[" * (1024 * 1024 + 10))
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert "too large" in json.loads(body)["error"]
    # Declare 20 MB and send none of it: waitress refuses from the header alone, buffering nothing.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/drawings")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(20 * 1024 * 1024))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    assert server.json("/api/health")["status"] == "ok"


def test_served_headers_and_wasm_type(server):
    """Through waitress too: security headers on answers, .wasm served as application/wasm."""
    status, headers, _ = server.request("GET", "/contribute")
    assert status == 200
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    wasm = sorted((REPO_ROOT / "webapp" / "static" / "vendor").glob("*.wasm"))
    if wasm:
        status, headers, _ = server.request("GET", f"/static/vendor/{wasm[0].name}")
        assert (status, headers["Content-Type"]) == (200, "application/wasm")


def test_killed_server_keeps_every_acknowledged_contribution(server, environment, store_dir, capsys):
    """SIGKILL mid-burst, restart: every 201 is stored and readable; after a sweep files and rows agree exactly."""
    stop = threading.Event()
    result: dict[str, Burst] = {}
    sender = threading.Thread(
        target=lambda: result.update(burst=contribute_concurrently(server.port, CLIENTS, 10_000, stop)), daemon=True
    )
    sender.start()
    deadline = time.monotonic() + 60
    database_path = environment["FLASK_DATABASE"]
    baseline = len(stored_rows(database_path))
    while len(stored_rows(database_path)) < baseline + KILL_AFTER_ACKNOWLEDGED and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    stop.set()
    sender.join(timeout=120)
    burst = result["burst"]
    assert len(burst.acknowledged) >= KILL_AFTER_ACKNOWLEDGED // 2, "the burst never got going"
    assert set(burst.statuses) == {201}

    restarted = start_server(environment, store_dir / "restarted.log")
    try:
        rows = stored_rows(database_path)
        drawings_dir = Path(environment["FLASK_DRAWINGS_DIR"])
        missing = set(burst.acknowledged) - set(rows)
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        for drawing_id, label in burst.acknowledged.items():
            assert rows[drawing_id]["label"] == label
        for row in rows.values():  # Acknowledged or not, every row that exists is complete.
            assert_readable(drawings_dir, row)
        # Requests in flight at the kill may have committed unacknowledged: at most one per client.
        unacknowledged = len(rows) - baseline - len(burst.acknowledged)
        assert unacknowledged <= CLIENTS
        with capsys.disabled():
            print(f"\nSIGKILL after {len(burst.acknowledged)} acknowledged contributions: all stored; "
                  f"{unacknowledged} committed without an answer; {burst.failures} requests cut off")
        assert restarted.json("/api/drawings/stats")["total"] == len(rows)
        assert restarted.json("/api/health")["drawings"] == len(rows)

        # Files of requests cut off before their commit are orphans; the sweep removes exactly those.
        with contextlib.closing(database.connect(database_path, 10_000)) as connection:
            store.sweep_orphans(connection, drawings_dir, min_age_seconds=0)
        referenced = sorted(path for row in rows.values() for path in (row["strokes_path"], row["bitmap_path"]))
        assert drawing_files(drawings_dir) == referenced
    finally:
        stop_server(restarted)


def test_server_refuses_to_start_with_inconsistent_metadata(environment, web_model, tmp_path):
    """python -m webapp.serve exits 1 with one clear line when metadata.json does not match the code."""
    broken = write_web_model(tmp_path / "served", web_model.keras_model, categories=["cat", "dog"])
    result = subprocess.run(
        [sys.executable, "-m", "webapp.serve", "--port", str(free_port())],
        cwd=REPO_ROOT, env={**os.environ, **environment, "MODEL_DIR": str(broken.root)},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "Cannot start" in result.stderr
    assert "outputs" in result.stderr
    assert "Traceback" not in result.stderr
