"""Stint energy: power integrated per stint, reset by the refuel sensor (Hypothesis and worked cases)."""

from __future__ import annotations

import numpy as np
from _compliance_helpers import channel
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.bop.bulletins import RuleSpec
from compliance.judge.rules import evaluate, stint_energies

SPEC = RuleSpec("stint_energy", "power", "MJ", (10.0,), tolerance=0.5)


def test_constant_power_integrates_to_power_times_time():
    t = np.arange(0, 100.01, 0.01)                # 100 s at 200 kW = 20 MJ
    power = channel("power", t, np.full(len(t), 200.0))
    first, last, energy = stint_energies(power, None)
    assert list(first) == [0] and list(last) == [len(t) - 1]
    assert np.isclose(energy[-1], 20.0)


def test_refuel_resets_energy_and_refuelling_time_is_not_counted():
    t = np.arange(0, 120.0, 0.1)
    power = channel("power", t, np.full(len(t), 100.0))
    refuel = channel("refuel", [0.0, 50.0, 60.0], [0, 1, 0])
    first, last, energy = stint_energies(power, refuel)
    assert len(first) == 2
    assert np.isclose(energy[last[0]], 100.0 * t[last[0]] / 1000)
    assert np.all(np.isnan(energy[(t >= 50.0) & (t < 60.0)]))
    assert np.isclose(energy[last[1]], 100.0 * (t[last[1]] - 60.0) / 1000)


def test_stint_over_the_limit_is_one_exceedance_from_the_crossing_to_the_stint_end():
    t = np.arange(0, 200.0, 0.1)
    power = channel("power", t, np.full(len(t), 100.0))        # 0.1 MJ/s: crosses 10.5 MJ at 105 s
    refuel = channel("refuel", [0.0, 150.0, 160.0], [0, 1, 0])
    (e,) = evaluate(SPEC, {"power": power, "refuel": refuel}).exceedances
    assert abs(e.start_s - 105.0) <= 0.1 + 1e-9
    assert np.isclose(e.end_s, 149.9)
    assert np.isclose(e.peak, 14.99) and e.limit == 10.0 and e.unit == "MJ"


def test_negative_power_under_engine_braking_does_not_refund_energy():
    t = np.arange(0, 10.0, 0.1)
    p = np.where(t < 5, 100.0, -100.0)
    _, last, energy = stint_energies(channel("power", t, p), None)
    assert energy[last[0]] >= 0.49


@settings(deadline=None, max_examples=40)
@given(stints=st.lists(st.floats(10, 300), min_size=1, max_size=4), kw=st.floats(10, 500))
def test_each_stint_is_judged_alone(stints, kw):
    pieces, refuel_t, refuel_v, t0 = [], [0.0], [0.0], 0.0
    for length in stints:
        pieces.append(np.arange(t0, t0 + length, 0.5))
        t0 += length
        refuel_t += [t0, t0 + 5.0]
        refuel_v += [1.0, 0.0]
        t0 += 5.0
    t = np.concatenate(pieces)
    power = channel("power", t, np.full(len(t), kw))
    refuel = channel("refuel", refuel_t, refuel_v)
    found = evaluate(SPEC, {"power": power, "refuel": refuel}).exceedances
    # energy of a stint = kw * (last sample - first sample) / 1000
    energies = [kw * (p[-1] - p[0]) / 1000 for p in pieces]
    assert len(found) == sum(e > 10.5 for e in energies)
