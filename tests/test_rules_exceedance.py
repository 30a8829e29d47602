"""Property tests (Hypothesis) of the exceedance semantics of SPEC §3 on channels built from numpy arrays."""

from __future__ import annotations

import numpy as np
from _compliance_helpers import channel
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.bop.bulletins import RuleSpec
from compliance.judge.rules import evaluate, find_exceedances, held_at, limit_curve

settings.register_profile("compliance", deadline=None, max_examples=60)
settings.load_profile("compliance")


@st.composite
def boost_specs(draw):
    n = draw(st.integers(1, 6))
    rpm = np.cumsum(draw(st.lists(st.floats(100, 2000), min_size=n, max_size=n))) + 2000
    bars = draw(st.lists(st.floats(1.5, 3.0), min_size=n, max_size=n))
    return RuleSpec(rule="boost", channel="boost_pressure", unit="bar", limits=tuple(bars), key="engine_speed",
                    key_name="rpm", key_points=tuple(float(r) for r in rpm),
                    interpolation=draw(st.sampled_from(["linear", "step"])),
                    tolerance=draw(st.floats(0.0, 0.1)), min_duration_s=draw(st.floats(0.0, 1.0)),
                    max_exceedances=draw(st.integers(0, 5)), ambient_correction=draw(st.booleans()))


@st.composite
def sampled_times(draw, min_size=5):
    n = draw(st.integers(min_size, 300))
    dt = draw(st.lists(st.floats(0.001, 0.2), min_size=n, max_size=n))
    return np.cumsum(dt)


@given(spec=boost_specs(), times=sampled_times(), data=st.data(), eps=st.floats(1e-6, 0.05))
def test_value_at_limit_plus_tolerance_minus_epsilon_never_exceeds(spec, times, data, eps):
    n = len(times)
    rpm = np.asarray(data.draw(st.lists(st.floats(0, 12000), min_size=n, max_size=n)))
    ambient = np.asarray(data.draw(st.lists(st.floats(0.8, 1.1), min_size=n, max_size=n)))
    limit = limit_curve(spec, rpm)
    if spec.ambient_correction:
        limit = limit + (ambient - 1.01)
    chans = {"engine_speed": channel("engine_speed", times, rpm),
             "ambient_pressure": channel("ambient_pressure", times, ambient),
             "boost_pressure": channel("boost_pressure", times, limit + spec.tolerance - eps)}
    assert evaluate(spec, chans, reference_ambient_bar=1.01).exceedances == ()


@given(times=sampled_times(min_size=20), data=st.data(), tolerance=st.floats(0, 0.1),
       min_duration=st.floats(0, 2.0), height=st.floats(1e-3, 1.0))
def test_plateau_above_limit_longer_than_min_duration_is_exactly_one_exceedance(
        times, data, tolerance, min_duration, height):
    n = len(times)
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n))          # plateau is samples i .. j-1
    limit = np.full(n, 2.5)
    value = np.full(n, 2.0)
    value[i:j] = 2.5 + tolerance + height
    found = find_exceedances("boost", times, value, limit, tolerance=tolerance, min_duration_s=min_duration,
                             unit="bar")
    duration = times[j - 1] - times[i]
    if duration >= min_duration:
        assert len(found) == 1
        e = found[0]
        assert (e.start_s, e.end_s) == (times[i], times[j - 1])
        assert e.duration_s == duration
        assert e.peak == value[i] and e.limit == 2.5 and np.isclose(e.excess, tolerance + height)
    elif duration < min_duration - 1e-9:
        assert found == ()


@given(times=sampled_times(min_size=30), data=st.data())
def test_each_maximal_run_is_one_exceedance_and_runs_never_overlap(times, data):
    n = len(times)
    value = np.asarray(data.draw(st.lists(st.floats(2.0, 3.0), min_size=n, max_size=n)))
    limit = np.full(n, 2.5)
    found = find_exceedances("boost", times, value, limit, tolerance=0.0, min_duration_s=0.0, unit="bar")
    above = value > 2.5
    runs = int(np.count_nonzero(np.diff(np.concatenate(([0], above.astype(int)))) == 1))
    assert len(found) == runs
    for a, b in zip(found, found[1:], strict=False):
        assert a.end_s < b.start_s
    for e in found:
        inside = (times >= e.start_s) & (times <= e.end_s)
        assert np.all(value[inside] > 2.5)
        assert e.peak == value[inside].max()


def test_key_is_the_last_known_sample_at_the_value_time():
    rpm = channel("engine_speed", [0.0, 1.0, 2.0], [4000, 7000, 4000])
    at = np.array([-0.5, 0.0, 0.99, 1.0, 1.5, 2.0, 9.0])
    np.testing.assert_array_equal(held_at(rpm, at), [np.nan, 4000, 4000, 7000, 7000, 4000, 4000])


def test_step_table_holds_each_value_until_the_next_point_and_ends_hold():
    spec = RuleSpec("boost", "boost_pressure", "bar", (2.6, 2.5, 2.4), "engine_speed", "rpm",
                    (4000.0, 5000.0, 6000.0), "step")
    rpm = np.array([1000, 4000, 4999, 5000, 5999, 6000, 9000, np.nan])
    np.testing.assert_array_equal(limit_curve(spec, rpm), [2.6, 2.6, 2.6, 2.5, 2.5, 2.4, 2.4, np.nan])


def test_linear_table_interpolates_and_ends_hold():
    spec = RuleSpec("boost", "boost_pressure", "bar", (2.6, 2.4), "engine_speed", "rpm", (4000.0, 6000.0))
    np.testing.assert_allclose(limit_curve(spec, np.array([0, 4000, 5000, 6000, 8000])),
                               [2.6, 2.6, 2.5, 2.4, 2.4])


def test_ambient_correction_moves_the_limit_by_ambient_minus_reference():
    spec = RuleSpec("boost", "boost_pressure", "bar", (2.5,), "engine_speed", "rpm", (4000.0,),
                    ambient_correction=True)
    t = np.arange(0, 1.0, 0.01)
    chans = {"engine_speed": channel("engine_speed", t, np.full(len(t), 6000)),
             "boost_pressure": channel("boost_pressure", t, np.full(len(t), 2.45)),
             "ambient_pressure": channel("ambient_pressure", [0.0], [0.95])}
    # at 0.95 bar ambient the limit is 2.5 + (0.95 - 1.01) = 2.44: 2.45 exceeds
    result = evaluate(spec, chans, reference_ambient_bar=1.01)
    assert len(result.exceedances) == 1
    assert np.isclose(result.exceedances[0].limit, 2.44)
    assert "corrected" in result.limit_source
    no_ambient = {k: v for k, v in chans.items() if k != "ambient_pressure"}
    assert evaluate(spec, no_ambient, reference_ambient_bar=1.01).exceedances == ()


def test_values_before_the_first_key_sample_are_not_judged():
    spec = RuleSpec("boost", "boost_pressure", "bar", (2.5,), "engine_speed", "rpm", (4000.0,))
    t = np.arange(0, 1.0, 0.1)
    chans = {"engine_speed": channel("engine_speed", [0.55], [6000]),
             "boost_pressure": channel("boost_pressure", t, np.full(len(t), 3.0))}
    (e,) = evaluate(spec, chans).exceedances
    assert e.start_s == t[6]


def test_power_against_a_speed_step_table_uses_the_speed_at_each_power_sample():
    spec = RuleSpec("power", "power", "kW", (400.0, 380.0), "vehicle_speed", "speed_kmh", (0.0, 200.0), "step",
                    tolerance=2.0, min_duration_s=0.5)
    t = np.round(np.arange(0, 10.0, 0.01), 6)
    speed = np.where(t < 5.0, 180.0, 210.0)
    power = np.full(len(t), 390.0)              # under 400 + 2 below 200 km/h, over 380 + 2 above
    chans = {"vehicle_speed": channel("vehicle_speed", t[::5], speed[::5]), "power": channel("power", t, power)}
    (e,) = evaluate(spec, chans).exceedances
    assert (e.start_s, e.end_s, e.limit, e.excess) == (5.0, 9.99, 380.0, 10.0)
