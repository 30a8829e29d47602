"""An MF4 whose block chain loops (a damaged "next" link pointing back) is a one-line CorruptLog with the block's
offset before asammdf opens it (asammdf's ``MDF()`` would loop forever); sound files pass the walk."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from telemetry.errors import CorruptLog
from telemetry.formats import read_frames
from telemetry.simulate.writers.mf4 import write_mf4_bus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_formats_mdf_records import START, _frames  # noqa: E402


def _blocks(raw: bytes, block_id: bytes) -> list[int]:
    out, at = [], raw.find(block_id)
    while at >= 0:
        out.append(at)
        at = raw.find(block_id, at + 1)
    return out


@pytest.fixture
def bus_log(tmp_path) -> tuple[Path, bytearray]:
    path = tmp_path / "bus.mf4"
    write_mf4_bus(path, _frames(2_000), START, compression=1)
    return path, bytearray(path.read_bytes())


def test_a_channel_chain_that_loops_is_refused_with_its_offset(bus_log):
    path, raw = bus_log
    channels = _blocks(raw, b"##CN")
    last = channels[-1]
    struct.pack_into("<Q", raw, last + 24, channels[0])       # the last channel's "next" -> the first channel
    path.write_bytes(raw)
    with pytest.raises(CorruptLog, match="CN block chain loops") as err:
        read_frames(path)
    assert "\n" not in str(err.value) and err.value.offset is not None and "bus.mf4" in str(err.value)


def test_a_file_history_chain_that_loops_is_refused(bus_log):
    path, raw = bus_log
    history = _blocks(raw, b"##FH")[0]
    struct.pack_into("<Q", raw, history + 24, history)        # the history block's "next" -> itself
    path.write_bytes(raw)
    with pytest.raises(CorruptLog, match=f"offset {history}: the FH block chain loops"):
        read_frames(path)


def test_a_sound_file_passes_the_walk(bus_log):
    path, _raw = bus_log
    assert len(read_frames(path)) == 2_000
