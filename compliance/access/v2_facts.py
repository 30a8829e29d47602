"""The SPEC §5 facts of a run and of a bulletin the dashboard shows, authorised like every read of
:mod:`compliance.access.queries`: the bulletin's car entry that judged a car and the informational fields of its model
(or car), the rules in verdict order with their counting scope, worst scope, time over, gate and stint budgets, and a
bulletin's car entries with what each overrides. No Streamlit import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bop import Bulletin, ModelBop, rule_order
from ..reports.rule_facts import entry_of
from ..store.schema import Store
from . import queries
from .auth import Viewer

__all__ = ["RunFacts", "CarEntry", "run_facts", "entry_of", "car_entries", "model_info", "ordered_rules",
           "rule_order"]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the verdict and its bulletin say of one run beyond the counts: ``car_entry`` the ``[cars."N"]`` entry
    that judged it (None: the model's), ``info`` the informational fields (model's, car's over them, and the
    minimum weight; never judged), ``rules`` the verdict's rules in verdict order (the JSON form, with §5 keys
    where the rule uses them), ``problem`` why the bulletin could not be read back (info is then empty)."""

    run_id: str
    model: str
    model_name: str | None
    car_entry: str | None
    bulletin_has_cars: bool
    info: Mapping[str, Any] = field(default_factory=dict)
    rules: tuple[Mapping[str, Any], ...] = ()
    problem: str | None = None


def ordered_rules(rules: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rules (anything with a ``rule`` key) in verdict order: boost, fuel_flow, power, stint_energy, rev_limit,
    throttle, refuel_time, then ``limit.*`` by name."""
    return sorted(rules, key=lambda r: rule_order(str(r["rule"])))


def _info(entry: ModelBop) -> dict[str, Any]:
    info = dict(entry.info)
    if entry.min_weight_kg is not None:
        info.setdefault("min_weight_kg", f"{entry.min_weight_kg:g}")
    return info


def run_facts(viewer: Viewer, store: Store, run_id: str) -> RunFacts:
    """The §5 facts of a run the viewer may see (``NotFound`` otherwise, as every query)."""
    detail = queries.run_detail(viewer, store, run_id)
    verdict = json.loads(queries.verdict_json(viewer, store, run_id) or "{}")
    run = detail.run
    car = (verdict.get("bulletin") or {}).get("car_entry")
    rules = tuple(ordered_rules(verdict.get("rules") or []))
    loaded, problem = queries._load_checked(run.get("bulletin_path"), run["bulletin_sha256"])
    if loaded is None:
        return RunFacts(run_id, run["model"], None, car, car is not None, {}, rules, problem)
    entry = entry_of(loaded, run["model"], car)
    if entry is None:
        return RunFacts(run_id, run["model"], None, car, bool(loaded.cars), {}, rules,
                        f"bulletin {loaded.id} has no entry for {run['model']}")
    return RunFacts(run_id, run["model"], entry.name, car, bool(loaded.cars), _info(entry), rules)


@dataclass(frozen=True, slots=True)
class CarEntry:
    """One ``[cars."N"]`` entry of a bulletin: its model, its informational fields (the model's with the car's
    over them) and the rules whose limits differ from the model's (the car's overrides)."""

    car: str
    model: str
    info: Mapping[str, Any]
    overrides: tuple[str, ...]
    limits: Mapping[str, str]       # rule -> the car's limit in words, for the overridden rules


def _car_key(car: str) -> tuple:
    return (0, int(car), car) if car.isdigit() else (1, 0, car)


def car_entries(bulletin: Bulletin, model: str | None = None) -> list[CarEntry]:
    """The bulletin's car entries (of ``model`` when given), by car number."""
    out = []
    for car in sorted(bulletin.cars, key=_car_key):
        entry = bulletin.cars[car]
        if model is not None and entry.model != model:
            continue
        base = bulletin.models.get(entry.model)
        changed = tuple(sorted((r for r, spec in entry.rules.items()
                                if base is None or base.rules.get(r) != spec), key=rule_order))
        out.append(CarEntry(car, entry.model, _info(entry), changed,
                            {r: entry.rules[r].describe_limit() for r in changed}))
    return out


def model_info(bulletin: Bulletin, model: str) -> dict[str, Any]:
    """The informational fields of ``model`` in the bulletin (and its minimum weight); {} when not listed."""
    entry = bulletin.models.get(model)
    return {} if entry is None else _info(entry)
