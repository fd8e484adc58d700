"""The drawing store on both backends: migrations, contributions, review, gallery, export, and copying a round-1 store."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from webapp_support import BACKENDS
from PIL import Image
from webapp_support import CROSS, DRAWINGS, SQUARE, ZIGZAG

from preprocessing.strokes import drawing_to_bitmap, to_uint8
from webapp.store import Contribution, IdempotencyConflict, Store, StoreError, open_store
from webapp.store.base import bitmap_png, migrations
from webapp.store.throwaway import ThrowawayCluster
from webapp.store.transfer import export_drawings, import_round1
from webapp.validation import strokes_bitmap

# Round 1's schema, exactly as round 1's webapp/db.py created it: the fixture store is made with it.
ROUND1_SCHEMA = """
CREATE TABLE IF NOT EXISTS drawing (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label TEXT NOT NULL,
    created TEXT NOT NULL,
    model_version TEXT,
    guess TEXT,
    guess_probability REAL,
    strokes_path TEXT NOT NULL,
    bitmap_path TEXT NOT NULL,
    image_path TEXT,
    n_strokes INTEGER NOT NULL,
    n_points INTEGER NOT NULL,
    client_hash TEXT
);
CREATE INDEX IF NOT EXISTS drawing_label ON drawing (label);
"""


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def store(backend: str, database_url: str | None, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store of the backend."""
    opened = open_store({"DATABASE_URL": database_url, "DATABASE": str(tmp_path / "store.sqlite3")})
    opened.migrate()
    yield opened
    opened.close()


def contribution(label: str = "sock", strokes: list = SQUARE, guess: str | None = None, **fields) -> Contribution:
    """A checked contribution of these strokes."""
    arrays = [np.array([stroke[0], stroke[1]], dtype=np.float64).T for stroke in strokes]
    return Contribution(label=label, strokes=arrays, bitmap=strokes_bitmap(arrays), guess=guess,
                        guess_probability=None if guess is None else 0.9, model_version="v1",
                        model_set="accessories", **fields)


def test_migrations_are_numbered_and_applied_once(store):
    """Both backends have the same numbered migrations; a second migrate applies nothing."""
    assert [version for version, _, _ in migrations("sqlite")] == [version for version, _, _ in migrations("postgres")]
    assert store.schema_version() == len(migrations(store.dialect))
    assert store.migrate() == []


def test_add_drawings_stores_everything_in_the_row(store):
    """Strokes, PNG, image and the model's guess come back as stored."""
    upload = bitmap_png(np.ones((28, 28), np.float32))
    [drawing_id] = store.add_drawings([contribution("bowtie", CROSS, guess="other", upload=upload,
                                                    upload_type="PNG", client_hash="abc")])
    drawing = store.get_drawing(drawing_id)
    assert drawing["label"] == "bowtie" and drawing["status"] == "pending"
    assert drawing["guess"] == "other" and drawing["guess_probability"] == 0.9
    assert (drawing["model_set"], drawing["model_version"]) == ("accessories", "v1")
    assert drawing["strokes"] == [[[float(v) for v in stroke[0]], [float(v) for v in stroke[1]]] for stroke in CROSS]
    assert (drawing["n_strokes"], drawing["n_points"]) == (2, 4)
    assert datetime.fromisoformat(drawing["created"]).tzinfo is not None
    assert store.drawing_image(drawing_id) == (upload, "PNG")
    png = store.drawing_png(drawing_id)
    with Image.open(io.BytesIO(png)) as image:
        np.testing.assert_array_equal(np.asarray(image), to_uint8(drawing_to_bitmap(CROSS)))
    assert store.get_drawing(drawing_id + 1) is None and store.drawing_png(drawing_id + 1) is None


def test_add_drawings_is_all_or_none(store):
    """A batch whose fourth drawing cannot be inserted leaves no row; ids are never reused afterwards."""
    good = [contribution() for _ in range(3)]
    broken = contribution(label=None)  # NOT NULL violated inside the transaction.
    with pytest.raises(Exception):
        store.add_drawings([*good, broken, contribution()])
    assert store.count_drawings() == 0
    ids = store.add_drawings(good)
    assert len(ids) == 3 and ids.created
    with pytest.raises(ValueError):
        store.add_drawings([])


def test_idempotency_key_returns_the_first_ids(store):
    """Same key, same drawings: same ids, nothing stored; same key, other drawings: IdempotencyConflict."""
    first = store.add_drawings([contribution(), contribution("bowtie", CROSS)], idempotency_key="k")
    again = store.add_drawings([contribution(), contribution("bowtie", CROSS)], idempotency_key="k")
    assert list(again) == list(first) and first.created and not again.created
    with pytest.raises(IdempotencyConflict):
        store.add_drawings([contribution("purse")], idempotency_key="k")
    assert store.count_drawings() == 2


def test_concurrent_requests_with_one_key_store_once(store):
    """Eight threads send the same keyed batch at once: one stores it, all get the same ids."""
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        try:
            results.append(list(store.add_drawings([contribution(), contribution("purse")], idempotency_key="same")))
        except BaseException as error:  # Reported below: a thread's exception is otherwise lost.
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({tuple(ids) for ids in results}) == 1 and len(results) == 8
    assert store.count_drawings() == 2


def test_counts_by_label_lists_every_category(store):
    """Every category appears (0 if none); other stored labels are appended; status filters."""
    store.add_drawings([contribution("sock"), contribution("sock"), contribution("legacy-hat")])
    assert store.counts_by_label(["bowtie", "sock"]) == {"bowtie": 0, "sock": 2, "legacy-hat": 1}
    assert store.counts_by_label(["sock"], status="approved") == {"sock": 0}
    assert store.count_drawings() == 3 and store.count_drawings("pending") == 3


def test_counts_follow_every_write_without_counting_rows(store):
    """The running totals agree with the rows after inserts, reviews and concurrent writers, and are what is read."""
    ids = store.add_drawings([contribution("sock"), contribution("sock"), contribution("bowtie", CROSS)])
    store.set_status(ids[:2], "approved", "alice")
    store.set_status(ids[:1], "rejected", "bob")
    store.set_status(ids[:1], "rejected", "bob")  # No change: no count moves.
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        store.add_drawings([contribution("purse"), contribution("sock")])

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.reading() as connection:
        scanned = {(row["label"], row["status"]): row["n"] for row in store._execute(
            connection, "SELECT label, status, COUNT(*) AS n FROM drawing GROUP BY label, status")}
        totals = {(row["label"], row["status"]): int(row["n"]) for row in store._execute(
            connection, "SELECT label, status, SUM(n) AS n FROM drawing_count GROUP BY label, status")}
    assert {key: value for key, value in totals.items() if value} == scanned
    assert scanned == {("sock", "rejected"): 1, ("sock", "approved"): 1, ("bowtie", "pending"): 1,
                       ("purse", "pending"): 4, ("sock", "pending"): 4}
    assert store.count_drawings() == 11 and store.count_drawings("pending") == 9
    assert store.counts_by_label(["bowtie", "sock"]) == {"bowtie": 1, "sock": 6, "purse": 4}
    assert store.counts_by_label(["sock"], status="approved") == {"sock": 1}
    # What the store answers comes from the totals, not from counting rows.
    with store.transaction() as connection:
        store._execute(connection, "INSERT INTO drawing_count (label, status, slot, n) VALUES ('purse', 'pending', 99, 1000)")
    assert store.count_drawings("pending") == 1009


def test_migration_2_backfills_the_counts_of_drawings_already_stored(tmp_path, monkeypatch):
    """A store at migration 1 with drawings gets totals that count them when it migrates."""
    from webapp.store import base

    path = tmp_path / "old.sqlite3"
    old = open_store({"DATABASE": str(path)})
    with monkeypatch.context() as patched:
        patched.setattr(base, "migrations", lambda dialect: migrations(dialect)[:1])  # As round 2 left it.
        old.migrate()
    with old.transaction() as connection:
        for label in ("sock", "sock", "umbrella"):
            old._execute(connection, "INSERT INTO drawing (label, created, strokes, n_strokes, n_points, bitmap)"
                                     " VALUES (?, '2026-01-01T00:00:00+00:00', '[]', 0, 0, x'00')", (label,))
    old.close()
    migrated = open_store({"DATABASE": str(path)})
    assert migrated.migrate() == [name for _, name, _ in migrations("sqlite")[1:]]
    assert migrated.counts_by_label(["sock"]) == {"sock": 2, "umbrella": 1}
    assert migrated.count_drawings("pending") == 3
    migrated.close()


def test_idempotency_keys_are_forgotten_after_a_day(store):
    """A key older than a day is purged; a recent one still returns the first ids."""
    from datetime import timedelta

    old = store.add_drawings([contribution()], idempotency_key="yesterday")
    recent = store.add_drawings([contribution("purse")], idempotency_key="today")
    with store.transaction() as connection:
        store._execute(connection, "UPDATE idempotency_key SET created = ? WHERE key = 'yesterday'",
                       (store._timestamp(datetime.now(timezone.utc) - timedelta(days=1, minutes=1)),))
    assert store.forget_idempotency_keys(datetime.now(timezone.utc) - timedelta(days=1)) == 1
    assert list(store.add_drawings([contribution("purse")], idempotency_key="today")) == list(recent)
    again = store.add_drawings([contribution()], idempotency_key="yesterday")
    assert again.created and list(again) != list(old)


def test_review_queue_puts_disagreements_first(store):
    """Pending only; label != guess, "other" and no guess come before agreements; paged."""
    ids = store.add_drawings([
        contribution("sock", guess="sock"),        # Agreement.
        contribution("sock", guess="bowtie"),      # Disagreement.
        contribution("purse", guess="purse"),      # Agreement.
        contribution("purse", guess="other"),      # "None of these".
        contribution("purse", guess=None),         # The model could not run.
        contribution("sock", guess="sock"),        # Approved below: not in the queue.
    ])
    store.set_status([ids[5]], "approved", "alice")
    queue = store.review_queue(limit=10)
    assert [drawing["id"] for drawing in queue] == [ids[1], ids[3], ids[4], ids[0], ids[2]]
    assert [drawing["disagreement"] for drawing in queue] == [True, True, True, False, False]
    assert queue[0]["strokes"] and queue[0]["guess"] == "bowtie" and queue[0]["status"] == "pending"
    assert [drawing["id"] for drawing in store.review_queue(limit=2, offset=2)] == [ids[4], ids[0]]


def test_review_queue_puts_reference_doubts_first(store):
    """A drawing the reference doubts joins the model's disagreements, though the model agrees; no opinion is no doubt."""
    house = [{"label": "house", "probability": 0.9}, {"label": "barn", "probability": 0.09},
             {"label": "church", "probability": 0.01}]
    ids = store.add_drawings([
        contribution("umbrella", guess="umbrella", reference_doubts=False),
        contribution("umbrella", guess="umbrella"),
        contribution("purse", guess="purse", reference=house, reference_doubts=True),
        contribution("other", guess="other", name="house", reference=house, reference_doubts=False),
    ])
    queue = store.review_queue(limit=10)
    assert [drawing["id"] for drawing in queue] == [ids[2], ids[0], ids[1], ids[3]]
    assert queue[0]["reference"] == house and queue[0]["reference_doubts"] is True and queue[0]["name"] is None
    assert (queue[2]["reference"], queue[2]["reference_doubts"]) == (None, None)
    assert queue[3]["name"] == "house" and queue[3]["reference_doubts"] is False


def test_migration_2_keeps_the_rows_stored_before_it(store, monkeypatch):
    """A store at schema 1 with a drawing in it: migrating adds name and reference, the drawing reads as before."""
    from webapp.store import base

    every = base.migrations(store.dialect)
    with store.transaction() as connection:  # Back to schema 1: the fixture's store is already migrated.
        store._execute(connection, "DROP TABLE review")
        store._execute(connection, "DROP TABLE drawing")
        store._execute(connection, "DROP TABLE idempotency_key")
        store._execute(connection, "DROP TABLE rate_limit")
        store._execute(connection, "DROP TABLE drawing_count")
        if store.dialect == "postgres":  # Its counting triggers' functions outlive the tables.
            store._execute(connection, "DROP FUNCTION drawing_count_change, drawing_count_clear")
        store._execute(connection, "DELETE FROM schema_migration")
    monkeypatch.setattr(base, "migrations", lambda dialect: every[:1])
    assert store.migrate() == [every[0][1]]
    with store.transaction() as connection:
        store._execute(connection, "INSERT INTO drawing (label, created, guess, guess_probability, strokes, n_strokes,"
                                   " n_points, bitmap) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       ("sock", store._timestamp(datetime.now(timezone.utc)), "sock", 0.9,
                        json.dumps(SQUARE), 1, 5, bitmap_png(strokes_bitmap(contribution().strokes))))
    monkeypatch.setattr(base, "migrations", lambda dialect: every)
    assert store.migrate() == [name for _, name, _ in every[1:]]
    [kept] = store.review_queue()
    assert (kept["label"], kept["guess"], kept["strokes"]) == ("sock", "sock", SQUARE)
    assert (kept["name"], kept["reference"], kept["reference_doubts"]) == (None, None, None)
    assert store.schema_version() == len(every)


def test_set_status_records_each_review(store):
    """Changing many at once counts only real changes and keeps who and when for each; bad input is ValueError."""
    ids = store.add_drawings([contribution() for _ in range(3)])
    assert store.set_status([ids[0], ids[1], ids[1]], "approved", "alice") == 2
    assert store.set_status(ids, "approved", "bob") == 1  # Two were approved already.
    assert store.set_status([ids[0]], "rejected", "bob") == 1
    history = store.reviews(ids[0])
    assert [(review["status"], review["reviewer"]) for review in history] == [("approved", "alice"), ("rejected", "bob")]
    assert all(datetime.fromisoformat(review["at"]).tzinfo for review in history)
    assert store.set_status([], "approved", "bob") == 0
    assert store.set_status([999_999], "approved", "bob") == 0
    with pytest.raises(ValueError):
        store.set_status(ids, "deleted", "bob")
    with pytest.raises(ValueError):
        store.set_status(ids, "approved", "")
    assert store.count_drawings("rejected") == 1 and store.count_drawings("approved") == 2


def test_gallery_shows_approved_only_newest_first(store):
    """Pending and rejected never appear; per label or all; before_id pages on; the PNG is approved-only on request."""
    ids = store.add_drawings([contribution("sock"), contribution("purse"), contribution("sock"),
                              contribution("sock"), contribution("sock")])
    store.set_status([ids[0], ids[1], ids[2], ids[4]], "approved", "alice")
    store.set_status([ids[4]], "rejected", "alice")
    assert [drawing["id"] for drawing in store.gallery("sock")] == [ids[2], ids[0]]
    assert [drawing["id"] for drawing in store.gallery()] == [ids[2], ids[1], ids[0]]
    assert [drawing["id"] for drawing in store.gallery("sock", before_id=ids[2])] == [ids[0]]
    assert [drawing["id"] for drawing in store.gallery(limit=1)] == [ids[2]]
    assert store.gallery("umbrella") == []
    assert store.drawing_png(ids[0], status="approved") is not None
    assert store.drawing_png(ids[3], status="approved") is None  # Pending.
    assert store.drawing_png(ids[4], status="approved") is None  # Rejected.
    approved = list(store.approved_drawings())
    assert [drawing["id"] for drawing in approved] == [ids[0], ids[1], ids[2]]
    assert all(drawing["png"].startswith(b"\x89PNG") for drawing in approved)


def test_export_round_trip(store, tmp_path):
    """Quick Draw's layout: ndjson lines and npy rows in the same order, per label; approved only by default."""
    stored = [("sock", SQUARE), ("bowtie", CROSS), ("sock", ZIGZAG), ("sock", CROSS)]
    ids = store.add_drawings([contribution(label, strokes) for label, strokes in stored])
    store.set_status(ids[:3], "approved", "alice")

    result = export_drawings(store, tmp_path / "export")
    assert result == {"exported": {"sock": 2, "bowtie": 1}, "skipped": 0}
    out = tmp_path / "export"
    assert sorted(path.name for path in (out / "simplified").iterdir()) == ["bowtie.ndjson", "sock.ndjson"]
    socks = [json.loads(line) for line in (out / "simplified" / "sock.ndjson").read_text().splitlines()]
    assert [line["key_id"] for line in socks] == [str(ids[0]), str(ids[2])]
    for line, strokes in zip(socks, [SQUARE, ZIGZAG]):
        assert line["word"] == "sock" and line["countrycode"] == ""
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
    assert export_drawings(store, tmp_path / "all", status=None)["exported"] == {"sock": 3, "bowtie": 1}


def test_exported_strokes_render_like_the_stored_bitmap(store, tmp_path):
    """Re-rendering an exported (rounded, simplified) drawing gives nearly the bitmap stored with it."""
    store.add_drawings([contribution("purse", strokes) for strokes in DRAWINGS.values()])
    export_drawings(store, tmp_path, status="pending")
    lines = (tmp_path / "simplified" / "purse.ndjson").read_text().splitlines()
    bitmaps = np.load(tmp_path / "numpy_bitmap" / "purse.npy").astype(int)
    for line, bitmap in zip(lines, bitmaps):
        rerendered = to_uint8(drawing_to_bitmap(json.loads(line)["drawing"])).reshape(-1).astype(int)
        assert np.abs(rerendered - bitmap).mean() < 3  # Integer rounding moves edges by well under a pixel.


def test_export_command_reads_the_database(make_app, tmp_path):
    """`flask export-drawings --status approved` exports approved drawings only, from the database."""
    app = make_app()
    client = app.test_client()
    ids = [client.post("/api/drawings", json={"label": "sock", "strokes": strokes}).get_json()["id"]
           for strokes in (SQUARE, CROSS)]
    from webapp.store import get_store

    get_store(app).set_status([ids[1]], "approved", "alice")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-drawings", "--out", str(tmp_path / "out"), "--status", "approved"])
    assert result.exit_code == 0, result.output
    assert "Exported 1 approved drawings" in result.output
    assert json.loads((tmp_path / "out" / "simplified" / "sock.ndjson").read_text())["key_id"] == str(ids[1])
    result = runner.invoke(args=["export-drawings", "--out", str(tmp_path / "all"), "--status", "all"])
    assert "Exported 2 all drawings" in result.output
    assert "Initialized the database" in runner.invoke(args=["init-db"]).output


def make_round1_store(folder: Path) -> tuple[Path, list[dict]]:
    """A store as round 1 left it: its schema, rows pointing at files under drawings/<label>/, one image."""
    database, drawings_dir = folder / "doodles.sqlite3", folder / "drawings"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.executescript(ROUND1_SCHEMA)
        for number, (label, strokes) in enumerate([("sock", SQUARE), ("bowtie", CROSS), ("sock", ZIGZAG)]):
            created = datetime(2026, 11, 20, 10, number, tzinfo=timezone.utc).isoformat()
            (drawings_dir / label).mkdir(parents=True, exist_ok=True)
            drawing_id = number + 1
            record = {"word": label, "created": created,
                      "drawing": [[[float(v) for v in stroke[0]], [float(v) for v in stroke[1]]] for stroke in strokes]}
            (drawings_dir / label / f"{drawing_id}.ndjson").write_text(json.dumps(record) + "\n")
            png = bitmap_png(drawing_to_bitmap(strokes))
            (drawings_dir / label / f"{drawing_id}.png").write_bytes(png)
            image_path = None
            if number == 1:
                image_path = f"{label}/{drawing_id}.upload.png"
                (drawings_dir / image_path).write_bytes(png)
            connection.execute(
                "INSERT INTO drawing (id, label, created, model_version, guess, guess_probability, strokes_path,"
                " bitmap_path, image_path, n_strokes, n_points, client_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (drawing_id, label, created, "round1", "sock", 0.5, f"{label}/{drawing_id}.ndjson",
                 f"{label}/{drawing_id}.png", image_path, len(strokes), sum(len(s[0]) for s in strokes), "h"),
            )
            written.append({"label": label, "created": created, "strokes": record["drawing"], "png": png,
                            "image": png if image_path else None})
        connection.commit()
    return database, written


def test_round1_store_is_copied_once_and_whole(store, tmp_path):
    """Every row with its files lands in the store (time, strokes, PNG, image kept); a second run copies nothing."""
    database, written = make_round1_store(tmp_path / "round1")
    report = import_round1(store, database, tmp_path / "round1" / "drawings", render=strokes_bitmap)
    assert (report.copied, report.already_there, report.unreadable) == (3, 0, [])
    copied = sorted(store.drawings(status=None), key=lambda drawing: drawing["id"])
    for drawing, original in zip(copied, written):
        assert drawing["label"] == original["label"] and drawing["status"] == "pending"
        assert datetime.fromisoformat(drawing["created"]) == datetime.fromisoformat(original["created"])
        assert drawing["strokes"] == original["strokes"]
        assert drawing["png"] == original["png"]
        assert drawing["model_set"] == "accessories" and drawing["model_version"] == "round1"
    assert store.drawing_image(copied[1]["id"]) == (written[1]["image"], "PNG")
    again = import_round1(store, database, tmp_path / "round1" / "drawings", render=strokes_bitmap)
    assert (again.copied, again.already_there) == (0, 3)
    assert store.count_drawings() == 3


def test_round1_rows_with_lost_files_are_reported(store, tmp_path):
    """A lost strokes file is reported (the row stays in the old store); a lost PNG is re-rendered from the strokes."""
    database, written = make_round1_store(tmp_path / "round1")
    drawings_dir = tmp_path / "round1" / "drawings"
    (drawings_dir / "sock" / "1.ndjson").unlink()
    (drawings_dir / "bowtie" / "2.png").unlink()
    report = import_round1(store, database, drawings_dir, render=strokes_bitmap)
    assert report.copied == 2 and len(report.unreadable) == 1 and report.unreadable[0].startswith("1:")
    rerendered = [drawing for drawing in store.drawings(status=None) if drawing["label"] == "bowtie"][0]
    assert rerendered["png"] == written[1]["png"]


def test_migrate_store_command(make_app, tmp_path):
    """`flask migrate-store --from` copies a round-1 store into the configured one; exit 1 names unreadable rows."""
    database, _ = make_round1_store(tmp_path / "round1")
    runner = make_app().test_cli_runner()
    result = runner.invoke(args=["migrate-store", "--from", str(database)])
    assert result.exit_code == 0, result.output
    assert "Copied 3 drawings" in result.output
    result = runner.invoke(args=["migrate-store", "--from", str(database)])
    assert "Copied 0 drawings" in result.output and "3 were already there" in result.output
    (tmp_path / "round1" / "drawings" / "sock" / "3.ndjson").unlink()
    (tmp_path / "round1" / "doodles-copy.sqlite3").write_bytes(database.read_bytes())
    result = runner.invoke(args=["migrate-store", "--from", str(tmp_path / "round1" / "doodles-copy.sqlite3")])
    assert result.exit_code == 1 and "drawing 3" in result.output


def test_a_round1_file_as_the_store_is_refused_with_instructions(tmp_path):
    """Opening round 1's file as the SQLite store says how to migrate instead of mixing schemas."""
    database, _ = make_round1_store(tmp_path)
    store = open_store({"DATABASE": str(database)})
    with pytest.raises(StoreError, match="migrate-store"):
        store.migrate()


def test_database_url_must_be_postgresql(tmp_path):
    """A DATABASE_URL for another database is refused rather than silently ignored."""
    with pytest.raises(StoreError, match="postgresql://"):
        open_store({"DATABASE_URL": "mysql://db/doodles", "DATABASE": str(tmp_path / "x.sqlite3")})


def test_postgres_app_servers_starting_together_migrate_once(postgres_cluster: ThrowawayCluster):
    """Four stores migrating one new database at the same moment: one applies the migration, none fails."""
    url = postgres_cluster.create_database("migrate_together")
    stores = [open_store({"DATABASE_URL": url}) for _ in range(4)]
    applied: list[list[str]] = []
    barrier = threading.Barrier(4)

    def migrate(store: Store) -> None:
        barrier.wait()
        applied.append(store.migrate())

    threads = [threading.Thread(target=migrate, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    postgres_cluster.drop_database("migrate_together")
    assert sorted(len(names) for names in applied) == [0, 0, 0, len(migrations("postgres"))]


def test_sqlite_store_uses_wal(tmp_path):
    """The SQLite file is in WAL mode, so readers never wait for the writer."""
    open_store({"DATABASE": str(tmp_path / "wal.sqlite3")}).migrate()
    with contextlib.closing(sqlite3.connect(tmp_path / "wal.sqlite3")) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_url_in_the_environment_selects_postgresql(monkeypatch, web_model, postgres_app_url):
    """DATABASE_URL (the hosting convention) alone makes a production-style app use PostgreSQL; unset, SQLite."""
    from webapp import create_app
    from webapp.store import get_store
    from webapp.store.postgres import PostgresStore
    from webapp.store.sqlite import SQLiteStore

    monkeypatch.setenv("FLASK_SECRET_KEY", "store-tests")
    monkeypatch.setenv("FLASK_MODEL_DIR", str(web_model.root))
    monkeypatch.setenv("FLASK_DATABASE", str(web_model.root.parent / "env.sqlite3"))
    monkeypatch.setenv("DATABASE_URL", postgres_app_url)
    app = create_app()
    try:
        assert isinstance(get_store(app), PostgresStore)
    finally:
        get_store(app).close()
    monkeypatch.delenv("DATABASE_URL")
    assert isinstance(get_store(create_app()), SQLiteStore)
