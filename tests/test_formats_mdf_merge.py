"""Several MF4 frame groups (one per bus; data, remote and error frames) are joined in time order while each is
read in chunks: the result is the stable time sort of all groups (ties keep group order, then record order),
whatever the chunk sizes."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import numpy as np
import pytest

from telemetry.formats import open_log
from telemetry.formats._mf4_merge import merge_in_time
from telemetry.formats._mf4_records import join_columns
from telemetry.frames import FLAG_ERROR, FLAG_REMOTE, concat_frames
from telemetry.simulate.writers.mf4 import CAN_DATAFRAME_DTYPE


def _source(ts: np.ndarray, group: int, chunk: int):
    n = len(ts)
    cols = (ts, np.full(n, group, np.int64), np.arange(n, dtype=np.uint64), np.zeros(n, np.uint8),
            np.full(n, 8, np.int64), np.zeros((n, 8), np.uint8))
    for lo in range(0, n, chunk):
        yield tuple(c[lo:lo + chunk] for c in cols)


@pytest.mark.parametrize("chunk", [1, 7, 100, 10_000])
def test_merge_equals_the_stable_sort_of_all_groups(chunk):
    rng = np.random.default_rng(chunk)
    # coarse times so that many frames of different groups share a time stamp
    times = [np.sort(rng.integers(0, 300, n)).astype(np.float64) for n in (500, 1, 0, 800)]
    merged = join_columns(list(merge_in_time([_source(t, g, chunk) for g, t in enumerate(times)])))
    whole = join_columns([next(_source(t, g, 10**9)) for g, t in enumerate(times) if len(t)])
    order = np.argsort(whole[0], kind="stable")
    np.testing.assert_array_equal(merged[0], whole[0][order])
    np.testing.assert_array_equal(merged[1], whole[1][order])      # group of each frame
    np.testing.assert_array_equal(merged[2], whole[2][order])      # record index within its group


def test_one_group_passes_through_in_file_order():
    ts = np.array([3.0, 1.0, 2.0])
    merged = join_columns(list(merge_in_time([_source(ts, 0, 2)])))
    np.testing.assert_array_equal(merged[0], ts)


def _records(name: str, n: int, bus: int, ident0: int):
    dtype = np.dtype([(f.replace("CAN_DataFrame", name), CAN_DATAFRAME_DTYPE.fields[f][0])
                      for f in CAN_DATAFRAME_DTYPE.names])
    rec = np.zeros(n, dtype)
    rec[f"{name}.BusChannel"] = bus
    rec[f"{name}.ID"] = ident0 + np.arange(n) % 16
    rec[f"{name}.DLC"] = 4
    rec[f"{name}.DataLength"] = 4 if name != "CAN_RemoteFrame" else 0
    rec[f"{name}.DataBytes"][:, :8] = 0xAB
    return rec


def test_buses_remote_and_error_groups_are_joined_in_time_order(tmp_path):
    from asammdf import MDF, Signal, Source

    source = Source(name="CAN", path="CAN", comment="", source_type=Source.SOURCE_BUS, bus_type=Source.BUS_TYPE_CAN)
    parts = [("CAN_DataFrame", 20_000, 1, 0x100, np.arange(20_000) * 0.001),
             ("CAN_DataFrame", 15_000, 2, 0x200, np.arange(15_000) * 0.0013 + 0.0005),
             ("CAN_RemoteFrame", 300, 1, 0x300, np.arange(300) * 0.05),
             ("CAN_ErrorFrame", 40, 2, 0x0, np.arange(40) * 0.4 + 0.01)]
    path = tmp_path / "groups.mf4"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdf = MDF(version="4.10")
        mdf.header.start_time = datetime(2026, 5, 30, 14, 0, tzinfo=UTC)
        for name, n, bus, ident0, t in parts:
            mdf.append(Signal(name=name, samples=_records(name, n, bus, ident0), timestamps=t, source=source),
                       acq_name=f"CAN{bus}", acq_source=source)
        mdf.save(path, overwrite=True, compression=2)
        mdf.close()
    with open_log(path) as lf:
        chunks = list(lf.chunks(max_frames=4_096))
    frames = concat_frames(chunks)
    assert max(len(c) for c in chunks) <= 4_096
    assert len(frames) == sum(p[1] for p in parts)
    assert np.all(np.diff(frames.timestamp) >= 0)
    remote, error = frames.is_remote, frames.is_error
    assert remote.sum() == 300 and error.sum() == 40
    assert np.all(frames.length[remote] == 4) and not frames.data[remote].any()     # DLC 4, no payload
    assert np.all(frames.arbitration_id[remote] >= 0x300)
    assert np.all(frames.flags[error] & FLAG_ERROR) and not np.any(frames.flags[error] & FLAG_REMOTE)
    data = ~remote & ~error
    assert np.all(frames.length[data] == 4) and np.all(frames.data[data, :4] == 0xAB)
    assert not frames.data[data, 4:].any()                  # bytes past DataLength are zero
    assert set(frames.bus[data].tolist()) == {0, 1}
