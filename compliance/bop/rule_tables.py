"""One rule table of a bulletin (``[models.M.<rule>]``, ``[models.M.limit.<name>]``) validated into a ``RuleSpec``.

The kinds (``compliance.bop.kinds``) say which limit and key names each rule takes; the keys every rule takes are
SPEC §3's (``tolerance``, ``min_duration_s``, ``max_exceedances``, ``interpolation``) and §5's (``when``,
``count_per``, ``window_s``, ``max_time_over_s``). Every error names the file, the key and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path

from telemetry.channels import CANONICAL

from ..errors import BulletinError
from .kinds import COMMON_KEYS, GENERIC, KINDS
from .spec import OPERATORS, Condition, DeclaredPower, RuleSpec

__all__ = ["parse_rule", "parse_declared_power", "number", "numbers", "fail"]

_INTERPOLATIONS = ("linear", "step")
_SCOPES = ("session", "lap", "window")
_GENERIC_KEYS = frozenset({"channel", "key", "points", "max", "min", "unit"})
_CONDITION = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def fail(path: Path, place: str, problem: str, fix: str) -> BulletinError:
    return BulletinError(problem, path=path, place=place, fix=fix)


def number(raw: object, path: Path, place: str, *, minimum: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise fail(path, place, f"{raw!r} is not a number", "write a plain number")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise fail(path, place, f"{raw!r} is not a finite number", "write a plain number")
    if minimum is not None and value < minimum:
        raise fail(path, place, f"{value:g} is below {minimum:g}", f"use a value >= {minimum:g}")
    return value


def numbers(raw: object, path: Path, place: str) -> tuple[float, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail(path, place, f"{raw!r} is not a non-empty list of numbers", "write e.g. [4000, 5000, 6000]")
    return tuple(number(v, path, f"{place}[{i}]") for i, v in enumerate(raw))


def _increasing(points: tuple[float, ...], path: Path, place: str) -> None:
    for i in range(1, len(points)):
        if points[i] <= points[i - 1]:
            raise fail(path, f"{place}[{i}]", f"{points[i]:g} does not increase after {points[i - 1]:g}",
                       "list the points in strictly increasing order")


def _canonical(name: object, path: Path, place: str) -> str:
    if not isinstance(name, str) or name not in CANONICAL:
        raise fail(path, place, f"{name!r} is not a canonical channel",
                   f"use one of {', '.join(sorted(CANONICAL))} (SPEC §1)")
    return name


def parse_declared_power(raw: object, path: Path, place: str) -> DeclaredPower:
    if not isinstance(raw, dict) or set(raw) != {"rpm", "kw"}:
        raise fail(path, place, "is not a table of rpm and kw", "write declared_power = { rpm = [...], kw = [...] }")
    rpm = numbers(raw["rpm"], path, f"{place}.rpm")
    kw = numbers(raw["kw"], path, f"{place}.kw")
    if len(rpm) != len(kw):
        raise fail(path, place, f"rpm has {len(rpm)} values but kw has {len(kw)}", "give one kw per rpm point")
    _increasing(rpm, path, f"{place}.rpm")
    return DeclaredPower(rpm, kw)


def _conditions(raw: object, path: Path, place: str) -> tuple[Condition, ...]:
    if not isinstance(raw, dict) or not raw:
        raise fail(path, place, f"{raw!r} is not a table of conditions",
                   'write e.g. when = { throttle = ">= 30", engine_speed = "> 3000" }')
    out = []
    for channel, text in sorted(raw.items()):
        _canonical(channel, path, f"{place}.{channel}")
        m = _CONDITION.match(text) if isinstance(text, str) else None
        if m is None:
            raise fail(path, f"{place}.{channel}", f"{text!r} is not '<op> <number>'",
                       f'write e.g. "{channel} = \\">= 30\\"" with op one of {", ".join(OPERATORS)}')
        out.append(Condition(channel, m.group(1), float(m.group(2))))
    return tuple(out)


def _scope(raw: dict, path: Path, place: str) -> dict:
    count_per = raw.get("count_per", "session")
    if count_per not in _SCOPES:
        raise fail(path, f"{place}.count_per", f"unknown scope {count_per!r}", 'use "session", "lap" or "window"')
    window = raw.get("window_s")
    if count_per == "window" and window is None:
        raise fail(path, f"{place}.window_s", 'missing for count_per = "window"',
                   "give the window length in seconds, e.g. window_s = 600")
    if count_per != "window" and window is not None:
        raise fail(path, f"{place}.window_s", f'is only read with count_per = "window" (here {count_per!r})',
                   'remove window_s or set count_per = "window"')
    time_over = raw.get("max_time_over_s")
    return {"count_per": count_per,
            "window_s": None if window is None else number(window, path, f"{place}.window_s", minimum=1e-3),
            "max_time_over_s": None if time_over is None else number(time_over, path, f"{place}.max_time_over_s",
                                                                     minimum=0.0),
            "scoped": "count_per" in raw or time_over is not None}


def _unit_factor(unit: object, canonical: str, path: Path, place: str) -> tuple[float, float]:
    """(scale, offset) from the bulletin's unit to the canonical one (1, 0 when they agree)."""
    if unit is None or unit == canonical:
        return 1.0, 0.0
    if not isinstance(unit, str):
        raise fail(path, place, f"{unit!r} is not a unit", f'write it as a string, e.g. unit = "{canonical}"')
    import numpy as np

    from telemetry.errors import UnitError
    from telemetry.units import convert
    try:
        zero, one = convert(np.array([0.0, 1.0]), unit, canonical)
    except (UnitError, ValueError) as err:
        raise fail(path, place, f"{unit!r} does not convert to the channel's unit {canonical!r}: {err}",
                   f'write the limit in {canonical!r} or a unit convertible to it') from None
    return float(one - zero), float(zero)


def parse_rule(rule: str, raw: object, path: Path, model: str, *, declared: DeclaredPower | None,
               prefix: str = "models") -> RuleSpec:
    """``[<prefix>.<model>.<rule>]`` as a RuleSpec (``rule`` a kind name or ``limit.<name>``)."""
    place = f"{prefix}.{model}.{rule}"
    if not isinstance(raw, dict):
        raise fail(path, place, "is not a table", f"write [{place}] with its keys")
    generic = rule.startswith(GENERIC + ".")
    kind = KINDS.get(rule)
    allowed = COMMON_KEYS | (_GENERIC_KEYS if generic else set(kind.limits) | set(kind.keys) | kind.extra)
    unknown = sorted(set(raw) - allowed)
    other_limits = [k for k in unknown if any(k in other.limits for other in KINDS.values())]
    if other_limits and kind is not None:
        names = " or ".join(kind.limits)
        raise fail(path, f"{place}.{other_limits[0]}", f"the {rule} limit is written {names}",
                   f"rename it to {next(iter(kind.limits))}")
    other_keys = [k for k in unknown if any(k in other.keys for other in KINDS.values())]
    if other_keys and kind is not None:
        keys = " or ".join(kind.keys) or "nothing (a flat limit)"
        raise fail(path, f"{place}.{other_keys[0]}", f"{rule} cannot be keyed on {other_keys[0]}", f"key it on {keys}")
    if unknown:
        raise fail(path, f"{place}.{unknown[0]}", "unknown key", f"use only {', '.join(sorted(allowed - {'notes'}))}")
    if kind is not None and kind.path == "stint_energy" and "when" in raw:
        raise fail(path, f"{place}.when", "stint energy is a budget per stint, not a limit per sample: it "
                   "cannot be gated", "remove when (gate the power rule instead)")
    interpolation = raw.get("interpolation")
    if interpolation is not None and interpolation not in _INTERPOLATIONS:
        raise fail(path, f"{place}.interpolation", f"unknown interpolation {interpolation!r}",
                   'use "linear" or "step"')
    max_exceedances = raw.get("max_exceedances", 0)
    if isinstance(max_exceedances, bool) or not isinstance(max_exceedances, int) or max_exceedances < 0:
        raise fail(path, f"{place}.max_exceedances", f"{max_exceedances!r} is not a count",
                   "write a whole number >= 0")
    common = dict(
        tolerance=number(raw.get("tolerance", 0.0), path, f"{place}.tolerance", minimum=0.0),
        min_duration_s=number(raw.get("min_duration_s", 0.0), path, f"{place}.min_duration_s", minimum=0.0),
        max_exceedances=max_exceedances, kind=GENERIC if generic else rule,
        when=_conditions(raw["when"], path, f"{place}.when") if "when" in raw else (),
        **_scope(raw, path, place))
    if generic:
        return _generic(rule, raw, path, place, interpolation or "linear", common)
    if kind.path == "refuel_time":
        return _refuel(rule, raw, path, place, kind, common)
    return _limit(rule, raw, path, place, kind, interpolation, declared, common)


def _table(raw: dict, limit_name: str, key_name: str | None, path: Path, place: str
           ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if key_name is None:
        return (number(raw[limit_name], path, f"{place}.{limit_name}"),), ()
    points = numbers(raw[key_name], path, f"{place}.{key_name}")
    if not isinstance(raw[limit_name], list):
        raise fail(path, f"{place}.{limit_name}", f"is one number but {key_name} gives {len(points)} points",
                   f"give one {limit_name} per {key_name} point, or remove {key_name} for a flat limit")
    limits = numbers(raw[limit_name], path, f"{place}.{limit_name}")
    if len(points) != len(limits):
        raise fail(path, place, f"{key_name} has {len(points)} values but {limit_name} has {len(limits)}",
                   f"give one {limit_name} per {key_name} point")
    _increasing(points, path, f"{place}.{key_name}")
    return limits, points


def _limit(rule: str, raw: dict, path: Path, place: str, kind, interpolation: str | None,
           declared: DeclaredPower | None, common: dict) -> RuleSpec:
    given = [n for n in kind.limits if n in raw]
    names = " or ".join(kind.limits)
    if not given:
        raise fail(path, f"{place}.{next(iter(kind.limits))}", "missing", f"give the limit as {names}")
    if len(given) > 1:
        raise fail(path, f"{place}.{given[1]}", f"{given[0]} and {given[1]} are both given", f"keep one of {names}")
    limit_name = given[0]
    meaning = kind.limits[limit_name]
    keys = [k for k in kind.keys if k in raw]
    if len(keys) > 1:
        raise fail(path, place, f"has both {keys[0]} and {keys[1]}", "keep one of them")
    key_name = keys[0] if keys else None
    if meaning == "level":
        if declared is None:
            raise fail(path, f"{place}.level_pct", "level_pct needs the model's declared_power",
                       f"add declared_power = {{ rpm = [...], kw = [...] }} to [{place.rsplit('.', 1)[0]}]")
        if key_name == "rpm":
            raise fail(path, f"{place}.rpm", "level_pct is split by speed, not rpm",
                       "use speed_kmh = [...] for the split (the declared curve is already against rpm)")
    elif key_name is None and kind.key_required:
        raise fail(path, f"{place}.rpm", "missing", f"give the rpm points of the {limit_name} table")
    limits, points = _table(raw, limit_name, key_name, path, place)
    if meaning == "level":
        for v in limits:
            if not 0 < v <= 200:
                raise fail(path, f"{place}.level_pct", f"{v:g} is not a percentage of the declared power",
                           "write the level in % (e.g. 97.0)")
    ambient = raw.get("ambient_correction", False)
    if not isinstance(ambient, bool):
        raise fail(path, f"{place}.ambient_correction", f"{ambient!r} is not true or false", "write true or false")
    if ambient and meaning == "ratio":
        raise fail(path, f"{place}.ambient_correction", "does not apply to a max_ratio limit (the ratio is "
                   "already of the reference pressure)", "remove ambient_correction")
    replenish = raw.get("replenish_mj_s")
    return RuleSpec(
        rule=rule, channel=kind.channel, unit=kind.unit, limits=limits,
        key=kind.keys[key_name] if key_name else None, key_name=key_name, key_points=points,
        interpolation=interpolation or ("step" if meaning == "level" else "linear"),
        ambient_correction=ambient, ratio=meaning == "ratio", declared=declared if meaning == "level" else None,
        replenish_mj_s=None if replenish is None else number(replenish, path, f"{place}.replenish_mj_s",
                                                             minimum=0.0),
        limit_name=limit_name, **common)


def _refuel(rule: str, raw: dict, path: Path, place: str, kind, common: dict) -> RuleSpec:
    if "min_s" not in raw and "max_s" not in raw:
        raise fail(path, f"{place}.min_s", "missing", "give the minimum refuelling time as min_s (and/or max_s)")
    low = number(raw["min_s"], path, f"{place}.min_s", minimum=0.0) if "min_s" in raw else None
    high = number(raw["max_s"], path, f"{place}.max_s", minimum=0.0) if "max_s" in raw else None
    if low is not None and high is not None and high < low:
        raise fail(path, f"{place}.max_s", f"{high:g} is below min_s {low:g}", "give max_s >= min_s")
    return RuleSpec(rule=rule, channel=kind.channel, unit="s", limits=() if low is None else (low,),
                    direction="min" if low is not None else "max", upper=high,
                    limit_name="min_s" if low is not None else "max_s", **common)


def _generic(rule: str, raw: dict, path: Path, place: str, interpolation: str, common: dict) -> RuleSpec:
    if "channel" not in raw:
        raise fail(path, f"{place}.channel", "missing", 'name the canonical channel judged, e.g. channel = "throttle"')
    channel = _canonical(raw["channel"], path, f"{place}.channel")
    given = [n for n in ("max", "min") if n in raw]
    if len(given) != 1:
        raise fail(path, place, "needs one of max or min" if not given else "has both max and min",
                   "give max = ... (or min = ...): a number, or one value per point")
    key_name = None
    if "key" in raw:
        key_name = _canonical(raw["key"], path, f"{place}.key")
        if "points" not in raw:
            raise fail(path, f"{place}.points", f"missing for key = {key_name!r}", "give the key points of the table")
        tables = {"points": raw["points"], given[0]: raw[given[0]]}
        limits, points = _table(tables, given[0], "points", path, place)
    elif "points" in raw:
        raise fail(path, f"{place}.points", "points without a key", 'name the key channel, e.g. key = "engine_speed"')
    else:
        limits, points = _table(raw, given[0], None, path, place)
    canonical = CANONICAL[channel].unit
    scale, offset = _unit_factor(raw.get("unit"), canonical, path, f"{place}.unit")
    limits = tuple(v * scale + offset for v in limits)
    common["tolerance"] = common["tolerance"] * abs(scale)
    return RuleSpec(rule=rule, channel=channel, unit=canonical, limits=limits, key=key_name, key_name=key_name,
                    key_points=points, interpolation=interpolation, direction=given[0], limit_name=given[0],
                    **common)
