"""load_session: logs (read with telemetry.formats) -> canonical channels in canonical units, derived power,
message traces with counter and checksum checks, several files joined on one clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cantools
import numpy as np
import pytest
from _decode_support import DATA, synthetic_rows, truth, write_candump

from telemetry.errors import JoinError
from telemetry.profiles import load_profile
from telemetry.session import load_session

START = datetime(2025, 6, 28, 16, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def profile():
    return load_profile(DATA / "gt3_test.toml")


@pytest.fixture(scope="module")
def db():
    return cantools.database.load_file(str(DATA / "gt3_test.dbc"))


@pytest.fixture(scope="module")
def session(tmp_path_factory, profile, db):
    rows = synthetic_rows(db, 2.0, skip_counter_at=0.5, corrupt_crc_at=1.2)
    path = write_candump(tmp_path_factory.mktemp("s") / "car.log", rows)
    calls = []
    s = load_session(path, profile, progress=lambda done, total, what: calls.append((done, what)))
    return s, calls, rows


def test_channels_arrive_in_canonical_units(session):
    s, _, rows = session
    t0 = rows[0][0]  # session time 0 is the first frame
    bp = s.channels["boost_pressure"]
    assert bp.unit == "bar" and bp.source == "TST_Pressures.MAP"
    np.testing.assert_allclose(bp.value, truth("MAP", bp.time + t0) / 100.0, atol=0.0001)
    ff = s.channels["fuel_flow"]
    np.testing.assert_allclose(ff.value, truth("FuelMass", ff.time + t0) * 3.6, atol=0.001 * 3.6)
    assert s.channels["engine_speed"].unit == "rpm"
    np.testing.assert_allclose(s.channels["vehicle_speed"].value, 42.0 * 3.6)
    np.testing.assert_allclose(s.channels["ambient_pressure"].value, 1.005)
    np.testing.assert_allclose(s.channels["wheel_speed_fl"].value, 150.0)
    assert s.channels["throttle"].unit == "%" and np.allclose(s.channels["throttle"].value, 80.0)


def test_time_zero_is_the_first_frame_and_start_is_absolute(session):
    s, _, rows = session
    first = min(float(c.time[0]) for c in s.channels.values())
    assert first >= 0.0
    assert s.start == START + timedelta(seconds=rows[0][0])
    assert s.sources[0].frames == len(rows) and s.sources[0].format == "candump"


def test_power_from_driveshaft_torque_and_rear_wheel_speed(session, profile):
    s, _, _ = session
    power = s.channels["power"]
    tl, tr = s.channels["driveshaft_torque_left"], s.channels["driveshaft_torque_right"]
    assert np.array_equal(power.time, tl.time[-len(power):])
    i = len(power) // 2
    t = power.time[i]
    rl = s.channels["wheel_speed_rl"]
    rr = s.channels["wheel_speed_rr"]
    last = lambda ch: ch.value[np.searchsorted(ch.time, t, side="right") - 1]  # noqa: E731
    expected = (last(tl) * last(rl) + last(tr) * last(rr)) / 3.6 / profile.power.wheel_radius_m / 1000.0
    assert power.value[i] == pytest.approx(expected)
    assert power.unit == "kW" and 100 < power.value[i] < 1000


def test_message_traces_report_counter_skips_and_checksum_failures(session):
    s, _, _ = session
    trace = s.messages["0:TST_Pressures"]
    assert trace.cycle_time_s == pytest.approx(0.01)
    assert trace.checked == ("counter", "checksum")
    assert len(trace.counter_skips) == 1 and 0.5 < trace.counter_skips[0] < 0.53
    assert len(trace.checksum_failures) == 1 and abs(trace.checksum_failures[0] - 1.2) < 0.02
    assert set(trace.signals) == {"boost_pressure", "ambient_pressure"}
    assert "0:TST_Engine" in s.messages and s.messages["0:TST_Engine"].checked == ()


def test_progress_is_reported(session):
    _, calls, rows = session
    assert calls and calls[-1][0] == len(rows) and "car.log" in calls[-1][1]


def test_missing_channels_are_listed(tmp_path, profile, db):
    rows = [r for r in synthetic_rows(db, 0.5) if r[1].name != "TST_Vehicle"]
    s = load_session(write_candump(tmp_path / "a.log", rows), profile)
    assert set(s.missing) == {"vehicle_speed", "refuel"}
    assert "vehicle_speed" not in s.channels


def test_files_are_joined_by_absolute_start(tmp_path, profile, db):
    first = write_candump(tmp_path / "part1.log", synthetic_rows(db, 1.0), start=START)
    second = write_candump(tmp_path / "part2.log", synthetic_rows(db, 1.0), start=START + timedelta(seconds=5))
    s = load_session([second, first], profile)        # given out of order
    assert [src.path for src in s.sources] == [str(first), str(second)]
    rpm = s.channels["engine_speed"]
    assert np.all(np.diff(rpm.time) > 0)
    assert rpm.time[0] < 0.01 and 5.0 <= rpm.time[-1] < 6.1
    assert not [f for f in s.findings if f.kind == "no_start"]


def test_overlapping_files_are_refused_naming_both(tmp_path, profile, db):
    first = write_candump(tmp_path / "car7_a.log", synthetic_rows(db, 2.0), start=START)
    second = write_candump(tmp_path / "car7_b.log", synthetic_rows(db, 2.0), start=START + timedelta(seconds=1))
    with pytest.raises(JoinError) as caught:
        load_session([first, second], profile)
    err = caught.value
    assert err.kind == "overlap" and err.first == str(first) and err.second == str(second)
    assert 0.9 < err.seconds < 1.1
    assert "car7_a.log" in str(err) and "car7_b.log" in str(err) and "overlaps" in str(err)


def test_a_file_inside_another_is_an_overlap_even_after_a_short_one(tmp_path, profile, db):
    """The overlap is judged against the latest end so far, not only the file just before."""
    long = write_candump(tmp_path / "long.log", synthetic_rows(db, 6.0), start=START)
    short = write_candump(tmp_path / "short.log", synthetic_rows(db, 0.5), start=START + timedelta(seconds=1))
    inner = write_candump(tmp_path / "inner.log", synthetic_rows(db, 0.5), start=START + timedelta(seconds=3))
    with pytest.raises(JoinError) as caught:
        load_session([long, short, inner], profile)
    assert caught.value.first == str(long) and caught.value.second == str(short)


def test_files_that_touch_are_joined(tmp_path, profile, db):
    rows = synthetic_rows(db, 2.0)
    cut = next(i for i, r in enumerate(rows) if r[0] >= 1.0)
    first = write_candump(tmp_path / "a.log", rows[:cut], start=START)
    second = write_candump(tmp_path / "b.log", [(t - rows[cut][0], m, p) for t, m, p in rows[cut:]],
                           start=START + timedelta(seconds=rows[cut][0]))
    s = load_session([first, second], profile, max_gap_s=60)
    assert len(s.sources) == 2 and np.all(np.diff(s.channels["engine_speed"].time) > 0)


def test_a_file_beyond_the_allowed_gap_is_refused(tmp_path, profile, db):
    first = write_candump(tmp_path / "practice.log", synthetic_rows(db, 1.0), start=START)
    later = write_candump(tmp_path / "race.log", synthetic_rows(db, 1.0), start=START + timedelta(hours=24))
    assert len(load_session([first, later], profile).sources) == 2          # no gap limit given
    with pytest.raises(JoinError) as caught:
        load_session([first, later], profile, max_gap_s=3600)
    assert caught.value.kind == "gap" and caught.value.second == str(later)
    assert "86399 s after practice.log ends" in str(caught.value) and "3600 s" in str(caught.value)


def test_channel_subset_and_all_signals(tmp_path, profile, db):
    path = write_candump(tmp_path / "b.log", synthetic_rows(db, 0.3))
    s = load_session(path, profile, channels=["boost_pressure"])
    assert set(s.channels) == {"boost_pressure"} and not s.signals and not s.missing
    s = load_session(path, profile, all_signals=True)
    assert "TST_Status.SessionTime" in s.signals and "TST_Weird.Boost2" in s.signals
    assert s.signals["TST_Weird.Boost2"].unit == "furlongs"


def test_unknown_ids_become_session_findings(tmp_path, profile, db):
    rows = synthetic_rows(db, 0.2)
    path = write_candump(tmp_path / "c.log", rows)
    with open(path, "a") as f:
        f.write(f"({START.timestamp() + 0.25:.6f}) can0 7FF#0102\n")
    s = load_session(path, profile)
    (finding,) = [f for f in s.findings if f.kind == "unknown_id"]
    assert "0x7FF" in finding.detail


def test_file_without_start_goes_after_the_one_before_it(tmp_path, profile, db):
    timed = write_candump(tmp_path / "a.log", synthetic_rows(db, 1.0), start=START)
    untimed = write_candump(tmp_path / "b.log", synthetic_rows(db, 1.0, t0=100.0), start=None)
    s = load_session([timed, untimed], profile)
    assert [src.path for src in s.sources] == [str(timed), str(untimed)]
    assert s.sources[1].start is None and s.start is not None
    (finding,) = [f for f in s.findings if f.kind == "no_start"]
    assert "b.log" in finding.detail
    rpm = s.channels["engine_speed"]
    assert np.all(np.diff(rpm.time) >= 0) and 1.9 < rpm.time[-1] < 2.1


@pytest.mark.parametrize("model", sorted(p.stem for p in (DATA.parent.parent.parent / "dbc").glob("*.toml")))
def test_shipped_profile_decodes_a_simulated_log_cleanly(tmp_path, model):
    """The simulator's log of each shipped car: every mapped channel arrives in a plausible range, counters
    and checksums (written by the simulator, checked here) all agree, no unknown ids."""
    from telemetry.simulate.run import SimConfig, simulate_log

    out = tmp_path / f"{model}.log"
    simulate_log(SimConfig(model=model, out=out, fmt="candump", duration_s=8.0))
    profile = load_profile(DATA.parent.parent.parent / "dbc" / f"{model}.toml")
    s = load_session(out, profile)
    assert not s.missing and not s.findings
    checked = [t for t in s.messages.values() if t.checked]
    assert checked and all(len(t.counter_skips) == 0 and len(t.checksum_failures) == 0 for t in checked)
    assert 500 < np.median(s.channels["engine_speed"].value) < 10000
    assert 0.2 < np.median(s.channels["boost_pressure"].value) < 4.0   # NA engines idle in vacuum
    assert 0.7 < np.median(s.channels["ambient_pressure"].value) < 1.1
    assert -50 < np.median(s.channels["power"].value) < 800


def test_untimed_first_file_stays_first_and_session_start_is_unknown(tmp_path, profile, db):
    untimed = write_candump(tmp_path / "a.log", synthetic_rows(db, 1.0), start=None)
    timed = write_candump(tmp_path / "b.log", synthetic_rows(db, 1.0), start=START)
    s = load_session([untimed, timed], profile)
    assert [src.path for src in s.sources] == [str(untimed), str(timed)]
    assert s.start is None and not [f for f in s.findings if f.kind == "overlap"]
    rpm = s.channels["engine_speed"]
    assert np.all(np.diff(rpm.time) >= 0) and 1.9 < rpm.time[-1] < 2.1


def _decoded_mdf(path, start=START):
    from telemetry.simulate.writers import DecodedGroup, write_mdf_decoded

    t = np.arange(0.0, 2.0, 0.01)
    groups = [DecodedGroup("Engine", t, (("nmot", 6000.0 + 0 * t, "1/min"), ("p_boost", 2100.0 + 0 * t, "mbar"),
                                         ("tq", 400.0 + 0 * t, "Nm"))),
              DecodedGroup("Misc", t[::2], (("gear_raw", 3.0 + 0 * t[::2], ""),))]
    write_mdf_decoded(path, groups, start)
    return path


def test_decoded_channel_mdf_maps_channels_by_name_and_converts_units(tmp_path):
    pytest.importorskip("telemetry.formats.mdf", reason="the MDF reader of telemetry.formats has not landed")
    path = _decoded_mdf(tmp_path / "decoded.mf4")
    (tmp_path / "p.toml").write_text('model = "m"\nname = "M"\n[channels]\nengine_speed = "nmot"\n'
                                     'boost_pressure = "p_boost"\nengine_torque = "tq"\nthrottle = "aps"\n'
                                     'gear = "gear_raw"\n')
    s = load_session(path, load_profile(tmp_path / "p.toml"), all_signals=True)
    np.testing.assert_allclose(s.channels["engine_speed"].value, 6000.0)
    np.testing.assert_allclose(s.channels["boost_pressure"].value, 2.1)
    assert s.channels["boost_pressure"].unit == "bar" and s.channels["engine_torque"].unit == "N*m"
    assert s.missing == ("throttle",)
    assert {"nmot", "p_boost", "tq", "gear_raw"} <= set(s.signals)
    assert s.sources[0].frames is None


def test_decoded_mdf_channel_without_unit_for_a_physical_quantity_is_refused(tmp_path):
    pytest.importorskip("telemetry.formats.mdf", reason="the MDF reader of telemetry.formats has not landed")
    from telemetry.errors import UnitError

    path = _decoded_mdf(tmp_path / "decoded.mf4")
    (tmp_path / "p.toml").write_text('model = "m"\nname = "M"\n[channels]\nboost_pressure = "gear_raw"\n')
    with pytest.raises(UnitError, match="boost_pressure.*no unit"):
        load_session(path, load_profile(tmp_path / "p.toml"))


@pytest.mark.parametrize("fmt", ["blf", "mf4"])
def test_every_raw_format_gives_the_same_session(tmp_path, fmt):
    """The simulator writes one drive in several formats: the decoded channels agree with the candump one."""
    from telemetry.simulate.run import SimConfig, simulate_log
    from telemetry.simulate.writers import FORMATS

    profile = load_profile(DATA.parent.parent.parent / "dbc" / "bmw_m4_gt3.toml")
    ref_path, path = tmp_path / "ref.log", tmp_path / f"car{FORMATS[fmt]}"
    simulate_log(SimConfig(model="bmw_m4_gt3", out=ref_path, fmt="candump", duration_s=4.0))
    simulate_log(SimConfig(model="bmw_m4_gt3", out=path, fmt=fmt, duration_s=4.0))
    ref, got = load_session(ref_path, profile), load_session(path, profile)
    assert set(got.channels) == set(ref.channels) and got.start == ref.start
    for name, ch in ref.channels.items():
        assert np.array_equal(got.channels[name].value, ch.value), name
        np.testing.assert_allclose(got.channels[name].time, ch.time, atol=2e-5)
