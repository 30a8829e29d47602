"""The sample event's endurance session: a bulletin written with SPEC §5 (bulletin v2) keys, and the eight cars
of the entry list each breaking one of its new rules, or (car 32) over-boosting only where the boost rule's
``when`` gate is shut, which must not count.

Fixed like the rest of the sample event (seeds, times, faults), so ``generate_endurance(dir)`` writes the same
bytes every time. Its layout is that of the other sessions: ``<dir>/endurance/car<N>.<ext>`` with sidecars,
``<dir>/ground_truth/endurance/car<N>.json``, and the bulletin at ``<dir>/endurance/<BULLETIN_FILE>`` (kept
beside the logs, out of ``bulletins/``, until the compliance engine reads §5 keys: a folder of bulletins is
loaded whole).
"""

from __future__ import annotations

import json
import logging
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .cars import DBC_DIR
from .injections import parse_injection
from .run import SimConfig, simulate_log
from .writers import suffix_for

__all__ = ["SESSION", "CARS", "BULLETIN_FILE", "BULLETIN_TOML", "generate_endurance", "event_toml_section",
           "readme_section"]

log = logging.getLogger(__name__)

EVENT_ID = "gtwce-sprint-2026-brh"       # the sample event (telemetry.simulate.event.EVENT)
TRACK_ID = "brands_hatch_gp"


@dataclass(frozen=True, slots=True)
class EnduranceSession:
    id: str
    type: str
    start: datetime
    duration_s: float
    pit_stop: float          # the car pits at the end of the lap running at this time
    stop_s: float            # stationary
    refuel_s: float          # refuelling sensor on, 2 s into the stop (SRO Endurance minimum: 37 s)


SESSION = EnduranceSession("endurance", "race", datetime(2026, 6, 28, 10, 0, tzinfo=UTC), 270.0, 60.0, 45.0, 38.0)
BULLETIN_FILE = "gtwce-2026-brh-v3-endurance.toml"


@dataclass(frozen=True, slots=True)
class EnduranceCar:
    car: int
    model: str
    fmt: str                 # format (fmt or fmt.gz)
    faults: tuple[str, ...]  # injection texts
    verdict: str             # what the compliance engine must find
    story: str               # for the README


CARS = (
    EnduranceCar(7, "bmw_m4_gt3", "blf", ("boost:count=4,height=0.06,duration=0.3,between=150;205",),
                 "infringement",
                 "**boost infringement, window scope**: 4 counted over-boosts of 0.06 bar for 0.3 s inside one minute, "
                 "against 3 allowed in any 60 s window (`count_per = \"window\"`); its own boost table (the "
                 "`[cars.\"7\"]` entry: success ballast, -0.02 bar) is the one it must meet"),
    EnduranceCar(32, "bmw_m4_gt3", "candump.gz", ("boost_gated:count=4,height=0.08,duration=0.3",), "compliant",
                 "**compliant**: 4 over-boosts of 0.08 bar, every one while lifting and braking (throttle under "
                 "30 %, long_accel under 0), so the `when` gate is shut and none counts"),
    EnduranceCar(51, "ferrari_296_gt3", "blf", ("power:count=3,height=15,duration=0.8",), "infringement",
                 "**power infringement, share of the declared curve**: 3 excursions of 15 kW for 0.8 s over "
                 "`level_pct` (95.3 % to 200 km/h, 91.1 % above) of its `declared_power` (none allowed)"),
    EnduranceCar(71, "ferrari_296_gt3", "trc.gz", ("boost:count=2,height=0.06,duration=0.7,between=150;215",),
                 "infringement",
                 "**boost infringement, time over per lap**: 2 over-boosts of 0.7 s in one lap: 2 of 3 allowed "
                 "per lap (`count_per = \"lap\"`) but 1.4 s over the limit against `max_time_over_s = 1.0`"),
    EnduranceCar(92, "porsche_911_gt3_r", "blf", ("rev_limit:count=3,height=250,duration=0.4",), "infringement",
                 "**rev-limit infringement**: 3 over-revs of 250 rpm for 0.4 s over its per-gear rev limit "
                 "(none allowed)"),
    EnduranceCar(88, "porsche_911_gt3_r", "asc.gz", ("refuel_time:stop=0,duration=31",), "infringement",
                 "**refuel-time infringement**: its refuelling lasts 31 s against the 37 s minimum (`min_s`); "
                 "its stint energy stays within the (smaller) replenished budget"),
    EnduranceCar(63, "lamborghini_huracan_gt3_evo2", "blf", ("stint_energy:stint=1,factor=1.22",),
                 "infringement",
                 "**stint-energy infringement, replenished budget**: the second stint uses more than the budget "
                 "the 38 s refuelling restored at `replenish_mj_s` (less than `max_mj`, so a §3 reset would "
                 "have let it pass)"),
    EnduranceCar(411, "mercedes_amg_gt4", "candump.gz", ("throttle:count=3,height=10,duration=1.0",),
                 "infringement",
                 "**throttle infringement**: 3 times full throttle (100 %) for 1 s over the GT4's 90 % cap "
                 "(none allowed)"),
)

_FROM = SESSION.start.replace(hour=0, minute=0)

#: The endurance bulletin (SPEC §3 keys with §5 keys). Stint budgets are scaled to the compressed session (real:
#: 890 MJ); refuelling minimum, rev limits, the throttle cap and the power levels have realistic magnitudes.
BULLETIN_TOML = f'''# Endurance session BoP (sample): SPEC §5 keys (when gating, count_per, max_time_over_s, rev_limit per gear,
# throttle cap, refuel_time, declared_power + level_pct, stint energy with replenish_mj_s, car entries, info).
# Sample data: fictional values with realistic magnitudes; stint budgets scaled to the compressed session.
id = "GTWCE-2026-BRH-03"
series = "GT World Challenge Europe Sprint Cup"
event = "GT World Challenge Europe Sprint Cup 2026, Round 4 (sample)"
track = "Brands Hatch Grand Prix Circuit"
track_category = "B"
track_length_m = 3908
effective_from = "{_FROM.strftime("%Y-%m-%dT%H:%M:%SZ")}"
reference_ambient_pressure_bar = 1.010

[models.bmw_m4_gt3]
name = "BMW M4 GT3"
min_weight_kg = 1320
declared_power = {{ rpm = [3000, 4000, 5000, 6000, 7000, 7500], kw = [190.0, 270.0, 320.0, 350.0, 362.0, 350.0] }}

[models.bmw_m4_gt3.info]
homologation = "GT3-035"
fuel_capacity_l = 120
restrictor = "none (turbo)"

[models.bmw_m4_gt3.boost]
rpm = [3000, 4000, 5000, 6000, 7000]
max_bar = [2.64, 2.64, 2.57, 2.47, 2.37]
interpolation = "linear"
tolerance = 0.02
min_duration_s = 0.1
ambient_correction = true
when = {{ throttle = ">= 30", engine_speed = "> 3000", long_accel = ">= 0" }}
count_per = "window"
window_s = 60.0
max_exceedances = 3
max_time_over_s = 2.0

[models.bmw_m4_gt3.power]
level_pct = [95.3, 91.1]
speed_kmh = [0, 200]
tolerance = 2.0
min_duration_s = 0.5

[models.bmw_m4_gt3.stint_energy]
max_mj = 40.0
replenish_mj_s = 0.3

[models.bmw_m4_gt3.refuel_time]
min_s = 37.0
tolerance = 0.5

[models.ferrari_296_gt3]
name = "Ferrari 296 GT3"
min_weight_kg = 1315
declared_power = {{ rpm = [3000, 4500, 6000, 7000, 8000], kw = [180.0, 290.0, 350.0, 365.0, 360.0] }}

[models.ferrari_296_gt3.info]
homologation = "GT3-041"
fuel_capacity_l = 110
restrictor = "none (turbo)"

[models.ferrari_296_gt3.boost]
rpm = [3000, 4500, 6000, 7500]
max_bar = [2.45, 2.45, 2.38, 2.25]
interpolation = "linear"
tolerance = 0.02
min_duration_s = 0.1
ambient_correction = true
when = {{ throttle = ">= 30", engine_speed = "> 3000", long_accel = ">= 0" }}
count_per = "lap"
max_exceedances = 3
max_time_over_s = 1.0

[models.ferrari_296_gt3.power]
level_pct = [95.3, 91.1]
speed_kmh = [0, 200]
tolerance = 2.0
min_duration_s = 0.5

[models.ferrari_296_gt3.stint_energy]
max_mj = 40.0
replenish_mj_s = 0.3

[models.ferrari_296_gt3.refuel_time]
min_s = 37.0
tolerance = 0.5

[models.porsche_911_gt3_r]
name = "Porsche 911 GT3 R (992)"
min_weight_kg = 1305

[models.porsche_911_gt3_r.info]
homologation = "GT3-038"
fuel_capacity_l = 120
restrictor = "2 x 39 mm"

[models.porsche_911_gt3_r.fuel_flow]
rpm = [4000, 6000, 8000, 9400]
max_kg_h = [84.0, 100.0, 110.0, 112.0]
interpolation = "linear"
tolerance = 0.5
min_duration_s = 0.5

[models.porsche_911_gt3_r.power]
max_kw = 362.0
tolerance = 2.0
min_duration_s = 0.5

[models.porsche_911_gt3_r.stint_energy]
max_mj = 44.0
replenish_mj_s = 0.3

[models.porsche_911_gt3_r.rev_limit]
gear = [1, 2, 3, 4, 5, 6]
max_rpm = [9500, 9500, 9500, 9550, 9550, 9600]
interpolation = "step"
tolerance = 50.0
min_duration_s = 0.1

[models.porsche_911_gt3_r.refuel_time]
min_s = 37.0
tolerance = 0.5

[models.lamborghini_huracan_gt3_evo2]
name = "Lamborghini Huracan GT3 EVO2"
min_weight_kg = 1340

[models.lamborghini_huracan_gt3_evo2.info]
homologation = "GT3-036"
fuel_capacity_l = 120
restrictor = "2 x 40 mm"

[models.lamborghini_huracan_gt3_evo2.fuel_flow]
rpm = [4000, 6000, 8500]
max_kg_h = [88.0, 104.0, 115.0]
interpolation = "linear"
tolerance = 0.5
min_duration_s = 0.5

[models.lamborghini_huracan_gt3_evo2.stint_energy]
max_mj = 40.0
replenish_mj_s = 0.3

[models.lamborghini_huracan_gt3_evo2.rev_limit]
max_rpm = 8650
tolerance = 50.0
min_duration_s = 0.1

[models.lamborghini_huracan_gt3_evo2.refuel_time]
min_s = 37.0
tolerance = 0.5

[models.mercedes_amg_gt4]
name = "Mercedes-AMG GT4"
min_weight_kg = 1470

[models.mercedes_amg_gt4.info]
homologation = "GT4-012"
fuel_capacity_l = 100
ballast_kg = 10

[models.mercedes_amg_gt4.boost]
rpm = [2000, 4000, 5500, 6500]
max_bar = [2.035, 2.035, 1.985, 1.905]
interpolation = "step"
tolerance = 0.02
min_duration_s = 0.1
max_exceedances = 5
ambient_correction = true
when = {{ throttle = ">= 30", engine_speed = "> 3000" }}

[models.mercedes_amg_gt4.power]
max_kw = 300.0
tolerance = 2.0
min_duration_s = 0.5

[models.mercedes_amg_gt4.throttle]
max_pct = 90.0
tolerance = 1.0
min_duration_s = 0.2

[models.mercedes_amg_gt4.rev_limit]
max_rpm = 6950
tolerance = 50.0
min_duration_s = 0.1

[models.mercedes_amg_gt4.refuel_time]
min_s = 37.0
tolerance = 0.5

[cars."7"]
model = "bmw_m4_gt3"

[cars."7".info]
ballast_kg = 30
reason = "success ballast after the race win"

[cars."7".boost]
max_bar = [2.62, 2.62, 2.55, 2.45, 2.35]

[cars."32"]
model = "bmw_m4_gt3"

[cars."51"]
model = "ferrari_296_gt3"

[cars."71"]
model = "ferrari_296_gt3"

[cars."92"]
model = "porsche_911_gt3_r"

[cars."88"]
model = "porsche_911_gt3_r"

[cars."63"]
model = "lamborghini_huracan_gt3_evo2"

[cars."411"]
model = "mercedes_amg_gt4"
'''


def _seed(car: int) -> int:
    return zlib.crc32(f"{EVENT_ID}/{SESSION.id}/car{car}".encode())


def write_bulletin(out: str | Path) -> Path:
    """The endurance bulletin at ``<out>/bulletins/<BULLETIN_FILE>`` (beside the sprint bulletins; in force from
    the endurance day, so the sprint sessions' bulletins stay the ones in force for them)."""
    path = Path(out) / "bulletins" / BULLETIN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BULLETIN_TOML)
    return path


def generate_endurance(out: str | Path, progress: Callable[[int, int | None, str], None] | None = None) -> dict:
    """Write the endurance session into ``out`` (the sample event's folder layout): logs with sidecars, ground
    truth, and the bulletin. Returns what was written and each car's expected verdict."""
    out = Path(out)
    bulletin = write_bulletin(out)
    results = []
    for done, entry in enumerate(CARS, start=1):
        gz = entry.fmt.endswith(".gz")
        fmt = entry.fmt.removesuffix(".gz")
        path = out / SESSION.id / f"car{entry.car}{suffix_for(fmt, gz)}"
        truth_path = out / "ground_truth" / SESSION.id / f"car{entry.car}.json"
        config = SimConfig(
            model=entry.model, out=path, fmt=fmt, duration_s=SESSION.duration_s, track=TRACK_ID,
            seed=_seed(entry.car), start=SESSION.start, bulletin=bulletin, profile=DBC_DIR / f"{entry.model}.toml",
            injections=tuple(parse_injection(t) for t in entry.faults), pit_stops=(SESSION.pit_stop,),
            start_in_pit=False, message_set="logged", gz=gz, ground_truth=truth_path, car=str(entry.car),
            stop_s=SESSION.stop_s, refuel_s=SESSION.refuel_s,
            extra_truth={"event": EVENT_ID, "session_id": SESSION.id, "car_number": entry.car})
        truth = simulate_log(config)
        if truth["expected"]["verdict"] != entry.verdict:
            raise AssertionError(f"endurance car {entry.car}: simulated {truth['expected']['verdict']}, "
                                 f"meant {entry.verdict} ({truth['expected']['rules']})")
        meta = {"event": EVENT_ID, "session": SESSION.id, "car": entry.car}
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, sort_keys=True) + "\n")
        results.append((entry, truth))
        if progress:
            progress(done, len(CARS), f"{SESSION.id} car{entry.car}")
    size = sum(p.stat().st_size for p in (out / SESSION.id).iterdir() if p.is_file())
    return {"out": str(out), "logs": len(results), "bytes": size,
            "verdicts": {f"{SESSION.id}/car{e.car}": t["expected"]["verdict"] for e, t in results}}


def event_toml_section() -> str:
    """The ``[[sessions]]`` entry the event file gains once the compliance engine reads the §5 bulletin."""
    end = SESSION.start + timedelta(seconds=SESSION.duration_s)
    return "\n".join(["[[sessions]]", f'id = "{SESSION.id}"', f'type = "{SESSION.type}"',
                      f'start = "{SESSION.start.strftime("%Y-%m-%dT%H:%M:%SZ")}"',
                      f'end = "{end.strftime("%Y-%m-%dT%H:%M:%SZ")}"',
                      f'bulletin = "bulletins/{BULLETIN_FILE}"']) + "\n"


def readme_section() -> list[str]:
    """The README's endurance section (lines)."""
    intro = (
        f"Session `{SESSION.id}` ({SESSION.start.strftime('%Y-%m-%d %H:%M')}Z, {SESSION.duration_s:.0f} s, a flying "
        f"start and one pit stop with a {SESSION.refuel_s:.0f} s refuelling in a {SESSION.stop_s:.0f} s stop) is "
        f"judged against `bulletins/{BULLETIN_FILE}` (GTWCE-2026-BRH-03), written with SPEC §5 keys: `when` "
        "gating on boost, `count_per = \"window\"` and `\"lap\"`, `max_time_over_s`, `rev_limit` per gear and "
        "flat, a `throttle` cap, `refuel_time` with `min_s`, `stint_energy` with `replenish_mj_s`, "
        "`declared_power` with `level_pct`, `[cars.\"N\"]` entries and `[models.M.info]`. The event file lists the "
        "session and gives a `[sanctions]` ladder for boost and power (car 7 infringes boost in the race and "
        "here: its second step). `bopwatch simulate event` writes it with the rest; alone (same bytes) with:")
    lines = [
        "## Endurance session (bulletin v2, SPEC §5)",
        "",
        *textwrap.wrap(intro, 110),
        "",
        "    python -c \"from telemetry.simulate import generate_endurance; generate_endurance('DIR')\"",
        "",
        *textwrap.wrap("(`DIR/endurance/car<N>.<ext>` with sidecars, `DIR/ground_truth/endurance/car<N>.json`). "
                       "Stint budgets (40-44 MJ, 0.3 MJ/s) are scaled to the compressed session.", 110),
        "",
        "| car | model | file | verdict | story |",
        "|---|---|---|---|---|",
    ]
    from .cars import CARS as MODELS

    for e in CARS:
        gz = e.fmt.endswith(".gz")
        name = f"car{e.car}{suffix_for(e.fmt.removesuffix('.gz'), gz)}"
        lines.append(f"| {e.car} | {MODELS[e.model].name} | `{SESSION.id}/{name}` | {e.verdict} | {e.story} |")
    return lines
