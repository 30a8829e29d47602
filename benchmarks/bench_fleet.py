"""A whole field through ``bopwatch ingest``: N simulated cars x M minutes, serial vs the fleet path.

The simulator writes one BLF per car (distinct seeds, a ``<log>.meta.json`` sidecar naming event, session and
car). ``bopwatch ingest`` then stores and judges all of them into a fresh store, timed as a child process, once
with ``--workers 1`` (the reference: one car after the other) and once with the fleet path (``--workers`` =
every core by default, or ``--scheduler ADDRESS`` for a Dask cluster). The ratio is the speed-up. From the
measured cost per car-hour the table's note extrapolates a 24-hour race of ``--race-cars`` cars on 16 cores and
on a cluster (jobs are whole cars, so a cluster can never beat one 24-hour car on one core).

    .venv/bin/python -m benchmarks.bench_fleet --cars 70 --minutes 2      # the documented scaled session

When the serial reference over every car does not fit, ``--serial-cars K`` runs it over the first K cars only and
scales its wall and CPU time to the whole field (said in the note). The note also gives the 1-minute load average
before and after each run (the machine is shared). The fleet run's CPU time counts the ingest process and the
children it waits for, not the pool workers (children of multiprocessing's fork server): the cost per car-hour
comes from the serial run, which is all one process tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ._common import MODEL, PROFILE, Row, bopwatch_argv, format_table, run_child, simulate, write_bulletin

__all__ = ["run", "main", "clean", "Extrapolation", "extrapolate"]


@dataclass(frozen=True, slots=True)
class Extrapolation:
    core_s_per_car_hour: float      # worker-core seconds to ingest one car-hour
    race_car_hours: float
    hours_16_cores: float
    hours_cluster: float
    cluster_cores: int

    def text(self) -> str:
        return (f"{self.core_s_per_car_hour:.1f} core-s per car-hour; 24 h race "
                f"({self.race_car_hours:g} car-h): {self.hours_16_cores * 60:.0f} min on 16 cores, "
                f"{self.hours_cluster * 60:.0f} min on a {self.cluster_cores}-core cluster")


def extrapolate(core_seconds: float, car_hours: float, *, race_cars: int = 70, race_hours: float = 24.0,
                cluster_cores: int | None = None) -> Extrapolation:
    """Linear in car-hours from ``core_seconds`` spent on ``car_hours``; a job is one car's session, so the
    floor is one race-long car on one core."""
    cost = core_seconds / car_hours
    race = race_cars * race_hours
    one_car_h = cost * race_hours / 3600.0
    cores = cluster_cores or race_cars
    return Extrapolation(cost, race, max(race * cost / 16 / 3600.0, one_car_h),
                         max(race * cost / cores / 3600.0, one_car_h), cores)


def _simulate_car(args: tuple[Path, float, int, Path]) -> Path:
    folder, minutes, car, bulletin = args
    log = simulate(folder, "blf", minutes, seed=car, name=f"car{car:03d}", bulletin=bulletin)
    side = Path(f"{log}.meta.json")
    side.write_text(json.dumps({"event": "bench", "session": "race", "car": str(car), "model": MODEL}),
                    encoding="utf-8")
    return log


def simulate_field(folder: Path, cars: int, minutes: float, workers: int = 2) -> list[Path]:
    bulletin = write_bulletin(folder)
    jobs = [(folder, minutes, car, bulletin) for car in range(1, cars + 1)]
    if workers <= 1:
        return [_simulate_car(j) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_simulate_car, jobs))


def ingest_argv(logs: list[Path], db: Path, bulletin: Path, *, workers: int | None = None,
                scheduler: str | None = None) -> list[str]:
    argv = bopwatch_argv("ingest", *map(str, logs), "--profile", str(PROFILE), "--bulletin", str(bulletin),
                         "--db", str(db))
    if workers is not None:
        argv += ["--workers", str(workers)]
    if scheduler is not None:
        argv += ["--scheduler", scheduler]
    return argv


def _verdicts(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            o = json.loads(line)
            out[o["car"]] = o["verdict"] if o["status"] != "error" else f"error: {o['error']}"
    return out


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run(cars: int, minutes: float, folder: Path, *, workers: int | None = None, scheduler: str | None = None,
        serial: bool = True, race_cars: int = 70, cluster_cores: int | None = None,
        serial_cars: int | None = None) -> list[Row]:
    from compliance.ingest.fleet import default_workers

    logs = simulate_field(folder, cars, minutes)
    bulletin = folder / "bulletin.toml"
    n = workers or default_workers()
    load = [_load()]
    fleet = run_child(ingest_argv(logs, folder / "fleet.duckdb", bulletin, workers=n, scheduler=scheduler))
    load.append(_load())
    if fleet.returncode not in (0, 1, 3):
        raise RuntimeError(f"bopwatch ingest (fleet) failed (exit {fleet.returncode}): {fleet.stderr[-2000:]}")
    verdicts = _verdicts(fleet.stdout)
    ref_seconds = ref_cpu = None
    note = f"load {load[0]}->{load[1]} during the fleet run; "
    if serial:
        k = min(cars, serial_cars or cars)
        one = run_child(ingest_argv(logs[:k], folder / "serial.duckdb", bulletin, workers=1))
        load.append(_load())
        if one.returncode not in (0, 1, 3):
            raise RuntimeError(f"bopwatch ingest (serial) failed (exit {one.returncode}): {one.stderr[-2000:]}")
        scale = cars / k
        ref_seconds, ref_cpu = one.seconds * scale, one.cpu_seconds * scale
        serial_verdicts = _verdicts(one.stdout)
        same = serial_verdicts == {c: v for c, v in verdicts.items() if c in serial_verdicts}
        note += (f"load {load[1]}->{load[2]} during the serial run"
                 + (f" over the first {k} cars (wall {one.seconds:.1f} s, CPU {one.cpu_seconds:.1f} s; "
                    f"scaled x{scale:.2f})" if k < cars else "") + "; "
                 + f"serial verdicts identical: {'yes' if same and len(serial_verdicts) == k else 'NO'}; ")
    car_hours = cars * minutes / 60.0
    frames = _frames(folder / "fleet.duckdb")
    # cost: the serial run's CPU time (one process, measured exactly), else the fleet's wall time x workers
    core_seconds = ref_cpu if ref_cpu is not None else fleet.seconds * (1 if scheduler else n)
    ex = extrapolate(core_seconds, car_hours, race_cars=race_cars, cluster_cores=cluster_cores)
    where = f"scheduler {scheduler}" if scheduler else f"{n} workers"
    counts = {v: list(verdicts.values()).count(v) for v in sorted(set(verdicts.values()))}
    note += f"{where}; {ex.text()}; verdicts {counts}"
    return [Row(f"fleet ingest {cars} cars x {minutes:g} min", frames, fleet.seconds, fleet.peak_rss_mb,
                "ingest --workers 1" if serial else "", ref_seconds, "uses every core", note,
                fleet.cpu_seconds, ref_cpu)]


def clean(folder: Path) -> None:
    """Remove the stores of an earlier run (the simulated logs are kept for reuse)."""
    for db in folder.glob("*.duckdb*"):
        db.unlink()
    for store in folder.glob("*_store"):
        shutil.rmtree(store)


def _frames(db: Path) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as conn:
        return int(conn.execute("SELECT coalesce(sum(frames), 0) FROM logs").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_fleet", description=__doc__.splitlines()[0])
    ap.add_argument("--cars", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--workers", type=int, help="worker processes (default: every core)")
    ap.add_argument("--scheduler", help="Dask scheduler address instead of the process pool")
    ap.add_argument("--no-serial", action="store_true", help="skip the --workers 1 reference run")
    ap.add_argument("--serial-cars", type=int, metavar="K",
                    help="run the serial reference over the first K cars only, scaled to the whole field")
    ap.add_argument("--race-cars", type=int, default=70)
    ap.add_argument("--cluster-cores", type=int, help="cores of the cluster to extrapolate to (default one per car)")
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clean(folder)
        rows = run(args.cars, args.minutes, folder, workers=args.workers, scheduler=args.scheduler,
                   serial=not args.no_serial, race_cars=args.race_cars, cluster_cores=args.cluster_cores,
                   serial_cars=args.serial_cars)
    print("\n".join(json.dumps(r.to_dict()) for r in rows) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
