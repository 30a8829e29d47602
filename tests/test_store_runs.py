"""A run is written with all its results from a SPEC §4 verdict, and records its tool, profile and bulletin."""

from __future__ import annotations

import json
import uuid

import pytest
from _store_support import verdict_dict, write_run

from compliance.errors import StoreError
from compliance.store import schema as st


def test_run_children_match_the_verdict(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    run_id = write_run(store, "ev", "race", "7", "x")
    with store.reading() as conn:
        run = conn.execute("SELECT verdict, bulletin_id, bulletin_sha256, profile_sha256, tool_version, verdict_json "
                           "FROM runs WHERE run_id = ?", [run_id]).fetchone()
        exc = conn.execute("SELECT rule, peak, limit_value, detail FROM exceedances WHERE run_id = ? ORDER BY idx",
                           [run_id]).fetchall()
        rules = conn.execute("SELECT rule, verdict, exceedance_count, max_exceedances FROM rule_results").fetchall()
        quality = conn.execute("SELECT check_name, channel, message FROM quality_findings").fetchall()
        assert st.check_consistency(conn) == []
    assert run[0] == "infringement" and run[1] == "B1" and len(run[2]) == 64 and len(run[3]) == 64
    assert run[4] == "0.1.0"
    assert json.loads(run[5])["exceedances"][0]["peak"] == 2.71
    assert [(e[0], e[1], e[2], json.loads(e[3])) for e in exc] == [("boost", 2.71, 2.62, {"lap": 1}),
                                                                   ("boost", 2.71, 2.62, {"lap": 2})]
    assert rules == [("boost", "infringement", 2, 1)]
    assert quality == [("gap", "boost_pressure", "no samples for 3.5 s")]


def test_verdict_without_bulletin_hash_is_refused(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    v = verdict_dict()
    v["bulletin"].pop("sha256")
    rec = st.RunRecord(uuid.uuid4().hex, "k", "ev", "race", "7", ("a" * 64,), v, "ingest")
    with pytest.raises(StoreError, match="bulletin.sha256"), store.writing() as conn:
        st.insert_run(conn, rec, "me")
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_failed_transaction_leaves_nothing(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    with pytest.raises(RuntimeError), store.writing() as conn:
        st.upsert_event(conn, "ev")
        raise RuntimeError("boom")
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_same_bytes_for_another_car_is_refused(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    write_run(store, "ev", "race", "7", "x")
    sha = __import__("hashlib").sha256(b"x").hexdigest()
    with pytest.raises(StoreError, match="already stored for event ev session race car 7"), \
            store.writing() as conn:
        st.insert_log(conn, st.LogRecord(sha, "ev", "race", "8", "x.blf", "o", 1), "me")


def test_metadata_upserts_fill_but_never_overwrite(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    with store.writing() as conn:
        st.upsert_entry(conn, "ev", "7", team="Team A")
        st.upsert_entry(conn, "ev", "7", team="Other", model="bmw_m4_gt3", drivers=["A", "B"])
    with store.reading() as conn:
        assert conn.execute("SELECT team, model, drivers FROM entries").fetchone() == ("Team A", "bmw_m4_gt3",
                                                                                      ["A", "B"])


def test_latest_runs_view_picks_the_newest_per_car(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    write_run(store, "ev", "race", "7", "a")
    newest = write_run(store, "ev", "race", "7", "b")
    write_run(store, "ev", "race", "8", "c")
    with store.reading() as conn:
        rows = conn.execute("SELECT car, run_id FROM latest_runs ORDER BY car").fetchall()
    assert rows[0] == ("7", newest) and len(rows) == 2
