"""An independent witness for simulated logs: reads them with python-can or asammdf, decodes with cantools
frame by frame, and judges them against a bulletin with a few lines of numpy (not the compliance engine).

Other simulator tests import these helpers; the tests here prove the helpers themselves.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import can
import cantools
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
UNIT = {"kPa": 0.01, "mbar": 0.001, "bar": 1.0, "g/s": 3.6, "kg/h": 1.0, "m/s": 3.6, "mph": 1.609344,
        "km/h": 1.0, "1/min": 1.0, "rpm": 1.0, "Nm": 1.0, "%": 1.0, "": 1.0, "g": 1.0, "m/s^2": 1 / 9.80665}


@dataclass
class Frames:
    t: np.ndarray
    bus: np.ndarray
    ident: np.ndarray
    data: list


def read_frames(path: Path) -> Frames:
    """python-can for BLF/ASC/candump/TRC/CSV (``.gz`` too); asammdf's CAN_DataFrame for bus-logging MF4."""
    if path.suffix == ".mf4":
        from asammdf import MDF

        with MDF(path) as mdf:
            sig = mdf.get("CAN_DataFrame")
            s = sig.samples
            return Frames(np.asarray(sig.timestamps, float), s["CAN_DataFrame.BusChannel"].astype(int) - 1,
                          s["CAN_DataFrame.ID"].astype(np.int64),
                          [bytes(row[:n]) for row, n in zip(s["CAN_DataFrame.DataBytes"],
                                                            s["CAN_DataFrame.DataLength"], strict=True)])
    t, bus, ident, data = [], [], [], []
    with can.LogReader(str(path)) as reader:
        for msg in reader:
            t.append(msg.timestamp)
            bus.append(int(str(msg.channel).removeprefix("can")) if msg.channel is not None else 0)
            ident.append(msg.arbitration_id)
            data.append(bytes(msg.data))
    t = np.asarray(t)
    bus = np.asarray(bus)
    if ".trc" in path.suffixes:     # python-can keeps PEAK's 1-based bus numbers; BLF and ASC become 0-based
        bus = bus - 1
    return Frames(t - t[0] if len(t) else t, bus, np.asarray(ident, np.int64), data)


def load_profile(path: Path) -> tuple[dict, dict[int, cantools.database.Database]]:
    data = tomllib.loads(path.read_text())
    return data, {d["channel"]: cantools.database.load_file(path.parent / d["file"]) for d in data["dbc"]}


def _find(dbs, name: str):
    for bus, db in dbs.items():
        for m in db.messages:
            for s in m.signals:
                if name in (f"{m.name}.{s.name}", s.name):
                    return bus, m, s
    raise KeyError(name)


def decode(frames: Frames, profile: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Canonical channel -> (time, value in canonical units), decoded by cantools one frame at a time."""
    data, dbs = load_profile(profile)
    out = {}
    cache: dict[tuple[int, str], list] = {}
    for channel, rhs in data["channels"].items():
        name, unit = (rhs, None) if isinstance(rhs, str) else (rhs["signal"], rhs.get("unit"))
        bus, message, signal = _find(dbs, name)
        key = (bus, message.name)
        if key not in cache:
            sel = np.flatnonzero((frames.bus == bus) & (frames.ident == message.frame_id))
            cache[key] = [frames.t[sel], [message.decode(frames.data[i], decode_choices=False) for i in sel]]
        t, decoded = cache[key]
        factor = UNIT[unit or signal.unit or ""]
        out[channel] = (t, np.array([d[signal.name] for d in decoded], float) * factor)
    return out


def read_decoded_mdf(path: Path, profile: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from asammdf import MDF

    data, _ = load_profile(profile)
    out = {}
    with MDF(path) as mdf:
        for channel, rhs in data["channels"].items():
            name = rhs if isinstance(rhs, str) else rhs["signal"]
            if name.split(".")[-1] not in mdf.channels_db:     # a channel this logger did not record (no IMU)
                continue
            sig = mdf.get(name.split(".")[-1])
            out[channel] = (np.asarray(sig.timestamps, float), np.asarray(sig.samples, float) * UNIT[sig.unit])
    return out


def held(key_t: np.ndarray, key_v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The last key sample at or before each time (NaN before the first)."""
    i = np.searchsorted(key_t, t, side="right") - 1
    return np.where(i >= 0, key_v[np.clip(i, 0, None)], np.nan)


def table(section: dict, value_key: str, key: np.ndarray) -> np.ndarray:
    for name in ("rpm", "speed_kmh"):
        if name in section:
            points, values = np.asarray(section[name], float), np.asarray(section[value_key], float)
            if section.get("interpolation", "linear") == "step":
                return values[np.clip(np.searchsorted(points, key, side="right") - 1, 0, len(values) - 1)]
            return np.interp(key, points, values)
    return np.full(len(key), float(section[value_key]))


def runs_above(t: np.ndarray, excess: np.ndarray, min_duration: float) -> list[tuple[float, float, float]]:
    """(start, end, peak excess) of maximal runs with excess > 0 lasting at least ``min_duration``."""
    above = np.concatenate([[False], excess > 0, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if t[b - 1] - t[a] >= min_duration - 1e-9:
            out.append((float(t[a]), float(t[b - 1]), float(excess[a:b].max())))
    return out


def power(ch: dict, prof: dict) -> tuple[np.ndarray, np.ndarray]:
    if prof["power"]["source"] == "engine":
        t, torque = ch["engine_torque"]
        return t, torque * held(*ch["engine_speed"], t) * np.pi / 30 / 1000
    t, left = ch["driveshaft_torque_left"]
    right = held(*ch["driveshaft_torque_right"], t)
    wheel = 0.5 * (held(*ch["wheel_speed_rl"], t) + held(*ch["wheel_speed_rr"], t))
    return t, (left + right) * wheel / 3.6 / prof["power"]["wheel_radius_m"] / 1000


def judge(ch: dict, profile: Path, bulletin: Path, model: str) -> dict[str, list]:
    """Exceedances per rule (SPEC §3) of decoded canonical channels; stint_energy: stints over max_mj."""
    prof, _ = load_profile(profile)
    doc = tomllib.loads(bulletin.read_text())
    rules = doc["models"][model]
    out: dict[str, list] = {}
    if "boost" in rules:
        r = rules["boost"]
        t, v = ch["boost_pressure"]
        limit = table(r, "max_bar", held(*ch["engine_speed"], t))
        if r.get("ambient_correction") and "ambient_pressure" in ch:
            amb = held(*ch["ambient_pressure"], t)
            limit = limit + np.where(np.isnan(amb), ch["ambient_pressure"][1][0], amb) - doc[
                "reference_ambient_pressure_bar"]
        out["boost"] = runs_above(t, np.nan_to_num(v - limit - r.get("tolerance", 0), nan=-1), r.get(
            "min_duration_s", 0))
    if "fuel_flow" in rules:
        r = rules["fuel_flow"]
        t, v = ch["fuel_flow"]
        limit = table(r, "max_kg_h", held(*ch["engine_speed"], t))
        out["fuel_flow"] = runs_above(t, np.nan_to_num(v - limit - r.get("tolerance", 0), nan=-1),
                                      r.get("min_duration_s", 0))
    if "power" in rules or "stint_energy" in rules:
        t, p = power(ch, prof)
    if "power" in rules:
        r = rules["power"]
        key = held(*ch["vehicle_speed"], t) if "speed_kmh" in r else held(*ch["engine_speed"], t)
        limit = table(r, "max_kw", key)
        out["power"] = runs_above(t, np.nan_to_num(p - limit - r.get("tolerance", 0), nan=-1),
                                  r.get("min_duration_s", 0))
    if "stint_energy" in rules:
        refuel = np.nan_to_num(held(*ch["refuel"], t)) > 0.5
        pos = np.nan_to_num(np.maximum(p, 0.0))
        stint = np.cumsum(np.concatenate([[0], np.diff(refuel.astype(int)) == 1]))
        energies = []
        for k in np.unique(stint):
            sel = (stint == k) & ~refuel
            if sel.sum() > 1:
                energies.append(float(np.trapezoid(pos[sel], t[sel]) / 1000.0))
        out["stint_energy"] = [e for e in energies if e > rules["stint_energy"]["max_mj"]]
        out["stint_energies"] = energies
    return out


def test_runs_above_measures_duration_from_first_to_last_sample_above() -> None:
    t = np.arange(10) * 0.1
    excess = np.array([-1, 1, 2, 1, -1, 1, -1, -1, 3, 3], float)
    assert np.allclose(runs_above(t, excess, 0.0), [(0.1, 0.3, 2.0), (0.5, 0.5, 1.0), (0.8, 0.9, 3.0)])
    assert np.allclose(runs_above(t, excess, 0.15), [(0.1, 0.3, 2.0)])


def test_held_takes_the_last_sample_at_or_before() -> None:
    got = held(np.array([1.0, 2.0]), np.array([10.0, 20.0]), np.array([0.5, 1.0, 1.5, 2.5]))
    assert np.isnan(got[0]) and list(got[1:]) == [10.0, 10.0, 20.0]


def test_step_and_linear_tables_hold_end_values_outside() -> None:
    section = {"rpm": [4000, 6000], "max_bar": [2.6, 2.4]}
    assert list(table(section, "max_bar", np.array([3000, 5000, 7000]))) == [2.6, 2.5, 2.4]
    section["interpolation"] = "step"
    assert list(table(section, "max_bar", np.array([3000, 5000, 6000, 7000]))) == [2.6, 2.6, 2.4, 2.4]
