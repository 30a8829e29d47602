"""Every injection lands where the ground truth says, seen through python-can/asammdf + cantools only, and
nothing else crosses a limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_simulate_oracle import ROOT, decode, judge, load_profile, read_frames

from telemetry.simulate import SimConfig, parse_injection, simulate_log

BULLETIN = ROOT / "sample_logs" / "bulletins" / "gtwce-2026-brh-v2.toml"


def _run(tmp: Path, model: str, name: str, injections: list[str], duration: float = 200.0, **kw) -> tuple[Path, dict]:
    out = tmp / name
    truth = simulate_log(SimConfig(model=model, out=out, fmt=kw.pop("fmt", "blf"), duration_s=duration,
                                   bulletin=BULLETIN, injections=tuple(parse_injection(i) for i in injections),
                                   message_set="logged", seed=kw.pop("seed", 3), **kw))
    return out, truth


def _crc8_bitwise(data: bytes) -> int:
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1D) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc ^ 0xFF


def _assert_events(path: Path, truth: dict, fmt_rules: tuple[str, ...]) -> None:
    profile = ROOT / truth["car"]["profile"]
    found = judge(decode(read_frames(path), profile), profile, BULLETIN, truth["car"]["model"])
    for rule in truth["expected"]["rules"]:
        injected = sorted((e["start_s"], e["end_s"]) for e in truth["injections"] if e.get("rule") == rule)
        if rule == "stint_energy":
            assert len(found[rule]) == truth["expected"]["rules"][rule]["exceedances"]
            continue
        got = sorted(found[rule])
        assert len(got) == len(injected), (rule, got, injected)
        for (start, end, _), (want_start, want_end) in zip(got, injected, strict=True):
            assert abs(start - want_start) < 0.08 and abs(end - want_end) < 0.08, (rule, start, end, want_start)
    assert {r for r in fmt_rules} <= set(truth["expected"]["rules"])


def test_overboost_excursions_are_found_where_the_truth_says_in_a_candump_log(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "bmw_m4_gt3", "car.log", ["boost:count=7,height=0.06,duration=0.3"],
                       fmt="candump")
    assert truth["expected"]["rules"]["boost"] == {"exceedances": 7, "max_exceedances": 5, "infringes": True}
    assert all(abs(e["excess"] - 0.06) < 0.01 for e in truth["injections"])
    _assert_events(path, truth, ("boost", "power"))


def test_power_excess_is_found_in_a_trc_log_and_nothing_else(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "ferrari_296_gt3", "car.trc", ["power:count=2,height=10,duration=0.7"],
                       fmt="trc")
    assert truth["expected"]["verdict"] == "infringement"
    _assert_events(path, truth, ("power",))


def test_fuel_flow_excess_is_found_in_an_asc_log(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "porsche_911_gt3_r", "car.asc", ["fuel_flow:count=3,height=3,duration=0.6"],
                       fmt="asc")
    _assert_events(path, truth, ("fuel_flow",))


def test_fixed_times_are_honoured(tmp_path: Path) -> None:
    _, free = _run(tmp_path, "bmw_m4_gt3", "free.blf", ["boost:count=1"], duration=150)
    at = free["injections"][0]["start_s"] - 0.05
    _, truth = _run(tmp_path, "bmw_m4_gt3", "fixed.blf", [f"boost:at={at}"], duration=150)
    assert truth["injections"][0]["start_s"] == pytest.approx(at + 0.05)


def test_stint_energy_excess_over_the_first_stint(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "lamborghini_huracan_gt3_evo2", "car.blf", ["stint_energy:stint=0,factor=1.3"],
                       duration=240, pit_stops=(90.0,), start_in_pit=False)
    energies = truth["session"]["stint_energy_mj"]
    assert len(energies) == 2 and energies[0] > 47.0 > energies[1]
    profile = ROOT / truth["car"]["profile"]
    found = judge(decode(read_frames(path), profile), profile, BULLETIN, "lamborghini_huracan_gt3_evo2")
    assert np.allclose(found["stint_energies"], energies, rtol=0.01)
    assert len(found["stint_energy"]) == 1 and found["fuel_flow"] == []


def test_logging_gap_leaves_no_frame_on_any_bus(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "bmw_m4_gt3", "car.blf", ["gap:at=50,duration=3"], duration=90)
    frames = read_frames(path)
    assert not ((frames.t > 50.0) & (frames.t < 53.0)).any()
    assert ((frames.t > 49.9) & (frames.t < 50.0)).any() and ((frames.t > 53.0) & (frames.t < 53.1)).any()
    assert truth["expected"]["verdict"] == "incomplete" and truth["expected"]["data_quality"] == ["gap"]


def test_dropped_frames_show_as_counter_skips_at_the_recorded_times(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "bmw_m4_gt3", "car.blf", ["dropped:message=LOG_Pressures,count=4"], duration=60)
    _, dbs = load_profile(ROOT / "dbc" / "bmw_m4_gt3.toml")
    message = dbs[0].get_message_by_name("LOG_Pressures")
    frames = read_frames(path)
    sel = np.flatnonzero((frames.bus == 0) & (frames.ident == message.frame_id))
    counter = np.array([message.decode(frames.data[i])["LOG_Pressures_Counter"] for i in sel])
    skips = frames.t[sel][1:][(np.diff(counter) % 16) != 1]
    event = next(e for e in truth["injections"] if e["kind"] == "dropped")
    assert len(skips) == 4
    assert np.allclose(skips - 0.01, event["times_s"], atol=0.001)


def test_checksum_failures_are_exactly_the_corrupted_frames(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "bmw_m4_gt3", "car.asc", ["checksum:message=LOG_Fuel,count=3"], duration=60,
                       fmt="asc")
    _, dbs = load_profile(ROOT / "dbc" / "bmw_m4_gt3.toml")
    message = dbs[0].get_message_by_name("LOG_Fuel")
    frames = read_frames(path)
    sel = np.flatnonzero((frames.bus == 0) & (frames.ident == message.frame_id))
    bad = [frames.t[i] for i in sel if _crc8_bitwise(frames.data[i][:7]) != frames.data[i][7]]
    event = next(e for e in truth["injections"] if e["kind"] == "checksum")
    assert np.allclose(bad, event["times_s"], atol=0.001)


def test_missing_channel_means_its_message_never_appears(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "porsche_911_gt3_r", "car.blf", ["missing:channel=fuel_flow"], duration=30)
    frames = read_frames(path)
    _, dbs = load_profile(ROOT / "dbc" / "porsche_911_gt3_r.toml")
    assert not ((frames.bus == 0) & (frames.ident == dbs[0].get_message_by_name("LOG_Fuel").frame_id)).any()
    assert next(e for e in truth["injections"] if e["kind"] == "missing")["channels"] == ["fuel_flow"]
    assert truth["expected"]["verdict"] == "incomplete"


def test_truncated_blf_is_cut_where_the_truth_says(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "bmw_m4_gt3", "car.blf", ["truncate:keep=0.6"], duration=60)
    event = next(e for e in truth["injections"] if e["kind"] == "truncate")
    assert path.stat().st_size == event["kept_bytes"] == int(event["original_bytes"] * 0.6)
    assert len(read_frames(path).t) < 0.7 * truth["file"]["frames"]   # python-can silently reads less


def test_time_jump_moves_later_frames(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "mercedes_amg_gt4", "car.blf", ["time_jump:at=20,delta=4"], duration=40)
    t = read_frames(path).t
    jumps = np.flatnonzero(np.diff(t) > 1.0)
    assert len(jumps) == 1 and t[jumps[0]] < 20.0 <= t[jumps[0] + 1] - 4.0 and t[jumps[0] + 1] >= 24.0


def test_frozen_sensor_holds_one_raw_value(tmp_path: Path) -> None:
    path, truth = _run(tmp_path, "bmw_m4_gt3", "car.blf", ["frozen:channel=boost_pressure,duration=6"], duration=90)
    event = next(e for e in truth["injections"] if e["kind"] == "frozen")
    t, v = decode(read_frames(path), ROOT / "dbc" / "bmw_m4_gt3.toml")["boost_pressure"]
    inside = (t >= event["start_s"] + 0.02) & (t < event["end_s"] - 0.02)
    assert inside.sum() > 500 and np.ptp(v[inside]) == 0.0
    around = (t > event["end_s"] + 0.5) & (t < event["end_s"] + 3)
    assert np.ptp(v[around]) > 0


def test_an_injection_the_bulletin_cannot_judge_is_refused(tmp_path: Path) -> None:
    from telemetry.errors import TelemetryError

    with pytest.raises(TelemetryError, match="no boost rule"):
        _run(tmp_path, "porsche_911_gt3_r", "car.blf", ["boost:count=2"], duration=30)
    with pytest.raises(TelemetryError, match="unknown injection"):
        parse_injection("overheat:count=1")
