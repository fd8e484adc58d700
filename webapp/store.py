"""Contributed drawings: files under DRAWINGS_DIR/<label>/ plus one SQLite row each.

A contribution is complete or absent, and the row is the commit point:

1. Outside any lock, the files are written under temporary names from ``uuid4`` and
   flushed to disk (write, fsync).
2. In one write transaction, the row is inserted (SQLite assigns the id), the files are
   renamed to ``<id>.ndjson`` / ``<id>.png`` with ``os.replace`` (atomic), the folder is
   fsynced so the names are durable, and the transaction commits.

A crash before the commit leaves files no row points to. Readers (stats, export) only
ever start from rows, so such orphans are invisible, and ``flask sweep-drawings`` deletes
them: it holds the write lock while it looks, so no contribution is between rename and
commit, and it leaves young temporary files alone because their writer may still be
waiting for the lock.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from preprocessing import spec
from preprocessing.strokes import Stroke, normalize, simplify, to_uint8
from webapp.db import transaction

TEMPORARY_PREFIX = ".tmp-"
STROKES_SUFFIX = ".ndjson"
BITMAP_SUFFIX = ".png"
# Quick Draw's own timestamp format, e.g. "2017-03-28 15:29:26.72606 UTC".
QUICKDRAW_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f UTC"


@dataclass(frozen=True)
class Contribution:
    """A checked drawing ready to store: its label, strokes, rendered bitmap and the model's guess."""

    label: str
    strokes: Sequence[Stroke]
    bitmap: np.ndarray  # float32 (28, 28) in [0, 1], as preprocessing renders it.
    model_version: str | None = None
    guess: str | None = None
    guess_probability: float | None = None
    upload: bytes | None = None  # The client's own image, already decoded once to check it.
    upload_type: str | None = None  # Its Pillow format name, e.g. "PNG".
    client_hash: str | None = None


def strokes_json(strokes: Sequence[Stroke]) -> list[list[list[float]]]:
    """Strokes as Quick Draw's JSON shape, ``[[x...], [y...]]`` per stroke."""
    return [[stroke[:, 0].tolist(), stroke[:, 1].tolist()] for stroke in strokes]


def bitmap_png(bitmap: np.ndarray) -> bytes:
    """A 28x28 greyscale PNG of the bitmap, stored like a numpy_bitmap row (255 = ink)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(bitmap)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_suffix(image_type: str) -> str:
    """The file suffix of a client's own image: ``.upload.png`` for "PNG"."""
    return f".upload.{image_type.lower()}"


def _write_durably(path: Path, data: bytes) -> None:
    """Write a new file and flush it to disk before anyone can rename it into place."""
    with path.open("xb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _fsync_directory(directory: Path) -> None:
    """Make renames inside ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_quietly(paths: Sequence[Path]) -> None:
    """Delete files that may or may not exist."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def save_drawing(db: sqlite3.Connection, drawings_dir: Path, contribution: Contribution) -> int:
    """Store a contribution (files, then its row as the commit point) and return its id."""
    directory = Path(drawings_dir) / contribution.label
    directory.mkdir(parents=True, exist_ok=True)
    created = datetime.now(timezone.utc)
    record = {"word": contribution.label, "created": created.isoformat(), "drawing": strokes_json(contribution.strokes)}
    contents = {STROKES_SUFFIX: (json.dumps(record) + "\n").encode(), BITMAP_SUFFIX: bitmap_png(contribution.bitmap)}
    if contribution.upload is not None:
        contents[upload_suffix(contribution.upload_type or "bin")] = contribution.upload
    temporary_name = f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}"
    temporary = {suffix: directory / f"{temporary_name}{suffix}" for suffix in contents}
    final: dict[str, Path] = {}
    try:
        for suffix, data in contents.items():
            _write_durably(temporary[suffix], data)
        with transaction(db):
            cursor = db.execute(
                "INSERT INTO drawing (label, created, model_version, guess, guess_probability, strokes_path,"
                " bitmap_path, n_strokes, n_points, client_hash) VALUES (?, ?, ?, ?, ?, '', '', ?, ?, ?)",
                (
                    contribution.label,
                    created.isoformat(),
                    contribution.model_version,
                    contribution.guess,
                    contribution.guess_probability,
                    len(contribution.strokes),
                    sum(len(stroke) for stroke in contribution.strokes),
                    contribution.client_hash,
                ),
            )
            drawing_id = cursor.lastrowid
            final = {suffix: directory / f"{drawing_id}{suffix}" for suffix in contents}
            for suffix in contents:
                os.replace(temporary[suffix], final[suffix])
            _fsync_directory(directory)
            relative = {suffix: f"{contribution.label}/{path.name}" for suffix, path in final.items()}
            db.execute(
                "UPDATE drawing SET strokes_path = ?, bitmap_path = ?, image_path = ? WHERE id = ?",
                (
                    relative[STROKES_SUFFIX],
                    relative[BITMAP_SUFFIX],
                    relative.get(upload_suffix(contribution.upload_type or "bin")),
                    drawing_id,
                ),
            )
    except BaseException:
        # The row is absent (rolled back or never written): its files are garbage.
        _remove_quietly([*temporary.values(), *final.values()])
        raise
    return drawing_id


def count_drawings(db: sqlite3.Connection) -> int:
    """How many contributions are stored."""
    return db.execute("SELECT COUNT(*) FROM drawing").fetchone()[0]


def drawings_by_label(db: sqlite3.Connection, categories: Sequence[str]) -> dict[str, int]:
    """Stored contributions per label: every category (0 if none), then any other label stored."""
    counts = {category: 0 for category in categories}
    for label, count in db.execute("SELECT label, COUNT(*) FROM drawing GROUP BY label ORDER BY label"):
        counts[label] = count
    return counts


def sweep_orphans(db: sqlite3.Connection, drawings_dir: Path, min_age_seconds: float, dry_run: bool = False) -> list[Path]:
    """Delete files no row points to (temporary ones only once older than ``min_age_seconds``)."""
    drawings_dir = Path(drawings_dir)
    removed: list[Path] = []
    if not drawings_dir.is_dir():
        return removed
    # The write lock: no contribution can be between renaming its files and committing its row.
    with transaction(db):
        referenced = {
            path
            for row in db.execute("SELECT strokes_path, bitmap_path, image_path FROM drawing")
            for path in row
            if path
        }
        oldest_allowed = time.time() - min_age_seconds
        for path in sorted(drawings_dir.glob("*/*")):
            if not path.is_file():
                continue
            if path.name.startswith(TEMPORARY_PREFIX):
                if path.stat().st_mtime > oldest_allowed:
                    continue
            elif path.relative_to(drawings_dir).as_posix() in referenced:
                continue
            removed.append(path)
            if not dry_run:
                path.unlink()
    return removed


def quickdraw_strokes(strokes: Sequence[Stroke]) -> list[list[list[int]]]:
    """Strokes the way Quick Draw's simplified files hold them: normalised to 0-255, simplified, integers."""
    simplified = [simplify(stroke) for stroke in normalize(strokes)]
    return [[np.rint(stroke[:, 0]).astype(int).tolist(), np.rint(stroke[:, 1]).astype(int).tolist()]
            for stroke in simplified]


def _read_drawing(drawings_dir: Path, row: sqlite3.Row) -> tuple[list[Stroke], np.ndarray] | None:
    """A stored drawing's strokes and uint8 bitmap, or None if a file is missing or unreadable."""
    try:
        record = json.loads((drawings_dir / row["strokes_path"]).read_text())
        strokes = [np.array([stroke[0], stroke[1]], dtype=np.float64).T for stroke in record["drawing"]]
        with Image.open(drawings_dir / row["bitmap_path"], formats=["PNG"]) as image:
            bitmap = np.asarray(image.convert("L"), dtype=np.uint8)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    if not strokes or bitmap.shape != (spec.IMAGE_SIZE, spec.IMAGE_SIZE):
        return None
    return strokes, bitmap


def export_drawings(db: sqlite3.Connection, drawings_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write simplified/<label>.ndjson and numpy_bitmap/<label>.npy, Quick Draw's layout; row i matches line i."""
    drawings_dir, out_dir = Path(drawings_dir), Path(out_dir)
    lines: dict[str, list[str]] = {}
    bitmaps: dict[str, list[np.ndarray]] = {}
    skipped = 0
    for row in db.execute("SELECT id, label, created, guess, strokes_path, bitmap_path FROM drawing ORDER BY id"):
        drawing = _read_drawing(drawings_dir, row)
        if drawing is None:
            skipped += 1
            continue
        strokes, bitmap = drawing
        created = datetime.fromisoformat(row["created"])
        lines.setdefault(row["label"], []).append(
            json.dumps(
                {
                    "word": row["label"],
                    "countrycode": "",
                    "timestamp": created.strftime(QUICKDRAW_TIMESTAMP),
                    "recognized": row["guess"] == row["label"],
                    "key_id": str(row["id"]),
                    "drawing": quickdraw_strokes(strokes),
                }
            )
        )
        bitmaps.setdefault(row["label"], []).append(bitmap.reshape(-1))
    (out_dir / "simplified").mkdir(parents=True, exist_ok=True)
    (out_dir / "numpy_bitmap").mkdir(parents=True, exist_ok=True)
    for label, label_lines in lines.items():
        (out_dir / "simplified" / f"{label}.ndjson").write_text("\n".join(label_lines) + "\n")
        np.save(out_dir / "numpy_bitmap" / f"{label}.npy", np.stack(bitmaps[label]).astype(np.uint8))
    return {"exported": {label: len(label_lines) for label, label_lines in lines.items()}, "skipped": skipped}
