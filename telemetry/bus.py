"""A live CAN bus through python-can: open one, play a log onto it, turn received messages into ``Frames``, and
decode a tail of frames into canonical channels (what ``bopwatch live`` judges incrementally).

Nothing here knows about BoP: the channels produced are those a profile maps, as ``load_session`` makes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from .channels import Channel
from .decode import decode_frames
from .formats._base import frames_from_columns
from .frames import FLAG_BRS, FLAG_ERROR, FLAG_ESI, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Frames

__all__ = ["open_bus", "replay_log", "messages_to_frames", "tail_channels"]


def open_bus(interface: str, channel: str, bitrate: int | None = None, **extra):
    """A python-can bus; ``receive_own_messages`` is off so a replaying process does not hear itself."""
    import can

    kwargs = dict(extra)
    if bitrate:
        kwargs["bitrate"] = bitrate
    return can.Bus(interface=interface, channel=channel, **kwargs)


def _messages(chunk: Frames) -> Iterable:
    import can

    ext, fd = chunk.is_extended, chunk.is_fd
    remote, error = chunk.is_remote, chunk.is_error
    brs, esi = (chunk.flags & FLAG_BRS) != 0, (chunk.flags & FLAG_ESI) != 0
    for i in range(len(chunk)):
        n = int(chunk.length[i])
        yield float(chunk.timestamp[i]), can.Message(
            timestamp=float(chunk.timestamp[i]), arbitration_id=int(chunk.arbitration_id[i]),
            is_extended_id=bool(ext[i]), is_remote_frame=bool(remote[i]), is_error_frame=bool(error[i]),
            is_fd=bool(fd[i]), bitrate_switch=bool(brs[i]), error_state_indicator=bool(esi[i]),
            dlc=n, data=bytes(chunk.data[i, :n]), channel=int(chunk.bus[i]), check=False)


def replay_log(path: str | Path, bus, *, rate: float | None = 1.0, stop: Callable[[], bool] | None = None,
               on_sent: Callable[[float, int], None] | None = None) -> int:
    """Send every frame of ``path`` onto ``bus`` with its original timing relative to the first frame,
    ``rate`` times faster (``None``: as fast as the bus takes them). Returns the number of frames sent.
    ``on_sent(t_rel, n)`` is called after each frame (tests measure latency with it). ``bus`` may be a list:
    the log's bus k goes to ``bus[k]`` (the last one for higher buses), so a two-bus car needs two channels."""
    buses = list(bus) if isinstance(bus, list | tuple) else [bus]
    import can

    from .formats import open_log

    sent = 0
    t0_file: float | None = None
    t0_wall = time.monotonic()
    with open_log(path) as lf:
        for chunk in lf.chunks(1 << 16):
            for ts, msg in _messages(chunk):
                if stop is not None and stop():
                    return sent
                if t0_file is None:
                    t0_file = ts
                rel = ts - t0_file
                if rate:
                    wait = t0_wall + rel / rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                while True:
                    try:
                        buses[min(msg.channel, len(buses) - 1)].send(msg, timeout=1.0)
                        break
                    except can.CanOperationError:   # a full transmit buffer: wait, never drop a frame
                        time.sleep(0.001)
                sent += 1
                if on_sent is not None:
                    on_sent(rel, sent)
    return sent


def messages_to_frames(messages: Sequence, t0: float, start: datetime | None = None) -> Frames:
    """Received python-can messages as ``Frames``, time relative to ``t0`` (epoch seconds of the first frame).
    The bus number is the message's ``channel`` when it is a small integer, else 0
    (``bopwatch live`` sets it to the index of the ``--channel`` the frame came from)."""
    n = len(messages)
    ts = np.fromiter((m.timestamp for m in messages), np.float64, n) - t0
    ident = np.fromiter((m.arbitration_id for m in messages), np.uint32, n)
    length = np.fromiter((len(m.data) for m in messages), np.uint8, n)
    flags = np.fromiter(((FLAG_EXTENDED if m.is_extended_id else 0) | (FLAG_REMOTE if m.is_remote_frame else 0)
                         | (FLAG_ERROR if m.is_error_frame else 0) | (FLAG_FD if m.is_fd else 0)
                         | (FLAG_BRS if m.bitrate_switch else 0) | (FLAG_ESI if m.error_state_indicator else 0)
                         for m in messages), np.uint8, n)
    bus = np.fromiter((m.channel if isinstance(m.channel, int) and 0 <= m.channel < 256 else 0
                       for m in messages), np.uint8, n)
    width = 64 if n and int(length.max()) > 8 else 8
    data = np.zeros((n, width), np.uint8)
    for i, m in enumerate(messages):
        if len(m.data):
            data[i, :len(m.data)] = np.frombuffer(bytes(m.data), np.uint8)
    return frames_from_columns(ts, bus, ident, flags, length, data, start)


def tail_channels(frames: Frames, profile, wanted: Iterable[str]) -> dict[str, Channel]:
    """The canonical channels ``wanted`` (``power`` derived as ``load_session`` does) decoded from ``frames``."""
    from .session import _canonical, _needed_messages, _pick, _power, _wanted_channels

    names = _wanted_channels(profile, list(wanted))
    decoded = decode_frames(frames, profile.databases(), messages=_needed_messages(profile, names))
    by_signal: dict[tuple[str, str], list] = {}
    for m in decoded.messages.values():
        for s in m.signals.values():
            by_signal.setdefault((m.name, s.name), []).append(s)
    chans: dict[str, Channel] = {}
    for name in names:
        cm = profile.channels[name]
        if cm.message is None:
            continue
        sig = _pick(by_signal.get((cm.message, cm.signal_name), []), cm)
        if sig is not None:
            chans[name] = _canonical(name, cm, sig.time, sig.value, cm.unit, profile, sig.qualified, sig.bus)
    if "power" in set(wanted):
        power = _power(profile, chans)
        if power is not None:
            chans["power"] = power
    return chans
