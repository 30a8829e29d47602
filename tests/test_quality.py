"""Data-quality checks: each problem found with its span, errors only where a rule needs the channel."""

from __future__ import annotations

import numpy as np
from _compliance_helpers import session

from compliance.judge.quality import FROZEN_S, GAP_FACTOR, check_quality
from telemetry.channels import MessageTrace
from telemetry.frames import Finding


def _t(end=60.0, dt=0.01):
    return np.round(np.arange(0.0, end, dt), 6)


def _running(t):
    return {"engine_speed": (t, 6000 + 500 * np.sin(t)), "vehicle_speed": (t, 150 + 20 * np.sin(t / 3))}


def _boost(t):
    return 2.0 + 0.3 * np.sin(t * 2.1)


def test_clean_session_has_no_findings():
    t = _t()
    s = session({**_running(t), "boost_pressure": (t, _boost(t))})
    assert check_quality(s, None, ["boost_pressure", "engine_speed"]) == []


def test_missing_needed_channel_is_an_error_spanning_the_session():
    t = _t()
    s = session(_running(t))
    (f,) = check_quality(s, None, ["boost_pressure"])
    assert (f.check, f.channel, f.severity, f.start_s) == ("missing", "boost_pressure", "error", 0.0)
    assert np.isclose(f.end_s, t[-1])


def test_gap_from_message_cycle_time_is_found_with_its_span():
    t = _t()
    keep = (t < 20.0) | (t >= 23.5)
    trace = MessageTrace("LOG_Pressures", 0, t[keep], 0.01, signals=("boost_pressure",))
    s = session({**_running(t), "boost_pressure": (t[keep], _boost(t[keep]))},
                messages={"0:LOG_Pressures": trace})
    (f,) = check_quality(s, None, ["boost_pressure"])
    assert (f.check, f.channel, f.severity) == ("gap", "boost_pressure", "error")
    assert np.isclose(f.start_s, 19.99) and np.isclose(f.end_s, 23.5)


def test_interval_below_gap_factor_cycles_is_not_a_gap():
    t = _t()
    keep = (t < 20.0) | (t >= 20.0 + 0.01 * (GAP_FACTOR - 2))
    trace = MessageTrace("LOG_Pressures", 0, t[keep], 0.01, signals=("boost_pressure",))
    s = session({**_running(t), "boost_pressure": (t[keep], _boost(t[keep]))},
                messages={"0:LOG_Pressures": trace})
    assert check_quality(s, None, ["boost_pressure"]) == []


def test_gap_on_unneeded_channel_is_a_warning():
    t = _t()
    keep = (t < 20.0) | (t >= 30)
    trace = MessageTrace("ECU_Pedals", 1, t[keep], 0.05, signals=("throttle",))
    s = session({**_running(t), "throttle": (t[keep], np.full(keep.sum(), 50.0))},
                messages={"1:ECU_Pedals": trace})
    (f,) = check_quality(s, None, ["engine_speed"])
    assert (f.check, f.channel, f.severity) == ("gap", "throttle", "warning")


def test_channel_without_trace_uses_its_median_interval_and_a_stop_before_the_end_is_a_gap():
    t = _t()
    early = t < 50.0
    s = session({**_running(t), "fuel_flow": (t[early], 80 + np.sin(t[early]))})
    (f,) = check_quality(s, None, ["fuel_flow"])
    assert (f.check, f.channel) == ("gap", "fuel_flow")
    assert np.isclose(f.start_s, 49.99) and np.isclose(f.end_s, t[-1])


def test_frozen_sensor_while_running_is_found():
    t = _t()
    boost = _boost(t)
    frozen = (t >= 10.0) & (t < 10.0 + FROZEN_S + 2)
    boost[frozen] = 2.31
    s = session({**_running(t), "boost_pressure": (t, boost)})
    (f,) = check_quality(s, None, ["boost_pressure"])
    assert (f.check, f.channel, f.severity) == ("frozen", "boost_pressure", "error")
    assert np.isclose(f.start_s, 10.0) and np.isclose(f.end_s, t[frozen][-1])


def test_constant_value_while_the_car_stands_is_not_frozen():
    t = _t()
    speed = np.where((t > 10) & (t < 40), 0.0, 150.0 + 10 * np.sin(t))
    boost = np.where((t > 10) & (t < 40), 1.0, _boost(t))
    s = session({"engine_speed": (t, 6000 + 500 * np.sin(t)), "vehicle_speed": (t, speed),
                 "boost_pressure": (t, boost)})
    assert check_quality(s, None, ["boost_pressure"]) == []


def test_counter_skips_and_checksum_failures_are_grouped_into_spans():
    t = _t()
    trace = MessageTrace("LOG_Fuel", 0, t, 0.01, counter_skips=np.array([5.0, 5.2, 5.5, 30.0]),
                         checksum_failures=np.array([12.0]), checked=("counter", "checksum"),
                         signals=("fuel_flow",))
    s = session({**_running(t), "fuel_flow": (t, 80 + np.sin(t))}, messages={"0:LOG_Fuel": trace})
    found = [(f.check, f.start_s, f.end_s, f.detail) for f in check_quality(s, None, ["fuel_flow"])]
    assert found == [
        ("counter", 5.0, 5.5, "3 rolling-counter skips in LOG_Fuel on bus 0"),
        ("checksum", 12.0, 12.0, "1 checksum failure in LOG_Fuel on bus 0"),
        ("counter", 30.0, 30.0, "1 rolling-counter skip in LOG_Fuel on bus 0"),
    ]


def test_truncated_file_is_a_session_wide_error_at_the_file_end_and_unknown_ids_a_warning():
    t = _t()
    s = session(_running(t), source_findings=[Finding("truncated", "last container cut", offset=4096)],
                findings=[Finding("unknown_id", "id 0x7ff not in any DBC", count=12)])
    found = {f.check: f for f in check_quality(s, None, ["engine_speed"])}
    assert found["truncated"].severity == "error" and found["truncated"].channel == ""
    assert np.isclose(found["truncated"].start_s, t[-1])
    assert "offset 4096" in found["truncated"].detail
    assert found["unknown_id"].severity == "warning" and "12 times" in found["unknown_id"].detail


def test_time_going_backwards_in_a_channel_is_an_error():
    t = _t(10.0)
    t2 = t.copy()
    t2[500:] -= 0.5
    s = session({**_running(t), "boost_pressure": (t2, _boost(t))})
    checks = {(f.check, f.severity) for f in check_quality(s, None, ["boost_pressure"])}
    assert ("time_backwards", "error") in checks


def test_findings_are_sorted_by_time():
    t = _t()
    trace = MessageTrace("LOG_Fuel", 0, t, 0.01, counter_skips=np.array([40.0, 3.0]), signals=("fuel_flow",))
    s = session({**_running(t), "fuel_flow": (t, 80 + np.sin(t))}, messages={"0:LOG_Fuel": trace})
    starts = [f.start_s for f in check_quality(s, None, ["fuel_flow"])]
    assert starts == sorted(starts)


def test_mapped_channel_without_data_is_a_warning_when_no_rule_needs_it():
    t = _t()
    s = session(_running(t), missing=("throttle",))
    (f,) = check_quality(s, None, ["engine_speed"])
    assert (f.check, f.channel, f.severity) == ("missing", "throttle", "warning")


def test_steady_state_on_the_pit_lane_limiter_is_not_frozen():
    t = _t()
    limiter = (t > 10) & (t < 40)
    speed = np.where(limiter, 60.0, 150.0 + 10 * np.sin(t))
    rpm = np.where(limiter, 3200.0, 6000 + 500 * np.sin(t))
    s = session({"engine_speed": (t, rpm), "vehicle_speed": (t, speed),
                 "wheel_speed_rl": (t, np.where(limiter, 60.02, speed + 0.1))})
    assert check_quality(s, None, ["wheel_speed_rl", "engine_speed"]) == []


def test_message_without_a_dbc_cycle_time_uses_its_median_interval():
    t = _t()
    keep = (t < 20.0) | (t >= 22.0)
    trace = MessageTrace("LOG_Pressures", 0, t[keep], None, signals=("boost_pressure",))
    s = session({**_running(t), "boost_pressure": (t[keep], _boost(t[keep]))},
                messages={"0:LOG_Pressures": trace})
    (f,) = check_quality(s, None, ["boost_pressure"])
    assert (f.check, f.severity) == ("gap", "error") and "median interval 10 ms" in f.detail
