"""Streaming accumulation of decoded chunks: what a session keeps of each chunk, and one copy of it at the end.

``load_session`` reads a log in chunks (about 1 Mi frames) and decodes each one. Holding every decoded chunk
until the end, then joining them per file and again per session, kept each needed message's every signal twice
(float64 time and value per signal). Instead, :class:`FileStream` takes each decoded chunk and keeps only

* per message: its arrival times (one array per chunk, shared by every signal carried in every frame),
* per signal: the values of the signals the session needs (mapped channels; every signal with ``all_signals``),
* per ``[[integrity]]`` message: the times of rolling-counter skips and checksum failures (the counter carried
  over the chunk boundary, and over the file boundary by :func:`join`), not the counter values,
* the decoder's counted problems (short frames, unknown ids...), without their messages;

and drops the rest of the chunk. :func:`join` puts the files on the session clock with one preallocated array
per message time and per signal (the chunks' pieces are released as each array is filled), so the decoded data
of a session is held once, with one time array per message.

The result is exactly what ``merge_decoded`` of every chunk would give for the kept signals: the same float64
values (times are shifted by the file offset element by element, as ``merge_decoded`` does), the same message
order, counter skips and checksum failures at the same times.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .decode import Decoded, DecodedMessage, DecodedSignal, merge_decoded
from .frames import Frames
from .integrity import checksum_ok

__all__ = ["FileStream", "Joined", "join"]

_EMPTY_ROWS = np.empty(0, np.int64)


def _malloc_trim():
    """glibc's ``malloc_trim``, or None elsewhere.

    The chunks' pieces (a few hundred kB each) live in the C heap, where freed memory stays in the process (and
    in its RSS) until trimmed; the joined arrays (tens of MB) are mapped separately. Without a trim, a long
    session's pieces and its joined arrays would both count in the peak RSS while the join runs."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):   # not glibc (e.g. musl): nothing to trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def _release_freed() -> None:
    if _TRIM is not None:
        _TRIM(0)


def _own(a: np.ndarray) -> np.ndarray:
    """``a`` without a reference to a larger buffer (a view would keep the whole chunk alive)."""
    return a.copy() if a.base is not None else a


@dataclass(slots=True)
class _Signal:
    proto: DecodedSignal                          # name, message, bus, unit, choices of the first chunk
    times: list[np.ndarray] = field(default_factory=list)   # the message's own piece where shared
    values: list[np.ndarray] = field(default_factory=list)


@dataclass(slots=True)
class _Message:
    proto: DecodedMessage
    times: list[np.ndarray] = field(default_factory=list)
    signals: dict[str, _Signal] = field(default_factory=dict)
    counter_checked: bool = True                  # every chunk carried the counter in every frame
    counter_first: int | None = None
    counter_last: int | None = None
    counter_first_time: float = 0.0
    skips: list[np.ndarray] = field(default_factory=list)      # file-clock times of counter skips
    crc_checked: bool = False
    failures: list[np.ndarray] = field(default_factory=list)   # file-clock times of checksum failures


class FileStream:
    """What one file's decoded chunks leave for the session (see the module docstring).

    ``keep`` maps a message name to the signal names to keep (``None``: keep every signal of every message).
    """

    __slots__ = ("_keep", "_integrity", "messages", "counts")

    def __init__(self, keep: Mapping[str, set[str]] | None, integrity: Mapping[str, object]):
        self._keep = keep
        self._integrity = integrity
        self.messages: dict[tuple[int, str], _Message] = {}
        self.counts: list[Decoded] = []           # each chunk's counted problems, without messages

    def add(self, chunk: Frames, decoded: Decoded) -> None:
        """Keep what the session needs of ``decoded`` (the decoded ``chunk``)."""
        self.counts.append(Decoded(MappingProxyType({}), decoded.short, decoded.bad_mux, decoded.unknown,
                                   decoded.skipped, decoded.frames))
        for key, msg in decoded.messages.items():
            acc = self.messages.get(key)
            if acc is None:
                acc = self.messages[key] = _Message(msg)
            time = _own(msg.time)
            acc.times.append(time)
            keep = None if self._keep is None else self._keep.get(msg.name, set())
            for name, sig in msg.signals.items():
                if keep is not None and name not in keep:
                    continue
                s = acc.signals.get(name)
                if s is None:
                    s = acc.signals[name] = _Signal(sig)
                if sig.time is msg.time or (len(sig.time) == len(msg.time) and np.array_equal(sig.time, msg.time)):
                    s.times.append(time)
                else:
                    s.times.append(_own(sig.time))
                s.values.append(_own(sig.value))
            spec = self._integrity.get(msg.name)
            if spec is not None:
                self._check(acc, spec, chunk, msg)

    @staticmethod
    def _check(acc: _Message, spec, chunk: Frames, msg: DecodedMessage) -> None:
        counter = msg.signals[spec.counter].value if spec.counter and spec.counter in msg.signals else None
        if counter is not None and len(counter) != len(msg.time):
            counter = None  # a multiplexed counter cannot be checked frame by frame
        if counter is None:
            acc.counter_checked = False
        elif acc.counter_checked and len(counter):
            c = np.rint(np.asarray(counter, np.float64)).astype(np.int64)
            modulo = spec.counter_modulo
            bad = np.flatnonzero(c[1:] != (c[:-1] + 1) % modulo) + 1
            if acc.counter_last is not None and int(c[0]) != (acc.counter_last + 1) % modulo:
                bad = np.concatenate(([0], bad))
            if acc.counter_first is None:
                acc.counter_first, acc.counter_first_time = int(c[0]), float(msg.time[0])
            acc.counter_last = int(c[-1])
            if len(bad):
                acc.skips.append(msg.time[bad])
        if spec.checksum is not None:
            acc.crc_checked = True
            ok = checksum_ok(chunk.data[msg.rows, :msg.length], spec.checksum_byte, spec.checksum_algorithm)
            if not ok.all():
                acc.failures.append(msg.time[~ok])


@dataclass(frozen=True, slots=True)
class Joined:
    """The files' kept data on the session clock: messages keyed ``(bus, name)`` in first-appearance order
    (``rows`` empty; ``signals`` only the kept ones), the decoder's counts joined like ``merge_decoded``, and
    per integrity message the counter skips / checksum failures (session times) and which checks were made."""

    decoded: Decoded
    skips: Mapping[tuple[int, str], np.ndarray]
    failures: Mapping[tuple[int, str], np.ndarray]
    checked: Mapping[tuple[int, str], tuple[str, ...]]


def _fill(pieces: Sequence[tuple[list[np.ndarray], float]], shift: bool) -> np.ndarray:
    """One float64 array of every piece (``+ offset`` when ``shift``), releasing the pieces as it goes."""
    out = np.empty(sum(len(p) for ps, _ in pieces for p in ps), np.float64)
    at = 0
    for ps, off in pieces:
        while ps:
            p = ps.pop(0)
            n = len(p)
            if shift:
                np.add(p, off, out=out[at:at + n])
            else:
                out[at:at + n] = p
            at += n
    return out


def join(streams: Sequence[FileStream], offsets: Sequence[float], integrity: Mapping[str, object]) -> Joined:
    """Join the files' streams (in session order) with ``offsets`` (s) putting each on the session clock."""
    counts = merge_decoded([merge_decoded(s.counts) for s in streams], list(offsets))
    keys: list[tuple[int, str]] = []
    for s in streams:
        keys.extend(k for k in s.messages if k not in keys)
    messages: dict = {}
    skips: dict = {}
    failures: dict = {}
    checked: dict = {}
    for key in keys:
        items = [(s.messages[key], off) for s, off in zip(streams, offsets, strict=True) if key in s.messages]
        first = items[0][0].proto
        names: list[str] = []
        for m, _ in items:
            names.extend(n for n in m.signals if n not in names)
        # which signals share the message's time: every piece of theirs is the message's own piece
        shared = {n: all(n in m.signals and len(m.signals[n].times) == len(m.times)
                         and all(a is b for a, b in zip(m.signals[n].times, m.times, strict=True)) for m, _ in items)
                  for n in names}
        own_times = {n: _fill([(m.signals[n].times, off) for m, off in items if n in m.signals], True)
                     for n in names if not shared[n]}
        for m, _ in items:
            for s in m.signals.values():
                s.times.clear()
        time = _fill([(m.times, off) for m, off in items], True)
        sigs = {}
        for n in names:
            proto = next(m.signals[n].proto for m, _ in items if n in m.signals)
            value = _fill([(m.signals[n].values, 0.0) for m, _ in items if n in m.signals], False)
            sigs[n] = DecodedSignal(proto.name, proto.message, proto.bus, proto.unit,
                                    time if shared[n] else own_times.pop(n), value, proto.choices,
                                    proto.is_multiplexer)
        messages[key] = DecodedMessage(first.name, first.bus, first.frame_id, first.is_extended, first.length,
                                       first.cycle_time_s, time, _EMPTY_ROWS, MappingProxyType(sigs))
        _release_freed()   # this message's pieces are gone: give their pages back before the next one is joined
        spec = integrity.get(first.name)
        if spec is not None:
            skips[key], failures[key], checked[key] = _integrity(spec, items)
    decoded = Decoded(MappingProxyType(messages), counts.short, counts.bad_mux, counts.unknown, counts.skipped,
                      counts.frames)
    return Joined(decoded, MappingProxyType(skips), MappingProxyType(failures), MappingProxyType(checked))


def _integrity(spec, items: Iterable[tuple[_Message, float]]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    items = list(items)
    checked: list[str] = []
    skips = failures = np.empty(0)
    if spec.counter and all(m.counter_checked for m, _ in items):
        checked.append("counter")
        parts: list[np.ndarray] = []
        last: int | None = None
        for m, off in items:
            if m.counter_first is not None:
                if last is not None and m.counter_first != (last + 1) % spec.counter_modulo:
                    parts.append(np.array([m.counter_first_time + off]))
                last = m.counter_last
            parts.extend(t + off for t in m.skips)
        skips = np.concatenate(parts) if parts else np.empty(0)
    if spec.checksum and any(m.crc_checked for m, _ in items):
        checked.append("checksum")
        parts = [t + off for m, off in items for t in m.failures]
        failures = np.concatenate(parts) if parts else np.empty(0)
    return skips, failures, tuple(checked)
