"""ASAM MDF files through asammdf: CAN bus logging (``CAN_DataFrame`` groups, finalised or not, as CAN loggers
such as CANedge write them) becomes ``Frames``; MDF 2/3/4 measurements whose channels are already physical
become ``Channel``s (units as in the file).

Bus logging is read in one chunked pass per channel group (``_mf4_records``: the data blocks read once, the
frame fields taken from the record bytes with numpy, about 1 Mi frames per chunk), never per frame and never a
whole group at once; several groups are joined in time order chunk by chunk (``_mf4_merge``). asammdf opens the
file and gives the layout; a group whose layout the record reader does not take (MDF 3, big-endian fields) is read
whole through asammdf ``select``. Remote and error frames (``CAN_RemoteFrame``, ``CAN_ErrorFrame``) are read too.
``BusChannel`` is 1-based in MDF and becomes 0-based.
"""

from __future__ import annotations

import gc
import io
import logging
import mmap
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC
from pathlib import Path

import numpy as np

from ..channels import Channel
from ..frames import FLAG_BRS, FLAG_ERROR, FLAG_ESI, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Finding, Frames
from ._base import LogFile, frames_from_columns, read_gzip
from ._mf4_links import check_link_cycles
from ._mf4_merge import merge_in_time
from ._mf4_records import Columns, DamagedBlock, group_reader

__all__ = ["open_mdf", "MdfBusLog", "MdfChannelsLog"]

log = logging.getLogger(__name__)

FRAME_GROUPS = {"CAN_DataFrame": 0, "CAN_RemoteFrame": FLAG_REMOTE, "CAN_ErrorFrame": FLAG_ERROR}


def _load(path: Path):
    """Open with asammdf. asammdf raises many kinds of exception on damaged files (and its half-built object
    then fails again in ``__del__``); every one becomes a one-line ``CorruptLog``."""
    from asammdf import MDF

    from ..errors import CorruptLog
    with open(path, "rb") as f:
        magic = f.read(16)
    gz = magic[:2] == b"\x1f\x8b"
    if gz:       # inflated whole (asammdf reads it from memory), capped like every gzip stream (``read_gzip``)
        payload = read_gzip(path)
        magic = payload[:16]
    if not magic.startswith(b"MDF") and not magic.startswith(b"UnFinMF"):
        raise CorruptLog("not an MDF file (no MDF/UnFinMF identification block)", path=path, offset=0,
                         fix="check the file is an ASAM MDF file, or give it its real extension")
    if magic[8:9] == b"4":         # MDF 4: a looping block chain would make asammdf's MDF() loop forever
        if gz:
            check_link_cycles(payload, path)
        else:
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                check_link_cycles(view, path)
    problem = None
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None     # asammdf's __del__ on a half-built object
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # process_bus_logging=False: asammdf would read every CAN group's data once at open (twice for
            # CAN FD) to list the identifiers per bus, for DBC decoding we do not use
            return (MDF(io.BytesIO(payload), process_bus_logging=False) if gz
                    else MDF(path, process_bus_logging=False))
    except Exception as err:  # noqa: BLE001 - asammdf's exceptions are not one family
        problem = f"asammdf cannot read the file ({type(err).__name__}: {str(err)[:120]})"
    finally:
        if problem is not None:
            gc.collect()     # the half-built MDF object goes now, while its __del__ noise is muted
        sys.unraisablehook = hook
    raise CorruptLog(problem, path=path, fix="the file is damaged or truncated; copy it again from the logger")


def open_mdf(path: Path) -> LogFile:
    """A bus-logging reader when the file holds CAN frame groups, else a decoded-channel reader."""
    mdf = _load(path)
    if any(name in mdf.channels_db for name in FRAME_GROUPS):
        return MdfBusLog(path, mdf)
    return MdfChannelsLog(path, mdf)


def _start(mdf):
    try:
        start = getattr(mdf.header, "start_time", None)
    except (ValueError, OverflowError):     # a damaged time zone offset (over 24 h) or date
        return None
    if start is None:
        return None
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)



@contextmanager
def _quiet() -> Iterator[None]:
    """asammdf warns, and prints its block throughput to stdout when a read is slow; stdout belongs to the
    CLI (``check --json``), so both go to the debug log instead."""
    sink = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(sink):
        warnings.simplefilter("ignore")
        yield
    if sink.getvalue():
        log.debug("asammdf: %s", sink.getvalue().strip())


class MdfBusLog(LogFile):
    format = "mf4"

    def __init__(self, path: Path, mdf) -> None:
        super().__init__(path)
        self._mdf = self._own(mdf)
        self.start = _start(mdf)
        if mdf.version < "4.00":
            self.format = "mdf"
        with open(path, "rb") as f:
            magic = f.read(7)
            self._file_size = None if magic[:2] == b"\x1f\x8b" else os.fstat(f.fileno()).st_size
            if magic == b"UnFinMF":
                self.add(Finding("unfinalised", "the MF4 file is not finalised (as loggers leave it while "
                                 "recording): its data is read to the end of the file, so a cut file cannot be "
                                 "told from a complete one"))

    def _group_columns(self, name: str, group: int, extra: int):
        """One channel group's frames at once through asammdf (groups the record reader does not take), one
        bulk array per field. Fields are fetched as channels, not from the
        raw record: bit fields (BusChannel, IDE, Dir...) share bytes, and only asammdf's per-channel read applies
        their bit offsets, masks and conversions (some loggers store a field as a constant through a linear
        conversion of a zero-bit raw value, e.g. BusChannel = 0 * raw + 1). ``select`` reads the group's data
        blocks once for all fields."""
        keys, wanted = [], []
        for key in ("ID", "IDE", "BusChannel", "DLC", "DataLength", "DataBytes", "EDL", "BRS", "ESI"):
            where = [i for g, i in self._mdf.channels_db.get(f"{name}.{key}", ()) if g == group]
            if where:
                keys.append(key)
                wanted.append((f"{name}.{key}", group, where[0]))
        if not wanted:
            return None
        grp = self._mdf.groups[group]
        master = self._mdf.masters_db.get(group)
        for index in [i for _, _, i in wanted] + ([] if master is None else [master]):
            why = _outside_record(self._mdf, group, grp.channels[index], index) or _damaged_blocks(
                self._mdf, group, self._file_size)
            if why:
                raise DamagedBlock(why, None)     # _guarded makes it the CorruptLog naming the file
        with _quiet():
            signals = self._mdf.select(wanted)
        field = {key: sig.samples for key, sig in zip(keys, signals, strict=True)}
        timestamps = signals[0].timestamps
        if timestamps is None or not len(timestamps):
            return None
        n = len(timestamps)
        ident = np.asarray(field.get("ID", np.zeros(n)), np.uint64)
        flags = np.full(n, extra, np.uint8)
        if "IDE" in field:
            flags[np.asarray(field["IDE"]) != 0] |= FLAG_EXTENDED
        else:
            flags[ident > 0x7FF] |= FLAG_EXTENDED
        for key, bit in (("EDL", FLAG_FD), ("BRS", FLAG_BRS), ("ESI", FLAG_ESI)):
            if key in field:
                flags[np.asarray(field[key]) != 0] |= bit
        bus = np.asarray(field.get("BusChannel", np.ones(n)), np.int64) - 1
        raw = field.get("DataBytes")
        if raw is None:
            data = np.zeros((n, 8), np.uint8)
        elif raw.dtype == object:     # variable-length payloads (VLSD): one bytes object per frame
            data = np.zeros((n, 64), np.uint8)
            for i, b in enumerate(raw):
                b = bytes(b)[:64]
                data[i, :len(b)] = np.frombuffer(b, np.uint8)
        else:
            data = np.asarray(raw, np.uint8).reshape(n, -1)
        if "DataLength" in field:
            length = np.minimum(np.asarray(field["DataLength"], np.int64), data.shape[1])
        else:
            length = np.full(n, data.shape[1])
        if extra & FLAG_REMOTE and "DLC" in field:
            length = np.minimum(np.asarray(field["DLC"], np.int64), 8)
            data = np.zeros((n, 8), np.uint8)
        k = np.arange(data.shape[1])
        data = np.where(k < length[:, None], data, 0).astype(np.uint8)
        return (np.asarray(timestamps, np.float64), np.clip(bus, 0, 255), ident & 0x1FFFFFFF, flags,
                length, data)

    def _sources(self, max_frames: int) -> list[Iterator[Columns]]:
        groups = [(name, extra, group) for name, extra in FRAME_GROUPS.items()
                  for group, _index in self._mdf.channels_db.get(name, ())]
        per_group = max(1 << 12, max_frames // max(1, len(groups)))
        sources = []
        for name, extra, group in groups:
            try:
                with _quiet():
                    reader = group_reader(getattr(self._mdf, "_mdf", self._mdf), group, name, extra, self.path)
            except DamagedBlock as err:
                raise self.corrupt(err.problem, fix="the file is damaged; copy it again from the logger") from None
            except Exception:  # noqa: BLE001 - damaged metadata: asammdf's own read below says what is wrong
                log.debug("channel group %d (%s): no record layout", group, name, exc_info=True)
                reader = None
            if reader is None:       # a layout the record reader does not take: asammdf reads the whole group
                sources.append(self._guarded(name, group, None, self._whole_group(name, group, extra)))
            else:
                sources.append(self._guarded(name, group, reader, reader.columns(per_group)))
        return sources

    def _whole_group(self, name: str, group: int, extra: int) -> Iterator[Columns]:
        cols = self._group_columns(name, group, extra)
        if cols is not None:
            yield cols

    def _guarded(self, name: str, group: int, reader, source: Iterator[Columns]) -> Iterator[Columns]:
        """The source's chunks; asammdf's output to stdout goes to the debug log and every failure (asammdf's
        exceptions, damaged blocks) becomes a ``CorruptLog`` naming the file and the channel group."""
        while True:
            try:
                with _quiet():
                    cols = next(source)
            except StopIteration:
                break
            except DamagedBlock as err:
                raise self.corrupt(err.problem, offset=err.offset, fix="the file is damaged or truncated; copy it "
                                   "again from the logger") from None
            except Exception as err:  # noqa: BLE001 - asammdf's exceptions (and damaged shapes) are not one family
                raise self.corrupt(f"channel group {group} ({name}) cannot be read: {type(err).__name__}: "
                                   f"{err}", fix="the file is damaged or truncated; copy it again from the "
                                   "logger") from None
            if len(cols[0]):
                yield cols
        if reader is not None:
            for finding in reader.findings:
                self.add(finding)

    def _chunks(self, max_frames: int) -> Iterator[Frames]:
        sources = self._sources(max_frames)
        others = [n for n in ("LIN_Frame", "FLX_Frame", "ETH_Frame") if n in self._mdf.channels_db]
        if others:
            self.add(Finding("other_objects", "groups that are not CAN frames skipped: " + ", ".join(others)))
        for cols in merge_in_time(sources):
            for lo in range(0, len(cols[0]), max_frames):
                sl = slice(lo, lo + max_frames)
                yield frames_from_columns(*(c[sl] for c in cols), self.start)


#: MDF 4 channel types with no bytes in the record (virtual master, virtual data); every other type, including
#: values no version defines (asammdf reads those as fixed-length channels), must lie inside it
_VIRTUAL = (3, 6)


def _outside_record(mdf, group: int, channel, index: int) -> str | None:
    """Why ``channel`` (number ``index``) of ``group`` lies outside its group's record (asammdf reads past its
    buffer there and has died with SIGSEGV, or corrupted the heap), or None when it fits."""
    if getattr(mdf, "version", "4.00") < "4.00":
        return _outside_record_v3(mdf, group, channel, index)
    if getattr(channel, "channel_type", 0) in _VIRTUAL:
        return None
    grp = mdf.groups[group]
    cg = grp.channel_group
    size = int(cg.samples_byte_nr) + (0 if getattr(grp, "uses_ld", False) else int(cg.invalidation_bytes_nr))
    end = int(channel.byte_offset) + (int(channel.bit_offset) + int(channel.bit_count) + 7) // 8
    if end > size or int(channel.bit_count) <= 0:
        return (f"channel {channel.name!r} of group {group} lies outside its {size}-byte record (byte offset "
                f"{channel.byte_offset}, {channel.bit_count} bits)")
    return None


def _outside_record_v3(mdf, group: int, channel, index: int) -> str | None:
    """The MDF 2/3 form of ``_outside_record``: the bytes asammdf reads for the channel (``_prepare_record``:
    byte offset, and a read width rounded up to 1, 2, 4 or 8 bytes) must lie in the group's record, its bits
    must be at least one, and the record at least one byte. A master of 0 bits (time from the sampling rate) is
    not read. Damaged files were seen to make asammdf's native ``get_channel_raw_bytes`` crash the interpreter
    (SIGSEGV, or glibc aborting on a corrupted heap) when a channel reached past the record."""
    grp = mdf.groups[group]
    size = int(grp.channel_group.samples_byte_nr)
    bits = int(channel.bit_count)
    if bits == 0 and index == mdf.masters_db.get(group):
        return None
    start = int(channel.start_offset) + 8 * int(getattr(channel, "additional_byte_offset", 0) or 0)
    byte_offset, bit_offset = divmod(start, 8)
    end = byte_offset + (bit_offset + bits + 7) // 8
    try:
        record = getattr(mdf, "_mdf", mdf)._prepare_record(grp)[index]
    except Exception:  # noqa: BLE001 - a data type asammdf cannot map is damage too
        record = (None, size + 8, 0, 0)
    read_end = end if record is None else int(record[2]) + int(record[1])
    # an odd-width field at the end of the record is read with the next power-of-two width: a few bytes over
    if bits <= 0 or size <= 0 or end > size or read_end > size + 7:
        return (f"channel {channel.name!r} of group {group} lies outside its {size}-byte record (bit offset "
                f"{start}, {bits} bits)")
    return None


#: deflate cannot inflate more than about 1032 bytes per stored byte; a block declaring more is damaged
_MAX_INFLATE_RATIO = 1100


def _damaged_blocks(mdf, group: int, file_size: int | None) -> str | None:
    """Why the data blocks of ``group`` cannot be what they say, or None: a block whose stored bytes reach past
    the end of the file, or whose declared inflated size no deflate stream of its stored size can have. asammdf's
    native reader (``get_channel_raw_bytes_complete``) reads and allocates by these sizes and has crashed the
    interpreter (SIGSEGV) on them. ``file_size`` None (a file inflated to memory): asammdf reads through Python
    there, whose errors are caught, so only the ratio is checked."""
    grp = mdf.groups[group]
    blocks = getattr(grp, "data_blocks", ()) or ()
    record = int(getattr(grp.channel_group, "samples_byte_nr", 0) or 0)
    held = sum(int(getattr(b, "original_size", 0) or 0) for b in blocks)
    if blocks and record > max(held, 1 << 16):     # asammdf allocates by the record size (2 GB records: minutes)
        return f"group {group} declares {record}-byte records but holds only {held} bytes of data"
    for block in blocks:
        address = int(getattr(block, "address", 0) or 0)
        stored = int(getattr(block, "compressed_size", 0) or 0)
        size = int(getattr(block, "original_size", 0) or 0)
        if file_size is not None and address + stored > file_size:
            return (f"a data block of group {group} at offset {address} holds {stored} bytes, past the end of the "
                    f"{file_size}-byte file")
        if size > max(stored, 1) * _MAX_INFLATE_RATIO + 4096:
            return (f"a data block of group {group} at offset {address} declares {size} bytes inflated from "
                    f"{stored} stored bytes, more than deflate can give")
    return None


class MdfChannelsLog(LogFile):
    format = "mdf"
    kind = "channels"

    def __init__(self, path: Path, mdf) -> None:
        super().__init__(path)
        self._mdf = self._own(mdf)
        self.start = _start(mdf)
        with open(path, "rb") as f:          # asammdf reads a file on disk natively, a gzip payload in Python
            self._file_size = None if f.read(2) == b"\x1f\x8b" else os.fstat(f.fileno()).st_size

    def channels(self) -> list[Channel]:
        out: list[Channel] = []
        seen: set[str] = set()
        skipped = duplicates = 0
        mdf = self._mdf
        for g, grp in enumerate(mdf.groups):
            master = mdf.masters_db.get(g)
            why = _damaged_blocks(mdf, g, self._file_size)
            if why:
                raise self.corrupt(why, fix="the file is damaged or truncated; copy it again from the logger")
            if not int(getattr(grp.channel_group, "cycles_nr", 1) or 0):
                held = sum(int(getattr(b, "original_size", 0) or 0) for b in getattr(grp, "data_blocks", ()))
                if held:    # asammdf loops forever reading such a group; its samples cannot be counted anyway
                    self.add(Finding("count_mismatch", f"group {g} declares no records but holds {held} bytes "
                                     "of data: its channels were not read (the file is damaged or was not "
                                     "finalised; finalise it with the logger's tool)"))
                continue
            for i, ch in enumerate(grp.channels):
                if i == master or not ch.name:
                    continue
                why = _outside_record(mdf, g, ch, i) or (
                    None if master is None else _outside_record(mdf, g, grp.channels[master], master))
                if why:
                    raise self.corrupt(why, fix="the file is damaged; copy it again from the logger")
                try:
                    with _quiet():
                        sig = mdf.get(group=g, index=i)
                        if sig.samples.dtype.kind not in "iufb":
                            sig = mdf.get(group=g, index=i, raw=True)
                except Exception as err:  # noqa: BLE001 - asammdf raises many kinds; report and go on
                    log.debug("channel %s of group %d not readable: %s", ch.name, g, err)
                    skipped += 1
                    continue
                values = sig.samples
                if values.dtype.kind not in "iufb" or values.ndim != 1:
                    skipped += 1
                    continue
                if ch.name in seen:
                    duplicates += 1
                    continue
                seen.add(ch.name)
                out.append(Channel(ch.name, sig.unit or "", np.asarray(sig.timestamps, np.float64),
                                   values.astype(np.float64), source=f"mdf:{g}:{ch.name}"))
        if skipped:
            self.add(Finding("skipped_channels", f"{skipped} channels are not numeric series (text, arrays, "
                             "structures) and were not read", count=skipped))
        if duplicates:
            self.add(Finding("duplicate_channels", f"{duplicates} channel names occur in several groups; the "
                             "first group's channel was kept", count=duplicates))
        if not out:
            self.add(Finding("empty", "the file holds no numeric channels"))
        return out
