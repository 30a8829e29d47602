"""Builders for sessions made directly from numpy arrays (no log files), shared by the compliance tests."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from telemetry.channels import CANONICAL, Channel, MessageTrace, Session, SourceInfo


def channel(name: str, time, value, unit: str | None = None) -> Channel:
    return Channel(name, CANONICAL[name].unit if unit is None else unit, np.asarray(time, dtype=np.float64),
                   np.asarray(value, dtype=np.float64), source=f"test.{name}")


def session(channels: dict[str, tuple], *, start: datetime | None = None,
            messages: dict[str, MessageTrace] | None = None, findings=(), missing=(),
            source_findings=()) -> Session:
    chans = {n: channel(n, t, v) for n, (t, v) in channels.items()}
    duration = max((float(c.time[-1]) for c in chans.values() if len(c)), default=0.0)
    src = SourceInfo(path="memory.log", sha256="0" * 64, format="test", size=0, frames=None, buses=(0,),
                     ids=None, start=start, duration_s=duration, findings=tuple(source_findings))
    return Session(channels=chans, sources=(src,), start=start, messages=messages or {},
                   findings=tuple(findings), missing=tuple(missing))
