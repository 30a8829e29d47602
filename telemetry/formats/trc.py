"""PEAK-System TRC text logs, versions 1.0, 1.1, 1.2, 1.3, 2.0 and 2.1.

The column layout comes from the version (1.x) or the ``$COLUMNS`` header (2.x); one RE2 expression built from
it reads every data line, numpy converts the fields. Remote, error and status lines go through the per-line
parser. ``$STARTTIME`` (days since 1899-12-30, PEAK writes local time without a zone; taken as UTC) is the start,
offsets are milliseconds from it. Buses are 1-based in TRC and become 0-based; files without a bus column are
bus 0. FD types follow PEAK's definition: ``FD`` CAN FD, ``FB`` + bit rate switch, ``FE`` + error state
indicator, ``BI`` + both (python-can 4.6 gives ``FE`` a bit rate switch and ``BI`` none).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
from ._text import SlowFrame, TextLogFile, hex_bytes, hex_to_uint, to_float, to_int

__all__ = ["TrcLog"]

LAYOUTS = {
    "1.0": ["N)", "O", "I", "L", "D"],
    "1.1": ["N)", "O", "T", "I", "L", "D"],
    "1.2": ["N)", "O", "B", "T", "I", "L", "D"],
    "1.3": ["N)", "O", "B", "T", "I", "R", "L", "D"],
}
PIECES = {
    "N)": r"\d+\)", "N": r"\d+", "O": r"(?P<ts>\d+(?:\.\d+)?)", "T": r"(?P<type>[A-Za-z]{2,5})",
    "B": r"(?P<bus>\d+)", "I": r"(?P<id>[0-9A-Fa-f]{1,8})", "d": r"(?:Rx|Tx)", "R": r"-",
    "L": r"(?P<dlc>[0-9A-Fa-f]{1,2})", "l": r"(?P<len>\d{1,2})",
}
DATA = r"(?:\s+(?P<data>[0-9A-Fa-f]{2}(?: [0-9A-Fa-f]{2})*))?"
FD_TYPES = {"FD": FLAG_FD, "FB": FLAG_FD | FLAG_BRS, "FE": FLAG_FD | FLAG_ESI, "BI": FLAG_FD | FLAG_BRS | FLAG_ESI}
NON_FRAMES = {"warng", "error", "st", "ec", "ev", "er?"}


def _frame_types(rows, column: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame flags from the type column (DT, Rx, Tx, the FD types) and where that column holds a known type;
    ``rows`` is the fixed-width or the token view of a block (both have ``equals``)."""
    flags = np.zeros(n, np.uint8)
    good = np.zeros(n, bool)
    for name, bits in {"DT": 0, "Rx": 0, "Tx": 0, **FD_TYPES}.items():
        hit = rows.equals(column, name.encode())
        flags[hit] = bits
        good |= hit
    return flags, good


def _fast_pattern(columns: list[str]) -> str:
    parts = []
    for c in columns:
        if c == "D":
            parts.append(DATA)
        elif c in PIECES:
            parts.append(r"\s+" + PIECES[c] if parts else PIECES[c])
        else:
            parts.append(r"\s+\S+")
    return r"^\s*" + "".join(parts) + r"\s*$"


class TrcLog(TextLogFile):
    format = "trc"

    def _header(self, head: str) -> None:
        self.version = "1.0"
        columns: list[str] | None = None
        for line in head.splitlines():
            if not line.startswith(";"):
                if line.strip():
                    break
                continue
            key, _, value = line[1:].strip().partition("=")
            if key == "$FILEVERSION":
                self.version = value.strip()
            elif key == "$STARTTIME":
                try:
                    self.start = datetime(1899, 12, 30, tzinfo=UTC) + timedelta(days=float(value))
                except (ValueError, OverflowError):
                    self.add(Finding("bad_header", f"$STARTTIME {value.strip()!r} is not a number"))
            elif key == "$COLUMNS":
                columns = [c.strip() for c in value.split(",")]
        if self.version.startswith("2"):
            if not columns:
                raise self.corrupt("TRC 2.x file without a $COLUMNS header line", line=1,
                                   fix="the header was cut off; export the trace again from PCAN-View")
            missing = [c for c in ("O", "I", "D") if c not in columns] + \
                ([] if "L" in columns or "l" in columns else ["L"])
            if missing:
                raise self.corrupt(f"$COLUMNS {','.join(columns)!r} lacks the column(s) {', '.join(missing)}",
                                   line=1, fix="the header is damaged; export the trace again from PCAN-View")
        else:
            columns = LAYOUTS.get(self.version)
            if columns is None:
                self.add(Finding("unknown_version", f"TRC version {self.version} is unknown; read as 1.1"))
                columns = LAYOUTS["1.1"]
        self.columns = columns
        self.FAST = _fast_pattern(columns)
        self.TOKEN_SPLITS = columns.index("D") if "D" in columns else None
        if self.start is None and self.version != "1.0":
            self.add(Finding("no_start", "the file has no $STARTTIME; times are relative"))
        if self.start is None:   # 1.0: "Start time: 18.12.2021 14:28:07.062"
            m = re.search(r"Start time:\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?",
                          head)
            if m:
                d, mo, y, h, mi, s, ms = m.groups()
                try:
                    self.start = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int(ms or 0) * 1000,
                                          tzinfo=UTC)
                except ValueError:      # 31.02., hour 25...: a damaged header, not a reason to refuse the frames
                    self.add(Finding("bad_header", f"start time {m.group(0)[11:].strip()!r} is not a valid date"))

    def _fast(self, fields: pa.StructArray):
        n = len(fields)
        names = {f.name for f in fields.type}
        ts, ok = to_float(fields.field("ts"))
        ts = ts / 1000.0
        id_text = fields.field("id")
        ident, ok_id = hex_to_uint(id_text, 8)
        ext = pc.utf8_length(id_text).to_numpy(zero_copy_only=False) > 4
        flags = np.where(ext, FLAG_EXTENDED, 0).astype(np.uint8)
        if "type" in names:
            typ = fields.field("type")
            fd_flags = np.zeros(n, np.uint8)
            good = np.zeros(n, bool)
            for name, bits in {"DT": 0, "Rx": 0, "Tx": 0, **FD_TYPES}.items():
                hit = pc.equal(typ, name).to_numpy(zero_copy_only=False)
                fd_flags[hit] = bits
                good |= hit
            ok &= good
            flags |= fd_flags
        if "bus" in names:
            bus, ok_bus = to_int(fields.field("bus"))
            ok &= ok_bus & (bus >= 1)
            bus = bus - 1
        else:
            bus = np.zeros(n, np.int64)
        data, count, ok_data = hex_bytes(fields.field("data").fill_null(""), 3, 64)
        fd = (flags & FLAG_FD) != 0
        if "len" in names:
            want, ok_len = to_int(fields.field("len"))
            ok &= ok_len & (count == want)
        else:
            dlc_dec, ok_dec = to_int(fields.field("dlc"))
            dlc_hex, _ = hex_to_uint(fields.field("dlc"), 2)
            full = lambda d: np.where(fd, DLC_TO_LENGTH[np.clip(d, 0, 15)], np.minimum(d, 8))  # noqa: E731
            ok &= (ok_dec & (count == full(dlc_dec))) | (count == full(dlc_hex.astype(np.int64)))
        ok &= ~fd | np.isin(count, DLC_TO_LENGTH)
        cols = {"timestamp": ts, "bus": bus, "arbitration_id": ident, "flags": flags, "length": count,
                "data": data}
        return cols, ok & ok_id & ok_data

    def _fast_fixed(self, lines: FixedLines):
        """Data lines in fixed columns: the same rules as the token path (``_fast_tokens``), column by column."""
        cols = self.columns
        if "D" not in cols or cols[-1] != "D" or "I" not in cols or "O" not in cols:
            return None
        pos = {c: i for i, c in enumerate(cols)}
        first = pos["D"]
        if len(lines.fields) < first:
            return None
        payload, count, ok = lines.spaced_bytes(first)
        if len(lines.fields) != first + count:      # something after the bytes: the token path decides
            return None
        ok = ok & lines.ok
        for k in range(first):                      # one token per column, whatever the column
            ok &= lines.token(k)[2]
        flags = np.zeros(lines.n, np.uint8)
        if "T" in pos:
            flags, good = _frame_types(lines, pos["T"], lines.n)
            ok &= good
        ident, ok_id = lines.hex(pos["I"], 8)
        flags[lines.token(pos["I"])[1] > 4] |= FLAG_EXTENDED
        fd = (flags & FLAG_FD) != 0
        if "l" in pos:
            n, ok_n = lines.dec(pos["l"], 3)
        else:
            dlc, ok_n = lines.dec(pos["L"], 3)
            dlc = np.clip(dlc, 0, 15)
            n = np.where(fd, DLC_TO_LENGTH[dlc], np.minimum(dlc, 8))
        ok &= ok_n & (n == count) & (~fd | np.isin(n, DLC_TO_LENGTH)) & ok_id
        ts, ok_ts = lines.number(pos["O"])
        if "B" in pos:
            bus, ok_bus = lines.dec(pos["B"], 3)
            ok &= ok_bus & (bus >= 1)
            bus = bus - 1
        else:
            bus = np.zeros(lines.n, np.int64)
        out = {"timestamp": ts / 1000.0, "bus": bus, "arbitration_id": ident, "flags": flags,
               "length": np.full(lines.n, count, np.uint8), "data": payload}
        return out, ok & ok_ts

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        if line.startswith(";"):
            return None
        tokens = line.split()
        cols = self.columns
        if len(tokens) < cols.index("I") + 1 and "T" not in cols:
            raise ValueError("too few columns")
        get = {c: tokens[i] for i, c in enumerate(cols) if c != "D" and i < len(tokens)}
        typ = get.get("T", "DT")
        rest = tokens[len(get):]
        ts = float(get["O"]) / 1000.0
        bus = int(get["B"]) - 1 if "B" in get and get["B"].isdigit() else 0
        if typ.lower() in NON_FRAMES or typ in ("ST", "EC", "EV"):
            return None
        if typ == "ER":
            return SlowFrame(ts, bus, 0, FLAG_ERROR, b"")
        id_text = get.get("I", "")
        if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", id_text):
            raise ValueError(f"bad identifier {id_text!r}")
        ident = int(id_text, 16)
        flags = FLAG_EXTENDED if len(id_text) > 4 else 0
        if ident == 0xFFFFFFFF:   # 1.0 status line (BUSHEAVY, BUSOFF...)
            return None
        if "l" in get:
            dlc = int(get["l"])
        elif "L" in get:
            dlc = int(get["L"], 16) if not get["L"].isdigit() else int(get["L"])
        else:
            raise ValueError("no length column")
        if typ == "RR" or (rest and rest[0].upper() == "RTR"):
            return SlowFrame(ts, bus, ident, flags | FLAG_REMOTE, b"", length=min(dlc, 8))
        flags |= FD_TYPES.get(typ, 0)
        if typ not in ("DT", "Rx", "Tx") and typ not in FD_TYPES:
            raise ValueError(f"unknown message type {typ!r}")
        n = dlc if "l" in get else (int(DLC_TO_LENGTH[min(dlc, 15)]) if flags & FLAG_FD else min(dlc, 8))
        payload = bytes(int(t, 16) for t in rest[:n])
        if len(payload) != n:
            raise ValueError(f"length {n} but {len(payload)} data bytes")
        return SlowFrame(ts, bus, ident, flags, payload)


def _fast_tokens(self, tokens):
    """Data lines by token position from the column layout; remote, status and error lines per line."""
    from ._text import floats_where, hex_to_uint_at
    cols = self.columns
    if "D" not in cols or "I" not in cols or "O" not in cols:
        return None
    pos = {c: i for i, c in enumerate(cols)}
    first = pos["D"]
    data = tokens.data
    shape = tokens.count >= first
    flags = np.zeros(tokens.n, np.uint8)
    if "T" in cols:
        flags, good = _frame_types(tokens, pos["T"], tokens.n)
        shape &= good
    _, si, li = tokens.parts(pos["I"])
    ident, ok_id = hex_to_uint_at(data, si, li, 8)
    flags[li > 4] |= FLAG_EXTENDED
    fd = (flags & FLAG_FD) != 0
    if "l" in pos:
        n, ok_n = _dec(*tokens.parts(pos["l"]))
    else:
        dlc, ok_n = _dec(*tokens.parts(pos["L"]))
        dlc = np.clip(dlc, 0, 15)
        n = np.where(fd, DLC_TO_LENGTH[dlc], np.minimum(dlc, 8))
    n = np.where(shape & ok_n, n, 0).astype(np.int64)
    # the payload is the unsplit rest of the line (TOKEN_SPLITS): exactly n single-spaced bytes, nothing after
    _, _, rest_len = tokens.parts(first)
    exact = np.where(n > 0, (tokens.count == first + 1) & (rest_len == 3 * n - 1), tokens.count == first)
    shape &= ok_n & exact & (~fd | np.isin(n, DLC_TO_LENGTH))
    payload, ok_data = tokens.spaced_hex(first, n, 64)
    ts, ok_ts = floats_where(tokens, pos["O"], shape & ok_data)
    if "B" in pos:
        bus, ok_bus = _dec(*tokens.parts(pos["B"]))
        ok_bus &= bus >= 1
        bus = bus - 1
    else:
        bus, ok_bus = np.zeros(tokens.n, np.int64), np.ones(tokens.n, bool)
    out = {"timestamp": ts / 1000.0, "bus": bus, "arbitration_id": ident, "flags": flags,
           "length": n.astype(np.uint8), "data": payload}
    return out, shape & ok_data & ok_ts & ok_id & ok_bus


def _dec(data, starts, lens, w: int = 3):
    """Decimal tokens of up to ``w`` digits as int64; ``ok`` False for anything else."""
    j = np.arange(w)
    idx = np.clip(starts[:, None] + (lens[:, None] - w + j), 0, len(data) - 1)
    valid = j >= (w - lens[:, None])
    digit = data[idx].astype(np.int64) - ord("0")
    ok = (lens > 0) & (lens <= w) & ~(valid & ((digit < 0) | (digit > 9))).any(axis=1)
    return np.where(ok, (np.where(valid, digit, 0) * (10 ** (w - 1 - j))).sum(axis=1), -1), ok


TrcLog._fast_tokens = _fast_tokens
