"""``bopwatch watch``: files copied slowly, in pieces, while another process reads the store, are each ingested
exactly once, never half-read, without a lock error; notifications (watchdog) and ``--poll`` both work."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _store_support import BULLETIN_R1, PROFILE, candump_text

from compliance.ingest.watch import is_candidate
from compliance.store import audit
from compliance.store import schema as st
from compliance.store.originals import sha256_file

BOPWATCH = str(Path(sys.executable).parent / "bopwatch")
WORKER = Path(__file__).resolve().parent / "_store_support.py"


def _copy_slowly(text: str, dest: Path, pieces: int = 6, pause_s: float = 0.12) -> None:
    """Write like a card reader copying: in pieces with pauses shorter than the settle time."""
    data = text.encode()
    step = len(data) // pieces + 1
    with open(dest, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            time.sleep(pause_s)


def _finish(proc: subprocess.Popen, timeout_s: float = 120) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def _wait_for_logs(db: Path, n: int, timeout_s: float = 60) -> None:
    store = st.open_store(db)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        with store.reading() as conn:
            if conn.execute("SELECT count(*) FROM runs").fetchone()[0] >= n:
                return
        time.sleep(0.2)
    raise AssertionError(f"{n} runs not stored within {timeout_s} s")


@pytest.mark.parametrize("mode", ["notify", "poll"])
def test_files_dropped_slowly_are_ingested_exactly_once_while_a_reader_runs(tmp_path, mode):
    inbox = tmp_path / "inbox"
    (inbox / "race").mkdir(parents=True)
    db = tmp_path / "w.duckdb"
    st.open_store(db)
    cmd = [BOPWATCH, "watch", str(inbox), "--db", str(db), "--profile", str(PROFILE), "--bulletin",
           str(BULLETIN_R1), "--settle", "0.6", "--poll-interval", "0.1"] + (["--poll"] if mode == "poll" else [])
    stop = tmp_path / "stop-reading"
    watcher = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = subprocess.Popen([sys.executable, str(WORKER), "read", str(db), str(stop)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    cars = ["7", "8", "9", "10"]
    finals = {}
    try:
        time.sleep(1.0)   # let the watcher start
        for i, car in enumerate(cars):
            log = inbox / "race" / f"car{car}.log"
            _copy_slowly(candump_text(seconds=8, exceedances=i, seed=i), log)
            Path(f"{log}.meta.json").write_text(json.dumps({"event": "ev", "session": "race", "car": car}))
            finals[car] = sha256_file(log)
        (inbox / "race" / ".car11.log.part").write_text("a copy in progress under a temporary name")
        _wait_for_logs(db, len(cars), timeout_s=240)
        time.sleep(1.0)   # anything processed twice would show up now
    finally:
        stop.touch()
        watcher.send_signal(signal.SIGTERM)
        out, err = _finish(watcher)
        r_out, r_err = _finish(reader)
    assert watcher.returncode == 1, err        # an infringing car among them; SIGTERM is a clean stop
    assert "lock" not in err.lower() and "error" not in err.lower(), err
    assert reader.returncode == 0 and "lock" not in r_err.lower(), r_err
    assert json.loads(r_out)["reads"] >= 2
    lines = [json.loads(x) for x in out.splitlines()]
    assert sorted(x["car"] for x in lines) == sorted(cars)
    assert all(x["status"] == "checked" and x["sha256"] == finals[x["car"]] for x in lines), lines
    store = st.open_store(db)
    with store.reading() as conn:
        logs = dict(conn.execute("SELECT car, sha256 FROM logs").fetchall())
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == len(cars)
    assert logs == finals
    assert audit.verify(store).ok


def test_once_processes_what_is_there_and_waits_for_sidecars(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "car7.log").write_text(candump_text(seconds=5))
    (inbox / "car7.log.meta.json").write_text('{"event": "ev", "session": "race", "car": "7"}')
    (inbox / "car8.log").write_text(candump_text(seconds=5, seed=3))          # no sidecar: left for later
    run = subprocess.run([BOPWATCH, "watch", str(inbox), "--once", "--settle", "0.2", "--poll", "--db",
                          str(tmp_path / "w.duckdb"), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert [json.loads(x)["car"] for x in run.stdout.splitlines()] == ["7"]
    assert "waiting for its sidecar car8.log.meta.json" in run.stderr


def test_temporary_and_sidecar_names_are_not_logs():
    assert is_candidate(Path("car7.blf")) and is_candidate(Path("car7.asc.gz"))
    for name in (".car7.blf", "car7.blf.part", "car7.blf.tmp", "car7.blf.meta.json", "notes.txt", "car7.blf~",
                 "entry_list.csv"):
        assert not is_candidate(Path(name)), name
