"""Plotly figures of the evidence, shared by the check report, the steward report and the dashboard.

- ``value_vs_key``: a limited channel against its key (boost or fuel flow against rpm, power against rpm or
  speed) with the bulletin limit curve, the limit + tolerance, and the samples of each exceedance in red;
- ``exceedance_trace``: the channel over time around one exceedance with the limit in force drawn and the
  exceedance shaded;
- ``value_over_time``: a channel with a flat limit (e.g. power capped at max_kw) over the whole session;
- ``stint_energy_figure``: energy per stint against time with the stint limit.

Figures take channels and bulletin rules, never files; large channels are thinned for drawing (every
exceedance sample is kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from telemetry.channels import Channel

from .bulletins import RuleSpec
from .rules import held_at, limit_curve, limit_series, stint_energies
from .verdict import Exceedance

__all__ = ["MAX_POINTS", "value_vs_key", "exceedance_trace", "value_over_time", "stint_energy_figure",
           "figures_for_rule"]

MAX_POINTS = 20_000
_LABEL = {"boost_pressure": "boost pressure (bar abs)", "fuel_flow": "fuel flow (kg/h)", "power": "power (kW)",
          "engine_speed": "engine speed (rpm)", "vehicle_speed": "vehicle speed (km/h)"}
_LIMIT = dict(color="#c0392b", width=2)
_TOLERANCE = dict(color="#c0392b", width=1, dash="dash")


def _layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white", height=420,
                      legend=dict(orientation="h", y=-0.2), margin=dict(l=60, r=20, t=50, b=60))
    return fig


def _thin(n: int, keep: np.ndarray | None = None) -> np.ndarray:
    """Indices to draw: every ``step``-th sample plus every index in ``keep``."""
    step = max(1, -(-n // MAX_POINTS))
    idx = np.arange(0, n, step)
    if keep is not None and len(keep):
        idx = np.union1d(idx, keep)
    return idx


def _exceedance_mask(time: np.ndarray, exceedances: Sequence[Exceedance]) -> np.ndarray:
    mask = np.zeros(len(time), dtype=bool)
    if exceedances:
        starts = np.searchsorted(time, [e.start_s for e in exceedances], side="left")
        ends = np.searchsorted(time, [e.end_s for e in exceedances], side="right")
        delta = np.zeros(len(time) + 1, dtype=np.int64)
        np.add.at(delta, starts, 1)
        np.add.at(delta, ends, -1)
        mask = np.cumsum(delta[:-1]) > 0
    return mask


def value_vs_key(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance] = (),
                 *, reference_ambient_bar: float | None = None) -> go.Figure:
    """The limited channel against its key with the bulletin limit curve (at reference ambient)."""
    value = channels[spec.channel]
    key = held_at(channels[spec.key], value.time)
    over = _exceedance_mask(value.time, exceedances)
    idx = _thin(len(value), np.flatnonzero(over))
    fig = go.Figure()
    normal = idx[~over[idx]]
    fig.add_trace(go.Scattergl(x=key[normal], y=value.value[normal], mode="markers", name=spec.channel,
                               marker=dict(size=3, color="#2c7fb8", opacity=0.35)))
    bad = idx[over[idx]]
    if len(bad):
        fig.add_trace(go.Scattergl(x=key[bad], y=value.value[bad], mode="markers", name="exceedances",
                                   marker=dict(size=5, color="#e31a1c")))
    lo = min(float(np.nanmin(key)) if np.isfinite(key).any() else spec.key_points[0], spec.key_points[0])
    hi = max(float(np.nanmax(key)) if np.isfinite(key).any() else spec.key_points[-1], spec.key_points[-1])
    grid = np.unique(np.concatenate((np.linspace(lo, hi, 400), spec.key_points)))
    curve = limit_curve(spec, grid)
    shape = "hv" if spec.interpolation == "step" else "linear"
    fig.add_trace(go.Scatter(x=grid, y=curve, mode="lines", name="limit", line=dict(**_LIMIT, shape=shape)))
    fig.add_trace(go.Scatter(x=grid, y=curve + spec.tolerance, mode="lines", name="limit + tolerance",
                             line=dict(**_TOLERANCE, shape=shape)))
    note = ""
    if spec.ambient_correction and "ambient_pressure" in channels and reference_ambient_bar is not None:
        note = f" (curve at reference ambient {reference_ambient_bar:g} bar; judged ambient-corrected)"
    return _layout(fig, f"{spec.rule}: {spec.channel} against {spec.key_name}{note}",
                   _LABEL.get(spec.key or "", spec.key or ""), _LABEL.get(spec.channel, spec.channel))


def exceedance_trace(spec: RuleSpec, channels: Mapping[str, Channel], exceedance: Exceedance, *,
                     window_s: float = 2.0, reference_ambient_bar: float | None = None) -> go.Figure:
    """The channel around one exceedance, with the limit in force and the exceedance shaded."""
    value = channels[spec.channel]
    a = np.searchsorted(value.time, exceedance.start_s - window_s, side="left")
    b = np.searchsorted(value.time, exceedance.end_s + window_s, side="right")
    t, v = value.time[a:b], value.value[a:b]
    limit, _ = limit_series(spec, channels, t, reference_ambient_bar)
    fig = go.Figure()
    fig.add_vrect(x0=exceedance.start_s, x1=exceedance.end_s, fillcolor="#e31a1c", opacity=0.15, line_width=0)
    fig.add_trace(go.Scatter(x=t, y=v, mode="lines+markers", name=spec.channel, marker=dict(size=3),
                             line=dict(color="#2c7fb8")))
    fig.add_trace(go.Scatter(x=t, y=limit, mode="lines", name="limit", line=dict(**_LIMIT, shape="hv")))
    fig.add_trace(go.Scatter(x=t, y=limit + spec.tolerance, mode="lines", name="limit + tolerance",
                             line=dict(**_TOLERANCE, shape="hv")))
    lap = f", lap {exceedance.lap}" if exceedance.lap is not None else ""
    title = (f"{spec.rule} exceedance {exceedance.start_s:.3f}-{exceedance.end_s:.3f} s{lap}: peak "
             f"{exceedance.peak:.4g} {exceedance.unit}, limit {exceedance.limit:.4g}, excess "
             f"{exceedance.excess:.3g}")
    return _layout(fig, title, "session time (s)", _LABEL.get(spec.channel, spec.channel))


def value_over_time(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance] = (),
                    *, reference_ambient_bar: float | None = None) -> go.Figure:
    """The limited channel over the whole session with its limit (for flat limits such as max_kw)."""
    value = channels[spec.channel]
    over = _exceedance_mask(value.time, exceedances)
    idx = _thin(len(value), np.flatnonzero(over))
    limit, _ = limit_series(spec, channels, value.time[idx], reference_ambient_bar)
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=value.time[idx], y=value.value[idx], mode="lines", name=spec.channel,
                               line=dict(color="#2c7fb8", width=1)))
    bad = idx[over[idx]]
    if len(bad):
        fig.add_trace(go.Scattergl(x=value.time[bad], y=value.value[bad], mode="markers", name="exceedances",
                                   marker=dict(size=4, color="#e31a1c")))
    fig.add_trace(go.Scattergl(x=value.time[idx], y=limit, mode="lines", name="limit", line=_LIMIT))
    fig.add_trace(go.Scattergl(x=value.time[idx], y=limit + spec.tolerance, mode="lines",
                               name="limit + tolerance", line=_TOLERANCE))
    return _layout(fig, f"{spec.rule}: {spec.channel} over the session", "session time (s)",
                   _LABEL.get(spec.channel, spec.channel))


def stint_energy_figure(spec: RuleSpec, channels: Mapping[str, Channel]) -> go.Figure:
    """Energy of each stint (MJ) over time, reset at each refuel, with the stint limit."""
    power = channels[spec.channel]
    _, _, energy = stint_energies(power, channels.get("refuel"))
    idx = _thin(len(power))
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=power.time[idx], y=energy[idx], mode="lines", name="stint energy",
                               line=dict(color="#2c7fb8")))
    fig.add_hline(y=spec.limits[0], line=_LIMIT, annotation_text=f"max {spec.limits[0]:g} MJ")
    if spec.tolerance:
        fig.add_hline(y=spec.limits[0] + spec.tolerance, line=_TOLERANCE)
    return _layout(fig, "stint_energy: energy per stint (reset by refuel)", "session time (s)", "energy (MJ)")


def figures_for_rule(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance], *,
                     reference_ambient_bar: float | None = None, max_traces: int = 12) -> list[go.Figure]:
    """The overview figure of one rule, then a trace around each of its first ``max_traces`` exceedances."""
    if any(c not in channels or len(channels[c]) == 0 for c in spec.needs):
        return []
    mine = [e for e in exceedances if e.rule == spec.rule]
    if spec.rule == "stint_energy":
        return [stint_energy_figure(spec, channels)]
    if spec.key:
        figs = [value_vs_key(spec, channels, mine, reference_ambient_bar=reference_ambient_bar)]
    else:
        figs = [value_over_time(spec, channels, mine, reference_ambient_bar=reference_ambient_bar)]
    figs += [exceedance_trace(spec, channels, e, reference_ambient_bar=reference_ambient_bar)
             for e in mine[:max_traces]]
    return figs
