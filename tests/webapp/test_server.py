"""The production server for real: ``python -m webapp.serve`` (waitress) in its own process.

Concurrent clients must neither lose nor duplicate a contribution, and a server killed
with SIGKILL mid-burst must keep every contribution it acknowledged with 201. On SQLite one
server; on PostgreSQL two servers on different ports share one database (a throwaway
cluster of this module), and the database itself is stopped mid-burst and restarted.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from server_process import Server, free_port, start_server, stop_server
from webapp_support import CROSS, REPO_ROOT, SQUARE, ZIGZAG, write_web_model

from training.categories import DEFAULT_CATEGORIES
from webapp.store import open_store
from webapp.store.throwaway import ThrowawayCluster

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CLIENTS = 20
CONTRIBUTIONS_PER_CLIENT = 50
KILL_AFTER_ACKNOWLEDGED = 150
SHAPES = [SQUARE, CROSS, ZIGZAG]


def stored_rows(environment: dict[str, str]) -> dict[int, dict]:
    """Every stored drawing, by id, read through a store of its own (as another process would)."""
    store = open_store({"DATABASE_URL": environment.get("FLASK_DATABASE_URL"),
                        "DATABASE": environment.get("FLASK_DATABASE", "")})
    try:
        return {drawing["id"]: drawing for drawing in store.drawings(status=None)}
    finally:
        store.close()


def assert_readable(drawing: dict) -> None:
    """A stored contribution is whole: its strokes and its 28x28 PNG."""
    assert drawing["strokes"] and len(drawing["strokes"]) == drawing["n_strokes"]
    with Image.open(io.BytesIO(drawing["png"])) as bitmap:
        bitmap.load()
        assert bitmap.size == (28, 28)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's database and drawings folder, shared by the tests of this module."""
    return tmp_path_factory.mktemp("server-store")


@pytest.fixture(scope="module")
def environment(store_dir: Path, web_model) -> dict[str, str]:
    """FLASK_* variables pointing the server at the tiny model and the temporary store."""
    return {
        "FLASK_DATABASE": str(store_dir / "doodles.sqlite3"),
        "FLASK_DATABASE_URL": "",
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
    """What concurrent clients sent and what the servers acknowledged."""

    acknowledged: dict[int, str] = field(default_factory=dict)  # id -> label
    statuses: Counter = field(default_factory=Counter)
    failures: int = 0
    seconds: float = 0.0
    refusals: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # Headers and body of non-201s.
    last_status: dict[int, int] = field(default_factory=dict)  # Port -> the status of its latest answer.


def contribute_concurrently(ports: list[int], clients: int, per_client: int,
                            stop: threading.Event | None = None, pause: float = 0.0) -> Burst:
    """Client i posts drawings to ports[i % len(ports)] on its own keep-alive connection; returns the acknowledgements.

    With ``stop``, a client whose connection breaks gives up (its server was killed); a
    refused contribution (503) is not retried, as a client would show an error.
    """
    burst = Burst()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    duplicates: list[int] = []

    def client(index: int) -> None:
        port = ports[index % len(ports)]
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
                burst.last_status[port] = response.status
                if response.status == 201:
                    drawing_id = json.loads(answer)["id"]
                    if drawing_id in burst.acknowledged:
                        duplicates.append(drawing_id)
                    burst.acknowledged[drawing_id] = label
                elif len(burst.refusals) < 50:
                    burst.refusals.append((dict(response.getheaders()), answer))
            if pause:
                time.sleep(pause)
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


def assert_all_stored_once(servers: list[Server], environment: dict[str, str], before: int, sent: int,
                           burst: Burst) -> None:
    """Every acknowledged contribution is stored once with its label, and every server counts them all."""
    assert burst.failures == 0
    assert burst.statuses == {201: sent}
    assert len(burst.acknowledged) == sent
    rows = stored_rows(environment)
    assert len(rows) == before + sent
    assert set(burst.acknowledged) <= set(rows)
    for drawing_id, label in burst.acknowledged.items():
        assert rows[drawing_id]["label"] == label
        assert rows[drawing_id]["guess"] in DEFAULT_CATEGORIES
        assert_readable(rows[drawing_id])
    for server in servers:
        stats = server.json("/api/drawings/stats")
        assert stats["total"] == len(rows)
        assert stats["by_label"] == {category: 0 for category in DEFAULT_CATEGORIES} | dict(
            Counter(row["label"] for row in rows.values()))
        assert server.json("/api/health")["drawings"] == len(rows)


def start_background_burst(ports: list[int], stop: threading.Event, pause: float = 0.0) -> tuple[threading.Thread, dict]:
    """Start clients that send until ``stop``; the Burst lands in the returned dict under "burst"."""
    result: dict[str, Burst] = {}
    sender = threading.Thread(
        target=lambda: result.update(burst=contribute_concurrently(ports, CLIENTS, 10_000, stop, pause)), daemon=True
    )
    sender.start()
    return sender, result


def wait_for_rows(environment: dict[str, str], count: int, timeout: float = 60) -> None:
    """Wait until the store holds at least ``count`` drawings."""
    deadline = time.monotonic() + timeout
    while len(stored_rows(environment)) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def test_concurrent_contributions_are_all_stored_exactly_once(server, environment, capsys):
    """1,000 contributions from 20 keep-alive clients: stats and rows agree, none lost or doubled."""
    before = server.json("/api/drawings/stats")["total"]
    burst = contribute_concurrently([server.port], CLIENTS, CONTRIBUTIONS_PER_CLIENT)
    sent = CLIENTS * CONTRIBUTIONS_PER_CLIENT
    with capsys.disabled():
        print(f"\n{sent} contributions from {CLIENTS} clients in {burst.seconds:.1f} s "
              f"({sent / burst.seconds:.0f}/s) against waitress with 8 threads on SQLite")
    assert_all_stored_once([server], environment, before, sent, burst)


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


def check_kill(killed: Server, survivors: list[Server], ports: list[int], environment: dict[str, str],
               capsys: pytest.CaptureFixture) -> None:
    """SIGKILL ``killed`` mid-burst: every 201 is stored whole; the survivors count every row."""
    baseline = len(stored_rows(environment))
    stop = threading.Event()
    sender, result = start_background_burst(ports, stop)
    wait_for_rows(environment, baseline + KILL_AFTER_ACKNOWLEDGED)
    killed.process.send_signal(signal.SIGKILL)
    killed.process.wait()
    time.sleep(0.5)  # Let the survivors' clients go on a moment past the kill.
    stop.set()
    sender.join(timeout=120)
    burst = result["burst"]
    assert len(burst.acknowledged) >= KILL_AFTER_ACKNOWLEDGED // 2, "the burst never got going"
    assert set(burst.statuses) == {201}
    rows = stored_rows(environment)
    missing = set(burst.acknowledged) - set(rows)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
    for drawing_id, label in burst.acknowledged.items():
        assert rows[drawing_id]["label"] == label
    for row in rows.values():  # Acknowledged or not, every row that exists is complete.
        assert_readable(row)
    # Requests in flight at the kill may have committed unacknowledged: at most one per client.
    unacknowledged = len(rows) - baseline - len(burst.acknowledged)
    assert 0 <= unacknowledged <= CLIENTS
    with capsys.disabled():
        print(f"\nSIGKILL after {len(burst.acknowledged)} acknowledged contributions: all stored; "
              f"{unacknowledged} committed without an answer; {burst.failures} requests cut off")
    for survivor in survivors:
        assert survivor.json("/api/drawings/stats")["total"] == len(rows)
        assert survivor.json("/api/health")["drawings"] == len(rows)


def test_killed_server_keeps_every_acknowledged_contribution(server, environment, store_dir, capsys):
    """SQLite: SIGKILL mid-burst, restart: every 201 is stored and readable, and counted."""
    check_kill(server, [], [server.port], environment, capsys)
    restarted = start_server(environment, store_dir / "restarted.log")
    try:
        assert restarted.json("/api/drawings/stats")["total"] == len(stored_rows(environment))
        assert restarted.json("/api/health")["drawings"] == len(stored_rows(environment))
    finally:
        stop_server(restarted)


# PostgreSQL: two app servers, one database.

@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayCluster]:
    """This module's own cluster: a test stops and restarts it."""
    cluster = ThrowawayCluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def postgres_environment(environment: dict[str, str], postgres: ThrowawayCluster) -> dict[str, str]:
    """The servers' variables with DATABASE_URL set; a short pool timeout so an outage answers 503 quickly."""
    return {**environment, "FLASK_DATABASE_URL": postgres.create_database("servers"),
            "FLASK_DATABASE_TIMEOUT": "1"}


@pytest.fixture(scope="module")
def two_servers(postgres_environment: dict[str, str], store_dir: Path) -> Iterator[list[Server]]:
    """Two app servers on different ports sharing the PostgreSQL database."""
    servers = [start_server(postgres_environment, store_dir / f"postgres-{number}.log") for number in (1, 2)]
    yield servers
    for running in servers:
        stop_server(running)


def test_two_servers_on_postgres_store_every_contribution_once(two_servers, postgres_environment, capsys):
    """1,000 contributions from 20 clients spread over two servers: each stored once, both count them all."""
    before = len(stored_rows(postgres_environment))
    burst = contribute_concurrently([server.port for server in two_servers], CLIENTS, CONTRIBUTIONS_PER_CLIENT)
    sent = CLIENTS * CONTRIBUTIONS_PER_CLIENT
    with capsys.disabled():
        print(f"\n{sent} contributions from {CLIENTS} clients in {burst.seconds:.1f} s "
              f"({sent / burst.seconds:.0f}/s) against two waitress servers on one PostgreSQL")
    assert_all_stored_once(two_servers, postgres_environment, before, sent, burst)


def test_database_outage_answers_503_and_heals_itself(two_servers, postgres, postgres_environment, capsys):
    """PostgreSQL stopped mid-burst: 503 JSON with Retry-After, nothing acknowledged lost, 201s again once it is back."""
    ports = [server.port for server in two_servers]
    baseline = len(stored_rows(postgres_environment))
    stop = threading.Event()
    sender, result = start_background_burst(ports, stop, pause=0.05)
    wait_for_rows(postgres_environment, baseline + 100)
    postgres.stop("fast")
    outage_started = time.monotonic()
    for server in two_servers:
        status, headers, body = server.request("GET", "/api/health")
        assert status == 503 and "Retry-After" in headers and json.loads(body)["error"]
    time.sleep(2)
    postgres.start()
    restarted = time.monotonic()
    # Back by itself: both servers acknowledge contributions again, with no restart of theirs.
    deadline = restarted + 60
    healed: dict[int, float] = {}
    while len(healed) < len(two_servers) and time.monotonic() < deadline:
        for server in two_servers:
            if server.port not in healed and server.request("GET", "/api/health")[0] == 200:
                healed[server.port] = time.monotonic() - restarted
        time.sleep(0.2)
    time.sleep(1)  # Let the clients land a few more contributions after the recovery.
    stop.set()
    sender.join(timeout=120)
    burst = result["burst"]
    assert len(healed) == len(two_servers), "a server did not recover after the database came back"
    assert set(burst.statuses) <= {201, 503}
    assert burst.statuses[503] > 0, "no request met the outage"
    assert all(status == 201 for status in burst.last_status.values())
    for headers, body in burst.refusals:
        assert int(headers["Retry-After"]) >= 1
        assert headers["Content-Type"] == "application/json" and json.loads(body)["error"]
    rows = stored_rows(postgres_environment)
    missing = set(burst.acknowledged) - set(rows)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
    for drawing_id, label in burst.acknowledged.items():
        assert rows[drawing_id]["label"] == label
    with capsys.disabled():
        print(f"\nPostgreSQL down {restarted - outage_started:.1f} s: {burst.statuses[503]} answers 503, "
              f"{len(burst.acknowledged)} acknowledged, all stored; servers healed "
              f"{max(healed.values()):.1f} s after the restart")


def test_killed_server_on_postgres_loses_nothing_acknowledged(two_servers, postgres_environment, capsys):
    """SIGKILL one of the two servers mid-burst: every 201 from either is stored; the other counts them all."""
    check_kill(two_servers[0], [two_servers[1]], [server.port for server in two_servers], postgres_environment,
               capsys)


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


def test_server_refuses_to_start_without_its_database(environment):
    """An unreachable PostgreSQL at start is one clear line and exit 1, after DATABASE_TIMEOUT, not a hang."""
    result = subprocess.run(
        [sys.executable, "-m", "webapp.serve", "--port", str(free_port())],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, **environment, "FLASK_DATABASE_TIMEOUT": "1",
             "FLASK_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"},
    )
    assert result.returncode == 1
    assert "Cannot start" in result.stderr
    assert "Traceback" not in result.stderr
