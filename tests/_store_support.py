"""Support for the store tests: SPEC §4-shaped verdict dicts, and a worker script run as a separate process
(``python tests/_store_support.py write|read ...``) to exercise the store's inter-process locking."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance.store import schema as st  # noqa: E402


def verdict_dict(verdict: str = "infringement", *, exceedances: int = 2, bulletin: str = "B1",
                 model: str = "bmw_m4_gt3", logs: tuple[str, ...] = ()) -> dict:
    """A check JSON object shaped exactly as SPEC §4 (values made up, structure exact)."""
    return {
        "tool": {"name": "bopwatch", "version": "0.1.0"},
        "inputs": [{"path": f"car7_{i}.blf", "sha256": sha, "format": "blf", "frames": 1000,
                    "start": "2025-06-28T16:30:00Z", "duration_s": 60.0} for i, sha in enumerate(logs)],
        "profile": {"model": model, "sha256": hashlib.sha256(model.encode()).hexdigest()},
        "bulletin": {"id": bulletin, "sha256": hashlib.sha256(bulletin.encode()).hexdigest()},
        "verdict": verdict,
        "rules": [{"rule": "boost", "verdict": verdict, "exceedance_count": exceedances, "max_exceedances": 1}],
        "exceedances": [{"rule": "boost", "start_s": 10.0 * i, "end_s": 10.0 * i + 0.5, "duration_s": 0.5,
                         "peak": 2.71, "limit": 2.62, "excess": 0.09, "unit": "bar", "lap": i + 1}
                        for i in range(exceedances)],
        "data_quality": [{"check": "gap", "channel": "boost_pressure", "start_s": 1200.0, "end_s": 1203.5,
                          "severity": "error", "detail": "no samples for 3.5 s"}],
    }


def write_run(store: st.Store, event: str, session: str, car: str, tag: str, *, actor: str = "test@host") -> str:
    """One log row and one run over it, in one write transaction, like an ingest's final step."""
    sha = hashlib.sha256(tag.encode()).hexdigest()
    verdict = verdict_dict(logs=(sha,))
    run = st.RunRecord(uuid.uuid4().hex, hashlib.sha256(f"run-{tag}".encode()).hexdigest(), event, session, car,
                       (sha,), verdict, "ingest",
                       channels=(st.ChannelSummary("boost_pressure", "bar", 10, "LOG.MAP", 0, 0.0, 9.0, 1.0, 2.7, 2.0),))
    with store.writing() as conn:
        st.upsert_event(conn, event)
        st.upsert_session(conn, event, session)
        st.upsert_entry(conn, event, car, model="bmw_m4_gt3")
        st.insert_log(conn, st.LogRecord(sha, event, session, car, f"{tag}.blf", f"originals/{sha[:2]}/{sha}.blf",
                                         100), actor)
        st.insert_run(conn, run, actor)
    return run.run_id


DATA = Path(__file__).resolve().parent / "data" / "store"
PROFILE = DATA / "store_test_turbo.toml"
BULLETIN_R1 = DATA / "bulletin_store_r1.toml"
BULLETIN_R2 = DATA / "bulletin_store_r2.toml"
START_EPOCH = 1751128200          # 2025-06-28T16:30:00Z


def candump_text(*, seconds: float = 20.0, exceedances: int = 0, rate_hz: int = 100,
                 start_epoch: float = START_EPOCH, seed: int = 0) -> str:
    """A candump log of the store-test car (``tests/data/store/store_test.dbc``): rpm sweeping 4000-7000,
    boost 0.1 bar under the R1 limit, plus ``exceedances`` excursions 0.3 bar over it lasting 0.3 s each."""
    import numpy as np

    n = int(seconds * rate_hz)
    t = np.arange(n) / rate_hz
    rng = np.random.default_rng(seed)
    rpm = 5500 + 1500 * np.sin(2 * np.pi * t / 10.0)
    limit = np.interp(rpm, [4000, 7000], [2.60, 2.40])
    boost = limit - 0.1 + 0.02 * np.sin(t * 3.0) + rng.normal(0, 0.003, n)
    for k in range(exceedances):
        at = (k + 1) * seconds / (exceedances + 1)
        boost[(t >= at) & (t < at + 0.3)] += 0.3
    throttle = 60 + 30 * np.sin(t)
    raw = np.zeros((n, 8), dtype=np.uint8)
    rpm_raw = np.round(rpm).astype(np.uint16)
    boost_raw = np.round(boost / 0.001).astype(np.uint16)
    raw[:, 0], raw[:, 1] = rpm_raw & 0xFF, rpm_raw >> 8
    raw[:, 2], raw[:, 3] = boost_raw & 0xFF, boost_raw >> 8
    raw[:, 4] = np.round(throttle / 0.5).astype(np.uint8)
    lines = [f"({start_epoch + ti:.6f}) can0 100#{row.tobytes().hex().upper()}" for ti, row in zip(t, raw, strict=True)]
    return "\n".join(lines) + "\n"


def write_log(path: Path, *, event: str = "ev", session: str = "race", car: str = "7", sidecar: bool = True,
              **kwargs) -> Path:
    path.write_text(candump_text(**kwargs))
    if sidecar:
        Path(f"{path}.meta.json").write_text(json.dumps({"event": event, "session": session, "car": car}))
    return path


def _main(argv: list[str]) -> int:
    mode, db = argv[0], argv[1]
    store = st.open_store(db, lock_timeout_s=60)
    if mode == "write":
        car, count = argv[2], int(argv[3])
        for i in range(count):
            write_run(store, "ev", "race", car, f"car{car}-{i}")
        return 0
    if mode == "read":   # read until the file argv[2] exists (at least twice), at most 120 s
        stop = Path(argv[2])
        end = time.monotonic() + 120
        seen: list[int] = []
        while time.monotonic() < end and (len(seen) < 2 or not stop.exists()):
            with store.reading() as conn:
                seen.append(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
            if len(seen) == 1:
                Path(f"{stop}.reading-{os.getpid()}").touch()   # tell the test this reader is running
        print(json.dumps({"reads": len(seen), "max": max(seen), "monotonic": seen == sorted(seen)}))
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
