"""Hostile files made on the fly (never committed): decompression bombs and overlong lines.

A deflate block of one MiB of the same byte, ended by a full flush, is byte-aligned and refers to nothing before
it, so the same ~1 KB of compressed bytes repeated N times inflates to N MiB: a 2 MB file that inflates to 2 GiB is
written in milliseconds, without compressing 2 GiB.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

MIB = 1 << 20


def _deflate_run(byte: bytes, mib: int) -> tuple[bytes, bytes]:
    """(one full-flushed raw deflate block inflating to 1 MiB of ``byte``, the stream's final block)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = z.compress(byte * MIB) + z.flush(zlib.Z_FULL_FLUSH)
    return block, z.flush(zlib.Z_FINISH)


def gzip_bomb(path: Path, *, byte: bytes = b"\0", mib: int = 4096, prefix: bytes = b"") -> Path:
    """A gzip file inflating to ``prefix`` and then ``mib`` MiB of ``byte`` (trailer CRC left zero: the reader must
    stop long before it)."""
    block, end = _deflate_run(byte, mib)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")          # gzip header, no name, no mtime
        if prefix:
            f.write(head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH))
        for _ in range(mib):
            f.write(block)
        f.write(end)
        f.write(struct.pack("<LL", 0, (mib * MIB) & 0xFFFFFFFF))
    return path


def _blf_header(file_size: int, objects: int) -> bytes:
    st = (2026, 6, 6, 27, 13, 30, 0, 0)       # SYSTEMTIME: 2026-06-27 13:30
    head = struct.pack("<4sLBBBBBBBBQQLL8H8H", b"LOGG", 144, 5, 0, 0, 0, 0, 0, 0, 0, file_size, 0, objects, 0,
                       *st, *st)
    return head.ljust(144, b"\0")


def _can_message(channel: int, ident: int, ts_ns: int, data: bytes) -> bytes:
    """A CAN_MESSAGE (type 1, header version 1) object."""
    body = struct.pack("<HBBL8s", channel, 0, len(data), ident, data.ljust(8, b"\0"))
    head = struct.pack("<4sHHLL", b"LOBJ", 32, 1, 32 + len(body), 1) + struct.pack("<LHHQ", 2, 0, 0, ts_ns)
    return head + body


def _container(payload: bytes, uncompressed: int, method: int = 2) -> bytes:
    body = struct.pack("<H6xL4x", method, uncompressed) + payload
    obj = struct.pack("<4sHHLL", b"LOBJ", 16, 1, 16 + len(body), 10) + body
    return obj + bytes(-len(obj) % 4)


def blf_container_bomb(path: Path, *, mib: int = 2048, declared: int | None = None) -> Path:
    """A BLF whose one log container (zlib) holds a few CAN frames and then ``mib`` MiB of zeros; the container
    declares ``declared`` uncompressed bytes (default: the truth, ``mib`` MiB plus the frames)."""
    frames = b"".join(_can_message(1, 0x100 + i, i * 1_000_000, bytes([i] * 8)) for i in range(4))
    z = zlib.compressobj(9, zlib.DEFLATED, 15)
    stream = z.compress(frames) + z.flush(zlib.Z_FULL_FLUSH)
    block, _ = _deflate_run(b"\0", mib)
    # a zlib stream: the compressobj's header and first block, then raw repeated blocks, an empty final block and
    # the Adler-32 of it all (zeros leave its sum A alone and add A to B once per byte)
    size = len(frames) + mib * MIB
    adler = zlib.adler32(frames)
    a, b = adler & 0xFFFF, adler >> 16
    b = (b + a * mib * MIB) % 65521
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = stream + block * mib + tail.flush(zlib.Z_FINISH) + struct.pack(">L", (b << 16) | a)
    body = _container(payload, size if declared is None else declared)
    head = _blf_header(144 + len(body), 4)
    path.write_bytes(head + body)
    return path


def blf_many_frames(path: Path, frames: int = 100) -> Path:
    """A small sound BLF (one container, honest sizes)."""
    raw = b"".join(_can_message(1, 0x100 + (i % 7), i * 1_000_000, bytes([i % 256] * 8)) for i in range(frames))
    body = _container(zlib.compress(raw), len(raw))
    path.write_bytes(_blf_header(144 + len(body), frames) + body)
    return path


def candump_lines(n: int, start: int = 0) -> bytes:
    """``n`` sound candump frame lines."""
    return b"".join(b"(1718000000.%06d) can0 123#1122334455667788\n" % (start + i) for i in range(n))


def long_line_log(path: Path, *, line_mib: int = 40, good_lines: int = 0, gz: bool = False) -> Path:
    """A candump log: ``good_lines`` frame lines, one line of ``line_mib`` MiB (hex digits, no newline until its
    end), then ``good_lines`` more."""
    good = candump_lines(good_lines)
    big = b"(1718000001.000000) can0 123#" + b"A" * (line_mib * MIB) + b"\n"
    data = good + big + good
    if gz:
        path.write_bytes(gzip.compress(data, 1))
    else:
        path.write_bytes(data)
    return path
