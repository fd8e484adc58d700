-- Counts for /api/health and /api/drawings/stats without scanning the drawing table: one
-- running total per label and status, kept by triggers (so every writer keeps it: the app,
-- `flask migrate-store`, a bulk COPY) and backfilled here from what is already stored.
-- Each total is split over 16 slots picked by the writing connection: concurrent inserts of
-- the same label then update different rows instead of queueing on one row lock until commit.
-- The trigger function is one line: the runner splits at semicolons that end a line.
CREATE TABLE drawing_count (
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (label, status, slot)
);
INSERT INTO drawing_count (label, status, slot, n) SELECT label, status, 0, COUNT(*) FROM drawing GROUP BY label, status;
CREATE FUNCTION drawing_count_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO drawing_count (label, status, slot, n) VALUES (NEW.label, NEW.status, mod(pg_backend_pid(), 16), 1) ON CONFLICT (label, status, slot) DO UPDATE SET n = drawing_count.n + 1; END IF; IF TG_OP IN ('UPDATE', 'DELETE') THEN INSERT INTO drawing_count (label, status, slot, n) VALUES (OLD.label, OLD.status, mod(pg_backend_pid(), 16), -1) ON CONFLICT (label, status, slot) DO UPDATE SET n = drawing_count.n - 1; END IF; RETURN NULL; END $$;
CREATE TRIGGER drawing_count_insert_delete AFTER INSERT OR DELETE ON drawing
    FOR EACH ROW EXECUTE FUNCTION drawing_count_change();
CREATE TRIGGER drawing_count_update AFTER UPDATE OF label, status ON drawing
    FOR EACH ROW WHEN (OLD.label IS DISTINCT FROM NEW.label OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION drawing_count_change();
-- TRUNCATE fires no row triggers: emptying the table empties the totals with it.
CREATE FUNCTION drawing_count_clear() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM drawing_count; RETURN NULL; END $$;
CREATE TRIGGER drawing_count_truncate AFTER TRUNCATE ON drawing FOR EACH STATEMENT EXECUTE FUNCTION drawing_count_clear();

-- Idempotency keys are kept a day (webapp/store/base.py); this index makes purging them a range delete.
CREATE INDEX idempotency_key_created ON idempotency_key (created);

-- The review queue's order (webapp/store/base.py review_queue), as an index over the pending
-- drawings only: its first page is read from the index instead of sorting the whole backlog.
CREATE INDEX drawing_review_order ON drawing ((CASE WHEN guess IS NULL OR guess <> label THEN 0 ELSE 1 END), id)
    WHERE status = 'pending';
