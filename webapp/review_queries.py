"""Review and gallery queries behind the store names of CONTRACTS §4, for the store as it is on main.

A stand-in until the store package (``webapp/store/``) provides ``review_queue``,
``set_status``, ``gallery``, ``get_drawing`` and ``drawing_png`` itself: same names, same
arguments, same row dictionaries, so ``webapp.review`` switches by changing one import.
It adds the ``status`` column and the ``review`` table to the existing ``drawing`` table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from webapp.db import connect, get_db, transaction

STATUSES = ("pending", "approved", "rejected")
_COLUMNS = "id, label, guess, guess_probability, status, created, model_version"

MIGRATION = """
CREATE TABLE IF NOT EXISTS review (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drawing_id INTEGER NOT NULL REFERENCES drawing (id),
    status TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL                        -- ISO 8601, UTC.
);
CREATE INDEX IF NOT EXISTS review_drawing ON review (drawing_id);
CREATE INDEX IF NOT EXISTS drawing_status ON drawing (status, label, id);
"""


def migrate(path: str | Path, busy_timeout_ms: int) -> None:
    """Add the status column (every existing drawing becomes pending) and the review table, if missing."""
    connection = connect(path, busy_timeout_ms)
    try:
        with transaction(connection):
            columns = {row["name"] for row in connection.execute("PRAGMA table_info(drawing)")}
            if "status" not in columns:
                connection.execute("ALTER TABLE drawing ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'")
            for statement in MIGRATION.split(";"):
                if statement.strip():
                    connection.execute(statement)
    finally:
        connection.close()


def init_app(app: Flask) -> None:
    """Migrate the database once at start-up (after ``db.init_app`` created it)."""
    migrate(app.config["DATABASE"], app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _row(row: sqlite3.Row) -> dict[str, Any]:
    """A drawing row as a plain dictionary."""
    return {key: row[key] for key in row.keys()}


def review_queue(limit: int, offset: int) -> list[dict[str, Any]]:
    """Pending drawings, those the model disagreed with first (another guess, "other" or none), oldest first."""
    rows = get_db().execute(
        f"SELECT {_COLUMNS} FROM drawing WHERE status = 'pending'"
        " ORDER BY CASE WHEN guess IS NULL OR guess <> label THEN 0 ELSE 1 END, id LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [_row(row) for row in rows]


def set_status(ids: Sequence[int], status: str, reviewer: str) -> int:
    """Set the status of the drawings ``ids`` and record each change (when, by whom); return how many changed."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; choose one of {STATUSES}")
    at = datetime.now(timezone.utc).isoformat()
    db = get_db()
    changed = 0
    with transaction(db):
        for drawing_id in ids:
            cursor = db.execute("UPDATE drawing SET status = ? WHERE id = ?", (status, drawing_id))
            if cursor.rowcount:
                changed += 1
                db.execute(
                    "INSERT INTO review (drawing_id, status, reviewer, at) VALUES (?, ?, ?, ?)",
                    (drawing_id, status, reviewer, at),
                )
    return changed


def gallery(label: str, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Approved drawings of ``label``, newest first, with ids below ``before_id`` when given."""
    rows = get_db().execute(
        f"SELECT {_COLUMNS} FROM drawing WHERE status = 'approved' AND label = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (label, before_id if before_id is not None else 2**63 - 1, limit),
    )
    return [_row(row) for row in rows]


def get_drawing(drawing_id: int) -> dict[str, Any] | None:
    """One drawing's row, or None."""
    row = get_db().execute(f"SELECT {_COLUMNS} FROM drawing WHERE id = ?", (drawing_id,)).fetchone()
    return None if row is None else _row(row)


def drawing_png(drawing_id: int) -> bytes | None:
    """The drawing's 28x28 PNG, or None if there is no such drawing (or its file is gone)."""
    row = get_db().execute("SELECT bitmap_path FROM drawing WHERE id = ?", (drawing_id,)).fetchone()
    if row is None or not row["bitmap_path"]:
        return None
    try:
        return (Path(current_app.config["DRAWINGS_DIR"]) / row["bitmap_path"]).read_bytes()
    except OSError:
        return None
