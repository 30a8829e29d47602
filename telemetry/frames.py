"""The columnar ``Frames`` value object every raw-CAN reader produces, and reader ``Finding``s."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

__all__ = [
    "Finding", "Frames", "FLAG_EXTENDED", "FLAG_REMOTE", "FLAG_ERROR", "FLAG_FD", "FLAG_BRS", "FLAG_ESI",
    "DLC_TO_LENGTH", "empty_frames", "concat_frames",
]

FLAG_EXTENDED = 0x01  # 29-bit identifier
FLAG_REMOTE = 0x02    # remote transmission request
FLAG_ERROR = 0x04     # error frame
FLAG_FD = 0x08        # CAN FD frame
FLAG_BRS = 0x10       # CAN FD bit rate switch
FLAG_ESI = 0x20       # CAN FD error state indicator

#: CAN FD data length code to payload length in bytes.
DLC_TO_LENGTH = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64], dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a reader or decoder noticed that the user must know about.

    ``kind`` is a short stable token: ``truncated``, ``skipped_line``, ``unknown_object``, ``zero_size_object``,
    ``time_backwards``, ``time_jump``, ``count_mismatch``, ``short_frame``, ``unknown_id``, ...
    ``count`` says how many occurrences one finding stands for (e.g. 1,200 skipped lines, the first at ``line``).
    """

    kind: str
    detail: str
    offset: int | None = None
    line: int | None = None
    count: int = 1
    ids: tuple[int, ...] = ()       # arbitration ids readable on the skipped lines (up to IDS_KEPT), sorted

    def to_dict(self) -> dict:
        out: dict = {"kind": self.kind, "detail": self.detail}
        if self.offset is not None:
            out["offset"] = self.offset
        if self.line is not None:
            out["line"] = self.line
        if self.count != 1:
            out["count"] = self.count
        if self.ids:
            out["ids"] = list(self.ids)
        return out


@dataclass(frozen=True, slots=True)
class Frames:
    """Raw CAN frames as columns (one row per frame, file order).

    ``timestamp`` is float64 seconds relative to ``start`` when the file records an absolute start (so the
    absolute time of frame i is ``start + timestamp[i]``), else relative to the file's own origin.
    ``data`` is a uint8 matrix ``(n, width)``; width is 8 for classic CAN, up to 64 with CAN FD; bytes past
    ``length[i]`` are zero.
    """

    timestamp: np.ndarray       # float64 (n,)
    bus: np.ndarray             # uint8 (n,), 0-based
    arbitration_id: np.ndarray  # uint32 (n,)
    flags: np.ndarray           # uint8 (n,), FLAG_* bits
    length: np.ndarray          # uint8 (n,), payload bytes
    data: np.ndarray            # uint8 (n, width)
    start: datetime | None = None
    findings: tuple[Finding, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.timestamp)
        for name in ("bus", "arbitration_id", "flags", "length"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Frames.{name} has {len(getattr(self, name))} rows instead of {n}")
        if self.data.ndim != 2 or self.data.shape[0] != n:
            raise ValueError(f"Frames.data has shape {self.data.shape} instead of ({n}, width)")

    def __len__(self) -> int:
        return len(self.timestamp)

    @property
    def is_extended(self) -> np.ndarray:
        return (self.flags & FLAG_EXTENDED) != 0

    @property
    def is_fd(self) -> np.ndarray:
        return (self.flags & FLAG_FD) != 0

    @property
    def is_error(self) -> np.ndarray:
        return (self.flags & FLAG_ERROR) != 0

    @property
    def is_remote(self) -> np.ndarray:
        return (self.flags & FLAG_REMOTE) != 0

    @property
    def duration(self) -> float:
        return float(self.timestamp.max() - self.timestamp.min()) if len(self) else 0.0

    def select(self, mask: np.ndarray) -> Frames:
        """The frames where ``mask`` (boolean or index array) holds; findings and start are kept."""
        return Frames(self.timestamp[mask], self.bus[mask], self.arbitration_id[mask], self.flags[mask],
                      self.length[mask], self.data[mask], self.start, self.findings)

    def with_findings(self, findings: Iterable[Finding]) -> Frames:
        return Frames(self.timestamp, self.bus, self.arbitration_id, self.flags, self.length, self.data,
                      self.start, tuple(self.findings) + tuple(findings))


def empty_frames(width: int = 8, start: datetime | None = None) -> Frames:
    return Frames(np.empty(0, np.float64), np.empty(0, np.uint8), np.empty(0, np.uint32), np.empty(0, np.uint8),
                  np.empty(0, np.uint8), np.empty((0, width), np.uint8), start)


def concat_frames(parts: Iterable[Frames]) -> Frames:
    """Join chunks of one file (same ``start``) in order; payload width is widened to the widest part."""
    parts = list(parts)
    if not parts:
        return empty_frames()
    if len(parts) == 1:
        return parts[0]
    width = max(p.data.shape[1] for p in parts)
    data = np.zeros((sum(len(p) for p in parts), width), np.uint8)
    row = 0
    for p in parts:
        data[row:row + len(p), :p.data.shape[1]] = p.data
        row += len(p)
    return Frames(
        np.concatenate([p.timestamp for p in parts]),
        np.concatenate([p.bus for p in parts]),
        np.concatenate([p.arbitration_id for p in parts]),
        np.concatenate([p.flags for p in parts]),
        np.concatenate([p.length for p in parts]),
        data,
        parts[0].start,
        tuple(f for p in parts for f in p.findings),
    )
