"""BoP bulletins (SPEC §3): loading and validation of the TOML, and which bulletin is in force at a time.

A bulletin holds, per car model, limit rules: ``boost`` (bar absolute against engine rpm), ``fuel_flow`` (kg/h
against rpm), ``power`` (kW: flat, against rpm, or against speed) and ``stint_energy`` (MJ per stint). Every
error names the file, the model and the key, and says how to fix it.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from ..errors import BulletinError

__all__ = [
    "RULE_NAMES", "RuleSpec", "ModelBop", "Bulletin", "load_bulletin", "load_bulletins", "in_force",
    "select_bulletin", "diff_bulletins",
]

log = logging.getLogger(__name__)

#: Rule names in the order verdicts list them (SPEC §4).
RULE_NAMES = ("boost", "fuel_flow", "power", "stint_energy")

# rule -> (limited channel, unit, name of the limit array in the TOML)
_RULE_VALUE = {
    "boost": ("boost_pressure", "bar", "max_bar"),
    "fuel_flow": ("fuel_flow", "kg/h", "max_kg_h"),
    "power": ("power", "kW", "max_kw"),
    "stint_energy": ("power", "MJ", "max_mj"),
}
# table key name in the TOML -> canonical channel it is read from
_KEYS = {"rpm": "engine_speed", "speed_kmh": "vehicle_speed"}
_INTERPOLATIONS = ("linear", "step")
_TOP_KEYS = {"id", "series", "event", "effective_from", "effective_until", "reference_ambient_pressure_bar",
             "track_category", "track", "track_length_m", "season", "published", "notes", "models"}
_RULE_KEYS = {"rpm", "speed_kmh", "max_bar", "max_kg_h", "max_kw", "max_mj", "interpolation", "tolerance",
              "min_duration_s", "max_exceedances", "ambient_correction", "notes"}
_DEFAULT_REFERENCE_BAR = 1.010


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One limit of one model. ``key``/``key_points`` are empty for a flat limit (``limits`` has one value)."""

    rule: str                       # boost | fuel_flow | power | stint_energy
    channel: str                    # canonical channel limited (power for stint_energy)
    unit: str                       # unit of the limit, the tolerance and the exceedance values
    limits: tuple[float, ...]
    key: str | None = None          # canonical key channel: engine_speed or vehicle_speed
    key_name: str | None = None     # the key as the bulletin names it: rpm or speed_kmh
    key_points: tuple[float, ...] = ()
    interpolation: str = "linear"
    tolerance: float = 0.0
    min_duration_s: float = 0.0
    max_exceedances: int = 0
    ambient_correction: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        """Canonical channels this rule cannot be judged without (ambient pressure is optional)."""
        needed = [self.channel]
        if self.key:
            needed.append(self.key)
        if self.rule == "stint_energy":
            needed.append("refuel")
        return tuple(needed)

    def describe_limit(self) -> str:
        if not self.key_points:
            return f"{self.limits[0]:g} {self.unit}"
        pairs = ", ".join(f"{k:g}:{v:g}" for k, v in zip(self.key_points, self.limits, strict=True))
        return f"{self.key_name} -> {self.unit} [{pairs}] ({self.interpolation})"

    def to_dict(self) -> dict:
        out: dict = {"rule": self.rule, "channel": self.channel, "unit": self.unit}
        if self.key:
            out["key"] = self.key_name
            out[self.key_name] = list(self.key_points)
            out["interpolation"] = self.interpolation
        out["limits"] = list(self.limits)
        out.update(tolerance=self.tolerance, min_duration_s=self.min_duration_s,
                   max_exceedances=self.max_exceedances, ambient_correction=self.ambient_correction)
        return out


@dataclass(frozen=True, slots=True)
class ModelBop:
    model: str
    name: str
    min_weight_kg: float | None
    rules: Mapping[str, RuleSpec]


@dataclass(frozen=True, slots=True)
class Bulletin:
    id: str
    series: str
    event: str
    effective_from: datetime | None
    effective_until: datetime | None
    reference_ambient_pressure_bar: float
    track_category: str | None
    models: Mapping[str, ModelBop]
    path: str
    sha256: str
    track_length_m: float | None = None

    def model(self, model: str) -> ModelBop:
        """The entry of ``model``; a model the bulletin does not list is an error, never a pass."""
        try:
            return self.models[model]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise BulletinError(
                f"model {model!r} is not in bulletin {self.id!r} (it lists: {known})", path=self.path,
                fix="use the bulletin that covers this car, or check the profile's `model`") from None

    def in_force_at(self, at: datetime) -> bool:
        if self.effective_from is not None and at < self.effective_from:
            return False
        return not (self.effective_until is not None and at >= self.effective_until)


def _fail(path: Path, place: str, problem: str, fix: str) -> BulletinError:
    return BulletinError(problem, path=path, place=place, fix=fix)


def _time(raw: object, path: Path, key: str) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(path, key, f"{raw!r} is not a date-time",
                        'write it as "2025-06-25T00:00:00Z"') from None
    else:
        raise _fail(path, key, f"{raw!r} is not a date-time", 'write it as "2025-06-25T00:00:00Z"')
    if value.tzinfo is None:
        raise _fail(path, key, f"{raw!r} has no time zone", 'end it with "Z" for UTC')
    return value.astimezone(UTC)


def _number(raw: object, path: Path, place: str, *, minimum: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _fail(path, place, f"{raw!r} is not a number", "write a plain number")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise _fail(path, place, f"{raw!r} is not a finite number", "write a plain number")
    if minimum is not None and value < minimum:
        raise _fail(path, place, f"{value:g} is below {minimum:g}", f"use a value >= {minimum:g}")
    return value


def _numbers(raw: object, path: Path, place: str) -> tuple[float, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, place, f"{raw!r} is not a non-empty list of numbers", "write e.g. [4000, 5000, 6000]")
    return tuple(_number(v, path, f"{place}[{i}]") for i, v in enumerate(raw))


def _rule(rule: str, raw: object, path: Path, model: str) -> RuleSpec:
    place = f"models.{model}.{rule}"
    if not isinstance(raw, dict):
        raise _fail(path, place, "is not a table", f"write [{place}] with its keys")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise _fail(path, f"{place}.{unknown[0]}", "unknown key",
                    f"use only {', '.join(sorted(_RULE_KEYS - {'notes'}))}")
    channel, unit, limit_name = _RULE_VALUE[rule]
    wrong_limits = sorted(k for k in ("max_bar", "max_kg_h", "max_kw", "max_mj") if k in raw and k != limit_name)
    if wrong_limits:
        raise _fail(path, f"{place}.{wrong_limits[0]}", f"the {rule} limit is written {limit_name}",
                    f"rename it to {limit_name}")
    if limit_name not in raw:
        raise _fail(path, f"{place}.{limit_name}", "missing", f"give the limit as {limit_name}")
    keys = [k for k in _KEYS if k in raw]
    allowed_keys = {"boost": ["rpm"], "fuel_flow": ["rpm"], "power": ["rpm", "speed_kmh"], "stint_energy": []}
    bad = [k for k in keys if k not in allowed_keys[rule]]
    if bad:
        raise _fail(path, f"{place}.{bad[0]}", f"{rule} cannot be keyed on {bad[0]}",
                    f"key it on {' or '.join(allowed_keys[rule]) or 'nothing (a flat limit)'}")
    if len(keys) > 1:
        raise _fail(path, place, "has both rpm and speed_kmh", "keep one of them")
    interpolation = raw.get("interpolation", "linear")
    if interpolation not in _INTERPOLATIONS:
        raise _fail(path, f"{place}.interpolation", f"unknown interpolation {interpolation!r}",
                    'use "linear" or "step"')
    key_name = keys[0] if keys else None
    if key_name is None:
        if rule in ("boost", "fuel_flow"):
            raise _fail(path, f"{place}.rpm", "missing", f"give the rpm points of the {limit_name} table")
        limits = (_number(raw[limit_name], path, f"{place}.{limit_name}"),)
        key_points: tuple[float, ...] = ()
    else:
        key_points = _numbers(raw[key_name], path, f"{place}.{key_name}")
        limits = _numbers(raw[limit_name], path, f"{place}.{limit_name}")
        if len(key_points) != len(limits):
            raise _fail(path, place, f"{key_name} has {len(key_points)} values but {limit_name} has "
                        f"{len(limits)}", f"give one {limit_name} per {key_name} point")
        for i in range(1, len(key_points)):
            if key_points[i] <= key_points[i - 1]:
                raise _fail(path, f"{place}.{key_name}[{i}]",
                            f"{key_points[i]:g} does not increase after {key_points[i - 1]:g}",
                            f"list {key_name} in strictly increasing order")
    if rule != "boost" and raw.get("ambient_correction"):
        raise _fail(path, f"{place}.ambient_correction", "only boost limits are corrected for ambient pressure",
                    "remove ambient_correction")
    max_exceedances = raw.get("max_exceedances", 0)
    if isinstance(max_exceedances, bool) or not isinstance(max_exceedances, int) or max_exceedances < 0:
        raise _fail(path, f"{place}.max_exceedances", f"{max_exceedances!r} is not a count",
                    "write a whole number >= 0")
    ambient = raw.get("ambient_correction", False)
    if not isinstance(ambient, bool):
        raise _fail(path, f"{place}.ambient_correction", f"{ambient!r} is not true or false",
                    "write true or false")
    return RuleSpec(
        rule=rule, channel=channel, unit=unit, limits=limits,
        key=_KEYS[key_name] if key_name else None, key_name=key_name, key_points=key_points,
        interpolation=interpolation,
        tolerance=_number(raw.get("tolerance", 0.0), path, f"{place}.tolerance", minimum=0.0),
        min_duration_s=_number(raw.get("min_duration_s", 0.0), path, f"{place}.min_duration_s", minimum=0.0),
        max_exceedances=max_exceedances, ambient_correction=ambient,
    )


def _model(model: str, raw: object, path: Path) -> ModelBop:
    place = f"models.{model}"
    if not isinstance(raw, dict):
        raise _fail(path, place, "is not a table", f"write [{place}] with name and rules")
    unknown = sorted(k for k, v in raw.items() if isinstance(v, dict) and k not in RULE_NAMES)
    if unknown:
        raise _fail(path, f"{place}.{unknown[0]}", "unknown rule", f"use one of {', '.join(RULE_NAMES)}")
    weight = raw.get("min_weight_kg")
    rules = {r: _rule(r, raw[r], path, model) for r in RULE_NAMES if r in raw}
    return ModelBop(model=model, name=str(raw.get("name", model)),
                    min_weight_kg=None if weight is None else _number(weight, path, f"{place}.min_weight_kg"),
                    rules=MappingProxyType(rules))


def load_bulletin(path: str | Path) -> Bulletin:
    """Load and validate one bulletin TOML file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BulletinError("no such file", path=path, fix="check the --bulletin path") from None
    except IsADirectoryError:
        raise BulletinError("is a folder, not a bulletin", path=path,
                            fix="use load_bulletins for a folder of bulletins") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise BulletinError(f"not valid TOML: {err}", path=path, fix="fix the TOML syntax") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise _fail(path, unknown[0], "unknown key", f"use only {', '.join(sorted(_TOP_KEYS))}")
    bulletin_id = raw.get("id")
    if bulletin_id is not None and not isinstance(bulletin_id, str):
        quoted = bulletin_id if type(bulletin_id) in (int, float) else "GTWCE-2025-SPA-R1"
        raise _fail(path, "id", f"{bulletin_id!r} is not a string", f'write it in quotes, e.g. id = "{quoted}"')
    if not bulletin_id:
        raise _fail(path, "id", "missing" if bulletin_id is None else "empty",
                    'give the bulletin an id, e.g. id = "GTWCE-2025-SPA-R1"')
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise _fail(path, "models", "no models", "add at least one [models.<model>] table")
    effective_from = _time(raw.get("effective_from"), path, "effective_from")
    effective_until = _time(raw.get("effective_until"), path, "effective_until")
    if effective_from and effective_until and effective_until <= effective_from:
        raise _fail(path, "effective_until", "is not after effective_from", "swap or correct the dates")
    category = raw.get("track_category")
    if category is not None and not isinstance(category, str):
        raise _fail(path, "track_category", f"{category!r} is not a string", 'write e.g. track_category = "B"')
    length = raw.get("track_length_m")
    return Bulletin(
        id=raw["id"], series=str(raw.get("series", "")), event=str(raw.get("event", "")),
        effective_from=effective_from, effective_until=effective_until,
        reference_ambient_pressure_bar=_number(
            raw.get("reference_ambient_pressure_bar", _DEFAULT_REFERENCE_BAR), path,
            "reference_ambient_pressure_bar", minimum=0.1),
        track_category=category,
        models=MappingProxyType({m: _model(m, v, path) for m, v in sorted(models.items())}),
        path=str(path), sha256=hashlib.sha256(data).hexdigest(),
        track_length_m=None if length is None else _number(length, path, "track_length_m", minimum=1.0),
    )


def load_bulletins(paths: str | Path | Iterable[str | Path]) -> list[Bulletin]:
    """Load bulletins from files and folders (every ``*.toml`` in a folder), sorted by ``effective_from``."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise BulletinError("folder holds no *.toml bulletin", path=p, fix="point at a bulletin file")
            files.extend(found)
        else:
            files.append(p)
    bulletins = [load_bulletin(f) for f in files]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(bulletins, key=lambda b: (b.effective_from or epoch, b.id))


def in_force(bulletins: Sequence[Bulletin], at: datetime | None, *,
             track_category: str | None = None) -> Bulletin:
    """The bulletin in force at ``at``: the latest ``effective_from`` not after ``at`` and not yet expired.

    A single bulletin is used as given (an explicit choice wins). With several, ``at`` must be known.
    """
    if not bulletins:
        raise BulletinError("no bulletin given", fix="pass --bulletin FILE or a folder of bulletins")
    candidates = [b for b in bulletins if track_category is None or b.track_category in (None, track_category)]
    if not candidates:
        raise BulletinError(f"no bulletin for track category {track_category!r}", path=bulletins[0].path,
                            fix="add a bulletin with that track_category")
    if len(candidates) == 1:
        return candidates[0]
    if at is None:
        raise BulletinError(
            f"{len(candidates)} bulletins given but the log records no absolute start time",
            path=candidates[0].path, fix="pass the one bulletin in force with --bulletin FILE")
    live = [b for b in candidates if b.in_force_at(at)]
    if not live:
        raise BulletinError(
            f"none of {len(candidates)} bulletins is in force at {at.isoformat()}", path=candidates[0].path,
            fix="add the bulletin for this session or pass it explicitly with --bulletin FILE")
    epoch = datetime.min.replace(tzinfo=UTC)
    live.sort(key=lambda b: b.effective_from or epoch)
    best = live[-1]
    ties = [b.id for b in live if b.effective_from == best.effective_from]
    if len(ties) > 1:
        raise BulletinError(f"bulletins {', '.join(ties)} are both in force at {at.isoformat()}",
                            path=best.path, fix="give them different effective_from times")
    log.info("bulletin %s in force at %s", best.id, at.isoformat())
    return best


def select_bulletin(paths: str | Path | Iterable[str | Path], at: datetime | None, *,
                    track_category: str | None = None) -> Bulletin:
    """Load ``paths`` (files or folders) and return the bulletin in force at ``at``."""
    return in_force(load_bulletins(paths), at, track_category=track_category)


def diff_bulletins(old: Bulletin, new: Bulletin) -> list[dict]:
    """What changed from ``old`` to ``new``: one entry per model and rule (and per model added or removed)."""
    changes: list[dict] = []
    for model in sorted(set(old.models) | set(new.models)):
        a, b = old.models.get(model), new.models.get(model)
        if a is None or b is None:
            changes.append({"model": model, "rule": None, "change": "added" if a is None else "removed"})
            continue
        if a.min_weight_kg != b.min_weight_kg:
            changes.append({"model": model, "rule": "min_weight_kg", "change": "changed",
                            "old": a.min_weight_kg, "new": b.min_weight_kg})
        for rule in RULE_NAMES:
            ra, rb = a.rules.get(rule), b.rules.get(rule)
            if ra == rb:
                continue
            if ra is None or rb is None:
                changes.append({"model": model, "rule": rule, "change": "added" if ra is None else "removed",
                                "limit": (rb or ra).describe_limit()})
                continue
            da, db = ra.to_dict(), rb.to_dict()
            fields = {k: {"old": da.get(k), "new": db.get(k)} for k in sorted(set(da) | set(db))
                      if da.get(k) != db.get(k)}
            entry = {"model": model, "rule": rule, "change": "changed", "fields": fields}
            if ra.key_points == rb.key_points and len(ra.limits) == len(rb.limits):
                deltas = [round(y - x, 6) for x, y in zip(ra.limits, rb.limits, strict=True)]
                if len(set(deltas)) == 1:
                    entry["delta"] = deltas[0]
            changes.append(entry)
    return changes
