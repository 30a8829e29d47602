"""The first schema: metadata, logs, runs and their results, the audit chain, and two views.

Conventions: every ``*_at`` column is a naive ``TIMESTAMP`` in UTC; ``event``, ``session`` and ``car`` are the
ids used on the command line and in the Parquet partitions (``[A-Za-z0-9_.-]+``); JSON columns hold compact
JSON text. No foreign keys (DuckDB restricts updates of referenced rows); the ingest writes each run with its
children in one transaction and ``compliance.store.schema.check_consistency`` looks for orphans.
"""

NAME = "initial"

SQL = """
CREATE TABLE events (
    event           VARCHAR PRIMARY KEY,
    name            VARCHAR,
    series          VARCHAR,
    track           VARCHAR,
    track_category  VARCHAR,
    start_date      DATE,
    end_date        DATE,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    event           VARCHAR NOT NULL,
    session         VARCHAR NOT NULL,
    name            VARCHAR,
    type            VARCHAR,
    track           VARCHAR,
    start_at        TIMESTAMP,
    end_at          TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (event, session)
);

CREATE TABLE entries (
    event           VARCHAR NOT NULL,
    car             VARCHAR NOT NULL,
    team            VARCHAR,
    model           VARCHAR,
    class           VARCHAR,
    drivers         VARCHAR[],
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (event, car)
);

CREATE TABLE logs (
    sha256          VARCHAR PRIMARY KEY,
    event           VARCHAR NOT NULL,
    session         VARCHAR NOT NULL,
    car             VARCHAR NOT NULL,
    original_name   VARCHAR NOT NULL,
    source_path     VARCHAR,
    stored_path     VARCHAR NOT NULL,
    format          VARCHAR,
    size            BIGINT NOT NULL,
    frames          BIGINT,
    buses           INTEGER[],
    ids             INTEGER,
    start_at        TIMESTAMP,
    duration_s      DOUBLE,
    logger_serial   VARCHAR,
    findings        JSON,
    ingested_at     TIMESTAMP NOT NULL,
    ingested_by     VARCHAR NOT NULL
);

CREATE TABLE runs (
    run_id          VARCHAR PRIMARY KEY,
    run_key         VARCHAR NOT NULL UNIQUE,
    event           VARCHAR NOT NULL,
    session         VARCHAR NOT NULL,
    car             VARCHAR NOT NULL,
    model           VARCHAR NOT NULL,
    profile_path    VARCHAR,
    profile_sha256  VARCHAR NOT NULL,
    bulletin_id     VARCHAR NOT NULL,
    bulletin_path   VARCHAR,
    bulletin_sha256 VARCHAR NOT NULL,
    tool_name       VARCHAR NOT NULL,
    tool_version    VARCHAR NOT NULL,
    verdict         VARCHAR NOT NULL CHECK (verdict IN ('compliant', 'infringement', 'incomplete')),
    verdict_json    JSON NOT NULL,
    verdict_sha256  VARCHAR NOT NULL,
    log_count       INTEGER NOT NULL,
    session_start   TIMESTAMP,
    duration_s      DOUBLE,
    channels_path   VARCHAR,
    reason          VARCHAR NOT NULL,
    command         VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    created_by      VARCHAR NOT NULL
);

CREATE TABLE run_logs (
    run_id          VARCHAR NOT NULL,
    position        INTEGER NOT NULL,
    sha256          VARCHAR NOT NULL,
    PRIMARY KEY (run_id, position)
);

CREATE TABLE rule_results (
    run_id          VARCHAR NOT NULL,
    rule            VARCHAR NOT NULL,
    verdict         VARCHAR NOT NULL,
    exceedance_count INTEGER,
    max_exceedances INTEGER,
    detail          JSON,
    PRIMARY KEY (run_id, rule)
);

CREATE TABLE exceedances (
    run_id          VARCHAR NOT NULL,
    idx             INTEGER NOT NULL,
    rule            VARCHAR NOT NULL,
    start_s         DOUBLE NOT NULL,
    end_s           DOUBLE NOT NULL,
    duration_s      DOUBLE NOT NULL,
    peak            DOUBLE,
    limit_value     DOUBLE,
    excess          DOUBLE,
    unit            VARCHAR,
    detail          JSON,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE quality_findings (
    run_id          VARCHAR NOT NULL,
    idx             INTEGER NOT NULL,
    check_name      VARCHAR NOT NULL,
    channel         VARCHAR,
    start_s         DOUBLE,
    end_s           DOUBLE,
    severity        VARCHAR,
    message         VARCHAR,
    detail          JSON,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE channel_summaries (
    run_id          VARCHAR NOT NULL,
    channel         VARCHAR NOT NULL,
    unit            VARCHAR,
    source          VARCHAR,
    bus             INTEGER,
    samples         BIGINT NOT NULL,
    start_s         DOUBLE,
    end_s           DOUBLE,
    min_value       DOUBLE,
    max_value       DOUBLE,
    mean_value      DOUBLE,
    PRIMARY KEY (run_id, channel)
);

CREATE TABLE audit_log (
    seq             BIGINT PRIMARY KEY,
    logged_at       TIMESTAMP NOT NULL,
    actor           VARCHAR NOT NULL,
    action          VARCHAR NOT NULL,
    subject         VARCHAR NOT NULL,
    detail          VARCHAR NOT NULL,
    prev_hash       VARCHAR NOT NULL,
    hash            VARCHAR NOT NULL
);

CREATE VIEW latest_runs AS
SELECT * FROM runs
QUALIFY row_number() OVER (PARTITION BY event, session, car ORDER BY created_at DESC, run_id) = 1;

CREATE VIEW latest_runs_per_bulletin AS
SELECT * FROM runs
QUALIFY row_number() OVER (PARTITION BY event, session, car, bulletin_id ORDER BY created_at DESC, run_id) = 1;
"""
