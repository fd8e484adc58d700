"""A real ``python -m webapp.serve`` process for tests: start it, talk to it, stop it.

Shared by the reliability tests (tests/webapp/test_server.py) and the retraining loop's
end-to-end test (tests/browser/test_retrain_loop.py). ``tests/`` holds the root conftest.py,
so pytest puts this folder on ``sys.path`` and every test folder can import this module.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from webapp.store.throwaway import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_SECONDS = 120


@dataclass
class Server:
    """A ``python -m webapp.serve`` process and where it listens."""

    process: subprocess.Popen
    port: int
    log: Path
    request_timeout: float = 30.0

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json",
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: status, headers (as sent) and the raw body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.request_timeout)
        try:
            sent = {"Content-Type": content_type} if body else {}
            connection.request(method, path, body=body, headers={**sent, **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def call(self, method: str, path: str, payload: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        """One JSON request: status, headers (lower-case names) and the body, decoded when it is JSON."""
        body = None if payload is None else json.dumps(payload).encode()
        status, answer_headers, raw = self.request(method, path, body, headers=headers)
        lowered = {name.lower(): value for name, value in answer_headers.items()}
        answer = json.loads(raw) if raw and "json" in lowered.get("content-type", "") else raw
        return status, lowered, answer

    def json(self, path: str) -> dict:
        """GET a JSON document."""
        status, _, body = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)


def start_server(environment: dict[str, str], log: Path, threads: int = 8, request_timeout: float = 30.0) -> Server:
    """Start the server and wait until /api/health answers (or the process dies)."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp.serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
            cwd=REPO_ROOT, env={**os.environ, **environment}, stdout=output, stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log, request_timeout)
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
