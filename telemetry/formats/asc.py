"""Vector ASC text logs.

Classic data lines (``0.010000 1 123x Rx d 8 01 02 ...``) go through one RE2 expression and numpy; every other
line (``CANFD`` lines, error frames, remote frames, ``base dec`` files, odd spacing) through a per-line parser.
Channels are 1-based in ASC and become 0-based buses; files that use channel 0 (some third-party writers) are
taken as 0-based already, with a finding. The ``Begin Triggerblock`` date (else the ``date`` header) is the
start; ASC records local time without a zone, so it is taken as UTC. ``timestamps relative`` files (each time
the delta to the previous line) are summed up. Classic ``d`` lines with more than 8 bytes (as some converters
write CAN FD frames) are read as CAN FD frames with all their bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
from ._base import FindingCounter
from ._fixed import FixedLines
from ._text import HEX_LUT, SlowFrame, TextLogFile, hex_bytes, hex_to_uint, to_float, to_int

__all__ = ["AscLog", "parse_asc_date"]

HEX2 = r"[0-9A-Fa-f]{2}"
FAST = (r"^\s*(?P<ts>\d+\.\d+)\s+(?P<ch>\d+)\s+(?P<id>[0-9A-Fa-f]{1,8})(?P<x>[xX]?)\s+(?:Rx|Tx|RX|TX)\s+d\s+"
        r"(?P<dlc>[0-9A-Fa-f]{1,2})(?:[ \t]+(?P<data>" + HEX2 + r"(?: " + HEX2 + r")*))?"
        r"(?:\s+[A-Za-z][^\n]*)?\s*$")

_MAX_BYTES = 64      # the longest CAN FD payload
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MONTHS.update({"mär": 3, "mrz": 3, "mai": 5, "okt": 10, "dez": 12})
# each starts at a word boundary, so a run of letters or digits is scanned from one place only (from every
# letter of a 100 kB word, ``[^\W\d_]{3}[^\W\d_]*`` is quadratic); ``parse_asc_date`` also reads only the
# first _DATE_CHARS characters of a line
_DATE_CHARS = 256
_DATE = re.compile(r"\b(?P<mon>[^\W\d_]{3})[^\W\d_]*\.?\s+(?P<day>\d{1,2})\s+(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})"
                   r"(?:\.(?P<ms>\d{1,6}))?\s*(?P<ampm>[ap]m)?\s+(?P<year>\d{4})", re.IGNORECASE)
_DATE_RFC = re.compile(r"\b(?P<day>\d{1,2})\s+(?P<mon>[^\W\d_]{3})[^\W\d_]*\.?\s+(?P<year>\d{4})\s+(?P<h>\d{1,2}):"
                       r"(?P<m>\d{2}):(?P<s>\d{2})(?:\.(?P<ms>\d{1,6}))?", re.IGNORECASE)
_IGNORED = re.compile(r"^(date|base|internal events|no internal events|begin triggerblock|end triggerblock|//|"
                      r"\d+\.\d+\s+(start of measurement|can \d+ status|\d+\s+statistic|\d+\s+j1939tp|"
                      r"sv:|ev:|\d+\s+\S+\s+\S+\s+(?:rx|tx)\s+(?:sv|ev)|.*\bstatus:))", re.IGNORECASE)


def parse_asc_date(text: str) -> datetime | None:
    """The ASC header date (``Sam Sep 30 15:06:13.191 2017``, ``... 04:09:35.000 pm 2014``,
    ``Thu, 09 Nov 2023 20:29:27 GMT``) as a UTC datetime, or None."""
    text = text[:_DATE_CHARS]
    m = _DATE.search(text) or _DATE_RFC.search(text)
    if not m:
        return None
    mon = _MONTHS.get(m.group("mon").lower())
    if mon is None:
        return None
    hour = int(m.group("h"))
    ampm = (m.groupdict().get("ampm") or "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    ms = m.group("ms") or "0"
    try:
        return datetime(int(m.group("year")), mon, int(m.group("day")), hour, int(m.group("m")),
                        int(m.group("s")), int(ms.ljust(6, "0")[:6]), tzinfo=UTC)
    except ValueError:
        return None


class AscLog(TextLogFile):
    TOKEN_SPLITS = 6
    format = "asc"
    FAST = FAST

    def _header(self, head: str) -> None:
        self._other = FindingCounter("other_events", "time-stamped events that are not CAN frames (other buses, "
                                     "markers) skipped")
        self._base = 16
        self._relative = False
        self._carry = 0.0
        self._zero_based = False
        self._open_block: int | None = None      # line of a "Begin Triggerblock" not yet ended
        for line in head.splitlines()[:200]:
            low = line.strip().lower()
            if low.startswith("date ") and self.start is None:
                self.start = parse_asc_date(line)
            elif low.startswith("begin triggerblock"):
                start = parse_asc_date(line)
                if start is not None:
                    self.start = start
            elif low.startswith("base "):
                self._base = 10 if " dec" in low else 16
                self._relative = "relative" in low
        # [ \t], not \s: \s spans newlines, and from every blank line it would rescan the rest (quadratic)
        if re.search(r"^[ \t]*\d+\.\d+[ \t]+0[ \t]+[0-9A-Fa-f]+x?[ \t]+(?:Rx|Tx)\s", head,
                     re.MULTILINE | re.IGNORECASE):
            self._zero_based = True
            self.add(Finding("channel_numbering", "the file uses CAN channel 0, so its channels are taken "
                             "as 0-based (bus = channel); Vector numbers channels from 1"))
        if self._base == 10:
            self.FAST = r"^[^\s\S]"   # matches nothing (RE2 has no (?!)): decimal files go through the careful parser
        if self._relative:
            self.add(Finding("relative_timestamps", "timestamps are relative (deltas); they were summed up"))

    def _bus(self, ch: np.ndarray) -> np.ndarray:
        return ch if self._zero_based else ch - 1

    def _fast(self, fields: pa.StructArray):
        ts, ok = to_float(fields.field("ts"))
        ch, ok_ch = to_int(fields.field("ch"))
        ident, ok_id = hex_to_uint(fields.field("id"), 8)
        ext = pc.equal(pc.utf8_lower(fields.field("x")), "x").to_numpy(zero_copy_only=False)
        dlc, ok_dlc = hex_to_uint(fields.field("dlc"), 2)
        data_text = fields.field("data").fill_null("")
        data, count, ok_data = hex_bytes(data_text, 3, 64)
        classic = (dlc <= 8) & (count == dlc)
        long_classic = (dlc > 8) & (count == 8)                       # e.g. DLC "D" with 8 bytes (issue 1299)
        fd = (count > 8) & np.isin(count, DLC_TO_LENGTH[9:])         # CAN FD written as a "d" line
        flags = np.where(ext, FLAG_EXTENDED, 0).astype(np.uint8)
        flags[fd] |= FLAG_FD
        cols = {"timestamp": ts, "bus": self._bus(ch), "arbitration_id": ident, "flags": flags,
                "length": count, "data": data}
        return cols, ok & ok_ch & ok_id & ok_dlc & ok_data & (classic | long_classic | fd) & (ch >= 0)

    def _fast_fixed(self, lines: FixedLines):
        """Classic ``d`` lines in fixed columns, the same rules as the token path (``_fast_tokens``): DLC 0..8
        in hex, that many bytes, then nothing or text that does not start with another byte."""
        if self._base != 16 or len(lines.fields) < 6:
            return None
        payload, count, ok = lines.spaced_bytes(6)
        if count > 8:
            return None
        ok = ok & lines.ok
        for k in range(6):
            ok &= lines.token(k)[2]
        if len(lines.fields) > 6 + count:          # text after the bytes (``Length = ...``)
            if count == 0:
                return None
            e = lines.fields[5 + count][1]          # the column after the last byte
            blank = lines.blank
            more = ~blank[e:].all(axis=0)
            c0 = lines.m[e]
            ok &= ~more | (((c0 == 32) | (c0 == 9)) & ~_another_byte(lines, e + 1))
        dlc, ok_dlc = lines.hex(5, 2)
        ok &= ok_dlc & (dlc == count)
        ok &= lines.equals(4, b"d")
        d0, d1 = lines.at(lines.token(3)[0]), lines.at(lines.token(3)[0] + 1)
        ok &= (lines.token(3)[1] == 2) & ((d0 == 82) | (d0 == 84)) & ((d1 == 120) | (d1 == 88))
        start, length, _ = lines.token(2)
        last = lines.at(start + length - 1)
        ext = (last == 120) | (last == 88)
        ident, ok_id = lines.digits(2, start, start + length - ext, 16, 8)
        ch, ok_ch = lines.dec(1, 3)
        ts, ok_ts = lines.number(0)
        flags = np.where(ext, FLAG_EXTENDED, 0).astype(np.uint8)
        cols = {"timestamp": ts, "bus": self._bus(ch), "arbitration_id": ident, "flags": flags,
                "length": np.full(lines.n, count, np.uint8), "data": payload}
        return cols, ok & ok_id & ok_ch & ok_ts

    def _chunks(self, max_frames: int):
        yield from super()._chunks(max_frames)
        self.add(self._other.finding())
        if self._open_block is not None:
            self.add(Finding("truncated", f"the trigger block begun on line {self._open_block} has no 'End "
                             "TriggerBlock' line: the file was cut short (a logger stopped without closing it, an "
                             "interrupted copy); every frame before the end was read", line=self._open_block))

    def _post(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._relative and len(cols["timestamp"]):
            ts = np.cumsum(cols["timestamp"]) + self._carry
            self._carry = float(ts[-1])
            cols["timestamp"] = ts
        return cols

    # -- the careful per-line parser -----------------------------------------------------------------------
    def _int(self, text: str) -> int:
        return int(text, self._base)

    def _id_hint(self, line: str) -> int | None:
        """``time channel ID[x] ...``: the third token as a hex id (an extended id ends in x)."""
        tokens = line[:256].split(maxsplit=3)
        if len(tokens) < 3 or not tokens[1].isdigit():
            return None
        ident = tokens[2].rstrip("xX")
        if not 1 <= len(ident) <= 8 or any(c not in "0123456789abcdefABCDEF" for c in ident):
            return None
        return int(ident, 16) & 0x1FFFFFFF

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        if _IGNORED.match(line):
            low = line[:20].lower()
            if low.startswith("begin triggerblock"):
                self._open_block = line_no
            elif low.startswith("end triggerblock"):
                self._open_block = None
            return None
        tokens = line.split()
        if len(tokens) < 2:
            raise ValueError("not an ASC event line")
        ts = float(tokens[0])
        if tokens[1].upper() == "CANFD":
            return self._canfd(ts, tokens[2:])
        if not tokens[1].isdigit():
            # a time-stamped event of another bus or kind (MOST "M1", LIN "Li", FlexRay, Ethernet, system
            # variables, markers...): not a CAN frame; counted, not silently dropped
            self._other.add(line=line_no, example=line)
            return None
        bus = int(self._bus(np.int64(int(tokens[1]))))
        rest = tokens[2:]
        if not rest:
            raise ValueError("event line without content")
        if rest[0].lower() == "errorframe":
            return SlowFrame(ts, bus, 0, FLAG_ERROR, b"")
        if rest[0].lower() == "statistic:" or rest[0].lower().startswith("j1939tp"):
            return None
        ident, flags = self._ident(rest[0])
        if len(rest) < 3:
            raise ValueError("frame line too short")
        if rest[1].lower() not in ("rx", "tx"):
            if not any(t.lower() in ("rx", "tx") for t in rest):     # e.g. a global marker, a system variable
                self._other.add(line=line_no, example=line)
                return None
            raise ValueError(f"unknown direction {rest[1]!r}")
        kind = rest[2].lower()
        if kind == "r":
            dlc = self._int(rest[3]) if len(rest) > 3 and re.fullmatch(r"[0-9A-Fa-f]{1,2}", rest[3]) else 0
            return SlowFrame(ts, bus, ident, flags | FLAG_REMOTE, b"", length=min(dlc, 8))
        if kind != "d" or len(rest) < 4:
            raise ValueError(f"unknown frame kind {rest[2]!r}")
        dlc = self._int(rest[3])
        payload = []
        for tok in rest[4:4 + _MAX_BYTES + 1]:
            if not re.fullmatch(r"[0-9A-Fa-f]{1,3}", tok):
                break
            payload.append(self._int(tok))
        if len(payload) > _MAX_BYTES:       # no CAN frame carries more than 64 bytes
            more = sum(1 for _ in _bytes_after(rest, 4))
            raise ValueError(f"{more} data bytes; a CAN frame carries at most {_MAX_BYTES}")
        if dlc <= 8:
            if len(payload) < dlc:
                raise ValueError(f"DLC {dlc} but {len(payload)} data bytes")
            payload = payload[:dlc]
        elif len(payload) >= 8 and len(payload) in DLC_TO_LENGTH[9:] and len(payload) > 8:
            flags |= FLAG_FD
        else:
            payload = payload[:8]
        return SlowFrame(ts, bus, ident, flags, bytes(payload))

    def _ident(self, text: str) -> tuple[int, int]:
        if text[-1:] in ("x", "X"):
            return self._int(text[:-1]), FLAG_EXTENDED
        return self._int(text), 0

    def _canfd(self, ts: float, tokens: list[str]) -> SlowFrame:
        if len(tokens) < 3:
            raise ValueError("CANFD line too short")
        bus = int(self._bus(np.int64(int(tokens[0]))))
        if tokens[2].lower() == "errorframe":
            return SlowFrame(ts, bus, 0, FLAG_ERROR | FLAG_FD, b"")
        rest = tokens[2:]
        ident, flags = self._ident(rest[0])
        i = 1 if rest[1].isdigit() else 2
        brs, esi, dlc, n = rest[i], rest[i + 1], self._int(rest[i + 2]), int(rest[i + 3])
        flags |= FLAG_FD | (FLAG_BRS if brs == "1" else 0) | (FLAG_ESI if esi == "1" else 0)
        if n == 0:
            return SlowFrame(ts, bus, ident, flags | FLAG_REMOTE, b"", length=int(DLC_TO_LENGTH[min(dlc, 15)]))
        if n > _MAX_BYTES:
            raise ValueError(f"CANFD data length {n}; a CAN frame carries at most {_MAX_BYTES} bytes")
        payload = bytes(self._int(t) for t in rest[i + 4:i + 4 + n])
        if len(payload) != n:
            raise ValueError(f"CANFD data length {n} but {len(payload)} bytes")
        return SlowFrame(ts, bus, ident, flags, payload)


def _bytes_after(tokens: list[str], first: int) -> Iterator[str]:
    """The data-byte tokens from ``first`` on, up to the first token that is not one."""
    for tok in tokens[first:]:
        if not re.fullmatch(r"[0-9A-Fa-f]{1,3}", tok):
            return
        yield tok


def _fast_tokens(self, tokens):
    """Classic ``ts ch id[x] Rx|Tx d dlc b0 .. b(n-1) [Length = ...]`` lines with DLC 0..8, hex base; every other
    line (CANFD, error, remote, FD written as ``d`` lines, odd spacing) through the per-line parser."""
    from ._text import Tokens, floats_where, hex_to_uint_at  # noqa: F401
    if self._base != 16:
        return None
    data, s3, l3 = tokens.parts(3)
    d4 = tokens.equals(4, b"d")
    rxtx = (l3 == 2) & np.isin(data[np.minimum(s3, len(data) - 1)], (ord("R"), ord("T"))) & np.isin(
        data[np.minimum(s3 + 1, len(data) - 1)], (ord("x"), ord("X")))
    shape = (tokens.count >= 6) & d4 & rxtx
    dlc, ok_dlc = hex_to_uint_at(*tokens.parts(5), 2)
    dlc = dlc.astype(np.int64)
    shape &= ok_dlc & (dlc <= 8)
    n = np.where(shape, dlc, 0)
    payload, ok_data = tokens.spaced_hex(6, n, 8)
    shape &= (tokens.count > 6) | (n == 0)
    shape &= ok_data
    ts, ok_ts = floats_where(tokens, 0, shape)
    ch_data, s1, l1 = tokens.parts(1)
    ch, ok_ch = _small_int(ch_data, s1, l1)
    _, s2, l2 = tokens.parts(2)
    last = data[np.clip(s2 + l2 - 1, 0, len(data) - 1)]
    ext = (last == ord("x")) | (last == ord("X"))
    ident, ok_id = hex_to_uint_at(data, s2, l2 - ext, 8)
    flags = np.where(ext, FLAG_EXTENDED, 0).astype(np.uint8)
    cols = {"timestamp": ts, "bus": self._bus(ch), "arbitration_id": ident, "flags": flags,
            "length": n.astype(np.uint8), "data": payload}
    return cols, shape & ok_ts & ok_ch & ok_id & (ch >= 0)


def _another_byte(lines: FixedLines, p: int) -> np.ndarray:
    """Lines where columns ``p, p + 1`` hold a hex byte followed by a blank or the end of the text (what the
    token path's ``spaced_hex`` takes for one more data byte)."""
    if p + 1 >= lines.width:
        return np.zeros(lines.n, bool)
    hexp = (np.take(HEX_LUT, lines.m[p]) != 255) & (np.take(HEX_LUT, lines.m[p + 1]) != 255)
    if p + 2 >= lines.width:
        return hexp
    c2 = lines.m[p + 2]
    return hexp & ((c2 == 32) | (c2 == 9) | lines.blank[p + 2:].all(axis=0))


def _small_int(data, starts, lens, max_digits: int = 3):
    """Decimal tokens of up to ``max_digits`` digits as int64 (numpy)."""
    w = max_digits
    j = np.arange(w)
    idx = np.clip(starts[:, None] + (lens[:, None] - w + j), 0, len(data) - 1)
    valid = j >= (w - lens[:, None])
    digit = data[idx].astype(np.int64) - ord("0")
    ok = (lens > 0) & (lens <= w) & ~(valid & ((digit < 0) | (digit > 9))).any(axis=1)
    value = (np.where(valid, digit, 0) * (10 ** (w - 1 - j))).sum(axis=1)
    return value, ok


AscLog._fast_tokens = _fast_tokens
