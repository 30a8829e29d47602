"""Unit spellings from DBC/MDF files normalise to one pint unit; conversions are right; what cannot be converted
is refused with the profile, channel and signal named."""

from __future__ import annotations

import numpy as np
import pytest

from telemetry.errors import UnitError
from telemetry.units import can_convert, convert, normalise


@pytest.mark.parametrize(("spelling", "unit"), [
    ("1/min", "rpm"), ("U/min", "rpm"), ("RPM", "rpm"), ("Nm", "N*m"), ("N.m", "N*m"), ("kph", "km/h"),
    ("km/h", "km/h"), ("degC", "degC"), ("°C", "degC"), ("%", "percent"), ("-", ""), ("", ""), (None, ""),
    ("KPA", "kPa"), ("mbar", "mbar"),
])
def test_spellings_normalise(spelling, unit):
    assert normalise(spelling) == unit


@pytest.mark.parametrize(("value", "src", "dst", "expected"), [
    (264.0, "kPa", "bar", 2.64), (1013.0, "mbar", "bar", 1.013), (14.5038, "psi", "bar", 1.0000),
    (1013.0, "hPa", "bar", 1.013), (250000.0, "Pa", "bar", 2.5), (2.5, "bar", "bar", 2.5),
    (10.0, "g/s", "kg/h", 36.0), (90.0, "kg/h", "kg/h", 90.0),
    (300.0, "Nm", "N*m", 300.0), (300.0, "N*m", "N*m", 300.0),
    (10.0, "m/s", "km/h", 36.0), (100.0, "mph", "km/h", 160.9344), (250.0, "kph", "km/h", 250.0),
    (6000.0, "1/min", "rpm", 6000.0), (6000.0, "U/min", "rpm", 6000.0), (6000.0, "rpm", "rpm", 6000.0),
    (55.0, "%", "%", 55.0), (3.0, "-", "", 3.0), (20.0, "degC", "K", 293.15),
])
def test_conversions(value, src, dst, expected):
    assert convert(np.array([value]), src, dst)[0] == pytest.approx(expected, rel=1e-4)


def test_same_unit_returns_values_untouched():
    x = np.array([0.1, 0.2, 0.3])
    assert convert(x, "Nm", "N*m") is x


def test_volume_flow_needs_a_density():
    with pytest.raises(UnitError, match="density"):
        convert(np.array([100.0]), "l/h", "kg/h", profile="car.toml", channel="fuel_flow", signal="F.Flow")
    assert convert(np.array([100.0]), "l/h", "kg/h", density_kg_per_l=0.75)[0] == pytest.approx(75.0)


def test_unconvertible_unit_names_profile_channel_signal_and_units():
    with pytest.raises(UnitError) as err:
        convert(np.array([1.0]), "furlongs", "bar", profile="cars/x.toml", channel="boost_pressure",
                signal="LOG.MAP")
    text = str(err.value)
    for part in ("cars/x.toml", "boost_pressure", "LOG.MAP", "furlongs", "bar"):
        assert part in text


def test_dimension_mismatch_is_refused():
    assert not can_convert("kPa", "kg/h")
    assert can_convert("psi", "bar")


def test_table_conversions_agree_with_pint_for_every_pair():
    from telemetry import units

    ureg = units.registry()
    values = np.array([0.0, 1.0, 2.5, -3.75, 1234.5])
    for src, (dim, _) in units._LINEAR.items():
        for dst, (dim2, _) in units._LINEAR.items():
            if dim != dim2 or src == dst:
                continue
            expected = ureg.Quantity(values, src or "dimensionless").to(dst or "dimensionless").magnitude
            np.testing.assert_allclose(units.convert(values, src, dst), expected, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{src} -> {dst}")
