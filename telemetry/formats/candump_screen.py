"""candump's screen output saved to a file (``candump -ta can0 > log.txt``), not its ``-l`` log format::

     (1700000000.123456)  can0  100   [2]  E8 03
     (1700000000.124000)  can0  18FEF100   [8]  01 02 03 04 05 06 07 08   '........'
     (1700000000.125000)  can0  123  [12]  11 22 33 44 55 66 77 88 99 AA BB CC
     (1700000000.126000)  can0  RX - -  200   [4]  remote request
     (1700000000.127000)  can0  20000004   [8]  00 04 00 00 00 00 00 00   ERRORFRAME

The layout of can-utils' ``snprintf_long_canframe`` (``lib.c``) behind candump's time stamp and interface: an
identifier of 3 hex digits (standard) or 8 (extended, or an error frame with ``CAN_ERR_FLAG``), the length as
``[N]`` (classic), ``[NN]`` (CAN FD) or ``{H}`` (classic with a raw DLC over 8), the bytes, optionally the ``-x``
direction block (``RX - -``), the ``-a`` ASCII view and ``remote request`` for remote frames. ``-e`` error-detail
lines (starting with a tab) carry no frame. Time stamps: ``-ta`` epoch seconds (the absolute start, as in candump
logs), ``-tA`` local date and time (taken as UTC), ``-tz`` seconds since the first frame; ``-td`` deltas cannot be
told from ``-tz`` by the content and read as ``-tz`` (their ``time_backwards`` finding shows it). Output without a
time stamp is refused: it cannot be judged in time. Buses as in candump logs (the interface's trailing number).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import DLC_TO_LENGTH, FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE
from ._text import SlowFrame, TextLogFile, hex_bytes, hex_to_uint, to_float
from .candump import CAN_ERR_FLAG, CandumpLog

__all__ = ["CandumpScreenLog"]

_HEX = "[0-9A-Fa-f]"
# classic data frames with a numeric time stamp: everything else (FD, remote, error, -tA dates) per line
FAST = (rf"^\s*\((?P<ts>\d{{1,12}}\.\d{{1,9}})\)\s+(?P<ch>\S+)\s+(?:[RT]X\s+\S+\s+\S+\s+)?"
        rf"(?P<id>{_HEX}{{3}}|{_HEX}{{8}})\s+\[(?P<len>[0-8])\](?:\s+(?P<data>{_HEX}{{2}}(?: {_HEX}{{2}})*))?"
        r"(?:\s+'[^\n]*')?\s*$")
_LINE = re.compile(r"^\((?P<ts>[^)]{1,40})\)\s+(?P<ch>\S+)\s+(?:[RT]X\s+\S+\s+\S+\s+)?(?P<id>[0-9A-Fa-f]{1,8})\s+"
                   r"(?P<marker>\[\d{1,2}\]|\{[0-9A-Fa-f]\})(?P<rest>.*)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{1,9})$")
_ASCII = re.compile(r"\s+'.*'$")
_DETAIL = re.compile(r"[a-z]{1,20}(?:-[a-z]{1,20}){0,8}(?:\{[^\n]{0,200}\})?")   # bus-off, controller-problem{...}


class CandumpScreenLog(CandumpLog):
    format = "candump"
    FAST = FAST

    def _header(self, head: str) -> None:
        super()._header(head)
        self._date0: datetime | None = None
        m = re.search(r"^[ \t]*\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\.\d{1,9}\)", head, re.MULTILINE)
        if m and self.start is None:
            try:
                self._date0 = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                self.start = self._date0
            except ValueError:
                pass

    _fast_fixed = TextLogFile._fast_fixed      # no fixed-width path (the base class's, which skips it)

    def _fast_tokens(self, tokens):      # the regular expression path reads this layout
        return None

    def _fast(self, fields: pa.StructArray):
        ts, ok = to_float(fields.field("ts"))
        ts = ts - self._sec0
        ident_text = fields.field("id")
        ident, ok_id = hex_to_uint(ident_text, 8)
        want, ok_len = (np.asarray(x) for x in _ints(fields.field("len")))
        data, count, ok_data = hex_bytes(fields.field("data").fill_null(""), 3, 8)
        ch = fields.field("ch").dictionary_encode()
        lut = np.array([self._bus_of(s) for s in ch.dictionary.to_pylist()] or [0], np.int64)
        bus = lut[ch.indices.to_numpy(zero_copy_only=False)]
        extended = pc.utf8_length(ident_text).to_numpy(zero_copy_only=False) == 8
        flags = np.where(extended, FLAG_EXTENDED, 0).astype(np.uint8)
        err = extended & ((ident & CAN_ERR_FLAG) != 0)
        ok &= ~err          # error frames carry ERRORFRAME: the per-line parser reads them
        ident = np.where(extended, ident & 0x1FFFFFFF, ident & 0x7FF)
        cols = {"timestamp": ts, "bus": bus, "arbitration_id": ident, "flags": flags, "length": count,
                "data": data}
        return cols, ok & ok_id & ok_len & ok_data & (count == want)

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        if not line.startswith("("):
            if _DETAIL.fullmatch(line):       # a -e error-detail line after an error frame: no frame of its own
                return None
            raise ValueError("not a candump screen line with a time stamp")
        m = _LINE.match(line)
        if m is None:
            raise ValueError("not a candump screen frame line")
        ts = self._stamp(m.group("ts"))
        id_text, marker = m.group("id"), m.group("marker")
        if len(id_text) not in (3, 8):
            raise ValueError(f"identifier {id_text!r} is neither 3 (standard) nor 8 (extended) digits")
        ident = int(id_text, 16)
        flags = FLAG_EXTENDED if len(id_text) == 8 else 0
        bus = self._bus_of(m.group("ch"))
        rest = _ASCII.sub("", m.group("rest")).split()
        if flags and ident & CAN_ERR_FLAG:
            if rest and rest[-1] == "ERRORFRAME":
                rest = rest[:-1]
            return SlowFrame(ts, bus, ident & 0x1FFFFFFF, FLAG_ERROR, bytes(int(b, 16) for b in rest[:8]))
        raw = marker[1:-1]
        if marker.startswith("{"):           # a raw DLC over 8 on a classic frame: 8 bytes
            length, fd = 8, False
        else:
            length, fd = int(raw), len(raw) == 2
        if rest[:2] == ["remote", "request"]:
            if fd or length > 8:
                raise ValueError("remote frame longer than 8 bytes")
            return SlowFrame(ts, bus, ident, flags | FLAG_REMOTE, b"", length=length)
        payload = bytes(int(b, 16) for b in rest if len(b) == 2 or _bad(b))
        if len(payload) != length or (fd and length not in DLC_TO_LENGTH) or (not fd and length > 8):
            raise ValueError(f"length {length} but {len(payload)} data bytes")
        if ident > (0x1FFFFFFF if flags else 0x7FF):
            raise ValueError(f"identifier {id_text} too large")
        return SlowFrame(ts, bus, ident, flags | (FLAG_FD if fd else 0), payload)

    def _stamp(self, text: str) -> float:
        d = _DATE.match(text)
        if d:
            y, mo, day, h, mi, s, frac = d.groups()
            at = datetime(int(y), int(mo), int(day), int(h), int(mi), int(s), tzinfo=UTC)
            if self._date0 is None:
                self._date0 = at
            return (at - self._date0).total_seconds() + int(frac) / 10 ** len(frac)
        if not re.fullmatch(r"\d{1,12}\.\d{1,9}", text):
            raise ValueError(f"time stamp {text!r}")
        sec, _, frac = text.partition(".")
        return (int(sec) - self._sec0) + int(frac) / 10 ** len(frac)


def _bad(token: str) -> bool:
    raise ValueError(f"data byte {token[:12]!r}")


def _ints(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    values, ok = to_float(arr)
    return np.where(ok, values, -1).astype(np.int64), ok
