"""Two writing processes and two reading processes on one store at once: no lock error, no lost write."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from compliance.store import audit
from compliance.store import schema as st

WORKER = Path(__file__).resolve().parent / "_store_support.py"


def test_two_writers_and_two_readers_in_separate_processes(tmp_path):
    db = tmp_path / "c.duckdb"
    st.open_store(db)
    per_writer = 12
    stop = tmp_path / "writers-done"
    readers = [subprocess.Popen([sys.executable, str(WORKER), "read", str(db), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("writers-done.reading-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)    # both readers are reading before the writers start
    writers = [subprocess.Popen([sys.executable, str(WORKER), "write", str(db), car, str(per_writer)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for car in ("7", "8")]
    results = [p.communicate(timeout=300) for p in writers]
    stop.touch()
    results += [p.communicate(timeout=300) for p in readers]
    for p, (_out, err) in zip(writers + readers, results, strict=True):
        assert p.returncode == 0, err
        assert "lock" not in err.lower(), err
    for out, _ in results[2:]:
        stats = json.loads(out)
        assert stats["reads"] >= 2 and stats["monotonic"], stats    # counts only grow: no write is undone
    store = st.open_store(db)
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2 * per_writer
        assert conn.execute("SELECT count(DISTINCT car) FROM runs").fetchone()[0] == 2
    report = audit.verify(store, originals=False)
    assert report.ok, report.problems
    assert report.rows == 4 * per_writer + 4      # a log and a run each; the event, session, two entries
