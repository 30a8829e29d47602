"""Content-addressed, write-once originals and the decoded-channel Parquet files beside the store.

An original is stored at ``<store>/originals/<sha[:2]>/<sha><suffixes>`` (the suffixes, e.g. ``.blf`` or
``.asc.gz``, keep the format detectable), written to a temporary file in the same folder, fsynced, made read-only
(0444) and renamed into place, so a crash never leaves a partial file under the final name. Storing bytes that
are already there is recognised by name and re-verified, never duplicated.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import StoreError

__all__ = ["sha256_file", "open_regular_file", "store_original", "verify_original", "original_path", "log_suffix",
           "write_channels_parquet", "read_channels_parquet", "channels_table", "verify_channels_file", "read_blocks"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """``path`` opened for reading when it is a regular file; a FIFO (whose open blocks), a device such as
    ``/dev/zero`` (which never ends), a socket or a directory, also behind a symlink, is a one-line
    ``StoreError`` before a byte is read."""
    from telemetry.errors import UnsupportedFormat
    from telemetry.formats import open_regular

    try:
        return open_regular(path)
    except UnsupportedFormat as err:
        raise StoreError(err.problem, path=path, fix=err.fix) from None


def read_blocks(fh: BinaryIO, path: str | os.PathLike):
    """The file's bytes in blocks, up to the size it had when opened: a file that keeps growing (a logger still
    writing it) is a ``StoreError`` once that size is read, never an endless read."""
    size = os.fstat(fh.fileno()).st_size
    left = size
    while left > 0:
        block = fh.read(min(_CHUNK, left))
        if not block:
            raise StoreError(f"shrank while being read (ended {size - left:,} bytes in, of {size:,})", path=path,
                             fix="wait until the logger has closed the file, then ingest it again")
        left -= len(block)
        yield block
    if fh.read(1):
        raise StoreError(f"grew while being read (past its {size:,} bytes when opened)", path=path,
                         fix="wait until the logger has closed the file, then ingest it again")


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a regular file's bytes (anything else is refused: ``open_regular_file``), as large as the file
    was when opened (``read_blocks``)."""
    digest = hashlib.sha256()
    with open_regular_file(path) as fh:
        for block in read_blocks(fh, path):
            digest.update(block)
    return digest.hexdigest()


def log_suffix(name: str) -> str:
    """``car7.blf`` -> ``.blf``; ``car7.asc.gz`` -> ``.asc.gz`` (lower case)."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) >= 2:
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def original_path(originals: Path, sha256: str, suffix: str) -> Path:
    return originals / sha256[:2] / f"{sha256}{suffix}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_original(source: str | os.PathLike, originals: Path, sha256: str | None = None) -> tuple[Path, str, bool]:
    """Copy ``source`` into the content-addressed folder. Returns ``(stored path, sha256, newly written)``.

    The bytes are hashed while copying; when ``sha256`` (hashed earlier) differs, the file changed in between
    and :class:`StoreError` says so."""
    source = Path(source)
    suffix = log_suffix(source.name)
    if sha256 is not None:
        final = original_path(originals, sha256, suffix)
        if final.exists():
            problem = verify_original(final, sha256)
            if problem is None:
                return final, sha256, False
            raise StoreError(problem, fix="restore the original from a backup; the store is no longer evidence")
    originals.mkdir(parents=True, exist_ok=True)
    tmp = originals / f".tmp-{os.getpid()}-{os.urandom(4).hex()}{suffix}"
    digest = hashlib.sha256()
    try:
        with open_regular_file(source) as src, open(tmp, "wb") as dst:
            for block in read_blocks(src, source):
                digest.update(block)
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        got = digest.hexdigest()
        if sha256 is not None and got != sha256:
            raise StoreError(f"the file changed while it was being stored (sha256 {sha256[:12]}... then "
                             f"{got[:12]}...)", path=source, fix="wait until the copy has finished, then retry")
        final = original_path(originals, got, suffix)
        if final.exists():
            return final, got, False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        log.info("stored original %s as %s", source, final)
        return final, got, True
    finally:
        if tmp.exists():
            tmp.chmod(0o644)
            tmp.unlink()


def verify_original(path: Path, sha256: str) -> str | None:
    """None when ``path`` exists and hashes to ``sha256``; else a sentence saying what is wrong."""
    if not path.exists():
        return f"{path}: stored original of {sha256[:12]}... is missing"
    got = sha256_file(path)
    if got != sha256:
        return f"{path}: stored original changed (sha256 is now {got[:12]}..., recorded {sha256[:12]}...)"
    return None


def verify_channels_file(path: Path, sha256: str) -> str | None:
    """None when the channel Parquet file ``path`` exists and hashes to ``sha256`` (the value its run's audit row
    recorded); else a sentence saying what is wrong."""
    if not path.is_file():
        return f"{path}: channel Parquet file is missing"
    got = sha256_file(path)
    if got != sha256:
        return f"{path}: channel Parquet file changed (sha256 is now {got[:12]}..., recorded {sha256[:12]}...)"
    return None


def channels_table(channels: Mapping[str, object]) -> pa.Table:
    """Long table of canonical channels: ``time_s, channel, value, unit, bus, source`` (one row per sample)."""
    parts_time, parts_value, names, units, buses, sources, lengths = [], [], [], [], [], [], []
    for name in sorted(channels):
        ch = channels[name]
        n = len(ch.time)
        parts_time.append(np.asarray(ch.time, dtype=np.float64))
        parts_value.append(np.asarray(ch.value, dtype=np.float64))
        names.append(name)
        units.append(ch.unit)
        buses.append(ch.bus)
        sources.append(ch.source)
        lengths.append(n)
    idx = np.repeat(np.arange(len(names), dtype=np.int32), lengths)
    time = np.concatenate(parts_time) if parts_time else np.empty(0)
    value = np.concatenate(parts_value) if parts_value else np.empty(0)

    def dictionary(values: list) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), pa.array(values, pa.string()))

    return pa.table({
        "time_s": pa.array(time, pa.float64()),
        "channel": dictionary(names),
        "value": pa.array(value, pa.float64()),
        "unit": dictionary(units),
        "bus": pa.array(np.asarray(buses, dtype=object)[idx] if len(idx) else [], pa.int16()),
        "source": dictionary(sources),
    })


def read_channels_parquet(path: Path, names: Sequence[str] | None = None) -> dict:
    """The channels of a run's Parquet file (all, or ``names``) as ``telemetry.channels.Channel`` in time order.
    Vectorised over the dictionary-encoded channel column (no Python object per sample)."""
    import pyarrow as pa

    from telemetry.channels import Channel

    filters = None if names is None else [("channel", "in", list(names))]
    table = pq.read_table(path, columns=["time_s", "channel", "value", "unit", "source"], filters=filters)
    out: dict = {}
    if table.num_rows == 0:
        return out
    column = table.column("channel").combine_chunks()
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    codes = column.indices.to_numpy(zero_copy_only=False)
    labels = column.dictionary.to_pylist()
    time, value = table.column("time_s").to_numpy(), table.column("value").to_numpy()
    if len(codes) > 1 and np.all(codes[1:] >= codes[:-1]) and np.all(
            (time[1:] >= time[:-1]) | (codes[1:] != codes[:-1])):
        order = np.arange(len(codes))                  # as written: by channel, each in time order (no sort)
    else:
        order = np.lexsort((time, codes))              # by channel, then time (stable within equal times)
        codes, time, value = codes[order], time[order], value[order]
    starts = np.flatnonzero(np.diff(codes, prepend=codes[0] - 1))
    ends = np.append(starts[1:], len(codes))
    units, sources = table.column("unit"), table.column("source")
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        first = int(order[a])
        name = labels[int(codes[a])]
        out[name] = Channel(name, units[first].as_py(), time[a:b], value[a:b], sources[first].as_py() or "")
    return dict(sorted(out.items()))


def write_channels_parquet(channels: Mapping[str, object], folder: Path, name: str) -> tuple[Path, bool]:
    """Write the channels to ``folder/<name>.parquet`` once (temp file + fsync + rename); existing is kept."""
    final = folder / f"{name}.parquet"
    if final.exists():
        return final, False
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{os.getpid()}-{os.urandom(4).hex()}.parquet"
    try:
        pq.write_table(channels_table(channels), tmp, compression="zstd", compression_level=1)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        _fsync_dir(folder)
        return final, True
    finally:
        if tmp.exists():
            tmp.unlink()


_TEMP_NAME = re.compile(r"\.tmp-(\d+)-[0-9a-f]{8}(\.[^/]*)?")


def clean_leftover_temp_files(folders: Iterable[Path]) -> list[Path]:
    """Remove the temporary files a killed writer left in ``folders`` (the originals and channels folders:
    ``.tmp-<pid>-<hex>.parquet`` and the like, never renamed into place), and return them. A file whose
    writing process still runs is kept: it may be an ingest in progress. Called when a store is opened for
    writing (the next start after a kill)."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for tmp in folder.rglob(".tmp-*"):
            m = _TEMP_NAME.fullmatch(tmp.name)
            if m is None or not tmp.is_file() or _process_runs(int(m.group(1))):
                continue
            try:
                tmp.chmod(0o644)
                tmp.unlink()
            except OSError as err:
                log.warning("leftover temporary file %s not removed: %s", tmp, err)
                continue
            removed.append(tmp)
    if removed:
        log.info("removed %d temporary files left by an interrupted writer: %s", len(removed),
                 ", ".join(str(p) for p in removed[:5]))
    return removed


def _process_runs(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):     # gone, or not a process id at all
        return False
    except PermissionError:                           # running, as another user
        return True
    return True
