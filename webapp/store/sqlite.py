"""The embedded backend: one SQLite file, right for one app server (``make run``, development, tests).

SQLite runs in WAL mode so that readers (stats, health, export) never wait for a writer,
with ``synchronous=FULL`` so that a contribution acknowledged with 201 survives a power
cut, not only a crash. Write transactions are ``BEGIN IMMEDIATE``: a writer takes the
write lock up front and waits ``busy_timeout`` for it instead of failing half-way with
"database is locked". Writers of one process also queue on a Python lock first: SQLite's
busy handler waits by sleeping with a growing back-off (up to 100 ms), so eight threads
contending for the file get a fraction of the throughput they get taking turns. A
connection is opened per transaction: it costs microseconds, and no connection is ever
shared between threads.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from webapp.store.base import Store, StoreError, StoreUnavailable

# Round 1 kept the drawings in files; its table had these columns (see migrate.py).
ROUND1_COLUMN = "strokes_path"


class SQLiteStore(Store):
    """The store in one SQLite file."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.description = f"SQLite at {self.path}"
        self._write_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as connection:
            # WAL is a property of the file, so setting it once here serves every later connection.
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"SQLite refused WAL mode for {self.path} (got {mode!r})")

    def _connect(self) -> sqlite3.Connection:
        """Open the file in autocommit mode with the pragmas every connection needs."""
        try:
            # isolation_level=None: transaction() issues BEGIN and COMMIT itself.
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000,
                                         check_same_thread=False)
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(f"cannot open {self.path}: {error}") from error
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a fresh connection: COMMIT if the block returns, ROLLBACK if it raises."""
        if not self._write_lock.acquire(timeout=self.busy_timeout_ms / 1000):
            raise StoreUnavailable(f"no write turn on {self.path} within {self.busy_timeout_ms} ms")
        with contextlib.ExitStack() as held:
            held.callback(self._write_lock.release)
            connection = held.enter_context(contextlib.closing(self._connect()))
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                connection.execute("COMMIT")
            except BaseException as error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.OperationalError):
                    raise StoreUnavailable(str(error)) from error
                raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection in autocommit mode; WAL gives each statement a consistent snapshot."""
        with contextlib.closing(self._connect()) as connection:
            try:
                yield connection
            except sqlite3.OperationalError as error:
                raise StoreUnavailable(str(error)) from error

    def _before_migrations(self, connection: sqlite3.Connection) -> None:
        """Refuse a round-1 file: its drawings live in files that must be copied in with migrate-store."""
        columns = {row["name"] for row in connection.execute("PRAGMA table_info(drawing)")}
        if ROUND1_COLUMN in columns:
            raise StoreError(
                f"{self.path} is a round-1 store (drawings in files). Move it aside, then copy it in with "
                f"`flask --app webapp migrate-store --from <moved file> --drawings-dir <its drawings folder>`"
            )
