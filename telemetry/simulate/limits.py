"""The BoP limits a simulated car is calibrated to (and injections exceed), read from a SPEC §3 bulletin.

This is a deliberately small, independent reading of the bulletin: the simulator must not borrow the compliance
engine's code, or a shared mistake would go unseen.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TelemetryError

__all__ = ["Table", "Rule", "Limits", "load_limits", "no_limits"]


@dataclass(frozen=True, slots=True)
class Table:
    """A limit against a key (rpm or km/h); outside the table the end value holds."""

    key: str                       # "rpm", "speed_kmh" or "" for a flat limit
    points: tuple[float, ...]
    values: tuple[float, ...]
    interpolation: str = "linear"  # or "step"

    def __call__(self, key: np.ndarray) -> np.ndarray:
        key = np.asarray(key, dtype=np.float64)
        if not self.key:
            return np.full(key.shape, self.values[0])
        if self.interpolation == "step":
            idx = np.searchsorted(np.asarray(self.points), key, side="right") - 1
            return np.asarray(self.values)[np.clip(idx, 0, len(self.values) - 1)]
        return np.interp(key, self.points, self.values)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str                     # boost, fuel_flow, power, stint_energy
    limit: Table
    unit: str
    tolerance: float = 0.0
    min_duration_s: float = 0.0
    max_exceedances: int = 0
    ambient_correction: bool = False


@dataclass(frozen=True, slots=True)
class Limits:
    bulletin_id: str
    model: str
    reference_ambient_bar: float
    rules: dict[str, Rule]

    def get(self, name: str) -> Rule | None:
        return self.rules.get(name)


def no_limits(model: str) -> Limits:
    return Limits("", model, 1.010, {})


def _table(path: Path, place: str, section: dict, value_key: str) -> Table:
    interpolation = section.get("interpolation", "linear")
    for key in ("rpm", "speed_kmh"):
        if key in section:
            points, values = section[key], section[value_key]
            if len(points) != len(values) or not points:
                raise TelemetryError(f"{key} and {value_key} differ in length", path=path, place=place,
                                     fix="give one limit per table point")
            return Table(key, tuple(map(float, points)), tuple(map(float, values)), interpolation)
    if not isinstance(section.get(value_key), (int, float)):
        raise TelemetryError(f"no {value_key} table or value", path=path, place=place, fix="see SPEC §3")
    return Table("", (), (float(section[value_key]),))


def load_limits(path: str | Path, model: str) -> Limits:
    """The rules for ``model`` in the bulletin at ``path``."""
    path = Path(path)
    data = tomllib.loads(path.read_text())
    models = data.get("models", {})
    if model not in models:
        raise TelemetryError(f"model {model!r} is not in the bulletin", path=path, place="models",
                             fix="simulate a model the bulletin lists")
    entry = models[model]
    rules: dict[str, Rule] = {}
    for name, value_key, unit in (("boost", "max_bar", "bar"), ("fuel_flow", "max_kg_h", "kg/h"),
                                  ("power", "max_kw", "kW"), ("stint_energy", "max_mj", "MJ")):
        section = entry.get(name)
        if section is None:
            continue
        place = f"models.{model}.{name}"
        rules[name] = Rule(name, _table(path, place, section, value_key), unit,
                           float(section.get("tolerance", 0.0)), float(section.get("min_duration_s", 0.0)),
                           int(section.get("max_exceedances", 0)), bool(section.get("ambient_correction", False)))
    return Limits(str(data.get("id", path.stem)), model, float(data.get("reference_ambient_pressure_bar", 1.010)),
                  rules)
