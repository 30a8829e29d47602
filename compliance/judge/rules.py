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
  moment it crosses that to the end of the stint; ``peak`` is the stint's energy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from telemetry.channels import Channel

from ..bop.bulletins import RuleSpec
from .verdict import Exceedance

__all__ = ["RuleEvaluation", "held_at", "limit_curve", "limit_series", "find_exceedances", "stint_energies",
           "evaluate"]


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """What one rule found in one session: its exceedances and where the limit came from."""

    rule: str
    exceedances: tuple[Exceedance, ...]
    limit_source: str
    samples_judged: int


def held_at(channel: Channel, at: np.ndarray, *, backfill: bool = False) -> np.ndarray:
    """``channel`` value at times ``at``: the last sample at or before each time (NaN before the first one,
    or the first value when ``backfill``)."""
    if len(channel) == 0:
        return np.full(len(at), np.nan)
    idx = np.searchsorted(channel.time, at, side="right") - 1
    out = channel.value[np.clip(idx, 0, None)].astype(np.float64, copy=True)
    if not backfill:
        out[idx < 0] = np.nan
    return out


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


def limit_series(spec: RuleSpec, channels: Mapping[str, Channel], time: np.ndarray,
                 reference_ambient_bar: float | None = None) -> tuple[np.ndarray, str]:
    """The limit in force at each of ``time`` (key held, ambient-corrected when the rule says so and ambient
    pressure is logged), and a description of where it came from."""
    source = f"{spec.key_name} table ({spec.interpolation})" if spec.key else "flat limit"
    ambient = channels.get("ambient_pressure")
    correct = False
    if spec.ambient_correction:
        if ambient is not None and len(ambient) and reference_ambient_bar is not None:
            correct = True
            source += f", corrected by logged ambient_pressure - {reference_ambient_bar:g} bar"
        else:
            source += ", ambient correction not applied (ambient_pressure not logged)"
    limit = np.empty(len(time), dtype=np.float64)
    for a in range(0, len(time), _BLOCK):    # each sample's limit depends on its own time stamp only
        t = time[a:a + _BLOCK]
        key = held_at(channels[spec.key], t) if spec.key else None
        part = limit_curve(spec, key, len(t))
        if correct:
            part = part + (held_at(ambient, t, backfill=True) - reference_ambient_bar)
        limit[a:a + len(t)] = part
    return limit, source


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index (inclusive) of each maximal run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def find_exceedances(rule: str, time: np.ndarray, value: np.ndarray, limit: np.ndarray, *, tolerance: float,
                     min_duration_s: float, unit: str) -> tuple[Exceedance, ...]:
    """Maximal runs of ``value > limit + tolerance`` lasting at least ``min_duration_s`` (see module doc)."""
    above = np.empty(len(value), dtype=bool)
    with np.errstate(invalid="ignore"):
        for a in range(0, len(value), _BLOCK):   # NaN value or limit compares False: not judged
            np.greater(value[a:a + _BLOCK], limit[a:a + _BLOCK] + tolerance, out=above[a:a + _BLOCK])
    first, last = _runs(above)
    if len(first) == 0:
        return ()
    durations = time[last] - time[first]
    keep = durations >= min_duration_s - 1e-9
    out = []
    for a, b in zip(first[keep].tolist(), last[keep].tolist(), strict=True):
        peak_at = a + int(np.argmax(value[a:b + 1]))
        peak, lim = float(value[peak_at]), float(limit[peak_at])
        out.append(Exceedance(rule=rule, start_s=float(time[a]), end_s=float(time[b]),
                              duration_s=float(time[b] - time[a]), peak=peak, limit=lim, excess=peak - lim,
                              unit=unit))
    return tuple(out)


def stint_energies(power: Channel, refuel: Channel | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stint: first and last sample index into ``power`` and the cumulative energy (MJ) per sample
    (reset at each stint start; NaN while refuelling). A refuel sample at 1 that falls between two power samples
    also ends the stint, even when no power sample was taken while refuelling."""
    t, p = power.time, np.clip(np.nan_to_num(power.value, nan=0.0), 0.0, None)
    in_stint = np.ones(len(t), dtype=bool)
    boundary = np.zeros(len(t), dtype=bool)
    if refuel is not None and len(refuel):
        in_stint = np.nan_to_num(held_at(refuel, t), nan=0.0) < 0.5
        refuelling = refuel.time[np.nan_to_num(refuel.value, nan=0.0) >= 0.5]
        seen = np.searchsorted(refuelling, t, side="right")
        boundary[1:] = seen[1:] != seen[:-1]
    first, last = _runs(in_stint)
    if len(first):                       # split runs at refuels that no power sample saw
        cuts = np.flatnonzero(boundary & in_stint & np.concatenate(([False], in_stint[:-1])))
        first = np.sort(np.concatenate((first, cuts)))
        last = np.sort(np.concatenate((last, cuts - 1)))
    step = np.zeros(len(t))
    if len(t) > 1:
        step[1:] = 0.5 * (p[1:] + p[:-1]) * np.diff(t) / 1000.0        # kW * s = kJ -> MJ
    step[~in_stint] = 0.0
    step[first] = 0.0                                                     # nothing before a stint's first sample
    cumulative = np.cumsum(step)
    energy = np.zeros(len(t))
    if len(first):
        # each sample belongs to the latest stint start at or before it (the first stint's before any start)
        starts = first.tolist()
        bounds = [0, *starts[1:], len(t)]
        for k, a in enumerate(starts):
            np.subtract(cumulative[bounds[k]:bounds[k + 1]], cumulative[a], out=energy[bounds[k]:bounds[k + 1]])
    energy[~in_stint] = np.nan
    return first, last, energy


def _stint_exceedances(spec: RuleSpec, power: Channel, refuel: Channel | None) -> tuple[Exceedance, ...]:
    first, last, energy = stint_energies(power, refuel)
    threshold = spec.limits[0] + spec.tolerance
    out = []
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        total = float(energy[b])
        if total <= threshold:
            continue
        cross = a + int(np.argmax(energy[a:b + 1] > threshold))
        start, end = float(power.time[cross]), float(power.time[b])
        if end - start < spec.min_duration_s - 1e-9:
            continue
        out.append(Exceedance(rule=spec.rule, start_s=start, end_s=end, duration_s=end - start, peak=total,
                              limit=spec.limits[0], excess=total - spec.limits[0], unit=spec.unit))
    return tuple(out)


def evaluate(spec: RuleSpec, channels: Mapping[str, Channel], *,
             reference_ambient_bar: float | None = None) -> RuleEvaluation:
    """Evaluate one rule over whole channels. Every channel in ``spec.needs`` must be in ``channels``
    (the caller decides what a missing channel means: an incomplete verdict)."""
    missing = [c for c in spec.needs if c not in channels]
    if missing:
        raise KeyError(f"rule {spec.rule} needs channels {missing}")
    value = channels[spec.channel]
    if spec.rule == "stint_energy":
        found = _stint_exceedances(spec, value, channels.get("refuel"))
        return RuleEvaluation(spec.rule, found, f"{spec.limits[0]:g} MJ per stint, reset by refuel",
                              len(value))
    limit, source = limit_series(spec, channels, value.time, reference_ambient_bar)
    found = find_exceedances(spec.rule, value.time, value.value, limit, tolerance=spec.tolerance,
                             min_duration_s=spec.min_duration_s, unit=spec.unit)
    judged = sum(int(np.count_nonzero(~np.isnan(limit[a:a + _BLOCK]) & ~np.isnan(value.value[a:a + _BLOCK])))
                 for a in range(0, len(limit), _BLOCK))
    return RuleEvaluation(spec.rule, found, source, judged)
