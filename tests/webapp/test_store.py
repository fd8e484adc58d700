"""The drawing store: all-or-nothing contributions, the export for training, sweeping orphans."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from webapp_support import CROSS, DRAWINGS, SQUARE, ZIGZAG, store_snapshot

from preprocessing.strokes import drawing_to_bitmap, to_uint8
from webapp import db as database
from webapp import store


def contribute(client, label: str, strokes: list) -> int:
    """Store a drawing through the API and return its id."""
    response = client.post("/api/drawings", json={"label": label, "strokes": strokes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_database_uses_wal_and_survives_reinitialisation(app, client, runner):
    """The database is in WAL mode, and `flask init-db` keeps the drawings already stored."""
    contribute(client, "sock", SQUARE)
    with sqlite3.connect(app.config["DATABASE"]) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "Initialized the database" in result.output
    assert store_snapshot(app)[0] == 1


def test_a_failed_contribution_leaves_no_row_and_no_file(app, client, monkeypatch):
    """If the files cannot be moved into place the row is rolled back and the files removed."""
    contribute(client, "sock", SQUARE)
    before = store_snapshot(app)
    renames = []

    def failing_replace(source, target):
        renames.append(target)
        if len(renames) == 2:  # The first file is in place, the second fails: the worst moment.
            raise OSError("disk full")
        os.rename(source, target)

    monkeypatch.setattr(store.os, "replace", failing_replace)
    response = client.post("/api/drawings", json={"label": "sock", "strokes": CROSS})
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error"}
    assert store_snapshot(app) == before
    monkeypatch.undo()
    # The id the failed contribution held is not skipped by the next one's files.
    next_id = contribute(client, "sock", CROSS)
    assert f"sock/{next_id}.ndjson" in store_snapshot(app)[1]


def test_export_round_trip(app, client, runner, tmp_path):
    """export-drawings writes Quick Draw's layout: ndjson lines and npy rows in the same order, per label."""
    stored = [("sock", SQUARE), ("bowtie", CROSS), ("sock", ZIGZAG), ("sock", CROSS)]
    ids = [contribute(client, label, strokes) for label, strokes in stored]
    # A row whose files vanished is left out, not exported half.
    with sqlite3.connect(app.config["DATABASE"]) as connection:
        lost_path = connection.execute("SELECT bitmap_path FROM drawing WHERE id = ?", (ids[3],)).fetchone()[0]
    (Path(app.config["DRAWINGS_DIR"]) / lost_path).unlink()

    out = tmp_path / "export"
    result = runner.invoke(args=["export-drawings", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped 1" in result.output

    assert sorted(path.name for path in (out / "simplified").iterdir()) == ["bowtie.ndjson", "sock.ndjson"]
    socks = [json.loads(line) for line in (out / "simplified" / "sock.ndjson").read_text().splitlines()]
    assert [line["key_id"] for line in socks] == [str(ids[0]), str(ids[2])]
    for line, strokes in zip(socks, [SQUARE, ZIGZAG]):
        assert line["word"] == "sock"
        assert line["countrycode"] == ""
        assert line["timestamp"].endswith(" UTC")
        assert isinstance(line["recognized"], bool)
        # Quick Draw's normalisation: integers, top-left at 0, longest side 255.
        xs = [x for stroke in line["drawing"] for x in stroke[0]]
        ys = [y for stroke in line["drawing"] for y in stroke[1]]
        assert all(isinstance(value, int) for value in xs + ys)
        assert min(xs) == 0 and min(ys) == 0 and max(max(xs), max(ys)) == 255
        assert len(line["drawing"]) == len(strokes)

    bitmaps = np.load(out / "numpy_bitmap" / "sock.npy")
    assert bitmaps.dtype == np.uint8 and bitmaps.shape == (2, 784)
    for row, strokes in zip(bitmaps, [SQUARE, ZIGZAG]):
        np.testing.assert_array_equal(row, to_uint8(drawing_to_bitmap(strokes)).reshape(-1))
    assert np.load(out / "numpy_bitmap" / "bowtie.npy").shape == (1, 784)


def test_exported_strokes_render_like_the_stored_bitmap(app, client, tmp_path):
    """Re-rendering an exported (rounded, simplified) drawing gives nearly the bitmap stored with it."""
    for strokes in DRAWINGS.values():
        contribute(client, "purse", strokes)
    with app.app_context():
        store.export_drawings(database.get_db(), Path(app.config["DRAWINGS_DIR"]), tmp_path)
    lines = (tmp_path / "simplified" / "purse.ndjson").read_text().splitlines()
    bitmaps = np.load(tmp_path / "numpy_bitmap" / "purse.npy").astype(int)
    for line, bitmap in zip(lines, bitmaps):
        rerendered = to_uint8(drawing_to_bitmap(json.loads(line)["drawing"])).reshape(-1).astype(int)
        assert np.abs(rerendered - bitmap).mean() < 3  # Integer rounding moves edges by well under a pixel.


def test_sweep_deletes_orphans_only(app, client, runner):
    """Files no row points to are deleted; referenced files and young temporary files stay."""
    kept_id = contribute(client, "sock", SQUARE)
    drawings_dir = Path(app.config["DRAWINGS_DIR"])
    orphan = drawings_dir / "sock" / "999.ndjson"
    orphan.write_text("{}\n")
    old_temporary = drawings_dir / "sock" / f"{store.TEMPORARY_PREFIX}old.png"
    old_temporary.write_bytes(b"partial")
    an_hour_and_more_ago = time.time() - 2 * app.config["SWEEP_MIN_AGE_SECONDS"]
    os.utime(old_temporary, (an_hour_and_more_ago, an_hour_and_more_ago))
    young_temporary = drawings_dir / "bowtie" / f"{store.TEMPORARY_PREFIX}young.png"
    young_temporary.parent.mkdir()
    young_temporary.write_bytes(b"being written")

    dry = runner.invoke(args=["sweep-drawings", "--dry-run"])
    assert dry.exit_code == 0 and "Would delete 2" in dry.output
    assert orphan.exists()

    result = runner.invoke(args=["sweep-drawings"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2" in result.output
    assert not orphan.exists() and not old_temporary.exists()
    assert young_temporary.exists()
    assert store_snapshot(app)[1] == sorted(
        [f"sock/{kept_id}.ndjson", f"sock/{kept_id}.png", f"bowtie/{young_temporary.name}"]
    )


def test_transaction_rolls_back_on_error(tmp_path):
    """The store's transaction helper commits on success and rolls back on any exception."""
    path = tmp_path / "db.sqlite3"
    database.init_db(path)
    connection = database.connect(path, 1000)
    with pytest.raises(RuntimeError):
        with database.transaction(connection):
            connection.execute("INSERT INTO drawing (label, created, strokes_path, bitmap_path, n_strokes, n_points)"
                               " VALUES ('sock', 'now', 'a', 'b', 1, 1)")
            raise RuntimeError("boom")
    assert connection.execute("SELECT COUNT(*) FROM drawing").fetchone()[0] == 0
    assert not connection.in_transaction
    connection.close()
