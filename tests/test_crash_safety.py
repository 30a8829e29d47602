"""SIGKILL an ingest part-way, again and again: the store stays consistent (no half-written run, no orphan rows,
the audit chain verifies) and running the same command again completes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _store_support import BULLETIN_R1, PROFILE, write_log

from compliance.store import audit
from compliance.store import schema as st
from compliance.store.originals import sha256_file

CARS = ("7", "8", "9", "10", "11")


def _command(db, logs):
    return [str(Path(sys.executable).parent / "bopwatch"), "ingest", *map(str, logs), "--profile", str(PROFILE),
            "--bulletin", str(BULLETIN_R1), "--db", str(db)]


def _state(db):
    store = st.open_store(db)
    report = audit.verify(store)
    assert report.ok, report.problems
    with store.reading() as conn:
        assert st.check_consistency(conn) == []
        runs = conn.execute("SELECT car, verdict, log_count FROM runs ORDER BY car").fetchall()
        logs = conn.execute("SELECT count(*) FROM logs").fetchone()[0]
        exc = conn.execute("SELECT r.car, count(e.idx) FROM runs r LEFT JOIN exceedances e USING (run_id) "
                           "GROUP BY r.car ORDER BY r.car").fetchall()
    # no run without its exceedances: each car's count is all-or-nothing
    expected = {car: i for i, car in enumerate(CARS)}
    assert all(n == expected[car] for car, n in exc), exc
    for stored in store.layout.originals.rglob("*"):
        if stored.is_file() and not stored.name.startswith(".tmp-"):
            assert stored.name.split(".")[0] == sha256_file(stored)
    return runs, logs


@pytest.mark.slow    # about a minute: seven ingest processes
def test_sigkill_during_ingest_never_leaves_a_half_written_run(tmp_path):
    logs = [write_log(tmp_path / f"car{car}.log", car=car, exceedances=i, seconds=6, seed=i)
            for i, car in enumerate(CARS)]
    db = tmp_path / "crash.duckdb"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    seen = []
    for attempt in range(6):
        # kill once the ingest has reported some cars (so it dies mid-way), at a varying delay after that
        proc = subprocess.Popen(_command(db, logs), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                text=True, start_new_session=True)   # its own process group: killed whole below
        for _ in range(1 + attempt % (len(CARS) - 1)):
            if not proc.stdout.readline():
                break
        time.sleep(0.07 * attempt)
        os.killpg(proc.pid, signal.SIGKILL)      # the ingest and any child it started (e.g. a trial parse)
        proc.communicate(timeout=120)
        runs, n_logs = _state(db)
        seen.append(len(runs))
    print("runs after each kill:", seen)
    assert seen[0] < len(CARS), seen     # the first kill did interrupt the ingest
    final = subprocess.run(_command(db, logs), capture_output=True, text=True, env=env, timeout=300)
    assert final.returncode == 1, final.stderr
    statuses = [json.loads(line)["status"] for line in final.stdout.splitlines()]
    assert set(statuses) <= {"checked", "duplicate"} and len(statuses) == len(CARS)
    runs, n_logs = _state(db)
    assert n_logs == len(CARS)
    # R1 allows one exceedance: the car with none or one is compliant, the others infringe
    assert sorted((car, verdict) for car, verdict, _ in runs) == sorted(
        (car, "compliant" if i <= 1 else "infringement") for i, car in enumerate(CARS))
