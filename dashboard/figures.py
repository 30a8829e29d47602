"""Plotly figures the dashboard draws that :mod:`compliance.reports.plots` does not provide (power curve, fleet
envelope, bulletin curves, the decimated trace with shaded exceedances). No Streamlit import, no data access:
each takes arrays already read through :mod:`compliance.access.queries`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = ["trace_figure", "scatter_with_curve", "power_curve_figure", "envelope_figure", "curves_figure",
           "reference_figure"]

_LIMIT = dict(color="#d62728", width=2, dash="dash")
_SHADE = "rgba(214, 39, 40, 0.18)"
#: a legend right of the plot area, one entry a line (scrolling when long): for figures with one trace per car,
#: whose labels do not fit the one line above the plot that ``_layout`` gives the others
_LEGEND_BESIDE = dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top")


def _layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=340, margin=dict(l=50, r=20, t=40, b=40),
                      legend=dict(orientation="h", y=1.12, x=1, xanchor="right"))
    return fig


def trace_figure(time_s: np.ndarray, value: np.ndarray, *, name: str, unit: str,
                 limit_time: np.ndarray | None = None, limit_value: np.ndarray | None = None,
                 exceedances: Sequence[tuple[float, float]] = (), decimated: bool = False) -> go.Figure:
    """A channel against session time, with the BoP limit (already including the tolerance) and each exceedance
    shaded. ``decimated`` notes in the title that the line is a min/max envelope of the samples."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=time_s, y=value, mode="lines", name=name, line=dict(width=1)))
    if limit_time is not None and limit_value is not None and len(limit_time):
        fig.add_trace(go.Scatter(x=limit_time, y=limit_value, mode="lines", name="limit + tolerance",
                                   line=_LIMIT))
    for start, end in exceedances:
        fig.add_vrect(x0=start, x1=max(end, start + 1e-3), fillcolor=_SHADE, line_width=0, layer="below")
    suffix = " (min/max per bucket; pick a window for every sample)" if decimated else ""
    return _layout(fig, f"{name}{suffix}", "session time [s]", f"{name} [{unit}]")


def scatter_with_curve(x: np.ndarray, y: np.ndarray, *, curve_x: Sequence[float], curve_y: Sequence[float],
                       interpolation: str, tolerance: float, x_name: str, y_name: str, title: str) -> go.Figure:
    """Samples of a limited quantity against its key (boost against rpm) with the bulletin's curve."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name="samples", marker=dict(size=3, opacity=0.4)))
    if len(curve_x):
        shape = "hv" if interpolation == "step" else "linear"
        cx = [min(float(np.nanmin(x)), curve_x[0]) if len(x) else curve_x[0], *curve_x,
              max(float(np.nanmax(x)), curve_x[-1]) if len(x) else curve_x[-1]]
        cy = [curve_y[0], *curve_y, curve_y[-1]]
        fig.add_trace(go.Scatter(x=cx, y=cy, mode="lines", name="bulletin limit", line=dict(color="#d62728",
                                                                                          shape=shape)))
        if tolerance:
            fig.add_trace(go.Scatter(x=cx, y=[v + tolerance for v in cy], mode="lines", name="limit + tolerance",
                                     line=dict(color="#d62728", dash="dot", shape=shape)))
    return _layout(fig, title, x_name, y_name)


def power_curve_figure(rpm_bins: np.ndarray, power_max: np.ndarray, power_p95: np.ndarray,
                       limit_kw: float | None) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rpm_bins, y=power_max, mode="lines+markers", name="max"))
    fig.add_trace(go.Scatter(x=rpm_bins, y=power_p95, mode="lines", name="95th percentile"))
    if limit_kw is not None:
        fig.add_hline(y=limit_kw, line=_LIMIT, annotation_text="limit")
    return _layout(fig, "Power curve", "engine speed [rpm]", "power [kW]")


def envelope_figure(series: Sequence[tuple[str, np.ndarray, np.ndarray]], *, quantity: str, unit: str,
                    curve: tuple[Sequence[float], Sequence[float]] | None = None) -> go.Figure:
    """Per-car upper envelopes (max of ``quantity`` per rpm bin) for one model, with the bulletin curve."""
    fig = go.Figure()
    for label, rpm, top in series:
        fig.add_trace(go.Scatter(x=rpm, y=top, mode="lines", name=label))
    if curve is not None and len(curve[0]):
        fig.add_trace(go.Scatter(x=list(curve[0]), y=list(curve[1]), mode="lines", name="bulletin limit",
                                 line=_LIMIT))
    fig = _layout(fig, f"{quantity}: envelope per car", "engine speed [rpm]", f"{quantity} [{unit}]")
    return fig.update_layout(legend=_LEGEND_BESIDE)


def curves_figure(curves: Sequence[tuple[str, Sequence[float], Sequence[float], str]], *, title: str,
                  x_name: str, y_name: str) -> go.Figure:
    """Bulletin limit curves (one per bulletin version) on one chart."""
    fig = go.Figure()
    for label, xs, ys, interpolation in curves:
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), mode="lines+markers", name=label,
                                 line=dict(shape="hv" if interpolation == "step" else "linear")))
    return _layout(fig, title, x_name, y_name)


def reference_figure(bins: Sequence[dict], *, quantity: str, key_label: str, value_label: str) -> go.Figure:
    """The car's median per bin over the reference's band (issue 17): the band shaded, its median dashed, the
    car's bin medians as markers, red where they lie outside the band."""
    x = [(b["lower"] + b["upper"]) / 2 for b in bins]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[b["band_high"] for b in bins], mode="lines", line=dict(width=0),
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=[b["band_low"] for b in bins], mode="lines", line=dict(width=0),
                             fill="tonexty", fillcolor="rgba(31, 119, 180, 0.18)", name="reference band"))
    fig.add_trace(go.Scatter(x=x, y=[b["ref_p50"] for b in bins], mode="lines", name="reference median",
                             line=dict(color="#1f77b4", dash="dash")))
    colours = ["#d62728" if b["side"] != "inside" else "#2ca02c" for b in bins]
    fig.add_trace(go.Scatter(x=x, y=[b["car_p50"] for b in bins], mode="markers", name="this car (median)",
                             marker=dict(color=colours, size=9)))
    return _layout(fig, f"{quantity}: this car against its model's reference", key_label, value_label)

