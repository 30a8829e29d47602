"""Frames from live CAN buses: open one python-can bus per channel, listen for a number of seconds, and return
what arrived as :class:`telemetry.frames.Frames` columns (bus ``k`` = the ``k``-th channel given, the numbering
of the profile's ``[[dbc]] channel``).

Time stamps are the interface's own (``can.Message.timestamp``: hardware time stamps where the adapter gives
them), so the measured raster is the logger's, not this process's scheduling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from telemetry.frames import FLAG_BRS, FLAG_ERROR, FLAG_ESI, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Frames

from ..errors import ComplianceError

__all__ = ["Capture", "LoggerBusError", "collect", "open_buses"]

log = logging.getLogger(__name__)

_POLL_S = 0.1      # recv timeout: how often a reader looks at the clock (a pending frame returns at once)
_EPOCH_MIN = 1e9   # time stamps above this are taken as UNIX time (2001 on): the capture has an absolute start


class LoggerBusError(ComplianceError):
    """A CAN bus that cannot be opened or read (unknown interface, no such channel, adapter gone)."""


@dataclass(frozen=True, slots=True)
class Capture:
    """What one listening window received."""

    frames: Frames           # time stamps relative to the first frame (``frames.start`` its UTC time, if known)
    channels: tuple[str, ...]   # bus k = channels[k]
    interface: str
    seconds: float           # the listening window (wall time)
    bitrate: int | None


def open_buses(interface: str, channels: Sequence[str], bitrate: int | None = None) -> list:
    """One ``can.Bus`` per channel; :class:`LoggerBusError` (one line) when any cannot be opened."""
    import can

    buses: list = []
    kwargs = {} if bitrate is None else {"bitrate": int(bitrate)}
    for channel in channels:
        try:
            buses.append(can.Bus(interface=interface, channel=channel, **kwargs))
        except (can.CanError, ValueError, OSError, ImportError, NotImplementedError, TypeError) as err:
            for bus in buses:
                bus.shutdown()
            detail = " ".join(str(err).split()) or type(err).__name__
            raise LoggerBusError(f"cannot open CAN bus {interface}:{channel}: {detail}",
                                 place="--interface/--channel",
                                 fix="check the interface name (socketcan, pcan, vector, kvaser, slcan, virtual, "
                                     "...), that the adapter is plugged in and the channel exists") from None
    return buses


def collect(interface: str, channels: Sequence[str], seconds: float, *, bitrate: int | None = None,
            buses: Sequence | None = None) -> Capture:
    """Listen on ``channels`` of ``interface`` for ``seconds`` and return every frame received.

    ``buses`` (already open python-can buses, one per channel) are used instead of opening new ones, and are
    left open; buses opened here are shut down before returning."""
    import can

    own = buses is None
    bus_list = open_buses(interface, channels, bitrate) if own else list(buses)
    rows: list[tuple] = []
    failures: list[LoggerBusError] = []
    deadline = time.monotonic() + seconds

    def listen(k: int, bus) -> None:   # one reader per bus: a busy bus never waits on a quiet one
        got = []
        try:
            while (left := deadline - time.monotonic()) > 0:
                msg = bus.recv(timeout=min(left, _POLL_S))
                if msg is not None:
                    got.append((k, msg))
        except can.CanError as err:
            failures.append(LoggerBusError(f"reading CAN bus {interface}:{channels[k]} failed: {err}",
                                           place="--interface/--channel",
                                           fix="check the adapter and its cabling, then run the check again"))
        rows.extend(got)

    try:
        readers = [threading.Thread(target=listen, args=(k, bus), daemon=True, name=f"logger-check-{k}")
                   for k, bus in enumerate(bus_list)]
        for r in readers:
            r.start()
        for r in readers:
            r.join()
    finally:
        if own:
            for bus in bus_list:
                bus.shutdown()
    if failures:
        raise failures[0]
    log.info("logger-check: %d frames in %.1f s on %s", len(rows), seconds, ", ".join(channels))
    return Capture(_frames(rows), tuple(channels), interface, float(seconds), bitrate)


def _frames(rows: list[tuple]) -> Frames:
    n = len(rows)
    width = 64 if any(len(m.data) > 8 for _, m in rows) else 8
    stamp = np.empty(n, np.float64)
    bus = np.empty(n, np.uint8)
    ids = np.empty(n, np.uint32)
    flags = np.zeros(n, np.uint8)
    length = np.empty(n, np.uint8)
    data = np.zeros((n, width), np.uint8)
    for i, (k, m) in enumerate(rows):
        stamp[i] = m.timestamp
        bus[i] = k
        ids[i] = m.arbitration_id
        flags[i] = ((FLAG_EXTENDED if m.is_extended_id else 0) | (FLAG_REMOTE if m.is_remote_frame else 0)
                    | (FLAG_ERROR if m.is_error_frame else 0) | (FLAG_FD if m.is_fd else 0)
                    | (FLAG_BRS if m.bitrate_switch else 0) | (FLAG_ESI if m.error_state_indicator else 0))
        payload = bytes(m.data)[:width]
        length[i] = len(payload)
        data[i, :len(payload)] = np.frombuffer(payload, np.uint8)
    if n > 1 and np.any(np.diff(stamp) < 0):   # frames of several buses polled in turn: put them in time order
        order = np.argsort(stamp, kind="stable")
        stamp, bus, ids, flags, length, data = stamp[order], bus[order], ids[order], flags[order], length[order], \
            data[order]
    start = None
    if n and stamp[0] > _EPOCH_MIN:
        start = datetime.fromtimestamp(float(stamp[0]), UTC)
    origin = float(stamp[0]) if n else 0.0
    return Frames(stamp - origin, bus, ids, flags, length, data, start)
