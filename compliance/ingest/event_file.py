"""Whose a log is, from the files an event brings: ``event.toml`` (sessions and their windows, entry list, bulletins,
profiles, join settings), the entry list CSV, a log's sidecar ``<file>.meta.json``; and the car profile for a
model. Read by ``compliance.ingest.pipeline`` (and re-exported there), ``watch`` and the command line."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .. import config
from ..bop import RULE_NAMES
from ..errors import ComplianceError
from ..judge.outings import DEFAULT_WINDOW_MARGIN_S, JOIN_MODES, SessionWindow
from ..judge.rules import AMBIENT_BAR_RANGE
from ..store import schema as st

__all__ = ["Entry", "SessionInfo", "EventInfo", "LogMeta", "read_sidecar", "read_entry_list", "load_event_info",
           "resolve_meta", "find_profile", "cached_profile",
           "bulletin_sources", "profile_source"]

_LIMIT_NAME = re.compile(r"[A-Za-z0-9_-]+")    # the <name> of a limit.<name> rule


# -- metadata -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    car: str
    team: str | None = None
    model: str | None = None
    class_: str | None = None
    drivers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session: str
    name: str | None = None
    type: str | None = None
    track: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    bulletins: tuple[Path, ...] = ()          # the bulletin(s) the event file names for this session
    ambient_pressure_bar: float | None = None  # the officials' published ambient pressure (SPEC §5)


@dataclass(frozen=True, slots=True)
class EventInfo:
    """What an ``event.toml`` says about an event: its sessions, entry list and bulletins."""

    event: str
    name: str | None = None
    series: str | None = None
    track: str | None = None
    track_category: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    sessions: Mapping[str, SessionInfo] = field(default_factory=dict)
    entries: Mapping[str, Entry] = field(default_factory=dict)
    bulletins: tuple[Path, ...] = ()
    path: str | None = None
    profiles: Mapping[str, Path] = field(default_factory=dict)     # model -> profile file
    track_length_m: float | None = None
    max_gap_s: float | None = None            # the join rules (compliance.judge.outings), when the file sets them
    window_margin_s: float | None = None
    sanctions: Mapping[str, tuple[str, ...]] | None = None   # [sanctions]: rule -> ladder (None: no table)

    def window(self, session: str) -> SessionWindow | None:
        """The session's window (its start/end widened by the margin), when the file gives a start or an end."""
        s = self.sessions.get(session)
        if s is None or (s.start_at is None and s.end_at is None):
            return None
        margin = DEFAULT_WINDOW_MARGIN_S if self.window_margin_s is None else self.window_margin_s
        return SessionWindow(session, s.start_at, s.end_at, margin)


@dataclass(frozen=True, slots=True)
class LogMeta:
    event: str
    session: str
    car: str
    entry: Entry
    logger_serial: str | None = None
    profile: str | None = None
    bulletin: str | None = None
    join: str | None = None            # the sidecar's "join" (compliance.judge.outings.JOIN_MODES), else the option




def _text(raw: object) -> str | None:
    return None if raw is None or str(raw).strip() == "" else str(raw).strip()


def _drivers(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list | tuple):
        return tuple(str(d).strip() for d in raw if str(d).strip())
    text = str(raw)
    for sep in (";", "|", "/"):
        if sep in text:
            return tuple(d.strip() for d in text.split(sep) if d.strip())
    return (text.strip(),) if text.strip() else ()


def read_sidecar(log_path: str | Path) -> dict | None:
    """The JSON object in ``<file>.meta.json`` beside a log, or None when there is none."""
    side = Path(f"{log_path}.meta.json")
    if not side.exists():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ComplianceError(f"sidecar is not valid JSON: {err}", path=side,
                              fix='write {"event": ..., "session": ..., "car": ...}') from None
    if not isinstance(data, dict):
        raise ComplianceError("sidecar must hold a JSON object", path=side,
                              fix='write {"event": ..., "session": ..., "car": ...}')
    return data


def read_entry_list(path: str | Path) -> dict[str, Entry]:
    """``car,team,model,class,drivers`` CSV (drivers separated by ';', '|' or '/') -> entries by car number."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"car", "model"} - set(reader.fieldnames or ())
        if missing:
            raise ComplianceError(f"entry list lacks the column(s) {', '.join(sorted(missing))}", path=path,
                                  place="line 1", fix="the header must be car,team,model,class,drivers")
        entries: dict[str, Entry] = {}
        for line, row in enumerate(reader, start=2):
            car = _text(row.get("car"))
            if car is None:
                raise ComplianceError("empty car number", path=path, place=f"line {line}", fix="fill the car column")
            car = st.check_id("car", car)
            entries[car] = Entry(car, _text(row.get("team")), _text(row.get("model")), _text(row.get("class")),
                                 _drivers(row.get("drivers")))
    return entries


def _datetime(raw: object) -> datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day)
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


def _date(raw: object) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    return date.fromisoformat(str(raw)[:10])


def _paths(raw: object, base: Path) -> tuple[Path, ...]:
    if raw is None or raw == "":
        return ()
    return tuple(base / str(b) for b in ([raw] if isinstance(raw, str) else raw))


def load_event_info(path: str | Path) -> EventInfo:
    """Read an ``event.toml``: ``id`` (or ``event``), ``name``, ``series``, ``track``, ``track_category``,
    ``track_length_m``, ``start_date``/``end_date``, ``entry_list`` (CSV path; default ``entry_list.csv`` beside
    the file when present), ``bulletins`` (file/folder path or list; default the ``bulletins/`` folder beside the
    file when present), ``[profiles]`` (model = profile path), and ``[[sessions]]`` (or ``[sessions.<id>]``) with
    ``id``, ``name``, ``type``, ``track``, ``start``, ``end``, ``bulletin`` (path or list). Paths are relative to
    the file. ``max_gap_s`` and ``window_margin_s`` set the join rules of :mod:`compliance.judge.outings`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ComplianceError(f"not valid TOML: {err}", path=path, fix="fix the syntax") from None
    base = path.parent
    ev = data.get("event") if isinstance(data.get("event"), dict) else data
    event_id = _text(ev.get("id")) or _text(ev.get("event") if not isinstance(ev.get("event"), dict) else None)
    if event_id is None:
        raise ComplianceError("no event id", path=path, fix='add id = "spa24-2025"')
    event_id = st.check_id("event", event_id)
    raw_sessions = data.get("sessions", ev.get("sessions", []))
    if isinstance(raw_sessions, dict):
        raw_sessions = [{"id": k, **v} for k, v in raw_sessions.items()]
    sessions: dict[str, SessionInfo] = {}
    for i, s in enumerate(raw_sessions):
        sid = _text(s.get("id")) or _text(s.get("session"))
        if sid is None:
            raise ComplianceError("session without id", path=path, place=f"sessions[{i}]", fix='add id = "race"')
        sid = st.check_id("session", sid)
        try:
            sessions[sid] = SessionInfo(sid, _text(s.get("name")), _text(s.get("type")),
                                        _text(s.get("track")) or _text(ev.get("track")),
                                        _datetime(s.get("start")), _datetime(s.get("end")),
                                        _paths(s.get("bulletin", s.get("bulletins")), base),
                                        _ambient(s.get("ambient_pressure_bar"), path, sid))
        except ValueError as err:
            raise ComplianceError(f"bad time: {err}", path=path, place=f"session {sid}",
                                  fix="write times as 2025-06-28T16:30:00Z") from None
    entries: dict[str, Entry] = {}
    if _text(ev.get("entry_list")):
        entries = read_entry_list(base / str(ev["entry_list"]))
    elif (base / "entry_list.csv").exists():
        entries = read_entry_list(base / "entry_list.csv")
    bulletins = _paths(ev.get("bulletins"), base)
    if not bulletins and (base / "bulletins").is_dir():
        bulletins = (base / "bulletins",)
    raw_p = data.get("profiles", ev.get("profiles", {}))
    profiles = {str(m): base / str(p) for m, p in raw_p.items()} if isinstance(raw_p, dict) else {}
    length = ev.get("track_length_m")
    join = {}
    for key in ("max_gap_s", "window_margin_s"):
        value = ev.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise ComplianceError(f"{key} = {value!r} is not a number of seconds", path=path, place=key,
                                  fix=f"write e.g. {key} = 3600, or leave it out for the default")
        join[key] = None if value is None else float(value)
    return EventInfo(event_id, _text(ev.get("name")), _text(ev.get("series")), _text(ev.get("track")),
                     _text(ev.get("track_category")), _date(ev.get("start_date")), _date(ev.get("end_date")),
                     sessions, entries, bulletins, str(path), profiles,
                     float(length) if isinstance(length, int | float) else None, **join,
                     sanctions=_sanctions(data.get("sanctions", ev.get("sanctions")), path))


_SANCTIONS_FIX = 'write e.g. boost = ["reprimand", "drive-through", "disqualification"]'


def _sanctions(raw: object, path: Path) -> dict[str, tuple[str, ...]] | None:
    """``[sanctions]`` (SPEC §5): per rule (a SPEC rule name or ``limit.<name>``, quoted or dotted) a ladder, a
    non-empty list of non-empty strings; the n-th infringing session of a car gets step n, the last repeats."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ComplianceError(f"sanctions = {raw!r} is not a table", path=path, place="sanctions",
                              fix=f"write a [sanctions] table: {_SANCTIONS_FIX}")
    flat: dict[str, object] = {}
    for key, value in raw.items():      # limit.oil_cap = [...] unquoted is a dotted key: a nested table in TOML
        if key == "limit" and isinstance(value, dict):
            flat.update({f"limit.{name}": v for name, v in value.items()})
        else:
            flat[str(key)] = value
    ladders: dict[str, tuple[str, ...]] = {}
    for rule, ladder in flat.items():
        place = f"sanctions.{rule}"
        name = rule.removeprefix("limit.")
        if rule not in RULE_NAMES and not (rule.startswith("limit.") and _LIMIT_NAME.fullmatch(name)):
            raise ComplianceError(f"{rule!r} is not a rule name", path=path, place=place,
                                  fix=f"use one of {', '.join(RULE_NAMES)} or limit.<name> as the bulletin names it")
        if not isinstance(ladder, list) or not ladder:
            raise ComplianceError(f"{ladder!r} is not a non-empty list of sanctions", path=path, place=place,
                                  fix=_SANCTIONS_FIX)
        bad = [i for i, step in enumerate(ladder) if not isinstance(step, str) or not step.strip()]
        if bad:
            raise ComplianceError(f"step {bad[0] + 1} ({ladder[bad[0]]!r}) is not a sanction's name", path=path,
                                  place=place, fix=f"every step is a non-empty string: {_SANCTIONS_FIX}")
        ladders[rule] = tuple(step.strip() for step in ladder)
    return ladders


def _ambient(raw: object, path: Path, session: str) -> float | None:
    """A session's official ambient pressure (``ambient_pressure_bar``, bar absolute), or None."""
    if raw is None:
        return None
    low, high = AMBIENT_BAR_RANGE
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= float(raw) <= high:
        raise ComplianceError(f"ambient_pressure_bar = {raw!r} is not an ambient pressure in bar", path=path,
                              place=f"session {session}", fix="write it in bar absolute, e.g. 0.985 (not hPa)")
    return float(raw)


def resolve_meta(log_path: str | Path, *, event: str | None = None, session: str | None = None,
                 car: str | None = None, entries: Mapping[str, Entry] | None = None,
                 logger_serial: str | None = None) -> LogMeta:
    """Whose log this is: options > sidecar > nothing (an error naming what to give)."""
    side = read_sidecar(log_path) or {}
    values = {"event": event or _text(side.get("event")), "session": session or _text(side.get("session")),
              "car": car or _text(side.get("car"))}
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise ComplianceError(f"unknown {', '.join(missing)} for this log", path=log_path,
                              fix=f"pass --{' --'.join(missing)} or write {log_path}.meta.json")
    ids = {k: st.check_id(k, v) for k, v in values.items()}
    known = (entries or {}).get(ids["car"], Entry(ids["car"]))
    entry = Entry(ids["car"], _text(side.get("team")) or known.team, _text(side.get("model")) or known.model,
                  _text(side.get("class")) or known.class_, _drivers(side.get("drivers")) or known.drivers)
    join = _text(side.get("join"))
    if join is not None and join not in JOIN_MODES:
        raise ComplianceError(f'"join": {join!r} is not one of {", ".join(JOIN_MODES)}',
                              path=f"{log_path}.meta.json", place="join",
                              fix='write "join": "new" for a new outing of the car, or leave it out')
    return LogMeta(ids["event"], ids["session"], ids["car"], entry,
                   logger_serial or _text(side.get("logger_serial")), _text(side.get("profile")),
                   _text(side.get("bulletin")), join)


def find_profile(model_or_path: str, profiles: str | Path | None = None) -> Path:
    """A profile path as given, or the profile whose ``model`` is ``model_or_path`` in the profiles folder."""
    candidate = Path(model_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.exists():
            raise ComplianceError("profile not found", path=candidate, fix="check the --profile path")
        return candidate
    folder = config.profiles_dir(profiles)
    for toml in sorted(folder.glob("*.toml")):
        try:
            if tomllib.loads(toml.read_text(encoding="utf-8")).get("model") == model_or_path:
                return toml
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
    raise ComplianceError(f"no profile with model = {model_or_path!r}", path=folder,
                          fix="pass --profile FILE or set BOPWATCH_PROFILES to the folder of profiles")


_PROFILES: dict[Path, tuple[tuple, Any]] = {}


def _profile_stamp(path: Path, profile: Any) -> tuple:
    files = [path, *(Path(d.file) for d in profile.dbcs)]
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


def cached_profile(path: Path) -> Any:
    """``load_profile`` once per process while neither the profile nor its DBC files change (a watcher or a
    whole event reuses a few profiles; parsing DBCs dominates a duplicate's cost)."""
    from telemetry import load_profile

    path = Path(path).resolve()
    cached = _PROFILES.get(path)
    try:
        if cached is not None and _profile_stamp(path, cached[1]) == cached[0]:
            return cached[1]
    except OSError:
        pass
    profile = load_profile(path)
    _PROFILES[path] = (_profile_stamp(path, profile), profile)
    return profile


def bulletin_sources(option: str | Path | Sequence[str | Path] | None, meta: LogMeta,
                      info: EventInfo | None) -> list[Path]:
    """option > sidecar > the event file's bulletin for the session > the event file's bulletins."""
    if option:
        return [Path(p) for p in ([option] if isinstance(option, str | Path) else option)]
    if meta.bulletin:
        return [Path(meta.bulletin)]
    if info and info.event == meta.event:
        session = info.sessions.get(meta.session)
        if session and session.bulletins:
            return list(session.bulletins)
        return list(info.bulletins)
    return []


def profile_source(option: str | None, meta: LogMeta, info: EventInfo | None) -> str | Path | None:
    """option > sidecar > the event file's profile for the car's model > the model id (profiles folder)."""
    if option or meta.profile:
        return option or meta.profile
    model = meta.entry.model
    if model and info and info.event == meta.event and info.profiles.get(model, Path("")).is_file():
        return info.profiles[model]
    return model
