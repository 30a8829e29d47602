"""``bopwatch replay LOG --interface I --channel C [--bitrate B] [--rate 1.0|max]``: play a log onto a CAN bus.

Every frame is sent with its original timing relative to the first frame (``--rate 2`` twice as fast, ``max`` as
fast as the bus takes them). Exit 0 when every frame was sent, 2 on an error (unreadable log, no such bus).
"""

from __future__ import annotations

import argparse
import sys

from telemetry.bus import open_bus, replay_log

from ..errors import ComplianceError

__all__ = ["add_subparser", "parse_rate"]


def parse_rate(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate (write e.g. 1.0, 5 or max)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the rate must be above 0 (or max)")
    return value


def add_bus_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interface", required=True, metavar="I",
                   help="python-can interface: socketcan, virtual, slcan, pcan, vector, kvaser, udp_multicast, ...")
    p.add_argument("--channel", required=True, action="append", metavar="C",
                   help="the interface's channel (vcan0, /dev/ttyACM0, ...); repeat for a car with several buses: "
                        "the k-th --channel is bus k of the log (bus 0 first)")
    p.add_argument("--bitrate", type=int, metavar="B", help="bit rate in bit/s, where the interface sets it")


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("replay", help="play a log onto a CAN bus with its original timing",
                              description="Send every frame of LOG onto a python-can bus with its original "
                                          "timing (for tests, training and bench demos). Exit 0, 2 on error.")
    p.add_argument("log", metavar="LOG", help="log file (BLF, ASC, candump, TRC, CSV, MF4)")
    add_bus_options(p)
    p.add_argument("--rate", type=parse_rate, default=1.0, metavar="R",
                   help="speed factor (default 1.0), or max: as fast as the bus takes the frames")
    p.set_defaults(func=run)


def open_buses(interface: str, channels: list[str], bitrate: int | None) -> list:
    buses = []
    for channel in channels:
        try:
            buses.append(open_bus(interface, channel, bitrate))
        except Exception as err:   # python-can raises many kinds: a missing driver, a bad channel, no permission
            for b in buses:
                b.shutdown()
            raise ComplianceError(f"cannot open the {interface} bus {channel}: {err}",
                                  fix="check --interface/--channel and that the adapter is connected") from None
    return buses


def run(args: argparse.Namespace) -> int:
    buses = open_buses(args.interface, args.channel, args.bitrate)
    try:
        sent = replay_log(args.log, buses, rate=args.rate)
    except KeyboardInterrupt:
        return 2
    finally:
        for b in buses:
            b.shutdown()
    print(f"replayed {sent} frames from {args.log}", file=sys.stderr)
    return 0
