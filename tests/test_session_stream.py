"""load_session streams: a log read in chunks of any size, or split into files anywhere, gives the same Session
(channels, message traces with counter skips and checksum failures, findings) as one chunk; the channels of one
message share its time array; a file keeps only the signals the channels need."""

from __future__ import annotations

from datetime import UTC, datetime

import cantools
import numpy as np
import pytest
from _decode_support import DATA, synthetic_rows, write_candump

from telemetry.decode import decode_frames
from telemetry.formats import open_log
from telemetry.formats._base import LogFile
from telemetry.profiles import load_profile
from telemetry.session import load_session
from telemetry.stream import FileStream

START = datetime(2025, 6, 28, 16, 30, tzinfo=UTC)
SKIP_AT, CRC_AT = 0.5, 1.2


@pytest.fixture(scope="module")
def profile():
    return load_profile(DATA / "gt3_test.toml")


@pytest.fixture(scope="module")
def rows():
    db = cantools.database.load_file(str(DATA / "gt3_test.dbc"))
    return synthetic_rows(db, 2.0, skip_counter_at=SKIP_AT, corrupt_crc_at=CRC_AT)


@pytest.fixture(scope="module")
def log(tmp_path_factory, rows):
    return write_candump(tmp_path_factory.mktemp("stream") / "car.log", rows)


def _chunked(monkeypatch, size: int) -> None:
    original = LogFile.chunks
    monkeypatch.setattr(LogFile, "chunks", lambda self, max_frames=1 << 20: original(self, size))


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _assert_same(a, b) -> None:
    assert set(a.channels) == set(b.channels)
    for name, ch in a.channels.items():
        other = b.channels[name]
        assert (ch.unit, ch.source, ch.bus) == (other.unit, other.source, other.bus), name
        assert _equal(ch.time, other.time) and _equal(ch.value, other.value), name
    assert set(a.messages) == set(b.messages)     # in first-appearance order, which depends on the chunks
    for key, trace in a.messages.items():
        other = b.messages[key]
        assert (trace.cycle_time_s, trace.checked, trace.signals) == (other.cycle_time_s, other.checked,
                                                                        other.signals), key
        for field in ("time", "counter_skips", "checksum_failures"):
            assert _equal(getattr(trace, field), getattr(other, field)), (key, field)
    assert a.findings == b.findings and a.missing == b.missing and a.start == b.start
    assert set(a.signals) == set(b.signals)
    for key, sig in a.signals.items():
        assert _equal(sig.time, b.signals[key].time) and _equal(sig.value, b.signals[key].value), key


def _pressures_index_after_skip(rows) -> int:
    return next(i for i, (t, m, _) in enumerate(rows) if m.name == "TST_Pressures" and t > SKIP_AT)


@pytest.mark.parametrize("size", [1, 7, 333])
def test_chunk_size_does_not_change_the_session(monkeypatch, log, profile, size):
    whole = load_session(log, profile)
    whole_all = load_session(log, profile, all_signals=True)
    _chunked(monkeypatch, size)
    _assert_same(whole, load_session(log, profile))
    _assert_same(whole_all, load_session(log, profile, all_signals=True))
    trace = whole.messages["0:TST_Pressures"]
    assert len(trace.counter_skips) == 1 and len(trace.checksum_failures) == 1


def test_a_counter_skip_on_the_first_frame_of_a_chunk_is_found(monkeypatch, log, rows, profile):
    k = _pressures_index_after_skip(rows)
    _chunked(monkeypatch, k)       # the frame after the lost one opens the second chunk
    (skip,) = load_session(log, profile).messages["0:TST_Pressures"].counter_skips
    assert skip == pytest.approx(rows[k][0] - rows[0][0])


def test_a_counter_skip_on_the_first_frame_of_the_second_file_is_found(tmp_path, log, rows, profile):
    k = _pressures_index_after_skip(rows)
    parts = [write_candump(tmp_path / "a.log", rows[:k], start=START),
             write_candump(tmp_path / "b.log", rows[k:], start=START)]
    joined, whole = load_session(parts, profile), load_session(log, profile)
    _assert_same_channels_and_traces(joined, whole)
    (skip,) = joined.messages["0:TST_Pressures"].counter_skips
    assert skip == pytest.approx(rows[k][0] - rows[0][0])


def test_a_file_boundary_inside_a_clean_counter_sequence_is_no_skip(tmp_path, rows, profile):
    k = _pressures_index_after_skip(rows) + 40
    parts = [write_candump(tmp_path / "a.log", rows[:k], start=START),
             write_candump(tmp_path / "b.log", rows[k:], start=START)]
    (skip,) = load_session(parts, profile).messages["0:TST_Pressures"].counter_skips   # only the real one
    assert skip == pytest.approx(rows[_pressures_index_after_skip(rows)][0] - rows[0][0])


def _assert_same_channels_and_traces(a, b) -> None:
    for name, ch in a.channels.items():
        assert _equal(ch.time, b.channels[name].time) and _equal(ch.value, b.channels[name].value), name
    for key, trace in a.messages.items():
        for field in ("time", "counter_skips", "checksum_failures"):
            assert _equal(getattr(trace, field), getattr(b.messages[key], field)), (key, field)


def test_channels_of_one_message_share_its_time_array(log, profile):
    s = load_session(log, profile)
    left, right = s.channels["driveshaft_torque_left"], s.channels["driveshaft_torque_right"]
    assert left.time is right.time is s.messages["0:TST_Torque"].time
    power = s.channels["power"]        # from the first torque sample with both wheel speeds known: a view
    assert np.shares_memory(power.time, left.time) and power.time[-1] == left.time[-1]
    assert s.channels["boost_pressure"].time is s.messages["0:TST_Pressures"].time


def test_a_file_keeps_only_the_signals_the_channels_need(log, profile):
    keep = {"TST_Engine": {"EngineSpeed"}}
    stream = FileStream(keep, {i.message: i for i in profile.integrity})
    with open_log(log) as lf:
        for chunk in lf.chunks():
            stream.add(chunk, decode_frames(chunk, profile.databases(), messages={"TST_Engine", "TST_Pressures"}))
    engine = stream.messages[(0, "TST_Engine")]
    assert set(engine.signals) == {"EngineSpeed"} and len(engine.signals["EngineSpeed"].values[0]) > 100
    pressures = stream.messages[(0, "TST_Pressures")]
    assert not pressures.signals                      # counter and checksum results only, no values
    assert len(pressures.skips) == 1 and len(pressures.failures) == 1
