"""One session from one or more log files: read (chunked), decode what the profile needs, convert units,
derive power, trace messages for data-quality checks, and join files on one clock.

Time 0 is the first frame of the session. Files are ordered by their absolute start where they record one; a
file without a start goes right after the file given before it (reported as a ``no_start`` finding). Files whose
time ranges overlap are refused (``JoinError``), never interleaved; so is a file beyond an optional gap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .channels import CANONICAL, Channel, MessageTrace, Session, SourceInfo
from .decode import DecodedSignal, decode_frames
from .errors import JoinError, UnitError
from .frames import Finding, Frames
from .profiles import ChannelMap, Profile
from .stream import FileStream, Joined, join
from .units import convert, normalise

__all__ = ["load_session", "Progress"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None, str], None]


@dataclass(slots=True)
class _File:
    """One input file as read: what its decoded chunks left on the file's own clock (or decoded MDF channels)."""

    path: Path
    info: SourceInfo
    start: datetime | None
    first: float                                  # first time stamp on the file's clock
    last: float
    stream: FileStream | None = None
    mdf: list[Channel] = field(default_factory=list)



def _needed_messages(profile: Profile, wanted: Iterable[str]) -> set[str]:
    names = {profile.channels[c].message for c in wanted if profile.channels[c].message}
    names.update(i.message for i in profile.integrity)
    return names


def _wanted_channels(profile: Profile, channels: Iterable[str] | None) -> list[str]:
    if channels is None:
        return list(profile.channels)
    wanted = list(dict.fromkeys(channels))
    if "power" in wanted and profile.power is not None:
        need = (("driveshaft_torque_left", "driveshaft_torque_right", "wheel_speed_rl", "wheel_speed_rr")
                if profile.power.source == "driveshaft" else ("engine_torque", "engine_speed"))
        wanted.extend(c for c in need if c not in wanted)
    return [c for c in wanted if c in profile.channels]


def _kept_signals(profile: Profile, wanted: Iterable[str]) -> dict[str, set[str]]:
    """Message name -> the signals the canonical channels ``wanted`` are made of."""
    keep: dict[str, set[str]] = {}
    for c in wanted:
        cm = profile.channels[c]
        if cm.message:
            keep.setdefault(cm.message, set()).add(cm.signal_name)
    return keep


def _read_frames_file(path: Path, profile: Profile, messages: set[str] | None, keep: dict[str, set[str]] | None,
                      progress: Progress | None, done: int) -> _File:
    from .formats import open_log, sha256_file

    databases = profile.databases()
    integrity = {i.message: i for i in profile.integrity}
    with open_log(path) as lf:   # refuses missing files, folders and unknown formats before anything is read
        sha = sha256_file(path)
        size = path.stat().st_size
        if lf.kind == "channels":
            chans = lf.channels()
            firsts = [float(c.time[0]) for c in chans if len(c)]
            lasts = [float(c.time[-1]) for c in chans if len(c)]
            first, last = (min(firsts), max(lasts)) if firsts else (0.0, 0.0)
            info = SourceInfo(str(path), sha, lf.format, size, None, (), None, lf.start, last - first,
                              tuple(lf.findings))
            return _File(path, info, lf.start, first, last, None, chans)
        stream = FileStream(keep, integrity)
        n = 0
        buses: set[int] = set()
        ids: set[int] = set()
        first, last = np.inf, -np.inf
        for chunk in lf.chunks():
            n += len(chunk)
            buses.update(np.flatnonzero(np.bincount(chunk.bus, minlength=1)).tolist())
            ids.update(_distinct_ids(chunk))
            first = min(first, float(chunk.timestamp.min()))
            last = max(last, float(chunk.timestamp.max()))
            stream.add(chunk, decode_frames(chunk, databases, messages=messages))
            del chunk  # the next chunk is read while this one's frames are released
            if progress is not None:
                progress(done + n, None, f"decoding {path.name}")
        if n == 0:
            first = last = 0.0
        info = SourceInfo(str(path), sha, lf.format, size, n, tuple(sorted(buses)), len(ids), lf.start,
                          last - first, tuple(lf.findings))
        return _File(path, info, lf.start, first, last, stream, [])


def _distinct_ids(chunk: Frames) -> set[int]:
    """Distinct arbitration ids (| 1 << 32 for extended ones) of the non-error frames, in O(n) for 11-bit ids."""
    ok = ~chunk.is_error
    std = ok & ~chunk.is_extended & (chunk.arbitration_id < 2048)
    out = set(np.flatnonzero(np.bincount(chunk.arbitration_id[std], minlength=1)).tolist()) if std.any() else set()
    rest = ok & ~std
    if rest.any():
        key = chunk.arbitration_id[rest].astype(np.uint64) | (chunk.is_extended[rest].astype(np.uint64) << np.uint64(32))
        out.update(np.unique(key).tolist())
    return out


OVERLAP_TOLERANCE_S = 0.001
"""Files of one session may touch within this much (time-stamp resolution of the formats' start fields); files
that overlap by more are never interleaved: :class:`JoinError`."""


def _order(files: list[_File], max_gap_s: float | None = None
           ) -> tuple[list[_File], list[float], datetime | None, list[Finding]]:
    """Files in session order and the offset (s) that puts each file's clock on the session clock.

    Two files with absolute starts whose time ranges overlap by more than :data:`OVERLAP_TOLERANCE_S` raise
    :class:`JoinError` (``overlap``), as does a file starting more than ``max_gap_s`` after the latest end of the
    files before it (``gap``): their samples would interleave, or they are not one session."""
    findings: list[Finding] = []
    groups: list[list[_File]] = []
    for f in files:
        if f.start is not None or not groups:
            groups.append([f])
        else:
            groups[-1].append(f)
    known = [g for g in groups if g[0].start is not None]
    unknown_head = [g for g in groups if g[0].start is None]
    known.sort(key=lambda g: g[0].start)
    ordered_groups = unknown_head + known
    ordered = [f for g in ordered_groups for f in g]
    ref: datetime | None = None      # absolute start of the first file that records one
    base = 0.0                       # its offset on the session clock
    offsets: list[float] = []
    prev_end: float | None = None    # the latest end so far, and the file that has it
    prev_file: _File | None = None
    for f in ordered:
        if f.start is not None:
            if ref is None:
                ref, base = f.start, (prev_end - f.first) if prev_end is not None else -f.first
            off = base + (f.start - ref).total_seconds()
            if prev_end is not None and prev_file is not None:
                _check_join(prev_file, prev_end, f, off + f.first, max_gap_s)
        else:
            off = (prev_end - f.first) if prev_end is not None else -f.first
            if len(files) > 1:
                findings.append(Finding("no_start", f"{f.path.name} records no absolute start time; placed right "
                                                    "after the file before it"))
        offsets.append(off)
        if prev_end is None or off + f.last >= prev_end:
            prev_end, prev_file = off + f.last, f
    origin = min(off + f.first for f, off in zip(ordered, offsets, strict=True)) if ordered else 0.0
    offsets = [off - origin for off in offsets]
    try:
        start = None if ref is None else ref + timedelta(seconds=origin - base)
    except OverflowError:   # absurd time stamps (e.g. a damaged line 10^11 s away): no absolute start
        start = None
        findings.append(Finding("bad_start", f"the first time stamp lies {origin - base:.6g} s from the file's "
                                             "start, outside the calendar; the session has no absolute start"))
    if ordered and ordered[0].start is None:
        start = None  # time 0 is in a file without an absolute start: its absolute time is not known
    return ordered, offsets, start, findings


def _check_join(prev: _File, prev_end: float, f: _File, begins: float, max_gap_s: float | None) -> None:
    """``f`` (beginning at ``begins`` on the session clock) after the files up to ``prev`` (ending at
    ``prev_end``): refused when it overlaps them or starts too long after them."""
    if begins < prev_end - OVERLAP_TOLERANCE_S:
        seconds = min(prev_end, begins + (f.last - f.first)) - begins
        raise JoinError(f"overlaps {prev.path.name} by {seconds:.3f} s (it starts {prev_end - begins:.3f} s before "
                        f"that file ends): two recordings of the same time cannot be one session",
                        kind="overlap", first=prev.path, second=f.path, seconds=seconds,
                        fix="judge them separately: a second recording is a separate run, not a rolled file")
    if max_gap_s is not None and begins - prev_end > max_gap_s:
        raise JoinError(f"starts {begins - prev_end:.0f} s after {prev.path.name} ends, more than the "
                        f"{max_gap_s:.0f} s allowed between the files of one session", kind="gap",
                        first=prev.path, second=f.path, seconds=begins - prev_end,
                        fix="check that it belongs to this session; judge it as its own run, or raise the "
                            "allowed gap")


def _sorted(time: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(time) > 1 and np.any(np.diff(time) < 0):
        order = np.argsort(time, kind="stable")
        return time[order], value[order]
    return time, value


def _pick(signals: list[DecodedSignal], cm: ChannelMap) -> DecodedSignal | None:
    cands = [s for s in signals if len(s)]
    if cm.bus is not None:
        cands = [s for s in cands if s.bus == cm.bus]
    return max(cands, key=len) if cands else None


def _canonical(name: str, cm: ChannelMap, time: np.ndarray, value: np.ndarray, unit: str | None, profile: Profile,
               source: str, bus: int | None) -> Channel:
    target = CANONICAL[name].unit
    if unit is None or normalise(unit) == "":
        if normalise(target) not in ("", "percent"):
            raise UnitError(
                f"channel {name}: {source} has no unit and {target!r} is not dimensionless", path=profile.path,
                place=f"key channels.{name}",
                fix=f'give its unit in the profile: {name} = {{signal = "{cm.signal}", unit = "..."}}')
        unit = target  # a count, a flag or a percentage recorded without a unit is taken as the canonical unit
    out = convert(value, unit, target, density_kg_per_l=cm.density_kg_per_l, profile=str(profile.path),
                  channel=name, signal=source)
    time, out = _sorted(time, out)
    return Channel(name, target, time, out, source, bus)


def _last_known(t: np.ndarray, ch: Channel) -> np.ndarray:
    """``ch`` sampled at ``t``: the last sample at or before each stamp (NaN before the first)."""
    idx = np.searchsorted(ch.time, t, side="right") - 1
    out = np.full(len(t), np.nan)
    ok = idx >= 0
    out[ok] = ch.value[idx[ok]]
    return out


_BLOCK = 1 << 20   # samples per block where a derived channel is computed (bounded temporaries on long logs)


def _power(profile: Profile, chans: dict[str, Channel]) -> Channel | None:
    spec = profile.power
    if spec is None:
        return None
    if spec.source == "driveshaft":
        need = ("driveshaft_torque_left", "driveshaft_torque_right", "wheel_speed_rl", "wheel_speed_rr")
        if any(c not in chans or not len(chans[c]) for c in need):
            return None
        base = chans["driveshaft_torque_left"]
        radius = spec.wheel_radius_m

        def block(t: np.ndarray, torque: np.ndarray) -> np.ndarray:
            omega_l = _last_known(t, chans["wheel_speed_rl"]) / 3.6 / radius
            omega_r = _last_known(t, chans["wheel_speed_rr"]) / 3.6 / radius
            return torque * omega_l + _last_known(t, chans["driveshaft_torque_right"]) * omega_r
        source = "derived: drive-shaft torque left/right x rear wheel angular speed"
    else:
        if any(c not in chans or not len(chans[c]) for c in ("engine_torque", "engine_speed")):
            return None
        base = chans["engine_torque"]

        def block(t: np.ndarray, torque: np.ndarray) -> np.ndarray:
            return torque * _last_known(t, chans["engine_speed"]) * (2 * np.pi / 60.0)
        source = "derived: engine torque x engine speed"
    t = base.time
    watts = np.empty(len(t))
    for a in range(0, len(t), _BLOCK):   # element by element: the same values as one pass over the whole channel
        watts[a:a + _BLOCK] = block(t[a:a + _BLOCK], base.value[a:a + _BLOCK])
    ok = np.isfinite(watts)
    first = int(np.argmax(ok)) if len(ok) else 0
    if ok[first:].all():   # the usual case (no power before every input is known): views, no copies
        return Channel("power", "kW", t[first:], np.divide(watts, 1000.0, out=watts)[first:], source, base.bus)
    return Channel("power", "kW", t[ok], watts[ok] / 1000.0, source, base.bus)


def load_session(paths: str | Path | Sequence[str | Path], profile: Profile, *, all_signals: bool = False,
                 channels: Iterable[str] | None = None, progress: Progress | None = None,
                 max_gap_s: float | None = None) -> Session:
    """Read, decode and join ``paths`` into one :class:`Session` (see the module docstring).

    ``channels`` limits the canonical channels produced (``power`` pulls in what it is derived from);
    ``all_signals`` also fills ``Session.signals`` with every decoded DBC signal (or every MDF channel).
    ``progress(done, total, what)`` is called while reading. Files that overlap in time, or (with ``max_gap_s``)
    that start more than that after the files before them, raise :class:`JoinError` naming both files.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = [Path(p) for p in paths]
    wanted = _wanted_channels(profile, channels)
    messages = None if all_signals else _needed_messages(profile, wanted)
    keep = None if all_signals else _kept_signals(profile, wanted)
    files: list[_File] = []
    done = 0
    for p in paths:
        f = _read_frames_file(p, profile, messages, keep, progress, done)
        done += f.info.frames or 0
        files.append(f)
    ordered, offsets, start, findings = _order(files, max_gap_s)

    frame_parts = [(f.stream, off) for f, off in zip(ordered, offsets, strict=True) if f.stream is not None]
    joined = (join([s for s, _ in frame_parts], [o for _, o in frame_parts], {i.message: i for i in profile.integrity})
              if frame_parts else None)
    for f in ordered:
        f.stream = None   # join took what it needed
    decoded = None if joined is None else joined.decoded
    if decoded is not None:
        findings.extend(decoded.findings)

    by_signal: dict[tuple[str, str], list[DecodedSignal]] = {}
    if decoded is not None:
        for m in decoded.messages.values():
            for s in m.signals.values():
                by_signal.setdefault((m.name, s.name), []).append(s)

    chans: dict[str, Channel] = {}
    for name in wanted:
        cm = profile.channels[name]
        pieces: list[Channel] = []
        if cm.message is not None:
            sig = _pick(by_signal.get((cm.message, cm.signal_name), []), cm)
            if sig is not None:
                pieces.append(_canonical(name, cm, sig.time, sig.value, cm.unit, profile, sig.qualified, sig.bus))
        for f, off in zip(ordered, offsets, strict=True):
            match = _mdf_match(f.mdf, cm)
            if match is not None:
                unit = cm.unit if cm.unit_override else (match.unit or cm.unit)
                pieces.append(_canonical(name, cm, match.time + off, match.value, unit, profile, match.name, None))
        if pieces:
            if len(pieces) == 1:
                chans[name] = pieces[0]
            else:
                t, v = _sorted(np.concatenate([c.time for c in pieces]), np.concatenate([c.value for c in pieces]))
                chans[name] = Channel(name, pieces[0].unit, t, v, pieces[0].source, pieces[0].bus)
    power = _power(profile, chans)
    if power is not None and (channels is None or "power" in set(channels)):
        chans["power"] = power
    if channels is None:
        expected = list(profile.channels) + (["power"] if profile.power is not None else [])
    else:
        expected = [c for c in dict.fromkeys(channels)
                    if c in profile.channels or (c == "power" and profile.power is not None)]
    missing = tuple(c for c in expected if c not in chans or not len(chans[c]))
    for c in missing:
        chans.pop(c, None)

    traces = _traces(profile, joined, wanted)
    signals: dict[str, Channel] = {}
    if all_signals:
        if decoded is not None:
            for (bus, qualified), s in sorted(decoded.signals.items()):
                t, v = _sorted(s.time, s.value)
                key = qualified if qualified not in signals else f"{bus}:{qualified}"
                signals[key] = Channel(qualified, s.unit, t, v, qualified, bus)
        for f, off in zip(ordered, offsets, strict=True):
            for c in f.mdf:
                t, v = _sorted(c.time + off, c.value)
                signals.setdefault(c.name, Channel(c.name, c.unit, t, v, c.name, c.bus))
    return Session(MappingProxyType(chans), tuple(f.info for f in ordered), start, MappingProxyType(traces),
                   MappingProxyType(signals), tuple(findings), missing)


def _mdf_match(mdf: list[Channel], cm: ChannelMap) -> Channel | None:
    if not mdf:
        return None
    for name in (cm.signal, cm.qualified, cm.signal_name):
        if name:
            hits = [c for c in mdf if c.name == name and len(c)]
            if hits:
                return hits[0]
    if cm.signal_name:
        hits = [c for c in mdf if c.name.rsplit(".", 1)[-1] == cm.signal_name and len(c)]
        if len(hits) == 1:
            return hits[0]
    return None


def _traces(profile: Profile, joined: Joined | None, wanted: list[str]) -> dict[str, MessageTrace]:
    if joined is None:
        return {}
    feeds: dict[str, list[str]] = {}
    for name in wanted:
        cm = profile.channels[name]
        if cm.message:
            feeds.setdefault(cm.message, []).append(name)
    integrity = {i.message for i in profile.integrity}
    out: dict[str, MessageTrace] = {}
    empty = np.empty(0)
    for (bus, name), msg in joined.decoded.messages.items():
        if name not in feeds and name not in integrity:
            continue
        key = (bus, name)
        out[f"{bus}:{name}"] = MessageTrace(name, bus, msg.time, msg.cycle_time_s, joined.skips.get(key, empty),
                                            joined.failures.get(key, empty), joined.checked.get(key, ()),
                                            tuple(feeds.get(name, ())))
    return out
