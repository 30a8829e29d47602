"""``bopwatch simulate``: write simulated GT car logs with known faults, or the whole sample event.

``bopwatch simulate log --model M --out FILE [...]`` writes one session's log and its ground truth;
``bopwatch simulate event --out DIR`` regenerates the sample event (``sample_logs/``) byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from telemetry.errors import TelemetryError
from telemetry.simulate import (
    CARS,
    FORMATS,
    KINDS,
    TRACKS,
    SimConfig,
    generate_event,
    parse_injection,
    simulate_log,
)
from telemetry.simulate.knobs import add_knob_arguments, knob_fields

from ._progress import progress_bar


def _injection_help() -> str:
    lines = ["injections (--inject KIND[:key=value,...], repeatable; times in s from the first frame, "
             "several times as at=12.5;40):"]
    for kind, (defaults, text) in KINDS.items():
        params = ", ".join(f"{k}={'random' if v is None else v}" for k, v in defaults.items())
        lines.append(f"  {kind:13s} {text}\n  {'':13s} defaults: {params}")
    return "\n".join(lines)


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="write simulated GT car logs with known injected faults (and the sample event)",
        description="Drive a simulated GT3/GT4 car round a track and write its data-logger file, with faults "
                    "injected where you say; every run writes a ground-truth JSON of what it injected. "
                    "Deterministic from --seed.")
    sub = p.add_subparsers(dest="simulate_command", metavar="WHAT")

    one = sub.add_parser(
        "log", help="one session of one car",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write one session's log of one car, and its ground truth (FILE.truth.json unless --truth).",
        epilog=_injection_help() + "\n\nmodels: " + ", ".join(CARS) + "\ntracks: " + ", ".join(TRACKS)
        + "\n\nexample:\n  bopwatch simulate log --model bmw_m4_gt3 --out car7.blf --duration 600 \\\n"
          "      --bulletin sample_logs/bulletins/gtwce-2026-brh-v2.toml --inject boost:count=8 --inject gap")
    one.add_argument("--model", required=True, choices=sorted(CARS), help="car model (its profile is "
                     "dbc/<model>.toml unless --profile)")
    one.add_argument("--out", required=True, type=Path, metavar="FILE", help="log file to write")
    one.add_argument("--format", default=None, choices=sorted(FORMATS),
                     help="blf, asc, candump, trc, csv (python-can's dialect: no bus column), mf4 (CAN bus "
                          "logging), mdf (decoded physical channels, .mf4); default: from the suffix of --out")
    one.add_argument("--duration", type=float, default=300.0, metavar="S", help="session length in s (default 300)")
    one.add_argument("--seed", type=int, default=1, help="random seed; same seed, same bytes (default 1)")
    one.add_argument("--track", default="brands_hatch_gp", choices=sorted(TRACKS), help="track (default "
                     "brands_hatch_gp)")
    one.add_argument("--bulletin", type=Path, metavar="B", help="BoP bulletin the team calibrates to and "
                     "injections exceed (without one the engine runs unrestricted and only data-quality "
                     "injections are possible)")
    one.add_argument("--profile", type=Path, metavar="P", help="car profile (default dbc/<model>.toml)")
    one.add_argument("--inject", action="append", default=[], metavar="KIND[:k=v,...]",
                     help="inject a fault (see below); repeatable")
    one.add_argument("--pit-stop", action="append", type=float, default=[], metavar="S",
                     help="pit at the end of the lap running at S seconds (refuelling sensor on); repeatable")
    one.add_argument("--rolling-start", action="store_true", help="start on track at speed, not in the pit box")
    one.add_argument("--start", default="2026-06-27T09:00:00Z", metavar="UTC",
                     help="absolute start time written into the log (default 2026-06-27T09:00:00Z)")
    one.add_argument("--messages", choices=("all", "logged"), default="all",
                     help="all: every message of the car's DBCs (~2.6-4.5 k frames/s on two buses); logged: "
                          "only messages a BoP check reads (~0.5 k frames/s)")
    one.add_argument("--gzip", action="store_true", help="gzip a text log (asc, candump, trc, csv)")
    one.add_argument("--compression-level", type=int, default=6, metavar="N",
                     help="zlib level for BLF containers, 0-9 (1 is fastest; default 6)")
    one.add_argument("--truth", type=Path, metavar="FILE", help="ground-truth JSON (default FILE.truth.json)")
    add_knob_arguments(one)            # --power-offset, --boost-margin, --mass (issue 17)
    one.set_defaults(func=run_log)

    ev = sub.add_parser(
        "event", help="the sample event weekend (sample_logs/)",
        description="Write the sample SRO-style event: bulletins, event.toml, entry list, every car's logs "
                    "with sidecars, ground truth and README. The same command always writes the same bytes.")
    ev.add_argument("--out", type=Path, default=Path("sample_logs"), metavar="DIR",
                    help="folder to write (default sample_logs)")
    ev.set_defaults(func=run_event)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _format_from(path: Path, given: str | None) -> str:
    if given:
        return given
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    by_suffix = {".blf": "blf", ".asc": "asc", ".log": "candump", ".trc": "trc", ".csv": "csv", ".mf4": "mf4"}
    if not suffixes or suffixes[-1] not in by_suffix:
        raise TelemetryError(f"cannot tell the format from {path.name!r}", path=path, fix="give --format")
    return by_suffix[suffixes[-1]]


def run_log(args: argparse.Namespace) -> int:
    try:
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise TelemetryError(f"--start {args.start!r} is not an ISO time", place="--start",
                             fix="write e.g. 2026-06-27T09:00:00Z") from None
    config = SimConfig(
        model=args.model, out=args.out, fmt=_format_from(args.out, args.format), duration_s=args.duration,
        track=args.track, seed=args.seed, start=start, bulletin=args.bulletin, profile=args.profile,
        injections=tuple(parse_injection(text) for text in args.inject), pit_stops=tuple(args.pit_stop),
        start_in_pit=not args.rolling_start, message_set=args.messages, gz=args.gzip or args.out.suffix == ".gz",
        compression_level=args.compression_level, ground_truth=args.truth, **knob_fields(args))
    with progress_bar() as progress:
        truth = simulate_log(config, progress)
    print(json.dumps({"out": str(args.out), "frames": truth["file"]["frames"], "bytes": truth["file"]["bytes"],
                      "expected": truth["expected"]}, sort_keys=True))
    return 0


def run_event(args: argparse.Namespace) -> int:
    with progress_bar() as progress:
        summary = generate_event(args.out, progress)
    print(json.dumps(summary, sort_keys=True))
    return 0
