"""The contribution rate limit: a sliding window per client address, 429 with Retry-After."""

from __future__ import annotations

from webapp_support import SQUARE, store_snapshot

from webapp.security import RateLimiter, retry_after_seconds


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


def test_sliding_window_frees_slots_as_they_age():
    """Each slot frees exactly one window after it was used; Retry-After says when."""
    now = [1000.0]
    limiter = RateLimiter(limit=2, window=60, clock=lambda: now[0])
    assert limiter.hit("a") == 0
    now[0] += 10
    assert limiter.hit("a") == 0
    now[0] += 5
    assert limiter.hit("a") == 45  # The first slot frees at 1060.
    assert limiter.hit("b") == 0
    now[0] = 1060.0
    assert limiter.hit("a") == 0
    assert limiter.hit("a") == 10  # The second slot (1010) frees at 1070.
    assert retry_after_seconds(0.2) == 1 and retry_after_seconds(44.1) == 45


def test_idle_clients_are_forgotten():
    """Memory stays bounded: clients idle for a whole window are dropped."""
    now = [0.0]
    limiter = RateLimiter(limit=5, window=60, clock=lambda: now[0])
    for client in range(1000):
        limiter.hit(f"client-{client}")
    now[0] = 200.0
    limiter.hit("late")
    assert set(limiter._events) == {"late"}
