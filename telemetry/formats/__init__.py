"""Log readers: every supported file format into columnar ``Frames`` (or ``Channel``s for decoded MDF).

``open_log(path)`` picks the reader from the file's content (``sniff``: magic bytes, header and frame lines;
``.gz`` looked through), the name's suffix being a hint for content that is inconclusive or fits several formats;
``read_frames`` joins all chunks, ``inspect_log`` summarises a file the way ``bopwatch inspect`` prints it.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..channels import SourceInfo
from ..errors import CorruptLog, TelemetryError, UnsupportedFormat
from ..frames import Finding, Frames, concat_frames
from ._base import LogFile, open_regular
from .sniff import Sniffed, sniff

__all__ = ["LogFile", "open_log", "read_frames", "inspect_log", "sha256_file", "SUFFIXES", "FORMATS",
           "format_of", "sniff", "Sniffed", "open_regular"]

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


def _candump_screen(path: Path) -> LogFile:
    from .candump_screen import CandumpScreenLog
    return CandumpScreenLog(path)


def _trc(path: Path) -> LogFile:
    from .trc import TrcLog
    return TrcLog(path)


def _csv(path: Path) -> LogFile:
    from .csvlog import CsvLog
    return CsvLog(path)


def _busmaster(path: Path) -> LogFile:
    from .busmaster import BusmasterLog
    return BusmasterLog(path)


def _mdf(path: Path) -> LogFile:
    from .mdf import open_mdf
    return open_mdf(path)


#: format (as ``sniff`` names it) -> reader factory
FORMATS: dict[str, Callable[[Path], LogFile]] = {
    "blf": _blf, "asc": _asc, "candump": _candump, "trc": _trc, "csv": _csv, "mdf": _mdf, "busmaster": _busmaster,
    "candump-screen": _candump_screen,
}
#: file suffix (lower case, without ``.gz``) -> the format it suggests
_SUFFIX_FORMAT = {".blf": "blf", ".asc": "asc", ".log": "candump", ".trc": "trc", ".csv": "csv",
                  ".mf4": "mdf", ".mdf": "mdf", ".dat": "mdf"}
#: file suffix (lower case, without ``.gz``) -> reader factory (the hint; the content decides, see ``open_log``)
SUFFIXES: dict[str, Callable[[Path], LogFile]] = {s: FORMATS[f] for s, f in _SUFFIX_FORMAT.items()}

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
    """Open a log for reading (a context manager), with the reader of what the file holds (see ``choose_format``).

    Raises ``FileNotFoundError`` for a missing file, ``UnsupportedFormat`` for a directory or another file that is
    not a regular file, a format bopwatch does not read (named) or content no reader recognises under an unknown
    suffix, ``CorruptLog`` for an empty file or one its reader finds damaged. ``LogFile.detected`` says what the
    content was taken for; a file read as another format than its suffix says gets a ``format_by_content`` finding.
    """
    p = Path(path)
    suffix = format_of(p)
    if suffix in _KNOWN_OTHERS:
        raise UnsupportedFormat(f"{suffix} files are not read directly", path=p, fix=_KNOWN_OTHERS[suffix])
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.is_dir():
        raise UnsupportedFormat("is a directory, not a log file", path=p, fix="give the log file itself")
    mode = p.stat().st_mode
    if not stat.S_ISREG(mode):      # a FIFO or device would block or never end: never opened
        raise UnsupportedFormat("is not a regular file (a pipe, device or socket)", path=p,
                                fix="copy the log to a regular file and give that")
    if p.stat().st_size == 0:
        raise CorruptLog("the file is empty (0 bytes)", path=p,
                         fix="copy the log again from the logger; the transfer may have failed")
    found = sniff(p)
    fmt = choose_format(p, found)
    lf = FORMATS[fmt](p)
    lf.detected = found.what if found.fits(fmt) and found.what else fmt
    hinted = _SUFFIX_FORMAT.get(suffix)
    if hinted != fmt:
        said = f"its name's {suffix!r} suggests {hinted}" if hinted else (
            f"its name's {suffix!r} names no log format" if suffix else "its name has no suffix")
        lf.findings.insert(0, Finding("format_by_content", f"read as {lf.detected} by its content; {said}"))
    return lf


def choose_format(path: Path, found: Sniffed) -> str:
    """The reader for a file whose content sniffed as ``found``: the suffix's format when the content fits it
    too or is inconclusive, else the format the content shows; a format bopwatch does not read, or inconclusive
    content under an unknown suffix, is ``UnsupportedFormat``."""
    suffix = format_of(path)
    hinted = _SUFFIX_FORMAT.get(suffix)
    if found.format in FORMATS:
        return hinted if hinted is not None and found.fits(hinted) else found.format
    if found.format == "other":
        raise UnsupportedFormat(f"the file is {found.what}, which bopwatch does not read", path=path,
                                fix=found.fix)
    if hinted is not None:
        return hinted      # inconclusive content: the suffix's reader reports what is wrong, with its place
    known = ", ".join(sorted(SUFFIXES))
    raise UnsupportedFormat(f"unknown log format {suffix or '(no suffix)'!r}: the content is none of BLF, MDF, "
                            "ASC, candump, TRC, CSV or BUSMASTER", path=path,
                            fix=f"give a log in one of these formats (usually named {known}, optionally + .gz)")


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
                              duration, tuple(lf.findings), getattr(lf, "detected", None))
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
                          lf.start, duration, tuple(lf.findings), getattr(lf, "detected", None))


# re-exported for callers that catch reader errors
TelemetryError = TelemetryError
