"""Envelopes of one run: how a car's boost, power, fuel flow and acceleration sit against rpm and speed.

An envelope is a table over key bins (rpm in 250 rpm bins, speed in 10 km/h bins): per bin the sample count and
the 5th, 25th, 50th, 75th and 95th percentiles of the value, taken at full throttle only (``throttle`` held at
the value's time stamp >= ``full_throttle_pct``, 95 % by default; without a throttle channel every sample
counts, and the envelope says so). The key is held like a rule's key (last sample at or before). Top speed is
the 99.9th percentile of ``vehicle_speed`` (one spike is not a top speed). Pure and vectorised: channels in,
envelopes out; the store keeps them as JSON (``compliance.store.references``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from telemetry.channels import Channel

from ..judge.samples import held_at

__all__ = ["QUANTITIES", "FULL_THROTTLE_PCT", "Envelope", "RunEnvelopes", "envelope", "run_envelopes",
           "acceleration", "full_throttle"]

FULL_THROTTLE_PCT = 95.0
#: quantity -> (value channel, key channel, bin width in the key's unit)
QUANTITIES: Mapping[str, tuple[str, str, float]] = MappingProxyType({
    "boost_vs_rpm": ("boost_pressure", "engine_speed", 250.0),
    "power_vs_rpm": ("power", "engine_speed", 250.0),
    "power_vs_speed": ("power", "vehicle_speed", 10.0),
    "fuel_flow_vs_rpm": ("fuel_flow", "engine_speed", 250.0),
    "accel_vs_speed": ("long_accel", "vehicle_speed", 10.0),
})
_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Percentiles of ``value`` per bin of ``key``: bin i covers ``[lower[i], lower[i] + width)``."""

    quantity: str
    value: str
    key: str
    unit: str
    key_unit: str
    width: float
    lower: tuple[float, ...]
    counts: tuple[int, ...]
    p05: tuple[float, ...]
    p25: tuple[float, ...]
    p50: tuple[float, ...]
    p75: tuple[float, ...]
    p95: tuple[float, ...]
    gated: bool = True              # full-throttle samples only (False: no throttle channel, every sample)

    def to_dict(self) -> dict:
        r = lambda xs: [round(float(x), 6) for x in xs]   # noqa: E731 - a local rounding for the JSON
        return {"quantity": self.quantity, "value": self.value, "key": self.key, "unit": self.unit,
                "key_unit": self.key_unit, "width": self.width, "full_throttle_only": self.gated,
                "lower": r(self.lower), "counts": list(self.counts), "p05": r(self.p05), "p25": r(self.p25),
                "p50": r(self.p50), "p75": r(self.p75), "p95": r(self.p95)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Envelope:
        t = lambda k: tuple(float(x) for x in d[k])      # noqa: E731
        return cls(d["quantity"], d["value"], d["key"], d["unit"], d["key_unit"], float(d["width"]), t("lower"),
                   tuple(int(x) for x in d["counts"]), t("p05"), t("p25"), t("p50"), t("p75"), t("p95"),
                   bool(d.get("full_throttle_only", True)))

    def bin_of(self, key_value: float) -> int | None:
        for i, lo in enumerate(self.lower):
            if lo <= key_value < lo + self.width:
                return i
        return None


@dataclass(frozen=True, slots=True)
class RunEnvelopes:
    """Every envelope of one run, its top speed and how much full-throttle time it rests on."""

    model: str
    envelopes: Mapping[str, Envelope]
    top_speed_kmh: float | None
    full_throttle_s: float
    duration_s: float
    settings: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict:
        return {"model": self.model, "top_speed_kmh": None if self.top_speed_kmh is None
                else round(self.top_speed_kmh, 3), "full_throttle_s": round(self.full_throttle_s, 3),
                "duration_s": round(self.duration_s, 3), "settings": dict(self.settings),
                "envelopes": {k: self.envelopes[k].to_dict() for k in QUANTITIES if k in self.envelopes}}

    @classmethod
    def from_dict(cls, d: Mapping) -> RunEnvelopes:
        return cls(d["model"], MappingProxyType({k: Envelope.from_dict(v) for k, v in d["envelopes"].items()}),
                   d.get("top_speed_kmh"), float(d.get("full_throttle_s", 0.0)), float(d.get("duration_s", 0.0)),
                   MappingProxyType(dict(d.get("settings", {}))))


def acceleration(channels: Mapping[str, Channel]) -> Channel | None:
    """``long_accel`` when logged, else derived from ``vehicle_speed`` (g, a difference over +-0.25 s)."""
    accel = channels.get("long_accel")
    if accel is not None and len(accel):
        return accel
    speed = channels.get("vehicle_speed")
    if speed is None or len(speed) < 3:
        return None
    t, v = speed.time, np.asarray(speed.value, dtype=np.float64) / 3.6
    lo = np.clip(np.searchsorted(t, t - 0.25), 0, len(t) - 1)
    hi = np.clip(np.searchsorted(t, t + 0.25, side="right") - 1, 0, len(t) - 1)
    dt = t[hi] - t[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(dt > 0, (v[hi] - v[lo]) / dt / 9.80665, np.nan)
    return Channel("long_accel", "g", t, a, source="derived from vehicle_speed")


def full_throttle(channels: Mapping[str, Channel], time: np.ndarray, pct: float) -> tuple[np.ndarray, bool]:
    throttle = channels.get("throttle")
    if throttle is None or len(throttle) == 0:
        return np.ones(len(time), dtype=bool), False
    with np.errstate(invalid="ignore"):
        return held_at(throttle, time) >= pct, True


def envelope(channels: Mapping[str, Channel], quantity: str, *,
             full_throttle_pct: float = FULL_THROTTLE_PCT) -> Envelope | None:
    """The envelope ``quantity`` (a key of ``QUANTITIES``) of one run, or None when a channel is missing."""
    value_name, key_name, width = QUANTITIES[quantity]
    value = acceleration(channels) if value_name == "long_accel" else channels.get(value_name)
    key = channels.get(key_name)
    if value is None or key is None or len(value) == 0 or len(key) == 0:
        return None
    t = value.time
    k = held_at(key, t)
    v = np.asarray(value.value, dtype=np.float64)
    gate, gated = full_throttle(channels, t, full_throttle_pct)
    ok = gate & np.isfinite(k) & np.isfinite(v) & (k >= 0)
    k, v = k[ok], v[ok]
    if len(v) == 0:
        return Envelope(quantity, value_name, key_name, value.unit, key.unit, width, (), (), (), (), (), (), (),
                        gated)
    bins = np.floor(k / width).astype(np.int64)
    order = np.lexsort((v, bins))
    bins, v = bins[order], v[order]
    starts = np.flatnonzero(np.diff(bins, prepend=bins[0] - 1))
    counts = np.diff(np.append(starts, len(bins)))
    per = []
    for q in _PERCENTILES:            # linear interpolation between order statistics, per bin, vectorised
        pos = starts + (counts - 1) * q / 100.0
        a = np.floor(pos).astype(np.int64)
        b = np.minimum(a + 1, starts + counts - 1)
        per.append(tuple((v[a] + (v[b] - v[a]) * (pos - a)).tolist()))
    lower = tuple((bins[starts] * width).astype(np.float64).tolist())
    return Envelope(quantity, value_name, key_name, value.unit, key.unit, width, lower,
                    tuple(int(c) for c in counts), *per, gated=gated)


def run_envelopes(channels: Mapping[str, Channel], model: str, *, duration_s: float | None = None,
                  full_throttle_pct: float = FULL_THROTTLE_PCT) -> RunEnvelopes:
    """Every envelope of one run (those whose channels are logged), its top speed and full-throttle time."""
    found = {q: e for q in QUANTITIES if (e := envelope(channels, q, full_throttle_pct=full_throttle_pct))}
    speed = channels.get("vehicle_speed")
    top = None
    if speed is not None and len(speed):
        finite = np.asarray(speed.value, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        top = float(np.percentile(finite, 99.9)) if len(finite) else None
    throttle = channels.get("throttle")
    full = 0.0
    if throttle is not None and len(throttle) > 1:
        on = np.asarray(throttle.value[:-1], dtype=np.float64) >= full_throttle_pct
        full = float(np.sum(np.diff(throttle.time)[on]))
    if duration_s is None:
        ends = [float(c.time[-1]) for c in channels.values() if len(c)]
        duration_s = max(ends) if ends else 0.0
    return RunEnvelopes(model, MappingProxyType(found), top, full, float(duration_s),
                        MappingProxyType({"full_throttle_pct": full_throttle_pct}))
