"""What the vectorised decoder promises beyond bit-exactness: findings for short frames, unknown ids and
multiplexer values; frame format (standard vs extended) must match the DBC; a DBC per bus; CAN FD lengths;
choices kept raw with their table; chunks merge."""

from __future__ import annotations

import cantools
import numpy as np
import pytest
from _decode_support import DATA

from telemetry.decode import decode_frames, merge_decoded
from telemetry.frames import FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Frames


@pytest.fixture(scope="module")
def db():
    return cantools.database.load_file(str(DATA / "gt3_test.dbc"))


def _frames(rows, width: int = 8) -> Frames:
    """rows: (time, bus, id, flags, payload)"""
    n = len(rows)
    data = np.zeros((n, width), np.uint8)
    for i, r in enumerate(rows):
        data[i, :len(r[4])] = np.frombuffer(r[4], np.uint8)
    return Frames(np.array([r[0] for r in rows], float), np.array([r[1] for r in rows], np.uint8),
                  np.array([r[2] for r in rows], np.uint32), np.array([r[3] for r in rows], np.uint8),
                  np.array([len(r[4]) for r in rows], np.uint8), data)


def test_big_endian_signed_scaled_values(db):
    payload = db.encode_message("TST_Torque", {"TorqueLeft": -1234.5, "TorqueRight": 800.0})
    dec = decode_frames(_frames([(0.5, 0, 0x102, 0, payload)]), db)
    sigs = dec.messages[(0, "TST_Torque")].signals
    assert sigs["TorqueLeft"].value.tolist() == [-1234.5]
    assert sigs["TorqueRight"].value.tolist() == [800.0]
    assert sigs["TorqueLeft"].time.tolist() == [0.5]
    assert sigs["TorqueLeft"].unit == "Nm"


def test_ieee_float_signal(db):
    payload = db.encode_message("TST_Vehicle", {"VehicleSpeed": 10, "Refuel": 1, "OilPressure": 61.25,
                                                "BatteryVoltage": 13.5})
    dec = decode_frames(_frames([(0.0, 0, 0x202, 0, payload)]), db)
    assert dec.messages[(0, "TST_Vehicle")].signals["OilPressure"].value.tolist() == [61.25]


def test_multiplexed_signals_only_where_their_group_was_sent(db):
    f0 = db.encode_message("TST_Wheels", {"WheelMux": 0, "WheelSpeedFL": 100.0, "WheelSpeedFR": 101.0})
    f1 = db.encode_message("TST_Wheels", {"WheelMux": 1, "WheelSpeedRL": 102.0, "WheelSpeedRR": 103.0})
    dec = decode_frames(_frames([(0.0, 0, 0x201, 0, f0), (0.02, 0, 0x201, 0, f1), (0.04, 0, 0x201, 0, f0)]), db)
    sigs = dec.messages[(0, "TST_Wheels")].signals
    assert sigs["WheelSpeedFL"].time.tolist() == [0.0, 0.04]
    assert sigs["WheelSpeedRL"].time.tolist() == [0.02]
    assert sigs["WheelSpeedRR"].value.tolist() == [103.0]
    assert sigs["WheelMux"].is_multiplexer


def test_unknown_multiplexer_value_is_refused_and_reported(db):
    bad = bytes([3, 0, 0, 0, 0, 0, 0, 0])   # mux 3 has no signals in the DBC: cantools refuses it
    good = db.encode_message("TST_Wheels", {"WheelMux": 0, "WheelSpeedFL": 1.0, "WheelSpeedFR": 2.0})
    dec = decode_frames(_frames([(0.0, 0, 0x201, 0, bad), (0.1, 0, 0x201, 0, good)]), db)
    assert len(dec.messages[(0, "TST_Wheels")]) == 1
    kinds = {f.kind: f for f in dec.findings}
    assert kinds["unknown_multiplexer"].count == 1


def test_choices_stay_raw_numbers_with_the_table_available(db):
    payload = db.encode_message("TST_Engine", {"EngineSpeed": 5000, "Throttle": 40, "Gear": 15,
                                               "EngineTorque": 0, "Lambda": 1})
    sig = decode_frames(_frames([(0.0, 0, 0x200, 0, payload)]), db).messages[(0, "TST_Engine")].signals["Gear"]
    assert sig.value.tolist() == [15.0]
    assert sig.choices == {0: "N", 15: "R"}


def test_short_frames_are_counted_with_id_and_first_time(db):
    full = db.encode_message("TST_Fuel", {"FuelFlow": 1, "FuelMass": 2, "FuelTemp": 30})
    dec = decode_frames(_frames([(0.1, 0, 0x101, 0, full), (0.2, 0, 0x101, 0, full[:5]),
                                 (0.3, 0, 0x101, 0, full[:3])]), db)
    assert len(dec.messages[(0, "TST_Fuel")]) == 1
    (finding,) = [f for f in dec.findings if f.kind == "short_frame"]
    assert finding.count == 2
    assert "TST_Fuel" in finding.detail and "0x101" in finding.detail and "0.200000" in finding.detail


def test_longer_frames_are_cut_to_the_message_length(db):
    payload = db.encode_message("TST_Fuel", {"FuelFlow": 1, "FuelMass": 2, "FuelTemp": 30}) + b"\xff" * 4
    dec = decode_frames(_frames([(0.0, 0, 0x101, FLAG_FD, payload)], width=64), db)
    assert dec.messages[(0, "TST_Fuel")].signals["FuelMass"].value.tolist() == [2.0]


def test_unknown_ids_are_counted_per_bus(db):
    dec = decode_frames(_frames([(0.0, 0, 0x7FF, 0, b"\0" * 8), (0.5, 0, 0x7FE, 0, b"\0" * 8),
                                 (0.7, 1, 0x7FF, 0, b"\0" * 8)]), db)
    found = sorted((f.detail.split(":")[0], f.count) for f in dec.findings if f.kind == "unknown_id")
    assert found == [("bus 0", 2), ("bus 1", 1)]


def test_frame_format_must_match_the_dbc(db):
    payload = bytes(8)
    # TST_Status is extended 0x18FF0210; the same number as a standard id is not it, and TST_Engine (0x200,
    # standard) sent with an extended id is unknown too
    dec = decode_frames(_frames([(0.0, 0, 0x18FF0210, FLAG_EXTENDED, payload), (0.1, 0, 0x200, FLAG_EXTENDED,
                                                                                   payload)]), db)
    assert list(dec.messages) == [(0, "TST_Status")]
    assert dec.unknown[0][0] == 1


def test_error_and_remote_frames_are_not_decoded(db):
    dec = decode_frames(_frames([(0.0, 0, 0x200, FLAG_ERROR, b""), (0.1, 0, 0x200, FLAG_REMOTE, b"")]), db)
    assert not dec.messages and not dec.findings


def test_a_dbc_per_bus(db):
    other = cantools.database.load_string(
        'VERSION ""\nBS_:\nBU_: X\nBO_ 512 Other: 2 X\n SG_ Word : 0|16@1+ (2,0) [0|0] "" X\n', "dbc")
    payload = bytes([1, 0, 0, 0, 0, 0, 0, 0])
    dec = decode_frames(_frames([(0.0, 0, 0x200, 0, payload), (0.0, 1, 0x200, 0, payload)]),
                        [(0, db), (1, other)])
    assert set(dec.messages) == {(0, "TST_Engine"), (1, "Other")}
    assert dec.messages[(1, "Other")].signals["Word"].value.tolist() == [2.0]


def test_can_fd_message_longer_than_8_bytes():
    fd = cantools.database.load_string(
        'VERSION ""\nBS_:\nBU_: X\nBO_ 100 Wide: 64 X\n SG_ Tail : 500|12@1- (0.5,1) [0|0] "" X\n'
        ' SG_ Head : 7|16@0+ (1,0) [0|0] "" X\n SG_ Mid : 263|64@0+ (1,0) [0|0] "" X\n', "dbc")
    payload = bytearray(range(64))
    dec = decode_frames(_frames([(0.0, 0, 100, FLAG_FD, bytes(payload))], width=64), fd)
    expected = fd.decode_message(100, bytes(payload), decode_choices=False)
    got = {k: s.value[0] for k, s in dec.messages[(0, "Wide")].signals.items()}
    assert got == {k: float(v) for k, v in expected.items()}


def test_messages_filter_decodes_only_what_is_asked(db):
    payload = bytes(8)
    dec = decode_frames(_frames([(0.0, 0, 0x200, 0, payload), (0.0, 0, 0x101, 0, payload)]), db,
                        messages={"TST_Fuel"})
    assert list(dec.messages) == [(0, "TST_Fuel")]
    assert not dec.unknown


def test_chunks_merge_in_order_with_offsets(db):
    payload = db.encode_message("TST_Fuel", {"FuelFlow": 1, "FuelMass": 2, "FuelTemp": 30})
    a = decode_frames(_frames([(0.0, 0, 0x101, 0, payload), (0.1, 0, 0x101, 0, payload[:2])]), db)
    b = decode_frames(_frames([(0.0, 0, 0x101, 0, payload), (0.5, 0, 0x7FF, 0, payload)]), db)
    merged = merge_decoded([a, b], [0.0, 10.0])
    assert merged.messages[(0, "TST_Fuel")].signals["FuelMass"].time.tolist() == [0.0, 10.0]
    assert merged.short[(0, "TST_Fuel")].count == 1
    assert merged.unknown[0][:2] == (1, 10.5)


def test_message_with_only_short_frames_is_reported_not_decoded(db):
    dec = decode_frames(_frames([(0.0, 0, 0x101, 0, b"\x01\x02"), (0.1, 0, 0x101, 0, b"")]), db)
    assert (0, "TST_Fuel") not in dec.messages
    assert dec.short[(0, "TST_Fuel")].count == 2
