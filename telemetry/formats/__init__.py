"""Log readers: every supported file format into columnar ``Frames`` (or ``Channel``s for decoded MDF).

``open_log(path)`` picks the reader from the file name (``.gz`` is opened transparently), ``read_frames``
joins all chunks, ``inspect_log`` summarises a file the way ``bopwatch inspect`` prints it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..channels import SourceInfo
from ..errors import CorruptLog, TelemetryError, UnsupportedFormat
from ..frames import Frames, concat_frames
from ._base import LogFile

__all__ = ["LogFile", "open_log", "read_frames", "inspect_log", "sha256_file", "SUFFIXES", "format_of"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None, str], None]


def _blf(path: Path) -> LogFile:
    from .blf import BlfLog
    return BlfLog(path)


def _asc(path: Path) -> LogFile:
    from .asc import AscLog
    return AscLog(path)


def _candump(path: Path) -> LogFile:
    from .candump import CandumpLog
    return CandumpLog(path)


def _trc(path: Path) -> LogFile:
    from .trc import TrcLog
    return TrcLog(path)


def _csv(path: Path) -> LogFile:
    from .csvlog import CsvLog
    return CsvLog(path)


def _mdf(path: Path) -> LogFile:
    from .mdf import open_mdf
    return open_mdf(path)


#: file suffix (lower case, without ``.gz``) -> reader factory
SUFFIXES: dict[str, Callable[[Path], LogFile]] = {
    ".blf": _blf, ".asc": _asc, ".log": _candump, ".trc": _trc, ".csv": _csv,
    ".mf4": _mdf, ".mdf": _mdf, ".dat": _mdf,
}

_KNOWN_OTHERS = {
    ".mfc": "a CANedge compressed container: convert it to MF4 first with CSS Electronics' mdf2finalized / "
            "MF4 converters",
    ".mfe": "a CANedge encrypted container: decrypt it with CSS Electronics' tools first",
    ".mfm": "a CANedge compressed+encrypted container: decrypt and convert it with CSS Electronics' tools first",
}


def format_of(path: str | Path) -> str:
    """The suffix that selects the reader (``.gz`` stripped), lower case."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def open_log(path: str | Path) -> LogFile:
    """Open a log for reading (a context manager). Raises ``UnsupportedFormat`` for an unknown suffix,
    ``CorruptLog`` for a file that is not what its name says, ``FileNotFoundError`` for a missing file."""
    p = Path(path)
    suffix = format_of(p)
    if suffix in _KNOWN_OTHERS:
        raise UnsupportedFormat(f"{suffix} files are not read directly", path=p, fix=_KNOWN_OTHERS[suffix])
    factory = SUFFIXES.get(suffix)
    if factory is None:
        known = ", ".join(sorted(SUFFIXES))
        raise UnsupportedFormat(f"unknown log format {suffix or '(no suffix)'!r}", path=p,
                                fix=f"give a file ending in one of {known} (optionally + .gz)")
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.is_dir():
        raise UnsupportedFormat("is a directory, not a log file", path=p, fix="give the log file itself")
    if p.stat().st_size == 0:
        raise CorruptLog("the file is empty (0 bytes)", path=p,
                         fix="copy the log again from the logger; the transfer may have failed")
    return factory(p)


def read_frames(path: str | Path, max_frames: int = 1 << 20) -> Frames:
    """All frames of a log in one ``Frames``, with the reader's findings attached."""
    with open_log(path) as lf:
        parts = list(lf.chunks(max_frames))
        frames = concat_frames(parts) if parts else _empty(lf)
        return Frames(frames.timestamp, frames.bus, frames.arbitration_id, frames.flags, frames.length,
                      frames.data, lf.start, tuple(lf.findings))


def _empty(lf: LogFile) -> Frames:
    from ..frames import empty_frames
    return empty_frames(start=lf.start)


def sha256_file(path: Path) -> str:
    """SHA-256 of the bytes on disk (compressed bytes for .gz), read in 4 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def inspect_log(path: str | Path, progress: Progress | None = None) -> SourceInfo:
    """Read a whole log (in chunks) and summarise it: format, frames, buses, ids, start, span, findings."""
    p = Path(path)
    with open_log(p) as lf:
        if lf.kind == "channels":
            channels = lf.channels()
            ends = [float(c.time[-1]) for c in channels if len(c)]
            begins = [float(c.time[0]) for c in channels if len(c)]
            duration = (max(ends) - min(begins)) if ends else 0.0
            return SourceInfo(str(p), sha256_file(p), lf.format, p.stat().st_size, None, (), None, lf.start,
                              duration, tuple(lf.findings))
        n = 0
        buses: set[int] = set()
        ids: set[int] = set()
        t_min, t_max = np.inf, -np.inf
        for chunk in lf.chunks():
            n += len(chunk)
            buses.update(np.unique(chunk.bus).tolist())
            key = chunk.arbitration_id.astype(np.uint64) | (chunk.is_extended.astype(np.uint64) << 32)
            ids.update(np.unique(key[~chunk.is_error]).tolist())
            t_min = min(t_min, float(chunk.timestamp.min()))
            t_max = max(t_max, float(chunk.timestamp.max()))
            if progress is not None:
                progress(n, None, f"reading {p.name}")
        duration = (t_max - t_min) if n else 0.0
        return SourceInfo(str(p), sha256_file(p), lf.format, p.stat().st_size, n, tuple(sorted(buses)), len(ids),
                          lf.start, duration, tuple(lf.findings))


# re-exported for callers that catch reader errors
TelemetryError = TelemetryError
