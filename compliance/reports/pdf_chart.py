"""A :class:`compliance.reports.plots.Chart` drawn into an fpdf2 page as vector lines (no browser, no image export):
round ticks with grid lines, axis labels with units, a legend above the plot, series clipped to the plot."""

from __future__ import annotations

import numpy as np
from fpdf import FPDF

from .plots import BLUE, Chart, Series, finite_runs, tick_labels

__all__ = ["draw_chart", "latin1"]


def latin1(x: object) -> str:
    """Text the core PDF fonts can print (Latin-1; anything else becomes '?')."""
    text = "" if x is None else str(x)
    return text.encode("latin-1", "replace").decode("latin-1")


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _tint(color: str) -> tuple[int, int, int]:
    """The colour halfway to white: dense sample clouds stay readable."""
    return tuple((c + 255) // 2 for c in _rgb(color))


def _series(pdf: FPDF, s: Series, px: np.ndarray, py: np.ndarray) -> None:
    pdf.set_draw_color(*_rgb(s.color))
    pdf.set_fill_color(*(_tint(s.color) if s.style == "points" else _rgb(s.color)))
    if s.style in ("points", "marks"):
        half = 0.22 if s.style == "points" else 0.5
        ok = np.isfinite(px) & np.isfinite(py)
        for a, b in zip(px[ok].tolist(), py[ok].tolist(), strict=True):
            pdf.rect(a - half, b - half, 2 * half, 2 * half, style="F")
        return
    pdf.set_line_width(0.45 if s.style != "line" or s.dashed or s.color != BLUE else 0.25)
    if s.dashed:
        pdf.set_dash_pattern(dash=1.4, gap=0.9)
    for x, y in finite_runs(px, py, s.style == "step"):
        if len(x) >= 2:
            pdf.polyline(list(zip(x.tolist(), y.tolist(), strict=True)))
    pdf.set_dash_pattern()


def _legend_rows(pdf: FPDF, chart: Chart, w: float) -> list[list]:
    """The legend's series split into rows that fit ``w`` mm."""
    pdf.set_font("helvetica", size=6.5)
    rows: list[list] = [[]]
    used = 0.0
    for s in chart.series:
        width = 9 + pdf.get_string_width(latin1(s.label))
        if rows[-1] and used + width > w:
            rows.append([])
            used = 0.0
        rows[-1].append(s)
        used += width
    return rows


def _legend(pdf: FPDF, rows: list[list], x0: float, y0: float) -> None:
    pdf.set_font("helvetica", size=6.5)
    for k, row in enumerate(rows):
        x, y = x0, y0 + _LEGEND_ROW * k
        for s in row:
            pdf.set_draw_color(*_rgb(s.color))
            pdf.set_fill_color(*_rgb(s.color))
            if s.style in ("points", "marks"):
                r = 0.5 if s.style == "points" else 0.8
                pdf.rect(x + 2.5 - r, y - 1.2 - r, 2 * r, 2 * r, style="F")
            else:
                pdf.set_line_width(0.45)
                if s.dashed:
                    pdf.set_dash_pattern(dash=1.4, gap=0.9)
                pdf.line(x, y - 1.2, x + 5, y - 1.2)
                pdf.set_dash_pattern()
            pdf.text(x + 6.2, y, latin1(s.label))
            x += 9 + pdf.get_string_width(latin1(s.label))


_LEGEND_ROW = 3.0     # mm per legend row; the plot starts lower for each extra row


def draw_chart(pdf: FPDF, chart: Chart, x: float, y: float, w: float, h: float, title: str | None = None) -> None:
    """Draw ``chart`` in the box ``x, y, w, h`` (mm): title, legend, plot, ticks, axis labels, note."""
    pdf.set_font("helvetica", "B", 7.5)
    lines = pdf.multi_cell(w, 3.2, latin1(title or chart.title), dry_run=True, output="LINES")[:2]
    legend = _legend_rows(pdf, chart, w - 13.0)
    head = 5.3 + 3.2 * len(lines) + _LEGEND_ROW * (len(legend) - 1)
    left, top = x + 13.0, y + head
    pw, ph = w - 15.0, h - head - (13.0 if chart.note else 9.5)
    (x0, x1), (y0, y1) = chart.x_range, chart.y_range

    def px(v: np.ndarray) -> np.ndarray:
        return left + (np.asarray(v, dtype=np.float64) - x0) / (x1 - x0) * pw

    def py(v: np.ndarray) -> np.ndarray:
        return top + ph - (np.asarray(v, dtype=np.float64) - y0) / (y1 - y0) * ph

    pdf.set_text_color(0, 0, 0)
    for i, line in enumerate(lines):
        pdf.text(x, y + 2.8 + 3.2 * i, line)
    _legend(pdf, legend, left, top - 1.9 - _LEGEND_ROW * (len(legend) - 1))
    pdf.set_font("helvetica", size=6.5)
    pdf.set_draw_color(225, 225, 225)
    pdf.set_line_width(0.15)
    for t, text in zip(chart.x_ticks, tick_labels(chart.x_ticks), strict=True):
        xv = float(px(t))
        pdf.line(xv, top, xv, top + ph)
        pdf.text(xv - pdf.get_string_width(text) / 2, top + ph + 3.2, text)
    for t, text in zip(chart.y_ticks, tick_labels(chart.y_ticks), strict=True):
        yv = float(py(t))
        pdf.line(left, yv, left + pw, yv)
        pdf.text(left - 1.2 - pdf.get_string_width(text), yv + 1.1, text)
    with pdf.rect_clip(left, top, pw, ph):
        pdf.set_fill_color(248, 215, 211)
        for a, b in chart.shade:
            xa, xb = float(px(a)), float(px(b))
            pdf.rect(xa, top, max(0.3, xb - xa), ph, style="F")
        for s in chart.series:
            _series(pdf, s, px(s.x), py(s.y))
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.rect(left, top, pw, ph)
    pdf.set_font("helvetica", size=7)
    label = latin1(chart.x_label)
    pdf.text(left + (pw - pdf.get_string_width(label)) / 2, top + ph + 7.0, label)
    label = latin1(chart.y_label)
    with pdf.rotation(90, x + 2.6, top + ph / 2 + pdf.get_string_width(label) / 2):
        pdf.text(x + 2.6, top + ph / 2 + pdf.get_string_width(label) / 2, label)
    if chart.note:
        pdf.set_font("helvetica", "I", 6.2)
        pdf.set_xy(x, top + ph + 8.0)
        pdf.multi_cell(w, 2.6, latin1(chart.note))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_text_color(0, 0, 0)
