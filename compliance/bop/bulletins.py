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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from ..errors import BulletinError
from .kinds import GENERIC, RULE_NAMES
from .rule_tables import fail, number, parse_declared_power, parse_rule
from .spec import ModelBop, RuleSpec

__all__ = [
    "RULE_NAMES", "RuleSpec", "ModelBop", "Bulletin", "load_bulletin", "load_bulletins", "in_force",
    "select_bulletin",
]

log = logging.getLogger(__name__)

_TOP_KEYS = {"id", "series", "event", "effective_from", "effective_until", "reference_ambient_pressure_bar",
             "track_category", "track", "track_length_m", "season", "published", "notes", "models", "cars"}
_MODEL_TABLES = {"info", GENERIC, "declared_power"}
_DEFAULT_REFERENCE_BAR = 1.010


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
    cars: Mapping[str, ModelBop] = field(default_factory=lambda: MappingProxyType({}))

    def model(self, model: str) -> ModelBop:
        """The entry of ``model``; a model the bulletin does not list is an error, never a pass."""
        try:
            return self.models[model]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise BulletinError(
                f"model {model!r} is not in bulletin {self.id!r} (it lists: {known})", path=self.path,
                fix="use the bulletin that covers this car, or check the profile's `model`") from None

    def entry(self, model: str, car: str | None = None) -> ModelBop:
        """What judges car ``car`` of ``model``: its ``[cars."N"]`` entry when the bulletin has one (the model's
        rules with the car's overrides), else the model's. A car entry of another model is an error."""
        base = self.model(model)
        if car is None or str(car) not in self.cars:
            return base
        entry = self.cars[str(car)]
        if entry.model != model:
            raise BulletinError(
                f"car {car} is a {entry.model} in bulletin {self.id!r}, but its profile is for {model}",
                path=self.path, place=f'cars."{car}".model',
                fix="use the profile of the car's model, or correct the car entry's model")
        return entry

    def in_force_at(self, at: datetime) -> bool:
        if self.effective_from is not None and at < self.effective_from:
            return False
        return not (self.effective_until is not None and at >= self.effective_until)


def _time(raw: object, path: Path, key: str) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise fail(path, key, f"{raw!r} is not a date-time",
                       'write it as "2025-06-25T00:00:00Z"') from None
    else:
        raise fail(path, key, f"{raw!r} is not a date-time", 'write it as "2025-06-25T00:00:00Z"')
    if value.tzinfo is None:
        raise fail(path, key, f"{raw!r} has no time zone", 'end it with "Z" for UTC')
    return value.astimezone(UTC)


def _info(raw: object, path: Path, place: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise fail(path, place, "is not a table", f"write [{place}] with name = value lines")
    for k, v in raw.items():
        if isinstance(v, dict | list | datetime):
            raise fail(path, f"{place}.{k}", f"{v!r} is not a number or a string",
                       "info fields are shown, never judged: write a number or a string")
    return MappingProxyType(dict(sorted(raw.items())))


def _rule_tables(raw: dict) -> dict[str, object]:
    """The rule tables of a model (or car) table: the named kinds, then ``limit.<name>`` by name."""
    tables = {r: raw[r] for r in RULE_NAMES if r in raw}
    generic = raw.get(GENERIC, {})
    if isinstance(generic, dict):
        tables.update({f"{GENERIC}.{n}": generic[n] for n in sorted(generic)})
    return tables


def _check_tables(raw: dict, path: Path, place: str) -> None:
    unknown = sorted(k for k, v in raw.items() if isinstance(v, dict) and k not in RULE_NAMES
                     and k not in _MODEL_TABLES)
    if unknown:
        raise fail(path, f"{place}.{unknown[0]}", "unknown rule",
                   f"use one of {', '.join(RULE_NAMES)}, {GENERIC}.<name>, info")
    generic = raw.get(GENERIC)
    if generic is not None and (not isinstance(generic, dict)
                                or not all(isinstance(v, dict) for v in generic.values())):
        raise fail(path, f"{place}.{GENERIC}", "is not a table of limit tables",
                   f"write each generic limit as [{place}.{GENERIC}.<name>]")


def _model(model: str, raw: object, path: Path) -> ModelBop:
    place = f"models.{model}"
    if not isinstance(raw, dict):
        raise fail(path, place, "is not a table", f"write [{place}] with name and rules")
    _check_tables(raw, path, place)
    weight = raw.get("min_weight_kg")
    declared = (parse_declared_power(raw["declared_power"], path, f"{place}.declared_power")
                if "declared_power" in raw else None)
    rules = {r: parse_rule(r, t, path, model, declared=declared) for r, t in _rule_tables(raw).items()}
    return ModelBop(model=model, name=str(raw.get("name", model)),
                    min_weight_kg=None if weight is None else number(weight, path, f"{place}.min_weight_kg"),
                    rules=MappingProxyType(rules),
                    info=_info(raw["info"], path, f"{place}.info") if "info" in raw else MappingProxyType({}),
                    declared_power=declared)


def _merged(model_raw: dict, car_raw: dict) -> dict:
    """The model's table with the car's keys over it, rule table by rule table (keys not given: the model's)."""
    out = {k: v for k, v in model_raw.items() if k != "info"}
    for key, value in car_raw.items():
        if key in ("model", "info"):
            continue
        if key == GENERIC and isinstance(value, dict):
            generic = {n: dict(t) for n, t in (out.get(GENERIC) or {}).items()}
            for n, t in value.items():
                generic[n] = {**generic.get(n, {}), **t} if isinstance(t, dict) else t
            out[GENERIC] = generic
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key != "declared_power":
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _car(car: str, raw: object, models_raw: dict, models: Mapping[str, ModelBop], path: Path) -> ModelBop:
    place = f'cars."{car}"'
    if not isinstance(raw, dict):
        raise fail(path, place, "is not a table", f'write [{place}] with model = "..." and the overrides')
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise fail(path, f"{place}.model", "missing", 'name the car\'s model, e.g. model = "bmw_m4_gt3"')
    if model not in models:
        raise fail(path, f"{place}.model", f"model {model!r} is not in this bulletin",
                   f"add [models.{model}] or use one of {', '.join(sorted(models))}")
    _check_tables(raw, path, place)
    merged = _merged(models_raw[model], raw)
    declared = (parse_declared_power(merged["declared_power"], path, f"{place}.declared_power")
                if "declared_power" in merged else None)
    rules = {r: parse_rule(r, t, path, f'"{car}"', declared=declared, prefix="cars")
             for r, t in _rule_tables(merged).items()}
    base = models[model]
    info = dict(base.info)
    if "info" in raw:
        info.update(_info(raw["info"], path, f"{place}.info"))
    weight = merged.get("min_weight_kg")
    return replace(base, rules=MappingProxyType(rules), info=MappingProxyType(dict(sorted(info.items()))),
                   declared_power=declared, car=car,
                   min_weight_kg=None if weight is None else number(weight, path, f"{place}.min_weight_kg"))


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
        raise fail(path, unknown[0], "unknown key", f"use only {', '.join(sorted(_TOP_KEYS))}")
    bulletin_id = raw.get("id")
    if bulletin_id is not None and not isinstance(bulletin_id, str):
        quoted = bulletin_id if type(bulletin_id) in (int, float) else "GTWCE-2025-SPA-R1"
        raise fail(path, "id", f"{bulletin_id!r} is not a string", f'write it in quotes, e.g. id = "{quoted}"')
    if not bulletin_id:
        raise fail(path, "id", "missing" if bulletin_id is None else "empty",
                    'give the bulletin an id, e.g. id = "GTWCE-2025-SPA-R1"')
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise fail(path, "models", "no models", "add at least one [models.<model>] table")
    effective_from = _time(raw.get("effective_from"), path, "effective_from")
    effective_until = _time(raw.get("effective_until"), path, "effective_until")
    if effective_from and effective_until and effective_until <= effective_from:
        raise fail(path, "effective_until", "is not after effective_from", "swap or correct the dates")
    category = raw.get("track_category")
    if category is not None and not isinstance(category, str):
        raise fail(path, "track_category", f"{category!r} is not a string", 'write e.g. track_category = "B"')
    length = raw.get("track_length_m")
    loaded = {m: _model(m, v, path) for m, v in sorted(models.items())}
    cars_raw = raw.get("cars", {})
    if not isinstance(cars_raw, dict):
        raise fail(path, "cars", "is not a table of car entries", 'write each as [cars."7"] with model = "..."')
    cars = {str(c): _car(str(c), v, models, loaded, path) for c, v in sorted(cars_raw.items())}
    return Bulletin(
        id=raw["id"], series=str(raw.get("series", "")), event=str(raw.get("event", "")),
        effective_from=effective_from, effective_until=effective_until,
        reference_ambient_pressure_bar=number(
            raw.get("reference_ambient_pressure_bar", _DEFAULT_REFERENCE_BAR), path,
            "reference_ambient_pressure_bar", minimum=0.1),
        track_category=category,
        models=MappingProxyType(loaded),
        path=str(path), sha256=hashlib.sha256(data).hexdigest(),
        track_length_m=None if length is None else number(length, path, "track_length_m", minimum=1.0),
        cars=MappingProxyType(cars),
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
