"""Rolling counters and payload checksums of the profile's ``[[integrity]]`` entries (DESIGN.md), vectorised.

Checksums are computed over the payload bytes of the message (its DBC length) except the checksum byte, in
byte order: ``xor8`` (XOR of the bytes), ``sum8`` (sum modulo 256) and ``crc8_sae_j1850`` (polynomial 0x1D,
initial value 0xFF, final XOR 0xFF; the check value of ``b"123456789"`` is 0x4B).
"""

from __future__ import annotations

import numpy as np

__all__ = ["checksum", "checksum_ok", "counter_skips", "ALGORITHMS"]

ALGORITHMS = ("xor8", "sum8", "crc8_sae_j1850")


def _crc8_table(poly: int) -> np.ndarray:
    table = np.zeros(256, np.uint8)
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[i] = crc
    return table


_J1850 = _crc8_table(0x1D)


def checksum(payload: np.ndarray, algorithm: str) -> np.ndarray:
    """The checksum of each row of ``payload`` (uint8, (n, k)) over all its bytes."""
    payload = np.asarray(payload, np.uint8)
    if algorithm == "xor8":
        return np.bitwise_xor.reduce(payload, axis=1) if payload.shape[1] else np.zeros(len(payload), np.uint8)
    if algorithm == "sum8":
        return (payload.sum(axis=1, dtype=np.uint64) & 0xFF).astype(np.uint8)
    if algorithm == "crc8_sae_j1850":
        crc = np.full(len(payload), 0xFF, np.uint8)
        for k in range(payload.shape[1]):
            crc = _J1850[crc ^ payload[:, k]]
        return crc ^ np.uint8(0xFF)
    raise ValueError(f"unknown checksum algorithm {algorithm!r} (use one of {', '.join(ALGORITHMS)})")


def checksum_ok(payload: np.ndarray, byte: int, algorithm: str) -> np.ndarray:
    """True where byte ``byte`` of each row equals the checksum of the row's other bytes."""
    others = np.delete(np.asarray(payload, np.uint8), byte, axis=1)
    return checksum(others, algorithm) == payload[:, byte]


def counter_skips(values: np.ndarray, modulo: int) -> np.ndarray:
    """Indices of the frames whose counter is not the previous frame's counter + 1 (modulo ``modulo``)."""
    c = np.rint(np.asarray(values, np.float64)).astype(np.int64)
    if len(c) < 2:
        return np.empty(0, np.int64)
    return np.flatnonzero(c[1:] != (c[:-1] + 1) % modulo) + 1
