"""Schemathesis against a real server: generated requests, valid and not, for every operation of the contract.

The server is ``python -m webapp.serve`` (waitress) in its own process, with the tiny model,
a SQLite store holding a few drawings, review on and its token sent with every request. No
answer may be a 5xx, every answer must match the contract (status, media type, headers,
body schema), and a refused request (4xx) must leave the stored drawings, reviews and
retry keys as they were. Failures it found became regular tests (test_review.py,
test_contract.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_process import Server, start_server, stop_server
from webapp_support import CROSS, SQUARE, ZIGZAG

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TOKEN = "fuzzing-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# Examples per operation and generation mode: the whole run stays within about two minutes
# on the 2-core development machine.
EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory, web_model) -> Iterator[Server]:
    """The server, with review on, no rate limits, and a few drawings (pending and approved) stored."""
    folder = tmp_path_factory.mktemp("fuzzed-server")
    environment = {
        "FLASK_DATABASE": str(folder / "doodles.sqlite3"),
        "FLASK_DATABASE_URL": "",
        "MODEL_DIR": str(web_model.root),
        "FLASK_RATE_LIMIT": "0",
        "FLASK_ADMIN_TOKEN": TOKEN,
        "FLASK_ADMIN_AUTH_FAILURE_LIMIT": "0",
        "FLASK_SECRET_KEY": "fuzzing-tests",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    server = start_server(environment, folder / "server.log", threads=4)
    try:
        for strokes in (SQUARE, CROSS, ZIGZAG, SQUARE):
            status, _, _ = server.call("POST", "/api/drawings", {"label": "sock", "strokes": strokes})
            assert status == 201
        status, _, _ = server.call("POST", "/api/review", {"ids": [1, 2], "status": "approved"}, headers=BEARER)
        assert status == 200
        yield server
    finally:
        stop_server(server)


def store_state(server: Server) -> tuple:
    """What a refused request must not change: every drawing's id and status, the reviews, the retry keys."""
    database = Path(server.log).parent / "doodles.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        drawings = connection.execute("SELECT id, status FROM drawing ORDER BY id").fetchall()
        reviews = connection.execute("SELECT count(*) FROM review").fetchone()
        keys = connection.execute("SELECT count(*) FROM idempotency_key").fetchone()
    connection.close()
    return drawings, reviews, keys


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: Server):
    """The contract, as the running server publishes it."""
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_the_server_keeps_its_contract(case, fuzzed_server):
    """No 5xx, every answer as documented, and nothing stored or changed by a refused request."""
    before = store_state(fuzzed_server)
    response = case.call_and_validate(headers=BEARER, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert store_state(fuzzed_server) == before, f"{case.method} {case.path} answered {response.status_code}"
