"""Writes small candump logs of the compliance test car (tests/data/compliance/test_car.dbc) from numpy
signals, with chosen boost and fuel-flow peaks and logging gaps, so the CLI tests judge real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

START_EPOCH = 1751128200          # 2025-06-28T16:30:00Z
BOOST_RPM = np.array([4000.0, 5000.0, 6000.0, 7000.0])
BOOST_BAR = np.array([2.64, 2.60, 2.50, 2.40])
AMBIENT_MBAR = 1005.0             # limits are corrected by -0.005 bar


def signals(duration_s: float = 120.0, *, boost_peaks=(), fuel_peaks=(), seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    t = np.round(np.arange(0.0, duration_s, 0.01), 6)
    rpm = np.round(5500 + 1500 * np.sin(2 * np.pi * t / 20.0))
    limit = np.interp(rpm, BOOST_RPM, BOOST_BAR) + (AMBIENT_MBAR / 1000 - 1.010)
    boost = limit - 0.15 + rng.normal(0, 0.01, len(t))
    for start, length, height in boost_peaks:
        on = (t >= start) & (t < start + length)
        boost[on] = limit[on] + height
    fuel = np.interp(rpm, [4000, 7000], [90.0, 110.0]) - 10 + rng.normal(0, 0.3, len(t))
    for start, length, height in fuel_peaks:
        on = (t >= start) & (t < start + length)
        fuel[on] = np.interp(rpm[on], [4000, 7000], [90.0, 110.0]) + height
    tc = np.round(np.arange(0.005, duration_s, 0.1), 6)
    return {"t": t, "rpm": rpm, "boost_bar": boost, "fuel": fuel, "tc": tc,
            "speed": 150 + 50 * np.sin(2 * np.pi * tc / 20.0), "lap": np.floor(tc / 40.0) + 1}


def _u16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 65535).astype("<u2").view(np.uint8).reshape(-1, 2)


def frames(sig: dict, *, gaps=()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, id, payload (n, 8)) of both messages, time-sorted; ENGINE frames inside ``gaps`` are dropped."""
    n = len(sig["t"])
    engine = np.zeros((n, 8), dtype=np.uint8)
    engine[:, 0:2] = _u16(sig["rpm"])
    engine[:, 2:4] = _u16(sig["boost_bar"] * 100 / 0.1)           # bar -> kPa, scale 0.1
    engine[:, 4:6] = _u16(sig["fuel"] / 0.01)
    keep = np.ones(n, dtype=bool)
    for a, b in gaps:
        keep &= ~((sig["t"] >= a) & (sig["t"] < b))
    m = len(sig["tc"])
    chassis = np.zeros((m, 8), dtype=np.uint8)
    chassis[:, 0:2] = _u16(np.full(m, AMBIENT_MBAR) / 0.1)
    chassis[:, 2:4] = _u16(sig["speed"] / 0.01)
    chassis[:, 4] = sig["lap"].astype(np.uint8)
    time = np.concatenate((sig["t"][keep], sig["tc"]))
    ids = np.concatenate((np.full(keep.sum(), 0x100), np.full(m, 0x200)))
    data = np.concatenate((engine[keep], chassis))
    order = np.argsort(time, kind="stable")
    return time[order], ids[order], data[order]


def write_candump(path: Path, time: np.ndarray, ids: np.ndarray, data: np.ndarray) -> Path:
    absolute = START_EPOCH + time
    lines = [f"({a:.6f}) can0 {i:03X}#{bytes(d).hex().upper()}\n"
             for a, i, d in zip(absolute.tolist(), ids.tolist(), data, strict=True)]
    path.write_text("".join(lines))
    return path


def write_log(path: Path, duration_s: float = 120.0, *, boost_peaks=(), fuel_peaks=(), gaps=(),
              seed: int = 1) -> Path:
    sig = signals(duration_s, boost_peaks=boost_peaks, fuel_peaks=fuel_peaks, seed=seed)
    return write_candump(path, *frames(sig, gaps=gaps))
