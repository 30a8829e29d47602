"""The expected verdict of a simulated session, rule by rule, from what was injected and what was driven.

SPEC §3 rules count the injected excursions over the session. SPEC §5 adds what the ground truth must say
beyond a count: excursions placed where a ``when`` gate is shut do not count (``counted: false`` in the event);
``count_per`` lap/window scopes and ``max_time_over_s`` decide per scope (the worst one is recorded); stint
budgets replenish at ``replenish_mj_s`` during each refuelling; refuellings are timed against ``min_s``.
Worked out here from the simulator's own data (never the compliance engine's code).
"""

from __future__ import annotations

import numpy as np

from .drive import DT, Drive
from .limits import Limits, Rule

__all__ = ["expected_rules", "refuellings", "stint_budgets", "worst_scope"]


def refuellings(drive: Drive) -> list[tuple[float, float]]:
    """(start_s, end_s) of each refuelling: a run of refuel at 1, ending at the first sample back at 0; one still
    running at the session's end is left out (not judged)."""
    flag = np.concatenate([[0], (drive.channels["refuel"] > 0.5).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(flag))
    n = len(drive.t)
    return [(round(a * DT, 3), round(b * DT, 3)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b < n]


def stint_budgets(rule: Rule, energies: list[float], fills: list[tuple[float, float]]) -> list[float]:
    """Budget (MJ) of each stint: ``max_mj`` first, then min(max, max(0, left over) + rate x refuelling time)."""
    top = rule.limit.values[0]
    budgets = [top]
    for k in range(1, len(energies)):
        duration = fills[k - 1][1] - fills[k - 1][0] if k - 1 < len(fills) else 0.0
        budgets.append(min(top, max(0.0, budgets[-1] - energies[k - 1]) + rule.replenish_mj_s * duration))
    return budgets


def worst_scope(rule: Rule, events: list[dict], laps: tuple[float, ...], duration_s: float) -> tuple[dict, bool]:
    """The scope with the most exceedances, then the most time over, then the earliest; and whether any scope
    has more exceedances than allowed or more time over than allowed."""
    starts = sorted((e["start_s"], e["duration_s"]) for e in events)
    scopes = []
    if rule.count_per == "lap":
        bounds = [0.0, *laps, duration_s]
        for lap in range(len(bounds) - 1):
            inside = [d for s, d in starts if bounds[lap] <= s < bounds[lap + 1]]
            scopes.append({"start_s": round(bounds[lap], 3), "end_s": round(bounds[lap + 1], 3), "lap": lap,
                           "count": len(inside), "time_over_s": round(sum(inside), 3)})
    elif rule.count_per == "window":
        for s0, _ in starts or [(0.0, 0.0)]:
            inside = [d for s, d in starts if s0 <= s < s0 + rule.window_s]
            scopes.append({"start_s": round(s0, 3), "end_s": round(s0 + rule.window_s, 3), "lap": None,
                           "count": len(inside), "time_over_s": round(sum(inside), 3)})
    else:
        scopes.append({"start_s": 0.0, "end_s": round(duration_s, 3), "lap": None, "count": len(starts),
                       "time_over_s": round(sum(d for _, d in starts), 3)})
    worst = max(scopes, key=lambda x: (x["count"], x["time_over_s"], -x["start_s"]))
    infringes = any(x["count"] > rule.max_exceedances or (
        rule.max_time_over_s is not None and x["time_over_s"] > rule.max_time_over_s + 1e-9) for x in scopes)
    return worst, infringes


def expected_rules(limits: Limits, drive: Drive, events: list[dict], energies: list[float],
                   duration_s: float) -> dict[str, dict]:
    """Rule name -> expected count, allowance and whether it infringes (plus §5 scope, stint and refuel detail)."""
    rules: dict[str, dict] = {}
    fills = refuellings(drive)
    for name, rule in sorted(limits.rules.items()):
        extra: dict = {}
        if name == "stint_energy" and rule.replenish_mj_s is not None:
            budgets = stint_budgets(rule, energies, fills)
            count = sum(used > budget + rule.tolerance for used, budget in zip(energies, budgets, strict=True))
            extra["stints"] = [{"start_s": round(a, 3), "end_s": round(min(b, duration_s), 3),
                                "budget_mj": round(budget, 3), "used_mj": round(used, 3)}
                               for (a, b), budget, used in zip(drive.stints, budgets, energies, strict=True)]
            infringes = count > rule.max_exceedances
        elif name == "stint_energy":
            count = sum(e > rule.limit.values[0] for e in energies)
            infringes = count > rule.max_exceedances
        elif name == "refuel_time":
            low = rule.limit.values[0] - rule.tolerance
            high = None if rule.max_s is None else rule.max_s + rule.tolerance
            durations = [round(b - a, 3) for a, b in fills]
            count = sum(d < low or (high is not None and d > high) for d in durations)
            extra["refuellings"] = [{"start_s": a, "end_s": b, "duration_s": d}
                                    for (a, b), d in zip(fills, durations, strict=True)]
            infringes = count > rule.max_exceedances
        else:
            counted = [e for e in events if e.get("rule") == name and e.get("counted", True)]
            count = len(counted)
            worst, infringes = worst_scope(rule, counted, drive.laps, duration_s)
            if rule.scoped:
                extra = {"count_per": rule.count_per, "window_s": rule.window_s,
                         "max_time_over_s": rule.max_time_over_s, "time_over_s": worst["time_over_s"],
                         "worst_scope": worst}
            if rule.when:
                extra["not_counted"] = sum(1 for e in events if e.get("rule") == name and not e.get("counted", True))
        rules[name] = {"exceedances": int(count), "max_exceedances": rule.max_exceedances,
                       "infringes": bool(infringes), **extra}
    return rules
