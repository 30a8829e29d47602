"""Lap segmentation: which lap each moment of a session belongs to.

Sources, in order of preference:

1. the ``lap`` channel: a counter (the lap number is the counter's value) or a beacon (only 0/1 values: each
   rising edge starts a new lap; laps are numbered 0 for the out-lap before the first beacon, then 1, 2, ...);
2. the ``distance`` channel: with a known lap length, lap = floor(distance / length) when distance is
   cumulative; a distance that falls back (resets each lap) starts a new lap at each fall, length or not;
3. ``vehicle_speed`` integrated over time (trapezoid), with a known lap length.

Without any of them there are no laps and exceedances carry ``lap: null``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from telemetry.channels import Session

from .verdict import Exceedance, LapSummary

__all__ = ["Laps", "segment_laps", "lap_at", "summarise_laps"]


@dataclass(frozen=True, slots=True)
class Laps:
    """Laps as columns: lap ``number[i]`` runs from ``start_s[i]`` to ``start_s[i + 1]`` (the last to ``end_s``)."""

    number: np.ndarray      # int64
    start_s: np.ndarray     # float64, increasing
    end_s: float
    source: str             # "lap counter", "lap beacon", "distance", "integrated vehicle_speed"

    def __len__(self) -> int:
        return len(self.number)


def _from_lap_channel(time: np.ndarray, value: np.ndarray, end_s: float) -> Laps | None:
    ok = np.isfinite(value)
    time, value = time[ok], value[ok]
    if len(time) == 0:
        return None
    distinct = np.unique(value)
    if np.all(np.isin(distinct, (0.0, 1.0))) and np.any(np.diff(value) < 0):
        rising = np.flatnonzero((value[1:] >= 0.5) & (value[:-1] < 0.5)) + 1
        starts = np.concatenate(([0.0], time[rising]))
        return Laps(np.arange(len(starts), dtype=np.int64), starts, end_s, "lap beacon")
    changes = np.flatnonzero(value[1:] != value[:-1]) + 1
    idx = np.concatenate(([0], changes))
    starts = time[idx].copy()
    starts[0] = 0.0
    return Laps(value[idx].astype(np.int64), starts, end_s, "lap counter")


def _from_distance(time: np.ndarray, distance: np.ndarray, lap_length_m: float | None, end_s: float,
                   source: str) -> Laps | None:
    if len(time) == 0:
        return None
    falls = np.flatnonzero(np.diff(distance) < -0.5 * (lap_length_m or max(float(np.nanmax(distance)), 1.0)))
    if len(falls):
        starts = np.concatenate(([0.0], time[falls + 1]))
        return Laps(np.arange(len(starts), dtype=np.int64), starts, end_s, source)
    if not lap_length_m:
        return None
    lap = np.floor(np.nan_to_num(distance, nan=0.0) / lap_length_m).astype(np.int64)
    changes = np.flatnonzero(lap[1:] != lap[:-1]) + 1
    idx = np.concatenate(([0], changes))
    starts = time[idx].copy()
    starts[0] = 0.0
    return Laps(lap[idx], starts, end_s, source)


def segment_laps(session: Session, lap_length_m: float | None = None) -> Laps | None:
    """Segment ``session`` into laps (see module doc), or ``None`` when nothing says where laps are."""
    end_s = session.duration_s
    lap = session.channels.get("lap")
    if lap is not None and len(lap):
        found = _from_lap_channel(lap.time, lap.value, end_s)
        if found is not None:
            return found
    distance = session.channels.get("distance")
    if distance is not None and len(distance):
        found = _from_distance(distance.time, distance.value, lap_length_m, end_s, "distance")
        if found is not None:
            return found
    speed = session.channels.get("vehicle_speed")
    if lap_length_m and speed is not None and len(speed) > 1:
        v = np.clip(np.nan_to_num(speed.value, nan=0.0), 0.0, None) / 3.6
        travelled = np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(speed.time))))
        return _from_distance(speed.time, travelled, lap_length_m, end_s, "integrated vehicle_speed")
    return None


def lap_at(laps: Laps | None, times: np.ndarray | Iterable[float]) -> np.ndarray | None:
    """Lap number at each time (the lap whose start is the last at or before it)."""
    if laps is None:
        return None
    idx = np.clip(np.searchsorted(laps.start_s, np.asarray(times, dtype=np.float64), side="right") - 1, 0, None)
    return laps.number[idx]


def summarise_laps(laps: Laps | None, exceedances: Iterable[Exceedance]) -> tuple[LapSummary, ...]:
    """One summary per lap: start, end and the count of exceedances per rule that started in it."""
    if laps is None:
        return ()
    counts: list[dict[str, int]] = [{} for _ in range(len(laps))]
    for e in exceedances:
        i = int(np.clip(np.searchsorted(laps.start_s, e.start_s, side="right") - 1, 0, None))
        counts[i][e.rule] = counts[i].get(e.rule, 0) + 1
    ends = np.concatenate((laps.start_s[1:], [laps.end_s]))
    return tuple(LapSummary(int(n), float(a), float(b), c)
                 for n, a, b, c in zip(laps.number.tolist(), laps.start_s.tolist(), ends.tolist(), counts,
                                       strict=True))
