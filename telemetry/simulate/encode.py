"""Physical values -> CAN frames, vectorised per message (cantools is the schema, never the per-frame encoder).

Each DBC message a car sends gets a schedule (cycle from ``GenMsgCycleTime``, a phase, a little deterministic
jitter); its signals are sampled from the simulated drive, scaled to raw integers, packed into 64-bit words for
Intel and Motorola byte orders at once, and finished with rolling counters and checksums as the profile's
``[[integrity]]`` entries declare.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import TelemetryError
from ..frames import FLAG_EXTENDED, Frames
from .cars import CarProfile
from .drive import DT, Drive

__all__ = ["MessagePlan", "plan_messages", "sample_message", "pack_message", "encode_chunk", "checksum",
           "convert", "CHECKSUMS"]

_FACTORS = {
    ("bar", "bar"): 1.0, ("bar", "kPa"): 100.0, ("bar", "mbar"): 1000.0, ("bar", "psi"): 14.503773773,
    ("bar", "hPa"): 1000.0, ("kg/h", "kg/h"): 1.0, ("kg/h", "g/s"): 1 / 3.6, ("rpm", "rpm"): 1.0,
    ("rpm", "1/min"): 1.0, ("km/h", "km/h"): 1.0, ("km/h", "m/s"): 1 / 3.6, ("km/h", "mph"): 1 / 1.609344,
    ("N*m", "Nm"): 1.0, ("N*m", "N*m"): 1.0, ("%", "%"): 1.0, ("", ""): 1.0,
    ("g", "g"): 1.0, ("g", "m/s^2"): 9.80665, ("g", "m/s2"): 9.80665,
}
CANONICAL_UNITS = {
    "engine_speed": "rpm", "boost_pressure": "bar", "ambient_pressure": "bar", "fuel_flow": "kg/h",
    "engine_torque": "N*m", "driveshaft_torque_left": "N*m", "driveshaft_torque_right": "N*m",
    "vehicle_speed": "km/h", "wheel_speed_fl": "km/h", "wheel_speed_fr": "km/h", "wheel_speed_rl": "km/h",
    "wheel_speed_rr": "km/h", "throttle": "%", "gear": "", "refuel": "", "lap": "", "long_accel": "g",
    "lat_accel": "g",
}
DISCRETE = {"gear", "refuel", "lap", "BeaconActive", "LastLapTime", "PitLimiter"}


def convert(values: np.ndarray, from_unit: str, to_unit: str, what: str = "") -> np.ndarray:
    try:
        return values * _FACTORS[(from_unit, to_unit)]
    except KeyError:
        raise TelemetryError(f"cannot write {what} in {to_unit!r} (from {from_unit!r})", place=what,
                             fix="use a unit the simulator converts: " + ", ".join(
                                 sorted({b for a, b in _FACTORS if a == from_unit}))) from None


def _crc8_table() -> np.ndarray:
    table = np.zeros(256, np.uint8)
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1D) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[i] = crc
    return table


_CRC8 = _crc8_table()


def _crc8(data: np.ndarray) -> np.ndarray:
    crc = np.full(len(data), 0xFF, np.uint8)
    for j in range(data.shape[1]):
        crc = _CRC8[crc ^ data[:, j]]
    return crc ^ np.uint8(0xFF)


CHECKSUMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "xor8": lambda d: np.bitwise_xor.reduce(d, axis=1).astype(np.uint8),
    "sum8": lambda d: (d.sum(axis=1, dtype=np.uint32) & 0xFF).astype(np.uint8),
    "crc8_sae_j1850": _crc8,
}


def checksum(data: np.ndarray, byte: int, algorithm: str) -> np.ndarray:
    """The checksum over every payload byte except ``byte`` (the checksum's own), in byte order."""
    keep = [j for j in range(data.shape[1]) if j != byte]
    return CHECKSUMS[algorithm](np.ascontiguousarray(data[:, keep]))


@dataclass(frozen=True, slots=True)
class MessagePlan:
    bus: int
    message: object                 # cantools Message
    cycle_s: float
    phase_s: float
    sources: dict                   # signal name -> ("channel", name, unit) | ("extra", name) | ("counter", mod)
                                    # | ("mux", ids) | ("filler", period_s, phase)
    counter: str | None = None
    checksum: str | None = None
    checksum_algorithm: str | None = None
    channels: tuple[str, ...] = ()  # canonical channels carried

    @property
    def name(self) -> str:
        return self.message.name

    @property
    def key(self) -> str:
        return f"{self.bus}:{self.message.name}"


def plan_messages(profile: CarProfile, extras: set[str], *, message_set: str = "all",
                  torque_sensors: bool = True) -> list[MessagePlan]:
    """What the car sends: every message of its DBCs (``all``) or only those a BoP check reads (``logged``)."""
    by_signal = {(ref.bus, ref.message, ref.signal): (channel, ref.unit) for channel, ref in profile.channels.items()}
    integrity = {entry["message"]: entry for entry in profile.integrity}
    plans = []
    for bus, db in profile.databases:
        for message in db.messages:
            if not torque_sensors and message.name == "LOG_Driveshaft":
                continue
            carried = tuple(by_signal[(bus, message.name, s.name)][0] for s in message.signals
                            if (bus, message.name, s.name) in by_signal)
            wanted = (carried or message.name in integrity or message.is_multiplexed()
                      or message.name in ("LOG_Ambient", "LOG_Beacon"))
            if message_set == "logged" and not wanted:
                continue
            entry = integrity.get(message.name, {})
            sources = {}
            for s in message.signals:
                key = (bus, message.name, s.name)
                crc32 = zlib.crc32(f"{message.name}.{s.name}".encode())
                if key in by_signal:
                    sources[s.name] = ("channel",) + by_signal[key]
                elif s.is_multiplexer:
                    ids = sorted({i for x in message.signals for i in (x.multiplexer_ids or [])})
                    sources[s.name] = ("mux", tuple(ids))
                elif s.name == entry.get("counter"):
                    sources[s.name] = ("counter", int(entry.get("counter_modulo", 2 ** s.length)))
                elif s.name == entry.get("checksum"):
                    sources[s.name] = ("zero",)
                elif s.name in extras:
                    sources[s.name] = ("extra", s.name)
                else:
                    sources[s.name] = ("filler", 20.0 + crc32 % 97, (crc32 % 628) / 100.0)
            cycle = (message.cycle_time or 100) / 1000.0
            phase = 0.0 if not plans else (zlib.crc32(message.name.encode()) % 1000) / 1000.0 * cycle
            plans.append(MessagePlan(bus, message, cycle, round(phase, 6), sources, entry.get("counter"),
                                     entry.get("checksum"), entry.get("checksum_algorithm"), carried))
    return plans


def frame_times(plan: MessagePlan, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices and time stamps (s, rounded to 1 us) of the plan's frames in [t0, t1)."""
    k0 = max(0, int(np.ceil((t0 - plan.phase_s) / plan.cycle_s - 1e-9)))
    k1 = max(k0, int(np.ceil((t1 - plan.phase_s) / plan.cycle_s - 1e-9)))
    k = np.arange(k0, k1, dtype=np.int64)
    ident = plan.message.frame_id & 0xFFFF
    jitter = np.where(k == 0, 0, (k * 2654435761 + ident * 97) % 400) * 1e-7
    t = np.round(plan.phase_s + k * plan.cycle_s + jitter, 6)
    keep = (t >= t0) & (t < t1)
    return k[keep], t[keep]


def _at(values: np.ndarray, t: np.ndarray, discrete: bool) -> np.ndarray:
    pos = t / DT
    if discrete:
        return values[np.clip(np.floor(pos + 1e-9).astype(np.int64), 0, len(values) - 1)]
    i = np.clip(np.floor(pos).astype(np.int64), 0, len(values) - 2)
    w = np.clip(pos - i, 0.0, 1.0)
    return values[i] * (1 - w) + values[i + 1] * w


def sample_message(plan: MessagePlan, drive: Drive, k: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """Raw integer value (int64) of every signal of the message at frame indices ``k``, times ``t``."""
    raws: dict[str, np.ndarray] = {}
    mux_value = None
    for s in plan.message.signals:
        source = plan.sources[s.name]
        kind = source[0]
        if kind == "channel":
            channel, unit = source[1], source[2]
            phys = convert(_at(drive.channels[channel], t, channel in DISCRETE), CANONICAL_UNITS[channel],
                           unit, f"{plan.name}.{s.name}")
        elif kind == "extra":
            phys = _at(drive.extras[source[1]], t, source[1] in DISCRETE)
        elif kind == "mux":
            ids = np.asarray(source[1])
            mux_value = ids[k % len(ids)]
            raws[s.name] = mux_value.astype(np.int64)
            continue
        elif kind == "counter":
            raws[s.name] = k % source[1]
            continue
        elif kind == "zero":
            raws[s.name] = np.zeros(len(k), np.int64)
            continue
        else:
            lo = s.minimum if s.minimum is not None else 0.0
            hi = s.maximum if s.maximum is not None else lo + s.scale * (2 ** min(s.length, 16) - 1)
            phys = lo + (hi - lo) * (0.3 + 0.05 * np.sin(2 * np.pi * t / source[1] + source[2]))
        if s.minimum is not None or s.maximum is not None:
            phys = np.clip(phys, s.minimum if s.minimum is not None else -np.inf,
                           s.maximum if s.maximum is not None else np.inf)
        raw = np.round((phys - s.offset) / s.scale)
        lo_raw, hi_raw = (-(2 ** (s.length - 1)), 2 ** (s.length - 1) - 1) if s.is_signed else (0, 2 ** s.length - 1)
        raws[s.name] = np.clip(raw, lo_raw, hi_raw).astype(np.int64)
    return raws


def pack_message(plan: MessagePlan, raws: dict[str, np.ndarray], k: np.ndarray) -> np.ndarray:
    """Payload bytes (n, 8) of the frames, counters and checksums included."""
    n = len(k)
    word_le = np.zeros(n, np.uint64)
    word_be = np.zeros(n, np.uint64)
    mux_signal = next((s for s in plan.message.signals if s.is_multiplexer), None)
    for s in plan.message.signals:
        raw = raws[s.name].astype(np.uint64) & np.uint64((1 << s.length) - 1)
        if s.multiplexer_ids:
            raw = np.where(np.isin(raws[mux_signal.name], s.multiplexer_ids), raw, np.uint64(0))
        if s.byte_order == "little_endian":
            word_le |= raw << np.uint64(s.start)
        else:
            msb = (s.start // 8) * 8 + (7 - s.start % 8)
            word_be |= raw << np.uint64(63 - (msb + s.length - 1))
    data = word_le.view(np.uint8).reshape(n, 8) | word_be.astype(">u8").view(np.uint8).reshape(n, 8)
    data = data[:, : plan.message.length].copy()
    if plan.checksum:
        signal = plan.message.get_signal_by_name(plan.checksum)
        byte = signal.start // 8
        data[:, byte] = checksum(data, byte, plan.checksum_algorithm)
    return data


def encode_chunk(plans: list[MessagePlan], drive: Drive, t0: float, t1: float,
                 frame_filter: Callable | None = None) -> Frames:
    """All frames of all messages in [t0, t1), sorted by time (then bus, then id).

    ``frame_filter(plan, k, t, data) -> (k, t, data)`` lets injections drop or alter frames before merging.
    """
    parts = []
    for index, plan in enumerate(plans):
        k, t = frame_times(plan, t0, t1)
        if not len(k):
            continue
        data = pack_message(plan, sample_message(plan, drive, k, t), k)
        if frame_filter is not None:
            k, t, data = frame_filter(plan, k, t, data)
        if len(k):
            parts.append((index, t, data))
    if not parts:
        return Frames(np.empty(0), np.empty(0, np.uint8), np.empty(0, np.uint32), np.empty(0, np.uint8),
                      np.empty(0, np.uint8), np.empty((0, 8), np.uint8))
    t = np.concatenate([p[1] for p in parts])
    index = np.concatenate([np.full(len(p[1]), p[0], np.int32) for p in parts])
    width = max(p[2].shape[1] for p in parts)
    data = np.zeros((len(t), width), np.uint8)
    row = 0
    for p in parts:
        data[row:row + len(p[1]), : p[2].shape[1]] = p[2]
        row += len(p[1])
    bus = np.array([p.bus for p in plans], np.uint8)[index]
    ident = np.array([p.message.frame_id for p in plans], np.uint32)[index]
    ext = np.array([FLAG_EXTENDED if p.message.is_extended_frame else 0 for p in plans], np.uint8)[index]
    length = np.array([p.message.length for p in plans], np.uint8)[index]
    order = np.lexsort((ident, bus, t))
    return Frames(t[order], bus[order], ident[order], ext[order], length[order], data[order])
