"""The fleet ingest's parent stays light and safe: each log is hashed once per command, the workers judge each car
in a limited child (that is the new logs' trial parse), and a check that blows its limits is reported per log
exactly as the serial path reports a failed trial parse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _store_support import BULLETIN_R1, PROFILE, write_log

from compliance.ingest import pipeline as ingest_module
from compliance.ingest.fleet import ingest_parallel
from compliance.ingest.pipeline import ingest_logs
from compliance.store import originals as evidence
from compliance.store import schema as st

ROOT = Path(__file__).resolve().parent.parent


def _logs(folder: Path, cars: tuple[str, ...] = ("7", "8"), seconds: float = 4) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_log(folder / f"car{car}.log", car=car, seconds=seconds, seed=int(car)) for car in cars]


def test_the_parent_hashes_each_log_once_and_does_not_verify_what_it_just_stored(tmp_path, monkeypatch):
    logs = _logs(tmp_path / "in")
    hashed: list[str] = []
    verified: list[str] = []
    real_hash, real_verify = evidence.sha256_file, ingest_module.verify_original

    def counting_hash(path):
        hashed.append(Path(path).name)
        return real_hash(path)

    def counting_verify(path, sha):
        verified.append(sha)
        return real_verify(path, sha)

    monkeypatch.setattr(ingest_module, "sha256_file", counting_hash)
    monkeypatch.setattr(ingest_module, "verify_original", counting_verify)
    outcomes = ingest_parallel(st.open_store(tmp_path / "f.duckdb"), logs, workers=2, profile=str(PROFILE),
                               bulletin=str(BULLETIN_R1))
    assert [o.status for o in outcomes] == ["checked", "checked"]
    assert sorted(hashed) == ["car7.log", "car8.log"]        # not once per pass
    assert verified == []                                     # hashed while copied: no second read to verify


def test_a_check_over_its_limits_fails_each_log_as_the_serial_trial_parse_does(tmp_path, monkeypatch):
    logs = _logs(tmp_path / "in")
    monkeypatch.setenv("BOPWATCH_PARSE_MEMORY_MB", "64")      # too little for any reader to start
    serial = ingest_logs(st.open_store(tmp_path / "s.duckdb"), logs, profile=str(PROFILE),
                         bulletin=str(BULLETIN_R1))
    store = st.open_store(tmp_path / "f.duckdb")
    fleet = ingest_parallel(store, logs, workers=1, profile=str(PROFILE), bulletin=str(BULLETIN_R1))
    assert [(o.path, o.status, o.error) for o in fleet] == [(o.path, o.status, o.error) for o in serial]
    assert all(o.status == "error" and "parser exceeded 64 MB" in o.error for o in fleet)
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    monkeypatch.delenv("BOPWATCH_PARSE_MEMORY_MB")
    again = ingest_parallel(store, logs, workers=2, profile=str(PROFILE), bulletin=str(BULLETIN_R1))
    assert [o.status for o in again] == ["checked", "checked"]


_FORKED = """
import json, sys
from compliance.ingest.fleet import CheckJob, _mark_fork_ok, run_job
log, profile, bulletin, out = sys.argv[1:]
_mark_fork_ok()          # as a pool worker: the job runs in a forked child with limits
job = CheckJob((log,), profile, (bulletin,), car="7", keep_result=True, isolate=True, channels_dir=out,
               channels_name="channels")
ok = run_job(job)
direct = run_job(CheckJob((log,), profile, (bulletin,), car="7"))
import os
os.environ["BOPWATCH_PARSE_TIMEOUT_S"] = "0.0001"   # 0.4 ms of wall clock: far too short for a 60 s log
bad = run_job(job)
print(json.dumps({"ok": ok.verdict == direct.verdict, "parquet": ok.result.parquet, "pid": ok.worker,
                  "crashed": bad.crashed, "error": bad.error}))
"""


def test_a_forked_job_gives_the_direct_verdict_and_one_over_its_time_limit_is_stopped(tmp_path):
    [log] = _logs(tmp_path / "in", ("7",), seconds=60)
    out = tmp_path / "channels"
    proc = subprocess.run([sys.executable, "-c", _FORKED, str(log), str(PROFILE), str(BULLETIN_R1), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got["ok"] and Path(got["parquet"]) == out / "channels.parquet" and (out / "channels.parquet").is_file()
    assert got["crashed"] and "check exceeded 0.0004 s of wall-clock time" in got["error"], got
    assert str(log) in got["error"]
