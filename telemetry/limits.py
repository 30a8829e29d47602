"""The limits that keep a damaged or hostile log (or signal database) from exhausting a reader, in one place.

Each is read from its environment variable when set (a positive number), else the default here; a caller that
takes the limit as an argument passes it instead (argument > environment > default).

| variable | default | what |
|---|---|---|
| ``BOPWATCH_GZIP_MAX_RATIO`` | 100 | a gzip stream may inflate to at most this many times the compressed bytes read so far (checked past ``GZIP_RATIO_FLOOR`` inflated bytes; logs compress 4-6x, zeros ~1000x) |
| ``BOPWATCH_GZIP_MAX_MB`` | 65536 | ... and to at most this many MB in all (a 24-hour ASC log is ~30 GB) |
| ``BOPWATCH_BLF_CONTAINER_MAX_MB`` | 64 | the most uncompressed bytes a BLF log container may declare (writers use 128 KiB); it may not inflate to more than it declares |
| ``BOPWATCH_TEXT_MAX_LINE_BYTES`` | 65536 | a text log line longer than this (newline excluded) is skipped and reported, never held whole (a frame line is at most ~400 bytes) |
| ``BOPWATCH_DBC_MAX_MB`` | 8 | the largest signal database (DBC, KCD, SYM, ARXML) a profile may name; cantools parses ~1 MB of DBC per second of CPU, in the process that loads the profile (the largest DBC of the corpus is 0.8 MB) |
| ``BOPWATCH_DBC_MAX_MESSAGES`` | 16384 | the most ``BO_`` messages a DBC may define (~70 us of cantools' CPU each; the corpus's largest has 367) |
| ``BOPWATCH_DBC_MAX_MESSAGE_BYTES`` | 4096 | the longest message a DBC may declare, and so the furthest bit a signal may start at or span: cantools builds each message's codec bit by bit (a 99,999,999-byte message: over 10 s and ~1 GB; 2**32 bytes: ``MemoryError``); ISO-TP payloads are at most 4,095 bytes, J1939 ones 1,785 |
| ``BOPWATCH_PARSE_TIMEOUT_S``, ``BOPWATCH_PARSE_MEMORY_MB`` | see ``telemetry.isolate`` | the isolated reader's CPU time and address space |
"""

from __future__ import annotations

import os

from .errors import TelemetryError

__all__ = ["env_number", "GZIP_MAX_RATIO", "GZIP_MAX_MB", "GZIP_RATIO_FLOOR", "BLF_CONTAINER_MAX_MB",
           "TEXT_MAX_LINE_BYTES", "DBC_MAX_MB", "DBC_MAX_MESSAGES", "DBC_MAX_MESSAGE_BYTES"]

GZIP_MAX_RATIO = 100.0
GZIP_MAX_MB = 65536.0
#: inflated bytes below which the gzip ratio is not checked (a small log may compress well)
GZIP_RATIO_FLOOR = 64 << 20
BLF_CONTAINER_MAX_MB = 64.0
TEXT_MAX_LINE_BYTES = 1 << 16
DBC_MAX_MB = 8.0
DBC_MAX_MESSAGES = 16384
DBC_MAX_MESSAGE_BYTES = 4096


def env_number(name: str, default: float | None) -> float | None:
    """The positive number in the environment variable ``name``, else ``default`` when it is unset or empty; any
    other value is a ``TelemetryError`` naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise TelemetryError(f"{name}={raw!r} is not a positive number", place=name,
                             fix=f"set {name} to a positive number or unset it")
    return value
