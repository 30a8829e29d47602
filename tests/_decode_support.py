"""Helpers for the decoding tests: python-can messages -> ``Frames``, cantools' reference decode, and a small
synthetic car whose physical values are known functions of time (encoded with cantools, written with python-can).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from telemetry.frames import FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Frames
from telemetry.integrity import checksum

DATA = Path(__file__).resolve().parent / "data" / "decode"


def frames_from_messages(messages: Iterable, bus_of=None) -> Frames:
    """python-can ``Message`` objects -> ``Frames`` (payload width 64 when any frame needs it)."""
    msgs = list(messages)
    buses: dict = {}
    n = len(msgs)
    width = max([8] + [len(m.data) for m in msgs])
    width = 8 if width <= 8 else 64
    data = np.zeros((n, width), np.uint8)
    ts = np.empty(n)
    bus = np.empty(n, np.uint8)
    ids = np.empty(n, np.uint32)
    flags = np.zeros(n, np.uint8)
    length = np.empty(n, np.uint8)
    for i, m in enumerate(msgs):
        ts[i] = m.timestamp
        key = m.channel
        bus[i] = bus_of(key) if bus_of else buses.setdefault(key, len(buses))
        ids[i] = m.arbitration_id
        flags[i] = ((FLAG_EXTENDED if m.is_extended_id else 0) | (FLAG_REMOTE if m.is_remote_frame else 0)
                    | (FLAG_ERROR if m.is_error_frame else 0) | (FLAG_FD if m.is_fd else 0))
        length[i] = len(m.data)
        data[i, :len(m.data)] = np.frombuffer(bytes(m.data), np.uint8)
    return Frames(ts - ts.min() if n else ts, bus, ids, flags, length, data)


def reference(databases, frames: Frames) -> dict[tuple[int, str], float]:
    """cantools' ``decode_message(..., decode_choices=False)`` of every frame: {(row, signal): float}.

    ``databases`` are tried in order (the first that knows the id decodes it), as a profile's DBCs are.
    Frames cantools refuses (short, unknown multiplexer value...) contribute nothing.
    """
    out: dict[tuple[int, str], float] = {}
    for i in range(len(frames)):
        if frames.flags[i] & (FLAG_ERROR | FLAG_REMOTE):
            continue
        ext = bool(frames.flags[i] & FLAG_EXTENDED)
        payload = bytes(frames.data[i, :frames.length[i]])
        for db in databases:
            try:
                result = db.decode_message(int(frames.arbitration_id[i]), payload, decode_choices=False,
                                           force_extended_id=ext)
            except KeyError:
                continue
            except Exception:
                break
            if ext != db.get_message_by_frame_id(int(frames.arbitration_id[i]), force_extended_id=ext) \
                    .is_extended_frame:
                break
            for name, value in result.items():
                out[(i, name)] = float(value)
            break
    return out


def ours(decoded) -> dict[tuple[int, str], float]:
    """Our decode in the same shape: {(row, signal): value}; rows come from ``DecodedMessage.rows``."""
    out: dict[tuple[int, str], float] = {}
    for msg in decoded.messages.values():
        for sig in msg.signals.values():
            # signals of multiplexed groups cover a subset of the message's rows: match them by time stamp
            for r, v in zip(_rows_by_time(msg, sig).tolist(), sig.value.tolist(), strict=True):
                out[(r, sig.name)] = v
    return out


def _rows_by_time(msg, sig) -> np.ndarray:
    lookup: dict[float, list[int]] = {}
    for t, r in zip(msg.time.tolist(), msg.rows.tolist(), strict=True):
        lookup.setdefault(t, []).append(r)
    used: dict[float, int] = {}
    out = []
    for t in sig.time.tolist():
        k = used.get(t, 0)
        out.append(lookup[t][k])
        used[t] = k + 1
    return np.array(out, np.int64)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# --------------------------------------------------------------------------------------------- synthetic car

def truth(signal: str, t: np.ndarray) -> np.ndarray:
    """The physical value the synthetic car sends for ``signal`` at ``t`` (in the DBC's unit)."""
    table = {
        "MAP": 180.0 + 60.0 * np.sin(t), "Ambient": 1005.0 + 0.0 * t, "FuelMass": 20.0 + 5.0 * np.sin(t),
        "FuelFlow": 80.0 + 0.0 * t, "FuelTemp": 30.0 + 0.0 * t,
        "TorqueLeft": 400.0 + 100.0 * np.sin(t), "TorqueRight": 380.0 + 100.0 * np.sin(t),
        "EngineSpeed": np.round(6000.0 + 1000.0 * np.sin(t)), "Throttle": 80.0 + 0.0 * t, "Gear": 3.0 + 0.0 * t,
        "EngineTorque": 500.0 + 0.0 * t, "Lambda": 0.9 + 0.0 * t,
        "WheelSpeedFL": 150.0 + 0.0 * t, "WheelSpeedFR": 151.0 + 0.0 * t,
        "WheelSpeedRL": 152.0 + 10.0 * np.sin(t), "WheelSpeedRR": 153.0 + 10.0 * np.sin(t),
        "VehicleSpeed": 42.0 + 0.0 * t, "Refuel": 0.0 * t, "OilPressure": 60.0 + 0.0 * t,
        "BatteryVoltage": 13.5 + 0.0 * t, "LoggerState": 1.0 + 0.0 * t, "SessionTime": t.copy(),
        "Boost2": 7.0 + 0.0 * t,
    }
    return table[signal]


def synthetic_rows(db, duration_s: float, *, t0: float = 0.0, skip_counter_at: float | None = None,
                   corrupt_crc_at: float | None = None) -> list[tuple[float, object, bytes]]:
    """(time, message, payload) rows of the test car for ``duration_s`` seconds, in time order.

    TST_Pressures carries a rolling counter and a CRC-8 (SAE J1850); ``skip_counter_at`` drops one frame there
    and ``corrupt_crc_at`` flips a bit of the checksum of the frame there.
    """
    rows: list[tuple[float, object, bytes]] = []
    for m in db.messages:
        cycle = (m.cycle_time or 100) / 1000.0
        times = t0 + np.arange(0.0, duration_s, cycle) + 0.0001 * (m.frame_id % 7)
        counter = 0
        for k, t in enumerate(times):
            values = {}
            for s in m.signals:
                if s.is_multiplexer:
                    values[s.name] = k % 2
                elif s.name.endswith("_Counter"):
                    values[s.name] = counter
                elif s.name.endswith("_CRC"):
                    values[s.name] = 0
                else:
                    values[s.name] = float(truth(s.name, np.array([t - t0]))[0])
            counter = (counter + 1) % 16
            if m.is_multiplexed():
                mux = k % 2
                keep = {s.name for s in m.signals if s.multiplexer_ids is None or mux in s.multiplexer_ids}
                values = {n: v for n, v in values.items() if n in keep}
            payload = bytearray(m.encode(values, strict=False))
            crc = [s for s in m.signals if s.name.endswith("_CRC")]
            if crc:
                byte = crc[0].start // 8
                others = np.frombuffer(bytes(payload[:byte] + payload[byte + 1:]), np.uint8)[None, :]
                payload[byte] = int(checksum(others, "crc8_sae_j1850")[0])
                if corrupt_crc_at is not None and abs(t - corrupt_crc_at) < cycle / 2:
                    payload[byte] ^= 0x01
            if skip_counter_at is not None and crc and abs(t - skip_counter_at) < cycle / 2:
                continue
            rows.append((float(t), m, bytes(payload)))
    rows.sort(key=lambda r: r[0])
    return rows


def write_candump(path: Path, rows, *, start: datetime | None = datetime(2025, 6, 28, 16, 30, tzinfo=UTC),
                  channel: str = "can0") -> Path:
    """Write rows as a candump -L log (absolute stamps from ``start``)."""
    base = start.timestamp() if start is not None else 0.0
    with open(path, "w") as f:
        for t, m, payload in rows:
            ident = f"{m.frame_id:08X}" if m.is_extended_frame else f"{m.frame_id:03X}"
            f.write(f"({base + t:.6f}) {channel} {ident}#{payload.hex().upper()}\n")
    return path


def write_blf(path: Path, rows, *, start: datetime = datetime(2025, 6, 28, 16, 30, tzinfo=UTC),
              channel: int = 0) -> Path:
    import can

    base = start.timestamp()
    with can.BLFWriter(str(path)) as writer:
        for t, m, payload in rows:
            writer.on_message_received(can.Message(timestamp=base + t, arbitration_id=m.frame_id,
                                                   is_extended_id=m.is_extended_frame, data=payload,
                                                   channel=channel))
    return path
