"""CSV dialects as the tools write them: SavvyCAN/GVRET rows always carry eight data columns whatever LEN says
(padded with ``00`` by SavvyCAN's writer, stale bytes by older versions), and are read in full; a header the
reader cannot build a row expression from (no identifier or payload column, thousands of columns) is refused
with the package's own error, never a pyarrow ``KeyError``."""

from __future__ import annotations

import numpy as np
import pytest

from telemetry.errors import TelemetryError, UnsupportedFormat
from telemetry.formats import read_frames

RNG = np.random.default_rng(14)


def _frames(n: int):
    ids = RNG.choice([0x100, 0x1A0, 0x7DF, 0x18FEF100], n)
    lengths = RNG.integers(0, 9, n)
    data = RNG.integers(0, 256, (n, 8), dtype=np.uint8)
    data[np.arange(8)[None, :] >= lengths[:, None]] = 0
    bus = RNG.integers(0, 2, n)
    us = 22_213_513 + np.cumsum(RNG.integers(100, 2000, n))
    return us, ids, lengths, data, bus


def _savvycan(path, us, ids, lengths, data, bus, *, direction=True, stale=False, trailing=","):
    """As SavvyCAN's ``saveNativeCSVFile`` writes: ``Time Stamp,ID,Extended,Dir,Bus,LEN,D1..D8``, eight data
    columns on every row (``00`` past LEN; ``stale``: whatever bytes, as older versions wrote), a trailing comma."""
    head = "Time Stamp,ID,Extended," + ("Dir," if direction else "") + "Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n"
    rows = []
    for t, i, n, d, b in zip(us.tolist(), ids.tolist(), lengths.tolist(), data, bus.tolist(), strict=True):
        pad = RNG.integers(0, 256, 8, dtype=np.uint8) if stale else np.zeros(8, np.uint8)
        cells = [f"{x:02X}" for x in np.where(np.arange(8) < n, d, pad).tolist()]
        ext = "true" if i > 0x7FF else "false"
        rows.append(f"{t},{i:08X},{ext}," + ("Rx," if direction else "") + f"{b},{n}," + ",".join(cells)
                    + trailing + "\n")
    path.write_text(head + "".join(rows))
    return path


@pytest.mark.parametrize(("direction", "stale", "trailing"), [
    (True, False, ","), (False, False, ","), (True, True, ","), (False, True, ""), (True, False, ""),
])
def test_savvycan_rows_padded_to_eight_columns_are_read_in_full(tmp_path, direction, stale, trailing):
    frames = _frames(3000)
    path = _savvycan(tmp_path / "gvret.csv", *frames, direction=direction, stale=stale, trailing=trailing)
    us, ids, lengths, data, bus = frames
    fr = read_frames(path)
    assert len(fr) == 3000
    assert not [f for f in fr.findings if f.kind == "skipped_line"]
    assert fr.length.tolist() == lengths.tolist()
    np.testing.assert_array_equal(fr.data[:, :8], data)       # bytes past LEN are zero, whatever the file held
    np.testing.assert_array_equal(fr.arbitration_id, ids)
    np.testing.assert_array_equal(fr.bus, bus)
    np.testing.assert_allclose(fr.timestamp, us / 1e6)
    assert fr.is_extended.tolist() == (ids > 0x7FF).tolist()


def test_savvycan_row_with_fewer_bytes_than_len_is_skipped_and_counted(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("Time Stamp,ID,Extended,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n"
                    "1000,00000100,false,0,8,01,02,03,04,05,06,07,08\n"
                    "2000,00000100,false,0,5,01,02\n"
                    "3000,00000100,false,0,2,01,02,00,00,00,00,00,00\n")
    fr = read_frames(path)
    assert fr.length.tolist() == [8, 2]
    skipped = [f for f in fr.findings if f.kind == "skipped_line"]
    assert skipped and skipped[0].count == 1 and skipped[0].line == 3


@pytest.mark.parametrize(("name", "header"), [
    ("savvycan_no_id", "Time Stamp,Extended,Bus,LEN,D1,D2"),
    ("savvycan_no_data", "Time Stamp,ID,Extended,Bus,LEN"),
    ("css_no_id", "TimestampEpoch;BusChannel;IDE;DLC;DataLength;DataBytes"),
    ("css_no_data", "TimestampEpoch;BusChannel;ID;IDE;DLC;DataLength"),
    ("css_only_time", "TimestampEpoch"),
])
def test_header_without_identifier_or_payload_is_refused_not_a_key_error(tmp_path, name, header):
    path = tmp_path / f"{name}.csv"
    sep = ";" if ";" in header or header == "TimestampEpoch" else ","
    path.write_text(header + "\n" + sep.join(["1700000000.5", "1", "123", "0", "8", "8", "0102"]) + "\n")
    with pytest.raises(UnsupportedFormat, match="no (identifier|payload)") as err:
        read_frames(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_header_with_thousands_of_columns_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("Time Stamp,ID,Extended," + ",".join(f"X{i}" for i in range(20_000)) + "\n1,2,false\n")
    with pytest.raises(UnsupportedFormat, match="more than 256 columns"):
        read_frames(path)


@pytest.mark.parametrize("stamp", ["9" * 5000, "1" * 40, "99999999999999", "-5"])
def test_huge_or_odd_epoch_in_the_first_row_is_no_crash(tmp_path, stamp):
    path = tmp_path / "epoch.csv"
    path.write_text(f"TimestampEpoch;BusChannel;ID;IDE;DLC;DataLength;Dir;EDL;BRS;DataBytes\n"
                    f"{stamp}.5;1;123;0;2;2;0;0;0;0102\n1700000000.6;1;123;0;2;2;0;0;0;0102\n")
    try:
        fr = read_frames(path)
    except TelemetryError:
        return
    assert len(fr) >= 1


def test_python_can_header_without_data_column_is_not_python_can(tmp_path):
    path = tmp_path / "pycan.csv"
    path.write_text("timestamp,arbitration_id,extended,remote,error,dlc\n1.0,0x100,0,0,0,0\n")
    with pytest.raises(UnsupportedFormat):
        read_frames(path)


def test_data_column_and_d_columns_are_one_payload_not_a_key_error(data_dir):
    """python-can's ``data`` column followed by ``D1``: the row expression had the payload group twice."""
    fr = read_frames(data_dir.parent / "fuzz_regressions" / "csv_python_can_header_with_d_columns.csv")
    assert fr.length.tolist() == [1, 1] and fr.data[:, 0].tolist() == [1, 2]
