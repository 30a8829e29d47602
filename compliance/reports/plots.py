"""Evidence figures, shared by the check report, the steward report and the dashboard.

Each figure is first a renderer-neutral :class:`Chart` (downsampled series, round axis ticks, labels with units);
:func:`to_plotly` turns it into a Plotly figure (SVG ``go.Scatter``, never WebGL), :mod:`compliance.reports.svg`
into inline SVG, :mod:`compliance.reports.steward_pdf` into PDF vector lines.

- ``value_vs_key``: a limited channel against its key (boost or fuel flow against rpm, power against speed; a flat
  limit against engine speed) with the bulletin's limit curve, the limit + tolerance, and each exceedance's
  samples in red. A boost rule judged ambient-corrected is drawn referred to the reference ambient (the logged
  boost minus the logged ambient's offset from it), so a point above the dashed curve was over the limit;
- ``value_over_time``: the channel over the session with the limit + tolerance in force, exceedances shaded;
- ``exceedance_trace``: every sample around one exceedance with the limit in force;
- ``stint_energy_figure``: energy per stint against time with each stint's budget (SPEC §5: a replenished
  budget differs from stint to stint);
- ``refuel_time_chart``: the refuel sensor over the session, each refuelling shaded and its duration against the
  bound (SPEC §5 ``refuel_time``: no limit trace, the rule judges durations).

SPEC §5 rules draw like the §3 limits: a ``min`` limit draws ``limit - tolerance``; a ``when`` gate is in the
chart's note and the samples over the limit while the gate was shut (not judged) are drawn grey.

Downsampling never loses evidence: lines keep each bucket's minimum and maximum, scatter plots one sample per
occupied cell of a fine grid plus the highest and lowest sample of each key column, and both keep every sample
of every exceedance and every sample over the limit + tolerance exactly.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from telemetry.channels import Channel

from ..bop.bulletins import RuleSpec
from ..judge.refuel import refuellings
from ..judge.rules import gate_mask, held_at, limit_curve, limit_series, stint_energies
from ..judge.stint import stint_budgets
from ..judge.verdict import Exceedance

__all__ = ["MAX_POINTS", "Series", "Chart", "nice_ticks", "tick_labels", "minmax_indices", "scatter_indices", "finite_runs",
           "value_vs_key_chart", "value_over_time_chart", "exceedance_chart", "stint_energy_chart",
           "refuel_time_chart", "charts_for_rule", "to_plotly", "value_vs_key", "exceedance_trace", "value_over_time",
           "stint_energy_figure", "figures_for_rule"]

MAX_POINTS = 2_000          # line points per series over a whole session (min/max pairs)
SCATTER_GRID = (200, 100)   # scatter cells (key x value): one drawn sample per occupied cell
BLUE, RED, GREY = "#2c7fb8", "#c0392b", "#7f7f7f"
_LABEL = {"boost_pressure": "boost pressure", "fuel_flow": "fuel flow", "power": "power",
          "engine_speed": "engine speed", "vehicle_speed": "vehicle speed", "throttle": "throttle",
          "gear": "gear", "refuel": "refuel sensor", "long_accel": "longitudinal acceleration",
          "lat_accel": "lateral acceleration"}


@dataclass(frozen=True, slots=True)
class Series:
    """One drawn series: ``style`` is ``line``, ``step`` (held until the next point), ``points`` (small dots)
    or ``marks`` (the exceedance samples, drawn larger)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    style: str = "line"
    color: str = BLUE
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Chart:
    """A figure ready to draw: axis ranges that end on round ticks, labels with units, shaded x spans."""

    kind: str                           # value_vs_key | over_time | exceedance | stint_energy | refuel_time
    rule: str
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_ticks: tuple[float, ...]
    y_ticks: tuple[float, ...]
    shade: tuple[tuple[float, float], ...] = ()
    note: str = ""


# -- axes ------------------------------------------------------------------------------------------------------
def nice_ticks(lo: float, hi: float, target: int = 6) -> tuple[float, float, tuple[float, ...]]:
    """An axis over ``lo..hi`` (padded by 3 %) and its round ticks inside it (1, 2, 2.5 or 5 times a power of
    ten, about ``target`` of them): ``(start, end, ticks)``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        pad = abs(hi) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    pad = (hi - lo) * 0.03
    lo, hi = lo - pad, hi + pad
    mag = 10.0 ** math.floor(math.log10((hi - lo) / target))
    for step in (m * mag * k for k in (1.0, 10.0, 100.0) for m in (1.0, 2.0, 2.5, 5.0)):
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= target + 1:
            break
    return lo, hi, tuple(float(round(i * step, 12)) for i in range(first, last + 1))


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels with as many decimals as the tick step needs (0.2 -> '2.4', 1000 -> '3000', 0.25 -> '0.25')."""
    if len(ticks) < 2:
        return [f"{t:g}" for t in ticks]
    step = abs(ticks[1] - ticks[0])
    decimals = next((d for d in range(10) if abs(round(step, d) - step) <= step * 1e-6), 10)
    return [f"{0.0 if abs(t) < step / 2 else t:.{decimals}f}" for t in ticks]


def _label(channel: str | None, unit: str) -> str:
    name = _LABEL.get(channel or "", channel or "")
    return f"{name} ({unit})" if unit else name


def _finite_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    parts = [a[np.isfinite(a)] for a in arrays if len(a)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return 0.0, 1.0
    return min(float(p.min()) for p in parts), max(float(p.max()) for p in parts)


def _chart(kind: str, rule: str, title: str, x_label: str, y_label: str, series: Sequence[Series], *,
           x_span: tuple[float, float] | None = None, shade: Sequence[tuple[float, float]] = (),
           note: str = "") -> Chart:
    x0, x1 = x_span or _finite_range([s.x for s in series])
    y0, y1 = _finite_range([s.y for s in series])
    xs, xe, xt = nice_ticks(x0, x1, 7)
    ys, ye, yt = nice_ticks(y0, y1, 6)
    return Chart(kind, rule, title, x_label, y_label, tuple(series), (xs, xe), (ys, ye), xt, yt, tuple(shade), note)


# -- downsampling ------------------------------------------------------------------------------------------
def minmax_indices(values: np.ndarray, max_points: int = MAX_POINTS, keep: np.ndarray | None = None) -> np.ndarray:
    """Sample indices to draw a line: each bucket's minimum and maximum (so every peak survives) and every
    index in ``keep`` (exact), ascending."""
    n = len(values)
    if n <= max_points:
        idx = np.arange(n)
    else:
        bucket = np.arange(n) * max(1, max_points // 2) // n
        nan = ~np.isfinite(values)
        lowest = np.lexsort((np.where(nan, np.inf, values), bucket))       # per bucket ascending, gaps last
        highest = np.lexsort((np.where(nan, -np.inf, values), bucket))     # per bucket ascending, gaps first
        first = np.flatnonzero(np.diff(bucket, prepend=-1))
        last = np.append(first[1:] - 1, n - 1)
        idx = np.unique(np.concatenate([lowest[first], highest[last]]))
    if keep is not None and len(keep):
        idx = np.union1d(idx, keep)
    return idx.astype(np.int64)


def scatter_indices(x: np.ndarray, y: np.ndarray, keep: np.ndarray | None = None,
                    grid: tuple[int, int] = SCATTER_GRID) -> np.ndarray:
    """Sample indices to draw a scatter: the first sample of each occupied grid cell, the highest and lowest
    sample of each key column, and every index in ``keep`` (exact), ascending."""
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) == 0:
        return ok if keep is None else np.union1d(ok, keep).astype(np.int64)
    xo, yo = x[ok], y[ok]
    gx, gy = grid
    xi = _cell(xo, gx)
    yi = _cell(yo, gy)
    _, first = np.unique(xi * gy + yi, return_index=True)
    by_high = np.lexsort((-yo, xi))          # per column, the highest value first
    by_low = np.lexsort((yo, xi))
    _, top = np.unique(xi[by_high], return_index=True)
    _, bottom = np.unique(xi[by_low], return_index=True)
    idx = np.unique(np.concatenate([ok[first], ok[by_high[top]], ok[by_low[bottom]]]))
    if keep is not None and len(keep):
        idx = np.union1d(idx, keep)
    return idx.astype(np.int64)


def _cell(v: np.ndarray, cells: int) -> np.ndarray:
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return np.zeros(len(v), dtype=np.int64)
    return np.minimum(((v - lo) / (hi - lo) * cells).astype(np.int64), cells - 1)


def finite_runs(x: np.ndarray, y: np.ndarray, step: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A series as the stretches a renderer draws as one line: NaN samples are gaps; with ``step`` each value
    is held until the next x (horizontal, then vertical)."""
    ok = np.isfinite(x) & np.isfinite(y)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        xs, ys = x[a:b], y[a:b]
        if step and len(xs) > 1:
            xs, ys = np.repeat(xs, 2)[1:], np.repeat(ys, 2)[:-1]
        yield xs, ys


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


def _gaps(time: np.ndarray) -> np.ndarray:
    """Indices after which the log has a gap (more than 10 median sample intervals without a sample)."""
    if len(time) < 3:
        return np.empty(0, dtype=np.int64)
    dt = np.diff(time)
    return np.flatnonzero(dt > 10.0 * float(np.median(dt)))


def _line(time: np.ndarray, values: np.ndarray, idx: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``time[idx], values[idx]`` with a NaN after each gap, so a line is not drawn across missing data
    (``idx`` must hold both ends of each gap)."""
    t, v = time[idx].astype(np.float64), values[idx].astype(np.float64)
    cut = np.flatnonzero(np.isin(idx[:-1], gaps) & (np.diff(idx) == 1)) + 1
    return np.insert(t, cut, np.nan), np.insert(v, cut, np.nan)


def _over(spec: RuleSpec, value: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Samples past the limit and its tolerance (above for a ``max`` limit, below for a ``min`` one)."""
    with np.errstate(invalid="ignore"):
        if spec.direction == "min":
            return value < limit - spec.tolerance
        return value > limit + spec.tolerance


def _margin(spec: RuleSpec) -> tuple[float, str]:
    """The signed tolerance the threshold is drawn at and its label: ``limit + tolerance`` for a maximum,
    ``limit - tolerance`` for a minimum."""
    if spec.direction == "min":
        return -spec.tolerance, "limit - tolerance"
    return spec.tolerance, "limit + tolerance"


def _gate_note(spec: RuleSpec) -> str:
    return ("judged only while " + " and ".join(c.text() for c in spec.when)
            + "; grey: past the limit while the gate was shut (not judged)") if spec.when else ""


def _shut(spec: RuleSpec, channels: Mapping[str, Channel], time: np.ndarray) -> np.ndarray:
    """Samples the rule's ``when`` gate did not judge (all False without a gate)."""
    mask = gate_mask(spec, channels, time)
    return np.zeros(len(time), dtype=bool) if mask is None else ~mask


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


# -- charts --------------------------------------------------------------------------------------------------
def _shown_value(spec: RuleSpec, channels: Mapping[str, Channel], reference_ambient_bar: float | None
                 ) -> tuple[np.ndarray, str, str]:
    """The limited channel as the value-vs-key chart shows it (referred to the reference ambient when the rule
    corrects for ambient), its axis label and a note saying how."""
    value = channels[spec.channel]
    ambient = channels.get("ambient_pressure")
    if spec.ambient_correction and ambient is not None and len(ambient) and reference_ambient_bar is not None:
        offset = held_at(ambient, value.time, backfill=True) - reference_ambient_bar
        return (value.value - offset, f"{_label(spec.channel, spec.unit)} at {reference_ambient_bar:g} bar ambient",
                f"logged {spec.channel} minus (logged ambient - {reference_ambient_bar:g} bar), the correction the "
                "rule applies: a point above the dashed curve was over the limit + tolerance")
    return value.value, _label(spec.channel, spec.unit), ""


def value_vs_key_chart(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance] = (),
                       *, reference_ambient_bar: float | None = None) -> Chart:
    """The limited channel against its key (engine speed for a flat limit) with the bulletin's curve; a
    ``level_pct`` power rule against engine speed with the declared curve times each level."""
    if spec.declared is not None:
        return _declared_chart(spec, channels, exceedances)
    value = channels[spec.channel]
    key_name = spec.key or "engine_speed"
    key_channel = channels[key_name]
    key = held_at(key_channel, value.time)
    shown, y_label, note = _shown_value(spec, channels, reference_ambient_bar)
    limit, _ = limit_series(spec, channels, value.time, reference_ambient_bar)
    exc = _exceedance_mask(value.time, exceedances)
    over = _over(spec, value.value, limit)
    shut = over & _shut(spec, channels, value.time) & ~exc
    idx = scatter_indices(key, shown, np.flatnonzero(exc | over))
    normal, bad, grey = idx[~exc[idx] & ~shut[idx]], idx[exc[idx]], idx[shut[idx]]
    series = [Series(spec.channel, key[normal], shown[normal], "points", BLUE)]
    if len(grey):
        series.append(Series("gate shut, not judged", key[grey], shown[grey], "marks", GREY))
    if len(bad):
        series.append(Series("exceedance samples", key[bad], shown[bad], "marks", RED))
    finite = key[np.isfinite(key)]
    points = list(spec.key_points) or [float(finite.min()) if len(finite) else 0.0,
                                       float(finite.max()) if len(finite) else 1.0]
    lo = min(points[0], float(finite.min())) if len(finite) else points[0]
    hi = max(points[-1], float(finite.max())) if len(finite) else points[-1]
    grid = np.unique(np.concatenate(([lo, hi], points, np.linspace(lo, hi, 60) if spec.interpolation != "step"
                                     else [])))
    curve = limit_curve(spec, grid)
    shape = "step" if spec.interpolation == "step" and spec.key_points else "line"
    series.append(Series("bulletin limit", grid, curve, shape, RED))
    margin, margin_label = _margin(spec)
    if spec.tolerance and np.isfinite(curve).any():
        series.append(Series(f"{margin_label} ({spec.tolerance:g} {spec.unit})", grid, curve + margin,
                             shape, RED, dashed=True))
    against = spec.key_name or "engine speed (flat limit)"
    return _chart("value_vs_key", spec.rule, f"{spec.rule}: {spec.channel} against {against}",
                  _label(key_name, key_channel.unit or ("rpm" if key_name == "engine_speed" else "")), y_label,
                  series, x_span=(lo, hi), note=_join(note, _gate_note(spec)))


def _declared_chart(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance]) -> Chart:
    """Power against engine speed with the declared (homologated) curve x each ``level_pct`` of the rule (one per
    speed band when the level is keyed on speed), exceedance samples red."""
    assert spec.declared is not None
    value, rpm_channel = channels[spec.channel], channels["engine_speed"]
    rpm = held_at(rpm_channel, value.time)
    limit, _ = limit_series(spec, channels, value.time)
    exc = _exceedance_mask(value.time, exceedances)
    over = _over(spec, value.value, limit)
    shut = over & _shut(spec, channels, value.time) & ~exc
    idx = scatter_indices(rpm, value.value, np.flatnonzero(exc | over))
    normal, bad, grey = idx[~exc[idx] & ~shut[idx]], idx[exc[idx]], idx[shut[idx]]
    series = [Series(spec.channel, rpm[normal], value.value[normal], "points", BLUE)]
    if len(grey):
        series.append(Series("gate shut, not judged", rpm[grey], value.value[grey], "marks", GREY))
    if len(bad):
        series.append(Series("exceedance samples", rpm[bad], value.value[bad], "marks", RED))
    finite = rpm[np.isfinite(rpm)]
    lo = min(spec.declared.rpm[0], float(finite.min())) if len(finite) else spec.declared.rpm[0]
    hi = max(spec.declared.rpm[-1], float(finite.max())) if len(finite) else spec.declared.rpm[-1]
    grid = np.unique(np.concatenate(([lo, hi], spec.declared.rpm, np.linspace(lo, hi, 60))))
    declared = np.interp(grid, spec.declared.rpm, spec.declared.kw)
    series.append(Series("declared power", grid, declared, "line", GREY, dashed=True))
    points = list(spec.key_points)
    for i, level in enumerate(spec.limits):
        band = ""
        if points:
            upper = f"-{points[i + 1]:g}" if i + 1 < len(points) else "+"
            band = f" ({spec.key_name} {points[i]:g}{upper})"
        series.append(Series(f"declared x {level:g} %{band}", grid, declared * level / 100.0, "line", RED))
        if spec.tolerance:
            series.append(Series(f"+ tolerance ({spec.tolerance:g} {spec.unit})", grid,
                                 declared * level / 100.0 + spec.tolerance, "line", RED, dashed=True))
    return _chart("value_vs_key", spec.rule, f"{spec.rule}: {spec.channel} against engine speed, share of the "
                  "declared curve", _label("engine_speed", rpm_channel.unit or "rpm"), _label(spec.channel, spec.unit),
                  series, x_span=(lo, hi), note=_gate_note(spec))


def value_over_time_chart(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance] = (),
                          *, reference_ambient_bar: float | None = None) -> Chart:
    """The limited channel over the whole session with the limit + tolerance in force, exceedances shaded."""
    value = channels[spec.channel]
    limit, _ = limit_series(spec, channels, value.time, reference_ambient_bar)
    exc = _exceedance_mask(value.time, exceedances)
    gaps = _gaps(value.time)
    ends = np.concatenate([gaps, gaps + 1])
    idx = minmax_indices(value.value, MAX_POINTS, np.union1d(np.flatnonzero(exc | _over(spec, value.value, limit)),
                                                            ends))
    margin, margin_label = _margin(spec)
    threshold = limit + margin
    lidx = minmax_indices(threshold, MAX_POINTS, ends)
    series = [Series(spec.channel, *_line(value.time, value.value, idx, gaps), "line", BLUE),
              Series(margin_label, *_line(value.time, threshold, lidx, gaps), "line", RED, dashed=True)]
    shut = _over(spec, value.value, limit) & _shut(spec, channels, value.time) & ~exc
    if shut.any():
        series.append(Series("gate shut, not judged", value.time[shut], value.value[shut], "marks",
                             GREY))
    if exc.any():
        series.append(Series("exceedance samples", value.time[exc], value.value[exc], "marks", RED))
    return _chart("over_time", spec.rule, f"{spec.rule}: {spec.channel} over the session", "session time (s)",
                  _label(spec.channel, spec.unit), series, shade=[(e.start_s, e.end_s) for e in exceedances],
                  note=_gate_note(spec))


def exceedance_chart(spec: RuleSpec, channels: Mapping[str, Channel], exceedance: Exceedance, *,
                     window_s: float = 2.0, reference_ambient_bar: float | None = None) -> Chart:
    """Every sample around one exceedance, with the limit in force and the exceedance shaded."""
    value = channels[spec.channel]
    a = np.searchsorted(value.time, exceedance.start_s - window_s, side="left")
    b = np.searchsorted(value.time, exceedance.end_s + window_s, side="right")
    t, v = value.time[a:b], value.value[a:b]
    limit, _ = limit_series(spec, channels, t, reference_ambient_bar)
    idx, gaps = np.arange(len(t)), _gaps(t)
    series = [Series(spec.channel, *_line(t, v, idx, gaps), "line", BLUE),
              Series("limit", *_line(t, limit, idx, gaps), "step", RED)]
    margin, margin_label = _margin(spec)
    if spec.tolerance:
        series.append(Series(margin_label, *_line(t, limit + margin, idx, gaps), "step", RED, dashed=True))
    lap = f", lap {exceedance.lap}" if exceedance.lap is not None else ""
    title = (f"{spec.rule} exceedance {exceedance.start_s:.3f}-{exceedance.end_s:.3f} s{lap}: peak {exceedance.peak:.4g}, "
             f"limit {exceedance.limit:.4g}, excess {exceedance.excess:.3g} {exceedance.unit}")
    return _chart("exceedance", spec.rule, title, "session time (s)", _label(spec.channel, spec.unit), series,
                  x_span=(exceedance.start_s - window_s, exceedance.end_s + window_s),
                  shade=[(exceedance.start_s, exceedance.end_s)])


def stint_energy_chart(spec: RuleSpec, channels: Mapping[str, Channel],
                       exceedances: Sequence[Exceedance] = ()) -> Chart:
    """Energy of each stint (MJ) over time, reset at each refuel, with each stint's budget: ``max_mj``, or with
    ``replenish_mj_s`` (SPEC §5) the budget the refuelling before the stint restored."""
    power = channels[spec.channel]
    refuel = channels.get("refuel")
    energies = stint_energies(power, refuel)
    energy = energies[2]
    t = power.time
    gaps = _gaps(t)
    idx = minmax_indices(energy, MAX_POINTS, np.concatenate([gaps, gaps + 1]))
    series = [Series("stint energy", *_line(t, energy, idx, gaps), "line", BLUE)]
    stints = [s for _, _, s in stint_budgets(spec, power, refuel, energies)] if len(t) else []
    title = "stint_energy: energy per stint (reset by refuel)"
    if spec.replenish_mj_s is not None and stints:
        bx = np.concatenate([[s.start_s, s.end_s, np.nan] for s in stints])
        by = np.concatenate([[s.budget_mj, s.budget_mj, np.nan] for s in stints])
        series.append(Series(f"stint budget (max {spec.limits[0]:g} MJ, replenished {spec.replenish_mj_s:g} MJ/s)",
                             bx, by, "line", RED))
        if spec.tolerance:
            series.append(Series("budget + tolerance", bx, by + spec.tolerance, "line", RED, dashed=True))
        title = "stint_energy: energy per stint against its replenished budget"
    else:
        span = np.array([t[0], t[-1]]) if len(t) else np.array([0.0, 1.0])
        series.append(Series(f"max {spec.limits[0]:g} MJ", span, np.full(2, spec.limits[0]), "line", RED))
        if spec.tolerance:
            series.append(Series("limit + tolerance", span, np.full(2, spec.limits[0] + spec.tolerance), "line",
                                 RED, dashed=True))
    note = "; ".join(f"stint {i + 1}: {s.used_mj:.4g} of {s.budget_mj:.4g} MJ" for i, s in enumerate(stints))
    return _chart("stint_energy", spec.rule, title, "session time (s)", "energy (MJ)", series,
                  shade=[(e.start_s, e.end_s) for e in exceedances], note=note)


def refuel_time_chart(spec: RuleSpec, channels: Mapping[str, Channel],
                      exceedances: Sequence[Exceedance] = ()) -> Chart:
    """The refuel sensor (0/1) over the session: every refuelling is listed with its duration in the note, the
    ones outside the bounds (the exceedances) shaded. The rule judges durations, so there is no limit line."""
    refuel = channels[spec.channel]
    t, v = refuel.time, refuel.value
    gaps = _gaps(t)
    runs = refuellings(refuel)
    edges = np.searchsorted(t, [x for a, b in runs for x in (a, b if b is not None else a)])
    idx = minmax_indices(v, MAX_POINTS, np.unique(np.concatenate([gaps, gaps + 1, edges, np.maximum(edges - 1, 0)]
                                                                 ).astype(np.int64)))
    idx = idx[idx < len(t)]
    series = [Series("refuel sensor", *_line(t, v, idx, gaps), "step", BLUE)]
    bad = {(round(e.start_s, 6)) for e in exceedances}
    words = []
    for i, (a, b) in enumerate(runs):
        if b is None:
            words.append(f"refuelling {i + 1} at {a:.1f} s: still running at the end (not judged)")
        else:
            flag = " OUTSIDE THE BOUND" if round(a, 6) in bad else ""
            words.append(f"refuelling {i + 1} at {a:.1f} s: {b - a:.2f} s{flag}")
    bound = spec.describe_limit()
    tol = f", tolerance {spec.tolerance:g} s" if spec.tolerance else ""
    return _chart("refuel_time", spec.rule, f"refuel_time: refuellings over the session ({bound}{tol})",
                  "session time (s)", "refuel sensor (0/1)", series,
                  shade=[(e.start_s, e.end_s) for e in exceedances],
                  note="; ".join(words) or "no refuelling in the log")


def charts_for_rule(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance], *,
                    reference_ambient_bar: float | None = None, max_traces: int = 12) -> list[Chart]:
    """The value-vs-key chart and the session chart of one rule, then a close-up of each of its first
    ``max_traces`` exceedances ([] when a channel it needs is missing). Any limit kind (boost, fuel_flow, power,
    rev_limit, throttle, ``limit.<name>``) draws this way; stint energy and refuelling time have a chart each."""
    if any(c not in channels or len(channels[c]) == 0 for c in spec.needs):
        return []
    mine = [e for e in exceedances if e.rule == spec.rule]
    if spec.rule_kind == "stint_energy":
        return [stint_energy_chart(spec, channels, mine)]
    if spec.rule_kind == "refuel_time":
        return [refuel_time_chart(spec, channels, mine)]
    ref = reference_ambient_bar
    charts = []
    if spec.key or (len(channels.get("engine_speed", ())) and spec.channel != "engine_speed"):
        charts.append(value_vs_key_chart(spec, channels, mine, reference_ambient_bar=ref))
    charts.append(value_over_time_chart(spec, channels, mine, reference_ambient_bar=ref))
    charts += [exceedance_chart(spec, channels, e, reference_ambient_bar=ref) for e in mine[:max_traces]]
    return charts


# -- Plotly ------------------------------------------------------------------------------------------------------
def to_plotly(chart: Chart) -> go.Figure:
    """The chart as a Plotly figure (SVG traces only, the same round ticks)."""
    fig = go.Figure()
    for s in chart.series:
        line = dict(color=s.color, width=1 if s.style == "line" and s.color == BLUE else 2,
                    dash="dash" if s.dashed else None, shape="hv" if s.style == "step" else "linear")
        if s.style in ("points", "marks"):
            fig.add_trace(go.Scatter(x=s.x, y=s.y, mode="markers", name=s.label,
                                     marker=dict(size=3 if s.style == "points" else 5, color=s.color,
                                                 opacity=0.45 if s.style == "points" else 1.0)))
        else:
            fig.add_trace(go.Scatter(x=s.x, y=s.y, mode="lines", name=s.label, line=line))
    for a, b in chart.shade:
        fig.add_vrect(x0=a, x1=max(b, a + 1e-3), fillcolor=RED, opacity=0.15, line_width=0, layer="below")
    labels = dict(x=tick_labels(chart.x_ticks), y=tick_labels(chart.y_ticks))
    note = textwrap.wrap(chart.note, 130)          # long notes (a gate, stint budgets) on several short lines
    fig.update_layout(title=chart.title + "".join(f"<br><sup>{line}</sup>" for line in note),
                      template="plotly_white", height=420 + 14 * max(0, len(note) - 1),
                      legend=dict(orientation="h", y=-0.2), margin=dict(l=60, r=20, t=60 + 14 * len(note), b=60))
    fig.update_xaxes(title=chart.x_label, range=list(chart.x_range), tickvals=list(chart.x_ticks),
                     ticktext=labels["x"])
    fig.update_yaxes(title=chart.y_label, range=list(chart.y_range), tickvals=list(chart.y_ticks),
                     ticktext=labels["y"])
    return fig


def value_vs_key(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance] = (),
                 *, reference_ambient_bar: float | None = None) -> go.Figure:
    return to_plotly(value_vs_key_chart(spec, channels, exceedances, reference_ambient_bar=reference_ambient_bar))


def exceedance_trace(spec: RuleSpec, channels: Mapping[str, Channel], exceedance: Exceedance, *,
                     window_s: float = 2.0, reference_ambient_bar: float | None = None) -> go.Figure:
    return to_plotly(exceedance_chart(spec, channels, exceedance, window_s=window_s,
                                      reference_ambient_bar=reference_ambient_bar))


def value_over_time(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance] = (),
                    *, reference_ambient_bar: float | None = None) -> go.Figure:
    return to_plotly(value_over_time_chart(spec, channels, exceedances, reference_ambient_bar=reference_ambient_bar))


def stint_energy_figure(spec: RuleSpec, channels: Mapping[str, Channel]) -> go.Figure:
    return to_plotly(stint_energy_chart(spec, channels))


def figures_for_rule(spec: RuleSpec, channels: Mapping[str, Channel], exceedances: Sequence[Exceedance], *,
                     reference_ambient_bar: float | None = None, max_traces: int = 12) -> list[go.Figure]:
    """:func:`charts_for_rule` as Plotly figures."""
    return [to_plotly(c) for c in charts_for_rule(spec, channels, exceedances, max_traces=max_traces,
                                                  reference_ambient_bar=reference_ambient_bar)]
