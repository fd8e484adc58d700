"""The web app's configuration defaults, every knob on one screen.

``create_app`` layers these defaults under ``instance/config.py`` and ``FLASK_<KEY>``
environment variables (values parsed as JSON, so ``FLASK_RATE_LIMIT=0`` is an int).
``docs/limits.md`` lists every limit with its status code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from preprocessing.categories import DEFAULT_SET

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent

# Request and drawing limits: generous for a person drawing, small for an attacker.
MAX_CONTENT_LENGTH = 1024 * 1024  # Bytes per request body; a long drawing is about 100 kB of JSON.
MAX_STROKES = 200  # Strokes per drawing; Quick Draw drawings rarely exceed 30.
MAX_POINTS = 20_000  # Points per drawing, all strokes together.
MAX_COORDINATE = 1e6  # Largest |x| or |y|; canvases are a few thousand pixels wide.
MAX_IMAGE_PIXELS = 4_000_000  # Width x height of an uploaded image, checked before decoding.
MAX_IMAGE_SIDE = 4096  # Longest side of an uploaded image, in pixels.
ALLOWED_IMAGE_TYPES = ["PNG", "JPEG", "WEBP"]  # Pillow format names (canvas exports); others get 415.
RATE_LIMIT = 30  # Contributions per client IP per RATE_LIMIT_WINDOW seconds; 0 turns the limit off.
RATE_LIMIT_WINDOW = 60  # Seconds of the sliding window.
TRUSTED_PROXIES = 0  # Reverse proxies in front of the app whose X-Forwarded-For is trusted.
MAX_BATCH_DRAWINGS = 12  # Drawings in one POST /api/drawings batch (a game donates 6); one transaction.
SQLITE_BUSY_TIMEOUT_MS = 10_000  # How long a request waits for another writer before failing.
ADMIN_TOKEN = None  # Moderators' bearer token for review (FLASK_ADMIN_TOKEN); unset turns review off.
ADMIN_TOKENS: dict[str, str] = {}  # Named tokens, FLASK_ADMIN_TOKENS='{"alice": "..."}': reviews record the name.
ADMIN_AUTH_FAILURE_LIMIT = 10  # Failed review logins per client per window before 429; 0 turns the limit off.
ADMIN_AUTH_FAILURE_WINDOW = 300  # Seconds of that window.
REVIEW_PAGE_SIZE = 48  # Drawings per page of /api/review and /api/gallery unless ?limit= asks for fewer.
REVIEW_MAX_PAGE_SIZE = 100  # The most ?limit= may ask for, and the most ids one POST /api/review may change.
DATABASE_POOL_SIZE = 10  # PostgreSQL connections per app server: about its worker threads.
DATABASE_TIMEOUT = 5.0  # Seconds a request waits for a PostgreSQL connection before answering 503.
REFERENCE_MODEL_SET = "reference"  # The served set that knows all Quick Draw categories (docs/api.md).


def defaults(instance_path: str) -> dict[str, Any]:
    """The default configuration; paths to the store live in the per-deployment instance folder."""
    instance = Path(instance_path)
    return {
        # postgresql://... selects PostgreSQL (DATABASE_URL is the hosting convention; FLASK_DATABASE_URL wins).
        "DATABASE_URL": os.environ.get("DATABASE_URL"),
        "DATABASE": str(instance / "doodles.sqlite3"),  # The SQLite store when DATABASE_URL is unset.
        "DRAWINGS_DIR": str(instance / "drawings"),  # Round 1's drawing files: migrate-store's default source.
        # The served model folder that `make export` writes: served/<set>/CURRENT and its versions.
        "MODEL_DIR": str(REPO_DIR / "served"),
        "DEFAULT_MODEL_SET": DEFAULT_SET,  # The set pages and the API use when a request names none.
        # The served set whose model gives review a second opinion on every contribution (role
        # "reference", published by `python -m export reference`); null turns the opinion off.
        "REFERENCE_MODEL_SET": REFERENCE_MODEL_SET,
        "TEST_HOOKS": False,  # Pages expose window.__doodles (predict any strokes) for tests and benchmarks.
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        # Flask's form parser has its own, smaller limit; a data URL in a form field may use the whole body.
        "MAX_FORM_MEMORY_SIZE": MAX_CONTENT_LENGTH,
        "MAX_STROKES": MAX_STROKES,
        "MAX_POINTS": MAX_POINTS,
        "MAX_COORDINATE": MAX_COORDINATE,
        "MAX_IMAGE_PIXELS": MAX_IMAGE_PIXELS,
        "MAX_IMAGE_SIDE": MAX_IMAGE_SIDE,
        "ALLOWED_IMAGE_TYPES": list(ALLOWED_IMAGE_TYPES),
        "RATE_LIMIT": RATE_LIMIT,
        "RATE_LIMIT_WINDOW": RATE_LIMIT_WINDOW,
        "TRUSTED_PROXIES": TRUSTED_PROXIES,
        "MAX_BATCH_DRAWINGS": MAX_BATCH_DRAWINGS,
        "SQLITE_BUSY_TIMEOUT_MS": SQLITE_BUSY_TIMEOUT_MS,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "ADMIN_TOKENS": dict(ADMIN_TOKENS),
        "ADMIN_AUTH_FAILURE_LIMIT": ADMIN_AUTH_FAILURE_LIMIT,
        "ADMIN_AUTH_FAILURE_WINDOW": ADMIN_AUTH_FAILURE_WINDOW,
        "REVIEW_PAGE_SIZE": REVIEW_PAGE_SIZE,
        "REVIEW_MAX_PAGE_SIZE": REVIEW_MAX_PAGE_SIZE,
        "DATABASE_POOL_SIZE": DATABASE_POOL_SIZE,
        "DATABASE_TIMEOUT": DATABASE_TIMEOUT,
    }
