-- Issue 20: what a "something else" drawing is, and the reference model's opinion of each drawing.
-- Additive only: rows stored before this migration keep everything and read these as NULL.
-- Statements end with a semicolon at the end of a line (the runner splits on that).

-- Free text saying what a drawing labelled "other" is (e.g. "house"); NULL otherwise.
ALTER TABLE drawing ADD COLUMN name TEXT;
-- JSON, the reference model's top 3 at contribution time: [{"label": ..., "probability": ...}, ...]; NULL if it could not run.
ALTER TABLE drawing ADD COLUMN reference TEXT;
-- Whether the reference doubts the label (webapp/reference.py says when); NULL without a reference.
ALTER TABLE drawing ADD COLUMN reference_doubts BOOLEAN;
