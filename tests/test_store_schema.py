"""The store's schema comes from named migrations, recorded once, and a committed migration cannot change."""

from __future__ import annotations

import duckdb
import pytest

from compliance.errors import StoreError
from compliance.store import schema as st
from compliance.store.migrations import MIGRATIONS


def test_new_store_records_every_migration_once(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    st.open_store(tmp_path / "a.duckdb")  # reopening applies nothing again
    with store.reading() as conn:
        rows = conn.execute("SELECT id, name, sha256 FROM schema_migrations ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(m.id, m.name, m.sha256) for m in MIGRATIONS]
    assert store.schema_version() == len(MIGRATIONS)


def test_every_documented_table_exists(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    with store.reading() as conn:
        names = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"events", "sessions", "entries", "logs", "runs", "run_logs", "rule_results", "exceedances",
            "quality_findings", "channel_summaries", "schema_migrations", "audit_log", "latest_runs",
            "latest_runs_per_bulletin"} <= names


def test_store_layout_sits_beside_the_database(tmp_path):
    store = st.open_store(tmp_path / "season.duckdb")
    assert store.layout.root == tmp_path / "season_store"
    assert store.layout.originals == tmp_path / "season_store" / "originals"


def test_db_path_precedence_argument_then_env_then_default(tmp_path, monkeypatch):
    from compliance import config
    monkeypatch.setenv("BOPWATCH_DB", str(tmp_path / "env.duckdb"))
    assert config.db_path(tmp_path / "arg.duckdb") == tmp_path / "arg.duckdb"
    assert config.db_path() == tmp_path / "env.duckdb"
    monkeypatch.delenv("BOPWATCH_DB")
    monkeypatch.chdir(tmp_path)
    assert config.db_path() == tmp_path / "bopwatch.duckdb"


def test_edited_migration_is_refused(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    conn = duckdb.connect(str(store.db))
    conn.execute("UPDATE schema_migrations SET sha256 = 'x' WHERE id = 1")
    conn.close()
    with pytest.raises(StoreError, match="differs from the one applied"):
        st.open_store(tmp_path / "a.duckdb")


def test_migration_from_a_newer_bopwatch_is_refused(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    conn = duckdb.connect(str(store.db))
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x', now(), '9.9')")
    conn.close()
    with pytest.raises(StoreError, match="upgrade bopwatch"):
        st.open_store(tmp_path / "a.duckdb")


def test_missing_store_is_an_error_for_readers(tmp_path):
    with pytest.raises(StoreError, match="no store here"):
        st.open_store(tmp_path / "none.duckdb", create=False)


def test_ids_outside_the_partition_alphabet_are_refused():
    assert st.check_id("car", " 07 ") == "07"
    with pytest.raises(StoreError, match="letters, digits"):
        st.check_id("event", "spa/2025")
