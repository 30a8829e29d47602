"""The reader base class every format module extends, and the byte source they read from (plain or gzip).

The byte source is bounded (issue 14; the limits are in ``telemetry.limits``): only a regular file is opened (a
FIFO would block, ``/dev/zero`` never end), and a gzip stream may inflate to at most ``BOPWATCH_GZIP_MAX_RATIO``
times the compressed bytes read so far (once past ``GZIP_RATIO_FLOOR`` inflated bytes) and ``BOPWATCH_GZIP_MAX_MB``
in all; past either it is a ``CorruptLog`` naming the file and the offset, so a decompression bomb costs one
refusal, not the memory or the hours it asks for.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import stat
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..channels import Channel
from ..errors import CorruptLog, UnsupportedFormat
from ..frames import Finding, Frames
from ..limits import GZIP_MAX_MB, GZIP_MAX_RATIO, GZIP_RATIO_FLOOR, env_number

__all__ = ["LogFile", "open_bytes", "open_regular", "read_gzip", "FindingCounter", "frames_from_columns"]

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
#: each format as a message names it, with the article it is spoken with ("an ASC file", never "a asc file")
_SPOKEN = {"asc": "an ASC", "blf": "a BLF", "candump": "a candump", "csv": "a CSV", "mdf": "an MDF",
           "mf4": "an MF4", "trc": "a TRC"}


_PIECE = 1 << 24


class _GzipStream(gzip.GzipFile):
    """A gzip stream whose damage (cut short, bad CRC, bad deflate data) is a ``CorruptLog``, not an
    ``EOFError``/``zlib.error``/``BadGzipFile`` escaping the reader, and whose inflated size is capped (by ratio
    to the compressed bytes read and in all; module notes)."""

    def _caps(self) -> None:
        self._max_ratio = env_number("BOPWATCH_GZIP_MAX_RATIO", GZIP_MAX_RATIO)
        self._max_mb = env_number("BOPWATCH_GZIP_MAX_MB", GZIP_MAX_MB)
        self._max_bytes = int(self._max_mb * (1 << 20))

    def read(self, size: int | None = -1) -> bytes:
        if not hasattr(self, "_max_ratio"):
            self._caps()
        if size is None or size < 0:        # never one unbounded inflate: pieces, each checked
            parts = []
            while part := self.read(_PIECE):
                parts.append(part)
            return b"".join(parts)
        try:
            data = super().read(min(size, _PIECE))
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise CorruptLog(f"the gzip stream is damaged or cut short ({err})", path=self.name,
                             offset=self.fileobj.tell() if self.fileobj else None,
                             fix="copy the log again from the logger; the compressed copy is incomplete") from None
        if data:
            self._check(len(data))
        return data

    def _check(self, got: int) -> None:
        out = self.tell()
        used = max(self.fileobj.tell(), 1) if self.fileobj else 1
        if out > self._max_bytes:
            raise CorruptLog(f"the gzip stream inflates to more than {self._max_mb:g} MB: a decompression "
                             "bomb, or a log too large to read", path=self.name, offset=used,
                             fix="ask for the logger's original file; if this log is genuine, raise "
                                 "BOPWATCH_GZIP_MAX_MB")
        if out > GZIP_RATIO_FLOOR and out > self._max_ratio * used:
            raise CorruptLog(f"the gzip stream inflates to more than {self._max_ratio:g} times its compressed size "
                             f"({out >> 20} MB from {used:,} bytes): a decompression bomb",
                             path=self.name, offset=used,
                             fix="ask for the logger's original file; if this log is genuine, raise "
                                 "BOPWATCH_GZIP_MAX_RATIO")


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """``open(path, "rb")`` for a regular file only: a FIFO, device, socket or directory (also behind a symlink)
    is an ``UnsupportedFormat`` naming it, raised before a byte is read. Checked before the open (a socket cannot
    be opened, a FIFO's open blocks) and again on the descriptor, opened without blocking, so a file swapped in
    between is caught too."""
    fd = None
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
            mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsupportedFormat(f"is {_kind_of(mode)}, not a regular file", path=Path(path),
                                    fix="give the log file itself, copied to a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise


def _kind_of(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a plain file"


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes as a binary stream, gunzipped on the fly (capped: module notes) when the file starts with
    the gzip magic. Only a regular file is opened (``open_regular``)."""
    raw = open_regular(path)
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        stream = _GzipStream(filename=str(path), fileobj=raw, mode="rb")
        stream.myfileobj = raw      # GzipFile.close() closes ``myfileobj`` (not a caller's ``fileobj``)
        return stream  # type: ignore[return-value]
    raw.seek(0)
    return raw


def read_gzip(path: str | os.PathLike) -> bytes:
    """The whole inflated content of a gzip file, with the caps of ``open_bytes`` (for readers that need it in
    memory, such as MDF through asammdf)."""
    with open_bytes(Path(path)) as stream:
        return stream.read()


#: distinct arbitration ids a FindingCounter keeps (a file garbling more ids than this is incomplete anyway)
IDS_KEPT = 1024


class FindingCounter:
    """Collects occurrences of one kind of problem (e.g. skipped lines) into one ``Finding`` with a count,
    keeping the first few places for the detail."""

    def __init__(self, kind: str, what: str, keep: int = 5) -> None:
        self.kind, self.what, self.keep = kind, what, keep
        self.count = 0
        self.lines: list[int] = []
        self.offsets: list[int] = []
        self.examples: list[str] = []
        self.ids: set[int] = set()      # arbitration ids readable on the counted lines (a rule may need them)

    def add(self, *, line: int | None = None, offset: int | None = None, example: str = "",
            arbitration_id: int | None = None) -> None:
        self.count += 1
        if arbitration_id is not None and len(self.ids) < IDS_KEPT:
            self.ids.add(arbitration_id)
        if len(self.lines) + len(self.offsets) < self.keep:
            if line is not None:
                self.lines.append(line)
            if offset is not None:
                self.offsets.append(offset)
            if example:
                self.examples.append(example[:80])

    def finding(self) -> Finding | None:
        if not self.count:
            return None
        places = ""
        if self.lines:
            places = " at line" + ("s " if len(self.lines) > 1 else " ") + ", ".join(map(str, self.lines))
        elif self.offsets:
            places = " at offset" + ("s " if len(self.offsets) > 1 else " ") + ", ".join(map(str, self.offsets))
        more = ", ..." if self.count > len(self.lines) + len(self.offsets) else ""
        example = f"; first: {self.examples[0]!r}" if self.examples else ""
        return Finding(self.kind, f"{self.count} {self.what}{places}{more}{example}",
                       offset=self.offsets[0] if self.offsets else None,
                       line=self.lines[0] if self.lines else None, count=self.count, ids=tuple(sorted(self.ids)))


def frames_from_columns(timestamp: np.ndarray, bus: np.ndarray, arbitration_id: np.ndarray, flags: np.ndarray,
                        length: np.ndarray, data: np.ndarray, start: datetime | None) -> Frames:
    """Build ``Frames`` with the canonical dtypes; the payload is cut to 8 bytes when no frame needs more."""
    length = np.asarray(length, np.uint8)
    width = 8 if not len(length) or int(length.max()) <= 8 else 64
    if data.shape[1] != width:
        out = np.zeros((len(length), width), np.uint8)
        w = min(width, data.shape[1])
        out[:, :w] = data[:, :w]
        data = out
    return Frames(np.asarray(timestamp, np.float64), np.asarray(bus, np.uint8),
                  np.asarray(arbitration_id, np.uint32), np.asarray(flags, np.uint8), length,
                  np.ascontiguousarray(data, np.uint8), start)


class LogFile:
    """One opened log. Subclasses set ``format`` and ``kind`` and implement ``_chunks`` (frame logs) or
    ``channels`` (decoded-channel files). Use as a context manager; ``findings`` grows while reading."""

    format: str = ""
    kind: str = "frames"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start: datetime | None = None
        self.findings: list[Finding] = []
        self.frames_read = 0
        self._closers: list = []

    # -- context manager --------------------------------------------------------------------------------
    def __enter__(self) -> LogFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def format_with_article(self) -> str:
        """``format`` as messages write it: "an ASC", "a BLF", "a candump"."""
        return _SPOKEN.get(self.format) or f"{'an' if self.format[:1] in tuple('aeiou') else 'a'} {self.format}"

    def close(self) -> None:
        while self._closers:
            try:
                self._closers.pop().close()
            except Exception:  # pragma: no cover - closing must not mask the real error
                log.debug("closing %s failed", self.path, exc_info=True)

    def _own(self, closable):
        self._closers.append(closable)
        return closable

    # -- frames -------------------------------------------------------------------------------------------
    def _chunks(self, max_frames: int) -> Iterator[Frames]:
        raise UnsupportedFormat(f"{self.format_with_article} file holds decoded channels, not CAN frames",
                                path=self.path, fix="use .channels() or `bopwatch decode` with a profile")

    def chunks(self, max_frames: int = 1 << 20) -> Iterator[Frames]:
        """Frames in file order, at most ``max_frames`` per chunk. After the last chunk, ``findings`` is
        complete (including time going backwards, which is checked across chunk borders)."""
        if max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        last = -np.inf
        back = FindingCounter("time_backwards", "frames earlier than the frame before them")
        first_back: tuple[int, float, float] | None = None
        seen = 0
        for part in self._chunks(max_frames):
            for lo in range(0, len(part), max_frames):
                chunk = part if len(part) <= max_frames else part.select(slice(lo, lo + max_frames))
                if not len(chunk):
                    continue
                ts = chunk.timestamp
                prev = np.empty(len(ts))
                prev[0] = last
                prev[1:] = ts[:-1]
                dec = np.flatnonzero(ts < prev)
                if len(dec):
                    if first_back is None:
                        i = int(dec[0])
                        first_back = (seen + i, float(prev[i]), float(ts[i]))
                    back.count += len(dec)
                last = float(ts[-1])
                seen += len(chunk)
                self.frames_read = seen
                yield chunk
        if first_back is not None:
            i, before, after = first_back
            self.findings.append(Finding(
                "time_backwards", f"time goes backwards {back.count} time(s); first at frame {i} "
                f"({before:.6f} s -> {after:.6f} s)", count=back.count))
        if seen == 0:
            self.findings.append(Finding("empty", "the file holds no CAN frames"))

    def channels(self) -> list[Channel]:
        raise UnsupportedFormat(f"{self.format_with_article} file holds raw CAN frames, not decoded channels",
                                path=self.path, fix="decode it with a car profile (`bopwatch decode --profile`)")

    # -- helpers for subclasses -----------------------------------------------------------------------------
    def corrupt(self, problem: str, *, offset: int | None = None, line: int | None = None,
                fix: str = "the file is damaged; ask for the logger's original file") -> CorruptLog:
        return CorruptLog(problem, path=self.path, offset=offset, line=line, fix=fix)

    def add(self, finding: Finding | None) -> None:
        if finding is not None:
            self.findings.append(finding)


def read_head(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes from the stream's current position, without consuming them when it can seek."""
    if isinstance(stream, io.BufferedReader):
        return stream.peek(size)[:size]
    pos = stream.tell()
    head = stream.read(size)
    stream.seek(pos)
    return head
