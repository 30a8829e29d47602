"""Data-quality checks made before any verdict: data that cannot certify is never a pass.

Checks (each finding: check, channel, start_s, end_s, severity, detail):

- ``missing``: a channel a rule needs is absent or empty (error); a channel the profile maps but no data
  arrived for, not needed by any rule (warning).
- ``gap``: two consecutive frames of a message further apart than ``GAP_FACTOR`` times the message's own cycle
  time (from the DBC, ``MessageTrace.cycle_time_s``; the message's median interval when the DBC gives none);
  for a channel no traced message feeds (decoded-channel MDF, derived channels), ``GAP_FACTOR`` times the
  channel's median sample interval. A message or channel that
  starts late or stops early counts too (gap from 0, or to the end of the session).
- ``frozen``: a continuous channel holding exactly the same value for longer than ``FROZEN_S`` while the engine
  runs (engine_speed above ``RUNNING_RPM``), the car moves (vehicle_speed above ``MOVING_KMH``, when logged)
  and the car's state changes meanwhile (engine_speed varies by ``CHANGE_RPM``; for engine_speed itself,
  vehicle_speed by ``CHANGE_KMH``), so a steady state such as the pit-lane speed limiter is not a fault.
- ``counter``/``checksum``: rolling-counter skips and checksum failures of a message, grouped into spans (events
  less than ``GROUP_S`` apart form one finding).
- ``time_backwards``: a channel whose time stamps decrease.
- ``skipped_data``: a file whose reader skipped more than ``SKIPPED_SHARE`` of the lines or objects that may
  have carried a frame (skipped lines and BLF objects of unknown type, against the frames read plus those), or
  skipped a whole BLF log container, or skipped any line whose arbitration id (where the line still shows one:
  candump, ASC) is a message feeding a channel a rule needs, is an error for the whole session, with the count
  and the first places: data that was not read cannot certify, so the session is ``incomplete``, never
  ``compliant``.
- reader and decoder findings: ``truncated``, ``time_backwards``, ``time_jump`` and ``count_mismatch`` are
  errors for the whole session; the other kinds (skipped lines, unknown ids, short frames...) are warnings.

Severity: ``error`` when the channel is needed by a rule (or the finding is session-wide), else ``warning``.
An error on a channel makes every rule needing that channel ``incomplete``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np

from telemetry.channels import CANONICAL, Channel, MessageTrace, Session, SourceInfo
from telemetry.frames import Finding

from .verdict import QualityFinding

__all__ = ["GAP_FACTOR", "FROZEN_S", "RUNNING_RPM", "MOVING_KMH", "CHANGE_RPM", "CHANGE_KMH", "GROUP_S",
           "SESSION_ERRORS", "SKIPPED_SHARE", "SKIPPED_KINDS", "check_quality", "power_inputs", "skipped_data"]

log = logging.getLogger(__name__)

GAP_FACTOR = 10.0        # a gap is an interval longer than 10 cycle times (9 frames in a row lost)
FROZEN_S = 5.0           # a needed sensor unchanged this long while the car runs is frozen
RUNNING_RPM = 1500.0
MOVING_KMH = 20.0
CHANGE_RPM = 500.0       # a sensor is frozen only while the engine speed changes by at least this much
CHANGE_KMH = 20.0        # (or, for engine_speed itself, the vehicle speed by this much)
GROUP_S = 1.0
SESSION_ERRORS = ("truncated", "time_backwards", "time_jump", "count_mismatch")
SKIPPED_SHARE = 0.001    # more than 0.1 % of a file's frame lines/objects skipped: the session is incomplete
#: reader findings whose ``count`` are lines or objects that may have carried a frame, and what they are
SKIPPED_KINDS = {"skipped_line": "lines", "unknown_object": "objects of unknown type"}
# continuous channels that may legitimately hold one value for long (weather, sensors that saturate)
_FROZEN_EXEMPT = {"ambient_pressure", "throttle", "distance", "refuel", "gear", "lap"}
_BLOCK = 1 << 20   # samples per block: a 24-hour channel is scanned with bounded temporaries


def power_inputs(profile: object | None) -> tuple[str, ...]:
    """Channels the derived ``power`` comes from, per the profile's ``[power]`` table."""
    power = getattr(profile, "power", None)
    source = getattr(power, "source", None)
    if source == "driveshaft":
        return ("driveshaft_torque_left", "driveshaft_torque_right", "wheel_speed_rl", "wheel_speed_rr")
    if source == "engine":
        return ("engine_torque", "engine_speed")
    return ()


def _finding(check: str, channel: str, start: float, end: float, needed: set[str], detail: str,
             *, error: bool | None = None) -> QualityFinding:
    severe = (channel in needed or channel == "") if error is None else error
    return QualityFinding(check, channel, float(start), float(end), "error" if severe else "warning", detail)


def _gaps(times: np.ndarray, threshold: float, end_s: float) -> list[tuple[float, float]]:
    """Spans (last sample before, first sample after) with no samples for longer than ``threshold``."""
    if len(times) == 0:
        return []
    spans: list[tuple[float, float]] = []
    if times[0] > threshold:
        spans.append((0.0, float(times[0])))
    for a in range(0, len(times) - 1, _BLOCK):
        dt = np.diff(times[a:a + _BLOCK + 1])
        for i in (np.flatnonzero(dt > threshold) + a).tolist():
            spans.append((float(times[i]), float(times[i + 1])))
    if end_s - times[-1] > threshold:
        spans.append((float(times[-1]), end_s))
    return spans


def _median_interval(times: np.ndarray) -> float:
    """The median of the intervals between consecutive ``times`` (one temporary array, sorted in place)."""
    return float(np.median(np.diff(times), overwrite_input=True))


def _first_backwards(times: np.ndarray) -> int | None:
    """Index ``i`` of the first ``times[i + 1] < times[i]``, or None."""
    for a in range(0, len(times) - 1, _BLOCK):
        back = np.diff(times[a:a + _BLOCK + 1]) < 0
        if back.any():
            return a + int(np.argmax(back))
    return None


def _groups(events: np.ndarray) -> list[tuple[float, float, int]]:
    if len(events) == 0:
        return []
    events = np.sort(events)
    breaks = np.flatnonzero(np.diff(events) >= GROUP_S) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(events)]))
    return [(float(events[a]), float(events[b - 1]), int(b - a)) for a, b in zip(starts, ends, strict=True)]


def _trace_channels(trace: MessageTrace) -> list[str]:
    return list(trace.signals) or [f"{trace.bus}:{trace.name}"]


def _message_checks(trace: MessageTrace, needed: set[str], end_s: float) -> list[QualityFinding]:
    out: list[QualityFinding] = []
    channels = _trace_channels(trace)
    cycle, what = trace.cycle_time_s, "cycle"
    if not cycle or cycle <= 0:               # the DBC gives no cycle time: the message's own median interval
        cycle = _median_interval(trace.time) if len(trace.time) > 2 else 0.0
        what = "median interval"
    if cycle > 0:
        for a, b in _gaps(trace.time, GAP_FACTOR * cycle, end_s):
            for ch in channels:
                out.append(_finding("gap", ch, a, b, needed,
                                    f"no {trace.name} frame on bus {trace.bus} for {b - a:.3f} s "
                                    f"({what} {cycle * 1000:.3g} ms)"))
    for check, events, what in (("counter", trace.counter_skips, "rolling-counter skip"),
                                ("checksum", trace.checksum_failures, "checksum failure")):
        for a, b, n in _groups(np.asarray(events, dtype=np.float64)):
            for ch in channels:
                out.append(_finding(check, ch, a, b, needed,
                                    f"{n} {what}{'s' if n != 1 else ''} in {trace.name} on bus {trace.bus}"))
    return out


def _channel_gaps(channel: Channel, needed: set[str], end_s: float) -> list[QualityFinding]:
    if len(channel) < 3:
        return []
    median = _median_interval(channel.time)
    if median <= 0:
        return []
    threshold = GAP_FACTOR * median
    return [_finding("gap", channel.name, a, b, needed,
                     f"no {channel.name} sample for {b - a:.3f} s (median interval {median * 1000:.3g} ms)")
            for a, b in _gaps(channel.time, threshold, end_s)]


def _held(channel: Channel | None, at: np.ndarray) -> np.ndarray | None:
    if channel is None or len(channel) == 0:
        return None
    idx = np.clip(np.searchsorted(channel.time, at, side="right") - 1, 0, None)
    return channel.value[idx]


def _spread(channel: Channel | None, start: float, end: float) -> float | None:
    """Range of ``channel``'s values between ``start`` and ``end`` (None when it has no samples there)."""
    if channel is None or len(channel) == 0:
        return None
    a, b = np.searchsorted(channel.time, [start, end], side="left")
    if b <= a:
        return None
    window = channel.value[a:b]
    return float(np.nanmax(window) - np.nanmin(window))


def _frozen(channel: Channel, session: Session, needed: set[str]) -> list[QualityFinding]:
    v, t = channel.value, channel.time
    if len(v) < 2:
        return []
    running = np.ones(len(t), dtype=bool)
    engine, vehicle = session.channels.get("engine_speed"), session.channels.get("vehicle_speed")
    for a in range(0, len(t), _BLOCK):
        part = running[a:a + _BLOCK]
        rpm = _held(engine, t[a:a + _BLOCK])
        if rpm is not None:
            part &= rpm > RUNNING_RPM
        speed = _held(vehicle, t[a:a + _BLOCK])
        if speed is not None:
            part &= speed > MOVING_KMH
    link = np.zeros(len(v), dtype=bool)
    link[1:] = (v[1:] == v[:-1]) & running[1:] & running[:-1]
    padded = np.concatenate(([False], link, [False])).astype(np.int8)
    edges = np.diff(padded)
    first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    long = (t[last] - t[first - 1]) > FROZEN_S
    first, last = first[long], last[long]
    # the car must be changing state meanwhile (engine speed, or vehicle speed for engine speed itself): a
    # steady state such as the pit-lane limiter legitimately holds many channels still
    reference, needed_change = ("vehicle_speed", CHANGE_KMH) if channel.name == "engine_speed" else (
        "engine_speed", CHANGE_RPM)
    out = []
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        start, end = float(t[a - 1]), float(t[b])
        if end - start <= FROZEN_S:
            continue
        spread = _spread(session.channels.get(reference), start, end)
        if spread is not None and spread < needed_change:
            continue
        out.append(_finding("frozen", channel.name, start, end, needed,
                            f"{channel.name} stuck at {float(v[a]):g} {channel.unit} for {end - start:.1f} s "
                            f"while the car runs" + (f" ({reference} varied by {spread:.0f})" if spread else "")))
    return out


def _offsets(session: Session) -> list[float]:
    """Session time of each source's start (0 when the absolute starts are unknown)."""
    out = []
    for src in session.sources:
        start: datetime | None = src.start
        out.append((start - session.start).total_seconds() if start and session.start else 0.0)
    return out


def needed_messages(profile: object | None, needed: Iterable[str]) -> dict[int, str]:
    """Arbitration id -> message name of every DBC message that feeds a channel in ``needed``."""
    out: dict[int, str] = {}
    channels = getattr(profile, "channels", None) or {}
    by_name: dict[str, list[int]] = {}
    for ref in getattr(profile, "dbcs", ()) or ():
        for msg in getattr(ref.database, "messages", ()):
            by_name.setdefault(msg.name, []).append(int(msg.frame_id))
    for name in needed:
        mapping = channels.get(name)
        message = getattr(mapping, "message", None)
        for frame_id in by_name.get(message or "", ()):
            out[frame_id] = message
    return out


def skipped_data(src: SourceInfo, start_s: float = 0.0,
                 needed_ids: Mapping[int, str] | None = None) -> QualityFinding | None:
    """The ``skipped_data`` error for one file, when its reader skipped more than ``SKIPPED_SHARE`` of what may
    have carried frames (or a whole BLF log container), or any line whose id is a message in ``needed_ids``
    (a message a rule needs), else None."""
    skipped = [f for f in src.findings if f.kind in SKIPPED_KINDS]
    if not skipped:
        return None
    hit = sorted({i for f in skipped for i in f.ids} & set(needed_ids or ()))
    if hit:
        count = sum(max(f.count, 1) for f in skipped)
        names = ", ".join(f"0x{i:X} ({needed_ids[i]})" for i in hit[:5]) + (", ..." if len(hit) > 5 else "")
        places = "; ".join(f.detail for f in skipped[:3])
        return QualityFinding("skipped_data", "", start_s, start_s + src.duration_s, "error",
                              f"{src.path}: {count:,} lines not read, among them lines of {names}, which the rules "
                              f"need; frames they carried are not judged, so the data cannot certify the "
                              f"session: {places}")
    count = sum(max(f.count, 1) for f in skipped)
    containers = [f for f in skipped if f.kind == "unknown_object" and f.offset is not None]
    total = (src.frames or 0) + count
    share = count / total if total else 1.0
    if share <= SKIPPED_SHARE and not containers:
        return None
    what = " and ".join(dict.fromkeys(SKIPPED_KINDS[f.kind] for f in skipped))
    places = "; ".join(f.detail + (f" (first at line {f.line})" if f.line is not None and "line" not in f.detail
                                   else "") for f in skipped[:3])
    why = ("a whole log container was skipped" if containers and share <= SKIPPED_SHARE else
           f"above the {SKIPPED_SHARE:.1%} a file may lose")
    return QualityFinding("skipped_data", "", start_s, start_s + src.duration_s, "error",
                          f"{src.path}: {count:,} {what} not read of {total:,} ({share:.2%}), {why}; frames "
                          f"they carried are not judged, so the data cannot certify the session: {places}")


def _reader_findings(session: Session, end_s: float,
                     needed_ids: Mapping[int, str] | None = None) -> list[QualityFinding]:
    out = []
    for src, offset in zip(session.sources, _offsets(session), strict=True):
        lost = skipped_data(src, offset, needed_ids)
        if lost is not None:
            out.append(lost)
        for f in src.findings:
            a, b = (offset + src.duration_s, offset + src.duration_s) if f.kind == "truncated" else (
                offset, offset + src.duration_s)
            out.append(_reader_finding(f, a, b, f"{src.path}: "))
    for f in session.findings:
        out.append(_reader_finding(f, 0.0, end_s, ""))
    return out


def _reader_finding(f: Finding, a: float, b: float, prefix: str) -> QualityFinding:
    where = f" at line {f.line}" if f.line is not None else (f" at offset {f.offset}" if f.offset is not None
                                                             else "")
    count = f" ({f.count} times)" if f.count != 1 else ""
    return QualityFinding(f.kind, "", a, b, "error" if f.kind in SESSION_ERRORS else "warning",
                          f"{prefix}{f.detail}{where}{count}")


def check_quality(session: Session, profile: object | None = None,
                  needed: Iterable[str] = ()) -> list[QualityFinding]:
    """Every data-quality finding of ``session``, sorted by time; errors on ``needed`` channels."""
    need = set(needed)
    if "power" in need:
        need.update(c for c in power_inputs(profile) if c in session.channels)
    end_s = session.duration_s
    out: list[QualityFinding] = []
    for name in sorted(need):
        ch = session.channels.get(name)
        if ch is None or len(ch) == 0 or name in session.missing:
            out.append(_finding("missing", name, 0.0, end_s, need,
                                f"{name} is needed but {'was not logged' if ch is None else 'has no samples'}",
                                error=True))
    for name in sorted(set(session.missing) - need):
        if name in CANONICAL and CANONICAL[name].optional:
            continue                        # an optional channel (SPEC §1) no rule needs: nothing to report
        out.append(_finding("missing", name, 0.0, end_s, need,
                            f"{name} is mapped by the profile but no data arrived", error=False))
    traced: set[str] = set()
    for key in sorted(session.messages):
        trace = session.messages[key]
        traced.update(trace.signals)
        out.extend(_message_checks(trace, need, end_s))
    for name in sorted(session.channels):
        ch = session.channels[name]
        i = _first_backwards(ch.time) if len(ch) else None
        if i is not None:
            out.append(_finding("time_backwards", name, float(ch.time[i + 1]), float(ch.time[i]), need,
                                f"{name} time goes back from {ch.time[i]:.6f} s to {ch.time[i + 1]:.6f} s"))
            continue
        if name not in traced:
            out.extend(_channel_gaps(ch, need, end_s))
        spec = CANONICAL.get(name)
        if spec is not None and spec.continuous and name not in _FROZEN_EXEMPT:
            out.extend(_frozen(ch, session, need))
    out.extend(_reader_findings(session, end_s, needed_messages(profile, need)))
    out.sort(key=QualityFinding.sort_key)
    log.debug("%d data-quality findings", len(out))
    return out
