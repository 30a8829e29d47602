"""Reader speed: frames/s of bopwatch's log readers against the reference readers, timed in the same run.

    python -m benchmarks.bench_readers [--minutes 10] [--rate 5000] [--formats blf asc candump trc csv mf4]
    python -m benchmarks.bench_readers --log some.blf [--log other.asc ...]

Generates (or takes) a log per format: ``--minutes`` of CAN traffic at ``--rate`` frames/s on 2 buses, 80
identifiers, 8-byte payloads, written with the simulator's writers (telemetry.simulate.writers). Each reader runs
in its own child process; the time is the read alone (measured inside the child, after imports), the RSS the
child's peak. References: python-can's ``LogReader`` (BLF, ASC, candump, TRC, CSV; every frame as a Message) and
asammdf's bulk ``get`` of the CAN_DataFrame fields (MF4). Ours reads with ``open_log(...).chunks()`` (bounded
memory) and touches every column.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ._common import python_argv, run_child

__all__ = ["generate", "measure", "main"]

SUFFIX = {"blf": ".blf", "asc": ".asc", "candump": ".log", "trc": ".trc", "csv": ".csv", "mf4": ".mf4"}
FORMAT_OF = {v: k for k, v in SUFFIX.items()}

OURS = r"""
import sys, time, json
from telemetry.formats import open_log
t0 = time.perf_counter()
n = 0
check = 0
with open_log(sys.argv[1]) as lf:
    for c in lf.chunks():
        n += len(c)
        check += int(c.arbitration_id[-1]) + int(c.data[-1, 0])
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t0}))
"""

PYTHON_CAN = r"""
import sys, time, json, can
t0 = time.perf_counter()
n = 0
reader = can.LogReader(sys.argv[1])
for m in reader:
    n += 1
reader.stop()
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t0}))
"""

ASAMMDF = r"""
import sys, time, json, warnings
warnings.simplefilter("ignore")
from asammdf import MDF
t0 = time.perf_counter()
mdf = MDF(sys.argv[1])
n = 0
for name in ("ID", "IDE", "BusChannel", "DataLength", "DataBytes"):
    for g, i in mdf.channels_db.get("CAN_DataFrame." + name, ()):
        s = mdf.get("CAN_DataFrame." + name, group=g, index=i)
        if name == "ID":
            n += len(s.samples)
mdf.close()
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t0}))
"""


def _frames(n: int, rate: float, seed: int):
    """``n`` frames: 80 ids with periods 1..100 ms scaled to ``rate``, 2 buses, 8-byte random payloads."""
    from telemetry.frames import Frames
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(0x80, 0x700), 80, replace=False)).astype(np.uint32)
    ident = ids[rng.integers(0, 80, n)]
    ts = np.arange(n) / rate + rng.uniform(0, 0.2 / rate, n)
    return Frames(ts, (ident % 2).astype(np.uint8), ident, np.zeros(n, np.uint8), np.full(n, 8, np.uint8),
                  rng.integers(0, 256, (n, 8), dtype=np.uint8))


def generate(folder: Path, fmt: str, minutes: float, rate: float, seed: int = 1) -> Path:
    """Write (once; reused when present) a ``minutes``-long log in ``fmt``."""
    from telemetry.frames import Frames
    from telemetry.simulate.writers import open_writer
    path = folder / f"bench_{minutes:g}min_{rate:g}fps{SUFFIX[fmt]}"
    if path.exists():
        return path
    n = int(minutes * 60 * rate)
    frames = _frames(n, rate, seed)
    tmp = path.with_name("partial_" + path.name)
    writer = open_writer(tmp, fmt, datetime(2026, 6, 28, 16, 30, tzinfo=UTC))
    step = 500_000
    for lo in range(0, n, step):
        sl = slice(lo, lo + step)
        writer.write(Frames(frames.timestamp[sl], frames.bus[sl], frames.arbitration_id[sl], frames.flags[sl],
                            frames.length[sl], frames.data[sl]))
    writer.close()
    tmp.rename(path)
    return path


def _generate_in_child(folder: Path, fmt: str, minutes: float, rate: float) -> Path:
    """Generate in a child process: the frames held while writing would otherwise raise this process's RSS
    high-water mark, which Linux passes on to every reader child forked after it."""
    child = run_child([sys.executable, "-m", "benchmarks.bench_readers", "--generate-only", fmt, "--dir",
                       str(folder), "--minutes", str(minutes), "--rate", str(rate)], cwd=Path(__file__).parent.parent)
    if child.returncode != 0:
        raise RuntimeError(f"generating the {fmt} log failed: {child.stderr.strip()[-500:]}")
    return Path(child.stdout.strip().splitlines()[-1])


def _child(script: str, path: Path) -> dict:
    child = run_child(python_argv(script, str(path)))
    if child.returncode != 0:
        raise RuntimeError(f"{path}: reader failed: {child.stderr.strip()[-500:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = child.peak_rss_mb
    return result


def measure(path: Path, fmt: str) -> dict:
    ours = _child(OURS, path)
    ref = _child(ASAMMDF if fmt == "mf4" else PYTHON_CAN, path)
    return {"format": fmt, "file": path.name, "size_mb": path.stat().st_size / 1e6, "frames": ours["frames"],
            "ours_s": ours["seconds"], "ours_fps": ours["frames"] / ours["seconds"],
            "ours_rss_mb": ours["peak_rss_mb"], "reference": "asammdf bulk get" if fmt == "mf4" else "python-can",
            "ref_frames": ref["frames"], "ref_s": ref["seconds"], "ref_fps": ref["frames"] / ref["seconds"],
            "ref_rss_mb": ref["peak_rss_mb"], "ratio": ref["seconds"] / ours["seconds"] * ours["frames"]
            / max(ref["frames"], 1)}


def table(rows: list[dict]) -> str:
    head = (f"{'format':8} {'frames':>10} {'ours s':>8} {'ours fr/s':>12} {'ref s':>8} {'ref fr/s':>12} "
            f"{'ratio':>7} {'ours RSS':>9} {'ref RSS':>9}  reference")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['format']:8} {r['frames']:>10,} {r['ours_s']:>8.2f} {r['ours_fps']:>12,.0f} "
                     f"{r['ref_s']:>8.2f} {r['ref_fps']:>12,.0f} {r['ratio']:>6.1f}x {r['ours_rss_mb']:>7.0f}MB "
                     f"{r['ref_rss_mb']:>7.0f}MB  {r['reference']} ({r['ref_frames']:,} frames)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_readers", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="generated log length (default 10)")
    ap.add_argument("--rate", type=float, default=5000.0, help="frames per second (default 5000)")
    ap.add_argument("--formats", nargs="+", default=["blf", "asc", "candump", "trc", "csv", "mf4"],
                    choices=list(SUFFIX))
    ap.add_argument("--log", type=Path, action="append", help="measure this file instead (repeatable)")
    ap.add_argument("--dir", type=Path, help="keep generated logs here (reused on the next run)")
    ap.add_argument("--json", action="store_true", help="rows as JSON lines")
    ap.add_argument("--generate-only", metavar="FORMAT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate_only:
        print(generate(args.dir, args.generate_only, args.minutes, args.rate))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bopwatch-readers-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        jobs = ([(p, FORMAT_OF[p.suffix.lower()]) for p in args.log] if args.log
                else [(_generate_in_child(folder, f, args.minutes, args.rate), f) for f in args.formats])
        for path, fmt in jobs:
            row = measure(path, fmt)
            rows.append(row)
            print(json.dumps(row) if args.json else f"{fmt}: {row['ratio']:.1f}x", file=sys.stderr)
    print("\n".join(json.dumps(r) for r in rows) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
