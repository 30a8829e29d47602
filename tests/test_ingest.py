"""``bopwatch ingest``: logs become stored evidence and runs; the same files again add nothing; a rolled file
re-judges the car's whole session; metadata comes from options, sidecars or the entry list."""

from __future__ import annotations

import json

import duckdb
import pytest
from _store_support import BULLETIN_R1, BULLETIN_R2, PROFILE, write_log

from compliance.cli import main
from compliance.ingest.pipeline import ingest_logs
from compliance.store import audit
from compliance.store import schema as st

TABLES = ("events", "sessions", "entries", "logs", "runs", "run_logs", "rule_results", "exceedances",
          "quality_findings", "channel_summaries", "audit_log")


def _counts(store):
    with store.reading() as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _ingest(db, *args):
    return main(["ingest", *map(str, args), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1),
                 "--db", str(db)])


def test_ingest_stores_run_and_exit_code_follows_worst_verdict(tmp_path, capsys):
    a = write_log(tmp_path / "car7.log", car="7", exceedances=3)
    b = write_log(tmp_path / "car8.log", car="8", exceedances=0, seed=1)
    assert _ingest(tmp_path / "s.duckdb", a, b) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["car"], x["status"], x["verdict"], x["bulletin"]) for x in lines] == [
        ("7", "checked", "infringement", "STORE-TEST-R1"), ("8", "checked", "compliant", "STORE-TEST-R1")]
    store = st.open_store(tmp_path / "s.duckdb")
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM exceedances").fetchone()[0] == 3
        cmd = conn.execute("SELECT command FROM runs LIMIT 1").fetchone()[0]
        fmt = conn.execute("SELECT DISTINCT format, frames FROM logs").fetchall()
    assert cmd.startswith(f"bopwatch ingest {a} {b} --profile {PROFILE}") and fmt == [("candump", 2000)]
    assert audit.verify(store).ok
    assert _ingest(tmp_path / "s.duckdb", b) == 0


def test_ingesting_the_same_files_again_adds_nothing(tmp_path, capsys):
    a = write_log(tmp_path / "car7.log", exceedances=2)
    _ingest(tmp_path / "s.duckdb", a)
    store = st.open_store(tmp_path / "s.duckdb")
    before = _counts(store)
    files = sorted(p for p in store.layout.root.rglob("*") if p.is_file() and "locks" not in p.parts)
    capsys.readouterr()
    _ingest(tmp_path / "s.duckdb", a)
    assert json.loads(capsys.readouterr().out)["status"] == "duplicate"
    copy = tmp_path / "renamed.log"
    copy.write_bytes(a.read_bytes())
    (tmp_path / "renamed.log.meta.json").write_text((tmp_path / "car7.log.meta.json").read_text())
    _ingest(tmp_path / "s.duckdb", copy)
    assert _counts(store) == before
    assert sorted(p for p in store.layout.root.rglob("*") if p.is_file() and "locks" not in p.parts) == files


def test_rolled_file_makes_a_run_over_both_files(tmp_path, capsys):
    first = write_log(tmp_path / "car7_001.log", exceedances=1)
    second = write_log(tmp_path / "car7_002.log", exceedances=1, start_epoch=1751128220, seed=2)
    _ingest(tmp_path / "s.duckdb", first)
    _ingest(tmp_path / "s.duckdb", second)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["verdict"] for x in lines] == ["compliant", "infringement"]  # 1 allowed, then 2 in the session
    store = st.open_store(tmp_path / "s.duckdb")
    with store.reading() as conn:
        latest = conn.execute("SELECT log_count, verdict FROM latest_runs").fetchall()
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    assert latest == [(2, "infringement")]


def test_metadata_from_sidecar_and_entry_list(tmp_path, monkeypatch):
    monkeypatch.setenv("BOPWATCH_PROFILES", str(PROFILE.parent))
    log = write_log(tmp_path / "x.log", event="spa", session="q1", car="07")
    (tmp_path / "entries.csv").write_text("car,team,model,class,drivers\n07,Team Seven,store_test_turbo,Pro,"
                                          "A. Driver; B. Driver\n")
    store = st.open_store(tmp_path / "s.duckdb")
    out = ingest_logs(store, [log], entry_list=tmp_path / "entries.csv", bulletin=BULLETIN_R1,
                      profile=None, actor="tester")
    assert out[0].status == "checked", out[0].error
    with store.reading() as conn:
        assert conn.execute("SELECT event, car, team, model, class, drivers FROM entries").fetchone() == (
            "spa", "07", "Team Seven", "store_test_turbo", "Pro", ["A. Driver", "B. Driver"])
        assert conn.execute("SELECT created_by FROM runs").fetchone()[0] == "tester"


def test_without_bulletin_the_log_is_stored_unjudged_then_recheck_judges_it(tmp_path, capsys):
    log = write_log(tmp_path / "car7.log", exceedances=3)
    db = tmp_path / "s.duckdb"
    assert main(["ingest", str(log), "--profile", str(PROFILE), "--db", str(db)]) == 4   # stored, not judged
    assert json.loads(capsys.readouterr().out)["status"] == "stored"
    assert main(["recheck", "--event", "ev", "--session", "race", "--bulletin", str(BULLETIN_R1),
                 "--profile", str(PROFILE), "--db", str(db)]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "infringement"


def test_missing_metadata_is_an_error_naming_the_fix(tmp_path, capsys):
    log = write_log(tmp_path / "car7.log", sidecar=False)
    assert _ingest(tmp_path / "s.duckdb", log) == 2
    line = json.loads(capsys.readouterr().out)
    assert line["status"] == "error" and "--event --session --car" in line["error"]


def test_unreadable_log_is_an_error_and_others_still_ingest(tmp_path, capsys):
    bad = tmp_path / "bad.xyz"
    bad.write_text("not a log format bopwatch reads\n")
    (tmp_path / "bad.xyz.meta.json").write_text('{"event": "ev", "session": "race", "car": "9"}')
    good = write_log(tmp_path / "car7.log")
    assert _ingest(tmp_path / "s.duckdb", bad, good) == 2
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["status"] == "error" and lines[1]["status"] == "checked"


@pytest.mark.parametrize("bad", ["spa 2025", "a/b"])
def test_ids_unusable_in_partitions_are_refused(tmp_path, capsys, bad):
    log = write_log(tmp_path / "car7.log", sidecar=False)
    assert main(["ingest", str(log), "--event", bad, "--session", "r", "--car", "7", "--profile", str(PROFILE),
                 "--db", str(tmp_path / "s.duckdb")]) == 2


def test_channels_parquet_is_queryable_by_partition(tmp_path):
    _ingest(tmp_path / "s.duckdb", write_log(tmp_path / "car7.log", car="07"))
    store = st.open_store(tmp_path / "s.duckdb")
    glob = str(store.layout.channels / "**" / "*.parquet")
    rows = duckdb.sql(f"SELECT car, channel, count(*) FROM read_parquet('{glob}', hive_partitioning = true, "
                      "hive_types = {'car': VARCHAR}) GROUP BY ALL ORDER BY channel").fetchall()
    assert rows == [("07", "boost_pressure", 2000), ("07", "engine_speed", 2000), ("07", "throttle", 2000)]


def test_reingest_with_several_bulletins_names_the_run_of_the_one_in_force(tmp_path, capsys):
    log = write_log(tmp_path / "car7.log", exceedances=3)      # session starts after R2 took effect
    db = tmp_path / "s.duckdb"
    both = ["--bulletin", str(BULLETIN_R1), "--bulletin", str(BULLETIN_R2)]
    assert main(["ingest", str(log), "--profile", str(PROFILE), *both, "--db", str(db)]) == 0
    assert main(["recheck", "--event", "ev", "--session", "race", "--bulletin", str(BULLETIN_R1),
                 "--db", str(db)]) == 1
    capsys.readouterr()
    assert main(["ingest", str(log), "--profile", str(PROFILE), *both, "--db", str(db)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["status"], line["bulletin"], line["verdict"]) == ("duplicate", "STORE-TEST-R2", "compliant")


def test_recheck_refuses_a_changed_original(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    _ingest(db, write_log(tmp_path / "car7.log"))
    stored = next((tmp_path / "s_store" / "originals").rglob("*.log"))
    stored.chmod(0o644)
    stored.write_text(stored.read_text().replace("100#", "100#FF", 1))
    capsys.readouterr()
    assert main(["recheck", "--event", "ev", "--session", "race", "--bulletin", str(BULLETIN_R2),
                 "--db", str(db)]) == 2
    assert "stored original changed" in json.loads(capsys.readouterr().out)["error"]


def test_profile_cache_reloads_when_the_profile_or_its_dbc_changes(tmp_path):
    import shutil
    import time as _time

    from compliance.ingest.pipeline import _cached_profile

    for name in ("store_test_turbo.toml", "store_test.dbc"):
        shutil.copy(PROFILE.parent / name, tmp_path / name)
    first = _cached_profile(tmp_path / "store_test_turbo.toml")
    assert _cached_profile(tmp_path / "store_test_turbo.toml") is first
    _time.sleep(0.01)
    dbc = tmp_path / "store_test.dbc"
    dbc.write_text(dbc.read_text().replace('"rpm"', '"1/min"'))
    second = _cached_profile(tmp_path / "store_test_turbo.toml")
    assert second is not first and second.dbcs[0].sha256 != first.dbcs[0].sha256


def test_an_edited_dbc_makes_a_new_run_and_runs_record_dbc_hashes(tmp_path, capsys):
    import shutil

    for name in ("store_test_turbo.toml", "store_test.dbc"):
        shutil.copy(PROFILE.parent / name, tmp_path / name)
    profile = tmp_path / "store_test_turbo.toml"
    log = write_log(tmp_path / "car7.log")
    db = tmp_path / "s.duckdb"
    args = ["ingest", str(log), "--profile", str(profile), "--bulletin", str(BULLETIN_R1), "--db", str(db)]
    main(args)
    dbc = tmp_path / "store_test.dbc"
    dbc.write_text(dbc.read_text().replace("SG_ Throttle : 32|8@1+ (0.5,0)", "SG_ Throttle : 32|8@1+ (0.4,0)"))
    capsys.readouterr()
    main(args)
    assert json.loads(capsys.readouterr().out)["status"] == "checked"
    with st.open_store(db).reading() as conn:
        rows = conn.execute("SELECT dbc_sha256 FROM runs ORDER BY created_at").fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0] and len(rows[1][0][0]) == 64
