"""The contribution rate limit: a fixed window per client address, counted in the store, 429 with Retry-After."""

from __future__ import annotations

import pytest
from conftest import BACKENDS
from webapp_support import CROSS, SQUARE, store_snapshot

from webapp.security import RateLimiter, retry_after_seconds
from webapp.store import get_store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


def test_limit_answers_429_with_retry_after(make_app):
    """The request past the limit is refused with 429, a JSON error and Retry-After; nothing is stored."""
    app = make_app(RATE_LIMIT=3)
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}).status_code == 201
    before = store_snapshot(app)
    response = client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE})
    assert response.status_code == 429
    assert response.get_json()["error"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert store_snapshot(app) == before
    # Other clients and other endpoints are not limited.
    other = client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE},
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 201
    assert client.post("/api/predict", json={"strokes": SQUARE}).status_code == 200


def test_invalid_attempts_count_too(make_app):
    """Refused requests use up the allowance: a flood of junk is limited like a flood of drawings."""
    app = make_app(RATE_LIMIT=2)
    client = app.test_client()
    for _ in range(2):
        assert client.post("/api/drawings", json={"label": "nope", "strokes": SQUARE}).status_code == 400
    assert client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}).status_code == 429


def test_zero_turns_the_limit_off(make_app):
    """RATE_LIMIT=0 (what benchmarks use) never answers 429."""
    client = make_app(RATE_LIMIT=0).test_client()
    statuses = {client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}).status_code for _ in range(40)}
    assert statuses == {201}


def test_proxy_addresses_are_used_only_when_trusted(make_app):
    """Behind a trusted proxy each forwarded client has its own allowance; otherwise the header is ignored."""
    headers = [{"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}]
    direct = make_app(RATE_LIMIT=1).test_client()
    assert [direct.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}, headers=header).status_code
            for header in headers] == [201, 429]
    proxied = make_app(RATE_LIMIT=1, TRUSTED_PROXIES=1).test_client()
    assert [proxied.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}, headers=header).status_code
            for header in headers] == [201, 201]


def test_a_batch_is_one_hit(make_app):
    """A game's donation of six drawings uses one of the client's contributions, not six."""
    client = make_app(RATE_LIMIT=2).test_client()
    batch = {"drawings": [{"label": "sock", "strokes": SQUARE}] * 6}
    assert client.post("/api/drawings", json=batch).status_code == 201
    assert client.post("/api/drawings", json=batch).status_code == 201
    assert client.post("/api/drawings", json=batch).status_code == 429


def test_the_limit_holds_across_app_servers(make_app):
    """Two apps on one store (two servers behind a balancer) share each client's allowance."""
    first = make_app(RATE_LIMIT=3).test_client()
    second = make_app(RATE_LIMIT=3).test_client()
    statuses = [client.post("/api/drawings", json={"label": "sock", "strokes": CROSS}).status_code
                for client in (first, second, first, second)]
    assert statuses == [201, 201, 201, 429]


def test_fixed_window_resets_at_its_end(make_app):
    """A window allows ``limit`` hits; Retry-After is the time to its end; the next window starts afresh."""
    store = get_store(make_app())
    now = [1000.0]  # Windows of 60 s start at 960, 1020, ...
    limiter = RateLimiter(store, limit=2, window=60, clock=lambda: now[0])
    assert limiter.hit("a") == 0
    now[0] += 10
    assert limiter.hit("a") == 0
    now[0] += 5
    assert limiter.hit("a") == 5  # The window 960-1020 ends in 5 s.
    assert limiter.hit("b") == 0
    now[0] = 1020.0
    assert limiter.hit("a") == 0
    assert limiter.hit("a") == 0
    assert limiter.hit("a") == 60
    assert retry_after_seconds(0.2) == 1 and retry_after_seconds(44.1) == 45
    with pytest.raises(ValueError):
        RateLimiter(store, limit=1, window=0.5)


def test_old_windows_are_forgotten(make_app):
    """The table stays small: once a window, rows of earlier windows are deleted."""
    store = get_store(make_app())
    now = [0.0]
    limiter = RateLimiter(store, limit=5, window=60, clock=lambda: now[0])
    for client in range(50):
        limiter.hit(f"client-{client}")
    now[0] = 200.0
    limiter.hit("late")
    with store.reading() as connection:
        rows = store._execute(connection, "SELECT client FROM rate_limit").fetchall()
    assert [row["client"] for row in rows] == ["late"]
