"""Peak RSS of ``bopwatch check`` on long BLF logs (streamed in chunks), and the verdict of the all-at-once path.

For each ``--minutes`` the simulator writes one BLF; ``bopwatch check --json`` runs as a child process whose own
peak RSS (``wait4`` rusage) is the figure. Up to ``--whole-max-minutes`` the same check also runs all at once
(every frame of the file read into one ``Frames`` before decoding: the reader's chunks are joined first) and the
two verdict JSON objects must be identical.

With ``--trace``, a third child repeats the check in-process under ``tracemalloc`` and prints where the memory is
(traced MB held and peak per stage: imports and profile, ``load_session``, ``check_session``); tracing slows the
run about threefold, so it is done only up to ``--trace-max-minutes``.

    .venv/bin/python -m benchmarks.bench_memory --minutes 60 1440      # the issue-7 targets: 1 h and 24 h
    .venv/bin/python -m benchmarks.bench_memory --minutes 60 --trace   # + the tracemalloc marks
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ._common import PROFILE, Row, check_json, format_table, python_argv, run_child, simulate, write_bulletin
from .bench_check import check_argv

__all__ = ["run", "main", "limit_mb"]

_WHOLE = r"""
import sys
from telemetry.formats._base import LogFile
from telemetry.frames import concat_frames

_chunks = LogFile.chunks

def whole(self, max_frames=1 << 20):
    parts = list(_chunks(self, max_frames))
    if parts:
        yield concat_frames(parts)

LogFile.chunks = whole
from compliance.judge.check import check_logs
result = check_logs([sys.argv[1]], sys.argv[2], sys.argv[3])
sys.stdout.write(result.verdict.to_json())
"""


_TRACE = r"""
import json, resource, sys, tracemalloc
tracemalloc.start()
marks = []

def mark(stage):
    now, peak = tracemalloc.get_traced_memory()
    marks.append({"stage": stage, "held_mb": round(now / 1e6, 1), "peak_mb": round(peak / 1e6, 1),
                  "rss_high_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})
    tracemalloc.reset_peak()

from compliance.bop.bulletins import load_bulletin
from compliance.judge.check import check_session
from telemetry.profiles import load_profile
from telemetry.session import load_session
profile = load_profile(sys.argv[2])
bulletin = load_bulletin(sys.argv[3])
mark("imports, profile, bulletin")
session = load_session([sys.argv[1]], profile)
mark("load_session (read, decode, join, channels, traces)")
result = check_session(session, bulletin, model=profile.model, profile=profile)
mark("check_session (quality, rules, laps, verdict)")
sys.stdout.write(json.dumps(marks))
"""


def limit_mb(minutes: float) -> float | None:
    """The issue-7 ceiling: 1.5 GB up to a 1-hour log, 2 GB up to 24 hours."""
    if minutes <= 60:
        return 1536.0
    if minutes <= 24 * 60:
        return 2048.0
    return None


def trace(log: Path, bulletin: Path) -> list[dict]:
    """The tracemalloc marks of one in-process check of ``log`` (see the module docstring)."""
    child = run_child(python_argv(_TRACE, str(log), str(PROFILE), str(bulletin)))
    if child.returncode != 0:
        raise RuntimeError(f"traced check of {log.name} failed: {child.stderr.strip()[-2000:]}")
    return json.loads(child.stdout)


def format_marks(log: Path, marks: list[dict]) -> str:
    lines = [f"tracemalloc marks, {log.name} (traced MB: held after the stage, peak during it; process RSS high "
             "water mark so far)"]
    lines += [f"  {m['stage']:<52} held {m['held_mb']:>8.1f}  peak {m['peak_mb']:>8.1f}  rss {m['rss_high_mb']:>8.1f}"
              for m in marks]
    return "\n".join(lines)


def run(minutes_list: list[float], folder: Path, *, whole_max_minutes: float = 120.0,
        trace_max_minutes: float | None = None, traces: dict | None = None) -> list[Row]:
    """One row per log length; with ``trace_max_minutes``, ``traces[log] = marks`` up to that length."""
    bulletin = write_bulletin(folder)
    rows = []
    for minutes in minutes_list:
        log = simulate(folder, "blf", minutes, bulletin=bulletin)
        ours = run_child(check_argv([log], bulletin))
        verdict = check_json(ours, f"bopwatch check {log.name}")
        frames = int(sum(i["frames"] or 0 for i in verdict["inputs"]))
        limit = limit_mb(minutes)
        target = "" if limit is None else f"<= {limit / 1024:g} GB"
        ok = "" if limit is None else ("met" if ours.peak_rss_mb <= limit else "NOT met")
        note = f"{ok}; verdict {verdict['verdict']}, {log.stat().st_size / 1e6:.0f} MB".lstrip("; ")
        ref_seconds = ref_cpu = None
        if minutes <= whole_max_minutes:
            whole = run_child(python_argv(_WHOLE, str(log), str(PROFILE), str(bulletin)))
            same = whole.returncode == 0 and json.loads(whole.stdout) == verdict
            note += (f"; all-at-once: same verdict JSON {'yes' if same else 'NO'}, peak RSS "
                     f"{whole.peak_rss_mb:.0f} MB")
            if whole.returncode == 0:
                ref_seconds, ref_cpu = whole.seconds, whole.cpu_seconds
            if not same:
                note += f" ({whole.stderr.strip().splitlines()[-1][:100] if whole.stderr.strip() else 'differs'})"
        if trace_max_minutes is not None and minutes <= trace_max_minutes and traces is not None:
            traces[log] = trace(log, bulletin)
        rows.append(Row(f"memory blf {minutes:g} min", frames, ours.seconds, ours.peak_rss_mb,
                        "all-at-once" if ref_seconds is not None else "", ref_seconds, target, note,
                        ours.cpu_seconds, ref_cpu))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[5.0],
                    help="log lengths (default 5; the targets are 60 and 1440)")
    ap.add_argument("--whole-max-minutes", type=float, default=120.0,
                    help="also run the all-at-once path up to this length (it holds every frame in memory)")
    ap.add_argument("--trace", action="store_true", help="also print tracemalloc marks per stage")
    ap.add_argument("--trace-max-minutes", type=float, default=60.0,
                    help="trace only logs up to this length (tracing is ~3x slower)")
    ap.add_argument("--dir", type=Path, help="keep the simulated logs here (reused on the next run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        traces: dict = {}
        rows = run(args.minutes, folder, whole_max_minutes=args.whole_max_minutes,
                   trace_max_minutes=args.trace_max_minutes if args.trace else None, traces=traces)
    if args.json:
        print("\n".join(json.dumps(r.to_dict()) for r in rows))
        for log, marks in traces.items():
            print(json.dumps({"log": log.name, "marks": marks}))
    else:
        print("\n\n".join([format_table(rows), *(format_marks(log, m) for log, m in traces.items())]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
