"""What changed between two bulletins: per model (and per car entry) and rule, the fields that differ."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spec import ModelBop

if TYPE_CHECKING:
    from .bulletins import Bulletin

__all__ = ["diff_bulletins"]


def _entry_changes(a: ModelBop, b: ModelBop, who: dict) -> list[dict]:
    changes: list[dict] = []
    if a.min_weight_kg != b.min_weight_kg:
        changes.append({**who, "rule": "min_weight_kg", "change": "changed",
                        "old": a.min_weight_kg, "new": b.min_weight_kg})
    if dict(a.info) != dict(b.info):
        keys = sorted(set(a.info) | set(b.info))
        changes.append({**who, "rule": "info", "change": "changed",
                        "fields": {k: {"old": a.info.get(k), "new": b.info.get(k)} for k in keys
                                   if a.info.get(k) != b.info.get(k)}})
    if a.declared_power != b.declared_power:
        changes.append({**who, "rule": "declared_power", "change": "changed",
                        "old": None if a.declared_power is None else {"rpm": list(a.declared_power.rpm),
                                                                      "kw": list(a.declared_power.kw)},
                        "new": None if b.declared_power is None else {"rpm": list(b.declared_power.rpm),
                                                                      "kw": list(b.declared_power.kw)}})
    names = list(dict.fromkeys([*a.rules, *b.rules]))
    for rule in sorted(names, key=_order):
        ra, rb = a.rules.get(rule), b.rules.get(rule)
        if ra == rb:
            continue
        if ra is None or rb is None:
            changes.append({**who, "rule": rule, "change": "added" if ra is None else "removed",
                            "limit": (rb or ra).describe_limit()})
            continue
        da, db = ra.to_dict(), rb.to_dict()
        fields = {k: {"old": da.get(k), "new": db.get(k)} for k in sorted(set(da) | set(db))
                  if da.get(k) != db.get(k)}
        entry = {**who, "rule": rule, "change": "changed", "fields": fields}
        if ra.key_points == rb.key_points and len(ra.limits) == len(rb.limits) and ra.limits:
            deltas = [round(y - x, 6) for x, y in zip(ra.limits, rb.limits, strict=True)]
            if len(set(deltas)) == 1 and deltas[0] != 0:
                entry["delta"] = deltas[0]
        changes.append(entry)
    return changes


def _order(rule: str) -> tuple[int, str]:
    from .kinds import rule_order
    return rule_order(rule)


def diff_bulletins(old: Bulletin, new: Bulletin) -> list[dict]:
    """What changed from ``old`` to ``new``: one entry per model and rule (and per model added or removed), then
    one per car entry and rule (``car`` set: an entry added, removed, or whose rules or info differ)."""
    changes: list[dict] = []
    for model in sorted(set(old.models) | set(new.models)):
        a, b = old.models.get(model), new.models.get(model)
        if a is None or b is None:
            changes.append({"model": model, "rule": None, "change": "added" if a is None else "removed"})
            continue
        changes.extend(_entry_changes(a, b, {"model": model}))
    for car in sorted(set(old.cars) | set(new.cars), key=lambda c: (len(c), c)):
        a, b = old.cars.get(car), new.cars.get(car)
        if a is None or b is None:
            entry = a or b
            changes.append({"model": entry.model, "car": car, "rule": None,
                            "change": "added" if a is None else "removed"})
            continue
        if a.model != b.model:
            changes.append({"model": b.model, "car": car, "rule": "model", "change": "changed",
                            "old": a.model, "new": b.model})
            continue
        changes.extend(_entry_changes(a, b, {"model": b.model, "car": car}))
    return changes
