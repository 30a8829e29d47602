"""Refuelling time (SPEC §5 ``refuel_time``): each refuelling must last at least ``min_s`` (and at most ``max_s``).

A refuelling is a maximal run of ``refuel`` samples at 1 (>= 0.5); it lasts from its first sample at 1 to the first
sample back at 0 (``end_s``); one still running at the session's end is not judged. One shorter than ``min_s -
tolerance`` (or longer than ``max_s + tolerance``) is one exceedance: ``start_s``/``end_s`` the refuelling's,
``peak`` its duration, ``limit`` the bound, unit ``s``. A ``when`` gate is read at the refuelling's start.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from telemetry.channels import Channel

from ..bop.spec import RuleSpec
from .samples import runs
from .verdict import Exceedance

__all__ = ["refuellings", "refuel_exceedances"]


def refuellings(refuel: Channel | None) -> list[tuple[float, float | None]]:
    """(start_s, end_s) of each refuelling, end None while it still runs at the end of the data."""
    if refuel is None or len(refuel) == 0:
        return []
    on = np.nan_to_num(refuel.value, nan=0.0) >= 0.5
    first, last = runs(on)
    t = refuel.time
    return [(float(t[a]), float(t[b + 1]) if b + 1 < len(t) else None)
            for a, b in zip(first.tolist(), last.tolist(), strict=True)]


def refuel_exceedances(spec: RuleSpec, channels: Mapping[str, Channel], gate) -> tuple[tuple[Exceedance, ...], int]:
    """The refuellings outside the bounds of ``spec`` and how many refuellings were judged. ``gate(times)`` is the
    rule's ``when`` mask at given times."""
    runs = [(a, b) for a, b in refuellings(channels.get("refuel")) if b is not None]
    if not runs:
        return (), 0
    allowed = gate(np.array([a for a, _ in runs]))
    out = []
    judged = 0
    low = spec.limits[0] if spec.limits else None
    for (a, b), ok in zip(runs, allowed.tolist(), strict=True):
        if not ok:
            continue
        judged += 1
        duration = b - a
        if low is not None and duration < low - spec.tolerance:
            out.append(Exceedance(spec.rule, a, b, duration, duration, low, low - duration, "s"))
        elif spec.upper is not None and duration > spec.upper + spec.tolerance:
            out.append(Exceedance(spec.rule, a, b, duration, duration, spec.upper, duration - spec.upper, "s"))
    return tuple(out), judged
