"""The value objects of a bulletin: one rule (``RuleSpec``), its gate conditions, a model's entry, a car's entry.

Every field has the default that means exactly SPEC §3, so a §3 bulletin loads to the same specs it always did;
the §5 fields (gating, direction, scope, ratio limits, declared power, replenishment, refuel bounds) are set
only by the keys that ask for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Condition", "DeclaredPower", "RuleSpec", "ModelBop", "OPERATORS"]

#: the operators a ``when`` condition may use
OPERATORS = (">=", "<=", ">", "<")


@dataclass(frozen=True, slots=True)
class Condition:
    """``channel op value``: a sample is judged only while it holds (the channel held at the sample's time)."""

    channel: str
    op: str
    value: float

    def text(self) -> str:
        return f"{self.channel} {self.op} {self.value:g}"


@dataclass(frozen=True, slots=True)
class DeclaredPower:
    """A model's homologated power curve (kW against engine rpm, linear between points, end values hold)."""

    rpm: tuple[float, ...]
    kw: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One limit of one model. ``key``/``key_points`` are empty for a flat limit (``limits`` has one value)."""

    rule: str                       # boost | fuel_flow | power | stint_energy | rev_limit | ... | limit.<name>
    channel: str                    # canonical channel limited (power for stint_energy, refuel for refuel_time)
    unit: str                       # unit of the limit, the tolerance and the exceedance values
    limits: tuple[float, ...]
    key: str | None = None          # canonical key channel: engine_speed, vehicle_speed, gear, ...
    key_name: str | None = None     # the key as the bulletin names it: rpm, speed_kmh, gear, or the channel
    key_points: tuple[float, ...] = ()
    interpolation: str = "linear"
    tolerance: float = 0.0
    min_duration_s: float = 0.0
    max_exceedances: int = 0
    ambient_correction: bool = False
    # -- SPEC §5 (defaults: §3) ------------------------------------------------------------------------------
    kind: str = ""                  # the rule kind (compliance.bop.kinds); "" means: the rule name
    direction: str = "max"          # "max": value above limit + tolerance; "min": below limit - tolerance
    when: tuple[Condition, ...] = ()
    count_per: str = "session"      # session | lap | window
    window_s: float | None = None
    max_time_over_s: float | None = None
    scoped: bool = False            # count_per or max_time_over_s written: the verdict says its scopes
    ratio: bool = False             # limits are ratios of the reference pressure (boost max_ratio)
    declared: DeclaredPower | None = None   # power level_pct: limit = declared(rpm) x level / 100
    replenish_mj_s: float | None = None     # stint energy restored at this rate while refuelling
    upper: float | None = None      # refuel_time max_s (limits holds min_s)
    limit_name: str = ""            # the TOML name of the limit (max_bar, max_ratio, level_pct, min, ...)

    @property
    def rule_kind(self) -> str:
        return self.kind or self.rule

    @property
    def needs(self) -> tuple[str, ...]:
        """Canonical channels this rule cannot be judged without (ambient pressure is optional)."""
        needed = [self.channel]
        if self.key:
            needed.append(self.key)
        if self.declared is not None:
            needed.append("engine_speed")
        if self.rule_kind == "stint_energy":
            needed.append("refuel")
        needed.extend(c.channel for c in self.when)
        return tuple(dict.fromkeys(needed))

    @property
    def v2(self) -> bool:
        """Uses a SPEC §5 key (the verdict then carries the §5 fields of this rule)."""
        return bool(self.scoped or self.when or self.ratio or self.declared or self.replenish_mj_s is not None
                    or self.direction != "max" or self.upper is not None
                    or self.rule_kind not in ("boost", "fuel_flow", "power", "stint_energy"))

    def describe_limit(self) -> str:
        what = "x reference pressure" if self.ratio else ("% of declared power" if self.declared else self.unit)
        if self.rule_kind == "refuel_time":
            bounds = [f">= {self.limits[0]:g} s"] if self.limits else []
            if self.upper is not None:
                bounds.append(f"<= {self.upper:g} s")
            return "refuelling " + " and ".join(bounds)
        sign = "min " if self.direction == "min" else ""
        if not self.key_points:
            return f"{sign}{self.limits[0]:g} {what}"
        pairs = ", ".join(f"{k:g}:{v:g}" for k, v in zip(self.key_points, self.limits, strict=True))
        return f"{sign}{self.key_name} -> {what} [{pairs}] ({self.interpolation})"

    def to_dict(self) -> dict:
        out: dict = {"rule": self.rule, "channel": self.channel, "unit": self.unit}
        if self.key:
            out["key"] = self.key_name
            out[self.key_name] = list(self.key_points)
            out["interpolation"] = self.interpolation
        out["limits"] = list(self.limits)
        out.update(tolerance=self.tolerance, min_duration_s=self.min_duration_s,
                   max_exceedances=self.max_exceedances, ambient_correction=self.ambient_correction)
        if self.v2:                         # §5 keys only where used: a §3 rule prints as it always did
            out["limit_name"] = self.limit_name
            out["direction"] = self.direction
            if self.upper is not None:
                out["max_s"] = self.upper
            if self.when:
                out["when"] = {c.channel: f"{c.op} {c.value:g}" for c in self.when}
            if self.scoped:
                out["count_per"] = self.count_per
                out["window_s"] = self.window_s
                out["max_time_over_s"] = self.max_time_over_s
            if self.declared is not None:
                out["declared_power"] = {"rpm": list(self.declared.rpm), "kw": list(self.declared.kw)}
            if self.replenish_mj_s is not None:
                out["replenish_mj_s"] = self.replenish_mj_s
        return out


@dataclass(frozen=True, slots=True)
class ModelBop:
    """One model's entry (or one car's, its model's with the car's overrides): rules in verdict order."""

    model: str
    name: str
    min_weight_kg: float | None
    rules: Mapping[str, RuleSpec]
    info: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    declared_power: DeclaredPower | None = None
    car: str | None = None          # the car number when this is a car entry
