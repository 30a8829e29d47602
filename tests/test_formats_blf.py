"""The numpy BLF reader: frame-for-frame equal to python-can on what python-can reads right, and honest about
what it does not (truncation, zero-size objects, unknown objects, top-level objects, header count)."""

from __future__ import annotations

import struct
import zlib

import can
import numpy as np
import pytest
from _can_parity import assert_same_frames, sample_messages

from telemetry.errors import CorruptLog
from telemetry.formats import open_log, read_frames


def _write_blf(path, messages, **kwargs):
    with can.BLFWriter(path, **kwargs) as w:
        for m in messages:
            w.on_message_received(m)


@pytest.mark.parametrize("compression", [6, 0])
def test_blf_matches_python_can_frame_for_frame(tmp_path, compression):
    msgs = sample_messages(3000)
    msgs.insert(50, can.Message(timestamp=msgs[50].timestamp, is_error_frame=True, arbitration_id=0x55,
                                dlc=0, channel=1))
    path = tmp_path / "mixed.blf"
    _write_blf(path, msgs, compression_level=compression)
    ours = read_frames(path)
    theirs = list(can.BLFReader(path))
    assert_same_frames(ours, theirs, origin=0.0 if ours.start is None else None, tol=2e-6)
    assert ours.is_fd.sum() == sum(m.is_fd for m in msgs)
    assert not [f for f in ours.findings if f.kind not in ("other_objects",)]


def test_blf_chunks_are_bounded_and_join_to_the_whole(tmp_path):
    path = tmp_path / "many.blf"
    _write_blf(path, sample_messages(5000, fd=False))
    with open_log(path) as lf:
        sizes = [len(c) for c in lf.chunks(max_frames=700)]
    assert max(sizes) <= 700 and sum(sizes) == 5000


def test_truncated_blf_reports_truncation_and_keeps_every_whole_frame(tmp_path):
    path = tmp_path / "full.blf"
    _write_blf(path, sample_messages(4000, fd=False), compression_level=0)
    raw = path.read_bytes()
    cut = tmp_path / "cut.blf"
    cut.write_bytes(raw[:len(raw) - 1000])
    ours = read_frames(cut)
    whole = read_frames(path)
    kinds = [f.kind for f in ours.findings]
    assert "truncated" in kinds
    assert 0 < len(ours) < len(whole)
    # every frame read is the frame at that place in the complete file
    np.testing.assert_array_equal(ours.arbitration_id, whole.arbitration_id[:len(ours)])
    np.testing.assert_array_equal(ours.data[:, :8], whole.data[:len(ours), :8])
    # python-can reads the same whole frames but says nothing
    assert len(list(can.BLFReader(cut))) <= len(ours)


def test_truncated_compressed_container_is_reported(tmp_path):
    path = tmp_path / "full.blf"
    _write_blf(path, sample_messages(2000, fd=False))
    cut = tmp_path / "cut.blf"
    cut.write_bytes(path.read_bytes()[:-300])
    ours = read_frames(cut)
    assert "truncated" in [f.kind for f in ours.findings]
    assert len(ours) > 0


def _file_header(objects: int, size: int) -> bytes:
    header = struct.pack("<4sLBBBBBBBBQQLL8H8H", b"LOGG", 144, 5, 1, 0, 0, 4, 0, 0, 0, size, size, objects, 0,
                         2024, 6, 0, 28, 16, 30, 0, 0, 2024, 6, 0, 28, 17, 30, 0, 0)
    return header + bytes(144 - len(header))


def _can_object(channel: int, ident: int, data: bytes, ts_ns: int) -> bytes:
    body = struct.pack("<LHHQ", 2, 0, 0, ts_ns) + struct.pack("<HBBL8s", channel, 0, len(data), ident,
                                                              data.ljust(8, b"\0"))
    return struct.pack("<4sHHLL", b"LOBJ", 32, 1, 16 + len(body), 1) + body


def test_top_level_objects_without_containers_are_read(tmp_path):
    objs = _can_object(1, 0x123, b"\x01\x02", 1_000_000) + _can_object(2, 0x80000456, b"\x03", 2_000_000)
    path = tmp_path / "toplevel.blf"
    path.write_bytes(_file_header(2, 144 + len(objs)) + objs)
    fr = read_frames(path)
    assert len(fr) == 2
    assert fr.arbitration_id.tolist() == [0x123, 0x456]
    assert fr.is_extended.tolist() == [False, True]
    assert fr.bus.tolist() == [0, 1]
    np.testing.assert_allclose(fr.timestamp, [0.001, 0.002])
    assert fr.start is not None and fr.start.year == 2024
    assert len(list(can.BLFReader(path))) == 0     # python-can drops them


def test_zero_object_size_is_refused_with_its_offset(tmp_path):
    bad = struct.pack("<4sHHLL", b"LOBJ", 32, 1, 0, 1) + bytes(32)
    path = tmp_path / "zero.blf"
    path.write_bytes(_file_header(1, 144 + len(bad)) + bad)
    with pytest.raises(CorruptLog) as err:
        read_frames(path)
    assert err.value.offset == 144 and "impossible size 0" in str(err.value)


def test_zero_object_size_inside_a_container_is_refused(tmp_path):
    inner = _can_object(1, 0x10, b"\x01", 10) + struct.pack("<4sHHLL", b"LOBJ", 32, 1, 0, 1) + bytes(16)
    data = zlib.compress(inner)
    container = struct.pack("<4sHHLL", b"LOBJ", 16, 1, 32 + len(data), 10) + struct.pack("<H6xL4x", 2,
                                                                                        len(inner)) + data
    container += bytes(-len(container) % 4)
    path = tmp_path / "zero_inner.blf"
    path.write_bytes(_file_header(2, 144 + len(container)) + container)
    with pytest.raises(CorruptLog, match="impossible size"):
        read_frames(path)


def test_unknown_objects_are_counted_and_header_count_checked(tmp_path):
    unknown = struct.pack("<4sHHLL", b"LOBJ", 32, 1, 40, 160) + bytes(24)
    objs = _can_object(1, 0x1, b"\x01", 5) + unknown
    path = tmp_path / "unknown.blf"
    path.write_bytes(_file_header(5, 144 + len(objs)) + objs)
    fr = read_frames(path)
    kinds = {f.kind: f for f in fr.findings}
    assert len(fr) == 1
    assert "type 160 x1" in kinds["unknown_object"].detail
    assert "says 5 objects" in kinds["count_mismatch"].detail


def test_not_a_blf_is_refused(tmp_path):
    path = tmp_path / "fake.blf"
    path.write_bytes(b"LOGX" + bytes(300))
    with pytest.raises(CorruptLog, match="no LOGG signature"):
        read_frames(path)


def test_lobj_inside_a_payload_does_not_confuse_the_object_walk(tmp_path):
    msgs = [can.Message(timestamp=1.0 + i, arbitration_id=i, data=b"xLOBJxyz", channel=0) for i in range(50)]
    path = tmp_path / "lobj.blf"
    _write_blf(path, msgs)
    fr = read_frames(path)
    assert len(fr) == 50 and all(bytes(r) == b"xLOBJxyz" for r in fr.data[:, :8])


def test_payload_reading_lobj_stays_on_the_fast_path_with_every_frame(tmp_path, monkeypatch):
    from telemetry.formats.blf import BlfLog

    path = tmp_path / "lobj_payload.blf"
    messages = [can.Message(timestamp=1_700_000_000 + i * 0.001, arbitration_id=0x100 + i % 7, channel=1,
                            data=b"LOBJ\x10\x00\x00\x00" if i in (500, 501, 2000) else bytes([i % 256] * 8),
                            is_extended_id=False) for i in range(5000)]
    with can.BLFWriter(path) as writer:
        for m in messages:
            writer.on_message_received(m)

    def no_walk(*args, **kwargs):
        raise AssertionError("an aligned stream with LOBJ in a payload went to the per-object walk")

    monkeypatch.setattr(BlfLog, "_walk", no_walk)
    fr = read_frames(path)
    assert len(fr) == 5000
    assert bytes(fr.data[500][:4]) == b"LOBJ" and bytes(fr.data[2000][:4]) == b"LOBJ"
    assert fr.arbitration_id.tolist() == [m.arbitration_id for m in can.BLFReader(path)]


def _findings(fr):
    return [(f.kind, f.detail, f.offset, f.count) for f in fr.findings]


def _same(a, b):
    assert len(a) == len(b)
    for name in ("timestamp", "bus", "arbitration_id", "flags", "length", "data"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert _findings(a) == _findings(b)


def _variants(path, monkeypatch, max_frames=1 << 20):
    """Frames of ``path`` with each inflater (ISA-L, zlib) and each mode (worker thread, sequential)."""
    from telemetry.formats import blf

    out = {}
    for inflater in ("isal", "zlib"):
        for threads in (1, 0):
            monkeypatch.setattr(blf, "INFLATER", blf._fast_zlib if inflater == "isal" else None)
            monkeypatch.setattr(blf, "INFLATE_THREADS", threads)
            try:
                with open_log(path) as lf:
                    parts = list(lf.chunks(max_frames=max_frames))
                    out[inflater, threads] = (parts, list(lf.findings), None)
            except CorruptLog as err:
                out[inflater, threads] = (None, None, (str(err), err.offset))
    return out


def test_isal_is_the_inflater_when_installed():
    from telemetry.formats import blf

    pytest.importorskip("isal")
    assert blf.INFLATER is not None and blf.INFLATER.__name__.endswith("isal_zlib")
    assert blf.INFLATE_THREADS >= 1


@pytest.mark.parametrize("damage", ["none", "cut", "corrupt", "bomb"])
def test_isal_zlib_threaded_and_sequential_give_identical_frames_and_findings(tmp_path, monkeypatch, damage):
    pytest.importorskip("isal")
    path = tmp_path / "log.blf"
    _write_blf(path, sample_messages(6000))
    raw = bytearray(path.read_bytes())
    if damage == "cut":
        raw = raw[:-300]
    elif damage == "corrupt":       # deflate data of a middle container scrambled
        mid = len(raw) // 2
        raw[mid:mid + 64] = bytes(range(64))
    elif damage == "bomb":          # the second container declares more than it may
        second = raw.index(b"LOBJ", 144 + 16 + 1)
        while struct.unpack_from("<L", raw, second + 12)[0] != 10:
            second = raw.index(b"LOBJ", second + 1)
        struct.pack_into("<L", raw, second + 24, 65 << 20)
    path.write_bytes(bytes(raw))
    got = _variants(path, monkeypatch)
    base_parts, base_findings, base_error = got["zlib", 0]
    for key, (parts, findings, error) in got.items():
        assert error == base_error, key
        if error is None:
            assert [len(p) for p in parts] == [len(p) for p in base_parts], key
            for p, q in zip(parts, base_parts, strict=True):
                _same(p, q)
            assert [(f.kind, f.detail, f.offset) for f in findings] == \
                   [(f.kind, f.detail, f.offset) for f in base_findings], key
    if damage == "bomb":
        assert base_error is not None and "declares" in base_error[0]
    elif damage == "none":
        assert sum(len(p) for p in base_parts) == 6000


def test_a_stream_isal_cannot_finish_is_inflated_again_with_zlib(tmp_path, monkeypatch):
    from telemetry.formats import blf

    calls = []

    class Refusing:          # an inflater that fails every stream: zlib must give the frames and the findings
        error = ValueError

        @staticmethod
        def decompressobj():
            calls.append(1)

            class D:
                eof = False

                def decompress(self, data, max_length):
                    raise ValueError("nope")
            return D()

    path = tmp_path / "log.blf"
    _write_blf(path, sample_messages(3000))
    monkeypatch.setattr(blf, "INFLATER", None)
    plain = read_frames(path)
    monkeypatch.setattr(blf, "INFLATER", Refusing)
    fallback = read_frames(path)
    assert calls
    _same(plain, fallback)


def test_the_inflate_worker_stops_when_the_reader_is_abandoned(tmp_path):
    import threading

    path = tmp_path / "log.blf"
    _write_blf(path, sample_messages(20000, fd=False))
    with open_log(path) as lf:
        it = lf.chunks(max_frames=100)
        next(it)
        it.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("blf-inflate")]
