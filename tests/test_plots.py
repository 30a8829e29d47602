"""``compliance.reports.plots``: round axis ticks, downsampling that never loses a peak or a kept sample, and Plotly
figures (for the dashboard and ``check --report``) drawn with SVG traces only, never WebGL."""

from __future__ import annotations

import numpy as np
import pytest

from compliance.bop.bulletins import RuleSpec
from compliance.judge.verdict import Exceedance
from compliance.reports import plots
from telemetry.channels import Channel

BOOST = RuleSpec("boost", "boost_pressure", "bar", (2.5, 2.4), key="engine_speed", key_name="rpm",
                 key_points=(4000.0, 7000.0), tolerance=0.02, min_duration_s=0.1, max_exceedances=1)


def _step_of(ticks):
    steps = set(np.round(np.diff(ticks), 9))
    assert len(steps) == 1, ticks
    return steps.pop()


@pytest.mark.parametrize("lo, hi", [(0.8649, 2.791), (0.0, 240.0), (2950.0, 7400.0), (84.0, 112.0),
                                    (-31.5, 390.2), (2.401, 2.4012), (5.0, 5.0)])
def test_ticks_are_round_steps_inside_the_axis(lo, hi):
    start, end, ticks = plots.nice_ticks(lo, hi)
    assert start <= lo and end >= hi and 3 <= len(ticks) <= 7
    assert all(start <= t <= end for t in ticks)
    step = _step_of(ticks)
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert any(mantissa == pytest.approx(m) for m in (1, 2, 2.5, 5))
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in ticks)


def test_the_odd_ticks_of_the_old_report_become_round_labels():
    _, _, ticks = plots.nice_ticks(0.8649, 2.791)
    assert plots.tick_labels(ticks) == ["1.0", "1.5", "2.0", "2.5"]
    assert plots.tick_labels(plots.nice_ticks(2950, 7400)[2]) == ["3000", "4000", "5000", "6000", "7000"]


def test_minmax_keeps_each_buckets_extremes_and_every_kept_index():
    rng = np.random.default_rng(3)
    values = rng.normal(size=200_000)
    values[123_457] = 50.0
    values[7] = np.nan
    keep = np.arange(90_000, 90_040)
    idx = plots.minmax_indices(values, 2000, keep)
    assert len(idx) <= 2000 + len(keep) and np.all(np.diff(idx) > 0)
    assert 123_457 in idx and np.isin(keep, idx).all()
    assert np.nanmin(values[idx]) == np.nanmin(values)


def test_scatter_keeps_the_top_of_every_key_column_and_every_kept_index():
    rng = np.random.default_rng(4)
    x = rng.uniform(3000, 7000, 300_000)
    y = rng.normal(2.0, 0.2, 300_000)
    keep = np.flatnonzero(y > 2.7)
    idx = plots.scatter_indices(x, y, keep, grid=(200, 100))
    assert len(idx) < 25_000 and np.isin(keep, idx).all()
    column = np.minimum(((x - x.min()) / (x.max() - x.min()) * 200).astype(int), 199)
    top = np.full(200, -np.inf)
    np.maximum.at(top, column, y)
    drawn = np.full(200, -np.inf)
    np.maximum.at(drawn, column[idx], y[idx])
    assert np.array_equal(top, drawn)


def _channels(n=50_000):
    t = np.arange(n) * 0.01
    rpm = 4000 + 3000 * (0.5 + 0.5 * np.sin(t / 7))
    boost = np.interp(rpm, BOOST.key_points, BOOST.limits) - 0.05 + 0.01 * np.sin(t * 3)
    boost[20_000:20_030] += 0.2                       # one exceedance of 0.29 s
    boost[30_000:30_002] += 0.2                       # over the limit, too short to count
    return {"boost_pressure": Channel("boost_pressure", "bar", t, boost),
            "engine_speed": Channel("engine_speed", "rpm", t, rpm)}, t


def test_value_vs_key_draws_the_curve_and_keeps_every_sample_over_the_limit():
    channels, t = _channels()
    e = Exceedance("boost", t[20_000], t[20_029], t[20_029] - t[20_000], 2.6, 2.45, 0.15, "bar")
    chart = plots.value_vs_key_chart(BOOST, channels, [e])
    by_label = {s.label: s for s in chart.series}
    assert len(by_label["exceedance samples"].x) == 30
    assert sum(len(s.x) for s in chart.series if s.style == "points") < 20_000
    points = by_label["boost_pressure"]
    assert np.isin(channels["boost_pressure"].value[30_000:30_002], points.y).all()
    curve = by_label["bulletin limit"]
    assert curve.y[np.searchsorted(curve.x, 4000.0)] == pytest.approx(2.5)
    assert chart.x_label == "engine speed (rpm)" and chart.y_label == "boost pressure (bar)"


def test_plotly_figures_use_svg_scatter_traces_only():
    channels, t = _channels()
    e = Exceedance("boost", t[20_000], t[20_029], t[20_029] - t[20_000], 2.6, 2.45, 0.15, "bar")
    figures = plots.figures_for_rule(BOOST, channels, [e])
    assert [f.layout.title.text.split(":")[0] for f in figures] == ["boost", "boost", "boost exceedance 200.000-200.290 s"]
    for fig in figures:
        assert {trace.type for trace in fig.data} == {"scatter"}
        assert sum(len(trace.x) for trace in fig.data) < 25_000
