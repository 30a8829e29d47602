"""Reference runs (issue 17): a stored run marked as the reference of a model for a bulletin or a track category,
with the envelopes computed from its channel Parquet (``compliance.analysis.envelopes``) and the comparison
thresholds. Bound into the audit chain like the other metadata rows (``metadata.model_references``, the whole row
after each change); a reference is never deleted, only replaced (``active`` false)."""

NAME = "model_references"

SQL = """
CREATE TABLE model_references (
    reference_id    VARCHAR PRIMARY KEY,
    model           VARCHAR NOT NULL,
    bulletin_id     VARCHAR,
    track_category  VARCHAR,
    run_id          VARCHAR NOT NULL,
    channels_sha256 VARCHAR,
    envelopes       JSON NOT NULL,
    envelopes_sha256 VARCHAR NOT NULL,
    settings        JSON NOT NULL,
    note            VARCHAR,
    active          BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
"""
