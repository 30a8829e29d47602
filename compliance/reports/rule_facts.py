"""The SPEC §5 facts of a rule verdict in words, shared by the check report, the steward reports and the dashboard.

Everything reads the JSON form of a rule verdict (``check --json`` ``rules[]``, the stored verdict, or a store
``rule_results`` row with its ``detail``): ``count_per``/``window_s`` (the counting scope), ``max_time_over_s`` and
``time_over_s`` (the worst scope's), ``worst_scope`` ({start_s, end_s, lap, count, time_over_s} or null),
``when`` (the gate, "channel op value" each) and ``stints`` (stint energy with a replenishment rate). A §3 rule
has none of these and every function says so with ``""`` (or no rows), so §3 verdicts render as they always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["V2_KEYS", "is_v2", "any_v2", "scope_text", "time_over_text", "worst_scope_text", "gate_text",
           "stint_rows", "STINT_HEADERS", "info_text", "v2_summary", "rule_sort_key", "entry_of"]

#: keys a §5 rule verdict carries
V2_KEYS = ("count_per", "window_s", "max_time_over_s", "time_over_s", "worst_scope", "when", "stints")


def _fields(rule: Mapping[str, Any]) -> Mapping[str, Any]:
    """The rule's fields, whether given as the JSON rule or as a store row with a ``detail`` mapping."""
    detail = rule.get("detail")
    return {**detail, **{k: v for k, v in rule.items() if k != "detail"}} if isinstance(detail, Mapping) else rule


def entry_of(bulletin, model: str, car: str | None):
    """The bulletin entry (``ModelBop``) that judges car ``car`` of ``model``: its ``[cars."N"]`` entry when the
    bulletin has one for it, else the model's; None when the bulletin does not list the model (a car entry of
    another model: the model's)."""
    from ..errors import ComplianceError
    if model not in bulletin.models:
        return None
    try:
        return bulletin.entry(model, None if car is None else str(car))
    except ComplianceError:
        return bulletin.models[model]


def rule_sort_key(rule: str) -> tuple[int, str]:
    """Verdict order (SPEC §5: boost, fuel_flow, power, stint_energy, rev_limit, throttle, refuel_time, then
    ``limit.*`` by name)."""
    from ..bop.kinds import rule_order
    return rule_order(rule)


def is_v2(rule: Mapping[str, Any]) -> bool:
    return "count_per" in _fields(rule)


def any_v2(rules: Iterable[Mapping[str, Any]]) -> bool:
    return any(is_v2(r) for r in rules)


def _n(x: Any, fmt: str = ".3g") -> str:
    return "" if x is None else format(float(x), fmt)


def scope_text(rule: Mapping[str, Any]) -> str:
    """``per session``, ``per lap``, ``per 60 s window``; with the allowance: ``3 allowed per 60 s window``."""
    r = _fields(rule)
    per = r.get("count_per")
    if per is None:
        return ""
    where = {"session": "per session", "lap": "per lap"}.get(per, f"per {_n(r.get('window_s'), 'g')} s window"
                                                             if per == "window" else f"per {per}")
    allowed = r.get("max_exceedances")
    return f"{allowed} allowed {where}" if allowed is not None else where


def time_over_text(rule: Mapping[str, Any]) -> str:
    """The worst scope's time over the limit and the allowance: ``1.24 s of 2 s allowed`` (or just ``1.24 s``)."""
    r = _fields(rule)
    if r.get("count_per") is None:
        return ""
    over = r.get("time_over_s") or 0.0
    allowed = r.get("max_time_over_s")
    return f"{over:.3g} s" + (f" of {allowed:g} s allowed" if allowed is not None else "")


def worst_scope_text(rule: Mapping[str, Any]) -> str:
    """``lap 3: 2 exceedances, 1.4 s over`` or ``170.96-230.96 s: 4 exceedances, 1.24 s over``; ``none`` when no
    exceedance counted."""
    r = _fields(rule)
    if r.get("count_per") is None:
        return ""
    w = r.get("worst_scope")
    if not w:
        return "none"
    where = (f"lap {w['lap']} ({w['start_s']:.2f}-{w['end_s']:.2f} s)" if w.get("lap") is not None
             else f"{w['start_s']:.2f}-{w['end_s']:.2f} s")
    n = w.get("count", 0)
    return f"{where}: {n} exceedance{'s' if n != 1 else ''}, {w.get('time_over_s') or 0.0:.3g} s over"


def gate_text(rule: Mapping[str, Any]) -> str:
    """``throttle >= 30 and engine_speed > 3000`` (the ``when`` gate), ``""`` without one."""
    return " and ".join(_fields(rule).get("when") or ())


STINT_HEADERS = ("rule", "stint", "start s", "end s", "budget MJ", "used MJ", "margin MJ", "over budget")


def stint_rows(rules: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per stint of every rule with ``stints``: rule, n, start, end, budget, used, margin, yes/no."""
    out = []
    for rule in rules:
        r = _fields(rule)
        tol = r.get("tolerance") or 0.0
        for i, s in enumerate(r.get("stints") or ()):
            budget, used = s.get("budget_mj") or 0.0, s.get("used_mj") or 0.0
            out.append([str(r.get("rule", "")), str(i + 1), f"{s['start_s']:.2f}", f"{s['end_s']:.2f}",
                        f"{budget:.3f}", f"{used:.3f}", f"{budget - used:+.3f}",
                        "yes" if used > budget + tol else "no"])
    return out


def info_text(info: Mapping[str, Any] | None) -> str:
    """``ballast_kg 30, homologation GT3-035`` (never judged)."""
    return ", ".join(f"{k} {v}" for k, v in (info or {}).items())


def v2_summary(rule: Mapping[str, Any]) -> str:
    """The §5 facts in one phrase for a finding line: scope, worst scope, time over, gate (``""`` for a §3 rule)."""
    r = _fields(rule)
    if r.get("count_per") is None:
        return ""
    parts = [scope_text(r)] if r.get("count_per") != "session" or r.get("worst_scope") else []
    if r.get("worst_scope") and r.get("count_per") != "session":
        parts.append(f"worst scope {worst_scope_text(r)}")
    if r.get("max_time_over_s") is not None:
        parts.append(f"time over {time_over_text(r)}")
    if r.get("when"):
        parts.append(f"judged only while {gate_text(r)}")
    return "; ".join(parts)
