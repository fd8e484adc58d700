-- Round 2: a drawing is one row holding its strokes, its 28x28 PNG and the client's image.
-- Statements end with a semicolon at the end of a line (the runner splits on that).
CREATE TABLE drawing (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: an id is never reused.
    label TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    created TEXT NOT NULL,                  -- ISO 8601, UTC.
    model_set TEXT,
    model_version TEXT,
    guess TEXT,                             -- The model's answer, "other" for "none of these"; NULL if it could not run.
    guess_probability REAL,
    strokes TEXT NOT NULL,                  -- JSON, Quick Draw's shape: [[[x...], [y...]], ...] in client coordinates.
    n_strokes INTEGER NOT NULL,
    n_points INTEGER NOT NULL,
    bitmap BLOB NOT NULL,                   -- 28x28 greyscale PNG, 255 = ink, like a numpy_bitmap row.
    image BLOB,                             -- The client's own image, when it sent one.
    image_type TEXT,                        -- Its Pillow format name, e.g. "PNG".
    client_hash TEXT,                       -- Keyed hash of the client address, never the address.
    import_key TEXT UNIQUE                  -- Set by `flask migrate-store`, so a second run copies nothing twice.
);
CREATE INDEX drawing_status_id ON drawing (status, id);
CREATE INDEX drawing_label_status_id ON drawing (label, status, id);

-- Every moderation decision, kept: who changed which drawing to what, and when.
CREATE TABLE review (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drawing_id INTEGER NOT NULL REFERENCES drawing (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX review_drawing ON review (drawing_id);

-- A batch sent again with the same Idempotency-Key gets the ids of the first one.
CREATE TABLE idempotency_key (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,              -- SHA-256 of the batch, to refuse a key reused for other drawings.
    ids TEXT NOT NULL,                      -- JSON list of the stored ids.
    created TEXT NOT NULL
);

-- The contribution rate limit, shared by every app server (webapp/security.py says why).
CREATE TABLE rate_limit (
    client TEXT NOT NULL,
    window_start INTEGER NOT NULL,          -- Unix seconds, a multiple of the window length.
    hits INTEGER NOT NULL,
    PRIMARY KEY (client, window_start)
);
