"""The SQLite database of contributed drawings: one connection per request, as in flaskr.

SQLite runs in WAL mode so that readers (stats, health, export) never wait for a writer,
with ``synchronous=FULL`` so that a contribution acknowledged with 201 survives a power
cut, not only a crash: contributions arrive at human pace, so one extra fsync per commit
costs nothing anyone notices (NORMAL could lose the last commits on power loss).
Transactions are explicit (``BEGIN IMMEDIATE``) so a writer takes the write lock up front
and waits ``busy_timeout`` for it instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext

SCHEMA = """
CREATE TABLE IF NOT EXISTS drawing (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: an id is never reused.
    label TEXT NOT NULL,
    created TEXT NOT NULL,                 -- ISO 8601, UTC.
    model_version TEXT,
    guess TEXT,                            -- The model's top category, NULL if it could not run.
    guess_probability REAL,
    strokes_path TEXT NOT NULL,            -- Relative to DRAWINGS_DIR.
    bitmap_path TEXT NOT NULL,
    image_path TEXT,                       -- The client's own image, when it sent one.
    n_strokes INTEGER NOT NULL,
    n_points INTEGER NOT NULL,
    client_hash TEXT                       -- Keyed hash of the client address, never the address.
);
CREATE INDEX IF NOT EXISTS drawing_label ON drawing (label);
"""


def connect(path: str | Path, busy_timeout_ms: int) -> sqlite3.Connection:
    """Open the database in autocommit mode with the pragmas every connection needs."""
    # isolation_level=None: the transaction() helper below issues BEGIN and COMMIT itself.
    connection = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def init_db(path: str | Path, busy_timeout_ms: int = 10_000) -> None:
    """Create the database file, switch it to WAL and create the table if missing (never drops data)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = connect(path, busy_timeout_ms)
    try:
        # WAL is a property of the file, so setting it once here serves every later connection.
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"SQLite refused WAL mode for {path} (got {mode!r})")
        connection.executescript(SCHEMA)
    finally:
        connection.close()


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction: COMMIT if it returns, ROLLBACK if it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def get_db() -> sqlite3.Connection:
    """The request's database connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"], current_app.config["SQLITE_BUSY_TIMEOUT_MS"])
    return g.db


def close_db(error: BaseException | None = None) -> None:
    """Close the request's connection, if one was opened."""
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the drawings database if it does not exist (existing drawings are kept)."""
    init_db(current_app.config["DATABASE"], current_app.config["SQLITE_BUSY_TIMEOUT_MS"])
    click.echo(f"Initialized the database at {current_app.config['DATABASE']}")


def init_app(app: Flask) -> None:
    """Close connections after each request, create the schema, and add ``flask init-db``."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    init_db(app.config["DATABASE"], app.config["SQLITE_BUSY_TIMEOUT_MS"])
