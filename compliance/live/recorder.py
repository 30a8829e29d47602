"""Rolling BLF files, flushed so a SIGKILL loses at most the last ``sync_s`` of frames.

Each file gets a valid ``LOGG`` header as soon as it is opened (object count 0, which readers take as "unknown"),
so a file cut by a crash reads as a BLF whose last container may be truncated. ``sync`` writes what is pending as
one zlib LogContainer (a container may be shorter than 128 KiB) and flushes it to the disk; ``close`` writes the
final header with the object count and stop time.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from telemetry.frames import Frames
from telemetry.simulate.writers.blf import FILE_HEADER, FILE_HEADER_SIZE, BlfWriter, _systemtime

__all__ = ["RollingRecorder", "SyncedBlfWriter"]


class SyncedBlfWriter(BlfWriter):
    """The project's BLF writer, with a header from the start and ``sync()``."""

    def __init__(self, file, start: datetime, compression_level: int = 1) -> None:
        super().__init__(file, start, compression_level)
        header = FILE_HEADER.pack(b"LOGG", FILE_HEADER_SIZE, 5, 0, 0, 0, 2, 6, 8, 1, 0, 0, 0, 0,
                                  *_systemtime(self.start), *_systemtime(None))
        file.seek(0)
        file.write(header + b"\0" * (FILE_HEADER_SIZE - len(header)))
        self.sync()

    def write(self, frames: Frames) -> None:
        # the base class writes whole 128 KiB containers as they fill; that is fine between syncs
        super().write(frames)

    def sync(self) -> None:
        if self.pending:
            self._flush(final=True)
        self.file.flush()
        os.fsync(self.file.fileno())


class RollingRecorder:
    """``write(frames, t0)`` batches of frames (time relative to the session's first frame at epoch ``t0``);
    a new file every ``roll_s`` seconds or ``roll_mb`` MB; ``sync()`` at least every second; ``close()``."""

    def __init__(self, folder: str | Path, *, roll_s: float = 600.0, roll_mb: float = 100.0,
                 prefix: str = "live") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.roll_s, self.roll_bytes, self.prefix = roll_s, int(roll_mb * 1e6), prefix
        self.files: list[Path] = []
        self.frames_written = 0
        self._writer: SyncedBlfWriter | None = None
        self._file = None
        self._file_t0 = 0.0      # session time of this file's first frame
        self._opened = 0.0

    def _open(self, epoch: float, session_t: float) -> None:
        start = datetime.fromtimestamp(epoch, UTC)
        path = self.folder / f"{self.prefix}_{start.strftime('%Y%m%dT%H%M%S')}_{len(self.files):04d}.blf"
        self._file = open(path, "w+b")   # noqa: SIM115 - closed in close()/_close_file()
        self._writer = SyncedBlfWriter(self._file, start)
        self._file_t0 = session_t
        self._opened = time.monotonic()
        self.files.append(path)

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._writer = self._file = None

    def write(self, frames: Frames, t0: float) -> None:
        """``frames`` with time relative to the session start at epoch ``t0``."""
        if not len(frames):
            return
        if self._writer is not None and (time.monotonic() - self._opened >= self.roll_s
                                         or self._file.tell() + len(self._writer.pending) >= self.roll_bytes):
            self._close_file()
        if self._writer is None:
            first = float(frames.timestamp[0])
            self._open(t0 + first, first)
        shifted = Frames(frames.timestamp - self._file_t0, frames.bus, frames.arbitration_id, frames.flags,
                         frames.length, frames.data, None)
        self._writer.write(shifted)
        self.frames_written += len(frames)

    def sync(self) -> None:
        if self._writer is not None:
            self._writer.sync()

    def close(self) -> list[Path]:
        self._close_file()
        return list(self.files)
