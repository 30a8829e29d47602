"""``bopwatch logger-check --interface I --channel C [--channel C2] --profile P [--bulletin B] [--seconds 30]
[--bitrate BPS] [--json]``: the pre-session conformance check of a car's logger (issue 18).

Listens for ``--seconds``, then prints one green/red line per item (docs/logger_check.md). Exit 0 all green,
1 any red, 2 error (a bus that cannot be opened, a bad profile or bulletin).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from . import EXIT_INFRINGEMENT, EXIT_OK
from ._profile import PROFILE_HELP, resolve_profile

_MARK = {"green": "GREEN", "red": "RED  ", "skip": "SKIP "}
_COLOUR = {"green": "\033[32m", "red": "\033[31m", "skip": "\033[33m"}


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "logger-check", aliases=["logger_check"],
        help="pre-session conformance check of a car's logger on its CAN bus",
        description="Listen on the car's CAN bus(es) for --seconds, then check every channel the bulletin's rules "
                    "need (or every channel the profile maps) is present at its DBC raster, values are within "
                    "their DBC minimum/maximum and not frozen, rolling counters and checksums are good, and the "
                    "bus load and error frames are within bounds. One green/red line per item. Exit 0 all green, "
                    "1 any red, 2 error.")
    p.add_argument("--interface", required=True, metavar="I",
                   help="python-can interface: socketcan, pcan, vector, kvaser, slcan, udp_multicast, virtual, ...")
    p.add_argument("--channel", required=True, action="append", metavar="C",
                   help="the interface's channel (can0, PCAN_USBBUS1, ...); repeat for a logger on several buses: "
                        "the k-th --channel is the profile's bus k ([[dbc]] channel = k)")
    p.add_argument("--profile", required=True, metavar="P", help=PROFILE_HELP)
    p.add_argument("--bulletin", action="append", metavar="B",
                   help="BoP bulletin TOML or a folder of them: check only the channels its rules need (with "
                        "several, the one in force now)")
    p.add_argument("--car", metavar="N", help="the car's number: its [cars.\"N\"] entry in the bulletin")
    p.add_argument("--seconds", type=_seconds, default=30.0, metavar="S", help="listening window (default 30)")
    p.add_argument("--bitrate", type=_bitrate, metavar="BPS",
                   help="the bus bitrate in bit/s (e.g. 500000): passed to the interface, and the bus load is "
                        "reported as a share of it")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.5 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value:g} s: give 0.5 to 3600 seconds")
    return value


def _bitrate(text: str) -> int:
    try:
        value = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bitrate in bit/s (e.g. 500000)") from None
    if not 10_000 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{value} bit/s: give the bitrate in bit/s, e.g. 500000 (10 k to 10 M)")
    return value


def run(args: argparse.Namespace) -> int:
    from telemetry.profiles import load_profile

    from ..bop.bulletins import in_force, load_bulletins
    from ..preflight import GREEN, check_capture, collect, needed_channels
    from ..preflight.collect import open_buses

    profile = load_profile(resolve_profile(args.profile))
    bulletin = None
    if args.bulletin:
        bulletin = in_force(load_bulletins(args.bulletin), datetime.now(UTC))
    needed = needed_channels(profile, bulletin, args.car)
    buses = open_buses(args.interface, args.channel, args.bitrate)   # a bus that cannot open: one error line
    try:
        if not args.json:
            print(f"logger-check: {profile.name}: listening {args.seconds:g} s on {args.interface} "
                  f"{', '.join(args.channel)} ...", file=sys.stderr, flush=True)
        capture = collect(args.interface, args.channel, args.seconds, bitrate=args.bitrate, buses=buses)
    finally:
        for bus in buses:
            bus.shutdown()
    result = check_capture(capture, profile, needed, bulletin=None if bulletin is None else bulletin.id)
    if args.json:
        print(json.dumps(result.to_dict(), sort_keys=False))
    else:
        colour = sys.stdout.isatty()
        for item in result.items:
            mark = _MARK[item.status]
            if colour:
                mark = f"{_COLOUR[item.status]}{mark}\033[0m"
            print(f"{mark} {item.kind:<12} {item.subject:<24} {item.detail}")
        red = len(result.red)
        summary = (f"all {len(result.items)} items green" if result.ok
                   else f"{red} of {len(result.items)} items red")
        print(f"logger-check {GREEN.upper() if result.ok else 'RED'}: {summary} ({len(capture.frames)} frames in "
              f"{capture.seconds:g} s)")
    return EXIT_OK if result.ok else EXIT_INFRINGEMENT
