"""Stint energy (SPEC §3, and §5's replenishment rate): positive power integrated over each stint.

A stint is a maximal run of power samples with the refuel sensor at 0 (a refuelling that falls between two power
samples also ends one). Without ``replenish_mj_s`` every stint's budget is ``max_mj`` (a refuel resets it). With
it, refuelling restores energy at that rate: the first stint's budget is ``max_mj``; stint k+1's is
``min(max_mj, max(0, budget_k - used_k) + replenish_mj_s x the refuelling time between them)`` (the refuellings as
``judge.refuel`` finds them, their durations summed). A stint using more than its budget + tolerance is one
exceedance, from the moment it crosses that to the end of the stint, ``peak`` its energy, ``limit`` its budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telemetry.channels import Channel

from ..bop.spec import RuleSpec
from .refuel import refuellings
from .samples import held_at, runs
from .verdict import Exceedance, rounded

__all__ = ["Stint", "stint_energies", "stint_budgets", "stint_exceedances"]


@dataclass(frozen=True, slots=True)
class Stint:
    start_s: float
    end_s: float
    budget_mj: float
    used_mj: float

    def to_dict(self) -> dict:
        return {"start_s": rounded(self.start_s), "end_s": rounded(self.end_s), "budget_mj": rounded(self.budget_mj),
                "used_mj": rounded(self.used_mj)}


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
    first, last = runs(in_stint)
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


def stint_budgets(spec: RuleSpec, power: Channel, refuel: Channel | None, energies=None
                  ) -> list[tuple[int, int, Stint]]:
    """Each stint's first and last sample index and its budget and use (see the module doc); ``energies`` is
    :func:`stint_energies` of the same channels when the caller has it."""
    first, last, energy = energies if energies is not None else stint_energies(power, refuel)
    max_mj = spec.limits[0]
    fills = refuellings(refuel)
    out: list[tuple[int, int, Stint]] = []
    budget = max_mj
    for k, (a, b) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
        if k and spec.replenish_mj_s is not None:
            previous_end = power.time[last[k - 1]]
            filled = sum((end if end is not None else float(power.time[a])) - start for start, end in fills
                         if previous_end < start <= power.time[a])
            budget = min(max_mj, max(0.0, budget - out[-1][2].used_mj) + spec.replenish_mj_s * filled)
        used = float(energy[b])
        out.append((a, b, Stint(float(power.time[a]), float(power.time[b]), budget, used)))
    return out


def stint_exceedances(spec: RuleSpec, power: Channel, refuel: Channel | None
                      ) -> tuple[tuple[Exceedance, ...], tuple[Stint, ...]]:
    energies = stint_energies(power, refuel)
    energy = energies[2]
    out = []
    stints = stint_budgets(spec, power, refuel, energies)
    for a, b, stint in stints:
        threshold = stint.budget_mj + spec.tolerance
        if stint.used_mj <= threshold:
            continue
        cross = a + int(np.argmax(energy[a:b + 1] > threshold))
        start, end = float(power.time[cross]), float(power.time[b])
        if end - start < spec.min_duration_s - 1e-9:
            continue
        out.append(Exceedance(rule=spec.rule, start_s=start, end_s=end, duration_s=end - start, peak=stint.used_mj,
                              limit=stint.budget_mj, excess=stint.used_mj - stint.budget_mj, unit=spec.unit))
    return tuple(out), tuple(s for _, _, s in stints)
