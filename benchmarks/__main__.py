"""``python -m benchmarks``: every benchmark in one run, one table (format, frames/s, ratio to the reference
timed in the same run, peak RSS). ``bopwatch bench`` prints the same table.

Defaults are small so the whole run takes a few minutes; ``--minutes 60`` is the issue-7 size (see
docs/performance.md for the full figures and the commands that made them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from . import bench_analysis, bench_check, bench_fleet, bench_memory, bench_v2
from ._common import SUFFIX, Row, format_table

__all__ = ["main", "build_parser", "run_all"]


def build_parser(prog: str = "python -m benchmarks") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    add_arguments(ap)
    return ap


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--minutes", type=float, default=2.0,
                    help="simulated log length for the format and memory rows (default 2; the targets are 60)")
    ap.add_argument("--formats", nargs="+", default=list(SUFFIX), choices=list(SUFFIX))
    ap.add_argument("--reference-minutes", type=float,
                    help="time the references on a shorter log and scale them by frames (default: same log)")
    ap.add_argument("--memory-minutes", type=float, nargs="*", default=None,
                    help="log lengths for the memory rows (default: --minutes; 60 1440 = the targets)")
    ap.add_argument("--cars", type=int, default=4, help="cars in the fleet row (default 4)")
    ap.add_argument("--fleet-minutes", type=float, default=1.0, help="minutes per car in the fleet row")
    ap.add_argument("--workers", type=int, help="fleet worker processes (default: every core)")
    ap.add_argument("--scheduler", help="Dask scheduler address for the fleet row")
    ap.add_argument("--only", nargs="+", choices=("check", "memory", "fleet", "v2", "analysis"),
                    default=["check", "memory", "fleet", "v2"])
    ap.add_argument("--analysis-cars", type=int, default=70, help="cars in the bop analyse row (default 70)")
    ap.add_argument("--analysis-minutes", type=float, default=5.0,
                    help="minutes per car in the bop analyse row (default 5, extrapolated to 60)")
    ap.add_argument("--v2-rounds", type=int, default=3, help="alternating rounds of the SPEC §5 gating row")
    ap.add_argument("--dir", type=Path, help="keep the simulated logs here (reused on the next run)")
    ap.add_argument("--json", action="store_true", help="rows as JSON lines instead of the table")


def run_all(args: argparse.Namespace, folder: Path) -> list[Row]:
    rows: list[Row] = []
    if "check" in args.only:
        rows += bench_check.run(args.minutes, args.formats, folder, reference_minutes=args.reference_minutes)
    if "memory" in args.only:
        minutes = args.memory_minutes if args.memory_minutes else [args.minutes]
        rows += bench_memory.run(minutes, folder)
    if "v2" in args.only:
        rows += bench_v2.run(args.minutes, folder / "v2", rounds=args.v2_rounds)
    if "analysis" in args.only:
        rows += bench_analysis.run(args.analysis_cars, args.analysis_minutes, folder / "analysis")
    if "fleet" in args.only:
        rows += bench_fleet.run(args.cars, args.fleet_minutes, folder / "fleet", workers=args.workers,
                                scheduler=args.scheduler)
    return rows


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-") as tmp:
        folder = args.dir or Path(tmp)
        (folder / "fleet").mkdir(parents=True, exist_ok=True)
        bench_fleet.clean(folder / "fleet")
        rows = run_all(args, folder)
    if args.json:
        sys.stdout.write("".join(json.dumps(r.to_dict()) + "\n" for r in rows))
    else:
        sys.stdout.write(format_table(rows) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
