"""MF4 CAN bus-logging records in one chunked pass: a channel group's data blocks are read once, block by block,
and the frame fields are taken from the record bytes with numpy, in chunks of about 1 Mi frames.

asammdf supplies the metadata (the channel group's record layout: byte and bit offset, bit count, data type and
conversion of ``Timestamp``, ``BusChannel``, ``ID``, ``IDE``, ``DLC``, ``DataLength``, ``DataBytes``, ``EDL``,
``BRS``, ``ESI``; the data block list it resolved from the DT / DZ / DL / HL chain when it opened the file). The
blocks themselves are read here: DT as is (in slices), DZ inflated (transposed deflate is used in its transposed
form: each record byte is one contiguous row, so only the bytes of the needed fields are gathered). Groups whose
data asammdf moved to its temporary file (unsorted files, several channel groups in one data group, as CANedge
writes them), that use LD blocks, or whose blocks do not hold whole records are read through asammdf's own
fragment reader instead, with the same field extraction. Variable-length payloads (VLSD ``DataBytes``: the record
holds an offset into the signal data) are gathered from asammdf's signal data reader per chunk.

``group_reader`` returns ``None`` for a layout this module does not take (big-endian fields, non-numeric
masters, MDF 3); ``mdf.py`` then reads that group through asammdf ``select``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..frames import FLAG_BRS, FLAG_ESI, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Finding

__all__ = ["Columns", "GroupReader", "group_reader", "FIELDS", "DamagedBlock", "join_columns"]

log = logging.getLogger(__name__)

#: the members of a ``CAN_DataFrame`` (``CAN_RemoteFrame``, ``CAN_ErrorFrame``) structure that become Frames columns
FIELDS = ("ID", "IDE", "BusChannel", "DLC", "DataLength", "DataBytes", "EDL", "BRS", "ESI")

#: one chunk of frames as columns: timestamp, bus, arbitration_id, flags, length, data
Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

_UINT_LE, _INT_LE, _FLOAT_LE, _BYTES = 0, 2, 4, 10
_FIXED, _VLSD, _MASTER, _VIRTUAL_MASTER, _VIRTUAL_DATA = 0, 1, 2, 3, 6
_TEXT_CONVERSIONS = {7, 8, 9, 10, 11}      # value<->text tables: the raw value is what a frame column needs
_DT_SLICE = 16 << 20                       # an uncompressed DT block is read in slices of about this many bytes
_LOCATION_FILE = 0
_INVALIDATION_BIT_VALID = 0x02             # cn_flags: the channel has an invalidation bit


@dataclass(frozen=True, slots=True)
class _Field:
    """Where one member sits in the record and how its raw value becomes the physical one."""

    name: str
    index: int                  # channel index in the group (for VLSD signal data)
    byte_offset: int
    bit_offset: int
    bit_count: int
    data_type: int
    channel_type: int
    conversion: Any             # an asammdf ChannelConversion, or None for the raw value

    @property
    def nbytes(self) -> int:
        return (self.bit_offset + self.bit_count + 7) // 8


def _conversion(channel) -> Any:
    cc = channel.conversion
    if cc is None or cc.conversion_type == 0 or cc.conversion_type in _TEXT_CONVERSIONS:
        return None
    return cc


def _field(name: str, index: int, channel, record_size: int, where: str) -> _Field | None:
    """The member's place in the record; ``None`` for a layout this module does not take (asammdf reads it);
    ``DamagedBlock`` for a member outside the record (asammdf would read past its buffer: it has crashed there)."""
    f = _Field(name, index, int(channel.byte_offset), int(channel.bit_offset), int(channel.bit_count),
               int(channel.data_type), int(channel.channel_type), _conversion(channel))
    if f.channel_type in (_VIRTUAL_MASTER, _VIRTUAL_DATA):
        return f
    if f.channel_type not in (_FIXED, _MASTER, _VLSD):
        return None
    if f.byte_offset + f.nbytes > record_size or (f.data_type in (_UINT_LE, _INT_LE) and f.bit_count > 64):
        raise DamagedBlock(f"{where}: {name} lies outside the {record_size}-byte record (byte offset "
                           f"{f.byte_offset}, bit offset {f.bit_offset}, {f.bit_count} bits)", None)
    if f.channel_type == _VLSD:       # the record holds an offset (32 or 64 bits) into the signal data
        ok = name == "DataBytes" and f.data_type == _BYTES and f.bit_offset == 0 and f.bit_count in (32, 64)
        return f if ok else None
    if f.data_type == _BYTES:
        return f if name == "DataBytes" and f.bit_offset == 0 and f.bit_count % 8 == 0 else None
    if f.data_type == _FLOAT_LE:
        return f if f.bit_offset == 0 and f.bit_count in (32, 64) else None
    if f.data_type in (_UINT_LE, _INT_LE) and f.nbytes <= 8:
        return f
    return None


def group_reader(mdf, group: int, name: str, extra_flags: int, path) -> GroupReader | None:
    """A chunked reader for channel group ``group`` of ``mdf`` (asammdf's MDF4 object), or ``None`` when its
    layout is one this module does not take."""
    if not hasattr(mdf, "_load_data") or mdf.version < "4.00":
        return None
    grp = mdf.groups[group]
    record_size = grp.channel_group.samples_byte_nr + (0 if grp.uses_ld else grp.channel_group.invalidation_bytes_nr)
    master = mdf.masters_db.get(group)
    if master is None or record_size <= 0:
        return None
    where = f"channel group {group} ({name})"
    time = _field("Timestamp", master, grp.channels[master], record_size, where)
    if time is None or time.channel_type not in (_MASTER, _VIRTUAL_MASTER) or time.data_type == _BYTES:
        return None
    fields: dict[str, _Field] = {}
    for key in FIELDS:
        members = [i for g, i in mdf.channels_db.get(f"{name}.{key}", ()) if g == group]
        if members:
            if grp.channel_dependencies[members[0]]:       # an array (CA) or nested structure: asammdf reads it
                return None
            f = _field(key, members[0], grp.channels[members[0]], record_size, where)
            if f is None:
                return None
            fields[key] = f
    if not fields:
        return None
    invalid = None            # (byte, bit) of the frame structure's invalidation bit in the record, if it has one
    cg = grp.channel_group
    structure = [i for g, i in mdf.channels_db.get(name, ()) if g == group]
    if structure and cg.invalidation_bytes_nr and not grp.uses_ld:
        channel = grp.channels[structure[0]]
        if channel.flags & _INVALIDATION_BIT_VALID and channel.pos_invalidation_bit < 8 * cg.invalidation_bytes_nr:
            pos = int(channel.pos_invalidation_bit)
            invalid = (int(cg.samples_byte_nr) + pos // 8, pos % 8)
    return GroupReader(mdf, group, name, extra_flags, record_size, time, fields, path, invalid)


class GroupReader:
    """One channel group's frames, chunk by chunk (``columns``), in record order."""

    def __init__(self, mdf, group: int, name: str, extra: int, record_size: int, time: _Field,
                 fields: dict[str, _Field], path, invalid: tuple[int, int] | None = None) -> None:
        self.mdf, self.group, self.name, self.extra = mdf, group, name, extra
        self.grp = mdf.groups[group]
        self.record_size, self.time, self.fields, self.path = record_size, time, fields, path
        self.invalid, self.invalid_count = invalid, 0
        self.cycles = int(self.grp.channel_group.cycles_nr)
        self.findings: list[Finding] = []

    def where(self, offset: int | None = None) -> str:
        """The place for messages; a CorruptLog names the block's offset (where its data starts) itself."""
        return f"channel group {self.group} ({self.name})" + (" data block" if offset is not None else "")

    # -- record bytes ------------------------------------------------------------------------------------------
    def _direct(self) -> bool:
        grp = self.grp
        return (not grp.uses_ld and not grp.data_group.record_id_len
                and all(b.location == _LOCATION_FILE for b in grp.data_blocks))

    def _pieces(self) -> Iterator[tuple[np.ndarray, bool]]:
        """The group's records as byte matrices: ``(records, record_size)`` rows, or ``(record_size, records)``
        when a transposed DZ block holds whole records (``True`` as the second item)."""
        if self._direct():
            yield from self._block_pieces()
            return
        grp = self.grp
        saved = grp.read_split_count
        grp.read_split_count = max(1, (32 << 20) // self.record_size)
        try:
            for fragment in self.mdf._load_data(grp):
                data = fragment.data
                n = len(data) // self.record_size
                if n:
                    rows = np.frombuffer(data, np.uint8, count=n * self.record_size).reshape(n, self.record_size)
                    yield rows.copy(), False      # asammdf reuses its fragment buffer
        finally:
            grp.read_split_count = saved

    def _block_pieces(self) -> Iterator[tuple[np.ndarray, bool]]:
        from asammdf.blocks.utils import DECOMPRESS_FUNC_MAP

        stream = self.mdf._file
        rs = self.record_size
        carry = b""
        for info in self.grp.data_blocks:
            address, kind = int(info.address), int(info.block_type)
            size, original = int(info.compressed_size or 0), int(info.original_size or 0)
            if kind == 0:                            # DT: uncompressed, read in slices of whole records
                limit = size if info.block_limit is None else min(size, int(info.block_limit))
                step = max(rs, _DT_SLICE // rs * rs)
                for lo in range(0, limit, step):
                    stream.seek(address + lo)
                    want = min(step, limit - lo)
                    data = stream.read(want)
                    if len(data) < want:
                        raise DamagedBlock(f"{self.where(address)}: the data block ends at the end of the file, "
                                       f"{want - len(data)} bytes short", address)
                    carry, rows = _rows(carry + data, rs)
                    if rows is not None:
                        yield rows, False
                continue
            decompress = DECOMPRESS_FUNC_MAP.get(kind)
            if decompress is None:
                raise DamagedBlock(f"{self.where(address)}: unknown compression type {kind}", address)
            stream.seek(address)
            raw = stream.read(size)
            if len(raw) < size:
                raise DamagedBlock(f"{self.where(address)}: the compressed block ends at the end of the file", address)
            data = _inflate(raw, original, decompress, self.where(address), address)
            if kind % 2 == 0:                        # transposed: param = columns (the record size)
                cols = int(info.param or 0)
                if cols <= 0:
                    raise DamagedBlock(f"{self.where(address)}: transposed block with {cols} columns", address)
                lines = original // cols
                if not carry and cols == rs and lines * cols == original and info.block_limit is None:
                    yield np.frombuffer(data, np.uint8).reshape(cols, lines), True
                    continue
                head = np.frombuffer(data, np.uint8, count=lines * cols).reshape(cols, lines).T.tobytes()
                data = head + data[lines * cols:]
            if info.block_limit is not None:
                data = data[:int(info.block_limit)]
            carry, rows = _rows(carry + data, rs)
            if rows is not None:
                yield rows, False
        if carry:
            self.findings.append(Finding("truncated", f"{self.where()}: the data ends {len(carry)} bytes into a "
                                         f"record of {rs} bytes; the partial record is not read"))

    # -- fields ------------------------------------------------------------------------------------------------
    def columns(self, chunk_frames: int) -> Iterator[Columns]:
        """Frames columns in chunks of ``chunk_frames`` (the last one shorter)."""
        parts: list[Columns] = []
        held = 0
        seen = 0
        more = False
        for piece, transposed in self._pieces():
            n = piece.shape[1] if transposed else piece.shape[0]
            if seen + n > self.cycles:      # records past the count the group declares: asammdf stops there too
                more = True
                n = self.cycles - seen
                piece = piece[:, :n] if transposed else piece[:n]
            if n <= 0:
                break
            parts.append(self._frames(piece, transposed, seen))
            seen += n
            held += n
            while held >= chunk_frames:
                out, parts = _split(parts, chunk_frames)
                held -= chunk_frames
                yield out
        if held:
            yield join_columns(parts)
        if self.invalid_count:
            self.findings.append(Finding(
                "invalid_records", f"{self.where()}: {self.invalid_count} records carry the frame's invalidation "
                "bit (the logger marks them invalid); they are read as they are, as asammdf counts them",
                count=self.invalid_count))
        if more:
            self.findings.append(Finding(
                "count_mismatch", f"{self.where()}: the data blocks hold more records than the {self.cycles} the "
                "channel group declares; those are read (as asammdf does), the rest is not"))
        if seen < self.cycles:
            self.findings.append(Finding(
                "truncated", f"{self.where()}: the data blocks hold {seen} records, the channel group declares "
                f"{self.cycles}; every whole record was read", count=self.cycles - seen))

    def _value(self, piece: np.ndarray, transposed: bool, f: _Field, first: int) -> np.ndarray:
        n = piece.shape[1] if transposed else piece.shape[0]
        if f.channel_type in (_VIRTUAL_MASTER, _VIRTUAL_DATA):
            raw: np.ndarray = np.arange(first, first + n, dtype=np.uint64)
        elif f.bit_count == 0:
            raw = np.zeros(n, np.uint64)
        else:
            raw = _number(_take(piece, transposed, f.byte_offset, f.nbytes), f)
        if f.conversion is None:
            return raw
        value = f.conversion.convert(raw)
        return value if getattr(value, "dtype", np.dtype(object)).kind in "iufb" else raw

    def _frames(self, piece: np.ndarray, transposed: bool, first: int) -> Columns:
        fields = self.fields
        n = piece.shape[1] if transposed else piece.shape[0]
        if self.invalid is not None:
            byte, bit = self.invalid
            self.invalid_count += int(np.count_nonzero(_take(piece, transposed, byte, 1).ravel() & (1 << bit)))
        ts = np.asarray(self._value(piece, transposed, self.time, first), np.float64)
        got = {key: self._value(piece, transposed, f, first) for key, f in fields.items() if key != "DataBytes"}
        ident = np.asarray(got["ID"], np.uint64) if "ID" in got else np.zeros(n, np.uint64)
        flags = np.full(n, self.extra, np.uint8)
        if "IDE" in got:
            flags[np.asarray(got["IDE"]) != 0] |= FLAG_EXTENDED
        else:
            flags[ident > 0x7FF] |= FLAG_EXTENDED
        for key, bit in (("EDL", FLAG_FD), ("BRS", FLAG_BRS), ("ESI", FLAG_ESI)):
            if key in got:
                flags[np.asarray(got[key]) != 0] |= bit
        bus = np.asarray(got["BusChannel"], np.int64) - 1 if "BusChannel" in got else np.zeros(n, np.int64)
        payload = fields.get("DataBytes")
        full = 8 if payload is None else 64 if payload.channel_type == _VLSD else payload.bit_count // 8
        if "DataLength" in got:
            length = np.minimum(np.asarray(got["DataLength"], np.int64), full)
        else:
            length = np.full(n, full, np.int64)
        if self.extra & FLAG_REMOTE and "DLC" in got:
            length = np.minimum(np.asarray(got["DLC"], np.int64), 8)
            payload = None
        width = min(full, 8 if not n or int(length.max()) <= 8 else 64)
        if payload is None:
            data = np.zeros((n, 8), np.uint8)
        elif payload.channel_type == _VLSD:
            offset = _Field("", 0, 0, 0, payload.bit_count, _UINT_LE, _FIXED, None)
            data = self._vlsd(_number(_take(piece, transposed, payload.byte_offset, payload.nbytes), offset),
                              payload, width)
        else:
            data = _take(piece, transposed, payload.byte_offset, width)
        if n and int(length.min()) < data.shape[1]:
            data = np.where(np.arange(data.shape[1]) < length[:, None], data, np.uint8(0))
        # the Frames dtypes now: joining chunks and the time merge then move 7 bytes per frame besides the payload
        return (ts, np.clip(bus, 0, 255).astype(np.uint8), (ident & 0x1FFFFFFF).astype(np.uint32), flags,
                length.astype(np.uint8), data)

    def _vlsd(self, offsets: np.ndarray, payload: _Field, width: int) -> np.ndarray:
        n = len(offsets)
        if not n:
            return np.zeros((0, width), np.uint8)
        lo, hi = int(offsets.min()), int(offsets.max())
        raw = self.mdf._load_signal_data(group=self.grp, index=payload.index, offsets=(lo, hi))
        buf = np.frombuffer(raw, np.uint8)
        rel = (offsets - np.uint64(lo)).astype(np.int64)
        if int(rel.max()) + 4 > len(buf):
            raise DamagedBlock(f"{self.where()}: a DataBytes offset points past the end of the signal data "
                           f"({hi} > {lo + len(buf) - 4})", None)
        size = np.zeros(n, np.int64)
        for k in range(4):
            size |= buf[rel + k].astype(np.int64) << (8 * k)
        take = np.minimum(size, width)
        if int((rel + 4 + take).max()) > len(buf):
            raise DamagedBlock(f"{self.where()}: a DataBytes entry runs past the end of the signal data", None)
        col = np.arange(width)
        mask = col < take[:, None]
        idx = np.where(mask, rel[:, None] + 4 + col, 0)
        return np.where(mask, buf[idx], np.uint8(0))


class DamagedBlock(Exception):  # noqa: N818 - becomes the reader's CorruptLog naming the file
    def __init__(self, problem: str, offset: int | None) -> None:
        super().__init__(problem)
        self.problem, self.offset = problem, offset


def _inflate(raw: bytes, original: int, decompress, where: str, address: int) -> bytes:
    try:
        data = decompress(raw)
    except Exception as err:  # noqa: BLE001 - zlib, isal, lz4 and zstd raise their own kinds
        raise DamagedBlock(f"{where}: the compressed data is damaged ({type(err).__name__}: {err})", address) from None
    if len(data) != original:
        raise DamagedBlock(f"{where}: the block inflates to {len(data)} bytes, its header says {original}", address)
    return data


def _rows(data: bytes, rs: int) -> tuple[bytes, np.ndarray | None]:
    n = len(data) // rs
    if not n:
        return data, None
    return data[n * rs:], np.frombuffer(data, np.uint8, count=n * rs).reshape(n, rs)


def _take(piece: np.ndarray, transposed: bool, offset: int, nbytes: int) -> np.ndarray:
    """Bytes ``offset .. offset + nbytes`` of every record as a C-contiguous ``(records, nbytes)`` matrix."""
    if transposed:
        return np.ascontiguousarray(piece[offset:offset + nbytes].T)
    return np.ascontiguousarray(piece[:, offset:offset + nbytes])


def _number(raw: np.ndarray, f: _Field) -> np.ndarray:
    """Little-endian integer or float fields from their bytes, bit offset and count applied as asammdf does."""
    n, nbytes = raw.shape
    if f.data_type == _FLOAT_LE:
        return raw.view("<f8" if nbytes == 8 else "<f4").ravel()
    if nbytes in (1, 2, 4, 8):
        value = raw.view(f"<u{nbytes}").ravel().astype(np.uint64)
    else:
        wide = np.zeros((n, 8), np.uint8)
        wide[:, :nbytes] = raw
        value = wide.view("<u8").ravel()
    if f.bit_offset:
        value >>= np.uint64(f.bit_offset)
    if f.bit_count < 64:
        value &= np.uint64((1 << f.bit_count) - 1)
    if f.data_type == _INT_LE:
        signed = value.view(np.int64)
        if f.bit_count < 64:
            sign = np.int64(1 << (f.bit_count - 1))
            signed = (signed ^ sign) - sign
        return signed
    return value


def join_columns(parts: list[Columns]) -> Columns:
    if len(parts) == 1:
        return parts[0]
    width = max(p[5].shape[1] for p in parts)
    data = np.zeros((sum(len(p[0]) for p in parts), width), np.uint8)
    row = 0
    for p in parts:
        data[row:row + len(p[0]), :p[5].shape[1]] = p[5]
        row += len(p[0])
    cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return (cols[0], cols[1], cols[2], cols[3], cols[4], data)


def _split(parts: list[Columns], n: int) -> tuple[Columns, list[Columns]]:
    """The first ``n`` frames of ``parts`` joined, and the rest (as parts)."""
    head: list[Columns] = []
    got = 0
    rest = list(parts)
    while got < n:
        p = rest.pop(0)
        need = n - got
        if len(p[0]) <= need:
            head.append(p)
            got += len(p[0])
        else:
            head.append(tuple(c[:need] for c in p))          # type: ignore[arg-type]
            rest.insert(0, tuple(c[need:] for c in p))       # type: ignore[arg-type]
            got = n
    return join_columns(head), rest
