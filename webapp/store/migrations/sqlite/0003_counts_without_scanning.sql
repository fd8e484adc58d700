-- Counts for /api/health and /api/drawings/stats without scanning the drawing table: one
-- running total per label and status, kept by triggers (so every writer keeps it) and
-- backfilled here from what is already stored. SQLite has one writer at a time, so one slot.
-- Trigger bodies are written on one line (the runner splits at semicolons that end a line).
CREATE TABLE drawing_count (
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    slot INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (label, status, slot)
);
INSERT INTO drawing_count (label, status, slot, n) SELECT label, status, 0, COUNT(*) FROM drawing GROUP BY label, status;
CREATE TRIGGER drawing_count_insert AFTER INSERT ON drawing BEGIN INSERT INTO drawing_count (label, status, slot, n) VALUES (NEW.label, NEW.status, 0, 1) ON CONFLICT (label, status, slot) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER drawing_count_delete AFTER DELETE ON drawing BEGIN INSERT INTO drawing_count (label, status, slot, n) VALUES (OLD.label, OLD.status, 0, -1) ON CONFLICT (label, status, slot) DO UPDATE SET n = n - 1; END;
CREATE TRIGGER drawing_count_update AFTER UPDATE OF label, status ON drawing WHEN OLD.label IS NOT NEW.label OR OLD.status IS NOT NEW.status BEGIN INSERT INTO drawing_count (label, status, slot, n) VALUES (NEW.label, NEW.status, 0, 1) ON CONFLICT (label, status, slot) DO UPDATE SET n = n + 1; INSERT INTO drawing_count (label, status, slot, n) VALUES (OLD.label, OLD.status, 0, -1) ON CONFLICT (label, status, slot) DO UPDATE SET n = n - 1; END;

-- Idempotency keys are kept a day (webapp/store/base.py); this index makes purging them a range delete.
CREATE INDEX idempotency_key_created ON idempotency_key (created);

-- The review queue's order (webapp/store/base.py review_queue), as an index over the pending
-- drawings only: its first page is read from the index instead of sorting the whole backlog.
CREATE INDEX drawing_review_order ON drawing ((CASE WHEN guess IS NULL OR guess <> label THEN 0 ELSE 1 END), id)
    WHERE status = 'pending';
