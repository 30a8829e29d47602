"""Text log writers (Vector ASC, candump -l, PEAK TRC 2.1, python-can CSV), built as character matrices.

Every line of a chunk is one row of a uint8 matrix assembled column block by column block with numpy; blocks of
variable width (hex without leading zeros, payloads shorter than 8 bytes) carry a keep-mask, and the chunk's text
is the matrix flattened through the mask. No per-frame Python formatting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from ...frames import Frames

__all__ = ["asc_header", "asc_lines", "asc_footer", "candump_lines", "trc_header", "trc_lines", "csv_header",
           "csv_lines"]

_HEX = np.frombuffer(b"0123456789ABCDEF", np.uint8)
_DIGITS = np.frombuffer(b"0123456789", np.uint8)
_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", np.uint8)
SPACE = ord(" ")


class _Lines:
    def __init__(self, n: int) -> None:
        self.n = n
        self.blocks: list[tuple[np.ndarray, np.ndarray | None]] = []

    def text(self, s: str) -> _Lines:
        block = np.broadcast_to(np.frombuffer(s.encode("ascii"), np.uint8), (self.n, len(s)))
        self.blocks.append((block, None))
        return self

    def add(self, block: np.ndarray, keep: np.ndarray | None = None) -> _Lines:
        self.blocks.append((block, keep))
        return self

    def tobytes(self) -> bytes:
        if not self.n:
            return b""
        matrix = np.hstack([b for b, _ in self.blocks])
        if all(k is None for _, k in self.blocks):
            return matrix.tobytes()
        keep = np.hstack([np.ones(b.shape, bool) if k is None else k for b, k in self.blocks])
        return matrix[keep].tobytes()


def _decimal(values: np.ndarray, decimals: int, width: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Right-aligned fixed-point numbers (values >= 0); ``width`` None: no padding (a keep-mask drops it)."""
    x = np.round(np.asarray(values, np.float64) * 10 ** decimals).astype(np.int64)
    top = int(x.max()) if len(x) else 0
    ndig = max(len(str(top)), decimals + 1)
    cols = []
    for p in range(ndig - 1, -1, -1):
        cols.append(_DIGITS[(x // 10 ** p) % 10])
        if p == decimals and decimals:
            cols.append(np.full(len(x), ord("."), np.uint8))
    matrix = np.stack(cols, axis=1) if cols else np.empty((len(x), 0), np.uint8)
    # blank leading zeros of the integer part (keep the units digit)
    int_digits = ndig - decimals
    lead = np.zeros_like(matrix, dtype=bool)
    for j in range(int_digits - 1):
        lead[:, j] = x < 10 ** (ndig - 1 - j)
    if width is None:
        return matrix, ~lead
    matrix = np.where(lead, np.uint8(SPACE), matrix)
    if width > matrix.shape[1]:
        matrix = np.hstack([np.full((len(x), width - matrix.shape[1]), SPACE, np.uint8), matrix])
    return matrix, None


def _hex(values: np.ndarray, digits: int) -> np.ndarray:
    v = np.asarray(values, np.uint64)
    return np.stack([_HEX[((v >> np.uint64(4 * (digits - 1 - j))) & np.uint64(0xF)).astype(np.intp)]
                     for j in range(digits)], axis=1)


def _hex_trimmed(values: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    matrix = _hex(values, digits)
    v = np.asarray(values, np.uint64)
    keep = np.ones(matrix.shape, bool)
    for j in range(digits - 1):
        keep[:, j] = v >= (np.uint64(1) << np.uint64(4 * (digits - 1 - j)))
    return matrix, keep


def _payload(frames: Frames, sep: str = " ") -> tuple[np.ndarray, np.ndarray]:
    """Hex bytes ``"01 02 ..."`` (or without separators), masked to each frame's length."""
    n, width = frames.data.shape
    step = 2 + len(sep)
    matrix = np.full((n, width * step), SPACE, np.uint8)
    keep = np.zeros(matrix.shape, bool)
    for j in range(width):
        matrix[:, j * step] = _HEX[frames.data[:, j] >> 4]
        matrix[:, j * step + 1] = _HEX[frames.data[:, j] & 0xF]
        inside = frames.length > j
        keep[:, j * step] = keep[:, j * step + 1] = inside
        if sep and j:
            keep[:, j * step - 1] = inside
    if sep:
        matrix = matrix[:, : width * step - len(sep)]
        keep = keep[:, : width * step - len(sep)]
    return matrix, keep


def _ident(frames: Frames, std_digits: int, ext_digits: int, ext_suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    ext = frames.is_extended
    matrix = _hex(frames.arbitration_id, ext_digits)
    keep = np.ones(matrix.shape, bool)
    keep[:, : ext_digits - std_digits] = ext[:, None]
    if ext_suffix:
        matrix = np.hstack([matrix, np.full((len(frames), 1), ord(ext_suffix), np.uint8)])
        keep = np.hstack([keep, ext[:, None]])
    return matrix, keep


def _pad(lengths: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Spaces filling each row up to ``width`` given the ``lengths`` already written."""
    matrix = np.full((len(lengths), width), SPACE, np.uint8)
    return matrix, np.arange(width)[None, :] < (width - lengths)[:, None]


def _asc_date(start: datetime) -> str:
    return start.strftime("%a %b %d %I:%M:%S.") + f"{start.microsecond // 1000:03d} " \
        + start.strftime("%p").lower() + start.strftime(" %Y")


def asc_header(start: datetime) -> bytes:
    date = _asc_date(start)
    return (f"date {date}\nbase hex  timestamps absolute\ninternal events logged\n// version 9.0.0\n"
            f"Begin Triggerblock {date}\n   0.000000 Start of measurement\n").encode()


def asc_footer() -> bytes:
    return b"End TriggerBlock\n"


def asc_lines(frames: Frames) -> bytes:
    """``   12.345678 1  1A0             Rx   d 8 01 02 03 04 05 06 07 08`` (channel 1-based)."""
    n = len(frames)
    ts, _ = _decimal(frames.timestamp, 6, 11)
    ident, keep = _ident(frames, 3, 8, "x")
    id_len = keep.sum(axis=1)
    lines = _Lines(n).add(ts).text(" ").add(_DIGITS[(frames.bus + 1) % 10][:, None]).text("  ")
    lines.add(ident, keep).add(*_pad(id_len, 16)).text("Rx   d ").add(_HEX[frames.length & 0xF][:, None])
    lines.text(" ").add(*_payload(frames)).text("\n")
    return lines.tobytes()


def candump_lines(frames: Frames, start: datetime, interface: str = "can") -> bytes:
    """``(1750868400.001234) can0 1A0#0102030405060708`` (candump -l)."""
    epoch = start.timestamp() + frames.timestamp
    ident, keep = _ident(frames, 3, 8)
    lines = _Lines(len(frames)).text("(").add(*_decimal(epoch, 6, None)).text(f") {interface}").add(_DIGITS[frames.bus % 10][:, None])
    lines.text(" ").add(ident, keep).text("#").add(*_payload(frames, sep="")).text("\n")
    return lines.tobytes()


def trc_header(start: datetime, name: str) -> bytes:
    days = (start - datetime(1899, 12, 30, tzinfo=UTC)) / timedelta(days=1)
    lines = [
        ";$FILEVERSION=2.1",
        f";$STARTTIME={days:.10f}",
        ";$COLUMNS=N,O,T,B,I,d,R,L,D",
        ";",
        f";   {name}",
        ";",
        f";   Start time: {start.strftime('%d.%m.%Y %H:%M:%S.')}{start.microsecond // 1000:03d}.0",
        ";   Generated by bopwatch simulate",
        ";-------------------------------------------------------------------------------",
        ";   Bus   Name            Connection               Protocol",
        ";   1     SRO logger      bus 1                    CAN",
        ";   2     ECU             bus 2                    CAN",
        ";-------------------------------------------------------------------------------",
        ";   Message   Time    Type    ID     Rx/Tx",
        ";   Number    Offset  |  Bus  [hex]  |  Reserved",
        ";   |         [ms]    |  |    |      |  |  Data Length Code",
        ";   |         |       |  |    |      |  |  |    Data [hex] ...",
        ";   |         |       |  |    |      |  |  |    |",
        ";---+-- ------+------ +- +- --+----- +- +- +--- +- -- -- -- -- -- -- --",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def trc_lines(frames: Frames, first_number: int) -> bytes:
    """``      1        59.863 DT  1     01A0 Rx -  8    01 02 ...`` (numbers 1-based, offsets in ms)."""
    n = len(frames)
    numbers, _ = _decimal(np.arange(first_number, first_number + n), 0, 7)
    offset, _ = _decimal(frames.timestamp * 1000.0, 3, 13)
    ident, keep = _ident(frames, 4, 8)
    lines = _Lines(n).add(numbers).text(" ").add(offset).text(" DT ")
    lines.add(_decimal(frames.bus.astype(np.int64) + 1, 0, 2)[0]).text(" ")
    lines.add(*_pad(keep.sum(axis=1), 8)).add(ident, keep).text(" Rx -  ")
    lines.add(_DIGITS[frames.length % 10][:, None]).text("    ").add(*_payload(frames)).text("\r\n")
    return lines.tobytes()


def csv_header() -> bytes:
    return b"timestamp,arbitration_id,extended,remote,error,dlc,data\n"


def _base64(frames: Frames) -> tuple[np.ndarray, np.ndarray]:
    n, width = frames.data.shape
    groups = (width + 2) // 3
    padded = np.zeros((n, groups * 3), np.uint8)
    padded[:, :width] = frames.data
    triples = padded.reshape(n, groups, 3).astype(np.uint32)
    word = (triples[:, :, 0] << 16) | (triples[:, :, 1] << 8) | triples[:, :, 2]
    chars = np.stack([_B64[(word >> s) & 0x3F] for s in (18, 12, 6, 0)], axis=2).reshape(n, groups * 4)
    # per-row length: full groups of 3 bytes, then '=' padding
    length = frames.length.astype(np.int64)
    out_len = 4 * ((length + 2) // 3)
    pos = np.arange(groups * 4)[None, :]
    data_chars = np.ceil(length * 4 / 3).astype(np.int64)[:, None]
    chars = np.where(pos >= data_chars, np.uint8(ord("=")), chars)
    return chars, pos < out_len[:, None]


def csv_lines(frames: Frames, start: datetime) -> bytes:
    """python-can's CSV dialect: absolute time, ``0x`` id, flags, dlc, base64 payload. It has no bus column."""
    epoch = start.timestamp() + frames.timestamp
    ident, keep = _hex_trimmed(frames.arbitration_id, 8)
    ext = _DIGITS[frames.is_extended.astype(np.intp)][:, None]
    lines = _Lines(len(frames)).add(*_decimal(epoch, 6, None)).text(",0x").add(_lower(ident), keep).text(",").add(ext)
    lines.text(",0,0,").add(_DIGITS[frames.length % 10][:, None]).text(",").add(*_base64(frames)).text("\n")
    return lines.tobytes()


def _lower(matrix: np.ndarray) -> np.ndarray:
    return np.where(matrix >= ord("A"), matrix + 32, matrix).astype(np.uint8)
