"""Unit conversions the rules rely on round-trip (through telemetry.units.convert, the public function),
and a limit written in one unit judges the same data converted from another unit identically."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from compliance.bop.bulletins import RuleSpec
from compliance.judge.rules import find_exceedances
from telemetry.errors import UnitError
from telemetry.units import convert

# (unit in a DBC/MDF file, canonical unit of SPEC §1)
PAIRS = [("kPa", "bar"), ("mbar", "bar"), ("psi", "bar"), ("g/s", "kg/h"), ("Nm", "N*m"), ("m/s", "km/h"),
         ("mph", "km/h"), ("1/min", "rpm"), ("W", "kW")]

values = arrays(np.float64, st.integers(1, 200), elements=st.floats(-1e5, 1e5, allow_nan=False))


@settings(deadline=None, max_examples=40)
@pytest.mark.parametrize(("unit", "canonical"), PAIRS)
@given(x=values)
def test_conversion_to_canonical_and_back_round_trips(unit, canonical, x):
    there = convert(x, unit, canonical)
    back = convert(there, canonical, unit)
    np.testing.assert_allclose(back, x, rtol=1e-12, atol=1e-9)


def test_known_factors():
    np.testing.assert_allclose(convert(np.array([264.0]), "kPa", "bar"), [2.64])
    np.testing.assert_allclose(convert(np.array([1.0]), "g/s", "kg/h"), [3.6])
    np.testing.assert_allclose(convert(np.array([6000.0]), "1/min", "rpm"), [6000.0])


def test_unconvertible_unit_is_an_error():
    with pytest.raises(UnitError):
        convert(np.array([1.0]), "kPa", "kg/h")


@settings(deadline=None, max_examples=40)
@given(kpa=arrays(np.float64, st.integers(5, 100), elements=st.floats(150.0, 300.0)))
def test_boost_logged_in_kpa_is_judged_like_boost_logged_in_bar(kpa):
    t = np.arange(len(kpa)) * 0.01
    spec = RuleSpec("boost", "boost_pressure", "bar", (2.5,))
    bar = convert(kpa, "kPa", "bar")
    found = find_exceedances("boost", t, bar, np.full(len(t), 2.5), tolerance=0.0, min_duration_s=0.0,
                             unit=spec.unit)
    direct = find_exceedances("boost", t, kpa, np.full(len(t), 250.0), tolerance=0.0, min_duration_s=0.0,
                              unit="kPa")
    # the limit in kPa is exactly 250; differences only where the value sits on the limit within rounding
    on_edge = np.isclose(kpa, 250.0, rtol=0, atol=1e-9)
    if not on_edge.any():
        assert [(e.start_s, e.end_s) for e in found] == [(e.start_s, e.end_s) for e in direct]
