"""Response headers (CSP, caching) and the per-client rate limit on contributions, shared by all app servers.

The Content-Security-Policy allows exactly what the pages use: scripts, styles, the model
and TF.js's WebAssembly from this origin (``'wasm-unsafe-eval'`` compiles WebAssembly, it
does not allow ``eval``), canvas images as data: or blob: URLs, and nothing framed, posted
or connected elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, request

from webapp.store import Store, get_store

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

# Caching (docs/api.md explains the choice). TF.js in vendor/ changes only when the pinned
# package is upgraded, so browsers may keep it a day. The model's file names do not carry
# its version, so model files, like the pages and the app's own scripts, are revalidated on
# every use: a 304 costs one round trip and a re-exported model is never mixed with a stale one.
VENDOR_CACHE_CONTROL = "public, max-age=86400"
REVALIDATE_CACHE_CONTROL = "no-cache"
API_CACHE_CONTROL = "no-store"


def cache_control_for(path: str, static_url_path: str) -> str:
    """The Cache-Control value for a response to ``path``."""
    if path.startswith(f"{static_url_path}/vendor/"):
        return VENDOR_CACHE_CONTROL
    if path.startswith("/api/"):
        return API_CACHE_CONTROL
    return REVALIDATE_CACHE_CONTROL


def add_headers(response: Response) -> Response:
    """Add the security headers and a Cache-Control to every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Cache-Control"] = cache_control_for(request.path, current_app.static_url_path)
    return response


class RateLimiter:
    """At most ``limit`` contributions per client per fixed window of ``window`` seconds, counted in the store.

    Why in the database, and why a fixed window: the limit must hold across every app
    server, and the store is the one thing they already share (no Redis to run). A hit is
    one atomic statement (insert the client's window row or add one to it, returning the
    count), so concurrent servers never race in a read-then-write, and it costs one short
    transaction per contribution, the same order as storing the drawing itself. A sliding
    log would need a row per hit and a lock per client; the fixed window's price is that a
    client may fit up to twice the limit across a window boundary, which is fine for a
    flood guard. Keys are keyed hashes of the address (so every server needs the same
    SECRET_KEY), and windows older than the current one are deleted once per window.
    """

    def __init__(self, store: Store, limit: int, window: float, clock: Callable[[], float] = time.time) -> None:
        if window < 1:
            raise ValueError("RATE_LIMIT_WINDOW must be at least 1 second")
        self.store = store
        self.limit = limit
        self.window = int(window)
        self._clock = clock
        self._next_cleanup = 0.0

    def hit(self, key: str) -> float:
        """Record an event for ``key``; return 0 if allowed, else the seconds until the window ends."""
        now = self._clock()
        window_start = int(now // self.window) * self.window
        if now >= self._next_cleanup:
            # Every server may do this once a window; the DELETE is idempotent.
            self._next_cleanup = window_start + self.window
            self.store.forget_hits(window_start)
        hits = self.store.count_hit(key, window_start)
        if hits > self.limit:
            return window_start + self.window - now
        return 0.0


def retry_after_seconds(wait: float) -> int:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait))


def client_address() -> str:
    """The client's IP address (ProxyFix rewrites it when TRUSTED_PROXIES is set)."""
    return request.remote_addr or "unknown"


def client_hash(address: str, secret_key: str) -> str:
    """A keyed hash of the client's address: tells contributions from one client apart, but is not the address."""
    return hmac.new(secret_key.encode(), address.encode(), hashlib.sha256).hexdigest()[:16]


def init_app(app: Flask) -> None:
    """Add the headers to every response and create the contribution rate limiter (after the store)."""
    app.after_request(add_headers)
    limit = int(app.config["RATE_LIMIT"])
    app.extensions["doodles.rate_limiter"] = (
        RateLimiter(get_store(app), limit, float(app.config["RATE_LIMIT_WINDOW"])) if limit > 0 else None
    )
