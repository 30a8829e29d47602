"""Rule evaluation: pure, vectorised functions from channels and a bulletin rule to exceedances (no I/O).

Semantics (SPEC §3, stated precisely here and in docs/compliance.md):

- The limit is evaluated at the time stamps of the limited channel. The key (rpm or speed) at a value's time
  stamp is the last key sample at or before it (``searchsorted(key.time, t, side="right") - 1``); values before
  the first key sample have no limit and are not judged.
- ``linear`` tables interpolate between points, ``step`` tables hold each point's value up to the next point;
  outside the table the end values hold.
- Ambient correction (boost, when ``ambient_correction`` is true and ``ambient_pressure`` is logged):
  ``limit + (ambient - reference_ambient_pressure_bar)``, ambient taken like the key (last known sample; the
  first sample is used before it arrives).
- An exceedance is a maximal run of consecutive samples with ``value > limit + tolerance``. Its ``start_s`` is
  the time of the first sample above, ``end_s`` the time of the last sample above, ``duration_s = end_s -
  start_s`` (so one isolated sample lasts 0 s); it counts when ``duration_s >= min_duration_s``. ``peak`` is the
  highest value in the run (the first sample if tied), ``limit`` the limit without tolerance at that sample,
  ``excess = peak - limit``.
- Stint energy: positive power integrated (trapezoid) over each stint, a stint being a maximal run of samples
  with the refuel sensor at 0; an exceedance is a stint whose energy exceeds ``max_mj + tolerance``, from the
  moment it crosses that to the end of the stint; ``peak`` is the stint's energy (``judge.stint``).

SPEC §5 on the same path: a ``when`` gate (``gate_mask``: conditions held like the key; a sample that fails one
is not judged and ends a run), ``min`` limits (runs below ``limit - tolerance``, ``excess = limit - peak``),
``max_ratio`` limits (ratio x the official ambient pressure, else the logged one), the official ambient in the
ambient correction, ``level_pct`` of the declared power curve. Every limit kind is judged by ``_evaluate_limit``;
``PATHS`` names the two kinds with a path of their own (stint energy, refuelling time: ``judge.refuel``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from telemetry.channels import Channel

from ..bop.kinds import KINDS
from ..bop.spec import RuleSpec
from .refuel import refuel_exceedances
from .samples import held_at, runs
from .stint import Stint, stint_energies, stint_exceedances
from .verdict import Exceedance

__all__ = ["AMBIENT_BAR_RANGE", "RuleEvaluation", "held_at", "limit_curve", "limit_series", "gate_mask", "find_exceedances",
           "stint_energies", "evaluate"]


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """What one rule found in one session: its exceedances and where the limit came from."""

    rule: str
    exceedances: tuple[Exceedance, ...]
    limit_source: str
    samples_judged: int
    problem: str | None = None          # why the rule could not be judged (it is then incomplete)
    stints: tuple[Stint, ...] = ()      # stint energy: each stint's budget and use


def limit_curve(spec: RuleSpec, key: np.ndarray | None, n: int | None = None) -> np.ndarray:
    """The bulletin limit (without tolerance or ambient correction) at each key value."""
    limits = np.asarray(spec.limits, dtype=np.float64)
    if not spec.key_points:
        size = n if key is None else len(key)
        return np.full(size, limits[0])
    assert key is not None
    points = np.asarray(spec.key_points, dtype=np.float64)
    if spec.interpolation == "step":
        idx = np.clip(np.searchsorted(points, key, side="right") - 1, 0, len(points) - 1)
        out = limits[idx]
    else:
        out = np.interp(key, points, limits)
    out = np.asarray(out, dtype=np.float64)
    out[np.isnan(key)] = np.nan
    return out


_BLOCK = 1 << 20   # samples per block: long sessions are judged with bounded temporaries, element by element
#: what an official ambient pressure may be (bar absolute): outside it the figure is in another unit (hPa, psi)
AMBIENT_BAR_RANGE = (0.3, 1.2)


def limit_series(spec: RuleSpec, channels: Mapping[str, Channel], time: np.ndarray,
                 reference_ambient_bar: float | None = None, official_ambient_bar: float | None = None
                 ) -> tuple[np.ndarray, str]:
    """The limit in force at each of ``time`` and a description of where it came from: the key held; for a
    ``level_pct`` power rule the declared curve at the held rpm times the level; a ``max_ratio`` boost rule times
    the reference pressure (the official ambient, else the logged one held; all NaN without either); ambient
    correction (``limit + (ambient - reference)``) with the official ambient when given, else the logged one."""
    source = f"{spec.key_name} table ({spec.interpolation})" if spec.key else "flat limit"
    ambient = channels.get("ambient_pressure")
    logged = ambient is not None and len(ambient) > 0
    correct = False
    if spec.declared is not None:
        source = ("declared power x " + (f"level_pct by {spec.key_name} ({spec.interpolation})" if spec.key
                                         else f"{spec.limits[0]:g} %"))
    if spec.ratio:
        if official_ambient_bar is not None:
            source += f" x official ambient pressure {official_ambient_bar:g} bar"
        elif logged:
            source += " x logged ambient_pressure"
        else:
            source += " x no reference pressure (no official ambient given, ambient_pressure not logged)"
    elif spec.ambient_correction:
        if official_ambient_bar is not None and reference_ambient_bar is not None:
            correct = True
            source += (f", corrected by official ambient pressure {official_ambient_bar:g} - "
                       f"{reference_ambient_bar:g} bar")
        elif logged and reference_ambient_bar is not None:
            correct = True
            source += f", corrected by logged ambient_pressure - {reference_ambient_bar:g} bar"
        else:
            source += ", ambient correction not applied (ambient_pressure not logged)"
    limit = np.empty(len(time), dtype=np.float64)
    for a in range(0, len(time), _BLOCK):    # each sample's limit depends on its own time stamp only
        t = time[a:a + _BLOCK]
        key = held_at(channels[spec.key], t) if spec.key else None
        part = limit_curve(spec, key, len(t))
        if spec.declared is not None:
            rpm = held_at(channels["engine_speed"], t)
            part = np.interp(rpm, spec.declared.rpm, spec.declared.kw) * part / 100.0
        if spec.ratio:
            if official_ambient_bar is not None:
                part = part * official_ambient_bar
            elif logged:
                part = part * held_at(ambient, t, backfill=True)
            else:
                part = np.full(len(t), np.nan)
        elif correct:
            offset = (official_ambient_bar if official_ambient_bar is not None
                      else held_at(ambient, t, backfill=True)) - reference_ambient_bar
            part = part + offset
        limit[a:a + len(t)] = part
    return limit, source


_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def gate_mask(spec: RuleSpec, channels: Mapping[str, Channel], time: np.ndarray) -> np.ndarray | None:
    """Where every ``when`` condition holds at ``time`` (the condition channel held like the key; before its first
    sample the condition does not hold), or None for a rule without ``when``."""
    if not spec.when:
        return None
    mask = np.ones(len(time), dtype=bool)
    with np.errstate(invalid="ignore"):
        for a in range(0, len(time), _BLOCK):
            t = time[a:a + _BLOCK]
            part = mask[a:a + len(t)]
            for c in spec.when:              # NaN (no sample yet) compares False: not judged
                part &= _OPS[c.op](held_at(channels[c.channel], t), c.value)
    return mask


def find_exceedances(rule: str, time: np.ndarray, value: np.ndarray, limit: np.ndarray, *, tolerance: float,
                     min_duration_s: float, unit: str, direction: str = "max",
                     gate: np.ndarray | None = None) -> tuple[Exceedance, ...]:
    """Maximal runs of ``value > limit + tolerance`` (``direction = "min"``: ``value < limit - tolerance``) among
    the samples the gate lets through, lasting at least ``min_duration_s`` (see module doc). A gated-out sample
    is not judged and ends a run."""
    above = np.empty(len(value), dtype=bool)
    with np.errstate(invalid="ignore"):
        for a in range(0, len(value), _BLOCK):   # NaN value or limit compares False: not judged
            if direction == "min":
                np.less(value[a:a + _BLOCK], limit[a:a + _BLOCK] - tolerance, out=above[a:a + _BLOCK])
            else:
                np.greater(value[a:a + _BLOCK], limit[a:a + _BLOCK] + tolerance, out=above[a:a + _BLOCK])
    if gate is not None:
        above &= gate
    first, last = runs(above)
    if len(first) == 0:
        return ()
    durations = time[last] - time[first]
    keep = durations >= min_duration_s - 1e-9
    pick = np.argmin if direction == "min" else np.argmax
    out = []
    for a, b in zip(first[keep].tolist(), last[keep].tolist(), strict=True):
        peak_at = a + int(pick(value[a:b + 1]))
        peak, lim = float(value[peak_at]), float(limit[peak_at])
        out.append(Exceedance(rule=rule, start_s=float(time[a]), end_s=float(time[b]),
                              duration_s=float(time[b] - time[a]), peak=peak, limit=lim,
                              excess=lim - peak if direction == "min" else peak - lim, unit=unit))
    return tuple(out)


def _evaluate_limit(spec: RuleSpec, channels: Mapping[str, Channel], reference_ambient_bar: float | None,
                    official_ambient_bar: float | None) -> RuleEvaluation:
    value = channels[spec.channel]
    limit, source = limit_series(spec, channels, value.time, reference_ambient_bar, official_ambient_bar)
    gate = gate_mask(spec, channels, value.time)
    if gate is not None:
        source += ", judged while " + " and ".join(c.text() for c in spec.when)
    found = find_exceedances(spec.rule, value.time, value.value, limit, tolerance=spec.tolerance,
                             min_duration_s=spec.min_duration_s, unit=spec.unit, direction=spec.direction,
                             gate=gate)
    judged = 0
    for a in range(0, len(limit), _BLOCK):
        ok = ~np.isnan(limit[a:a + _BLOCK]) & ~np.isnan(value.value[a:a + _BLOCK])
        if gate is not None:
            ok &= gate[a:a + _BLOCK]
        judged += int(np.count_nonzero(ok))
    problem = None
    if spec.ratio and judged == 0 and len(value) and np.all(np.isnan(limit)):
        problem = "no reference pressure (no official ambient pressure given, ambient_pressure not logged)"
    return RuleEvaluation(spec.rule, found, source, judged, problem)


def _evaluate_stint(spec: RuleSpec, channels: Mapping[str, Channel], *_) -> RuleEvaluation:
    power = channels[spec.channel]
    found, stints = stint_exceedances(spec, power, channels.get("refuel"))
    how = (f"replenished at {spec.replenish_mj_s:g} MJ/s while refuelling" if spec.replenish_mj_s is not None
           else "reset by refuel")
    return RuleEvaluation(spec.rule, found, f"{spec.limits[0]:g} MJ per stint, {how}", len(power),
                          stints=stints)


def _evaluate_refuel(spec: RuleSpec, channels: Mapping[str, Channel], *_) -> RuleEvaluation:
    found, judged = refuel_exceedances(spec, channels, lambda t: (
        np.ones(len(t), dtype=bool) if not spec.when else gate_mask(spec, channels, t)))
    source = "each refuelling " + spec.describe_limit().removeprefix("refuelling ")
    if spec.when:
        source += ", judged while " + " and ".join(c.text() for c in spec.when)
    return RuleEvaluation(spec.rule, found, source, judged)


#: rule path (``compliance.bop.kinds.RuleKind.path``) -> evaluator
PATHS = {"limit": _evaluate_limit, "stint_energy": _evaluate_stint, "refuel_time": _evaluate_refuel}


def evaluate(spec: RuleSpec, channels: Mapping[str, Channel], *, reference_ambient_bar: float | None = None,
             official_ambient_bar: float | None = None) -> RuleEvaluation:
    """Evaluate one rule over whole channels. Every channel in ``spec.needs`` must be in ``channels``
    (the caller decides what a missing channel means: an incomplete verdict)."""
    missing = [c for c in spec.needs if c not in channels]
    if missing:
        raise KeyError(f"rule {spec.rule} needs channels {missing}")
    kind = KINDS.get(spec.rule_kind)
    path = kind.path if kind is not None else "limit"
    return PATHS[path](spec, channels, reference_ambient_bar, official_ambient_bar)
