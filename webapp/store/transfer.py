"""Drawings in and out of the store: export in Quick Draw's layout for training, import a round-1 store.

Round 1 kept each drawing as files under ``drawings/<label>/`` (``<id>.ndjson`` strokes,
``<id>.png`` bitmap, ``<id>.upload.<type>`` the client's image) plus a SQLite row pointing
at them. ``import_round1`` copies every row with its files into the configured store; each
copy carries an import key (``round1:<id>:<created>``), so running it again copies nothing
twice, and a row whose files are gone is reported, never silently dropped.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from preprocessing import spec
from preprocessing.strokes import Stroke, normalize, simplify
from webapp.store.base import Contribution, Store

# Quick Draw's own timestamp format, e.g. "2017-03-28 15:29:26.72606 UTC".
QUICKDRAW_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f UTC"
IMPORT_BATCH = 100  # Round-1 drawings copied per transaction.
ROUND1_MODEL_SET = "accessories"  # Round 1 served one model, the six accessories.


def quickdraw_strokes(strokes: Iterable[Stroke]) -> list[list[list[int]]]:
    """Strokes the way Quick Draw's simplified files hold them: normalised to 0-255, simplified, integers."""
    simplified = [simplify(stroke) for stroke in normalize(list(strokes))]
    return [[np.rint(stroke[:, 0]).astype(int).tolist(), np.rint(stroke[:, 1]).astype(int).tolist()]
            for stroke in simplified]


def _strokes(drawing: list) -> list[np.ndarray]:
    """Quick Draw JSON strokes as (n, 2) arrays."""
    return [np.array([stroke[0], stroke[1]], dtype=np.float64).T for stroke in drawing]


def _bitmap(png: bytes) -> np.ndarray | None:
    """A stored 28x28 PNG as uint8, or None if it is not one."""
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            bitmap = np.asarray(image.convert("L"), dtype=np.uint8)
    except (OSError, ValueError):
        return None
    return bitmap if bitmap.shape == (spec.IMAGE_SIZE, spec.IMAGE_SIZE) else None


def export_drawings(store: Store, out_dir: Path, status: str | None = "approved") -> dict[str, Any]:
    """Write simplified/<label>.ndjson and numpy_bitmap/<label>.npy, Quick Draw's layout; row i matches line i."""
    out_dir = Path(out_dir)
    lines: dict[str, list[str]] = {}
    bitmaps: dict[str, list[np.ndarray]] = {}
    skipped = 0
    for drawing in store.drawings(status):
        bitmap = _bitmap(drawing["png"])
        if bitmap is None or not drawing["strokes"]:
            skipped += 1
            continue
        created = datetime.fromisoformat(drawing["created"])
        lines.setdefault(drawing["label"], []).append(
            json.dumps(
                {
                    "word": drawing["label"],
                    "countrycode": "",
                    "timestamp": created.strftime(QUICKDRAW_TIMESTAMP),
                    "recognized": drawing["guess"] == drawing["label"],
                    "key_id": str(drawing["id"]),
                    "drawing": quickdraw_strokes(_strokes(drawing["strokes"])),
                    # What a drawing labelled "other" is ("something else": a hat, a cat...), when
                    # the store keeps names; retraining learns it by name (docs/retraining.md).
                    **({"name": drawing["name"]} if drawing.get("name") else {}),
                }
            )
        )
        bitmaps.setdefault(drawing["label"], []).append(bitmap.reshape(-1))
    (out_dir / "simplified").mkdir(parents=True, exist_ok=True)
    (out_dir / "numpy_bitmap").mkdir(parents=True, exist_ok=True)
    for label, label_lines in lines.items():
        (out_dir / "simplified" / f"{label}.ndjson").write_text("\n".join(label_lines) + "\n")
        np.save(out_dir / "numpy_bitmap" / f"{label}.npy", np.stack(bitmaps[label]).astype(np.uint8))
    return {"exported": {label: len(label_lines) for label, label_lines in lines.items()}, "skipped": skipped}


@dataclass
class ImportReport:
    """What ``import_round1`` did: rows copied now, rows already copied earlier, rows it could not read."""

    copied: int = 0
    already_there: int = 0
    unreadable: list[str] = field(default_factory=list)  # "<id>: reason", one per row left in the old store.


def _round1_contribution(row: sqlite3.Row, drawings_dir: Path,
                         render: Callable[[list[np.ndarray]], np.ndarray]) -> Contribution:
    """A round-1 row and its files as a Contribution (the bitmap re-rendered if its PNG is lost)."""
    record = json.loads((drawings_dir / row["strokes_path"]).read_text())
    strokes = _strokes(record["drawing"])
    if not strokes:
        raise ValueError("no strokes")
    bitmap_path = drawings_dir / row["bitmap_path"] if row["bitmap_path"] else None
    stored = _bitmap(bitmap_path.read_bytes()) if bitmap_path is not None and bitmap_path.is_file() else None
    bitmap = stored.astype(np.float32) / 255 if stored is not None else render(strokes)
    upload = upload_type = None
    if row["image_path"]:
        upload = (drawings_dir / row["image_path"]).read_bytes()
        upload_type = Path(row["image_path"]).suffix.lstrip(".").upper()
    return Contribution(
        label=row["label"],
        strokes=strokes,
        bitmap=bitmap,
        model_version=row["model_version"],
        model_set=ROUND1_MODEL_SET,
        guess=row["guess"],
        guess_probability=row["guess_probability"],
        upload=upload,
        upload_type=upload_type,
        client_hash=row["client_hash"],
        created=datetime.fromisoformat(row["created"]),  # Round 1 wrote ISO 8601 with its UTC offset.
    )


def import_round1(store: Store, database: Path, drawings_dir: Path,
                  render: Callable[[list[np.ndarray]], np.ndarray]) -> ImportReport:
    """Copy a round-1 SQLite store and its files into ``store``: idempotent, every readable row, batches of 100."""
    report = ImportReport()
    if not Path(database).is_file():
        raise FileNotFoundError(f"no round-1 store at {database}")
    # Read-only: the old store is a source and must stay exactly as it was.
    with contextlib.closing(sqlite3.connect(f"{Path(database).resolve().as_uri()}?mode=ro", uri=True)) as source:
        source.row_factory = sqlite3.Row
        rows = source.execute("SELECT * FROM drawing ORDER BY id").fetchall()
    batch: list[tuple[str, Contribution]] = []

    def flush() -> None:
        if not batch:
            return
        ids = store.add_drawings([item[1] for item in batch], import_keys=[item[0] for item in batch])
        report.copied += len(ids)
        report.already_there += len(batch) - len(ids)
        batch.clear()

    for row in rows:
        key = f"round1:{row['id']}:{row['created']}"
        try:
            contribution = _round1_contribution(row, Path(drawings_dir), render)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
            report.unreadable.append(f"{row['id']}: {type(error).__name__}: {error}")
            continue
        batch.append((key, contribution))
        if len(batch) >= IMPORT_BATCH:
            flush()
    flush()
    return report
