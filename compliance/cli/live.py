"""``bopwatch live --interface I --channel C --profile P --bulletin B [--record DIR] [--json] [--duration S]``.

Records every frame of a CAN bus to rolling BLF files, judges incrementally, prints one JSON line per closed
exceedance and data-quality event with ``--json`` (a live table of the rule counters on a terminal otherwise),
and at stop (SIGINT/SIGTERM, ``--duration``) prints the final verdict: ``check`` of the recorded files, exit code
as ``check``'s (0 compliant, 1 infringement, 3 incomplete, 2 error). See docs/live.md.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path

from ..errors import ComplianceError
from ._profile import PROFILE_HELP, resolve_profile
from .check import EXIT_BY_VERDICT, print_verdict
from .replay import add_bus_options, open_buses

__all__ = ["add_subparser", "run"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live", help="record and judge a car on its CAN bus as it runs",
        description="Record every frame of a python-can bus to rolling BLF files, judge incrementally with the "
                    "rule code of check, and at stop (Ctrl-C, SIGTERM, --duration) print check of the recorded "
                    "files. Exit as check: 0 compliant, 1 infringement, 3 incomplete, 2 error.")
    add_bus_options(p)
    p.add_argument("--profile", required=True, metavar="P", help=PROFILE_HELP)
    p.add_argument("--bulletin", required=True, action="append", metavar="B", help="BoP bulletin TOML or folder")
    p.add_argument("--record", metavar="DIR", help="folder for the BLF files (default: a new live-* folder here)")
    p.add_argument("--json", action="store_true", help="one JSON line per event, then the verdict JSON")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--car", metavar="N", help="the car's number (its [cars.\"N\"] bulletin entry)")
    p.add_argument("--roll-minutes", type=float, default=10.0, metavar="M", help="new file every M minutes (10)")
    p.add_argument("--roll-mb", type=float, default=100.0, metavar="MB", help="new file every MB megabytes (100)")
    p.set_defaults(func=run)


def _printer(as_json: bool):
    def emit(event: dict) -> None:
        if as_json:
            sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        elif event.get("event") != "start":
            print(" ".join(f"{k}={v}" for k, v in event.items()), file=sys.stderr)
    return emit


def run(args: argparse.Namespace) -> int:
    from ..live import LiveRun

    profile = resolve_profile(args.profile)
    bulletins = args.bulletin[0] if len(args.bulletin) == 1 else args.bulletin
    record = Path(args.record) if args.record else Path(tempfile.mkdtemp(prefix="live-", dir="."))
    buses = open_buses(args.interface, args.channel, args.bitrate)
    live = LiveRun(buses, profile, bulletins, record, car=args.car, emit=_printer(args.json),
                   roll_s=args.roll_minutes * 60.0, roll_mb=args.roll_mb)
    previous = {s: signal.signal(s, lambda *_: live.stop()) for s in (signal.SIGINT, signal.SIGTERM)}
    table = None if args.json or not sys.stdout.isatty() else _table(live)
    try:
        live.run(args.duration, on_tick=table)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        for b in buses:
            b.shutdown()
    files, verdict = live.finish()
    print(f"recorded {live.recorder.frames_written} frames ({live.dropped} dropped) in "
          f"{', '.join(str(f) for f in files) or 'no file'}", file=sys.stderr)
    if verdict is None:
        raise ComplianceError("no frame was received", fix="check the bus connection, --channel and --bitrate")
    if args.json:
        sys.stdout.write(verdict.to_json())
    else:
        print_verdict(verdict)
    return EXIT_BY_VERDICT[verdict.verdict]


def _table(live):
    """A rich table of each rule's count against its allowance, redrawn on every tick."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)

    def draw(run) -> None:
        if run.judge is None:
            return
        t = Table(title=f"live: {run.recorder.frames_written} frames, {run.dropped} dropped", title_justify="left")
        for col in ("rule", "exceedances", "allowed"):
            t.add_column(col)
        for rule, n, allowed in run.judge.table():
            t.add_row(rule, f"[{'bold red' if n > allowed else 'green'}]{n}[/]", str(allowed))
        console.clear()
        console.print(t)
    return draw


