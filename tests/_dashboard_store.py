"""A small real store for the dashboard and query tests: three teams, four entered cars, three checked runs.

Sessions are made from numpy arrays, judged by the real ``compliance.judge.check.check_session`` against a real
bulletin file, and written with the real store functions (originals, Parquet channels, runs, audit rows).

| car | team       | model            | verdict      | why                                   |
|-----|------------|------------------|--------------|---------------------------------------|
| 417 | Red Racing | bmw_m4_gt3       | infringement | boost above the curve 3 times, 1 allowed |
| 528 | Blue Motorsport | porsche_911_gt3_r | compliant |                                       |
| 639 | Blue Motorsport | bmw_m4_gt3   | incomplete   | fuel_flow not logged                  |
| 750 | Green GT   | porsche_911_gt3_r | (no run)    | entered, no log yet                   |

The car numbers are three digits that occur in no data value, so a page can be searched for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from compliance.bop.bulletins import load_bulletin
from compliance.judge.check import check_session
from compliance.store import schema as st
from compliance.store.originals import channels_table, store_original, write_channels_parquet
from telemetry.channels import CANONICAL, Channel, Session, SourceInfo

EVENT = "testring-2025"
SESSION = "race"
TEAMS = {"417": "Red Racing", "528": "Blue Motorsport", "639": "Blue Motorsport", "750": "Green GT"}
MODELS = {"417": "bmw_m4_gt3", "528": "porsche_911_gt3_r", "639": "bmw_m4_gt3", "750": "porsche_911_gt3_r"}
DRIVERS = {"417": ["Ada Redfern"], "528": ["Bo Blauwe"], "639": ["Cy Azure"], "750": ["Di Verde"]}

BULLETIN = """
id = "TEST-2025-R1"
series = "Test Series"
event = "Testring"
effective_from = "2025-01-01T00:00:00Z"
reference_ambient_pressure_bar = 1.010

[models.bmw_m4_gt3]
name = "BMW M4 GT3"
[models.bmw_m4_gt3.boost]
rpm = [4000, 5000, 6000, 7000]
max_bar = [2.40, 2.35, 2.30, 2.25]
tolerance = 0.02
min_duration_s = 0.1
max_exceedances = 1
[models.bmw_m4_gt3.fuel_flow]
rpm = [4000, 7000]
max_kg_h = [90.0, 110.0]
tolerance = 0.5
min_duration_s = 0.5
[models.bmw_m4_gt3.power]
max_kw = 410.0
tolerance = 2.0
min_duration_s = 0.5

[models.porsche_911_gt3_r]
name = "Porsche 911 GT3 R"
[models.porsche_911_gt3_r.boost]
rpm = [4000, 9000]
max_bar = [1.05, 1.05]
tolerance = 0.02
min_duration_s = 0.1
[models.porsche_911_gt3_r.power]
max_kw = 420.0
tolerance = 2.0
min_duration_s = 0.5
"""

BULLETIN_V2 = BULLETIN.replace('id = "TEST-2025-R1"', 'id = "TEST-2025-R2"').replace(
    "max_bar = [2.40, 2.35, 2.30, 2.25]", "max_bar = [2.45, 2.40, 2.35, 2.30]").replace(
    'effective_from = "2025-01-01T00:00:00Z"', 'effective_from = "2025-06-01T00:00:00Z"')

START = datetime(2025, 6, 28, 16, 30, tzinfo=UTC)


def _channels(car: str, seconds: float = 60.0, rate: float = 100.0) -> dict[str, Channel]:
    t = np.arange(0.0, seconds, 1.0 / rate)
    rpm = 5500.0 + 1500.0 * np.sin(t / 3.0)
    turbo = MODELS[car] == "bmw_m4_gt3"
    boost = (2.0 + 0.2 * np.sin(t / 2.0)) if turbo else 1.0 + 0.01 * np.sin(t)
    if car == "417":                                   # three boost excursions of 0.5 s each
        for start in (10.0, 25.0, 40.0):
            boost[(t >= start) & (t < start + 0.5)] = 2.6
    power = 300.0 + 80.0 * (rpm - 4000.0) / 3000.0
    chans = {"engine_speed": rpm, "boost_pressure": boost, "power": power, "vehicle_speed": 150.0 + 40.0 * np.sin(t / 4.0)}
    if car != "639":
        chans["fuel_flow"] = 60.0 + 30.0 * (rpm - 4000.0) / 3000.0
    return {n: Channel(n, CANONICAL[n].unit, t, v, source=f"test.{n}") for n, v in chans.items()}


def build_store(folder: Path, *, bulletin_v2: bool = False) -> tuple[Path, Path]:
    """Write the store under ``folder``; returns (db path, bulletin path)."""
    folder.mkdir(parents=True, exist_ok=True)
    bpath = folder / "test_bulletin.toml"
    bpath.write_text(BULLETIN)
    bulletin = load_bulletin(bpath)
    db = folder / "store.duckdb"
    store = st.open_store(db)
    runs = []
    for car in ("417", "528", "639"):
        chans = _channels(car)
        raw = folder / f"car{car}.log"
        raw.write_bytes(f"test log of car {car}\n".encode() + channels_table(chans).to_string().encode())
        stored, sha, _ = store_original(raw, store.layout.originals)
        src = SourceInfo(str(raw), sha, "candump", raw.stat().st_size, 6000, (0,), 12, START, 60.0)
        session = Session(channels=chans, sources=(src,), start=START)
        verdict = check_session(session, bulletin, model=MODELS[car]).verdict.to_dict()
        verdict["profile"]["sha256"] = "f" * 64
        folder_c = store.channels_dir(EVENT, SESSION, car)
        parquet, _ = write_channels_parquet(chans, folder_c, sha)
        runs.append((car, sha, stored, raw, verdict, parquet))
    with store.writing() as conn:
        st.upsert_event(conn, EVENT, name="Testring 6 Hours", series="Test Series", track="Testring")
        st.upsert_session(conn, EVENT, SESSION, name="Race", type="race", start_at=START)
        for car, team in TEAMS.items():
            st.upsert_entry(conn, EVENT, car, team=team, model=MODELS[car], class_="Pro", drivers=DRIVERS[car])
        for car, sha, stored, raw, verdict, parquet in runs:
            st.insert_log(conn, st.LogRecord(sha, EVENT, SESSION, car, raw.name, store.relative(stored),
                                             raw.stat().st_size, str(raw), "candump", 6000, (0,), 12, START, 60.0),
                          "tester")
            st.insert_run(conn, st.RunRecord(
                run_id=f"run{car}" + "0" * 26, run_key=f"key{car}", event=EVENT, session=SESSION, car=car,
                log_shas=(sha,), verdict=verdict, reason="ingest", profile_path=f"dbc/{MODELS[car]}.toml",
                bulletin_path=str(bpath), channels_path=store.relative(parquet), session_start=START,
                duration_s=60.0), "tester")
    if bulletin_v2:
        v2 = folder / "test_bulletin_v2.toml"
        v2.write_text(BULLETIN_V2)
        b2 = load_bulletin(v2)
        car, sha, stored, raw, _, parquet = runs[0]
        session = Session(channels=_channels(car), sources=(), start=START)
        verdict = check_session(session, b2, model=MODELS[car]).verdict.to_dict()
        verdict["profile"]["sha256"] = "f" * 64
        with store.writing() as conn:
            st.insert_run(conn, st.RunRecord(
                run_id=f"rerun{car}" + "0" * 24, run_key=f"rekey{car}", event=EVENT, session=SESSION, car=car,
                log_shas=(sha,), verdict=verdict, reason="recheck", bulletin_path=str(v2),
                channels_path=store.relative(parquet), session_start=START, duration_s=60.0), "tester")
    return db, bpath
