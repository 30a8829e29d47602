"""Reducing a channel's samples for the browser: a min/max envelope per bucket, the maximum per key bin."""

from __future__ import annotations

import numpy as np

from ..reports.plots import minmax_indices

__all__ = ["decimate_minmax", "binned_max"]


def decimate_minmax(time: np.ndarray, value: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` samples keeping the shape: per bucket of consecutive samples, its minimum and its
    maximum, in time order (the one downsampler of the reports and the dashboard:
    :func:`compliance.reports.plots.minmax_indices`). Peaks (an exceedance's maximum) always survive. NaN samples
    are gaps."""
    if len(time) <= max_points:
        return time, value
    idx = minmax_indices(np.asarray(value, dtype=np.float64), max_points)
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
