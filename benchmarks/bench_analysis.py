"""``bopwatch bop analyse`` on a whole field (issue 17): N simulated cars x M minutes in one session, as a whole
process (start-up, reading each run's channel Parquet, envelopes, boost usage, laps, sensitivity, proposal).

The field is bench_fleet's (one BLF per car, distinct seeds, sidecars naming event ``bench`` and session
``race``; the logs are reused from ``<dir>/fleet`` when they are there), ingested once into
``<dir>/analysis/`` (kept with ``--dir`` and reused on the next run). The analysis reads the weights from a copy
of the benchmark bulletin with a ``min_weight_kg`` (``--bulletin``), so the proposal table is computed too.

The issue-17 target is a 70-car, 1-hour session in under 60 s. 70 x 60 min is ~14 GB of BLF to simulate and
~7 minutes to ingest on the build machine; ``--minutes 5`` measures 70 x 5 min and the row's note extrapolates
the analysis linearly in car-hours from the measured time over the start-up (a 1-car analysis of the same store).

    .venv/bin/python -m benchmarks.bench_analysis --cars 70 --minutes 5 --dir /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from . import bench_fleet
from ._common import Row, bopwatch_argv, format_table, run_child

__all__ = ["run", "main", "TARGET_S"]

#: the issue-17 target: a 70-car, 1-hour session analysed in under a minute
TARGET_S = 60.0


def _weighted_bulletin(folder: Path, plain: Path) -> Path:
    """The benchmark bulletin with a min_weight_kg, so power-to-weight and the proposal are computed."""
    text = plain.read_text(encoding="utf-8").replace('name = "bmw_m4_gt3"\n', 'name = "bmw_m4_gt3"\nmin_weight_kg = 1300\n')
    path = folder / "bulletin-weights.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _store(folder: Path, cars: int, minutes: float) -> tuple[Path, Path]:
    """The ingested field (simulated into ``folder/../fleet`` and ingested once)."""
    logs_dir = folder.parent / "fleet"
    logs_dir.mkdir(parents=True, exist_ok=True)
    db = folder / f"field-{cars}x{minutes:g}min.duckdb"
    logs = bench_fleet.simulate_field(logs_dir, cars, minutes)
    bulletin = _weighted_bulletin(folder, logs_dir / "bulletin.toml")
    if not db.exists():
        child = run_child(bench_fleet.ingest_argv(logs, db, logs_dir / "bulletin.toml"))
        if child.returncode not in (0, 1, 3):
            raise RuntimeError(f"bopwatch ingest failed (exit {child.returncode}): {child.stderr[-2000:]}")
    return db, bulletin


def _analyse(db: Path, bulletin: Path, *extra: str):
    child = run_child(bopwatch_argv("bop", "analyse", "--event", "bench", "--bulletin", str(bulletin), "--json",
                                    "--db", str(db), *extra))
    if child.returncode != 0:
        raise RuntimeError(f"bop analyse failed (exit {child.returncode}): {child.stderr[-2000:]}")
    return child, json.loads(child.stdout)


def run(cars: int, minutes: float, folder: Path, *, rounds: int = 3) -> list[Row]:
    folder.mkdir(parents=True, exist_ok=True)
    db, bulletin = _store(folder, cars, minutes)
    import duckdb

    with duckdb.connect(str(db), read_only=True) as conn:
        frames = int(conn.execute("SELECT coalesce(sum(frames), 0) FROM logs").fetchone()[0])
    times, cpu, rss = [], [], []
    for _ in range(rounds):
        child, result = _analyse(db, bulletin)
        assert len(result["cars"]) == cars, f"{len(result['cars'])} cars analysed, {cars} stored"
        times.append(child.seconds)
        cpu.append(child.cpu_seconds)
        rss.append(child.peak_rss_mb)
    wall, cpu_s = statistics.median(times), statistics.median(cpu)
    # the start-up and fixed cost: the same analysis of a 1-car store (the first car); per extra car:
    # (field - one car) / (cars - 1)
    single = folder / "field-1car.duckdb"
    if not single.exists():
        logs_dir = folder.parent / "fleet"
        log = bench_fleet.simulate_field(logs_dir, 1, minutes)
        child = run_child(bench_fleet.ingest_argv(log, single, logs_dir / "bulletin.toml"))
        if child.returncode not in (0, 1, 3):
            raise RuntimeError(f"bopwatch ingest (1 car) failed: {child.stderr[-2000:]}")
    fixed = statistics.median(_analyse(single, bulletin)[0].seconds for _ in range(rounds))
    per_car = max(wall - fixed, 0.0) / max(cars - 1, 1)
    hour = fixed + per_car * (cars - 1) * 60.0 / minutes
    note = (f"median of {rounds}; 1-car analysis {fixed:.2f} s (start-up), {per_car * 1000:.0f} ms per extra car of "
            f"{minutes:g} min")
    if minutes < 60:
        note += f"; extrapolated linearly to {cars} x 60 min: {hour:.1f} s"
    return [Row(case=f"bop analyse {cars} cars x {minutes:g} min", frames=frames, seconds=wall,
                peak_rss_mb=max(rss), target=f"< {TARGET_S:g} s for 70 x 60 min", note=note, cpu_seconds=cpu_s)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_analysis", description=__doc__.splitlines()[0])
    ap.add_argument("--cars", type=int, default=70)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, help="keep the simulated logs and the store here (reused on the next run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-analysis-") as tmp:
        rows = run(args.cars, args.minutes, (args.dir or Path(tmp)) / "analysis", rounds=args.rounds)
    print("\n".join(json.dumps(r.to_dict()) for r in rows) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
