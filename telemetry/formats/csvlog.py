"""CSV frame logs in the dialects seen in the wild, recognised by their header line:

* python-can ``CSVWriter``: ``timestamp,arbitration_id,extended,remote,error,dlc,data`` (data in base64)
* CSS Electronics mdf4-converters: ``TimestampEpoch;BusChannel;ID;IDE;DLC;DataLength;Dir;EDL;BRS;DataBytes``
  (and the LIN variant without IDE/DLC/EDL/BRS); buses 1-based
* SavvyCAN / GVRET: ``Time Stamp,ID,Extended,[Dir,]Bus,LEN,D1,...,D8`` (time in microseconds, buses 0-based;
  rows as long as their payload, or, as SavvyCAN's own writer does, always eight data columns with the bytes past
  ``LEN`` padded: the first ``LEN`` bytes are the payload)
* ``ID,Data Bytes`` captures without time stamps (every frame at time 0, with a finding)

One RE2 expression is built from the header's columns and reads every row; numpy converts the fields. A header
that names none of these dialects, or lacks the identifier or payload column, is refused (``UnsupportedFormat``)
before any row is read.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UnsupportedFormat
from ..frames import DLC_TO_LENGTH, FLAG_BRS, FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_REMOTE, Finding
from ._text import SlowFrame, TextLogFile, hex_bytes, hex_to_uint, string_parts, to_float, to_int

__all__ = ["CsvLog", "csv_dialect"]

MAX_COLUMNS = 256      # a header with more columns is not a frame log (and would make the row expression huge)
_EPOCH_MIN, _EPOCH_MAX = 100_000_000, 32_503_680_000      # epoch seconds read as absolute: 1973 .. year 3000

HEX = r"[0-9A-Fa-f]"
B64_LUT = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"):
    B64_LUT[_c] = _i
B64_LUT[ord("=")] = 0

#: normalised header name -> (role, regex of the field)
COLUMNS = {
    "timestamp": ("ts", r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"), "timestampepoch": ("ts", r"\d+(?:\.\d+)?"),
    "time": ("ts", r"\d+(?:\.\d+)?"), "timestamps": ("ts", r"\d+(?:\.\d+)?"),
    "timestampus": ("us", r"-?\d+"),
    "arbitrationid": ("id", r"(?:0x)?" + HEX + "{1,8}"), "id": ("id", r"(?:0x)?" + HEX + "{1,8}"),
    "extended": ("ext", r"true|false|True|False|1|0"), "ide": ("ext", r"[01]"),
    "remote": ("rtr", r"[01]"), "error": ("err", r"[01]"), "edl": ("edl", r"[01]"), "brs": ("brs", r"[01]"),
    "bus": ("bus0", r"\d+"), "buschannel": ("bus1", r"\d+"), "channel": ("bus1", r"\d+"),
    "len": ("len", r"\d+"), "datalength": ("len", r"\d+"), "dlc": ("dlc", r"\d+"),
    "dir": ("dir", r"[A-Za-z01]*"), "data": ("data", r"[A-Za-z0-9+/=]*"), "databytes": ("data", None),
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _split_header(first: str) -> tuple[str, list[str], list[str]]:
    first = first.strip().lstrip("\ufeff")
    sep = ";" if first.count(";") > first.count(",") else ","
    names = [n.strip() for n in first.split(sep, MAX_COLUMNS)]
    return sep, names, [_norm(n) for n in names]


def _dialect_of(norm: list[str]) -> str | None:
    if "timestamp" in norm and "arbitrationid" in norm and "data" in norm:
        return "python-can"
    if norm and norm[0] == "timestamp" and "extended" in norm:      # SavvyCAN "Time Stamp"
        return "savvycan"
    if "timestampepoch" in norm:
        return "css"
    if norm[:2] == ["id", "databytes"]:
        return "id-data"
    return None


def csv_dialect(first_line: str) -> str | None:
    """The CSV dialect a header line names (``python-can``, ``savvycan``, ``css``, ``id-data``), or None."""
    if "," not in first_line and ";" not in first_line:
        return None
    return _dialect_of(_split_header(first_line[:1 << 16])[2])


class CsvLog(TextLogFile):
    format = "csv"

    def _header(self, head: str) -> None:
        first = head.split("\n", 1)[0].strip().lstrip("\ufeff")
        self.sep, names, norm = _split_header(first)
        if len(names) > MAX_COLUMNS:
            raise UnsupportedFormat(f"the CSV header has more than {MAX_COLUMNS} columns; not a CAN frame log",
                                    path=self.path, fix="give a CAN frame log (one frame a row)")
        dialect = _dialect_of(norm)
        if dialect is None:
            raise UnsupportedFormat(f"unknown CSV dialect (header {first[:80]!r})", path=self.path,
                                    fix="bopwatch reads python-can, CSS Electronics and SavvyCAN/GVRET CSV logs; "
                                        "convert the file to one of them or to candump .log")
        self.dialect = dialect
        if dialect == "savvycan":
            norm[0] = "timestampus"
        elif dialect == "id-data":
            self.add(Finding("no_timestamps", "the file has no time column; every frame is at time 0"))
        self.roles: list[str] = []
        parts = []
        sep = re.escape(self.sep)
        d_columns = [i for i, n in enumerate(names) if re.fullmatch(r"[Dd]\d+", n)]
        for i, n in enumerate(norm):
            if d_columns and i == d_columns[0] and "data" not in self.roles:   # (a data column wins: one payload)
                # payload spread over D1..Dn columns; rows carry only as many as they need
                parts.append(f"(?:{sep}(?P<data>{HEX}{{2}}(?:{sep}{HEX}{{2}})*))?(?:{sep}[^\\n]*)?")
                self.roles.append("dcols")
                break
            role, pattern = COLUMNS.get(n, (None, None))
            if role == "data" and pattern is None:     # hex payload: "1234AB" or "12 34 AB"
                spaced = self.dialect == "id-data"
                pattern = (f"{HEX}{{2}}(?: {HEX}{{2}})*" if spaced else f"(?:{HEX}{{2}})*")
                self.data_stride = 3 if spaced else 2
            elif role == "data":
                self.data_stride = 0       # base64
            group = f"(?P<{role}>{pattern})" if role and role not in self.roles else r"[^,;\n]*"
            self.roles.append(role or "")
            parts.append((sep if i else "") + group)
        lacking = [what for what, roles in (("identifier", ("id",)), ("payload", ("data", "dcols")))
                   if not any(r in self.roles for r in roles)]
        if lacking:       # the row expression would have no such group: refuse instead of failing on the rows
            raise UnsupportedFormat(f"the {self.dialect} CSV header has no {' or '.join(lacking)} column "
                                    f"(header {first[:80]!r})", path=self.path,
                                    fix="export the log again with every column (identifier and data bytes)")
        self.d_count = len(d_columns) if "dcols" in self.roles else 0
        self.FAST = r"^\s*" + "".join(parts) + r"\s*$"
        self.names = names
        self._sec0 = 0
        if self.dialect in ("css", "python-can"):
            m = re.search(r"^\s*(\d{1,12})(?:\.\d*)?[,;]", head.split("\n", 2)[1] if head.count("\n") > 1 else "")
            if m and _EPOCH_MIN <= int(m.group(1)) < _EPOCH_MAX:
                from datetime import UTC, datetime
                self._sec0 = int(m.group(1))
                self.start = datetime.fromtimestamp(self._sec0, UTC)

    def _fast(self, fields: pa.StructArray):
        n = len(fields)
        names = {f.name for f in fields.type}
        ok = np.ones(n, bool)
        if "ts" in names:
            ts, ok_ts = to_float(fields.field("ts"))
            ts = ts - self._sec0
        elif "us" in names:
            us, ok_ts = to_int(fields.field("us"))
            ts = us / 1e6
        else:
            ts, ok_ts = np.zeros(n), np.ones(n, bool)
        id_text = fields.field("id")
        id_text = pc.replace_substring_regex(id_text, "^0x", "")
        ident, ok_id = hex_to_uint(id_text, 8)
        flags = np.zeros(n, np.uint8)
        if "ext" in names:
            ext = pc.is_in(fields.field("ext"), pa.array(["1", "true", "True"])).to_numpy(zero_copy_only=False)
        else:
            ext = (pc.utf8_length(id_text).to_numpy(zero_copy_only=False) > 3) | (ident > 0x7FF)
        flags[ext] |= FLAG_EXTENDED
        for role, bit in (("rtr", FLAG_REMOTE), ("err", FLAG_ERROR), ("edl", FLAG_FD), ("brs", FLAG_BRS)):
            if role in names:
                flags[pc.equal(fields.field(role), "1").to_numpy(zero_copy_only=False)] |= bit
        if "bus1" in names:
            bus, ok_bus = to_int(fields.field("bus1"))
            bus = bus - 1
        elif "bus0" in names:
            bus, ok_bus = to_int(fields.field("bus0"))
        else:
            bus, ok_bus = np.zeros(n, np.int64), np.ones(n, bool)
        data_text = fields.field("data").fill_null("")
        if self.roles.count("dcols") or getattr(self, "data_stride", 2) == 3:
            data, count, ok_data = hex_bytes(data_text, 3, 64)
        elif self.data_stride == 0:
            data, count, ok_data = _b64(data_text)
        else:
            data, count, ok_data = hex_bytes(data_text, 2, 64)
        if "len" in names and self.d_count:
            # SavvyCAN writes all eight D columns whatever LEN says (the bytes past LEN padded): the payload is
            # the first LEN bytes; a row with fewer bytes than LEN (or more than the header's columns) is not read
            want, ok_len = to_int(fields.field("len"))
            ok &= ok_len & (want >= 0) & (want <= count) & (count <= max(8, self.d_count))
            count = np.clip(want, 0, 64).astype(np.uint8)
            data[np.arange(data.shape[1])[None, :] >= count[:, None]] = 0
        elif "len" in names:
            want, ok_len = to_int(fields.field("len"))
            ok &= ok_len & (count == want)
        elif "dlc" in names and self.dialect == "python-can":
            dlc, ok_dlc = to_int(fields.field("dlc"))
            rtr = (flags & FLAG_REMOTE) != 0
            ok &= ok_dlc & ((count == np.minimum(dlc, 64)) | rtr | (count == 0))
            count = np.where(rtr, np.minimum(dlc, 8), count).astype(np.uint8)
        fd_len = (count > 8) & ((flags & FLAG_FD) == 0)
        flags[fd_len] |= FLAG_FD
        ok &= ~((flags & FLAG_FD) != 0) | np.isin(count, DLC_TO_LENGTH)
        cols = {"timestamp": ts, "bus": bus, "arbitration_id": ident & 0x1FFFFFFF, "flags": flags,
                "length": count, "data": data}
        return cols, ok & ok_ts & ok_id & ok_bus & ok_data & (bus >= 0)

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        if line_no == 1:
            return None     # the header
        raise ValueError(f"row does not fit the {self.dialect} CSV columns")


_B64_MAX_CHARS = 88     # base64 of 64 bytes (the longest CAN FD payload)


def _b64(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base64 strings (python-can's CSV payload) to a byte matrix, vectorised."""
    data, starts, lens = string_parts(arr)
    n = len(lens)
    too_long = lens > _B64_MAX_CHARS        # more than 64 bytes: not a CAN payload (a skipped row), and never
    ok = (lens % 4 == 0) & ~too_long        # allowed to widen the whole chunk's byte matrix
    lens = np.where(too_long, 0, lens)
    groups = lens // 4
    g = int(groups.max()) if n else 0
    out = np.zeros((n, max(3 * g, 8)), np.uint8)
    if g:
        k = np.arange(4 * g)
        idx = np.clip(starts[:, None] + k, 0, len(data) - 1)
        valid = k < lens[:, None]
        chars = data[idx]
        six = B64_LUT[chars]
        ok &= ~(valid & (six == 255)).any(axis=1)
        six = np.where(valid, six, 0).astype(np.uint32).reshape(n, g, 4)
        word = (six[..., 0] << 18) | (six[..., 1] << 12) | (six[..., 2] << 6) | six[..., 3]
        out[:, :3 * g] = np.stack([(word >> 16) & 255, (word >> 8) & 255, word & 255], axis=-1).reshape(n, 3 * g)
        pad = ((chars == ord("=")) & valid).sum(axis=1)
    else:
        pad = np.zeros(n, np.int64)
    count = 3 * groups - pad
    k = np.arange(out.shape[1])
    out[k >= count[:, None]] = 0
    return out[:, :64], np.clip(count, 0, 64).astype(np.uint8), ok & (count <= 64)
