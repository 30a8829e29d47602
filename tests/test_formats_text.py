"""Text log readers (candump, ASC, TRC, CSV): frame-for-frame equal to python-can on files python-can writes,
and the cases python-can gets wrong or silently drops, from small fixtures."""

from __future__ import annotations

import can
import numpy as np
import pytest
from _can_parity import assert_same_frames, sample_messages

from telemetry.errors import CorruptLog
from telemetry.formats import open_log, read_frames
from telemetry.frames import FLAG_BRS, FLAG_FD

FIXTURES = "formats"


def _write(writer_cls, path, messages, **kwargs):
    with writer_cls(path, **kwargs) as w:
        for m in messages:
            w.on_message_received(m)


def test_candump_matches_python_can(tmp_path):
    path = tmp_path / "x.log"
    _write(can.CanutilsLogWriter, path, sample_messages(2000), channel="can0")
    ours = read_frames(path)
    assert_same_frames(ours, list(can.CanutilsLogReader(path)))


def test_asc_matches_python_can(tmp_path):
    msgs = sample_messages(2000)
    path = tmp_path / "x.asc"
    _write(can.ASCWriter, path, msgs)
    ours = read_frames(path)
    theirs = list(can.ASCReader(path))      # python-can: relative times from the trigger block
    assert_same_frames(ours, theirs, origin=0.0, bus_offset=0)
    assert ours.start is not None


@pytest.mark.parametrize("version", ["V1_0", "V2_1"])
def test_trc_matches_python_can(tmp_path, version):
    from can.io.trc import TRCFileVersion
    msgs = [m for m in sample_messages(1500, fd=False) if not m.is_remote_frame]
    path = tmp_path / "x.trc"
    with can.TRCWriter(path) as w:
        w.file_version = getattr(TRCFileVersion, version)
        for m in msgs:
            w.on_message_received(m)
    ours = read_frames(path)
    theirs = list(can.TRCReader(path))
    if version == "V1_0":       # 1.0 has no bus column, times in whole ms
        assert_same_frames(ours, theirs, origin=theirs[0].timestamp - ours.timestamp[0], tol=1e-3,
                           bus_offset=-1)
    else:
        assert_same_frames(ours, theirs, bus_offset=-1, tol=1e-6)


def test_csv_python_can_dialect_matches_python_can(tmp_path):
    path = tmp_path / "x.csv"
    _write(can.CSVWriter, path, sample_messages(1000, fd=False))
    ours = read_frames(path)
    assert_same_frames(ours, list(can.CSVReader(path)), check_fd=False)


def test_text_chunks_are_bounded(tmp_path):
    path = tmp_path / "x.log"
    _write(can.CanutilsLogWriter, path, sample_messages(5000, fd=False), channel="can0")
    with open_log(path) as lf:
        sizes = [len(c) for c in lf.chunks(max_frames=600)]
    assert max(sizes) <= 600 and sum(sizes) == 5000


def test_candump_reports_skipped_lines_with_numbers_and_time_going_back(data_dir):
    fr = read_frames(data_dir / FIXTURES / "skipped_lines.log")
    assert len(fr) == 5
    found = {f.kind: f for f in fr.findings}
    assert found["skipped_line"].count == 2 and found["skipped_line"].line == 3
    assert "lines 3, 6" in found["skipped_line"].detail
    assert "time_backwards" in found
    fd = np.flatnonzero(fr.is_fd)
    assert fd.tolist() == [2] and fr.length[2] == 12 and fr.flags[2] & FLAG_BRS
    assert fr.is_remote.tolist() == [False, False, False, True, False]
    assert fr.bus.tolist() == [0, 0, 1, 0, 0]
    assert fr.start.timestamp() == 1_700_000_000


def test_asc_fd_frames_written_as_d_lines_keep_all_bytes(data_dir):
    fr = read_frames(data_dir / FIXTURES / "fd_as_d_lines.asc")
    assert len(fr) == 6
    assert fr.length.tolist() == [8, 12, 8, 0, 4, 12]
    assert bytes(fr.data[1, :12]).hex() == "1234567890abcdef12345678"
    assert (fr.flags[[1, 5]] & FLAG_FD).all() and not fr.is_fd[[0, 2]].any()
    assert fr.is_error.tolist() == [False, False, False, True, False, False]
    assert fr.is_remote[4] and fr.is_extended[1]
    assert fr.bus.tolist() == [0, 1, 0, 0, 0, 1]
    skipped = [f for f in fr.findings if f.kind == "skipped_line"]
    assert skipped and skipped[0].line == 9     # "d 8" with two bytes
    assert fr.start.isoformat() == "2020-02-14T08:51:20+00:00"


def test_gzip_is_read_transparently(data_dir):
    plain = read_frames(data_dir / FIXTURES / "fd_as_d_lines.asc")
    gz = read_frames(data_dir / FIXTURES / "fd_as_d_lines.asc.gz")
    np.testing.assert_array_equal(plain.data, gz.data)
    np.testing.assert_array_equal(plain.timestamp, gz.timestamp)


def test_asc_channel_zero_is_taken_as_zero_based(data_dir):
    fr = read_frames(data_dir / FIXTURES / "channel_zero.asc")
    assert fr.bus.tolist() == [0, 1]
    assert any(f.kind == "channel_numbering" for f in fr.findings)
    assert fr.start.isoformat() == "2023-11-09T20:29:27+00:00"


def test_asc_relative_timestamps_are_summed(data_dir):
    fr = read_frames(data_dir / FIXTURES / "relative.asc")
    np.testing.assert_allclose(fr.timestamp, [0.5, 0.75, 1.0])


def test_trc_2_1_fd_remote_and_status_lines(data_dir):
    fr = read_frames(data_dir / FIXTURES / "v2_1_fd.trc")
    assert len(fr) == 4          # the ST status line is not a frame
    assert fr.length.tolist() == [2, 12, 1, 4]
    assert fr.is_fd.tolist() == [False, True, True, False]
    assert fr.flags[2] & FLAG_BRS and not fr.flags[1] & FLAG_BRS
    assert fr.is_remote.tolist() == [False, False, False, True]
    assert fr.bus.tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(fr.timestamp, [0.0002, 0.00045, 0.00075, 0.0009])
    assert fr.start.isoformat(timespec="seconds") == "2020-02-13T08:57:08+00:00"   # 43874.3730111290 days


def test_savvycan_rows_as_long_as_their_payload(data_dir):
    fr = read_frames(data_dir / FIXTURES / "savvycan.csv")
    assert fr.length.tolist() == [8, 3, 2]
    assert fr.is_extended.tolist() == [False, True, False]
    assert fr.bus.tolist() == [0, 1, 0]
    np.testing.assert_allclose(fr.timestamp, [22.213513, 22.214519, -0.364210])
    assert any(f.kind == "time_backwards" for f in fr.findings)


def test_css_csv_with_fd(data_dir):
    fr = read_frames(data_dir / FIXTURES / "css.csv")
    assert fr.length.tolist() == [0, 1, 12]
    assert fr.is_fd.tolist() == [False, False, True]
    assert fr.bus.tolist() == [0, 1, 0]
    assert fr.arbitration_id.tolist() == [0x123, 0x12345678, 0x123]


def test_text_file_without_a_single_log_line_is_refused(tmp_path):
    path = tmp_path / "notes.log"
    path.write_text("shopping list\nmilk\n")
    with pytest.raises(CorruptLog, match="no line looks like a candump log line"):
        read_frames(path)
