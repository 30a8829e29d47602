"""The registry of rule kinds: what each kind of bulletin rule limits, in which unit, keyed on what.

A rule is data: every limit kind (boost, fuel_flow, power, rev_limit, throttle and the generic ``limit.<name>``)
is judged by the one limit path of ``compliance.judge.limits``; only stint energy and refuelling time have paths
of their own (``judge.stint``, ``judge.refuel``). A new series needs a bulletin, and at most a row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["RuleKind", "KINDS", "RULE_NAMES", "GENERIC", "kind_of", "rule_order"]


@dataclass(frozen=True, slots=True)
class RuleKind:
    """One kind of rule. ``limits`` maps each TOML name of the limit to (its direction, what it means):
    ``max_bar`` a maximum in bar, ``max_ratio`` a maximum as a ratio of the reference pressure, ``min_s`` a
    minimum... ``keys`` maps the TOML name of a table key to the canonical channel it is read from."""

    name: str
    channel: str | None                          # canonical channel judged (None: the bulletin says, limit.*)
    unit: str
    limits: Mapping[str, str]                    # TOML limit name -> "max" | "min" | "ratio" | "level"
    keys: Mapping[str, str] = field(default_factory=dict)
    key_required: bool = False                   # a flat limit is not allowed (boost, fuel_flow tables)
    path: str = "limit"                          # "limit" | "stint_energy" | "refuel_time"
    extra: frozenset[str] = frozenset()          # keys only this kind takes


_COMMON = frozenset({"tolerance", "min_duration_s", "max_exceedances", "when", "count_per", "window_s",
                     "max_time_over_s", "interpolation", "notes"})

KINDS: Mapping[str, RuleKind] = MappingProxyType({k.name: k for k in [
    RuleKind("boost", "boost_pressure", "bar", {"max_bar": "max", "max_ratio": "ratio"},
             {"rpm": "engine_speed"}, key_required=True, extra=frozenset({"ambient_correction"})),
    RuleKind("fuel_flow", "fuel_flow", "kg/h", {"max_kg_h": "max"}, {"rpm": "engine_speed"}, key_required=True),
    RuleKind("power", "power", "kW", {"max_kw": "max", "level_pct": "level"},
             {"rpm": "engine_speed", "speed_kmh": "vehicle_speed"}),
    RuleKind("stint_energy", "power", "MJ", {"max_mj": "max"}, path="stint_energy",
             extra=frozenset({"replenish_mj_s"})),
    RuleKind("rev_limit", "engine_speed", "rpm", {"max_rpm": "max"}, {"gear": "gear"}),
    RuleKind("throttle", "throttle", "%", {"max_pct": "max"}),
    RuleKind("refuel_time", "refuel", "s", {"min_s": "min", "max_s": "max"}, path="refuel_time"),
]})

#: Rule names in the order verdicts list them (SPEC §4, §5); ``limit.<name>`` rules follow, by name.
RULE_NAMES = tuple(KINDS)
#: the generic kind: ``[models.M.limit.<name>]`` on any canonical channel, a flat or keyed max (or min)
GENERIC = "limit"
COMMON_KEYS = _COMMON


def kind_of(rule: str) -> str:
    """The kind of a rule name: ``boost`` -> ``boost``, ``limit.oil_temp`` -> ``limit``."""
    return GENERIC if rule.startswith(GENERIC + ".") else rule


def rule_order(rule: str) -> tuple[int, str]:
    """Sort key putting rules in verdict order: the named kinds as listed, then ``limit.*`` by name."""
    return (RULE_NAMES.index(rule), "") if rule in KINDS else (len(RULE_NAMES), rule)
