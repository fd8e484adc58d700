"""The shared backend: PostgreSQL through psycopg 3 and a connection pool, for several app servers.

Every app server holds a small pool (``DATABASE_POOL_SIZE`` connections, about its thread
count). A connection is checked before it is handed out, so after the database restarts
the pool replaces dead connections by itself; while the database is down a request waits
at most ``DATABASE_TIMEOUT`` seconds for a connection, then the API answers 503 with
Retry-After. A transaction commits before the API acknowledges anything, so a 201 is on
the database server's disk (``synchronous_commit`` is left on).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from webapp.store.base import Store, StoreUnavailable

# Any fixed number: taken while migrating, so app servers starting together migrate once.
MIGRATION_LOCK = 0x646F6F646C6573
CONNECT_TIMEOUT_SECONDS = 5

logger = logging.getLogger(__name__)


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://?"
    return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"


class PostgresStore(Store):
    """The store in a PostgreSQL database."""

    dialect = "postgres"

    def __init__(self, url: str, pool_size: int = 10, timeout: float = 5.0) -> None:
        self.description = f"PostgreSQL at {redact(url)}"
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, int(pool_size)),
            timeout=float(timeout),
            kwargs={"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            check=ConnectionPool.check_connection,
            # Keep trying to reconnect while the database is away; requests meanwhile get 503.
            reconnect_timeout=24 * 3600,
            name="doodles",
            open=False,
        )
        self.pool.open(wait=False)

    def close(self) -> None:
        """Close the pool and its connections."""
        self.pool.close()

    def _sql(self, query: str) -> str:
        """psycopg's placeholders are %s."""
        return query.replace("?", "%s")

    def _timestamp(self, moment: datetime) -> Any:
        """psycopg sends an aware datetime as timestamptz."""
        return moment

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in one transaction: committed if the block returns, rolled back if it raises."""
        try:
            with self.pool.connection() as connection:
                yield connection
        except (PoolTimeout, psycopg.OperationalError) as error:
            # OperationalError: the server went away or refused; a broken connection is dropped by the pool.
            raise StoreUnavailable(str(error).strip() or type(error).__name__) from error

    reading = transaction  # A read is a short transaction too; PostgreSQL gives it a snapshot.

    def _before_migrations(self, connection: psycopg.Connection) -> None:
        """Serialise migrations across app servers that start at the same moment."""
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
