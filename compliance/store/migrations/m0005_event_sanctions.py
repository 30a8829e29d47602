"""The event's sanctions ladders (SPEC §5, ``[sanctions]`` of the event file): one row per event, recorded at ingest
and by ``bopwatch ledger --event-file``, so the ledger and the reports are computed from the store alone. Bound into
the audit chain like the other metadata rows (``metadata.event_sanctions``, the whole row after each change)."""

NAME = "event_sanctions"

SQL = """
CREATE TABLE event_sanctions (
    event           VARCHAR PRIMARY KEY,
    ladders         JSON NOT NULL,
    source_path     VARCHAR,
    created_at      TIMESTAMP NOT NULL
);
"""
