"""Outings: a car's session may hold several separate runs (a new outing the user declared), each judged over its
own files. Every earlier log and run is outing 1; the latest-run views are per outing."""

NAME = "outings"

SQL = """
ALTER TABLE logs ADD COLUMN outing INTEGER DEFAULT 1;
ALTER TABLE runs ADD COLUMN outing INTEGER DEFAULT 1;
UPDATE logs SET outing = 1 WHERE outing IS NULL;
UPDATE runs SET outing = 1 WHERE outing IS NULL;

CREATE OR REPLACE VIEW latest_runs AS
SELECT * FROM runs
QUALIFY row_number() OVER (PARTITION BY event, session, car, outing ORDER BY created_at DESC, run_id) = 1;

CREATE OR REPLACE VIEW latest_runs_per_bulletin AS
SELECT * FROM runs
QUALIFY row_number() OVER (PARTITION BY event, session, car, outing, bulletin_id ORDER BY created_at DESC, run_id) = 1;
"""
