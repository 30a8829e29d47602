"""Lap segmentation from a lap counter, a beacon, distance or integrated speed; exceedances per lap."""

from __future__ import annotations

import numpy as np
from _compliance_helpers import session

from compliance.judge.laps import lap_at, segment_laps, summarise_laps
from compliance.judge.verdict import Exceedance


def test_lap_counter_numbers_laps_by_its_value():
    t = np.arange(0, 300.0, 0.1)
    counter = np.floor(t / 100.0) + 3          # laps 3, 4, 5 starting at 0, 100, 200
    laps = segment_laps(session({"lap": (t, counter)}))
    assert laps.source == "lap counter"
    assert list(laps.number) == [3, 4, 5]
    np.testing.assert_allclose(laps.start_s, [0.0, 100.0, 200.0], atol=1e-9)
    assert list(lap_at(laps, [0.5, 99.99, 100.0, 250.0])) == [3, 3, 4, 5]


def test_beacon_pulses_start_new_laps_numbered_from_the_out_lap():
    t = np.arange(0, 300.0, 0.1)
    beacon = ((t % 100.0) > 50.0) & ((t % 100.0) < 50.3)
    laps = segment_laps(session({"lap": (t, beacon.astype(float))}))
    assert laps.source == "lap beacon"
    assert list(laps.number) == [0, 1, 2, 3]
    np.testing.assert_allclose(laps.start_s, [0.0, 50.1, 150.1, 250.1], atol=1e-6)


def test_distance_with_lap_length_segments_laps():
    t = np.arange(0, 300.0, 0.1)
    laps = segment_laps(session({"distance": (t, t * 50.0)}), lap_length_m=7004.0)
    assert laps.source == "distance"
    np.testing.assert_allclose(laps.start_s[1:], [140.1, 280.2], atol=0.1)


def test_distance_that_resets_each_lap_needs_no_length():
    t = np.arange(0, 300.0, 0.1)
    laps = segment_laps(session({"distance": (t, (t * 50.0) % 5000.0)}))
    np.testing.assert_allclose(laps.start_s, [0.0, 100.0, 200.0], atol=0.11)


def test_integrated_speed_with_lap_length():
    t = np.arange(0, 300.0, 0.1)
    laps = segment_laps(session({"vehicle_speed": (t, np.full(len(t), 180.0))}), lap_length_m=5000.0)
    assert laps.source == "integrated vehicle_speed"
    np.testing.assert_allclose(laps.start_s, [0.0, 100.0, 200.0], atol=0.11)


def test_no_lap_source_gives_no_laps():
    t = np.arange(0, 10.0, 0.1)
    assert segment_laps(session({"vehicle_speed": (t, np.full(len(t), 180.0))})) is None
    assert lap_at(None, [1.0]) is None


def test_summary_counts_exceedances_per_lap_and_rule():
    t = np.arange(0, 300.0, 0.1)
    laps = segment_laps(session({"lap": (t, np.floor(t / 100.0) + 1)}))
    ex = [Exceedance("boost", s, s + 0.2, 0.2, 2.7, 2.6, 0.1, "bar") for s in (10.0, 20.0, 150.0)]
    ex.append(Exceedance("fuel_flow", 160.0, 161.0, 1.0, 120, 110, 10, "kg/h"))
    summary = summarise_laps(laps, ex)
    assert [(s.lap, dict(s.exceedances)) for s in summary] == [
        (1, {"boost": 2}), (2, {"boost": 1, "fuel_flow": 1}), (3, {})]
    assert summary[-1].to_dict()["lap_time_s"] == round(float(t[-1]) - 200.0, 6)
