"""A tamper test per table and per Parquet file: ``audit verify`` names the table, the row and the column."""

from __future__ import annotations

import hashlib
import os
import uuid
from types import SimpleNamespace

import duckdb
import numpy as np
import pytest
from _store_support import verdict_dict, write_run

from compliance.cli import main
from compliance.store import audit
from compliance.store import schema as st
from compliance.store.originals import write_channels_parquet


@pytest.fixture(autouse=True)
def _audit_key(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(keys / "audit.key"))


def _parquet_run(store: st.Store, car: str) -> str:
    """A run of car ``car`` with a channel Parquet file, as ingest writes it."""
    n = 50
    channel = SimpleNamespace(time=np.arange(n) / 10.0, value=np.linspace(2.0, 2.6, n), unit="bar", bus=0,
                              source="LOG.MAP")
    path, _ = write_channels_parquet({"boost_pressure": channel}, store.channels_dir("ev", "race", car), f"set{car}")
    sha = hashlib.sha256(f"log-{car}".encode()).hexdigest()
    run = st.RunRecord(uuid.uuid4().hex, hashlib.sha256(f"run-{car}".encode()).hexdigest(), "ev", "race", car,
                       (sha,), verdict_dict(logs=(sha,)), "ingest", channels_path=store.relative(path))
    with store.writing() as conn:
        st.upsert_entry(conn, "ev", car, team="Team " + car)
        st.insert_log(conn, st.LogRecord(sha, "ev", "race", car, f"{car}.blf", f"originals/{sha[:2]}/{sha}.blf", 10),
                      "t@h")
        st.insert_run(conn, run, "t@h")
    return run.run_id


@pytest.fixture
def store(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    for i in range(2):
        write_run(store, "ev", "race", str(7 + i), f"log{i}")
    _parquet_run(store, "9")
    assert audit.verify(store, originals=False).ok
    return store


def _sql(store, sql, params=()):
    conn = duckdb.connect(str(store.db))
    try:
        return conn.execute(sql, list(params)).fetchall()
    finally:
        conn.close()


def _run_of(store, car):
    return _sql(store, "SELECT run_id FROM runs WHERE car = ?", [car])[0][0]


def _problems(store):
    return audit.verify(store, originals=False).problems


def test_intact_store_checks_every_row_and_parquet(store):
    report = audit.verify(store, originals=False)
    assert report.ok and report.parquet_checked == 1 and report.mac["status"] == "keyed"
    # 3 runs x (run, log, rule, 2 exceedances, finding, summary except the Parquet run's) + 3 logs + metadata
    assert report.rows_checked >= 3 * 5 + 3 + 5


@pytest.mark.parametrize(("table", "sql", "expected"), [
    ("runs", "UPDATE runs SET verdict = 'compliant' WHERE car = '8'", "runs run_id={run}: column verdict changed"),
    ("runs", "UPDATE runs SET bulletin_id = 'B9', created_by = 'x' WHERE car = '8'",
     "runs run_id={run}: columns bulletin_id, created_by changed"),
    ("run_logs", "UPDATE run_logs SET sha256 = repeat('0', 64) WHERE run_id = '{run}'",
     "run_logs run_id={run} position=0: column sha256 changed"),
    ("rule_results", "UPDATE rule_results SET verdict = 'compliant', exceedance_count = 0 WHERE run_id = '{run}'",
     "rule_results run_id={run} rule=boost: columns exceedance_count, verdict changed"),
    ("exceedances", "UPDATE exceedances SET peak = 2.0 WHERE run_id = '{run}' AND idx = 1",
     "exceedances run_id={run} idx=1: column peak changed"),
    ("exceedances", "DELETE FROM exceedances WHERE run_id = '{run}' AND idx = 0",
     "exceedances run_id={run} idx=0: row deleted"),
    ("quality_findings", "UPDATE quality_findings SET severity = 'info' WHERE run_id = '{run}'",
     "quality_findings run_id={run} idx=0: column severity changed"),
    ("channel_summaries", "UPDATE channel_summaries SET max_value = 2.5 WHERE run_id = '{run}'",
     "channel_summaries run_id={run} channel=boost_pressure: column max_value changed"),
    ("logs", "UPDATE logs SET original_name = 'other.blf' WHERE car = '8'",
     "logs sha256={log}: column original_name changed"),
])
def test_each_table_names_row_and_column(store, table, sql, expected):
    run = _run_of(store, "8")
    log = _sql(store, "SELECT sha256 FROM logs WHERE car = '8'")[0][0]
    _sql(store, sql.format(run=run))
    problems = _problems(store)
    assert expected.format(run=run, log=log) in problems, problems


def test_added_exceedance_is_named(store):
    run = _run_of(store, "7")
    _sql(store, f"INSERT INTO exceedances SELECT run_id, 9, rule, start_s, end_s, duration_s, peak, limit_value, "
                f"excess, unit, detail FROM exceedances WHERE run_id = '{run}' AND idx = 0")
    assert f"exceedances run_id={run} idx=9: row added (not in the audit log)" in _problems(store)


@pytest.mark.parametrize(("sql", "expected"), [
    ("UPDATE entries SET team = 'Rival' WHERE car = '9'",
     'entries event=ev car=9: column team changed (audit row {seq} recorded "Team 9", now "Rival")'),
    ("UPDATE events SET name = 'Renamed' WHERE event = 'ev'", "events event=ev: column name changed"),
    ("UPDATE sessions SET type = 'test' WHERE session = 'race'", "sessions event=ev session=race: column type changed"),
    ("DELETE FROM entries WHERE car = '7'", "entries event=ev car=7: row deleted"),
    ("INSERT INTO entries VALUES ('ev', '99', 'Ghost', NULL, NULL, NULL, now())",
     "entries event=ev car=99: row is not in the audit log"),
])
def test_metadata_tables_name_row_and_column(store, sql, expected):
    seq = _sql(store, "SELECT max(seq) FROM audit_log WHERE action = 'metadata.entries' AND subject = 'ev/9'")[0][0]
    _sql(store, sql)
    problems = _problems(store)
    assert any(p.startswith(expected.format(seq=seq)) for p in problems), problems


def test_entry_update_is_checked_against_its_latest_audit_row(store):
    with store.writing() as conn:
        st.upsert_entry(conn, "ev", "7", team="Late Team", actor="clerk")     # NULL filled in: a new audit row
    assert audit.verify(store, originals=False).ok
    _sql(store, "UPDATE entries SET team = NULL WHERE car = '7'")
    assert any(p.startswith("entries event=ev car=7: column team changed") for p in _problems(store))


def _parquet(store):
    rel = _sql(store, "SELECT channels_path FROM runs WHERE car = '9'")[0][0]
    return store.absolute(rel)


def test_changed_parquet_is_named(store):
    path = _parquet(store)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    run = _run_of(store, "9")
    assert any(p.startswith(f"{path}: channel Parquet file changed") and p.endswith(f"(run {run})")
               for p in _problems(store))


def test_deleted_parquet_is_named(store):
    path = _parquet(store)
    path.unlink()
    assert any(p.startswith(f"{path}: channel Parquet file is missing") for p in _problems(store))


def test_repointed_channels_path_is_named(store):
    _sql(store, "UPDATE runs SET channels_path = 'channels/elsewhere.parquet' WHERE car = '9'")
    run = _run_of(store, "9")
    assert f"runs run_id={run}: column channels_path changed" in _problems(store)


def test_cli_prints_what_changed_and_exits_1(store, capsys):
    _sql(store, "UPDATE runs SET verdict = 'compliant' WHERE car = '8'")
    assert main(["audit", "verify", "--no-originals", "--db", str(store.db)]) == 1
    out = capsys.readouterr()
    assert f"BROKEN: runs run_id={_run_of(store, '8')}: column verdict changed" in out.out
    assert "1 problem(s)" in out.err


def test_many_changed_rows_are_counted_not_all_listed(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    for i in range(12):
        write_run(store, "ev", "race", str(i), f"log{i}")
    _sql(store, "UPDATE exceedances SET peak = 0")
    problems = _problems(store)
    assert sum(p.startswith("exceedances run_id=") for p in problems) == 20
    assert "exceedances: 4 more changed rows not listed" in problems
