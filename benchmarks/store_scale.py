"""The store at a million drawings: ``python -m benchmarks --only store_scale [--scale-rows N]``.

Loads N drawings (real Quick Draw strokes and their PNGs, cycled) into a throwaway durable
PostgreSQL with COPY, the way a bulk import would, then measures at that size: the store's
own contributions/s (8 writer threads, no HTTP, no model), the counts /api/health and
/api/drawings/stats read, the review queue's first page, and the export for retraining
(``flask export-drawings``' ``export_drawings`` of every approved drawing).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_ROWS = 1_000_000
# A backlog of 300,000 waiting for moderators at a million, and a tenth approved: the export
# pages through the whole table by id (approved rows are spread evenly over it) while
# keeping its run to minutes on this machine (it decodes every PNG: 360 to 820 rows/s here).
STATUS_SHARES = (("approved", 0.1), ("pending", 0.3), ("rejected", 0.6))
COPY_COLUMNS = ("label, status, created, model_set, model_version, guess, guess_probability, strokes, n_strokes,"
                " n_points, bitmap")


def _templates() -> list[tuple[Any, ...]]:
    """One row per sample drawing (label, strokes JSON, counts, PNG), as add_drawings would store it."""
    import numpy as np

    from benchmarks.fixtures import sample_drawings
    from webapp.store.base import bitmap_png, strokes_json
    from webapp.validation import strokes_bitmap

    rows = []
    for index, (label, strokes) in enumerate(sample_drawings()):
        arrays = [np.array([stroke[0], stroke[1]], dtype=np.float64).T for stroke in strokes]
        # Every seventh the model got wrong, so the review queue has disagreements to put first.
        guess = "other" if index % 7 == 0 else label
        rows.append((label, guess, json.dumps(strokes_json(arrays)), len(arrays), sum(len(a) for a in arrays),
                     bitmap_png(strokes_bitmap(arrays))))
    return rows


def load_rows(url: str, count: int) -> float:
    """COPY ``count`` drawings into the store at ``url``; return the seconds it took."""
    import psycopg

    templates = _templates()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    statuses = [status for status, share in STATUS_SHARES for _ in range(int(share * 10))]
    began = time.perf_counter()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY drawing ({COPY_COLUMNS}) FROM STDIN") as copy:
            for index in range(count):
                label, guess, strokes, n_strokes, n_points, png = templates[index % len(templates)]
                copy.write_row((label, statuses[index % len(statuses)], start + timedelta(seconds=index),
                                "accessories", "bench", guess, 0.9, strokes, n_strokes, n_points, png))
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE drawing")
    return time.perf_counter() - began


def _timed(call: Any, repeats: int = 5) -> tuple[float, Any]:
    """The median milliseconds of ``repeats`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 2), result


def bench_store_scale(rows: int = DEFAULT_ROWS) -> dict[str, Any]:
    """Load ``rows`` drawings into PostgreSQL and measure writes, counts, the review queue and the export."""
    from benchmarks.server import store_inserts
    from webapp.store import open_store
    from webapp.store.throwaway import ThrowawayCluster
    from webapp.store.transfer import export_drawings

    cluster = ThrowawayCluster(fast=False)
    try:
        url = cluster.create_database("scale")
        store = open_store({"DATABASE_URL": url})
        store.migrate()
        load_seconds = load_rows(url, rows)
        print(f"  loaded {rows:,} drawings in {load_seconds:.0f} s", flush=True)
        count_ms, total = _timed(store.count_drawings)
        stats_ms, _ = _timed(lambda: store.counts_by_label(["bowtie", "sock"]))
        queue_ms, page = _timed(lambda: store.review_queue(50))
        with store.reading() as connection:
            size = connection.execute("SELECT pg_total_relation_size('drawing') AS bytes").fetchone()["bytes"]
        store.close()
        inserts = store_inserts({"DATABASE_URL": url})
        print(f"  counts {count_ms} ms, review page {queue_ms} ms, inserts {inserts['drawings_per_second']}/s",
              flush=True)
        store = open_store({"DATABASE_URL": url})
        with tempfile.TemporaryDirectory() as folder:
            began = time.perf_counter()
            exported = export_drawings(store, Path(folder), "approved")
            export_seconds = time.perf_counter() - began
        store.close()
        exported_count = sum(exported["exported"].values())
        print(f"  exported {exported_count:,} approved drawings in {export_seconds:.0f} s", flush=True)
    finally:
        cluster.destroy()
    return {
        "rows": rows, "statuses": dict(STATUS_SHARES), "load_seconds": round(load_seconds, 1),
        "load_rows_per_second": round(rows / load_seconds), "table_bytes": size, "count_total": total,
        "count_ms": count_ms, "stats_ms": stats_ms, "review_first_page_ms": queue_ms,
        "review_first_page_rows": len(page), "store_inserts": inserts,
        "export": {"seconds": round(export_seconds, 1), "drawings": exported_count, "skipped": exported["skipped"],
                   "drawings_per_second": round(exported_count / export_seconds)},
    }
