"""Counting scopes (SPEC §5): how many exceedances, and how much time over the limit, one scope may hold.

``count_per = "session"`` is one scope, the whole session; ``"lap"`` one scope per lap (an exceedance belongs to
the lap it starts in); ``"window"`` every interval ``[t, t + window_s)`` of session time (sliding). A scope's time
over is the sum of ``duration_s`` of the exceedances in it. The rule infringes when any scope holds more
exceedances than ``max_exceedances`` or more time over than ``max_time_over_s``. The worst scope is the one with
the most exceedances, then the most time over, then the earliest.

For windows only the windows starting at an exceedance's start need looking at: the exceedances starting in any
window are a run of consecutive starts, and the window starting at the first of them holds them all (and perhaps
more), so both maxima are reached there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..bop.spec import RuleSpec
from .laps import Laps
from .verdict import Exceedance, rounded

__all__ = ["Scope", "ScopeVerdict", "judge_scopes", "window_counts"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Scope:
    start_s: float
    end_s: float
    lap: int | None
    count: int
    time_over_s: float

    def to_dict(self) -> dict:
        return {"start_s": rounded(self.start_s), "end_s": rounded(self.end_s), "lap": self.lap,
                "count": self.count, "time_over_s": rounded(self.time_over_s)}


@dataclass(frozen=True, slots=True)
class ScopeVerdict:
    infringes: bool
    worst: Scope | None          # None: no exceedance (or scopes cannot be formed)
    problem: str | None = None   # why the scopes cannot be formed (the rule is then incomplete)


def window_counts(starts: np.ndarray, durations: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """For each exceedance start (sorted), the count and the time over of the window ``[start, start + w)``."""
    ends = np.searchsorted(starts, starts + window_s, side="left")
    cumulative = np.concatenate(([0.0], np.cumsum(durations)))
    idx = np.arange(len(starts))
    return ends - idx, cumulative[ends] - cumulative[idx]


def _worst(scopes: Sequence[Scope]) -> Scope | None:
    if not scopes:
        return None
    return min(scopes, key=lambda s: (-s.count, -s.time_over_s, s.start_s))


def _infringes(spec: RuleSpec, count: int, time_over: float) -> bool:
    return count > spec.max_exceedances or (spec.max_time_over_s is not None
                                            and time_over > spec.max_time_over_s + _EPS)


def judge_scopes(spec: RuleSpec, found: Sequence[Exceedance], duration_s: float, laps: Laps | None) -> ScopeVerdict:
    """The scopes of ``spec`` over the exceedances ``found`` in one session."""
    if spec.count_per == "session":
        time_over = float(sum(e.duration_s for e in found))
        scope = Scope(0.0, duration_s, None, len(found), time_over)
        return ScopeVerdict(_infringes(spec, len(found), time_over), scope if found else None)
    if spec.count_per == "lap":
        if laps is None:
            return ScopeVerdict(False, None, "no lap source for count_per = \"lap\" (no lap or distance channel, "
                                "and no track length with vehicle_speed)")
        ends = np.concatenate((laps.start_s[1:], [laps.end_s]))
        per: dict[int, list[Exceedance]] = {}
        for e in found:
            i = int(np.clip(np.searchsorted(laps.start_s, e.start_s, side="right") - 1, 0, None))
            per.setdefault(i, []).append(e)
        scopes = [Scope(float(laps.start_s[i]), float(ends[i]), int(laps.number[i]), len(es),
                        float(sum(e.duration_s for e in es))) for i, es in sorted(per.items())]
        return ScopeVerdict(any(_infringes(spec, s.count, s.time_over_s) for s in scopes), _worst(scopes))
    window = float(spec.window_s or 0.0)
    ordered = sorted(found, key=lambda e: e.start_s)
    if not ordered:
        return ScopeVerdict(False, None)
    starts = np.array([e.start_s for e in ordered])
    counts, times = window_counts(starts, np.array([e.duration_s for e in ordered]), window)
    infringes = bool(np.any(counts > spec.max_exceedances)) or (
        spec.max_time_over_s is not None and bool(np.any(times > spec.max_time_over_s + _EPS)))
    scopes = [Scope(float(s), float(s) + window, None, int(c), float(t))
              for s, c, t in zip(starts.tolist(), counts.tolist(), times.tolist(), strict=True)]
    return ScopeVerdict(infringes, _worst(scopes))
