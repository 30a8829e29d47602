"""Shared machinery of the text log readers (ASC, candump, TRC, CSV).

The hot path never loops over lines in Python. Per block of whole lines, three paths in turn, each taking the
lines the one before left:

1. fixed width (``_fixed.py``, formats with ``_fast_fixed``): the lines of each common length as one byte matrix,
   read column by column with numpy;
2. tokens (``_fast_tokens``): Arrow splits the lines into whitespace tokens in C, numpy reads tokens by position
   (or, without it, the format's RE2 expression ``FAST`` picks the fields out of every line at once);
3. the format's careful per-line parser (``_slow``); lines it cannot parse either are counted and reported with
   their line numbers.

The frames of all three are put back in line order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import Frames
from ..limits import TEXT_MAX_LINE_BYTES, env_number
from ._base import FindingCounter, LogFile, frames_from_columns, open_bytes
from ._fixed import FixedLines, fixed_groups

__all__ = ["TextLogFile", "SlowFrame", "Tokens", "iter_blocks", "lines_array", "string_parts", "hex_to_uint",
           "hex_to_uint_at",
           "hex_bytes", "to_float", "to_int"]

BLOCK_BYTES = 1 << 24
#: default longest line read, bytes without the newline (``telemetry.limits``): longer ones are skipped, reported
MAX_LINE_BYTES = TEXT_MAX_LINE_BYTES
#: most data bytes a frame line may carry (CAN FD)
MAX_DATA_BYTES = 64

HEX_LUT = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789"):
    HEX_LUT[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    HEX_LUT[_c] = 10 + _i
    HEX_LUT[_c - 32] = 10 + _i


#: ``on_long(line number, bytes, first bytes)``: told of each line longer than the limit (skipped)
LongLine = Callable[[int, int, bytes], None]


def iter_blocks(stream: BinaryIO, block_bytes: int = BLOCK_BYTES, max_line: int = MAX_LINE_BYTES,
                on_long: LongLine | None = None) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines (each ending with ``\\n``) and the 1-based number of each block's first line.

    An unfinished line is carried to the next read only up to ``max_line`` bytes: a longer one is never held whole
    (a 20 GB "line" of zeros is read once, in blocks, in linear time); it is reported to ``on_long(line number,
    bytes, its first bytes)`` when it ends and is not part of any block. Lines up to ``block_bytes`` long inside a
    block are the caller's to check."""
    line_no = 1
    tail = b""
    long_at: list = []          # [line number, bytes so far, first bytes] of the overlong line being skipped
    while True:
        chunk = stream.read(block_bytes)
        if not chunk:
            if long_at:
                _report(on_long, long_at)
            elif tail:
                yield tail + b"\n", line_no
            return
        if long_at:
            nl = chunk.find(b"\n")
            if nl < 0:
                long_at[1] += len(chunk)
                continue
            long_at[1] += nl
            _report(on_long, long_at)
            long_at = []
            line_no += 1
            chunk = chunk[nl + 1:]
            if not chunk:
                continue
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            block = data[:cut]
            yield block, line_no
            line_no += block.count(b"\n")
        tail = data[cut:]
        if len(tail) > max_line:
            long_at = [line_no, len(tail), tail[:80]]
            tail = b""


def _report(on_long: LongLine | None, long_at: list) -> None:
    if on_long is not None:
        on_long(*long_at)


def lines_array(block: bytes) -> pa.LargeStringArray:
    """One Arrow string per line (each keeping its trailing newline), zero-copy over ``block``. Bytes >= 0x80
    (never part of a frame line, and invalid UTF-8 for Arrow) are seen as ``?``, so such lines fall to the careful
    parser, which reads the original bytes and reports them."""
    raw = np.frombuffer(block, np.uint8)
    high = raw >= 0x80
    if high.any():
        raw = np.where(high, np.uint8(ord("?")), raw)
        block = raw.tobytes()
    ends = np.flatnonzero(raw == 10) + 1
    offsets = np.empty(len(ends) + 1, np.int64)
    offsets[0] = 0
    offsets[1:] = ends
    return pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))


def string_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, start, length) of each string in an Arrow string array, as numpy views."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    bufs = arr.buffers()
    odt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], odt, count=len(arr) + 1 + arr.offset)[arr.offset:]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    starts = offsets[:-1].astype(np.int64)
    return data, starts, (offsets[1:] - offsets[:-1]).astype(np.int64)


def hex_to_uint(arr: pa.Array, max_digits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Hex strings to uint64; ``ok`` is False where a string is empty, too long or not hex."""
    return hex_to_uint_at(*string_parts(arr), max_digits)


def hex_to_uint_at(data: np.ndarray, starts: np.ndarray, lens: np.ndarray, max_digits: int = 8
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``hex_to_uint`` on strings given as (bytes, start, length)."""
    n = len(lens)
    lens = np.maximum(lens, 0)
    w = max(1, min(max_digits, int(lens.max()) if n else 1))
    j = np.arange(w)
    idx = starts[:, None] + (lens[:, None] - w + j)
    valid = j >= (w - lens[:, None])
    nib = HEX_LUT[data[np.clip(idx, 0, len(data) - 1)]]
    bad = valid & (nib == 255)
    nib = np.where(valid, nib, 0).astype(np.uint64)
    shifts = (4 * (w - 1 - j)).astype(np.uint64)
    values = (nib << shifts).sum(axis=1, dtype=np.uint64) if n else np.zeros(0, np.uint64)
    ok = (lens > 0) & (lens <= max_digits) & ~bad.any(axis=1)
    return values, ok


def hex_bytes(arr: pa.Array, stride: int, max_bytes: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payload strings to a byte matrix: ``stride`` 2 for ``DEADBEEF``, 3 for ``DE AD BE EF``.

    Returns (data (n, max_bytes) uint8, length uint8, ok)."""
    data, starts, lens = string_parts(arr)
    n = len(lens)
    count = (lens + (stride - 2)) // stride if stride > 2 else lens // 2
    ok = (count <= max_bytes) & ((lens == 0) | ((lens - 2) % stride == 0))
    width = int(count.max()) if n else 0
    width = max(0, min(width, max_bytes))
    out = np.zeros((n, max(width, 1)), np.uint8)
    if width:
        k = np.arange(width)
        pos = starts[:, None] + stride * k
        valid = k < count[:, None]
        hi = HEX_LUT[data[np.clip(pos, 0, len(data) - 1)]]
        lo = HEX_LUT[data[np.clip(pos + 1, 0, len(data) - 1)]]
        bad = valid & ((hi == 255) | (lo == 255))
        ok &= ~bad.any(axis=1)
        out[:, :width] = np.where(valid, (hi << 4) | (lo & 15), 0)
    return out, np.minimum(count, 255).astype(np.uint8), ok


def to_float(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Decimal strings to float64 (in C); ``ok`` False where a value does not parse."""
    try:
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), np.ones(len(arr), bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = np.full(len(arr), np.nan)
        ok = np.zeros(len(arr), bool)
        for i, s in enumerate(arr.to_pylist()):
            try:
                out[i] = float(s)
                ok[i] = True
            except (TypeError, ValueError):
                pass
        return out, ok


def floats_where(tokens: Tokens, i: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token ``i`` as float64 on the rows of ``mask`` (cast in C; only those rows, so text elsewhere is fine)."""
    out = np.zeros(tokens.n)
    ok = np.zeros(tokens.n, bool)
    rows = np.flatnonzero(mask)
    if len(rows):
        values, good = to_float(tokens.values.take(pa.array(tokens.index(i)[rows])))
        out[rows], ok[rows] = values, good & np.isfinite(values)
    return out, ok


def to_int(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    values, ok = to_float(arr)
    ok &= np.isfinite(values) & (values == np.floor(values))
    return np.where(ok, values, 0).astype(np.int64), ok


@dataclass(frozen=True, slots=True)
class SlowFrame:
    """One frame from the per-line parser."""

    timestamp: float
    bus: int
    arbitration_id: int
    flags: int
    data: bytes
    length: int | None = None   # defaults to len(data)


class Tokens:
    """The whitespace-separated tokens of every line (split in C by Arrow), addressable by position: token ``i``
    of every line at once, as (bytes, start, length) numpy views or as an Arrow string array."""

    def __init__(self, lines: pa.Array, max_splits: int | None = None) -> None:
        lists = pc.ascii_split_whitespace(pc.ascii_trim_whitespace(lines), max_splits=max_splits)
        self.offsets = lists.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        self.count = np.diff(self.offsets)
        self.values = lists.values
        self.data, self.starts, self.lens = string_parts(self.values)
        if not len(self.data):      # readers clip positions to len(data) - 1: never an empty buffer
            self.data = np.zeros(1, np.uint8)
        self.n = len(self.count)

    def index(self, i: int | np.ndarray) -> np.ndarray:
        """Flat index of token ``i`` of each line (clipped; check ``count > i``)."""
        return np.clip(self.offsets[:-1] + i, 0, max(len(self.lens) - 1, 0))

    def parts(self, i: int | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = self.index(i)
        if not len(self.lens):
            z = np.zeros(self.n, np.int64)
            return self.data, z, z
        return self.data, self.starts[k], np.where(self.count > i, self.lens[k], 0)

    def compact_hex(self, i: int, skip: np.ndarray, max_bytes: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token ``i`` after its first ``skip[r]`` characters read as compact hex bytes (``DEADBEEF``)."""
        data, starts, lens = self.parts(i)
        starts, lens = starts + skip, np.maximum(lens - skip, 0)
        count = lens // 2
        ok = (lens % 2 == 0) & (count <= max_bytes)
        count = np.minimum(count, max_bytes)
        width = int(count.max()) if self.n else 0
        out = np.zeros((self.n, max(width, 8)), np.uint8)
        if width:
            k = np.arange(width)
            pos = np.minimum(starts[:, None] + 2 * k, len(data) - 2)
            valid = k < count[:, None]
            hi, lo = HEX_LUT[data[pos]], HEX_LUT[data[pos + 1]]
            ok &= ~(valid & ((hi == 255) | (lo == 255))).any(axis=1)
            out[:, :width] = np.where(valid, (hi << 4) | (lo & 15), 0)
        return out, count.astype(np.uint8), ok

    def spaced_hex(self, i: int, count: np.ndarray, max_bytes: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """``count[r]`` bytes written ``12 34 AB`` (single spaces) at the start of token ``i`` (the unsplit rest
        of the line); ``ok`` is False when they are not there or one more hex byte follows them."""
        data, starts, lens = self.parts(i)
        top = len(data) - 1
        count = np.clip(count, 0, max_bytes)
        width = int(count.max()) if self.n else 0
        out = np.zeros((self.n, max(width, 8)), np.uint8)
        need = np.where(count > 0, 3 * count - 1, 0)
        ok = lens >= need
        if width:
            k = np.arange(width)
            pos = starts[:, None] + 3 * k
            valid = k < count[:, None]
            hi, lo = HEX_LUT[data[np.minimum(pos, top)]], HEX_LUT[data[np.minimum(pos + 1, top)]]
            sep = data[np.minimum(pos + 2, top)]
            bad = valid & ((hi == 255) | (lo == 255) | ((k < count[:, None] - 1) & (sep != 32)))
            ok &= ~bad.any(axis=1)
            out[:, :width] = np.where(valid, (hi << 4) | (lo & 15), 0)
        # what follows the bytes: nothing, or whitespace and then not another hex byte
        more = lens > need
        after = starts + need
        gap = np.where(count > 0, after, starts)
        c0 = data[np.minimum(gap, top)]
        ws = (c0 == 32) | (c0 == 9)
        nxt = np.where(count > 0, after + 1, starts)
        rest = starts + lens
        b0, b1 = HEX_LUT[data[np.minimum(nxt, top)]], HEX_LUT[data[np.minimum(nxt + 1, top)]]
        end2 = nxt + 2
        c2 = data[np.minimum(end2, top)]
        another = (nxt + 2 <= rest) & (b0 != 255) & (b1 != 255) & ((end2 >= rest) | (c2 == 32) | (c2 == 9))
        ok &= ~more | (((count == 0) | ws) & ~another)
        return out, ok

    def text(self, i: int | np.ndarray) -> pa.Array:
        return self.values.take(pa.array(self.index(i)))

    def equals(self, i: int, word: bytes) -> np.ndarray:
        data, starts, lens = self.parts(i)
        ok = lens == len(word)
        for j, c in enumerate(word):
            ok &= data[np.minimum(starts + j, len(data) - 1)] == c
        return ok

    def payload(self, first: int | np.ndarray, count: np.ndarray, max_bytes: int = 64
                ) -> tuple[np.ndarray, np.ndarray]:
        """Bytes written as 2-digit hex tokens, ``count[r]`` of them from token ``first`` of line ``r``."""
        count = np.clip(count, 0, max_bytes)
        width = int(count.max()) if self.n else 0
        out = np.zeros((self.n, max(width, 8)), np.uint8)
        ok = self.count >= np.asarray(first) + count
        if width and len(self.lens):
            k = np.arange(width)
            idx = np.clip((self.offsets[:-1] + first)[:, None] + k, 0, len(self.lens) - 1)
            valid = k < count[:, None]
            pos = self.starts[idx]
            hi = HEX_LUT[self.data[np.minimum(pos, len(self.data) - 1)]]
            lo = HEX_LUT[self.data[np.minimum(pos + 1, len(self.data) - 1)]]
            bad = valid & ((self.lens[idx] != 2) | (hi == 255) | (lo == 255))
            ok &= ~bad.any(axis=1)
            out[:, :width] = np.where(valid, (hi << 4) | (lo & 15), 0)
        return out, ok


class TextLogFile(LogFile):
    """A line-oriented frame log. Subclasses give ``FAST`` (a regex with named groups, matched against each
    whole line including its newline), ``_fast(fields) -> (columns dict, ok mask)``, ``_slow(line, line_no)
    -> SlowFrame | None`` (None: a line that carries no frame, e.g. a comment; raise ValueError for a line that
    cannot be understood), and optionally ``_header(head_text)`` to read the start time and settings."""

    FAST: str = ""
    TOKEN_SPLITS: int | None = None     # split lines into at most this many + 1 tokens on the token path
    HEAD_BYTES = 1 << 16

    def __init__(self, path) -> None:
        super().__init__(path)
        self._stream = self._own(open_bytes(path))
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        head = self._stream.read(self.HEAD_BYTES)
        self._stream.seek(0)
        if _looks_binary(head):
            raise self.corrupt(f"the file starts with binary data, not {self.format} text", offset=0,
                               fix="check the file type; give it its real extension")
        self._recognised = 0
        self._header(head.decode("latin-1"))
        self._skipped = FindingCounter("skipped_line", "lines not understood (skipped)")
        self._max_line = int(env_number("BOPWATCH_TEXT_MAX_LINE_BYTES", MAX_LINE_BYTES))
        self._long = FindingCounter("skipped_line", f"lines longer than {self._max_line:,} bytes (skipped)")

    def _header(self, head: str) -> None:
        """Read settings and the start time from the first lines (``head``)."""

    def _fast(self, fields: pa.StructArray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        raise NotImplementedError

    def _id_hint(self, line: str) -> int | None:
        """The arbitration id a line the reader could not read still shows, or None: a skipped line on a
        message a rule needs makes the session incomplete whatever the share (``compliance.judge.quality``)."""
        return None

    def _slow(self, line: str, line_no: int) -> SlowFrame | None:
        raise NotImplementedError

    def _post(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Hook after a block's columns are assembled (e.g. relative timestamps)."""
        return cols

    def _chunks(self, max_frames: int) -> Iterator[Frames]:
        block_bytes = max(1 << 16, min(BLOCK_BYTES, max_frames * 48))
        for block, first_line in iter_blocks(self._stream, block_bytes, self._max_line, self._long_line):
            yield self._block(block, first_line)
        tried = self._skipped.count + self._long.count
        if self._recognised == 0 and tried:
            first = min(self._skipped.lines[:1] + self._long.lines[:1], default=1)
            longer = f", {self._long.count} longer than {self._max_line:,} bytes" if self._long.count else ""
            raise self.corrupt(f"no line looks like {self.format_with_article} log line "
                               f"({tried} lines tried{longer})",
                               line=first, fix="check the file type; give it its real extension")
        self.add(self._skipped.finding())
        self.add(self._long.finding())

    def _long_line(self, line_no: int, size: int, head: bytes) -> None:
        self._long.add(line=line_no, example=f"{head[:40].decode('latin-1')}... ({size:,} bytes)")

    def _fast_tokens(self, tokens: Tokens) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
        """Optional faster path on whitespace tokens: (columns for every line, ok mask); None = use ``FAST``."""
        return None

    def _fast_fixed(self, lines: FixedLines) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
        """Optional fastest path on lines of one length (``_fixed``): (columns for every line, ok mask); None =
        none of these lines (the token path reads them)."""
        return None

    def _block(self, block: bytes, first_line: int) -> Frames:
        """The frames of one block of whole lines. Empty lines carry nothing (no path reads a frame or reports
        anything there): when a block has any, the other lines are first gathered into a compact block, found
        with byte masks, so a block of newlines costs a few passes over its bytes and no array per line."""
        raw = np.frombuffer(block, np.uint8)
        nl = raw == 10
        if 8 * np.count_nonzero(nl) < len(raw):        # lines of 8 bytes or more on average: the usual block
            ends = np.flatnonzero(nl) + 1
            lens = np.diff(ends, prepend=0)
            short = np.flatnonzero(lens <= 2)
            if not len(short) or not ((lens[short] == 1) | (raw[ends[short] - 2] == 13)).any():
                del nl, lens, short         # freed before the paths allocate theirs
                return self._lines(block, raw, ends, first_line, None)
            del ends, lens, short
        after_nl = np.empty_like(nl)            # the byte follows a newline (or starts the block)
        after_nl[0] = True
        after_nl[1:] = nl[:-1]
        drop = nl & after_nl                    # the newline of an empty line
        crlf = nl & ~after_nl
        crlf[1:] &= (raw[:-1] == 13) & after_nl[:-1]      # the newline of a "\r\n" line
        crlf[0] = False
        drop |= crlf
        drop[:-1] |= crlf[1:]                   # and its carriage return
        kept_ends = np.flatnonzero(nl & ~drop)
        rows_at = np.cumsum(nl, dtype=np.int64 if len(raw) >= 1 << 31 else np.int32)[kept_ends] - 1
        del nl, after_nl, crlf, kept_ends
        compact = raw[~drop]
        return self._lines(compact.tobytes(), compact, np.flatnonzero(compact == 10) + 1, first_line, rows_at)

    def _lines(self, block: bytes, raw: np.ndarray, ends: np.ndarray, first_line: int,
               rows_at: np.ndarray | None) -> Frames:
        """The frames of the lines of ``block`` (ending at ``ends``); ``rows_at[r]`` is line ``r``'s place in
        the block it came from (None: ``r``), for line numbers. Lines over the length limit are skipped and
        reported."""
        begins = np.zeros(len(ends), np.int64)
        begins[1:] = ends[:-1]
        pieces: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        long = np.flatnonzero(ends - begins > self._max_line + 1)
        done = np.zeros(len(ends), bool)
        done[long] = True
        for r in long.tolist():
            self._long_line(first_line + (r if rows_at is None else int(rows_at[r])), int(ends[r] - begins[r]) - 1,
                            block[begins[r]:begins[r] + 80])
        if type(self)._fast_fixed is not TextLogFile._fast_fixed:
            for rows, matrix in fixed_groups(raw, begins, ends):
                got = self._fast_fixed(FixedLines(matrix))
                if got is not None:
                    self._keep(pieces, done, rows, *got)
        rest = np.flatnonzero(~done)
        if len(rest):
            self._tokens_path(block, rest, pieces, done)
        slow_rows = np.flatnonzero(~done)
        slow: list[tuple[int, SlowFrame]] = []
        for r in slow_rows.tolist():
            text = block[begins[r]:ends[r]].decode("latin-1").strip()
            if not text:
                continue
            line_no = first_line + (r if rows_at is None else int(rows_at[r]))
            try:
                frame = self._slow(text, line_no)
                if frame is not None and not (math.isfinite(frame.timestamp) and 0 <= frame.bus <= 255
                                              and 0 <= frame.arbitration_id <= 0x1FFFFFFF):
                    raise ValueError("time stamp not finite, bus outside 0..255 or identifier over 29 bits")
                if frame is not None and frame.length is not None and not 0 <= frame.length <= MAX_DATA_BYTES:
                    raise ValueError(f"frame length {frame.length} outside 0..{MAX_DATA_BYTES}")
                if frame is not None and len(frame.data) > MAX_DATA_BYTES:
                    raise ValueError(f"{len(frame.data)} data bytes, more than a CAN FD frame's "
                                     f"{MAX_DATA_BYTES}")
            except (ValueError, IndexError, KeyError, OverflowError) as err:
                self._skipped.add(line=line_no, example=f"{text} ({err})" if str(err) else text,
                                  arbitration_id=self._id_hint(text))
                continue
            self._recognised += 1
            if frame is not None:
                slow.append((r, frame))
        if slow:
            pieces.append((np.array([r for r, _ in slow], np.int64), _slow_cols(slow)))
        cols = _join(pieces)
        cols = self._post(cols)
        return frames_from_columns(cols["timestamp"], cols["bus"], cols["arbitration_id"], cols["flags"],
                                   cols["length"], cols["data"], self.start)

    def _keep(self, pieces: list, done: np.ndarray, rows: np.ndarray, cols: dict[str, np.ndarray],
              ok: np.ndarray) -> None:
        """Add the ``ok`` rows of a fast path (those a frame can hold; the rest go on to the next path)."""
        if len(rows):       # out-of-range values go to the careful parser, which reports the line
            ok = ok & _in_range(cols["timestamp"], cols["bus"], cols["arbitration_id"])
        keep = np.flatnonzero(ok)
        if not len(keep):
            return
        if len(keep) < len(rows):
            rows, cols = rows[keep], {k: np.asarray(v)[keep] for k, v in cols.items()}
        pieces.append((rows, cols))
        done[rows] = True
        self._recognised += len(rows)

    def _tokens_path(self, block: bytes, rest: np.ndarray, pieces: list, done: np.ndarray) -> None:
        """The token path (or the format's regular expression) on lines ``rest`` of the block."""
        lines = lines_array(block)
        if len(rest) < len(lines):
            lines = lines.take(pa.array(rest))
        by_tokens = self._fast_tokens(Tokens(lines, self.TOKEN_SPLITS)) if len(lines) else None
        if by_tokens is not None:
            self._keep(pieces, done, rest, *by_tokens)
            return
        fields = pc.extract_regex(lines, self.FAST)
        matched = fields.is_valid().to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(matched)
        if len(rows):
            self._keep(pieces, done, rest[rows], *self._fast(fields.filter(pa.array(matched))))


def _slow_cols(slow: list[tuple[int, SlowFrame]]) -> dict[str, np.ndarray]:
    width = max([len(f.data) for _, f in slow] + [8])
    cols = {
        "timestamp": np.array([f.timestamp for _, f in slow], np.float64),
        "bus": np.array([f.bus for _, f in slow], np.int64),
        "arbitration_id": np.array([f.arbitration_id for _, f in slow], np.uint64),
        "flags": np.array([f.flags for _, f in slow], np.uint8),
        "length": np.array([len(f.data) if f.length is None else f.length for _, f in slow], np.uint8),
        "data": np.zeros((len(slow), width), np.uint8),
    }
    for i, (_, f) in enumerate(slow):
        cols["data"][i, :len(f.data)] = np.frombuffer(f.data, np.uint8)
    return cols


_DTYPES = {"timestamp": np.float64, "bus": np.int64, "arbitration_id": np.uint64, "flags": np.uint8,
           "length": np.uint8}


def _join(pieces: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    """The pieces' frames in line order."""
    if not pieces:
        return _empty_cols()
    if len(pieces) == 1:
        return pieces[0][1]
    order = np.argsort(np.concatenate([rows for rows, _ in pieces]), kind="stable")
    joined = {k: np.concatenate([np.asarray(c[k]).astype(t, copy=False) for _, c in pieces])[order]
              for k, t in _DTYPES.items()}
    width = max(8, *(c["data"].shape[1] for _, c in pieces))
    data = np.zeros((len(order), width), np.uint8)
    at = 0
    for _, c in pieces:
        data[at:at + len(c["data"]), :c["data"].shape[1]] = c["data"]
        at += len(c["data"])
    joined["data"] = data[order]
    return joined


def _in_range(timestamp: np.ndarray, bus: np.ndarray, ident: np.ndarray) -> np.ndarray:
    """Rows a frame can hold: a finite time stamp, a bus 0..255, an identifier of at most 29 bits."""
    bus, ident = np.asarray(bus), np.asarray(ident)
    return (np.isfinite(np.asarray(timestamp, np.float64)) & (bus >= 0) & (bus <= 255) & (ident >= 0)
            & (ident <= 0x1FFFFFFF))


def _empty_cols() -> dict[str, np.ndarray]:
    return {"timestamp": np.zeros(0), "bus": np.zeros(0, np.int64), "arbitration_id": np.zeros(0, np.uint64),
            "flags": np.zeros(0, np.uint8), "length": np.zeros(0, np.uint8), "data": np.zeros((0, 8), np.uint8)}


_TEXT_BYTES = bytes(range(32, 127)) + b"\t\r\n\f"


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 10 % of the first 4 KiB outside printable ASCII (text logs may hold a few
    Latin-1/UTF-8 characters in comments)."""
    sample = head[:4096]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    return len(sample.translate(None, _TEXT_BYTES)) > 0.10 * len(sample)
