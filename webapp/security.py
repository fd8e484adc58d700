"""Response headers (CSP, caching) and the per-client rate limit on contributions.

The Content-Security-Policy allows exactly what the pages use: scripts, styles, the model
and TF.js's WebAssembly from this origin (``'wasm-unsafe-eval'`` compiles WebAssembly, it
does not allow ``eval``), canvas images as data: or blob: URLs, and nothing framed, posted
or connected elsewhere.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, request

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
# package is upgraded, so browsers may keep it a day. A model version's files sit under
# /models/<set>/<version>/ and never change, so they are cached for good; which version is
# current comes from /api/model, revalidated on every use (ETag = version, a 304 costs one
# round trip). Pages and the app's own scripts are revalidated too.
VENDOR_CACHE_CONTROL = "public, max-age=86400"
REVALIDATE_CACHE_CONTROL = "no-cache"
API_CACHE_CONTROL = "no-store"
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
MODEL_FILES_PREFIX = "/models/"
MODEL_METADATA_PATH = "/api/model"


def cache_control_for(path: str, static_url_path: str, status: int = 200) -> str:
    """The Cache-Control value for a response to ``path`` with ``status``."""
    if path.startswith(f"{static_url_path}/vendor/"):
        return VENDOR_CACHE_CONTROL
    if path.startswith(MODEL_FILES_PREFIX):
        # Only a found file is forever: a 404 may become a file when that version is exported.
        return IMMUTABLE_CACHE_CONTROL if status in (200, 206, 304) else API_CACHE_CONTROL
    if path == MODEL_METADATA_PATH:
        return REVALIDATE_CACHE_CONTROL
    if path.startswith("/api/"):
        return API_CACHE_CONTROL
    return REVALIDATE_CACHE_CONTROL


def add_headers(response: Response) -> Response:
    """Add the security headers and a Cache-Control to every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Cache-Control"] = cache_control_for(request.path, current_app.static_url_path,
                                                          response.status_code)
    return response


class RateLimiter:
    """A sliding-window limit of ``limit`` events per ``window`` seconds for each key (client).

    In-process and in memory: right for the single waitress process this app runs as. Keys
    idle for a whole window are forgotten, so memory stays bounded by recent clients.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()
        self._next_cleanup = 0.0

    def hit(self, key: str) -> float:
        """Record an event for ``key``; return 0 if allowed, else the seconds until one is."""
        now = self._clock()
        with self._lock:
            if now >= self._next_cleanup:
                self._forget_idle(now)
            events = self._events.setdefault(key, collections.deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return events[0] + self.window - now
            events.append(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop keys with no event inside the window (called at most once a window)."""
        for key in [key for key, events in self._events.items() if not events or events[-1] <= now - self.window]:
            del self._events[key]
        self._next_cleanup = now + self.window


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
    """Add the headers to every response and create the contribution rate limiter."""
    app.after_request(add_headers)
    limit = int(app.config["RATE_LIMIT"])
    app.extensions["doodles.rate_limiter"] = (
        RateLimiter(limit, float(app.config["RATE_LIMIT_WINDOW"])) if limit > 0 else None
    )
