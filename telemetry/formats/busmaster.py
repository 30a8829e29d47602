"""BUSMASTER (ETAS/RBEI) CAN log files: ``***``-framed header lines, then one frame a line::

    ***BUSMASTER Ver 3.2.0***
    ***PROTOCOL CAN***
    ***[START LOGGING SESSION]***
    ***START DATE AND TIME 8:8:2014 11:49:7:965***
    ***HEX***
    ***SYSTEM MODE***
    ***<Time><Tx/Rx><Channel><CAN ID><Type><DLC><DataBytes>***
    11:49:12:9420 Rx 1 0x023 s 1 40

The layout as BUSMASTER writes it and Wireshark's reader (``wiretap/busmaster_parser.lemon``) reads it: time
``h:m:s:frac`` (the last field a decimal fraction of a second: BUSMASTER writes 4 digits, 100 µs units; other
writers 3, ms), ``Rx``/``Tx``, the 1-based channel, the identifier, the type (``s``/``x`` standard/extended,
``sr``/``xr`` remote, ``s-fd``/``x-fd`` CAN FD, ``ERR...`` error frames), the length (always decimal) and the
bytes. ``***HEX***`` or ``***DEC***`` says how identifier and bytes are written. Time modes: ``SYSTEM`` (time of
day: made relative to the header's start time, across midnight), ``ABSOLUTE`` (time since the start of logging)
and ``RELATIVE`` (each line the delta to the line before: summed up, with a finding). The header's start date
and time (local time without a zone, taken as UTC) is the start. J1939 and LIN logs are refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UnsupportedFormat
from ..frames import DLC_TO_LENGTH, FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Finding
from ._text import SlowFrame, TextLogFile, hex_bytes, hex_to_uint, to_int

__all__ = ["BusmasterLog"]

_DAY = 86_400.0
# hex mode, classic data frames, 2-digit bytes with single spaces: everything else goes to the per-line parser
FAST = (r"^\s*(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2}):(?P<f>\d{1,6})\s+(?:Rx|Tx)\s+(?P<ch>\d{1,3})\s+"
        r"0x(?P<id>[0-9A-Fa-f]{1,8})\s+(?P<type>[sx])\s+(?P<dlc>\d{1,2})"
        r"(?: (?P<data>[0-9A-Fa-f]{2}(?: [0-9A-Fa-f]{2})*))?\s*$")
_LINE = re.compile(r"^(\d{1,2}):(\d{1,2}):(\d{1,2}):(\d{1,6})\s+(Rx|Tx)\s+(\d{1,3})\s+(\S{1,12})\s+(\S{1,5})"
                   r"(?:\s+(.*))?$")
_START = re.compile(r"\*\*\*\s*START DATE AND TIME\s+(\d{1,2}):(\d{1,2}):(\d{4})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})"
                    r"(?::(\d{1,3}))?", re.IGNORECASE)
_TYPES = {"s": 0, "x": FLAG_EXTENDED, "sr": FLAG_REMOTE, "xr": FLAG_EXTENDED | FLAG_REMOTE,
          "s-fd": FLAG_FD, "x-fd": FLAG_EXTENDED | FLAG_FD}


class BusmasterLog(TextLogFile):
    format = "busmaster"
    FAST = FAST

    def _header(self, head: str) -> None:
        upper = head[:1 << 15].upper()
        m = re.search(r"\*\*\*\s*PROTOCOL\s+(\w{1,10})", upper)
        if m and m.group(1) != "CAN":
            raise UnsupportedFormat(f"a BUSMASTER {m.group(1)} log, not a CAN log", path=self.path,
                                    fix="log the CAN bus with BUSMASTER's CAN protocol, or export it as ASC/BLF")
        self.hex = "***DEC***" not in upper
        self.mode = next((mode for mode in ("RELATIVE", "ABSOLUTE", "SYSTEM") if f"***{mode} MODE***" in upper),
                         "SYSTEM")
        if not self.hex:
            self.FAST = r"(?P<h>a)^"      # matches nothing: decimal numbers go to the per-line parser
        self._tod0: float | None = None
        self._carry = 0.0
        s = _START.search(head[:1 << 15])
        if s:
            d, mo, y, h, mi, sec, ms = (int(x) if x else 0 for x in s.groups())
            try:
                self.start = datetime(y, mo, d, h, mi, sec, ms * 1000, tzinfo=UTC)
                self._tod0 = h * 3600 + mi * 60 + sec + ms / 1000
            except ValueError:
                self.add(Finding("bad_header", f"start date and time {s.group(0)[23:].strip()!r} is not valid"))
        if self.start is None:
            self.add(Finding("no_start", "the file has no valid START DATE AND TIME; times are relative"))
        if self.mode == "RELATIVE":
            self.add(Finding("relative_timestamps", "timestamps are relative (deltas); they were summed up"))

    def _fast(self, fields: pa.StructArray):
        parts = [to_int(fields.field(k)) for k in ("h", "m", "s")]
        frac, ok_f = to_int(fields.field("f"))
        digits = pc.utf8_length(fields.field("f")).to_numpy(zero_copy_only=False)
        tod = parts[0][0] * 3600.0 + parts[1][0] * 60.0 + parts[2][0] + frac / np.power(10.0, digits)
        ok = ok_f & parts[0][1] & parts[1][1] & parts[2][1] & (parts[1][0] < 60) & (parts[2][0] < 61)
        ch, ok_ch = to_int(fields.field("ch"))
        ident, ok_id = hex_to_uint(fields.field("id"), 8)
        ext = pc.equal(fields.field("type"), "x").to_numpy(zero_copy_only=False)
        flags = np.where(ext, FLAG_EXTENDED, 0).astype(np.uint8)
        dlc, ok_dlc = to_int(fields.field("dlc"))
        data, count, ok_data = hex_bytes(fields.field("data").fill_null(""), 3, 8)
        ok &= ok_ch & (ch >= 1) & ok_id & ok_dlc & ok_data & (dlc == count) & (ext | (ident <= 0x7FF))
        cols = {"timestamp": tod, "bus": ch - 1, "arbitration_id": ident, "flags": flags,
                "length": count, "data": data}
        return cols, ok

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        if line.startswith("***"):
            return None
        m = _LINE.match(line)
        if m is None:
            raise ValueError("not a BUSMASTER frame line")
        h, mi, s, frac = m.group(1), m.group(2), m.group(3), m.group(4)
        tod = int(h) * 3600 + int(mi) * 60 + int(s) + int(frac) / 10 ** len(frac)
        bus = int(m.group(6)) - 1
        if bus < 0:
            raise ValueError("channel 0 (BUSMASTER channels start at 1)")
        kind = m.group(8).lower()
        rest = (m.group(9) or "").split()
        if m.group(7).upper().startswith("ERR") or kind.upper().startswith("ERR"):
            return SlowFrame(tod, bus, 0, FLAG_ERROR, b"")
        if kind not in _TYPES:
            raise ValueError(f"unknown frame type {kind!r}")
        base = 16 if self.hex else 10
        id_text = m.group(7)
        ident = int(id_text[2:] if id_text.lower().startswith("0x") else id_text, base)
        flags = _TYPES[kind]
        if not rest or not rest[0].isdigit() or len(rest[0]) > 2:
            raise ValueError("no length")
        length = int(rest[0])
        if flags & FLAG_REMOTE:
            return SlowFrame(tod, bus, ident, flags, b"", length=min(length, 8))
        payload = bytes(int(t[2:] if t.lower().startswith("0x") else t, base) for t in rest[1:])
        if len(payload) != length and not (flags & FLAG_FD and length <= 15
                                           and len(payload) == int(DLC_TO_LENGTH[length])):
            raise ValueError(f"length {length} but {len(payload)} data bytes")
        fd = bool(flags & FLAG_FD)
        if len(payload) > (64 if fd else 8) or (fd and len(payload) not in DLC_TO_LENGTH):
            raise ValueError(f"{len(payload)} data bytes")
        if ident > (0x1FFFFFFF if flags & FLAG_EXTENDED else 0x7FF):
            raise ValueError(f"identifier {id_text} too large for its type {kind!r}")
        return SlowFrame(tod, bus, ident, flags, payload)

    def _post(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ts = np.asarray(cols["timestamp"], np.float64)
        if not len(ts):
            return cols
        if self.mode == "RELATIVE":
            ts = np.cumsum(ts) + self._carry
            self._carry = float(ts[-1])
        elif self.mode == "SYSTEM":
            if self._tod0 is None:
                self._tod0 = float(ts[0])
            ts = ts - self._tod0
            ts = np.where(ts < -_DAY / 2, ts + _DAY, ts)      # past midnight
        cols = dict(cols)
        cols["timestamp"] = ts
        return cols

