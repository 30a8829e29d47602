"""What the evidence store costs on top of the check: ``python -m benchmarks.bench_store [LOG] [--repeat N]``.

Times, in one run and on the same log: ``check_logs`` alone (the reference), a full ``ingest_logs`` into a fresh
store (hash, write-once copy, check, Parquet, one write transaction), a re-ingest of the same file (recognised
as a duplicate), a short locked read (open read-only, one query, close) and one run's write transaction. Prints
medians and the ratios to the check. Default LOG: sample_logs/race/car7.blf with its event.toml.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_store", description=__doc__.splitlines()[0])
    ap.add_argument("log", nargs="?", type=Path, default=ROOT / "sample_logs" / "race" / "car7.blf")
    ap.add_argument("--event-info", type=Path, default=ROOT / "sample_logs" / "event.toml")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from compliance.ingest.pipeline import (
        _bulletin_sources,
        _profile_source,
        find_profile,
        ingest_logs,
        load_event_info,
        resolve_meta,
    )
    from compliance.judge.check import check_logs
    from compliance.store import schema as st

    info = load_event_info(args.event_info)
    meta = resolve_meta(args.log, entries=info.entries)
    profile = find_profile(str(_profile_source(None, meta, info)))
    bulletins = _bulletin_sources(None, meta, info)
    extra = {"lap_length_m": info.track_length_m, "track_category": info.track_category}
    size_mb = args.log.stat().st_size / 1e6

    check_s = _median(lambda: check_logs([args.log], profile, bulletins, **extra), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        n = [0]

        def create() -> None:
            n[0] += 1
            st.open_store(Path(tmp) / f"s{n[0]}.duckdb")

        create_s = _median(create, args.repeat)
        fresh_stores = iter(range(1, n[0] + 1))

        def fresh() -> None:
            store = st.open_store(Path(tmp) / f"s{next(fresh_stores)}.duckdb")
            out = ingest_logs(store, [args.log], event_info=info)
            assert out[0].status == "checked", out[0].error

        ingest_s = _median(fresh, args.repeat)
        store = st.open_store(Path(tmp) / "s1.duckdb")
        dup_s = _median(lambda: ingest_logs(store, [args.log], event_info=info), args.repeat)

        def read() -> None:
            with store.reading() as conn:
                conn.execute("SELECT count(*) FROM latest_runs").fetchone()

        read_s = _median(read, max(args.repeat, 20))
        sys.path.insert(0, str(ROOT / "tests"))
        from _store_support import write_run
        k = [0]

        def write() -> None:
            k[0] += 1
            write_run(store, "bench", "race", "1", f"bench-{k[0]}")

        write_s = _median(write, max(args.repeat, 20))
    rows = [("check_logs alone (reference)", check_s), ("create an empty store", create_s),
            ("ingest into an empty store", ingest_s),
            ("re-ingest (duplicate)", dup_s), ("locked read: open, 1 query, close", read_s),
            ("one run's write transaction", write_s)]
    print(f"log {args.log} ({size_mb:.1f} MB), median of {args.repeat} (reads/writes: of {max(args.repeat, 20)})")
    print(f"{'step':40s} {'seconds':>9s} {'x check':>8s}")
    for name, sec in rows:
        print(f"{name:40s} {sec:9.3f} {sec / check_s:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
