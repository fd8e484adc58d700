"""Moderator authentication for review: named admin bearer tokens, checked in constant time.

Tokens come from ``ADMIN_TOKEN`` (one token, recorded as reviewer "admin") and
``ADMIN_TOKENS`` (a JSON object of reviewer name to token, so each review is recorded by
name). With neither set, review is off and its endpoints answer 404. A token is accepted
only in ``Authorization: Bearer <token>``: one in a URL ends up in access logs, proxies
and browser history, and one in a cookie is sent by the browser on requests the
moderator never meant to make, so both are refused even when the header is right.
Failed attempts are rate limited per client, and a client over the limit is refused
before its token is even looked at, so that guessing cannot go on behind the 429s.
No token, right or wrong, is ever logged.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, request

from webapp import security
from webapp.store import Store, get_store

logger = logging.getLogger(__name__)

EXTENSION_KEY = "doodles.review_auth"
DEFAULT_REVIEWER = "admin"  # The reviewer recorded for the single ADMIN_TOKEN.
MIN_TOKEN_LENGTH = 16  # Characters; a short token can be guessed even behind the rate limit.
REALM = 'Bearer realm="review"'
# Query parameters a client might carry a token in; any of them is refused, whatever it holds.
# Cookies are refused by value instead (any cookie holding an admin token): they are shared by
# every app on the host, and another app's "token" cookie must not lock moderators out.
TOKEN_PARAMETERS = ("token", "access_token", "admin_token", "auth", "authorization", "bearer", "key", "api_key")


class AuthError(Exception):
    """A refused review request: the status, a message safe to show, and headers to send."""

    def __init__(self, message: str, status: int = 401, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


class FailureLimiter:
    """At most ``limit`` failed attempts per client per window; past it, the client waits for the window to end.

    Failures are counted by the contributions' limiter (``security.RateLimiter``) in the
    store, so every app server sees them, under keys of their own. Once a client is over the
    limit this process also remembers until when, so that it can refuse the client before
    looking at its token; another server learns it at the client's next failure there.
    """

    KEY_PREFIX = "review-auth:"

    def __init__(self, store: Store, limit: int, window: float, clock: Callable[[], float] = time.time) -> None:
        self._limiter = security.RateLimiter(store, limit, window, clock)
        self._clock = clock
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 if it may now)."""
        with self._lock:
            remaining = self._blocked_until.get(key, 0.0) - self._clock()
            if remaining <= 0:
                self._blocked_until.pop(key, None)
                return 0.0
            return remaining

    def fail(self, key: str) -> float:
        """Record a failed attempt; return the seconds the client must now wait (0 while under the limit)."""
        wait = self._limiter.hit(f"{self.KEY_PREFIX}{key}")
        if wait > 0:
            with self._lock:
                now = self._clock()
                # Forget finished blocks here, so the dictionary stays as small as the set of current offenders.
                for stale in [name for name, until in self._blocked_until.items() if until <= now]:
                    del self._blocked_until[stale]
                self._blocked_until[key] = now + wait
        return wait


def configured_tokens(config: Mapping[str, Any]) -> dict[str, str]:
    """Reviewer name -> token from ADMIN_TOKEN and ADMIN_TOKENS; raise ValueError for a malformed setting."""
    tokens: dict[str, str] = {}
    single = config.get("ADMIN_TOKEN")
    if single:
        if not isinstance(single, str):
            raise ValueError("ADMIN_TOKEN must be a string")
        tokens[DEFAULT_REVIEWER] = single
    named = config.get("ADMIN_TOKENS") or {}
    if not isinstance(named, Mapping):
        raise ValueError('ADMIN_TOKENS must be a JSON object of reviewer name to token, e.g. {"alice": "..."}')
    for name, token in named.items():
        if not isinstance(name, str) or not name.strip() or not isinstance(token, str) or not token:
            raise ValueError("ADMIN_TOKENS must map non-empty reviewer names to non-empty token strings")
        name = name.strip()
        if name in tokens:
            raise ValueError(f"reviewer {name!r} is named twice (ADMIN_TOKEN is recorded as {DEFAULT_REVIEWER!r})")
        tokens[name] = token
    if len(set(tokens.values())) != len(tokens):
        raise ValueError("two reviewers share one admin token, so reviews could not be told apart")
    return tokens


def init_app(app: Flask) -> None:
    """Read the admin tokens (refusing short ones outside tests) and create the failure limiter."""
    raw = os.environ.get("FLASK_ADMIN_TOKEN")
    if raw and isinstance(app.config.get("ADMIN_TOKEN"), (int, float)):
        # from_prefixed_env parses values as JSON, which turns an all-digit token into a number.
        app.config["ADMIN_TOKEN"] = raw
    tokens = configured_tokens(app.config)
    if not (app.testing or app.debug):
        short = [name for name, token in tokens.items() if len(token) < MIN_TOKEN_LENGTH]
        if short:
            raise ValueError(f"admin tokens must be at least {MIN_TOKEN_LENGTH} characters (too short: {', '.join(short)})")
    limit = int(app.config["ADMIN_AUTH_FAILURE_LIMIT"])
    app.extensions[EXTENSION_KEY] = {
        # Encoded once: compare_digest on bytes accepts any characters, on str only ASCII.
        "tokens": {name: token.encode() for name, token in tokens.items()},
        "limiter": (
            FailureLimiter(get_store(app), limit, float(app.config["ADMIN_AUTH_FAILURE_WINDOW"])) if limit > 0 else None
        ),
    }


def _state() -> dict[str, Any]:
    """The app's tokens and failure limiter."""
    return current_app.extensions[EXTENSION_KEY]


def review_enabled() -> bool:
    """Whether any admin token is configured."""
    return bool(_state()["tokens"])


def _match(presented: bytes) -> str | None:
    """The reviewer whose token is ``presented``, or None; every token is compared, so timing tells nothing."""
    reviewer = None
    for name, token in _state()["tokens"].items():
        if hmac.compare_digest(presented, token):
            reviewer = name
    return reviewer


def _misplaced_token() -> str | None:
    """Why the request carries a token somewhere other than the Authorization header, or None."""
    if any(name.lower() in TOKEN_PARAMETERS for name in request.args):
        return "send the admin token in the Authorization header, never in the URL; the URL has been logged, so change the token"
    # Any cookie holding an admin token, whatever its name; other apps' cookies on the host are left alone.
    if any(_match(value.encode()) is not None for value in request.cookies.values()):
        return "send the admin token in the Authorization header; tokens in cookies are refused, so change the token"
    return None


def _bearer() -> bytes | None:
    """The token from ``Authorization: Bearer <token>``, or None when the header is absent or of another scheme."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip().encode()


def _client_key() -> str:
    """The client as the failure limiter counts it: a keyed hash of its address, as for contributions."""
    return security.client_hash(security.client_address(), current_app.config["SECRET_KEY"])


def _refuse(message: str, error: str | None = None) -> AuthError:
    """Count a failed attempt for this client and build the 401 (or 429 once over the limit)."""
    limiter = _state()["limiter"]
    logger.warning("Review authentication refused for %s: %s", security.client_address(), error or "missing token")
    if limiter is not None:
        wait = limiter.fail(_client_key())
        if wait > 0:
            return _too_many(wait)
    challenge = REALM if error is None else f'{REALM}, error="{error}"'
    return AuthError(message, 401, {"WWW-Authenticate": challenge})


def _too_many(wait: float) -> AuthError:
    """The 429 for a client with too many failed attempts."""
    return AuthError(
        "too many failed attempts to authenticate; try again later",
        429,
        {"Retry-After": str(security.retry_after_seconds(wait))},
    )


def require_reviewer() -> str:
    """The reviewer this request authenticates as; raise AuthError (404, 401 or 429) otherwise."""
    if not review_enabled():
        raise AuthError("review is disabled on this server (set FLASK_ADMIN_TOKEN to enable it)", 404)
    limiter = _state()["limiter"]
    if limiter is not None:
        wait = limiter.wait(_client_key())
        if wait > 0:
            raise _too_many(wait)
    misplaced = _misplaced_token()
    if misplaced is not None:
        raise _refuse(misplaced, "invalid_request")
    presented = _bearer()
    if presented is None:
        raise _refuse("send the admin token as Authorization: Bearer <token>")
    reviewer = _match(presented)
    if reviewer is None:
        raise _refuse("the admin token is not valid", "invalid_token")
    return reviewer


def optional_reviewer() -> str | None:
    """The reviewer if the request carries a valid token, None if it carries none; AuthError for a wrong one.

    For resources anyone may see in part (a drawing's PNG): without an Authorization header
    the request is public, whatever its URL or cookies hold (a token there is not accepted,
    and a stray "token" cookie from another app on the host must not break the gallery);
    a wrong header still counts towards the failure limit.
    """
    if not review_enabled() or "Authorization" not in request.headers:
        return None
    return require_reviewer()
