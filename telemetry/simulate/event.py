"""The sample event: an SRO-style sprint weekend at Brands Hatch, written to ``sample_logs/``.

Everything here is fixed (seeds, times, teams, faults), so ``generate_event(dir)`` writes the same bytes every
time. Sessions are compressed to a few minutes so the folder stays small; the stint-energy allowances in the
sample bulletins are scaled to those short stints (documented in the generated README).
"""

from __future__ import annotations

import json
import logging
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import endurance
from .cars import CARS, DBC_DIR
from .injections import parse_injection
from .run import SimConfig, simulate_log
from .writers import suffix_for

__all__ = ["EVENT", "SESSIONS", "ENTRIES", "BULLETINS", "generate_event"]

log = logging.getLogger(__name__)

EVENT = {
    "id": "gtwce-sprint-2026-brh",
    "name": "GT World Challenge Europe Sprint Cup 2026, Round 4 (sample)",
    "series": "GT World Challenge Europe Sprint Cup",
    "track": "Brands Hatch Grand Prix Circuit",
    "track_id": "brands_hatch_gp",
    "track_category": "B",
    "track_length_m": 3908,
}


@dataclass(frozen=True, slots=True)
class SampleSession:
    id: str
    type: str
    start: datetime
    duration_s: float
    start_in_pit: bool
    pit_stop: float | None      # the mandatory stop in the race


SESSIONS = (
    SampleSession("practice", "practice", datetime(2026, 6, 26, 13, 0, tzinfo=UTC), 150.0, True, None),
    SampleSession("qualifying", "qualifying", datetime(2026, 6, 27, 8, 30, tzinfo=UTC), 180.0, True, None),
    SampleSession("race", "race", datetime(2026, 6, 27, 13, 30, tzinfo=UTC), 240.0, False, 90.0),
)


@dataclass(frozen=True, slots=True)
class Entry:
    car: int
    team: str
    model: str
    drivers: tuple[str, ...]
    formats: tuple[str, str, str]          # practice, qualifying, race (fmt or fmt.gz)
    faults: dict                           # session id -> injection texts
    story: str                             # what the README says about the car


ENTRIES = (
    Entry(7, "Kestrel Racing", "bmw_m4_gt3", ("Jonas Aalto", "Mattia Ferraro"), ("blf", "asc.gz", "blf"),
          {"race": ("boost:count=9,height=0.07,duration=0.35",)},
          "**boost infringement** in the race: 9 over-boost excursions of 0.07 bar for 0.35 s against 5 "
          "allowed (bulletin GTWCE-2026-BRH-02, limits cut by 0.03 bar before the race)"),
    Entry(32, "Halden Motorsport", "bmw_m4_gt3", ("Elise Marchand", "Tom Whitfield"), ("trc.gz", "candump.gz", "mf4"),
          {}, "compliant in every session; runs to the new boost table in the race"),
    Entry(51, "Scuderia Valmonte", "ferrari_296_gt3", ("Luca Benedetti", "Ana Sousa"), ("mf4", "blf", "asc.gz"),
          {}, "compliant in every session"),
    Entry(71, "Rosso Brianza Corse", "ferrari_296_gt3", ("Giorgio Lanza", "Pieter de Wit"),
          ("candump.gz", "blf", "trc.gz"), {"qualifying": ("power:count=3,height=14,duration=0.8",)},
          "**power infringement** in qualifying: 3 excursions of 14 kW over the speed-keyed power limit for "
          "0.8 s (none allowed)"),
    Entry(92, "Lindqvist Racing", "porsche_911_gt3_r", ("Erik Lindqvist", "Noah Berger"), ("mdf", "blf", "mdf"),
          {"race": ("fuel_flow:count=3,height=5,duration=0.8",)},
          "**fuel-flow infringement** in the race: 3 excursions of 5 kg/h for 0.8 s (none allowed); its "
          "practice and race logs are decoded-channel MDF (no frames, channels named by signal)"),
    Entry(63, "Team Orsolini", "lamborghini_huracan_gt3_evo2", ("Marco Orsolini", "Chloe Dumas"),
          ("asc.gz", "trc.gz", "blf"), {"race": ("stint_energy:stint=0,factor=1.3",)},
          "**stint-energy infringement** in the race: the first stint (to the mandatory stop) uses about "
          "14 % more energy than its allowance"),
    Entry(88, "Atlas Motorsport", "porsche_911_gt3_r", ("Sven Halvorsen", "Keiko Tanaka"),
          ("blf", "blf", "candump.gz"), {"race": ("gap:at=120,duration=5",)},
          "**incomplete** in the race: the logger recorded nothing for 5 s (a logging gap on both buses from "
          "120 s), so the race cannot be certified; compliant in practice and qualifying"),
    Entry(411, "Brightwater GT4", "mercedes_amg_gt4", ("Olivia Grant", "Ravi Patel"), ("candump.gz", "asc.gz", "blf"),
          {}, "GT4, compliant in every session (power from the ECU's engine torque: no drive-shaft sensors)"),
)

#: the sprint sessions' loggers recorded no IMU (their logs predate the acceleration channels of SPEC §5)
SPRINT_OMITS = ("long_accel", "lat_accel")

_V1_FROM = datetime(2026, 6, 26, 0, 0, tzinfo=UTC)
_V2_FROM = datetime(2026, 6, 27, 11, 0, tzinfo=UTC)

# bulletin id -> (effective_from, effective_until, per-model rules); v2 cuts the BMW and AMG boost tables
_STINT = {"bmw_m4_gt3": 47.0, "ferrari_296_gt3": 47.0, "porsche_911_gt3_r": 47.0,
          "lamborghini_huracan_gt3_evo2": 47.0}


def _models(boost_cut: float) -> dict:
    bmw = [2.67, 2.67, 2.60, 2.50, 2.40]
    amg = [2.05, 2.05, 2.00, 1.92]
    return {
        "bmw_m4_gt3": {
            "name": "BMW M4 GT3", "min_weight_kg": 1320,
            "boost": {"rpm": [3000, 4000, 5000, 6000, 7000], "max_bar": [round(v - boost_cut, 3) for v in bmw],
                      "interpolation": "linear", "tolerance": 0.02, "min_duration_s": 0.1, "max_exceedances": 5,
                      "ambient_correction": True},
            "power": {"max_kw": 330.0, "tolerance": 2.0, "min_duration_s": 0.5},
            "stint_energy": {"max_mj": _STINT["bmw_m4_gt3"]},
        },
        "ferrari_296_gt3": {
            "name": "Ferrari 296 GT3", "min_weight_kg": 1315,
            "boost": {"rpm": [3000, 4500, 6000, 7500], "max_bar": [2.45, 2.45, 2.38, 2.25],
                      "interpolation": "linear", "tolerance": 0.02, "min_duration_s": 0.1, "max_exceedances": 5,
                      "ambient_correction": True},
            "power": {"speed_kmh": [190, 200], "max_kw": [330.0, 322.0], "interpolation": "linear",
                      "tolerance": 2.0, "min_duration_s": 0.5},
            "stint_energy": {"max_mj": _STINT["ferrari_296_gt3"]},
        },
        "porsche_911_gt3_r": {
            "name": "Porsche 911 GT3 R (992)", "min_weight_kg": 1305,
            "fuel_flow": {"rpm": [4000, 6000, 8000, 9400], "max_kg_h": [84.0, 100.0, 110.0, 112.0],
                          "interpolation": "linear", "tolerance": 0.5, "min_duration_s": 0.5},
            "power": {"max_kw": 362.0, "tolerance": 2.0, "min_duration_s": 0.5},
            "stint_energy": {"max_mj": _STINT["porsche_911_gt3_r"]},
        },
        "lamborghini_huracan_gt3_evo2": {
            "name": "Lamborghini Huracan GT3 EVO2", "min_weight_kg": 1340,
            "fuel_flow": {"rpm": [4000, 6000, 8500], "max_kg_h": [88.0, 104.0, 115.0], "interpolation": "linear",
                          "tolerance": 0.5, "min_duration_s": 0.5},
            "stint_energy": {"max_mj": _STINT["lamborghini_huracan_gt3_evo2"]},
        },
        "mercedes_amg_gt4": {
            "name": "Mercedes-AMG GT4", "min_weight_kg": 1470,
            "boost": {"rpm": [2000, 4000, 5500, 6500], "max_bar": [round(v - boost_cut / 2, 3) for v in amg],
                      "interpolation": "step", "tolerance": 0.02, "min_duration_s": 0.1, "max_exceedances": 5,
                      "ambient_correction": True},
            "power": {"max_kw": 300.0, "tolerance": 2.0, "min_duration_s": 0.5},
        },
    }


BULLETINS = {
    "gtwce-2026-brh-v1": {"id": "GTWCE-2026-BRH-01", "effective_from": _V1_FROM, "effective_until": _V2_FROM,
                          "notes": "BoP for the Brands Hatch weekend (practice and qualifying).",
                          "models": _models(0.0)},
    "gtwce-2026-brh-v2": {"id": "GTWCE-2026-BRH-02", "effective_from": _V2_FROM, "effective_until": None,
                          "notes": "Replaces GTWCE-2026-BRH-01 from the race on: BMW M4 GT3 boost -0.03 bar, "
                                   "Mercedes-AMG GT4 boost -0.015 bar at every rpm.",
                          "models": _models(0.03)},
}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return json.dumps(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _bulletin_text(data: dict) -> str:
    lines = [f"# {data['notes']}", "# Sample data: fictional values in the SRO format (SPEC §3).",
             f"id = {_toml_value(data['id'])}", f"series = {_toml_value(EVENT['series'])}",
             f"event = {_toml_value(EVENT['name'])}", f"track = {_toml_value(EVENT['track'])}",
             f"track_category = {_toml_value(EVENT['track_category'])}",
             f"track_length_m = {EVENT['track_length_m']}",
             f"effective_from = {_toml_value(data['effective_from'])}"]
    if data["effective_until"]:
        lines.append(f"effective_until = {_toml_value(data['effective_until'])}")
    lines.append("reference_ambient_pressure_bar = 1.010")
    for model, rules in data["models"].items():
        lines += ["", f"[models.{model}]", f"name = {_toml_value(rules['name'])}",
                  f"min_weight_kg = {rules['min_weight_kg']}"]
        for rule in ("boost", "fuel_flow", "power", "stint_energy"):
            if rule in rules:
                lines.append(f"\n[models.{model}.{rule}]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in rules[rule].items()]
    return "\n".join(lines) + "\n"


def _bulletin_for(at: datetime) -> str:
    for name, data in BULLETINS.items():
        if data["effective_from"] <= at and (data["effective_until"] is None or at < data["effective_until"]):
            return name
    raise AssertionError(f"no sample bulletin in force at {at}")


def _event_toml() -> str:
    lines = ["# The sample event (sessions compressed to a few minutes each).",
             f"id = {_toml_value(EVENT['id'])}", f"name = {_toml_value(EVENT['name'])}",
             f"series = {_toml_value(EVENT['series'])}", f"track = {_toml_value(EVENT['track'])}",
             f"track_category = {_toml_value(EVENT['track_category'])}",
             f"track_length_m = {EVENT['track_length_m']}", "", "# car profiles per model (in dbc/, not copied)",
             "[profiles]"]
    lines += [f"{m} = {_toml_value('../dbc/' + m + '.toml')}" for m in sorted({e.model for e in ENTRIES})]
    for s in SESSIONS:
        end = s.start + timedelta(seconds=s.duration_s)
        lines += ["", "[[sessions]]", f"id = {_toml_value(s.id)}", f"type = {_toml_value(s.type)}",
                  f"start = {_toml_value(s.start)}", f"end = {_toml_value(end)}",
                  f"bulletin = {_toml_value('bulletins/' + _bulletin_for(s.start) + '.toml')}"]
    lines += ["", endurance.event_toml_section().rstrip("\n"), "",
              "# SPEC §5: per car and rule, the n-th infringing session of the event gets the n-th step",
              "[sanctions]", 'boost = ["reprimand", "drive-through", "disqualification"]',
              'power = ["reprimand", "drive-through", "disqualification"]']
    return "\n".join(lines) + "\n"


def _entry_csv() -> str:
    rows = ["car,team,model,class,drivers"]
    for e in ENTRIES:
        rows.append(f"{e.car},{e.team},{e.model},{CARS[e.model].car_class},{';'.join(e.drivers)}")
    return "\n".join(rows) + "\n"


def _seed(entry: Entry, session: SampleSession) -> int:
    return zlib.crc32(f"{EVENT['id']}/{session.id}/car{entry.car}".encode())


def generate_event(out: str | Path, progress: Callable[[int, int | None, str], None] | None = None) -> dict:
    """Write the sample event into ``out`` (replacing what this function wrote there before)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("bulletins", "ground_truth", *(s.id for s in SESSIONS), endurance.SESSION.id):
        if (out / sub).is_dir():
            shutil.rmtree(out / sub)
    (out / "bulletins").mkdir()
    for name, data in BULLETINS.items():
        (out / "bulletins" / f"{name}.toml").write_text(_bulletin_text(data))
    (out / "event.toml").write_text(_event_toml())
    (out / "entry_list.csv").write_text(_entry_csv())
    results = []
    total = len(ENTRIES) * len(SESSIONS)
    done = 0
    for session in SESSIONS:
        bulletin = out / "bulletins" / f"{_bulletin_for(session.start)}.toml"
        for entry in ENTRIES:
            fmt = entry.formats[[s.id for s in SESSIONS].index(session.id)]
            gz = fmt.endswith(".gz")
            fmt = fmt.removesuffix(".gz")
            path = out / session.id / f"car{entry.car}{suffix_for(fmt, gz)}"
            truth_path = out / "ground_truth" / session.id / f"car{entry.car}.json"
            config = SimConfig(
                model=entry.model, out=path, fmt=fmt, duration_s=session.duration_s, track=EVENT["track_id"],
                seed=_seed(entry, session), start=session.start, bulletin=bulletin,
                profile=DBC_DIR / f"{entry.model}.toml",
                injections=tuple(parse_injection(t) for t in entry.faults.get(session.id, ())),
                pit_stops=() if session.pit_stop is None else (session.pit_stop,),
                start_in_pit=session.start_in_pit, message_set="logged", gz=gz, ground_truth=truth_path,
                extra_truth={"event": EVENT["id"], "session_id": session.id, "car_number": entry.car,
                             "team": entry.team}, omit_channels=SPRINT_OMITS)
            truth = simulate_log(config)
            meta = {"event": EVENT["id"], "session": session.id, "car": entry.car}
            path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, sort_keys=True) + "\n")
            results.append((session.id, entry, truth))
            done += 1
            if progress:
                progress(done, total, f"{session.id} car{entry.car}")
    endurance_run = endurance.generate_endurance(out, progress)     # the bulletin v2 session (SPEC §5)
    (out / "README.md").write_text(_readme(results))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"out": str(out), "logs": len(results) + endurance_run["logs"], "bytes": size,
            "verdicts": {**{f"{s}/car{e.car}": t["expected"]["verdict"] for s, e, t in results},
                         **endurance_run["verdicts"]}}


def _readme(results) -> str:
    lines = [
        f"# Sample event: {EVENT['name']}",
        "",
        "Simulated data (`bopwatch simulate`), not real cars: fictional teams and drivers, BoP values in the SRO",
        "format with realistic magnitudes. Regenerate byte for byte with:",
        "",
        "    bopwatch simulate event --out sample_logs",
        "",
        "Contents: `event.toml` (event, track, sessions in UTC, the bulletin in force per session, the profile per",
        "model), `entry_list.csv` (car,team,model,class,drivers; drivers separated by `;`), `bulletins/*.toml`",
        "(SPEC §3), `<session>/car<N>.<ext>` logs each with a `<file>.meta.json` sidecar",
        "`{\"event\", \"session\", \"car\"}`, and `ground_truth/<session>/car<N>.json` (what was injected and the",
        "expected verdict; format in docs/simulator.md). Car profiles are the ones in `dbc/`.",
        "",
        "Sessions are compressed to a few minutes (practice 150 s, qualifying 180 s, race 240 s with the",
        "mandatory pit stop and refuelling). The stint-energy allowances in the sample bulletins (47 MJ) are",
        "scaled to those short stints; real allowances (e.g. 890 MJ) cover stints of an hour. Bulletin",
        "GTWCE-2026-BRH-02 replaces -01 from 2026-06-27T11:00Z, between qualifying and the race, cutting the BMW",
        "and Mercedes-AMG boost tables.",
        "",
        "## Who does what",
        "",
        "| car | team | model | story |",
        "|---|---|---|---|",
    ]
    for e in ENTRIES:
        lines.append(f"| {e.car} | {e.team} | {CARS[e.model].name} | {e.story} |")
    lines += ["", "## Expected verdicts", "", "| session | car | file | verdict | exceedances (count / allowed) |",
              "|---|---|---|---|---|"]
    for session, e, t in results:
        counts = ", ".join(f"{k} {v['exceedances']}/{v['max_exceedances']}" for k, v in
                           t["expected"]["rules"].items())
        lines.append(f"| {session} | {e.car} | `{session}/{t['file']['path']}` | {t['expected']['verdict']} | "
                     f"{counts} |")
    lines += ["", *endurance.readme_section()]
    return "\n".join(lines) + "\n"
