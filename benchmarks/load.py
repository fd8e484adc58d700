"""A bounded loopback load generator: N clients, each with its own keep-alive connection."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """Latencies of every request and how the run went."""

    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def summary(self) -> dict[str, float | int]:
        """p50/p95 latency, throughput and error count, the figures the report shows."""
        ordered = sorted(self.latencies_ms)
        count = len(ordered)
        return {
            "clients": self.clients,
            "requests": count,
            "errors": self.errors,
            "p50_ms": round(statistics.median(ordered), 3) if ordered else float("nan"),
            "p95_ms": round(ordered[min(count - 1, int(0.95 * count))], 3) if ordered else float("nan"),
            "requests_per_second": round(count / self.wall_seconds, 1) if self.wall_seconds else 0.0,
        }


def timed_together(work: Callable[[int, Callable[[], object]], None], count: int) -> float:
    """Run ``work(index, ready)`` on ``count`` threads; return the seconds from the common start to the last end.

    Each thread does its own setup (opens a connection, say), then calls ``ready()``; the clock
    starts once every thread is ready, so setup is not timed.
    """
    barrier = threading.Barrier(count + 1)
    threads = [threading.Thread(target=work, args=(index, barrier.wait), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_load(
    host: str,
    port: int | Sequence[int],
    path: str,
    make_body: Callable[[int, int], bytes],
    clients: int,
    requests_per_client: int,
    content_type: str = "application/json",
    ok_statuses: tuple[int, ...] = (200, 201),
    deadline_seconds: float = 120.0,
) -> LoadResult:
    """Send ``clients * requests_per_client`` POSTs from concurrent threads; stop at the deadline.

    With several ports (app servers behind a balancer), client i talks to ``port[i % len(port)]``.
    """
    ports = [port] if isinstance(port, int) else list(port)
    result = LoadResult(clients=clients)
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_seconds

    def client(index: int, ready: Callable[[], object]) -> None:
        port = ports[index % len(ports)]
        connection = http.client.HTTPConnection(host, port, timeout=30)
        local: list[float] = []
        errors = 0
        statuses: dict[int, int] = {}
        ready()
        for number in range(requests_per_client):
            if time.monotonic() > stop_at:
                break
            body = make_body(index, number)
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers={"Content-Type": content_type})
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=30)
                errors += 1
                continue
            local.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status not in ok_statuses:
                errors += 1
        connection.close()
        with lock:
            result.latencies_ms.extend(local)
            result.errors += errors
            for status, seen in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + seen

    result.wall_seconds = timed_together(client, clients)
    return result


def json_body(payload: dict) -> bytes:
    """Encode a JSON request body once, outside the timed section."""
    return json.dumps(payload).encode()
