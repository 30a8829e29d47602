"""The simulated drive is physically plausible and calibrated to the bulletin, as teams run their cars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from telemetry.simulate.cars import CARS
from telemetry.simulate.drive import DT, SessionPlan, boost_limit, drive_session, first_order_lag
from telemetry.simulate.limits import load_limits, no_limits
from telemetry.simulate.track import TRACKS, LapKind, lap_profile

ROOT = Path(__file__).resolve().parent.parent
BULLETIN = ROOT / "sample_logs" / "bulletins" / "gtwce-2026-brh-v1.toml"


@pytest.fixture(scope="module")
def bmw():
    limits = load_limits(BULLETIN, "bmw_m4_gt3")
    return drive_session(TRACKS["brands_hatch_gp"], CARS["bmw_m4_gt3"], limits,
                         SessionPlan(260.0, start_in_pit=False, pit_stops=(60.0,)), wheel_radius_m=0.345, seed=11)


def test_gt3_lap_times_and_top_speeds_are_realistic() -> None:
    car = CARS["bmw_m4_gt3"]
    v, t = lap_profile(TRACKS["brands_hatch_gp"], LapKind.FLYING, power_w=380e3, mass_kg=car.mass_kg,
                       cda_m2=car.cda_m2)
    assert 70 < t[-1] < 95 and 220 < v.max() * 3.6 < 270
    v, _ = lap_profile(TRACKS["brands_hatch_gp"], LapKind.IN_OUT, power_w=380e3, mass_kg=car.mass_kg,
                       cda_m2=car.cda_m2)
    assert v[0] == 0.0 and v[-1] == 0.0 and v[100] * 3.6 <= 60.0 + 1e-6


def test_the_team_runs_under_the_ambient_corrected_boost_limit(bmw) -> None:
    ch = bmw.channels
    limit = boost_limit(bmw.limits, ch["engine_speed"], ch["ambient_pressure"])
    assert np.max(ch["boost_pressure"] - limit) < -0.01
    assert np.max(ch["boost_pressure"]) > 2.3          # but uses its boost


def test_pit_stop_refuels_while_stationary_and_splits_stints(bmw) -> None:
    ch = bmw.channels
    refuelling = ch["refuel"] > 0.5
    assert 8.9 < refuelling.sum() * DT < 9.1
    assert np.all(ch["vehicle_speed"][refuelling] == 0.0) and np.all(ch["gear"][refuelling] == 0)
    assert len(bmw.stints) == 2 and bmw.stints[1][0] == pytest.approx(np.flatnonzero(refuelling)[0] * DT, abs=0.02)


def test_engine_speed_gear_and_wheel_speed_agree(bmw) -> None:
    ch = bmw.channels
    car = CARS["bmw_m4_gt3"]
    moving = (ch["gear"] > 1) & (ch["vehicle_speed"] > 60)
    ratio = np.asarray((0.0,) + car.gear_ratios)[ch["gear"][moving].astype(int)] * car.final_drive
    rpm = ch["wheel_speed_rl"][moving] / 3.6 / 0.345 * ratio * 30 / np.pi
    assert np.allclose(rpm, ch["engine_speed"][moving], rtol=0.01, atol=20)
    assert ch["engine_speed"].max() < car.shift_rpm * 1.03


def test_fuel_flow_follows_power_and_power_matches_engine_output(bmw) -> None:
    ch = bmw.channels
    car = CARS["bmw_m4_gt3"]
    engine_kw = ch["engine_torque"] * ch["engine_speed"] * np.pi / 30 / 1000
    full = (ch["throttle"] > 99) & (ch["gear"] > 2)
    assert np.allclose(ch["fuel_flow"][full], engine_kw[full] * car.bsfc_kg_kwh + 1.0, atol=2.0)
    shaft_kw = (ch["driveshaft_torque_left"] + ch["driveshaft_torque_right"]) * ch["wheel_speed_rl"] / 3.6 / 0.345 / 1000
    assert np.allclose(shaft_kw[full], engine_kw[full] * car.driveline_efficiency, rtol=0.03, atol=3.0)


def test_naturally_aspirated_manifold_pressure_stays_under_ambient() -> None:
    drive = drive_session(TRACKS["misano"], CARS["porsche_911_gt3_r"], no_limits("porsche_911_gt3_r"),
                          SessionPlan(60.0), wheel_radius_m=0.34, seed=2)
    assert np.all(drive.channels["boost_pressure"] < drive.channels["ambient_pressure"] + 0.015)


def test_same_seed_same_drive_other_seed_other_drive() -> None:
    def run(seed: int):
        return drive_session(TRACKS["misano"], CARS["ferrari_296_gt3"], no_limits("ferrari_296_gt3"),
                             SessionPlan(30.0), wheel_radius_m=0.35, seed=seed).channels["boost_pressure"]
    assert np.array_equal(run(4), run(4)) and not np.array_equal(run(4), run(5))


def test_first_order_lag_matches_the_exact_step_response() -> None:
    x = np.ones(1000)
    x[0] = 0.0
    y = first_order_lag(x, 0.3)
    t = np.arange(1000) * DT
    assert np.allclose(y[1:], 1 - np.exp(-t[1:] / 0.3), atol=1e-9)
    assert y[-1] == pytest.approx(1.0, abs=1e-9)
