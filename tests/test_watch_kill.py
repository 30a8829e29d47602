"""SIGKILL ``bopwatch watch`` while a burst of logs lands in its folder, again and again, checking the store after
every kill: no half-written run, no log row without its original (or an original that does not hash to its name),
the audit chain intact, the dropped files untouched; then one ``watch --once`` completes everything."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _store_support import BULLETIN_R1, PROFILE, candump_text

from compliance.store import audit
from compliance.store import schema as st
from compliance.store.originals import sha256_file

BOPWATCH = str(Path(sys.executable).parent / "bopwatch")
#: (cars dropped in the burst, new runs to wait for, then seconds before the kill): kills while the files
#: settle, just after a run was committed, and part-way through judging the next car
ROUNDS = ((("7", "8", "9"), 0, 0.3), (("10", "11"), 1, 0.0), (("12", "13", "14"), 1, 0.25),
          (("15", "16"), 2, 0.1), (("17", "18", "19"), 1, 0.5), (("20", "21"), 3, 0.0))


def _exceedances(car: str) -> int:
    return int(car) % 4          # R1 allows one: cars with 0 or 1 are compliant


def _watch(inbox: Path, db: Path, *extra: str) -> list[str]:
    return [BOPWATCH, "watch", str(inbox), "--db", str(db), "--profile", str(PROFILE), "--bulletin",
            str(BULLETIN_R1), "--poll", "--poll-interval", "0.1", "--settle", "0.3", *extra]


def _drop(inbox: Path, car: str) -> tuple[Path, str]:
    log = inbox / f"car{car}.log"
    log.write_text(candump_text(seconds=6, exceedances=_exceedances(car), seed=int(car)))
    Path(f"{log}.meta.json").write_text(json.dumps({"event": "ev", "session": "race", "car": car}))
    return log, sha256_file(log)


def _check_store(db: Path, dropped: dict[Path, str]) -> tuple[int, int]:
    """The store is consistent after a kill; returns (runs, logs)."""
    store = st.open_store(db)
    report = audit.verify(store)
    assert report.ok, report.problems
    with store.reading() as conn:
        assert st.check_consistency(conn) == []
        logs = conn.execute("SELECT sha256, stored_path FROM logs").fetchall()
        runs = conn.execute("SELECT run_id, car, log_count, verdict FROM runs").fetchall()
        rules = dict(conn.execute("SELECT run_id, count(*) FROM rule_results GROUP BY run_id").fetchall())
        exc = dict(conn.execute("SELECT run_id, count(*) FROM exceedances GROUP BY run_id").fetchall())
    for sha, stored in logs:                       # no lost original
        path = store.absolute(stored)
        assert path.is_file(), f"log {sha} has no original at {path}"
        assert sha256_file(path) == sha
    for run_id, car, log_count, verdict in runs:   # no half-written run
        assert log_count >= 1 and rules.get(run_id, 0) >= 1, (car, run_id)
        assert exc.get(run_id, 0) == _exceedances(car), (car, exc.get(run_id, 0))
        assert verdict == ("compliant" if _exceedances(car) <= 1 else "infringement")
    for path, sha in dropped.items():              # the watched folder is never modified
        assert sha256_file(path) == sha
    return len(runs), len(logs)


def _lines(stream, out: queue.Queue) -> None:
    for line in iter(stream.readline, b""):
        out.put(line)


@pytest.mark.slow
def test_sigkill_during_watched_folder_bursts_never_loses_or_half_writes_anything(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    db = tmp_path / "watch.duckdb"
    st.open_store(db)
    dropped: dict[Path, str] = {}
    progress = []
    seen: list[dict] = []
    for cars, wait_lines, delay in ROUNDS:
        watcher = subprocess.Popen(_watch(inbox, db), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   start_new_session=True)     # its own group: the kill takes its children too
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_lines, args=(watcher.stdout, lines), daemon=True)
        reader.start()
        try:
            time.sleep(0.5)
            for car in cars:
                log, sha = _drop(inbox, car)
                dropped[log] = sha
            checked = 0
            while checked < wait_lines:                         # a new run was just committed
                seen.append(json.loads(lines.get(timeout=120)))
                checked += seen[-1]["status"] == "checked"      # (a restart re-reads old files: duplicates)
            time.sleep(delay)
        finally:
            os.killpg(watcher.pid, signal.SIGKILL)
            watcher.wait(timeout=30)
            reader.join(timeout=30)
            watcher.stdout.close()
        assert watcher.returncode == -signal.SIGKILL
        progress.append(_check_store(db, dropped))
    final = subprocess.run(_watch(inbox, db, "--once"), capture_output=True, text=True, timeout=300)
    assert final.returncode == 1, final.stderr              # an infringing car among them
    outcomes = [json.loads(line) for line in final.stdout.splitlines()]
    assert all(o["status"] in ("checked", "duplicate") for o in outcomes), outcomes
    runs, logs = _check_store(db, dropped)
    assert logs == len(dropped)
    store = st.open_store(db)
    with store.reading() as conn:
        judged = {car for (car,) in conn.execute("SELECT DISTINCT car FROM runs").fetchall()}
        stored = {sha for (sha,) in conn.execute("SELECT sha256 FROM logs").fetchall()}
    assert stored == set(dropped.values())
    assert judged == {car for cars, _, _ in ROUNDS for car in cars}
    # the kills interrupted work part-way: runs were committed between kills, yet files were left unjudged
    dropped_by_round = [sum(len(c) for c, _, _ in ROUNDS[: i + 1]) for i in range(len(ROUNDS))]
    assert progress[-1][0] > 0 and any(r < n for (r, _), n in zip(progress, dropped_by_round, strict=True)), progress
    print("runs and logs after each kill:", progress, "; outcomes seen:", [(o["car"], o["status"]) for o in seen])
