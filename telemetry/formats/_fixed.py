"""Fixed-width fast path of the text readers: lines of one length as a byte matrix, read column by column.

Loggers write their frame lines in fixed columns (Vector ASC pads the identifier to 15 characters, PEAK TRC
right-aligns numbers, candump writes ``(sec.usec) can0 ID#DATA``), so most lines of a block have the same length
and the same layout. Those lines become one ``(lines, width)`` uint8 matrix (a zero-copy window per line start,
gathered once), and a field is a run of columns that are not blank in (nearly) every line. Every test and
conversion then works on whole columns with numpy: no per-token index arrays, no per-line Python.

A line is read here only when it is blank in every separator column and each field it uses holds exactly one
token (right-, left- or centre-aligned), so its fields are exactly its whitespace tokens: the format's parser
applies the same rules as on the token path. Anything else (odd lines, other lengths, rare layouts) goes to the
token path and then the careful per-line parser, as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FixedLines", "fixed_groups"]

#: lines of a length seen fewer times than this in a block go to the token path
MIN_LINES = 256
#: a column is a separator when at least this share of the lines is blank there
SEP_SHARE = 0.98
#: at most this many line lengths per block take the fixed path
MAX_GROUPS = 6
#: lines per tile of the transposition (a tile stays in the CPU cache)
TILE = 4096

HEX = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789"):
    HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    HEX[_c] = 10 + _i
    HEX[_c - 32] = 10 + _i
DEC = np.full(256, 255, np.uint8)
DEC[48:58] = np.arange(10)
#: digits as themselves, ASCII blanks as 0, anything else with bit 4 set (``& 15`` is the digit)
DEC_BLANK = np.full(256, 16, np.uint8)
DEC_BLANK[48:58] = np.arange(10)
DEC_BLANK[[9, 10, 11, 12, 13, 32]] = 0
_EXACT = 1 << 53            # integers below this are exact in float64


def fixed_groups(raw: np.ndarray, begins: np.ndarray, ends: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(line numbers in the block, byte matrix *by column*: ``(width, lines)``, newline dropped) for each line
    length common in the block. Column-major so that each column is one contiguous array (a column of a
    row-major matrix is a pass over every cache line of it); transposed in tiles that fit the cache."""
    lens = ends - begins
    if not len(lens):
        return
    counts = np.bincount(lens)
    common = np.flatnonzero(counts >= MIN_LINES)
    common = common[np.argsort(-counts[common], kind="stable")][:MAX_GROUPS]
    for width in common.tolist():
        if width < 2:
            continue
        rows = np.flatnonzero(lens == width)
        at = begins[rows]
        window = sliding_window_view(raw, width)
        by_column = np.empty((width - 1, len(rows)), np.uint8)
        for i in range(0, len(rows), TILE):
            by_column[:, i:i + TILE] = window[at[i:i + TILE], :width - 1].T
        yield rows, by_column


def _blank(m: np.ndarray) -> np.ndarray:
    """ASCII whitespace (what Arrow's ``ascii_split_whitespace`` splits on)."""
    return (m == 32) | ((m - np.uint8(9)) < 5)


class FixedLines:
    """Lines of one length as a column-major matrix ``m[column, line]``; ``fields`` are the column spans
    between separator columns; ``ok`` is False for lines with a character in a separator column (their tokens
    are not the fields)."""

    def __init__(self, m: np.ndarray) -> None:
        self.m = np.ascontiguousarray(m)
        self.width, self.n = self.m.shape
        blank = _blank(self.m)
        sep = np.count_nonzero(blank, axis=1) >= SEP_SHARE * self.n
        self.ok = blank[sep].all(axis=0) if sep.any() else np.ones(self.n, bool)
        edges = np.flatnonzero(np.diff(np.concatenate(([True], sep, [True])).astype(np.int8)))
        self.fields: list[tuple[int, int]] = list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))
        self.blank = blank      # ASCII whitespace, by column
        self._tokens: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._line = np.arange(self.n, dtype=np.int64)
        self._full: set[int] = set()      # fields every line fills exactly (one token, no blank)

    def token(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start column, length, ok) of the one token in field ``k`` of each line; ok False when the field
        is empty or holds more than one token in that line."""
        if k not in self._tokens:
            a, b = self.fields[k]
            blank = self.blank[a:b]
            if not blank.any():
                self._full.add(k)
                got = (np.full(self.n, a, np.int64), np.full(self.n, b - a, np.int64), np.ones(self.n, bool))
            else:
                count = np.zeros(self.n, np.int64)
                first = np.full(self.n, b, np.int64)
                last = np.full(self.n, a - 1, np.int64)
                for j in range(a, b):
                    filled = ~blank[j - a]
                    count += filled
                    first = np.where(filled & (first == b), j, first)
                    last = np.where(filled, j, last)
                got = (first, count, (count > 0) & (last - first + 1 == count))
            self._tokens[k] = got
        return self._tokens[k]

    def at(self, col: np.ndarray) -> np.ndarray:
        """The character at column ``col[r]`` of each line (0 outside the line)."""
        lo, hi = int(col.min(initial=0)), int(col.max(initial=0))
        if lo == hi and 0 <= lo < self.width and len(col) == self.n:
            return self.m[lo]
        inside = (col >= 0) & (col < self.width)
        out = self.m.ravel()[np.clip(col, 0, self.width - 1) * self.n + self._line]
        return np.where(inside, out, 0).astype(np.uint8)

    def equals(self, k: int, word: bytes) -> np.ndarray:
        start, length, ok = self.token(k)
        a, b = self.fields[k]
        if k in self._full:
            if b - a != len(word):
                return np.zeros(self.n, bool)
            ok = self.m[a] == word[0]
            for j in range(1, len(word)):
                ok &= self.m[a + j] == word[j]
            return ok
        ok = ok & (length == len(word))
        for j, c in enumerate(word):
            ok &= self.at(start + j) == c
        return ok

    def digits(self, k: int, start: np.ndarray, stop: np.ndarray, base: int = 16, max_digits: int = 8
               ) -> tuple[np.ndarray, np.ndarray]:
        """Columns ``start[r]:stop[r]`` of field ``k`` as an unsigned number in ``base`` (16 or 10): (int64
        value, ok); ok False when empty, longer than ``max_digits`` or holding another character."""
        a, b = self.fields[k]
        lut = HEX if base == 16 else DEC
        value = np.zeros(self.n, np.int64)
        bad = np.zeros(self.n, bool)
        lo, hi = max(a, int(start.min(initial=b))), min(b, int(stop.max(initial=a)))
        if (start == lo).all() and (stop == hi).all():     # every line has its digits in the same columns
            for j in range(lo, hi):
                d = np.take(lut, self.m[j])
                bad |= d == 255
                value = value * base + d
        else:
            for j in range(lo, hi):
                d = np.take(lut, self.m[j])
                inside = (start <= j) & (j < stop)
                bad |= inside & (d == 255)
                value = np.where(inside, value * base + d, value)
        length = stop - start
        return value, ~bad & (length > 0) & (length <= max_digits)

    def hex(self, k: int, max_digits: int = 8) -> tuple[np.ndarray, np.ndarray]:
        start, length, ok = self.token(k)
        value, good = self.digits(k, start, start + length, 16, max_digits)
        return value, ok & good

    def dec(self, k: int, max_digits: int = 3) -> tuple[np.ndarray, np.ndarray]:
        start, length, ok = self.token(k)
        value, good = self.digits(k, start, start + length, 10, max_digits)
        return value, ok & good

    def number(self, k: int, start: np.ndarray | None = None, stop: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Columns ``start:stop`` (default: the token) of field ``k`` as a decimal ``123`` or ``123.456``:
        (float64, ok). The value is the digits as an exact integer divided by a power of ten, i.e. the correctly
        rounded double, as ``float(text)`` gives; numbers of 2**53 and more are left to the token path."""
        ok = np.ones(self.n, bool)
        if start is None or stop is None:
            start, length, ok = self.token(k)
            stop = start + length
        a, b = self.fields[k]
        if ok.any():
            lo, hi = int(start[ok].min()), int(stop[ok].max())
        else:
            lo, hi = a, b
        dots = [int(np.count_nonzero(self.m[j] == 46)) for j in range(lo, hi)]
        p = lo + int(np.argmax(dots)) if dots else lo
        if lo < p < hi - 1 and hi - lo <= 19:
            # the usual case: the numbers end in one column, the point in one column: the blanks before a
            # right-aligned number count as leading zeros (the field holds one token: ``ok``); other lines are
            # left to the token path
            ok = ok & (stop == hi) & (self.m[p] == 46)
            value = np.zeros(self.n, np.int64)
            bad = np.zeros(self.n, np.uint8)
            columns = [j for j in range(lo, hi) if j != p]
            for g in range(0, len(columns), 4):      # four digits at a time in uint16, then one int64 step
                part = np.zeros(self.n, np.uint16)
                for j in columns[g:g + 4]:
                    d = np.take(DEC_BLANK, self.m[j])
                    bad |= d
                    part = part * 10 + (d & 15)
                value = value * 10 ** len(columns[g:g + 4]) + part
            ok &= ((bad & 16) == 0) & (np.take(DEC, self.at(start)) != 255) & (np.take(DEC, self.m[p - 1]) != 255)
            ok &= value < _EXACT
            return value / 10.0 ** (hi - 1 - p), ok
        value = np.zeros(self.n, np.int64)
        decimals = np.zeros(self.n, np.int64)
        dots = np.zeros(self.n, np.int64)
        bad = np.zeros(self.n, bool)
        for j in range(lo, hi):
            c = self.m[j]
            d = np.take(DEC, c)
            inside = (start <= j) & (j < stop)
            dot = inside & (c == 46)
            digit = inside & (d != 255)
            bad |= inside & ~digit & ~dot
            value = np.where(digit, value * 10 + d, value)
            decimals += digit & (dots > 0)
            dots += dot
        length = stop - start
        ok &= (~bad & (dots <= 1) & (length > 0) & (length <= 18) & (np.take(DEC, self.at(start)) != 255)
               & (np.take(DEC, self.at(stop - 1)) != 255) & (value < _EXACT))
        return value / np.power(10.0, decimals), ok

    def spaced_bytes(self, first: int) -> tuple[np.ndarray, int, np.ndarray]:
        """The fields from ``first`` on that are 2 columns wide, 3 apart (``0A 27 4E``): (bytes (n, count),
        count, ok). ok False where one is not two hex digits or the gap between two is not one space."""
        cols: list[int] = []
        for a, b in self.fields[first:]:
            if b - a != 2 or (cols and a != cols[-1] + 3):
                break
            cols.append(a)
        if not cols:
            return np.zeros((self.n, 8), np.uint8), 0, np.ones(self.n, bool)
        at = np.array(cols)
        hi, lo = np.take(HEX, self.m[at]), np.take(HEX, self.m[at + 1])
        ok = ~((hi == 255) | (lo == 255)).any(axis=0)
        if len(cols) > 1:
            ok &= (self.m[at[:-1] + 2] == 32).all(axis=0)
        data = np.zeros((self.n, max(len(cols), 8)), np.uint8)
        data[:, :len(cols)] = ((hi << 4) | (lo & 15)).T
        return data, len(cols), ok

    def text(self, k: int) -> tuple[np.ndarray, list[str]]:
        """Field ``k`` of each line as (index into names, names): each distinct token once (bytes >= 0x80 read
        as ``?``, as on the token path). Lines whose field is not one token get index -1."""
        start, length, ok = self.token(k)
        a, b = self.fields[k]
        sub = self.m[a:b]
        index = np.full(self.n, -1, np.int64)
        names: list[str] = []
        todo = ok.copy()
        while todo.any() and len(names) < 64:
            r = int(np.argmax(todo))
            same = todo & (sub == sub[:, r:r + 1]).all(axis=0)
            token = bytes(sub[start[r] - a:start[r] - a + length[r], r])
            names.append("".join(chr(c) if c < 0x80 else "?" for c in token))
            index[same] = len(names) - 1
            todo &= ~same
        return index, names
