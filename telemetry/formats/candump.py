"""Linux can-utils ``candump -l`` logs: ``(1436509052.249713) can0 123#DEADBEEF``.

Also ``##<flags><data>`` CAN FD frames, ``#R`` remote frames and error frames (``CAN_ERR_FLAG`` in the id).
The interface name's trailing number is the bus (``can0`` -> 0); names without one are numbered in order of
appearance. Epoch timestamps give the absolute start (whole second of the first frame).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import (
    DLC_TO_LENGTH,
    FLAG_BRS,
    FLAG_ERROR,
    FLAG_ESI,
    FLAG_EXTENDED,
    FLAG_FD,
    FLAG_REMOTE,
    Finding,
)
from ._fixed import FixedLines
from ._text import HEX_LUT, SlowFrame, TextLogFile, hex_bytes, hex_to_uint, to_int

__all__ = ["CandumpLog"]

CAN_ERR_FLAG = 0x20000000
_EPOCH_MIN = 100_000_000   # timestamps below this are relative (candump -td / -tz), not epoch seconds

FAST = (r"^\s*\((?P<sec>\d+)\.(?P<frac>\d{1,9})\)\s+(?P<ch>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})"
        r"#(?P<data>(?:[0-9A-Fa-f]{2})*)(?:\s+[RT])?\s*$")
SLOW = re.compile(r"^\((?P<ts>[\d.]+)\)\s+(?P<ch>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})(?P<sep>##?)(?P<rest>\S*)"
                  r"(?:\s+[RT])?$")


def _trailing_bus(name: str) -> int | None:
    r"""The bus number an interface name ends with (``can0`` -> 0, ``vcan12`` -> 12), or None: no digits at the
    end, or a number above 255 (just a name). Linear in the name's length: no regular expression (``\d+$``
    searched from every digit of a name of tens of thousands of digits is quadratic) and no ``int()`` of more
    than three digits (Python refuses to convert over 4,300 digits)."""
    digits = len(name) - len(name.rstrip("0123456789"))
    tail = name[len(name) - digits:].lstrip("0") if digits else ""
    if not digits or len(tail) > 3:
        return None
    number = int(tail or "0")
    return number if number <= 255 else None


# ``ID#`` or ``ID##`` of a candump frame, where the rest of the line could not be read (linear: no backtracking)
_ID_HINT = re.compile(r"(?<![0-9A-Fa-f])([0-9A-Fa-f]{3}|[0-9A-Fa-f]{8})##?")


class CandumpLog(TextLogFile):
    format = "candump"
    FAST = FAST

    def _header(self, head: str) -> None:
        self._sec0 = 0
        self._buses: dict[str, int] = {}
        # [ \t]*, not \s*: \s* also spans newlines, so every blank line would rescan the rest (quadratic)
        m = re.search(r"^[ \t]*\((\d{1,20})\.\d+\)", head, re.MULTILINE)
        if m and int(m.group(1)) >= _EPOCH_MIN:
            self._sec0 = int(m.group(1))
            try:
                self.start = datetime.fromtimestamp(self._sec0, UTC)
            except (ValueError, OverflowError, OSError):
                self.add(Finding("bad_start", f"the first time stamp ({self._sec0} s) is past the calendar "
                                 "(year 9999): times are read relative to it, with no absolute start",
                                 line=head.count("\n", 0, m.start()) + 1))

    def _bus_of(self, name: str) -> int:
        if name not in self._buses:
            number = _trailing_bus(name)
            self._buses[name] = number if number is not None else len(self._buses)
        return self._buses[name]

    def _time(self, sec: np.ndarray, frac_text: pa.Array) -> np.ndarray:
        frac, _ = to_int(frac_text)
        digits = pc.utf8_length(frac_text).to_numpy(zero_copy_only=False)
        return (sec - self._sec0).astype(np.float64) + frac / np.power(10.0, digits)

    def _fast(self, fields: pa.StructArray):
        sec, ok = to_int(fields.field("sec"))
        ts = self._time(sec, fields.field("frac"))
        ident_text = fields.field("id")
        ident, ok_id = hex_to_uint(ident_text, 8)
        id_len = pc.utf8_length(ident_text).to_numpy(zero_copy_only=False)
        data, length, ok_data = hex_bytes(fields.field("data"), 2, 8)
        ch = fields.field("ch").dictionary_encode()
        lut = np.array([self._bus_of(s) for s in ch.dictionary.to_pylist()], np.int64)
        bus = lut[ch.indices.to_numpy(zero_copy_only=False)]
        flags = np.where(id_len > 3, FLAG_EXTENDED, 0).astype(np.uint8)
        err = (ident & CAN_ERR_FLAG) != 0
        flags[err] |= FLAG_ERROR
        ident = np.where(flags & FLAG_EXTENDED, ident & 0x1FFFFFFF, ident & 0x7FF)
        cols = {"timestamp": ts, "bus": bus, "arbitration_id": ident, "flags": flags, "length": length,
                "data": data}
        return cols, ok & ok_id & ok_data

    def _fast_fixed(self, lines: FixedLines):
        """``(sec.frac) can0 ID#DATA`` lines in fixed columns, the same rules as the token path. Lines naming an
        interface not seen before go to the token path, which numbers new names in order of appearance."""
        if len(lines.fields) != 3:
            return None
        names_at, names = lines.text(1)
        known = np.array([name in self._buses for name in names] + [False])
        if not known.any():
            return None
        a, b = lines.fields[2]
        hashes = [int(np.count_nonzero(lines.m[j] == 35)) for j in range(a, b)]
        h = a + int(np.argmax(hashes))
        width = b - h - 1
        if width % 2 or width > 16:
            return None
        ok = lines.ok & known[names_at] & (lines.m[h] == 35)     # index -1: not one token
        start, length, ok2 = lines.token(2)
        ok &= ok2 & (start + length == b) & (start < h)
        ident, ok_id = lines.digits(2, start, np.full(lines.n, h), 16, 8)
        pairs = np.arange(h + 1, b, 2)
        hi, lo = np.take(HEX_LUT, lines.m[pairs]), np.take(HEX_LUT, lines.m[pairs + 1])
        ok &= ~((hi == 255) | (lo == 255)).any(axis=0)
        payload = np.zeros((lines.n, 8), np.uint8)
        payload[:, :len(pairs)] = ((hi << 4) | (lo & 15)).T
        t0, tlen, ok0 = lines.token(0)
        ok &= ok0 & (tlen > 2) & (lines.at(t0) == 40) & (lines.at(t0 + tlen - 1) == 41)
        ts, ok_ts = lines.number(0, t0 + 1, t0 + tlen - 1)
        lut = np.array([self._buses.get(name, 0) for name in names] + [0], np.int64)
        flags = np.where(h - start > 3, FLAG_EXTENDED, 0).astype(np.uint8)
        flags[(ident & CAN_ERR_FLAG) != 0] |= FLAG_ERROR
        ident = np.where(flags & FLAG_EXTENDED, ident & 0x1FFFFFFF, ident & 0x7FF)
        cols = {"timestamp": ts - self._sec0, "bus": lut[names_at], "arbitration_id": ident,
                "flags": flags, "length": np.full(lines.n, len(pairs), np.uint8), "data": payload}
        return cols, ok & ok_id & ok_ts

    def _id_hint(self, line: str) -> int | None:
        m = _ID_HINT.search(line[:256])
        return None if m is None else int(m.group(1), 16) & 0x1FFFFFFF

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        m = SLOW.match(line)
        if m is None:
            raise ValueError("not a candump frame line")
        sec_text, _, frac_text = m.group("ts").partition(".")
        ts = (int(sec_text) - self._sec0) + (int(frac_text) / 10 ** len(frac_text) if frac_text else 0.0)
        id_text, rest = m.group("id"), m.group("rest")
        ident = int(id_text, 16)
        flags = FLAG_EXTENDED if len(id_text) > 3 else 0
        if ident & CAN_ERR_FLAG:
            flags |= FLAG_ERROR
        ident &= 0x1FFFFFFF if flags & FLAG_EXTENDED else 0x7FF
        bus = self._bus_of(m.group("ch"))
        if m.group("sep") == "##":
            if not rest:
                raise ValueError("CAN FD frame without its flags digit")
            fd = int(rest[0], 16)
            payload = bytes.fromhex(rest[1:])
            if len(payload) > 64 or len(payload) not in DLC_TO_LENGTH:
                raise ValueError(f"CAN FD payload of {len(payload)} bytes")
            flags |= FLAG_FD | (FLAG_BRS if fd & 1 else 0) | (FLAG_ESI if fd & 2 else 0)
            return SlowFrame(ts, bus, ident, flags, payload)
        if rest[:1] in ("R", "r"):
            length = int(rest[1:], 16) if len(rest) > 1 else 0
            if length > 8:      # can-utils writes one digit 0..8 after R
                raise ValueError(f"remote frame length {rest[1:]!r} over 8")
            return SlowFrame(ts, bus, ident, flags | FLAG_REMOTE, b"", length=length)
        payload = bytes.fromhex(rest)
        if len(payload) > 8:
            raise ValueError(f"classic CAN payload of {len(payload)} bytes")
        return SlowFrame(ts, bus, ident, flags, payload)


def _fast_tokens(self, tokens):
    """``(sec.frac) can0 ID#DATA``: three tokens; everything else (FD ``##``, remote ``#R``) per line."""
    from ._text import floats_where, hex_to_uint_at
    data, s0, l0 = tokens.parts(0)
    last = np.minimum(s0 + np.maximum(l0 - 1, 0), len(data) - 1)
    shape = (tokens.count == 3) & (l0 > 2) & (data[np.minimum(s0, len(data) - 1)] == ord("(")) & (data[last] == ord(")"))
    ts_text = pc.utf8_slice_codeunits(tokens.values.take(pa.array(tokens.index(0)[shape])), 1, -1)
    ts = np.zeros(tokens.n)
    ok_ts = np.zeros(tokens.n, bool)
    if shape.any():
        from ._text import to_float
        values, good = to_float(ts_text)
        ts[shape], ok_ts[shape] = values - self._sec0, good & np.isfinite(values)
    del floats_where
    _, s2, l2 = tokens.parts(2)
    hash_at = pc.find_substring(tokens.text(2), "#").to_numpy(zero_copy_only=False).astype(np.int64)
    has = shape & (hash_at > 0)
    ident, ok_id = hex_to_uint_at(data, s2, np.where(has, hash_at, 0), 8)
    payload, length, ok_data = tokens.compact_hex(2, np.where(has, hash_at + 1, l2), 8)
    ch = tokens.text(1).dictionary_encode()
    lut = np.array([self._bus_of(s) for s in ch.dictionary.to_pylist()] or [0], np.int64)
    bus = lut[ch.indices.to_numpy(zero_copy_only=False)]
    flags = np.where(hash_at > 3, FLAG_EXTENDED, 0).astype(np.uint8)
    flags[(ident & CAN_ERR_FLAG) != 0] |= FLAG_ERROR
    ident = np.where(flags & FLAG_EXTENDED, ident & 0x1FFFFFFF, ident & 0x7FF)
    cols = {"timestamp": ts, "bus": bus, "arbitration_id": ident, "flags": flags, "length": length, "data": payload}
    return cols, has & ok_ts & ok_id & ok_data


CandumpLog._fast_tokens = _fast_tokens
