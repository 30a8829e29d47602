"""The writers: every format round-trips through the reference readers (python-can, asammdf) frame for frame,
the encoder agrees with cantools bit for bit, and output is deterministic."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import can
import cantools
import numpy as np
import pytest

from telemetry.simulate.cars import CARS, load_car_profile
from telemetry.simulate.drive import SessionPlan, drive_session
from telemetry.simulate.encode import CANONICAL_UNITS, checksum, convert, encode_chunk, plan_messages
from telemetry.simulate.limits import no_limits
from telemetry.simulate.track import TRACKS
from telemetry.simulate.writers import open_writer, suffix_for, write_mdf_decoded
from telemetry.simulate.writers.mf4 import DecodedGroup

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 6, 27, 9, 0, 0, 250000, tzinfo=UTC)
MODELS = sorted(CARS)


def _frames(model: str, seconds: float = 4.0):
    profile = load_car_profile(ROOT / "dbc" / f"{model}.toml")
    drive = drive_session(TRACKS["misano"], CARS[model], no_limits(model), SessionPlan(seconds, start_in_pit=False),
                          wheel_radius_m=profile.wheel_radius_m, seed=5)
    plans = plan_messages(profile, set(drive.extras), torque_sensors=CARS[model].torque_sensors)
    return profile, drive, plans, encode_chunk(plans, drive, 0.0, seconds)


@pytest.fixture(scope="module")
def ferrari():
    return _frames("ferrari_296_gt3")


@pytest.mark.parametrize("model", MODELS)
def test_encoded_frames_decode_in_cantools_to_the_simulated_values(model: str) -> None:
    profile, drive, _, frames = _frames(model, 3.0)
    dbs = dict(profile.databases)
    for channel, ref in profile.channels.items():
        message = dbs[ref.bus].get_message_by_name(ref.message)
        signal = message.get_signal_by_name(ref.signal)
        sel = np.flatnonzero((frames.bus == ref.bus) & (frames.arbitration_id == message.frame_id))
        assert len(sel) > 0, channel
        got = np.array([message.decode(bytes(frames.data[i]), decode_choices=False)[ref.signal] for i in sel])
        step = np.floor if channel in ("gear", "refuel", "lap") else None
        pos = frames.timestamp[sel] / 0.01
        if step is None:
            want = np.interp(frames.timestamp[sel], drive.t, drive.channels[channel])
        else:
            want = drive.channels[channel][np.floor(pos + 1e-9).astype(int)]
        want = np.clip(convert(want, CANONICAL_UNITS[channel], ref.unit), signal.minimum, signal.maximum)
        assert np.max(np.abs(got - want)) <= abs(signal.scale) * 0.5 + 1e-9, channel


@pytest.mark.parametrize("model", MODELS)
def test_counters_advance_by_one_and_checksums_match_every_frame(model: str) -> None:
    profile, _, plans, frames = _frames(model, 2.0)
    checked = 0
    for plan in plans:
        if not plan.counter:
            continue
        sel = np.flatnonzero((frames.bus == plan.bus) & (frames.arbitration_id == plan.message.frame_id))
        values = [plan.message.decode(bytes(frames.data[i])) for i in sel]
        counter = np.array([v[plan.counter] for v in values])
        modulo = 2 ** plan.message.get_signal_by_name(plan.counter).length
        assert (np.diff(counter) % modulo == 1).all()
        byte = plan.message.get_signal_by_name(plan.checksum).start // 8
        expected = checksum(frames.data[sel], byte, plan.checksum_algorithm)
        assert (frames.data[sel, byte] == expected).all()
        checked += 1
    assert checked == len(profile.integrity)


def test_multiplexed_messages_cycle_through_their_pages(ferrari) -> None:
    profile, _, plans, frames = ferrari
    plan = next(p for p in plans if p.name == "EMS_Diagnostics")
    sel = np.flatnonzero(frames.arbitration_id == plan.message.frame_id)
    pages = [plan.message.decode(bytes(frames.data[i]))["EMS_DiagPage"] for i in sel]
    assert set(pages) == {0, 1, 2}


def test_bus_load_of_a_full_log_is_realistic(ferrari) -> None:
    *_, frames = ferrari
    rate = len(frames) / 4.0
    assert 2500 < rate < 8000 and set(np.unique(frames.bus)) == {0, 1}


@pytest.mark.parametrize("fmt", ["blf", "asc", "candump", "trc", "csv"])
def test_python_can_reads_every_frame_back(tmp_path: Path, ferrari, fmt: str) -> None:
    *_, frames = ferrari
    path = tmp_path / f"car{suffix_for(fmt)}"
    writer = open_writer(path, fmt, START)
    half = len(frames) // 2
    writer.write(frames.select(slice(0, half)))
    writer.write(frames.select(slice(half, None)))
    writer.close()
    msgs = list(can.LogReader(str(path)))
    assert len(msgs) == len(frames)
    t = np.array([m.timestamp for m in msgs])
    origin = 0.0 if fmt == "asc" else START.timestamp()
    assert np.allclose(t - origin, frames.timestamp, atol=2e-5)
    assert [m.arbitration_id for m in msgs] == frames.arbitration_id.tolist()
    assert [m.is_extended_id for m in msgs] == frames.is_extended.tolist()
    assert all(bytes(m.data) == bytes(frames.data[i]) for i, m in enumerate(msgs))
    if fmt != "csv":   # python-can's CSV dialect has no bus column
        bus = np.array([int(str(m.channel).removeprefix("can")) for m in msgs]) - (1 if fmt == "trc" else 0)
        assert (bus == frames.bus).all()


def test_gzipped_text_logs_read_back(tmp_path: Path, ferrari) -> None:
    *_, frames = ferrari
    path = tmp_path / f"car{suffix_for('asc', gz=True)}"
    writer = open_writer(path, "asc", START, gz=True)
    writer.write(frames)
    writer.close()
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert len(list(can.LogReader(str(path)))) == len(frames)


def test_mf4_bus_logging_is_decoded_by_asammdf_extract_bus_logging(tmp_path: Path, ferrari) -> None:
    from asammdf import MDF

    profile, _, _, frames = ferrari
    path = tmp_path / "car.mf4"
    writer = open_writer(path, "mf4", START)
    writer.write(frames)
    writer.close()
    with MDF(path) as mdf:
        assert mdf.header.start_time.timestamp() == pytest.approx(START.timestamp())
        raw = mdf.get("CAN_DataFrame")
        assert len(raw.timestamps) == len(frames)
        dbcs = {"CAN": [(str(ROOT / "dbc" / "sro_gt3_logger.dbc"), 1),
                        (str(ROOT / "dbc" / "ferrari_296_gt3_ecu.dbc"), 2)]}
        decoded = mdf.extract_bus_logging(dbcs)
    with decoded:
        speed = decoded.get("EMS_EngineSpeed")
        ecu = cantools.database.load_file(ROOT / "dbc" / "ferrari_296_gt3_ecu.dbc")
        message = ecu.get_message_by_name("EMS_EngineData")
        sel = np.flatnonzero((frames.bus == 1) & (frames.arbitration_id == message.frame_id))
        want = [message.decode(bytes(frames.data[i]))["EMS_EngineSpeed"] for i in sel]
        assert np.allclose(speed.samples, want)
        assert np.allclose(decoded.get("MAP").samples.max(), 0.0, atol=400)


def test_decoded_mdf_keeps_names_units_and_values(tmp_path: Path) -> None:
    from asammdf import MDF

    t = np.arange(100) * 0.01
    path = tmp_path / "decoded.mf4"
    write_mdf_decoded(path, [DecodedGroup("LOG_Pressures", t, (("MAP", np.linspace(100, 250, 100), "kPa"),))],
                      START)
    with MDF(path) as mdf:
        sig = mdf.get("MAP")
        assert sig.unit == "kPa" and np.allclose(sig.samples, np.linspace(100, 250, 100))
        assert np.allclose(sig.timestamps, t)


@pytest.mark.parametrize("fmt", ["blf", "mf4", "trc"])
def test_same_frames_same_bytes(tmp_path: Path, ferrari, fmt: str) -> None:
    *_, frames = ferrari
    digests = []
    for name in ("a", "b"):      # same file name (TRC headers name the file), different folders
        (tmp_path / name).mkdir()
        path = tmp_path / name / f"car{suffix_for(fmt)}"
        writer = open_writer(path, fmt, START)
        writer.write(frames)
        writer.close()
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_blf_header_counts_objects_and_records_start_and_stop(tmp_path: Path, ferrari) -> None:
    import struct

    *_, frames = ferrari
    path = tmp_path / "car.blf"
    writer = open_writer(path, "blf", START)
    writer.write(frames)
    writer.close()
    head = struct.unpack("<4sLBBBBBBBBQQLL8H8H", path.read_bytes()[:72])
    assert head[0] == b"LOGG" and head[10] == path.stat().st_size and head[12] == len(frames)
    assert head[14:22] == (2026, 6, 6, 27, 9, 0, 0, 250)
