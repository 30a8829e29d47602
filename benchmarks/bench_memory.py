"""Peak RSS of ``bopwatch check`` on long BLF logs (streamed in chunks), and the verdict of the all-at-once path.

For each ``--minutes`` the simulator writes one BLF; ``bopwatch check --json`` runs as a child process whose own
peak RSS (``wait4`` rusage) is the figure. Up to ``--whole-max-minutes`` the same check also runs all at once
(every frame of the file read into one ``Frames`` before decoding: the reader's chunks are joined first) and the
two verdict JSON objects must be identical.

    .venv/bin/python -m benchmarks.bench_memory --minutes 60 1440      # the issue-7 targets: 1 h and 24 h
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
from compliance.check import check_logs
result = check_logs([sys.argv[1]], sys.argv[2], sys.argv[3])
sys.stdout.write(result.verdict.to_json())
"""


def limit_mb(minutes: float) -> float | None:
    """The issue-7 ceiling: 1.5 GB up to a 1-hour log, 2 GB up to 24 hours."""
    if minutes <= 60:
        return 1536.0
    if minutes <= 24 * 60:
        return 2048.0
    return None


def run(minutes_list: list[float], folder: Path, *, whole_max_minutes: float = 120.0) -> list[Row]:
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
    ap.add_argument("--dir", type=Path, help="keep the simulated logs here (reused on the next run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = run(args.minutes, folder, whole_max_minutes=args.whole_max_minutes)
    print("\n".join(json.dumps(r.to_dict()) for r in rows) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
