"""Sample-level helpers every rule path uses: a channel held at other time stamps, runs of True in a mask."""

from __future__ import annotations

import numpy as np

from telemetry.channels import Channel

__all__ = ["held_at", "runs"]


def held_at(channel: Channel, at: np.ndarray, *, backfill: bool = False) -> np.ndarray:
    """``channel`` value at times ``at``: the last sample at or before each time (NaN before the first one,
    or the first value when ``backfill``)."""
    if len(channel) == 0:
        return np.full(len(at), np.nan)
    idx = np.searchsorted(channel.time, at, side="right") - 1
    out = channel.value[np.clip(idx, 0, None)].astype(np.float64, copy=True)
    if not backfill:
        out[idx < 0] = np.nan
    return out


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index (inclusive) of each maximal run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


