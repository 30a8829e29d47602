"""Log writers for every format bopwatch reads; one ``open_writer(path, fmt, start)`` factory.

A writer takes ``Frames`` chunk by chunk (time stamps in seconds from ``start``) and is closed once. Decoded MDF
is written from decoded groups instead (see :func:`mf4.write_mdf_decoded`).
"""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import numpy as np

from ...errors import TelemetryError
from ...frames import Frames, concat_frames
from . import text
from .blf import BlfWriter
from .mf4 import DecodedGroup, write_mdf_decoded, write_mf4_bus

__all__ = ["FORMATS", "RAW_FORMATS", "open_writer", "DecodedGroup", "write_mdf_decoded", "suffix_for"]

#: format -> file suffix. ``mf4``: CAN bus logging; ``mdf``: decoded physical channels (also ``.mf4``).
FORMATS = {"blf": ".blf", "asc": ".asc", "candump": ".log", "trc": ".trc", "csv": ".csv", "mf4": ".mf4",
           "mdf": ".mf4"}
RAW_FORMATS = ("blf", "asc", "candump", "trc", "csv", "mf4")


def suffix_for(fmt: str, gz: bool = False) -> str:
    if fmt not in FORMATS:
        raise TelemetryError(f"unknown format {fmt!r}", place="--format", fix=f"use one of {', '.join(FORMATS)}")
    if gz and fmt in ("blf", "mf4", "mdf"):
        raise TelemetryError(f"{fmt} is binary and compressed already", place="--gzip",
                             fix="gzip only text formats (asc, candump, trc, csv)")
    return FORMATS[fmt] + (".gz" if gz else "")


class _TextWriter:
    def __init__(self, path: Path, fmt: str, start: datetime, gz: bool) -> None:
        self.fmt = fmt
        self.start = start
        raw = open(path, "wb")  # noqa: SIM115 (closed in close())
        self.raw = raw
        # mtime=0 and no file name: the same frames give the same bytes
        self.file = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gz else raw
        self.count = 0
        if fmt == "asc":
            self.file.write(text.asc_header(start))
        elif fmt == "trc":
            self.file.write(text.trc_header(start, path.name.removesuffix(".gz")))
        elif fmt == "csv":
            self.file.write(text.csv_header())

    def write(self, frames: Frames) -> None:
        if not len(frames):
            return
        if self.fmt == "asc":
            self.file.write(text.asc_lines(frames))
        elif self.fmt == "candump":
            self.file.write(text.candump_lines(frames, self.start))
        elif self.fmt == "trc":
            self.file.write(text.trc_lines(frames, self.count + 1))
        else:
            self.file.write(text.csv_lines(frames, self.start))
        self.count += len(frames)

    def close(self) -> None:
        if self.fmt == "asc":
            self.file.write(text.asc_footer())
        if self.file is not self.raw:
            self.file.close()
        self.raw.close()


class _BlfFile:
    def __init__(self, path: Path, start: datetime, level: int) -> None:
        self.file = open(path, "wb")  # noqa: SIM115 (closed in close())
        self.writer = BlfWriter(self.file, start, level)

    def write(self, frames: Frames) -> None:
        self.writer.write(frames)

    def close(self) -> None:
        self.writer.close()
        self.file.close()


class _Mf4Bus:
    """asammdf writes a channel group at once: chunks are joined, then saved."""

    def __init__(self, path: Path, start: datetime, compression: int) -> None:
        self.path, self.start, self.compression = path, start, compression
        self.parts: list[Frames] = []

    def write(self, frames: Frames) -> None:
        if len(frames):
            self.parts.append(frames)

    def close(self) -> None:
        frames = concat_frames(self.parts) if self.parts else Frames(
            np.empty(0), np.empty(0, np.uint8), np.empty(0, np.uint32), np.empty(0, np.uint8),
            np.empty(0, np.uint8), np.empty((0, 8), np.uint8))
        write_mf4_bus(self.path, frames, self.start, self.compression)


def open_writer(path: str | Path, fmt: str, start: datetime, *, gz: bool = False, compression_level: int = 6):
    """A writer with ``write(frames)`` and ``close()`` for a raw-frame format."""
    path = Path(path)
    suffix_for(fmt, gz)
    if fmt == "blf":
        return _BlfFile(path, start, compression_level)
    if fmt == "mf4":
        return _Mf4Bus(path, start, 2 if compression_level else 0)
    if fmt in ("asc", "candump", "trc", "csv"):
        return _TextWriter(path, fmt, start, gz)
    raise TelemetryError(f"{fmt} is not a raw-frame format", place="--format", fix="use write_mdf_decoded")


