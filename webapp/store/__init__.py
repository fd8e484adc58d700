"""The drawing store: every SQL statement of the app, behind one interface with two backends.

``DATABASE_URL`` (the environment's, or ``FLASK_DATABASE_URL``) set to ``postgresql://...``
selects PostgreSQL, which several app servers can share; otherwise the store is the SQLite
file ``DATABASE``. Numbered migrations (``migrations/<backend>/NNNN_*.sql``) are applied when
the app starts. A drawing (strokes, 28x28 PNG, the client's image) is one row: app servers
keep no files.

Views call the module-level functions below, which use the current app's store:
``add_drawings``, ``count_drawings``, ``counts_by_label``, ``review_queue``,
``set_status``, ``gallery``, ``approved_drawings``, ``get_drawing``, ``drawing_png``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp.store.base import (
    STATUSES,
    Contribution,
    IdempotencyConflict,
    Store,
    StoredIds,
    StoreError,
    StoreUnavailable,
    bitmap_png,
    strokes_json,
)

__all__ = [
    "STATUSES", "Contribution", "IdempotencyConflict", "Store", "StoredIds", "StoreError", "StoreUnavailable",
    "bitmap_png", "strokes_json", "open_store", "get_store", "init_app", "add_drawings", "count_drawings",
    "counts_by_label", "review_queue", "set_status", "gallery", "approved_drawings", "get_drawing", "drawing_png",
]

EXTENSION_KEY = "doodles.store"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(config: Mapping[str, Any]) -> Store:
    """The store the configuration names (not yet migrated): PostgreSQL for a postgresql:// DATABASE_URL, else SQLite."""
    url = config.get("DATABASE_URL") or ""
    if url.startswith(POSTGRES_SCHEMES):
        from webapp.store.postgres import PostgresStore  # psycopg is imported only where it is used.

        return PostgresStore(url, pool_size=config.get("DATABASE_POOL_SIZE", 10),
                             timeout=config.get("DATABASE_TIMEOUT", 5.0))
    if url:
        raise StoreError(f"DATABASE_URL must start with postgresql:// (unset it to use SQLite), not {url.split(':')[0]}:")
    from webapp.store.sqlite import SQLiteStore

    return SQLiteStore(config["DATABASE"], config.get("SQLITE_BUSY_TIMEOUT_MS", 10_000))


def get_store(app: Flask | None = None) -> Store:
    """The app's store (the current app's by default)."""
    return (app or current_app).extensions[EXTENSION_KEY]


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the store's tables, or bring them up to date (existing drawings are kept)."""
    store = get_store()
    applied = store.migrate()
    click.echo(f"Initialized the database ({store.description}); migrations applied now: {len(applied)}, "
               f"schema version {store.schema_version()}")


def init_app(app: Flask) -> None:
    """Open the store, apply pending migrations, and add ``flask init-db``."""
    store = open_store(app.config)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    app.extensions[EXTENSION_KEY] = store
    app.cli.add_command(init_db_command)


# The current app's store, as functions (the names other modules call).

def add_drawings(contributions: Sequence[Contribution], idempotency_key: str | None = None) -> StoredIds:
    """Store the drawings in one transaction (all or none); see ``Store.add_drawings``."""
    return get_store().add_drawings(contributions, idempotency_key)


def count_drawings(status: str | None = None) -> int:
    """How many drawings are stored (with ``status``, only those)."""
    return get_store().count_drawings(status)


def counts_by_label(categories: Sequence[str], status: str | None = None) -> dict[str, int]:
    """Stored drawings per label, every category included."""
    return get_store().counts_by_label(categories, status)


def review_queue(limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Pending drawings, disagreements with the model first."""
    return get_store().review_queue(limit, offset)


def set_status(ids: Sequence[int], status: str, reviewer: str) -> int:
    """Approve, reject (or reset to pending) drawings, recording who and when; how many changed."""
    return get_store().set_status(ids, status, reviewer)


def gallery(label: str | None = None, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Approved drawings, newest first."""
    return get_store().gallery(label, before_id, limit)


def approved_drawings() -> Iterator[dict[str, Any]]:
    """Approved drawings for retraining, oldest first, each with its ``png``."""
    return get_store().approved_drawings()


def get_drawing(drawing_id: int) -> dict[str, Any] | None:
    """One drawing's fields, or None."""
    return get_store().get_drawing(drawing_id)


def drawing_png(drawing_id: int, status: str | None = None) -> bytes | None:
    """A drawing's 28x28 PNG (with ``status``, only if it has that status), or None."""
    return get_store().drawing_png(drawing_id, status)
