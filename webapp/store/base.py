"""The store's one interface: every query, written once in SQL that SQLite and PostgreSQL both run.

A backend (``sqlite.SQLiteStore``, ``postgres.PostgresStore``) only says how to get a
connection and a transaction, how its placeholders and timestamps look, and which of its
errors mean "the database is unavailable". Queries use ``?`` placeholders; PostgreSQL's
backend rewrites them to ``%s`` (no query here has a literal question mark).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from preprocessing.strokes import Stroke, to_uint8

STATUSES = ("pending", "approved", "rejected")
MAX_PAGE = 200  # Rows one review_queue/gallery call returns at most.
EXPORT_PAGE = 500  # Rows read per query while streaming a whole export.
# A client retries a batch within seconds or minutes; a day later the key is forgotten (and the
# same batch would be stored again), so the key table holds about a day of contributions.
IDEMPOTENCY_KEY_LIFETIME = timedelta(days=1)
KEY_PURGE_INTERVAL = timedelta(hours=1)
# Columns a listing returns: everything but the images, which have their own calls.
SUMMARY_COLUMNS = ("id, label, name, status, created, model_set, model_version, guess, guess_probability,"
                   " reference, reference_doubts, strokes, n_strokes, n_points")


class StoreError(RuntimeError):
    """The store cannot be used as configured (e.g. a round-1 file where a round-2 store should be)."""


class StoreUnavailable(StoreError):
    """The database is unreachable, locked past its timeout, or went away mid-request: try again later."""


class IdempotencyConflict(ValueError):
    """An Idempotency-Key already used for a different batch of drawings."""


class StoredIds(list):
    """The ids ``add_drawings`` answers, in order; ``created`` is False when a repeated key returned old ones."""

    def __init__(self, ids: Sequence[int], created: bool) -> None:
        super().__init__(ids)
        self.created = created


@dataclass(frozen=True)
class Contribution:
    """A checked drawing ready to store: its label, strokes, rendered bitmap and the model's guess."""

    label: str
    strokes: Sequence[Stroke]
    bitmap: np.ndarray  # float32 (28, 28) in [0, 1], as preprocessing renders it.
    model_version: str | None = None
    model_set: str | None = None
    guess: str | None = None  # May be "other": the model's "none of these".
    guess_probability: float | None = None
    upload: bytes | None = None  # The client's own image, already decoded once to check it.
    upload_type: str | None = None  # Its Pillow format name, e.g. "PNG".
    client_hash: str | None = None
    created: datetime | None = None  # When it was drawn; None means now (set for imported drawings).
    name: str | None = None  # What a drawing labelled "other" is, as the contributor wrote it.
    reference: Sequence[dict[str, Any]] | None = None  # The reference model's top 3: {"label", "probability"}.
    reference_doubts: bool | None = None  # Whether the reference doubts the label; None without a reference.


def strokes_json(strokes: Sequence[Stroke]) -> list[list[list[float]]]:
    """Strokes as Quick Draw's JSON shape, ``[[x...], [y...]]`` per stroke."""
    return [[np.asarray(stroke)[:, 0].tolist(), np.asarray(stroke)[:, 1].tolist()] for stroke in strokes]


def bitmap_png(bitmap: np.ndarray) -> bytes:
    """A 28x28 greyscale PNG of the bitmap, stored like a numpy_bitmap row (255 = ink)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(bitmap)).save(buffer, format="PNG")
    return buffer.getvalue()


def fingerprint(contributions: Sequence[Contribution]) -> str:
    """A digest of what a batch says (labels and strokes), to tell a retried batch from a different one."""
    digest = hashlib.sha256()
    for contribution in contributions:
        said = [contribution.label, strokes_json(contribution.strokes)]
        # A name joins the fingerprint only when given, so keys stored before names existed still match.
        digest.update(json.dumps(said if contribution.name is None else [*said, contribution.name]).encode())
    return digest.hexdigest()


def migrations(dialect: str) -> list[tuple[int, str, list[str]]]:
    """The numbered migrations of a backend, in order: (version, name, statements)."""
    folder = resources.files("webapp.store") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version = int(entry.name.split("_", 1)[0])
        text = "\n".join(line.split("--", 1)[0] for line in entry.read_text().splitlines())
        statements = [statement.strip() for statement in text.split(";\n") if statement.strip().strip(";")]
        found.append((version, entry.name, [statement.rstrip(";") for statement in statements]))
    found.sort()
    if [version for version, _, _ in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"{dialect} migrations must be numbered 1, 2, 3... without gaps")
    return found


class Store:
    """Contributed drawings, their reviews, idempotency keys and rate-limit counters, in one database."""

    _next_key_purge = datetime.min.replace(tzinfo=timezone.utc)  # Per instance once set: when to purge keys next.

    dialect = ""
    description = ""

    # What a backend provides.

    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A connection inside one write transaction: committed if the block returns, rolled back if it raises."""
        raise NotImplementedError

    def reading(self) -> contextlib.AbstractContextManager[Any]:
        """A connection for reads."""
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        """The query in the backend's placeholder style."""
        return query

    def _timestamp(self, moment: datetime) -> Any:
        """A timestamp as the backend stores it."""
        return moment.isoformat()

    def _before_migrations(self, connection: Any) -> None:
        """Backend checks and locks taken inside the migration transaction."""

    def close(self) -> None:
        """Release the backend's connections."""

    # Shared helpers.

    def _execute(self, connection: Any, query: str, parameters: Sequence[Any] = ()) -> Any:
        """Run one statement and return its cursor."""
        return connection.execute(self._sql(query), tuple(parameters))

    @staticmethod
    def _iso(value: Any) -> str | None:
        """A stored timestamp as ISO 8601 text in UTC."""
        if value is None or isinstance(value, str):
            return value
        return value.astimezone(timezone.utc).isoformat()

    def _summary(self, row: Any) -> dict[str, Any]:
        """A listed drawing as a JSON-ready dict (strokes parsed, no images)."""
        return {
            "id": row["id"],
            "label": row["label"],
            "name": row["name"],
            "status": row["status"],
            "created": self._iso(row["created"]),
            "model_set": row["model_set"],
            "model_version": row["model_version"],
            "guess": row["guess"],
            "guess_probability": row["guess_probability"],
            "reference": None if row["reference"] is None else json.loads(row["reference"]),
            "reference_doubts": None if row["reference_doubts"] is None else bool(row["reference_doubts"]),
            "strokes": json.loads(row["strokes"]),
            "n_strokes": row["n_strokes"],
            "n_points": row["n_points"],
        }

    # Schema.

    def migrate(self) -> list[str]:
        """Apply the migrations not applied yet, in one transaction; return the names applied."""
        applied_now = []
        with self.transaction() as connection:
            self._before_migrations(connection)
            self._execute(connection, "CREATE TABLE IF NOT EXISTS schema_migration ("
                                      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)")
            applied = {row["version"] for row in self._execute(connection, "SELECT version FROM schema_migration")}
            for version, name, statements in migrations(self.dialect):
                if version in applied:
                    continue
                for statement in statements:
                    self._execute(connection, statement)
                self._execute(connection, "INSERT INTO schema_migration (version, name, applied) VALUES (?, ?, ?)",
                              (version, name, datetime.now(timezone.utc).isoformat()))
                applied_now.append(name)
        return applied_now

    def schema_version(self) -> int:
        """The highest migration applied."""
        with self.reading() as connection:
            row = self._execute(connection, "SELECT MAX(version) AS version FROM schema_migration").fetchone()
        return row["version"] or 0

    # Contributions.

    def add_drawings(self, contributions: Sequence[Contribution], idempotency_key: str | None = None,
                     import_keys: Sequence[str] | None = None) -> StoredIds:
        """Store the drawings in one transaction (all or none) and return their ids, in order.

        With an ``idempotency_key`` already used for the same drawings, nothing is stored and
        the first call's ids come back with ``created`` False; used for other drawings, it
        raises ``IdempotencyConflict``. ``import_keys`` (for ``migrate-store``) skip drawings
        already imported: their ids are left out.
        """
        if not contributions:
            raise ValueError("no drawings to store")
        if import_keys is not None and len(import_keys) != len(contributions):
            raise ValueError("one import key per drawing")
        now = datetime.now(timezone.utc)
        digest = fingerprint(contributions) if idempotency_key is not None else ""
        with self.transaction() as connection:
            if idempotency_key is not None:
                # Claim the key first: a concurrent request with the same key waits here for this
                # transaction (PostgreSQL) or for the write lock (SQLite), then sees it taken.
                claimed = self._execute(
                    connection,
                    "INSERT INTO idempotency_key (key, fingerprint, ids, created) VALUES (?, ?, '[]', ?)"
                    " ON CONFLICT (key) DO NOTHING RETURNING key",
                    (idempotency_key, digest, self._timestamp(now)),
                ).fetchall()
                if not claimed:
                    earlier = self._execute(connection, "SELECT fingerprint, ids FROM idempotency_key WHERE key = ?",
                                            (idempotency_key,)).fetchone()
                    if earlier["fingerprint"] != digest:
                        raise IdempotencyConflict("this Idempotency-Key was already used for other drawings")
                    return StoredIds(json.loads(earlier["ids"]), created=False)
            ids = []
            for index, contribution in enumerate(contributions):
                row = self._execute(
                    connection,
                    "INSERT INTO drawing (label, name, created, model_set, model_version, guess, guess_probability,"
                    " reference, reference_doubts, strokes, n_strokes, n_points, bitmap, image, image_type,"
                    " client_hash, import_key)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (import_key) DO NOTHING RETURNING id",
                    (
                        contribution.label,
                        contribution.name,
                        self._timestamp(contribution.created or now),
                        contribution.model_set,
                        contribution.model_version,
                        contribution.guess,
                        contribution.guess_probability,
                        None if contribution.reference is None else json.dumps(list(contribution.reference)),
                        contribution.reference_doubts,
                        json.dumps(strokes_json(contribution.strokes)),
                        len(contribution.strokes),
                        sum(len(stroke) for stroke in contribution.strokes),
                        bitmap_png(contribution.bitmap),
                        contribution.upload,
                        contribution.upload_type,
                        contribution.client_hash,
                        import_keys[index] if import_keys is not None else None,
                    ),
                ).fetchall()  # All of it: SQLite finishes a RETURNING statement only when it is read to the end.
                ids.extend(inserted["id"] for inserted in row)
            if idempotency_key is not None:
                self._execute(connection, "UPDATE idempotency_key SET ids = ? WHERE key = ?",
                              (json.dumps(ids), idempotency_key))
        if idempotency_key is not None and now >= self._next_key_purge:
            # Once an hour per process is enough to keep the table to about a day of keys.
            self._next_key_purge = now + KEY_PURGE_INTERVAL
            self.forget_idempotency_keys(now - IDEMPOTENCY_KEY_LIFETIME)
        return StoredIds(ids, created=True)

    def forget_idempotency_keys(self, before: datetime) -> int:
        """Delete the idempotency keys first used before ``before``; return how many."""
        with self.transaction() as connection:
            return self._execute(connection, "DELETE FROM idempotency_key WHERE created < ?",
                                 (self._timestamp(before),)).rowcount

    def count_drawings(self, status: str | None = None) -> int:
        """How many drawings are stored (with ``status``, only those)."""
        with self.reading() as connection:
            # The running totals the triggers keep (migration 2): a few rows, however many drawings.
            if status is None:
                row = self._execute(connection, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n"
                                                " FROM drawing_count").fetchone()
            else:
                row = self._execute(connection, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n"
                                                " FROM drawing_count WHERE status = ?",
                                    (_checked_status(status),)).fetchone()
        return int(row["n"])

    def counts_by_label(self, categories: Sequence[str], status: str | None = None) -> dict[str, int]:
        """Stored drawings per label: every category (0 if none), then any other label stored."""
        counts = {category: 0 for category in categories}
        query = "SELECT label, CAST(SUM(n) AS BIGINT) AS n FROM drawing_count"
        parameters: tuple[Any, ...] = ()
        if status is not None:
            query, parameters = f"{query} WHERE status = ?", (_checked_status(status),)
        with self.reading() as connection:
            for row in self._execute(connection, f"{query} GROUP BY label HAVING SUM(n) > 0 ORDER BY label",
                                     parameters):
                counts[row["label"]] = int(row["n"])
        return counts

    # Review and gallery.

    def review_queue(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Pending drawings, doubtful ones first, then oldest first.

        Doubtful: the served model's guess differs from the label (is "other" or missing), or
        the reference model doubts the label (``reference_doubts``, decided when it was stored).
        """
        limit, offset = _page(limit), max(0, int(offset))
        with self.reading() as connection:
            rows = self._execute(
                connection,
                f"SELECT {SUMMARY_COLUMNS} FROM drawing WHERE status = 'pending'"
                " ORDER BY CASE WHEN guess IS NULL OR guess <> label OR reference_doubts THEN 0 ELSE 1 END, id"
                " LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [{**self._summary(row), "disagreement": row["guess"] != row["label"]} for row in rows]

    def set_status(self, ids: Sequence[int], status: str, reviewer: str) -> int:
        """Set the status of these drawings, recording a review row for each one changed; return how many changed."""
        status = _checked_status(status)
        if not reviewer:
            raise ValueError("a review needs a reviewer name")
        unique = sorted({int(drawing_id) for drawing_id in ids})
        if not unique:
            return 0
        now = self._timestamp(datetime.now(timezone.utc))
        marks = ", ".join("?" * len(unique))
        with self.transaction() as connection:
            changed = [row["id"] for row in self._execute(
                connection, f"UPDATE drawing SET status = ? WHERE id IN ({marks}) AND status <> ? RETURNING id",
                (status, *unique, status))]
            for drawing_id in changed:
                self._execute(connection, "INSERT INTO review (drawing_id, status, reviewer, at) VALUES (?, ?, ?, ?)",
                              (drawing_id, status, reviewer, now))
        return len(changed)

    def reviews(self, drawing_id: int) -> list[dict[str, Any]]:
        """A drawing's review history, oldest first."""
        with self.reading() as connection:
            rows = self._execute(connection, "SELECT status, reviewer, at FROM review WHERE drawing_id = ? ORDER BY id",
                                 (int(drawing_id),)).fetchall()
        return [{"status": row["status"], "reviewer": row["reviewer"], "at": self._iso(row["at"])} for row in rows]

    def gallery(self, label: str | None = None, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Approved drawings only, newest first; ``label`` None means every label, ``before_id`` pages on."""
        conditions, parameters = ["status = 'approved'"], []
        if label is not None:
            conditions.append("label = ?")
            parameters.append(label)
        if before_id is not None:
            conditions.append("id < ?")
            parameters.append(int(before_id))
        with self.reading() as connection:
            rows = self._execute(
                connection,
                f"SELECT {SUMMARY_COLUMNS} FROM drawing WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?",
                (*parameters, _page(limit)),
            ).fetchall()
        return [self._summary(row) for row in rows]

    def drawings(self, status: str | None = "approved") -> Iterator[dict[str, Any]]:
        """Every drawing with this status (None: all), oldest first, with its PNG; read in pages, not all at once."""
        after = 0
        condition = "" if status is None else "AND status = ?"
        parameters = () if status is None else (_checked_status(status),)
        while True:
            with self.reading() as connection:
                rows = self._execute(
                    connection,
                    f"SELECT {SUMMARY_COLUMNS}, bitmap FROM drawing WHERE id > ? {condition} ORDER BY id LIMIT ?",
                    (after, *parameters, EXPORT_PAGE),
                ).fetchall()
            for row in rows:
                yield {**self._summary(row), "png": bytes(row["bitmap"])}
            if len(rows) < EXPORT_PAGE:
                return
            after = rows[-1]["id"]

    def approved_drawings(self) -> Iterator[dict[str, Any]]:
        """Approved drawings for retraining, oldest first: the listing fields plus ``png`` (28x28)."""
        return self.drawings("approved")

    def get_drawing(self, drawing_id: int) -> dict[str, Any] | None:
        """One drawing's fields (strokes parsed, ``has_image``), or None."""
        with self.reading() as connection:
            row = self._execute(
                connection,
                f"SELECT {SUMMARY_COLUMNS}, image_type, client_hash, image IS NOT NULL AS has_image"
                " FROM drawing WHERE id = ?",
                (int(drawing_id),),
            ).fetchone()
        if row is None:
            return None
        return {**self._summary(row), "image_type": row["image_type"], "client_hash": row["client_hash"],
                "has_image": bool(row["has_image"])}

    def drawing_png(self, drawing_id: int, status: str | None = None) -> bytes | None:
        """A drawing's 28x28 PNG, or None if there is none (or, with ``status``, it has another status)."""
        with self.reading() as connection:
            row = self._execute(connection, "SELECT status, bitmap FROM drawing WHERE id = ?",
                                (int(drawing_id),)).fetchone()
        if row is None or (status is not None and row["status"] != status):
            return None
        return bytes(row["bitmap"])

    def drawing_image(self, drawing_id: int) -> tuple[bytes, str] | None:
        """The client's own image and its type, or None."""
        with self.reading() as connection:
            row = self._execute(connection, "SELECT image, image_type FROM drawing WHERE id = ?",
                                (int(drawing_id),)).fetchone()
        if row is None or row["image"] is None:
            return None
        return bytes(row["image"]), row["image_type"]

    # Rate limit.

    def count_hit(self, client: str, window_start: int) -> int:
        """Count one hit for ``client`` in the window starting at ``window_start``; return the window's hits so far."""
        with self.transaction() as connection:
            row = self._execute(
                connection,
                "INSERT INTO rate_limit (client, window_start, hits) VALUES (?, ?, 1)"
                " ON CONFLICT (client, window_start) DO UPDATE SET hits = rate_limit.hits + 1 RETURNING hits",
                (client, int(window_start)),
            ).fetchall()
        return row[0]["hits"]

    def forget_hits(self, before: int) -> int:
        """Delete rate-limit windows that started before ``before``; return how many."""
        with self.transaction() as connection:
            return self._execute(connection, "DELETE FROM rate_limit WHERE window_start < ?", (int(before),)).rowcount


def _checked_status(status: str) -> str:
    """The status if it is one of STATUSES, else ValueError."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status


def _page(limit: int) -> int:
    """A page size between 1 and MAX_PAGE."""
    return max(1, min(int(limit), MAX_PAGE))
