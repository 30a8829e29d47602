"""Simulated car models: engine, gearbox, aerodynamics, and the profile (SPEC §2) whose DBCs their logs use.

The profile TOML is read here with ``tomllib`` and cantools directly (not through :mod:`telemetry.profiles`),
so the simulator stays an independent witness of what the decoder must find.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import cantools
import numpy as np

from ..errors import ProfileError

__all__ = ["CarModel", "CARS", "CarProfile", "SignalRef", "load_car_profile", "car_model"]

DBC_DIR = Path(__file__).resolve().parent.parent.parent / "dbc"


@dataclass(frozen=True, slots=True)
class CarModel:
    model: str                    # the id bulletins and profiles use
    name: str
    car_class: str                # "GT3" or "GT4"
    engine: str                   # "turbo" or "na"
    torque_rpm: tuple[float, ...]
    torque_nm: tuple[float, ...]  # full-load engine torque (before BoP calibration)
    idle_rpm: float
    shift_rpm: float              # upshift point
    gear_ratios: tuple[float, ...]
    final_drive: float
    mass_kg: float                # with driver and fuel
    cda_m2: float
    bsfc_kg_kwh: float            # brake-specific fuel consumption at full load
    driveline_efficiency: float = 0.90
    torque_sensors: bool = True   # drive-shaft torque sensors fitted (GT3 with the SRO kit)
    nominal_boost_bar: float = 2.75   # manifold pressure the turbo engine makes without a BoP limit

    def full_load_torque(self, rpm: np.ndarray) -> np.ndarray:
        return np.interp(rpm, self.torque_rpm, self.torque_nm)

    @property
    def peak_power_kw(self) -> float:
        rpm = np.linspace(self.torque_rpm[0], self.torque_rpm[-1], 200)
        return float(np.max(self.full_load_torque(rpm) * rpm * np.pi / 30.0) / 1000.0)


CARS: dict[str, CarModel] = {c.model: c for c in [
    CarModel("bmw_m4_gt3", "BMW M4 GT3", "GT3", "turbo",
             (2000, 3000, 4000, 5000, 6000, 7000, 7500), (420, 560, 650, 650, 610, 545, 480),
             2000, 7100, (3.20, 2.35, 1.85, 1.50, 1.26, 1.08), 3.10, 1450, 1.40, 0.265),
    CarModel("ferrari_296_gt3", "Ferrari 296 GT3", "GT3", "turbo",
             (2500, 3500, 4500, 5500, 6500, 7500, 8000), (400, 560, 640, 640, 590, 520, 470),
             2200, 7900, (3.10, 2.28, 1.80, 1.47, 1.23, 1.05), 3.20, 1440, 1.38, 0.262,
             nominal_boost_bar=2.55),
    CarModel("porsche_911_gt3_r", "Porsche 911 GT3 R (992)", "GT3", "na",
             (3000, 4500, 6000, 7000, 8000, 9000, 9500), (380, 440, 475, 480, 470, 440, 410),
             2500, 9300, (3.30, 2.45, 1.95, 1.62, 1.38, 1.20), 3.55, 1430, 1.36, 0.285),
    CarModel("lamborghini_huracan_gt3_evo2", "Lamborghini Huracan GT3 EVO2", "GT3", "na",
             (3000, 4500, 6000, 7000, 8000, 8500), (420, 500, 545, 545, 520, 495),
             2300, 8400, (3.20, 2.35, 1.85, 1.52, 1.28, 1.10), 3.40, 1460, 1.42, 0.290),
    CarModel("mercedes_amg_gt4", "Mercedes-AMG GT4", "GT4", "turbo",
             (1800, 3000, 4000, 5000, 6000, 6800), (420, 560, 560, 560, 520, 470),
             1800, 6700, (3.36, 2.31, 1.72, 1.39, 1.15, 1.00), 3.38, 1530, 1.10, 0.280,
             torque_sensors=False, nominal_boost_bar=2.10),
]}


def car_model(model: str) -> CarModel:
    try:
        return CARS[model]
    except KeyError:
        raise ProfileError(f"no simulated car model {model!r}", place="model",
                           fix=f"use one of {', '.join(sorted(CARS))}") from None


@dataclass(frozen=True, slots=True)
class SignalRef:
    bus: int
    message: str
    signal: str
    unit: str             # the unit the signal is written in (profile override, else the DBC's)


@dataclass(frozen=True, slots=True)
class CarProfile:
    model: str
    name: str
    path: Path
    databases: tuple[tuple[int, cantools.database.Database], ...]   # (bus, database)
    channels: dict[str, SignalRef] = field(default_factory=dict)
    integrity: tuple[dict, ...] = ()
    power_source: str | None = None
    wheel_radius_m: float = 0.34


def _resolve(path: Path, databases, channel: str, name: str, unit: str | None) -> SignalRef:
    hits = []
    for bus, db in databases:
        for message in db.messages:
            for signal in message.signals:
                if name in (f"{message.name}.{signal.name}", signal.name):
                    hits.append(SignalRef(bus, message.name, signal.name, unit or signal.unit or ""))
    if len(hits) != 1:
        raise ProfileError(f"channel {channel} names {name!r}, found {len(hits)} times in the DBCs",
                           path=path, place=f"channels.{channel}", fix="name one signal as Message.Signal")
    return hits[0]


def load_car_profile(path: str | Path) -> CarProfile:
    """Read a SPEC §2 profile and its DBCs; each DBC needs an explicit ``channel`` for simulation."""
    path = Path(path)
    data = tomllib.loads(path.read_text())
    databases = []
    for i, entry in enumerate(data.get("dbc", [])):
        if "channel" not in entry:
            raise ProfileError("the simulator needs a bus per DBC", path=path, place=f"dbc[{i}]",
                               fix="add channel = 0 or 1")
        databases.append((int(entry["channel"]), cantools.database.load_file(path.parent / entry["file"])))
    channels = {}
    for channel, rhs in data.get("channels", {}).items():
        name, unit = (rhs, None) if isinstance(rhs, str) else (rhs["signal"], rhs.get("unit"))
        channels[channel] = _resolve(path, databases, channel, name, unit)
    power = data.get("power", {})
    return CarProfile(data["model"], data.get("name", data["model"]), path, tuple(databases), channels,
                      tuple(data.get("integrity", [])), power.get("source"),
                      float(power.get("wheel_radius_m", 0.34)))
