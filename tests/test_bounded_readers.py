"""Issue 14, the bounded readers one by one: the gzip inflate caps, the BLF container's declared size, text lines
over the length limit (findings, linear time), empty lines, frame lines with more than 64 data bytes."""

from __future__ import annotations

import gzip
import io
import time
from pathlib import Path

import can
import numpy as np
import pytest
from _bombs import MIB, blf_container_bomb, blf_many_frames, candump_lines, gzip_bomb

from telemetry.errors import CorruptLog, TelemetryError
from telemetry.formats import open_log, read_frames
from telemetry.formats._base import read_gzip
from telemetry.formats._text import iter_blocks

ROOT = Path(__file__).resolve().parent.parent


# -- gzip ------------------------------------------------------------------------------------------------------
def test_a_gzip_bomb_is_refused_after_the_ratio_floor_naming_the_file(tmp_path):
    path = gzip_bomb(tmp_path / "a.log.gz", byte=b"A", mib=1024, prefix=candump_lines(2000))
    with pytest.raises(CorruptLog, match="more than 100 times its compressed size") as caught:
        read_frames(path)
    assert caught.value.path == str(path) and caught.value.offset is not None


def test_the_gzip_caps_come_from_the_environment(tmp_path, monkeypatch):
    sample = ROOT / "sample_logs" / "race" / "car88.log.gz"       # 1.4 MB inflating to 5.7 MB
    assert len(read_gzip(sample)) > 5 * MIB
    monkeypatch.setenv("BOPWATCH_GZIP_MAX_MB", "1")
    with pytest.raises(CorruptLog, match="more than 1 MB"):
        read_gzip(sample)
    monkeypatch.delenv("BOPWATCH_GZIP_MAX_MB")
    bomb = gzip_bomb(tmp_path / "zeros.bin.gz", mib=80)
    with pytest.raises(CorruptLog, match="decompression bomb"):
        read_gzip(bomb)
    monkeypatch.setenv("BOPWATCH_GZIP_MAX_RATIO", "5000")
    with pytest.raises(CorruptLog, match="CRC|damaged"):       # read to its (wrong) trailer: not a bomb now
        read_gzip(bomb)
    monkeypatch.setenv("BOPWATCH_GZIP_MAX_RATIO", "-1")
    with pytest.raises(TelemetryError, match="BOPWATCH_GZIP_MAX_RATIO='-1' is not a positive number"):
        read_gzip(sample)


def test_an_mdf_gzip_bomb_is_refused_by_the_same_caps(tmp_path, monkeypatch):
    """MDF is inflated whole for asammdf: through ``read_gzip``, so a bomb named ``.mf4.gz`` costs one refusal
    (formerly ``gzip.open(...).read()``: 4 GiB of zeros took 4 GiB of memory)."""
    head = (ROOT / "sample_logs" / "race" / "car32.mf4").read_bytes()[:4096]
    bomb = gzip_bomb(tmp_path / "zeros.mf4.gz", mib=1024, prefix=head)
    started = time.monotonic()
    with pytest.raises(CorruptLog, match="more than 100 times its compressed size") as caught:
        open_log(bomb)
    assert caught.value.path == str(bomb) and time.monotonic() - started < 10
    sound = tmp_path / "car32.mf4.gz"
    sound.write_bytes(gzip.compress((ROOT / "sample_logs" / "race" / "car32.mf4").read_bytes(), 1))
    assert len(read_frames(sound)) == len(read_frames(ROOT / "sample_logs" / "race" / "car32.mf4"))
    monkeypatch.setenv("BOPWATCH_GZIP_MAX_MB", "0.5")
    with pytest.raises(CorruptLog, match="more than 0.5 MB: a decompression bomb") as caught:
        open_log(sound)
    assert caught.value.path == str(sound)


def test_sound_gzip_logs_read_as_before():
    sample = ROOT / "sample_logs" / "race" / "car88.log.gz"
    plain = gzip.decompress(sample.read_bytes())
    assert read_gzip(sample) == plain


# -- BLF containers --------------------------------------------------------------------------------------------
def test_a_blf_container_declaring_more_than_the_cap_is_refused_with_its_offset(tmp_path):
    path = blf_container_bomb(tmp_path / "declares.blf", mib=100)
    with pytest.raises(CorruptLog, match="declares 104,857,") as caught:
        read_frames(path)
    assert caught.value.offset == 144


def test_a_blf_container_inflating_past_its_declared_size_is_refused(tmp_path):
    path = blf_container_bomb(tmp_path / "liar.blf", mib=8, declared=128 << 10)
    with pytest.raises(CorruptLog, match="inflates to more than the 131,072 bytes its header declares"):
        read_frames(path)


def test_an_honest_container_under_the_cap_reads_and_the_cap_is_configurable(tmp_path, monkeypatch):
    honest = blf_container_bomb(tmp_path / "honest.blf", mib=3)     # 4 frames then 3 MiB of zero padding
    assert len(read_frames(honest)) == 4
    assert len(read_frames(blf_many_frames(tmp_path / "small.blf"))) == 100
    monkeypatch.setenv("BOPWATCH_BLF_CONTAINER_MAX_MB", "1")
    with pytest.raises(CorruptLog, match="more than the 1 MB limit"):
        read_frames(honest)


def test_python_can_blf_files_read_the_same(tmp_path):
    path = tmp_path / "pc.blf"
    with can.BLFWriter(path) as w:
        for i in range(5000):
            w.on_message_received(can.Message(timestamp=1.0 + i * 1e-3, arbitration_id=i % 300, data=bytes(8)))
    frames = read_frames(path)
    assert len(frames) == 5000 and not frames.findings


# -- text lines ------------------------------------------------------------------------------------------------
def _candump(path: Path, parts: list[bytes]) -> Path:
    path.write_bytes(b"".join(parts))
    return path


def test_a_long_line_is_one_finding_with_its_line_number_and_the_lines_after_it_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("BOPWATCH_TEXT_MAX_LINE_BYTES", "100")
    ok = b"(1718000000.000000) can0 123#" + b"11" * 8 + b"\n"
    edge = b"(1718000000.000001) can0 123#" + b"22" * 8 + b" " * (100 - len(ok) + 1) + b"\n"   # exactly 100
    path = _candump(tmp_path / "x.log", [ok, edge, b"(1718000000.000002) can0 1#" + b"A" * 200 + b"\n",
                                         candump_lines(3, start=3)])
    frames = read_frames(path)
    assert len(frames) == 5
    [long] = [f for f in frames.findings if "longer than 100 bytes" in f.detail]
    assert long.kind == "skipped_line" and long.line == 3 and long.count == 1


@pytest.mark.parametrize("block_bytes", [1 << 16, 1 << 20])
def test_iter_blocks_skips_an_endless_line_in_linear_time_and_bounded_memory(block_bytes):
    head, tail = candump_lines(10), candump_lines(10, start=10)
    stream = io.BytesIO(head + b"A" * (64 * MIB) + b"\n" + tail)
    told = []
    started = time.monotonic()
    blocks = list(iter_blocks(stream, block_bytes, 1 << 16, lambda *a: told.append(a)))
    assert time.monotonic() - started < 5.0
    assert b"".join(b for b, _ in blocks) == head + tail
    assert blocks[0][1] == 1 and blocks[-1][1] == 12
    assert [(line, size) for line, size, _ in told] == [(11, 64 * MIB)]
    assert max(len(b) for b, _ in blocks) <= block_bytes + (1 << 16)


def test_a_file_of_one_endless_line_is_refused_and_one_at_the_end_is_reported(tmp_path):
    only = _candump(tmp_path / "only.log", [b"(1718000000.000000) can0 1#" + b"A" * (2 * MIB)])
    with pytest.raises(CorruptLog, match=r"1 lines tried, 1 longer than 65,536 bytes"):
        read_frames(only)
    last = _candump(tmp_path / "last.log", [candump_lines(4), b"(1718000000.000009) can0 1#" + b"A" * (2 * MIB)])
    frames = read_frames(last)
    assert len(frames) == 4 and any(f.line == 5 and "longer than" in f.detail for f in frames.findings)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_empty_lines_change_nothing_but_line_numbers_stay_right(tmp_path, newline):
    lines = candump_lines(600).replace(b"\n", newline).splitlines(keepends=True)
    bad = b"(1718000001.000000) can0 123#XYZ" + newline
    plain = _candump(tmp_path / "plain.log", [*lines, bad])
    spaced = _candump(tmp_path / "spaced.log", [newline * 3, *(line + newline for line in lines), newline * 5, bad])
    a, b = read_frames(plain), read_frames(spaced)
    assert len(a) == len(b) == 600
    assert np.array_equal(a.timestamp, b.timestamp) and np.array_equal(a.data, b.data)
    [skip_a] = [f for f in a.findings if f.kind == "skipped_line"]
    [skip_b] = [f for f in b.findings if f.kind == "skipped_line"]
    assert skip_a.line == 601 and skip_b.line == 3 + 2 * 600 + 5 + 1


def test_a_block_of_newlines_costs_little(tmp_path):
    path = _candump(tmp_path / "nl.log", [candump_lines(1), b"\n" * (48 * MIB), candump_lines(1, start=1)])
    started = time.monotonic()
    assert len(read_frames(path)) == 2
    assert time.monotonic() - started < 20.0


def _hex(n: int) -> str:
    return " ".join(f"{i % 256:02X}" for i in range(n))


@pytest.mark.parametrize("line", [
    "(1718000001.000000) can0 123##1" + "AB" * 65,
    "(1718000001.000000) can0 123#" + "AB" * 100,
])
def test_a_candump_frame_with_more_than_64_data_bytes_is_a_skipped_line(tmp_path, line):
    path = _candump(tmp_path / "x.log", [candump_lines(5), line.encode() + b"\n"])
    frames = read_frames(path)
    assert len(frames) == 5 and frames.length.max() == 8
    assert [f.line for f in frames.findings if f.kind == "skipped_line"] == [6]


@pytest.mark.parametrize("dlc", ["8", "F"])
def test_an_asc_d_line_with_more_than_64_data_bytes_is_a_skipped_line(tmp_path, dlc):
    head = ("date Mon Jun 10 06:13:20.000 2024\nbase hex  timestamps absolute\ninternal events logged\n"
            "Begin Triggerblock Mon Jun 10 06:13:20.000 2024\n")
    good = "".join(f" 0.0{i}0000 1  10{i}x            Rx   d 8 00 01 02 03 04 05 06 07\n" for i in range(5))
    path = tmp_path / "x.asc"
    path.write_text(head + good + f" 0.050000 1  105x            Rx   d {dlc} {_hex(100)}\n" + "End TriggerBlock\n")
    frames = read_frames(path)
    assert len(frames) == 5
    assert [f.line for f in frames.findings if f.kind == "skipped_line"] == [10]


def test_open_log_reads_a_sound_gzip_text_log_in_chunks():
    with open_log(ROOT / "sample_logs" / "race" / "car88.log.gz") as lf:
        assert sum(len(c) for c in lf.chunks(max_frames=1 << 14)) > 0
