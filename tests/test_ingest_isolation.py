"""Ingest parses each new log in an isolated child first (``telemetry.isolate``): a parser that blows its limits
fails that log alone, with an error naming the file and the limit, and the same log ingests once it can be read."""

from __future__ import annotations

from _store_support import BULLETIN_R1, PROFILE, write_log

from compliance.ingest.pipeline import exit_code, ingest_logs
from compliance.store import schema as st


def test_a_log_whose_parser_exceeds_its_memory_limit_fails_alone_and_ingests_later(tmp_path, monkeypatch):
    store = st.open_store(tmp_path / "iso.duckdb")
    log = write_log(tmp_path / "car7.log", car="7", seconds=4)
    monkeypatch.setenv("BOPWATCH_PARSE_MEMORY_MB", "64")      # too little for the reader to even start
    [failed] = ingest_logs(store, [log], profile=str(PROFILE), bulletin=str(BULLETIN_R1))
    assert failed.status == "error" and exit_code([failed]) == 2
    assert "ParseMemoryExceeded" in failed.error and "parser exceeded 64 MB" in failed.error
    assert str(log) in failed.error and "BOPWATCH_PARSE_MEMORY_MB" in failed.error
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == 0
    monkeypatch.delenv("BOPWATCH_PARSE_MEMORY_MB")
    [ok] = ingest_logs(store, [log], profile=str(PROFILE), bulletin=str(BULLETIN_R1))
    assert ok.status == "checked" and ok.verdict == "compliant"


def test_a_log_whose_parser_exceeds_its_time_limit_fails_alone(tmp_path, monkeypatch):
    store = st.open_store(tmp_path / "iso.duckdb")
    log = write_log(tmp_path / "car8.log", car="8", seconds=4)
    monkeypatch.setenv("BOPWATCH_PARSE_TIMEOUT_S", "0.05")    # 0.2 s of wall clock: not time to start Python
    [failed] = ingest_logs(store, [log], profile=str(PROFILE), bulletin=str(BULLETIN_R1))
    assert failed.status == "error" and "ParseTimeout" in failed.error
    assert "parser exceeded 0.2 s" in failed.error or "parser exceeded 0.05 s of CPU time" in failed.error
