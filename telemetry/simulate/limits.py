"""The BoP limits a simulated car is calibrated to (and injections exceed), read from a SPEC §3 bulletin, with the
SPEC §5 keys the simulator needs to calibrate cars and write ground truth: ``when`` gates, ``count_per`` scopes,
``max_time_over_s``, ``rev_limit`` (flat or per gear), ``throttle``, ``refuel_time``, ``declared_power`` with
``level_pct``, ``replenish_mj_s`` and ``[cars."N"]`` overrides.

This is a deliberately small, independent reading of the bulletin: the simulator must not borrow the compliance
engine's code, or a shared mistake would go unseen.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TelemetryError

__all__ = ["Table", "Rule", "Limits", "load_limits", "no_limits", "power_limit", "gate", "bulletin_weight"]

_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


@dataclass(frozen=True, slots=True)
class Table:
    """A limit against a key (rpm or km/h); outside the table the end value holds."""

    key: str                       # "rpm", "speed_kmh", "gear" or "" for a flat limit
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
    # SPEC §5
    when: tuple[tuple[str, str, float], ...] = ()   # (channel, op, number): judged only while all hold
    count_per: str = "session"                      # "session", "lap" or "window"
    window_s: float | None = None
    max_time_over_s: float | None = None
    declared: Table | None = None                   # power: the declared curve (kW against rpm) ...
    level: Table | None = None                      # ... and the share of it allowed (%, against km/h or flat)
    replenish_mj_s: float | None = None             # stint_energy: refuelling restores energy at this rate
    max_s: float | None = None                      # refuel_time: optional upper bound (limit holds min_s)

    @property
    def scoped(self) -> bool:
        """Whether the rule uses a §5 counting scope (its ground truth then names the worst scope)."""
        return self.count_per != "session" or self.max_time_over_s is not None


@dataclass(frozen=True, slots=True)
class Limits:
    bulletin_id: str
    model: str
    reference_ambient_bar: float
    rules: dict[str, Rule]

    def get(self, name: str) -> Rule | None:
        return self.rules.get(name)


def power_limit(rule: Rule, rpm: np.ndarray, speed_kmh: np.ndarray) -> np.ndarray:
    """The power limit (kW): a table on speed or rpm (SPEC §3), or declared(rpm) x level(speed) / 100 (§5)."""
    if rule.declared is not None:
        return rule.declared(rpm) * rule.level(speed_kmh) / 100.0
    return rule.limit(speed_kmh if rule.limit.key == "speed_kmh" else rpm)


def gate(rule: Rule, channels: dict[str, np.ndarray]) -> np.ndarray:
    """True where every ``when`` condition of the rule holds (everywhere without one)."""
    n = len(next(iter(channels.values())))
    ok = np.ones(n, bool)
    for channel, op, number in rule.when:
        ok &= _OPS[op](channels[channel], number)
    return ok


def no_limits(model: str) -> Limits:
    return Limits("", model, 1.010, {})


def _table(path: Path, place: str, section: dict, value_key: str, default: str = "linear") -> Table:
    interpolation = section.get("interpolation", default)
    for key in ("rpm", "speed_kmh", "gear"):
        if key in section:
            points, values = section[key], section[value_key]
            if len(points) != len(values) or not points:
                raise TelemetryError(f"{key} and {value_key} differ in length", path=path, place=place,
                                     fix="give one limit per table point")
            return Table(key, tuple(map(float, points)), tuple(map(float, values)), interpolation)
    if not isinstance(section.get(value_key), (int, float)):
        raise TelemetryError(f"no {value_key} table or value", path=path, place=place, fix="see SPEC §3")
    return Table("", (), (float(section[value_key]),))


def _when(path: Path, place: str, section: dict) -> tuple[tuple[str, str, float], ...]:
    out = []
    for channel, text in section.get("when", {}).items():
        op, _, number = str(text).strip().partition(" ")
        if op not in _OPS:
            raise TelemetryError(f"when.{channel}: {text!r} is not '<op> <number>'", path=path, place=place,
                                 fix='write e.g. throttle = ">= 30"')
        out.append((channel, op, float(number)))
    return tuple(out)


_RULES = (("boost", "max_bar", "bar"), ("fuel_flow", "max_kg_h", "kg/h"), ("power", "max_kw", "kW"),
          ("stint_energy", "max_mj", "MJ"), ("rev_limit", "max_rpm", "rpm"), ("throttle", "max_pct", "%"),
          ("refuel_time", "min_s", "s"))


def _rule(path: Path, place: str, name: str, value_key: str, unit: str, section: dict, entry: dict) -> Rule:
    declared = level = None
    if name == "power" and "level_pct" in section:
        curve = entry.get("declared_power")
        if not curve:
            raise TelemetryError("level_pct without declared_power", path=path, place=place,
                                 fix="give the model's declared_power = { rpm = [...], kw = [...] }")
        declared = _table(path, place, {"rpm": curve["rpm"], "kw": curve["kw"]}, "kw")
        level = _table(path, place, section, "level_pct", default="step")
        limit = level
    else:
        limit = _table(path, place, section, value_key, default="step" if "gear" in section else "linear")
    return Rule(name, limit, unit, float(section.get("tolerance", 0.0)), float(section.get("min_duration_s", 0.0)),
                int(section.get("max_exceedances", 0)), bool(section.get("ambient_correction", False)),
                _when(path, place, section), str(section.get("count_per", "session")),
                None if section.get("window_s") is None else float(section["window_s"]),
                None if section.get("max_time_over_s") is None else float(section["max_time_over_s"]),
                declared, level, None if section.get("replenish_mj_s") is None else float(section["replenish_mj_s"]),
                None if section.get("max_s") is None else float(section["max_s"]))


def load_limits(path: str | Path, model: str, car: str | None = None) -> Limits:
    """The rules for ``model`` in the bulletin at ``path`` (with the keys ``[cars."<car>"]`` overrides)."""
    path = Path(path)
    data = tomllib.loads(path.read_text())
    models = data.get("models", {})
    if model not in models:
        raise TelemetryError(f"model {model!r} is not in the bulletin", path=path, place="models",
                             fix="simulate a model the bulletin lists")
    entry = models[model]
    override = data.get("cars", {}).get(str(car), {}) if car is not None else {}
    if override and override.get("model") != model:
        raise TelemetryError(f"car {car} is a {override.get('model')!r} in the bulletin, not a {model!r}",
                             path=path, place=f"cars.{car}", fix="simulate the car's own model")
    rules: dict[str, Rule] = {}
    for name, value_key, unit in _RULES:
        section = entry.get(name)
        if section is None:
            continue
        section = {**section, **override.get(name, {})}
        rules[name] = _rule(path, f"models.{model}.{name}", name, value_key, unit, section, entry)
    return Limits(str(data.get("id", path.stem)), model, float(data.get("reference_ambient_pressure_bar", 1.010)),
                  rules)


def bulletin_weight(path: str | Path, model: str, car: str | None = None) -> dict[str, float]:
    """The weight a bulletin gives ``model`` (or car ``car``): ``min_weight_kg``, ``ballast_kg`` (from
    ``[models.M.info]``, a ``[cars."N".info]`` replacing it; 0 without) and their sum ``mass_kg``, the weight
    a BoP analysis uses for power-to-weight."""
    path = Path(path)
    data = tomllib.loads(path.read_text())
    entry = data.get("models", {}).get(model)
    if entry is None:
        raise TelemetryError(f"model {model!r} is not in the bulletin", path=path, place="models",
                             fix="simulate a model the bulletin lists")
    override = data.get("cars", {}).get(str(car), {}) if car is not None else {}
    weight = override.get("min_weight_kg", entry.get("min_weight_kg"))
    if not isinstance(weight, (int, float)):
        raise TelemetryError(f"model {model!r} has no min_weight_kg", path=path, place=f"models.{model}",
                             fix="give min_weight_kg, or the car's mass_kg in kg")
    info = {**entry.get("info", {}), **override.get("info", {})}
    ballast = info.get("ballast_kg", 0.0)
    if not isinstance(ballast, (int, float)):
        raise TelemetryError(f"ballast_kg {ballast!r} is not a number", path=path,
                             place=f"models.{model}.info.ballast_kg", fix="write the ballast in kg")
    return {"min_weight_kg": float(weight), "ballast_kg": float(ballast), "mass_kg": float(weight) + float(ballast)}
