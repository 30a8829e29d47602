"""The items of the logger check, judged on what one listening window received (:class:`Capture`).

The frames are decoded with the car profile exactly as ``check`` decodes a log: they are written to a temporary
BLF and read back with :func:`telemetry.session.load_session`, so channels, units, message traces and the
``[[integrity]]`` checks (rolling-counter skips, checksum failures) are the ones a verdict would see. Plausible
ranges are judged on the DBC values (:func:`telemetry.decode.decode_frames`), in the DBC's own units.

Items (each ``green``, ``red`` or ``skip``; ``skip`` says why the item could not be judged and is not a fault):

- ``present``: per needed channel, its DBC message arrived (on its bus);
- ``raster``: per needed message that arrived, its median interval within ``RASTER_TOLERANCE`` of the DBC cycle
  time (``Message.cycle_time``) and no interval, nor the time before its first or after its last frame, longer
  than ``GAP_CYCLES`` cycles;
- ``range``: per needed channel, every value within the DBC minimum/maximum of its signal;
- ``frozen``: per needed continuous channel (the exemptions of :mod:`compliance.judge.quality`: ambient pressure,
  throttle, distance...), not one value over the window while the engine runs and its state changes (engine
  speed varying by ``CHANGE_RPM``; for engine speed itself throttle by ``CHANGE_THROTTLE_PCT`` or vehicle speed
  by ``CHANGE_KMH``); wheel speeds, vehicle speed, drive-shaft torques and accelerations only while the car
  moves (another speed channel above ``MOVING_KMH``): in the garage they rest at zero;
- ``integrity``: per ``[[integrity]]`` message of the needed ones, no rolling-counter skip and no checksum
  failure;
- ``bus_load``: per bus, frames/s and (with the bitrate) the share of the bitrate used (worst-case bit stuffing),
  red when the bus is silent or above ``BUS_LOAD_MAX``;
- ``error_frames``: per bus, red above ``max(ERROR_FRAMES_MIN, ERROR_SHARE_MAX x frames)``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from telemetry.channels import CANONICAL, Channel, MessageTrace, Session
from telemetry.decode import decode_frames
from telemetry.frames import Frames
from telemetry.profiles import Profile
from telemetry.session import load_session

from ..errors import RuleError
from ..judge.quality import _FROZEN_EXEMPT, CHANGE_KMH, CHANGE_RPM, MOVING_KMH, RUNNING_RPM, power_inputs
from .collect import Capture

__all__ = ["GREEN", "RED", "SKIP", "RASTER_TOLERANCE", "GAP_CYCLES", "BUS_LOAD_MAX", "ERROR_FRAMES_MIN",
           "ERROR_SHARE_MAX", "CHANGE_THROTTLE_PCT", "Item", "LoggerCheck", "needed_channels", "check_capture"]

log = logging.getLogger(__name__)

GREEN, RED, SKIP = "green", "red", "skip"
RASTER_TOLERANCE = 0.20     # measured median interval within +-20 % of the DBC cycle time
GAP_CYCLES = 3.0            # no interval longer than 3 cycle times
BUS_LOAD_MAX = 0.80         # share of the bitrate
ERROR_FRAMES_MIN = 5        # error frames tolerated per window ...
ERROR_SHARE_MAX = 0.001     # ... or this share of the bus's frames, whichever is more
CHANGE_THROTTLE_PCT = 10.0  # engine speed is judged frozen only while the throttle moves this much
MIN_JUDGED_S = 1.0          # a frozen check needs this much running time
#: channels that rest (at zero) while the car stands in the garage: judged only while it moves
MOTION = ("vehicle_speed", "wheel_speed_fl", "wheel_speed_fr", "wheel_speed_rl", "wheel_speed_rr",
          "driveshaft_torque_left", "driveshaft_torque_right", "long_accel", "lat_accel")
_SPEEDS = ("vehicle_speed", "wheel_speed_fl", "wheel_speed_fr", "wheel_speed_rl", "wheel_speed_rr")


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the check: ``kind`` (present, raster, range, frozen, integrity, bus_load, error_frames),
    ``subject`` (a channel, a message ``bus:Message`` or a bus ``bus N``), ``status`` and a one-line detail."""

    kind: str
    subject: str
    status: str
    detail: str
    values: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"item": self.kind, "subject": self.subject, "status": self.status, "detail": self.detail,
                **({"values": self.values} if self.values else {})}


@dataclass(frozen=True, slots=True)
class LoggerCheck:
    items: tuple[Item, ...]
    capture: Capture
    profile: Profile
    needed: tuple[str, ...]
    bulletin: str | None = None

    @property
    def ok(self) -> bool:
        return not any(i.status == RED for i in self.items)

    @property
    def red(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.status == RED)

    def to_dict(self) -> dict:
        f = self.capture.frames
        return {
            "result": GREEN if self.ok else RED,
            "interface": self.capture.interface,
            "channels": list(self.capture.channels),
            "seconds": round(self.capture.seconds, 3),
            "bitrate": self.capture.bitrate,
            "frames": len(f),
            "start": None if f.start is None else f.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "profile": {"model": self.profile.model, "name": self.profile.name, "sha256": self.profile.sha256},
            "bulletin": self.bulletin,
            "needed": list(self.needed),
            "counts": {s: sum(1 for i in self.items if i.status == s) for s in (GREEN, RED, SKIP)},
            "items": [i.to_dict() for i in self.items],
        }


def needed_channels(profile: Profile, bulletin=None, car: str | None = None) -> tuple[str, ...]:
    """The channels the logger must deliver: what the bulletin's rules for the car need (power: what it is
    derived from), or every channel the profile maps. A rule needing a channel the profile cannot provide is
    :class:`RuleError` (exit 2)."""
    if bulletin is None:
        return tuple(profile.channels)
    entry = bulletin.entry(profile.model, car)
    out: list[str] = []
    for spec in entry.rules.values():
        for channel in spec.needs:
            if channel == "power" and "power" not in profile.channels:
                if profile.power is None:
                    raise RuleError(f"bulletin {bulletin.id} rule {spec.rule} needs power, which the profile does "
                                    "not provide", path=profile.path, place="[power]",
                                    fix='add a [power] table (source = "driveshaft" or "engine")')
                out.extend(power_inputs(profile))
            elif channel not in profile.channels:
                raise RuleError(f"bulletin {bulletin.id} rule {spec.rule} needs channel {channel}, which the "
                                "profile does not map", path=profile.path, place="[channels]",
                                fix=f'map it in [channels], e.g. {channel} = "Message.Signal"')
            else:
                out.append(channel)
    return tuple(c for c in dict.fromkeys(out) if c in profile.channels)


# ------------------------------------------------------------------------------------------------ decoding

def _write_blf(frames: Frames, path: Path) -> None:
    """The data frames as a BLF (bus k -> BLF channel k + 1, as the reader maps it back)."""
    import time

    import can

    base = frames.start.timestamp() if frames.start is not None else time.time()
    with can.BLFWriter(str(path)) as writer:
        for i in range(len(frames)):
            n = int(frames.length[i])
            flags = int(frames.flags[i])
            writer.on_message_received(can.Message(
                timestamp=base + float(frames.timestamp[i]), arbitration_id=int(frames.arbitration_id[i]),
                is_extended_id=bool(flags & 0x01), is_remote_frame=bool(flags & 0x02), is_fd=bool(flags & 0x08),
                bitrate_switch=bool(flags & 0x10), error_state_indicator=bool(flags & 0x20),
                data=bytes(frames.data[i, :n]), channel=int(frames.bus[i]), check=False))


def _session(frames: Frames, profile: Profile, needed: Sequence[str]) -> Session | None:
    if len(frames) == 0:
        return None
    with tempfile.TemporaryDirectory(prefix="bopwatch-logger-check-") as tmp:
        path = Path(tmp) / "capture.blf"
        _write_blf(frames, path)
        return load_session(path, profile, channels=list(needed))


def _trace(session: Session | None, message: str, bus: int | None) -> MessageTrace | None:
    if session is None:
        return None
    hits = [t for t in session.messages.values() if t.name == message and (bus is None or t.bus == bus)]
    return max(hits, key=lambda t: len(t.time)) if hits else None


# ------------------------------------------------------------------------------------------------ the items

def _present(profile: Profile, session: Session | None, needed: Sequence[str], seconds: float) -> list[Item]:
    out = []
    for name in needed:
        cm = profile.channels[name]
        found = profile.message(cm.message) if cm.message else None
        trace = _trace(session, cm.message, cm.bus) if cm.message else None
        ch = session.channels.get(name) if session is not None else None
        where = f"bus {cm.bus}" if cm.bus is not None else "any bus"
        ident = f" (id 0x{found[0].frame_id:X})" if found else ""
        if ch is not None and len(ch) and trace is not None:
            out.append(Item("present", name, GREEN, f"{cm.qualified} on bus {trace.bus}: {len(trace.time)} frames",
                            {"message": cm.message, "bus": trace.bus, "frames": len(trace.time)}))
        else:
            out.append(Item("present", name, RED, f"no {cm.message}{ident} frame on {where} in {seconds:.1f} s: "
                            f"{name} ({cm.qualified}) is missing", {"message": cm.message, "frames": 0}))
    return out


def _needed_messages(profile: Profile, needed: Iterable[str]) -> dict[tuple[str, int | None], list[str]]:
    out: dict[tuple[str, int | None], list[str]] = {}
    for name in needed:
        cm = profile.channels[name]
        if cm.message:
            out.setdefault((cm.message, cm.bus), []).append(name)
    return out


def _raster(trace: MessageTrace, end_s: float) -> Item:
    subject = f"{trace.bus}:{trace.name}"
    cycle = trace.cycle_time_s
    t = np.asarray(trace.time, np.float64)
    if not cycle or cycle <= 0:
        return Item("raster", subject, SKIP, f"{trace.name}: the DBC gives no cycle time ({len(t)} frames)")
    expected = f"DBC cycle {cycle * 1000:g} ms"
    if len(t) < 3:
        return Item("raster", subject, RED, f"{trace.name}: only {len(t)} frame(s) in {end_s:.1f} s ({expected})",
                    {"cycle_ms": cycle * 1000, "frames": len(t)})
    dt = np.diff(t)
    median = float(np.median(dt))
    edges = [float(t[0]), end_s - float(t[-1])]
    longest = max(float(dt.max()), *edges)
    values = {"cycle_ms": round(cycle * 1000, 3), "median_ms": round(median * 1000, 3),
              "longest_gap_ms": round(longest * 1000, 3), "frames": len(t)}
    problems = []
    if abs(median / cycle - 1.0) > RASTER_TOLERANCE:
        problems.append(f"median interval {median * 1000:.3g} ms, outside {expected} +-{RASTER_TOLERANCE:.0%}")
    if longest > GAP_CYCLES * cycle:
        at = (f"at {float(t[int(np.argmax(dt))]):.2f} s" if longest == float(dt.max())
              else "at the start of the window" if longest == edges[0] else "at the end of the window")
        problems.append(f"a gap of {longest * 1000:.4g} ms {at}, over {GAP_CYCLES:g} cycles")
    if problems:
        return Item("raster", subject, RED, f"{trace.name}: " + "; ".join(problems), values)
    return Item("raster", subject, GREEN, f"{trace.name}: median {median * 1000:.3g} ms ({expected}), longest "
                f"gap {longest * 1000:.4g} ms", values)


def _range_items(profile: Profile, frames: Frames, needed: Sequence[str]) -> list[Item]:
    messages = {profile.channels[c].message for c in needed if profile.channels[c].message}
    decoded = decode_frames(frames, profile.databases(), messages=messages) if len(frames) else None
    signals = decoded.signals if decoded is not None else {}
    out = []
    for name in needed:
        cm = profile.channels[name]
        hits = [s for (bus, q), s in signals.items() if q == cm.qualified and (cm.bus is None or bus == cm.bus)
                and len(s)]
        if not hits:
            continue   # the present item says it is missing
        sig = max(hits, key=len)
        found = profile.message(cm.message)
        dbc_sig = found[0].get_signal_by_name(cm.signal_name) if found else None
        lo = getattr(dbc_sig, "minimum", None)
        hi = getattr(dbc_sig, "maximum", None)
        v = np.asarray(sig.value, np.float64)
        seen_lo, seen_hi = float(np.nanmin(v)), float(np.nanmax(v))
        unit = f" {sig.unit}" if sig.unit else ""
        values = {"signal": cm.qualified, "min": seen_lo, "max": seen_hi, "dbc_min": lo, "dbc_max": hi}
        if lo is None and hi is None:
            out.append(Item("range", name, SKIP, f"{cm.qualified}: the DBC gives no minimum/maximum "
                            f"(seen {seen_lo:g}..{seen_hi:g}{unit})", values))
            continue
        tol = abs(float(getattr(dbc_sig, "scale", 0.0) or 0.0)) / 2 + 1e-9
        bad = np.zeros(len(v), bool)
        if lo is not None:
            bad |= v < float(lo) - tol
        if hi is not None:
            bad |= v > float(hi) + tol
        bad |= ~np.isfinite(v)
        dbc = f"DBC {'' if lo is None else f'{float(lo):g}'}..{'' if hi is None else f'{float(hi):g}'}{unit}"
        if bad.any():
            first = float(sig.time[int(np.argmax(bad))])
            out.append(Item("range", name, RED, f"{cm.qualified}: {int(bad.sum())} of {len(v)} values outside {dbc} "
                            f"(seen {seen_lo:g}..{seen_hi:g}, first at {first:.2f} s)", {**values,
                                                                                        "outside": int(bad.sum())}))
        else:
            out.append(Item("range", name, GREEN, f"{cm.qualified}: {seen_lo:g}..{seen_hi:g}{unit} within {dbc}",
                            values))
    return out


def _held(channel: Channel | None, at: np.ndarray) -> np.ndarray | None:
    if channel is None or len(channel) == 0:
        return None
    idx = np.searchsorted(channel.time, at, side="right") - 1
    out = np.full(len(at), np.nan)
    ok = idx >= 0
    out[ok] = channel.value[idx[ok]]
    return out


def _spread(channel: Channel | None, a: float, b: float) -> float | None:
    if channel is None or len(channel) == 0:
        return None
    i, j = np.searchsorted(channel.time, [a, b + 1e-9], side="left")
    if j <= i:
        return None
    part = channel.value[i:j]
    return float(np.nanmax(part) - np.nanmin(part))


def _frozen_item(name: str, session: Session) -> Item | None:
    spec = CANONICAL.get(name)
    ch = session.channels.get(name)
    if spec is None or not spec.continuous or name in _FROZEN_EXEMPT or ch is None or len(ch) < 2:
        return None
    chans = session.channels
    rpm = _held(chans.get("engine_speed"), ch.time)
    if rpm is None:
        return Item("frozen", name, SKIP, f"{name}: no engine_speed to tell whether the engine runs")
    gate = rpm > RUNNING_RPM
    why = f"the engine is not running (engine_speed at most {RUNNING_RPM:g} rpm)"
    if name in MOTION:
        speeds = [h for h in (_held(chans.get(s), ch.time) for s in _SPEEDS if s != name) if h is not None]
        if speeds:
            gate &= np.nan_to_num(np.vstack(speeds), nan=-np.inf).max(axis=0) > MOVING_KMH
            why = f"the car is not moving with the engine running (speed at most {MOVING_KMH:g} km/h)"
    idx = np.flatnonzero(gate)
    if len(idx) < 2 or ch.time[idx[-1]] - ch.time[idx[0]] < MIN_JUDGED_S:
        return Item("frozen", name, SKIP, f"{name}: not judged, {why}")
    a, b = float(ch.time[idx[0]]), float(ch.time[idx[-1]])
    if name == "engine_speed":
        refs = [("throttle", CHANGE_THROTTLE_PCT, "%"), ("vehicle_speed", CHANGE_KMH, "km/h")]
    else:
        refs = [("engine_speed", CHANGE_RPM, "rpm")]
    change = [(ref, s, unit) for ref, need, unit in refs
              if (s := _spread(chans.get(ref), a, b)) is not None and s >= need]
    if not change:
        wanted = " or ".join(f"{ref} by {need:g} {unit}" for ref, need, unit in refs)
        return Item("frozen", name, SKIP, f"{name}: not judged, the car's state did not change ({wanted} needed: "
                    "blip the throttle)")
    v = ch.value[idx]
    ref, s, unit = change[0]
    values = {"min": float(np.nanmin(v)), "max": float(np.nanmax(v)), "judged_s": round(b - a, 3)}
    if float(np.nanmax(v)) == float(np.nanmin(v)):
        return Item("frozen", name, RED, f"{name} stuck at {float(v[0]):g} {ch.unit} for {b - a:.1f} s while "
                    f"{ref} varied by {s:.0f} {unit}", values)
    return Item("frozen", name, GREEN, f"{name} varies ({float(np.nanmin(v)):g}..{float(np.nanmax(v)):g} "
                f"{ch.unit}) over {b - a:.1f} s", values)


def _integrity(profile: Profile, session: Session | None, messages: set[str]) -> list[Item]:
    out = []
    for spec in profile.integrity:
        trace = _trace(session, spec.message, None)
        subject = spec.message if trace is None else f"{trace.bus}:{spec.message}"
        if trace is None:
            if spec.message in messages:
                out.append(Item("integrity", subject, SKIP, f"{spec.message}: no frames to check"))
            continue
        wanted = [c for c, there in (("counter", spec.counter), ("checksum", spec.checksum)) if there]
        unchecked = [c for c in wanted if c not in trace.checked]
        skips, fails = np.asarray(trace.counter_skips), np.asarray(trace.checksum_failures)
        values = {"frames": len(trace.time), "counter_skips": int(len(skips)), "checksum_failures": int(len(fails))}
        problems = []
        if len(skips):
            problems.append(f"{len(skips)} rolling-counter skip{'s' if len(skips) != 1 else ''} "
                            f"(first at {float(skips.min()):.2f} s)")
        if len(fails):
            problems.append(f"{len(fails)} checksum failure{'s' if len(fails) != 1 else ''} "
                            f"(first at {float(fails.min()):.2f} s)")
        if unchecked:
            problems.append(f"{' and '.join(unchecked)} could not be checked")
        if problems:
            out.append(Item("integrity", subject, RED, f"{spec.message}: " + "; ".join(problems)
                            + f" in {len(trace.time)} frames", values))
        else:
            out.append(Item("integrity", subject, GREEN, f"{spec.message}: {' and '.join(wanted)} good over "
                            f"{len(trace.time)} frames", values))
    return out


def frame_bits(length: np.ndarray, extended: np.ndarray) -> np.ndarray:
    """Bits on the wire per classic CAN data frame (with worst-case stuffing and the 3-bit interframe space)."""
    n = length.astype(np.int64) * 8
    std = 47 + n + (34 + n - 1) // 4
    ext = 67 + n + (54 + n - 1) // 4
    return np.where(extended, ext, std)


def _bus_items(capture: Capture) -> list[Item]:
    f = capture.frames
    seconds = max(capture.seconds, 1e-9)
    out = []
    for k, channel in enumerate(capture.channels):
        on = f.bus == k
        err = on & f.is_error
        data = on & ~f.is_error
        n, errors = int(on.sum()), int(err.sum())
        rate = n / seconds
        values: dict = {"channel": channel, "frames": n, "frames_per_s": round(rate, 1)}
        subject = f"bus {k}"
        if n == 0:
            out.append(Item("bus_load", subject, RED, f"{channel}: no frames in {capture.seconds:.1f} s (is the "
                            "logger powered, the bus terminated, the bitrate right?)", values))
        elif capture.bitrate:
            bits = int(frame_bits(f.length[data], f.is_extended[data]).sum())
            load = bits / seconds / capture.bitrate
            values["load"] = round(load, 4)
            status = RED if load > BUS_LOAD_MAX else GREEN
            out.append(Item("bus_load", subject, status, f"{channel}: {rate:.0f} frames/s, {load:.1%} of "
                            f"{capture.bitrate / 1000:g} kbit/s" + (f" (over {BUS_LOAD_MAX:.0%})" if status == RED
                                                                    else ""), values))
        else:
            out.append(Item("bus_load", subject, GREEN, f"{channel}: {rate:.0f} frames/s (give --bitrate for the "
                            "share of the bus)", values))
        limit = max(ERROR_FRAMES_MIN, ERROR_SHARE_MAX * n)
        status = RED if errors > limit else GREEN
        out.append(Item("error_frames", subject, status, f"{channel}: {errors} error frame{'s' if errors != 1 else ''}"
                        f" in {capture.seconds:.1f} s (at most {limit:g} allowed)",
                        {"channel": channel, "error_frames": errors, "allowed": limit}))
    return out


def check_capture(capture: Capture, profile: Profile, needed: Sequence[str], *,
                  bulletin: str | None = None) -> LoggerCheck:
    """Every item of the logger check on ``capture`` for ``needed`` channels (:func:`needed_channels`)."""
    frames = capture.frames
    data = frames.select(~frames.is_error)
    needed = tuple(needed)
    session = _session(data, profile, needed)
    end_s = float(data.timestamp[-1] - data.timestamp[0]) if len(data) else 0.0
    items = _present(profile, session, needed, capture.seconds)
    wanted = _needed_messages(profile, needed)
    for message, bus in wanted:
        trace = _trace(session, message, bus)
        if trace is not None:
            items.append(_raster(trace, end_s))
    items.extend(_range_items(profile, data, needed))
    if session is not None:
        items.extend(i for i in (_frozen_item(name, session) for name in needed) if i is not None)
    items.extend(_integrity(profile, session, {m for m, _ in wanted}))
    items.extend(_bus_items(capture))
    log.info("logger-check: %d items, %d red", len(items), sum(1 for i in items if i.status == RED))
    return LoggerCheck(tuple(items), capture, profile, needed, bulletin)
