"""MF4 bus logging read in one chunked pass (``telemetry/formats/_mf4_records.py``): what is written comes back
frame for frame whatever the data block kind (DT, DZ deflate, transposed deflate), the chunk size, CAN FD payloads,
extended identifiers and invalidation bytes; the frame count is asammdf's; records past a block boundary or a DT
slice are not lost or doubled."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import numpy as np
import pytest

from telemetry.formats import _mf4_records, open_log, read_frames
from telemetry.frames import DLC_TO_LENGTH, FLAG_EXTENDED, Frames, concat_frames
from telemetry.simulate.writers.mf4 import CAN_DATAFRAME_DTYPE, write_mf4_bus

START = datetime(2026, 5, 30, 14, 0, tzinfo=UTC)


def _frames(n: int, seed: int = 7) -> Frames:
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.uniform(0.0, 0.002, n))
    extended = rng.random(n) < 0.3
    ident = np.where(extended, rng.integers(0x800, 0x1FFFFFFF, n), rng.integers(0, 0x7FF, n)).astype(np.uint32)
    length = DLC_TO_LENGTH[rng.integers(0, 16, n)]
    data = rng.integers(0, 256, (n, 64), dtype=np.uint8)
    data[np.arange(64) >= length[:, None]] = 0
    flags = np.where(extended, FLAG_EXTENDED, 0).astype(np.uint8)
    return Frames(ts, rng.integers(0, 2, n).astype(np.uint8), ident, flags, length, data, START)


def _assert_same(got: Frames, want: Frames) -> None:
    assert len(got) == len(want)
    np.testing.assert_array_equal(got.timestamp, want.timestamp)
    np.testing.assert_array_equal(got.bus, want.bus)
    np.testing.assert_array_equal(got.arbitration_id, want.arbitration_id)
    np.testing.assert_array_equal(got.flags, want.flags)
    np.testing.assert_array_equal(got.length, want.length)
    width = max(got.data.shape[1], want.data.shape[1])
    a = np.zeros((len(got), width), np.uint8)
    a[:, :got.data.shape[1]] = got.data
    b = np.zeros((len(want), width), np.uint8)
    b[:, :want.data.shape[1]] = want.data
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("compression", [0, 1, 2], ids=["dt", "deflate", "transposed_deflate"])
def test_written_frames_come_back_exactly_for_every_block_kind(tmp_path, compression):
    want = _frames(60_000)
    path = tmp_path / "bus.mf4"
    write_mf4_bus(path, want, START, compression=compression)
    got = read_frames(path)
    _assert_same(got, want)
    assert got.start == START


def test_chunks_are_bounded_and_join_to_the_whole_log(tmp_path):
    want = _frames(60_000)
    path = tmp_path / "bus.mf4"
    write_mf4_bus(path, want, START, compression=2)
    with open_log(path) as lf:
        chunks = list(lf.chunks(max_frames=7_777))
    assert max(len(c) for c in chunks) == 7_777 and len(chunks) == -(-60_000 // 7_777)
    _assert_same(concat_frames(chunks), want)


def test_uncompressed_data_read_in_slices_that_split_records(tmp_path, monkeypatch):
    want = _frames(5_000)
    path = tmp_path / "bus.mf4"
    write_mf4_bus(path, want, START, compression=0)
    monkeypatch.setattr(_mf4_records, "_DT_SLICE", 1000)     # 1000-byte slices: most cut an 84-byte record
    _assert_same(read_frames(path), want)


def test_invalidation_bytes_are_skipped_and_invalid_records_counted(tmp_path):
    from asammdf import MDF, Signal, Source

    n = 3_000
    rec = np.zeros(n, CAN_DATAFRAME_DTYPE)
    rec["CAN_DataFrame.BusChannel"] = 2
    rec["CAN_DataFrame.ID"] = np.arange(n)
    rec["CAN_DataFrame.DataLength"] = 8
    rec["CAN_DataFrame.DataBytes"][:, :8] = np.arange(8)
    invalid = np.zeros(n, bool)
    invalid[::7] = True
    source = Source(name="CAN", path="CAN", comment="", source_type=Source.SOURCE_BUS, bus_type=Source.BUS_TYPE_CAN)
    path = tmp_path / "invalid.mf4"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdf = MDF(version="4.10")
        mdf.append(Signal(name="CAN_DataFrame", samples=rec, timestamps=np.arange(n) * 0.001, source=source,
                          invalidation_bits=invalid), acq_name="CAN2", acq_source=source)
        mdf.save(path, overwrite=True, compression=1)
        mdf.close()
    with open_log(path) as lf:
        got = concat_frames(list(lf.chunks()))
        findings = {f.kind: f for f in lf.findings}
    assert len(got) == n and set(got.bus.tolist()) == {1}
    np.testing.assert_array_equal(got.arbitration_id, np.arange(n))
    np.testing.assert_array_equal(got.data[:, :8], np.tile(np.arange(8, dtype=np.uint8), (n, 1)))
    assert findings["invalid_records"].count == invalid.sum()


def test_asammdf_throughput_lines_never_reach_stdout(corpus_dir, monkeypatch, capsys):
    """asammdf prints "<x> MB/s" on stdout when its block loop takes over 10 s; a clock that jumps 20 s per
    reading makes every loop "slow". The unfinalised CANedge file goes through asammdf's fragment reader."""
    import itertools
    import time

    path = corpus_dir / "api-examples/other/matlab-basics/00000014.MF4"
    with open_log(path) as lf:
        ticks = itertools.count(0.0, 20.0)
        monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
        frames = concat_frames(list(lf.chunks()))
        monkeypatch.undo()
    assert len(frames) == 28721
    assert capsys.readouterr().out == ""


def test_a_group_the_record_reader_does_not_take_is_read_whole_by_asammdf_alike(tmp_path, monkeypatch):
    from telemetry.formats import mdf

    want = _frames(20_000)
    path = tmp_path / "bus.mf4"
    write_mf4_bus(path, want, START, compression=1)
    monkeypatch.setattr(mdf, "group_reader", lambda *args: None)      # as for MDF 3 or big-endian fields
    _assert_same(read_frames(path), want)
