"""What SPEC §5 gating and a window scope cost: ``bopwatch check`` of one log with a §3 bulletin against the same
bulletin with ``when`` gates and ``count_per = "window"`` on every limit rule, as whole processes, alternating.

The issue-16 target: the §5 check costs at most 10 % more (ratio §3 / §5 >= 0.91, on CPU time, the steadier
figure on a shared machine). Both checks must give the same verdict shape (the gates only ever remove samples).

    .venv/bin/python -m benchmarks.bench_v2 --minutes 60 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from ._common import (
    PROFILE,
    Row,
    bopwatch_argv,
    check_json,
    format_table,
    run_child,
    simulate,
    write_bulletin,
)

__all__ = ["run", "main", "TARGET", "gated_bulletin"]

#: the issue-16 target: ratio of the §3 check's time to the §5 check's
TARGET = 1 / 1.10

_GATE = ('when = { throttle = ">= 30", engine_speed = "> 3000" }\ncount_per = "window"\nwindow_s = 600.0\n'
         'max_time_over_s = 30.0\n')


def gated_bulletin(plain: Path) -> Path:
    """``plain`` with a gate and a sliding window on each limit rule (boost, fuel_flow, power)."""
    text = plain.read_text(encoding="utf-8")
    out = []
    for block in text.split("\n["):
        head = block.split("]", 1)[0]
        out.append(block.rstrip("\n") + ("\n" + _GATE if head.endswith((".boost", ".fuel_flow", ".power")) else ""))
    path = plain.with_name("bulletin-v2.toml")
    path.write_text("\n\n[".join(out).replace('id = "BENCH-2026-R1"', 'id = "BENCH-2026-R1-V2"') + "\n",
                    encoding="utf-8")
    return path


def run(minutes: float, folder: Path, *, rounds: int = 3, fmt: str = "blf") -> list[Row]:
    folder.mkdir(parents=True, exist_ok=True)
    plain = write_bulletin(folder)
    gated = gated_bulletin(plain)
    log = simulate(folder, fmt, minutes, bulletin=plain)
    times: dict[str, list[tuple[float, float, float]]] = {"plain": [], "gated": []}
    frames = 0
    for _ in range(rounds):                       # alternating, so a slower minute of the machine hits both
        for name, bulletin in (("plain", plain), ("gated", gated)):
            child = run_child(bopwatch_argv("check", str(log), "--profile", str(PROFILE), "--bulletin",
                                            str(bulletin), "--json"))
            verdict = check_json(child, f"check with the {name} bulletin")
            frames = sum(i.get("frames") or 0 for i in verdict["inputs"])
            times[name].append((child.seconds, child.cpu_seconds, child.peak_rss_mb))
    med = {k: (statistics.median(t[0] for t in v), statistics.median(t[1] for t in v), max(t[2] for t in v))
           for k, v in times.items()}
    return [Row(case=f"check {fmt} {minutes:g} min, gated + window (SPEC §5)", frames=frames,
                seconds=med["gated"][0], peak_rss_mb=med["gated"][2], reference="same check, SPEC §3 bulletin",
                reference_seconds=med["plain"][0], target=f">= {TARGET:.2f}",
                note=f"median of {rounds} alternating rounds", cpu_seconds=med["gated"][1],
                reference_cpu_seconds=med["plain"][1])]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_v2", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--format", default="blf")
    ap.add_argument("--dir", type=Path, help="keep the simulated log here (reused on the next run)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bopwatch-bench-v2-") as tmp:
        rows = run(args.minutes, args.dir or Path(tmp), rounds=args.rounds, fmt=args.format)
    sys.stdout.write(format_table(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
