"""Reducing a channel's samples for the browser: a min/max envelope per bucket, the maximum per key bin."""

from __future__ import annotations

import numpy as np

__all__ = ["decimate_minmax", "binned_max"]


def decimate_minmax(time: np.ndarray, value: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` samples keeping the shape: per bucket of consecutive samples, its minimum and its
    maximum, in time order. Peaks (an exceedance's maximum) always survive. NaN samples are gaps."""
    n = len(time)
    if n <= max_points:
        return time, value
    buckets = max(1, max_points // 2)
    size = -(-n // buckets)
    pad = buckets * size - n
    v = np.concatenate([value, np.full(pad, np.nan)]).reshape(buckets, size)
    nan = np.isnan(v)
    lo = np.argmin(np.where(nan, np.inf, v), axis=1)
    hi = np.argmax(np.where(nan, -np.inf, v), axis=1)
    base = np.arange(buckets) * size
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    idx = np.stack([base + first, base + second], axis=1).ravel()
    idx = idx[np.concatenate([[True], np.diff(idx) != 0])]      # flat buckets give the same sample twice
    idx = idx[idx < n]
    return time[idx], value[idx]


def binned_max(key: np.ndarray, value: np.ndarray, bin_width: float) -> tuple[np.ndarray, np.ndarray]:
    ok = ~(np.isnan(key) | np.isnan(value))
    if not ok.any():
        return np.empty(0), np.empty(0)
    bins = np.floor(key[ok] / bin_width).astype(np.int64)
    uniq, inv = np.unique(bins, return_inverse=True)
    top = np.full(len(uniq), -np.inf)
    np.maximum.at(top, inv, value[ok])
    return uniq * bin_width + bin_width / 2, top
