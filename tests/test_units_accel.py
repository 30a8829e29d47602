"""Accelerations (SPEC §5): ``long_accel`` and ``lat_accel`` are in g, standard gravity. A DBC unit ``g`` on them
is 9.80665 m/s^2, not the gram pint would read; ``m/s^2`` converts; elsewhere ``g`` is still the gram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from telemetry import load_profile
from telemetry.channels import CANONICAL, GRAVITY_UNIT
from telemetry.errors import UnitError
from telemetry.units import can_convert, convert, normalise

ROOT = Path(__file__).resolve().parent.parent
G0 = 9.80665


def test_acceleration_channels_are_canonical_in_g() -> None:
    for name in ("long_accel", "lat_accel"):
        assert CANONICAL[name].unit == GRAVITY_UNIT == "g"
        assert CANONICAL[name].continuous


@pytest.mark.parametrize("name", ["throttle", "gear", "refuel", "engine_speed", "vehicle_speed", "lap"])
def test_channels_the_v2_rules_judge_or_gate_on_are_canonical(name: str) -> None:
    assert name in CANONICAL


@pytest.mark.parametrize("channel", ["long_accel", "lat_accel"])
@pytest.mark.parametrize(("value", "unit", "expected"), [
    (1.0, "g", 1.0), (1.0, "G", 1.0), (250.0, "mg", 0.25), (G0, "m/s^2", 1.0), (G0, "m/s²", 1.0),
    (G0, "m/s2", 1.0), (-2 * G0, "m/s**2", -2.0), (1.0, "g0", 1.0), (1.0, "gn", 1.0), (32.174049, "ft/s^2", 1.0),
])
def test_accelerometer_units_convert_to_g(channel: str, value: float, unit: str, expected: float) -> None:
    got = convert(np.array([value]), unit, CANONICAL[channel].unit, channel=channel)[0]
    assert got == pytest.approx(expected, rel=1e-6)
    assert can_convert(unit, "g", channel=channel)


def test_g_is_gravity_opposite_an_acceleration_even_without_a_channel() -> None:
    assert convert(np.array([G0]), "m/s^2", "g")[0] == pytest.approx(1.0)
    assert convert(np.array([1.5]), "g", "m/s^2")[0] == pytest.approx(1.5 * G0)
    assert can_convert("m/s^2", "g")


def test_g_stays_the_gram_where_the_unit_is_not_an_acceleration() -> None:
    assert normalise("g") == "g"
    assert convert(np.array([1500.0]), "g", "kg")[0] == pytest.approx(1.5)        # FuelUsed in grams
    with pytest.raises(UnitError):
        convert(np.array([1.0]), "g", "bar", channel="boost_pressure")


def test_a_mass_unit_on_an_acceleration_channel_is_refused_naming_the_channel() -> None:
    assert not can_convert("kg", "g", channel="long_accel")
    with pytest.raises(UnitError) as err:
        convert(np.array([1.0]), "kg", "g", profile="dbc/x.toml", channel="long_accel", signal="LOG_IMU.AccelLong")
    text = str(err.value)
    for part in ("dbc/x.toml", "long_accel", "LOG_IMU.AccelLong", "kg"):
        assert part in text


def test_same_unit_on_an_acceleration_channel_returns_the_values_untouched() -> None:
    x = np.array([0.1, -0.4, 1.2])
    assert convert(x, "g", "g", channel="lat_accel") is x


@pytest.mark.parametrize("model", ["bmw_m4_gt3", "ferrari_296_gt3", "lamborghini_huracan_gt3_evo2",
                                   "mercedes_amg_gt4", "porsche_911_gt3_r"])
def test_shipped_profiles_map_the_logger_imu_and_every_channel_the_v2_rules_need(model: str) -> None:
    profile = load_profile(ROOT / "dbc" / f"{model}.toml")
    for name in ("long_accel", "lat_accel", "throttle", "gear", "refuel", "engine_speed", "vehicle_speed", "lap"):
        assert name in profile.channels, name
    for name in ("long_accel", "lat_accel"):
        cm = profile.channels[name]
        assert cm.message == "LOG_IMU" and cm.unit == "g"
