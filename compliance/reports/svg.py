"""A :class:`compliance.reports.plots.Chart` as inline SVG for the HTML steward report: no script, no WebGL, opens in any
browser and prints as vectors. Points are drawn as round-capped zero-length strokes in one path per series, so a
scatter of thousands of samples costs a few bytes per sample."""

from __future__ import annotations

import numpy as np

from ._html import escape as _e
from .plots import RED, Chart, Series, finite_runs, tick_labels

__all__ = ["chart_svg"]

_W, _H = 600.0, 300.0
_LEFT, _RIGHT, _BOTTOM = 60.0, 12.0, 40.0
_ROW = 13.0                 # one legend row; the plot moves down by a row for each extra one


def _path(s: Series, px: np.ndarray, py: np.ndarray) -> str:
    if s.style in ("points", "marks"):
        ok = np.isfinite(px) & np.isfinite(py)
        d = "".join(f"M{a:.1f} {b:.1f}h0" for a, b in zip(px[ok], py[ok], strict=True))
        width = 2.2 if s.style == "points" else 4.0
        opacity = " stroke-opacity='.5'" if s.style == "points" else ""
        return (f"<path d='{d}' stroke='{s.color}' stroke-width='{width}' stroke-linecap='round'{opacity}"
                " fill='none'/>")
    parts = []
    for x, y in finite_runs(px, py, s.style == "step"):
        parts.append("M" + " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True)))
    width = 1.6 if s.color == RED else 1.0
    dash = " stroke-dasharray='6 4'" if s.dashed else ""
    return (f"<path d='{''.join(parts)}' stroke='{s.color}' stroke-width='{width}'{dash} fill='none' "
            "stroke-linejoin='round'/>")


def _legend(chart: Chart) -> tuple[str, int]:
    """The legend above the plot, wrapped onto more rows when it does not fit the width, and its row count."""
    out, x, row = [], 10.0, 0
    for s in chart.series:
        width = 28 + 6.1 * len(s.label)
        if x > 10.0 and x + width - 10 > _W:
            x, row = 10.0, row + 1
        y = 28.0 + _ROW * row
        if s.style in ("points", "marks"):
            out.append(f"<circle cx='{x + 6:.0f}' cy='{y - 3}' r='{2 if s.style == 'points' else 3}' "
                       f"fill='{s.color}'/>")
        else:
            dash = " stroke-dasharray='6 4'" if s.dashed else ""
            out.append(f"<line x1='{x:.0f}' y1='{y - 3}' x2='{x + 14:.0f}' y2='{y - 3}' stroke='{s.color}' "
                       f"stroke-width='1.6'{dash}/>")
        out.append(f"<text x='{x + 18:.0f}' y='{y}'>{_e(s.label)}</text>")
        x += width
    return "".join(out), row + 1


def chart_svg(chart: Chart) -> str:
    """The chart as a ``<figure>`` holding one SVG (and its note as the caption)."""
    legend, rows = _legend(chart)
    top = 40.0 + _ROW * (rows - 1)
    height = _H + _ROW * (rows - 1)
    pw, ph = _W - _LEFT - _RIGHT, _H - 40.0 - _BOTTOM
    (x0, x1), (y0, y1) = chart.x_range, chart.y_range

    def px(v: np.ndarray) -> np.ndarray:
        return (np.asarray(v, dtype=np.float64) - x0) / (x1 - x0) * pw

    def py(v: np.ndarray) -> np.ndarray:
        return ph - (np.asarray(v, dtype=np.float64) - y0) / (y1 - y0) * ph

    grid, labels = [], []
    for t, text in zip(chart.x_ticks, tick_labels(chart.x_ticks), strict=True):
        x = _LEFT + float(px(t))
        grid.append(f"M{x:.1f} {top}V{top + ph}")
        labels.append(f"<text x='{x:.1f}' y='{top + ph + 14}' text-anchor='middle'>{text}</text>")
    for t, text in zip(chart.y_ticks, tick_labels(chart.y_ticks), strict=True):
        y = top + float(py(t))
        grid.append(f"M{_LEFT} {y:.1f}H{_LEFT + pw}")
        labels.append(f"<text x='{_LEFT - 5}' y='{y + 3.5:.1f}' text-anchor='end'>{text}</text>")
    shades = "".join(f"<rect x='{max(0.0, float(px(a))):.1f}' y='0' width='{max(0.8, float(px(b) - px(a))):.1f}' "
                     f"height='{ph}' fill='{RED}' fill-opacity='.15'/>" for a, b in chart.shade)
    body = "".join(_path(s, px(s.x), py(s.y)) for s in chart.series)
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {_W:.0f} {height:.0f}' role='img' "
           f"data-chart='{_e(chart.kind)}' data-rule='{_e(chart.rule)}' font-family='sans-serif' font-size='11'>"
           f"<title>{_e(chart.title)}</title>"
           f"<text x='10' y='13' font-weight='bold' font-size='12.5'>{_e(chart.title)}</text>{legend}"
           f"<path d='{''.join(grid)}' stroke='#e3e3e3' stroke-width='1'/>"
           f"<svg x='{_LEFT}' y='{top}' width='{pw}' height='{ph}' viewBox='0 0 {pw} {ph}' overflow='hidden'>"
           f"{shades}{body}</svg>"
           f"<rect x='{_LEFT}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#888'/>{''.join(labels)}"
           f"<text x='{_LEFT + pw / 2:.0f}' y='{height - 6}' text-anchor='middle'>{_e(chart.x_label)}</text>"
           f"<text transform='translate(13 {top + ph / 2:.0f}) rotate(-90)' text-anchor='middle'>"
           f"{_e(chart.y_label)}</text></svg>")
    note = f"<figcaption>{_e(chart.note)}</figcaption>" if chart.note else ""
    return f"<figure class='chart'>{svg}{note}</figure>"
