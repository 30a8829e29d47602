"""A damaged data block of an MF4 bus log (deflate stream corrupted, inflated size differing from its header) is a
one-line CorruptLog naming the file, the channel group and the block's offset, never a zlib or numpy error."""

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

DZ_DATA = 48          # a DZ block's compressed bytes start 48 bytes after its "##DZ" (the offset reported)


@pytest.fixture
def deflated(tmp_path) -> tuple[Path, bytearray, int]:
    path = tmp_path / "bus.mf4"
    write_mf4_bus(path, _frames(20_000), START, compression=2)
    raw = bytearray(path.read_bytes())
    return path, raw, raw.index(b"##DZ")


def test_corrupted_deflate_stream_names_the_block(deflated):
    path, raw, dz = deflated
    raw[dz + DZ_DATA + 200: dz + DZ_DATA + 260] = bytes(60)
    path.write_bytes(raw)
    with pytest.raises(CorruptLog) as err:
        read_frames(path)
    text = str(err.value)
    assert "\n" not in text and "bus.mf4" in text and f"offset {dz + DZ_DATA}" in text and "channel group 0" in text


def test_inflated_size_differing_from_the_header_names_the_block(deflated):
    path, raw, dz = deflated
    original = struct.unpack_from("<Q", raw, dz + 32)[0]
    struct.pack_into("<Q", raw, dz + 32, original - 84)
    path.write_bytes(raw)
    with pytest.raises(CorruptLog, match=f"offset {dz + DZ_DATA}.*inflates to {original} bytes"):
        read_frames(path)
