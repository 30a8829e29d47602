"""Vector BLF writer: CAN_MESSAGE objects built as one numpy record array per chunk, zlib LogContainers.

The layout follows the format as python-can and Vector tools read it: a 144-byte ``LOGG`` file header (sizes,
object count, start and stop SYSTEMTIME), then ``LOBJ`` LogContainer objects, each a zlib-compressed slice of
up to 128 KiB of the object stream (objects may span containers). Time stamps are 1 ns ticks from the start.
"""

from __future__ import annotations

import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import BinaryIO

import numpy as np

from ...frames import Frames

__all__ = ["BlfWriter"]

FILE_HEADER = struct.Struct("<4sLBBBBBBBBQQLL8H8H")
FILE_HEADER_SIZE = 144
CONTAINER = 128 * 1024
CAN_MESSAGE = 1
LOG_CONTAINER = 10
TIME_ONE_NANS = 2

_RECORD = np.dtype([
    ("signature", "S4"), ("header_size", "<u2"), ("header_version", "<u2"), ("object_size", "<u4"),
    ("object_type", "<u4"), ("flags", "<u4"), ("client_index", "<u2"), ("object_version", "<u2"),
    ("timestamp", "<u8"), ("channel", "<u2"), ("msg_flags", "u1"), ("dlc", "u1"), ("id", "<u4"),
    ("data", "u1", (8,)),
])
assert _RECORD.itemsize == 48
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="blf-zlib")


def _systemtime(when: datetime | None) -> tuple[int, ...]:
    if when is None:
        return (0,) * 8
    return (when.year, when.month, when.isoweekday() % 7, when.day, when.hour, when.minute, when.second,
            when.microsecond // 1000)


class BlfWriter:
    """``write(frames)`` chunk after chunk (time relative to ``start``), then ``close()``."""

    def __init__(self, file: BinaryIO, start: datetime, compression_level: int = 6) -> None:
        self.file = file
        self.start = start.replace(microsecond=(start.microsecond // 1000) * 1000)
        self.offset_ns = int(round((start - self.start).total_seconds() * 1e9))
        self.level = compression_level
        self.pending = bytearray()
        self.count = 0
        self.uncompressed = FILE_HEADER_SIZE
        self.last_s = 0.0
        file.write(b"\0" * FILE_HEADER_SIZE)

    def write(self, frames: Frames) -> None:
        if not len(frames):
            return
        if frames.data.shape[1] > 8 or frames.is_fd.any():
            raise ValueError("the simulator's BLF writer writes classic CAN frames only")
        rec = np.zeros(len(frames), _RECORD)
        rec["signature"] = b"LOBJ"
        rec["header_size"] = 32
        rec["header_version"] = 1
        rec["object_size"] = 48
        rec["object_type"] = CAN_MESSAGE
        rec["flags"] = TIME_ONE_NANS
        rec["timestamp"] = np.round(frames.timestamp * 1e9).astype(np.int64) + self.offset_ns
        rec["channel"] = frames.bus.astype(np.uint16) + 1
        rec["dlc"] = frames.length
        rec["id"] = frames.arbitration_id | np.where(frames.is_extended, np.uint32(0x80000000), np.uint32(0))
        rec["data"][:, : frames.data.shape[1]] = frames.data
        self.pending += rec.tobytes()
        self.count += len(frames)
        self.last_s = max(self.last_s, float(frames.timestamp[-1]))
        self._flush(final=False)

    def _flush(self, final: bool) -> None:
        stream = bytes(self.pending)
        full = len(stream) // CONTAINER
        ends = [CONTAINER * (i + 1) for i in range(full)]
        if final and len(stream) > full * CONTAINER:
            ends.append(len(stream))
        blocks = [stream[end - CONTAINER if end % CONTAINER == 0 else full * CONTAINER: end] for end in ends]
        # zlib releases the GIL: containers compress in parallel, and are written in order
        for block, packed in zip(blocks, _POOL.map(lambda b: zlib.compress(b, self.level), blocks), strict=True):
            size = 32 + len(packed)
            self.file.write(struct.pack("<4sHHLL", b"LOBJ", 16, 1, size, LOG_CONTAINER))
            self.file.write(struct.pack("<H6xL4x", 2, len(block)))
            self.file.write(packed)
            self.file.write(b"\0" * (size % 4))
            self.uncompressed += 32 + len(block)
        self.pending = bytearray(stream[ends[-1]:] if ends else stream)

    def close(self) -> None:
        self._flush(final=True)
        size = self.file.tell()
        stop = self.start + timedelta(seconds=self.last_s)
        header = FILE_HEADER.pack(b"LOGG", FILE_HEADER_SIZE, 5, 0, 0, 0, 2, 6, 8, 1, size, self.uncompressed,
                                  self.count, 0, *_systemtime(self.start), *_systemtime(stop))
        self.file.seek(0)
        self.file.write(header + b"\0" * (FILE_HEADER_SIZE - len(header)))
        self.file.seek(size)
