"""The PDF form of the steward report (fpdf2): the same tables as the HTML report, and evidence plots drawn as
vector lines with fpdf2 itself (no browser, no image export). Core PDF fonts cover Latin-1 only; other characters
are replaced by '?' so any name prints.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from fpdf import FPDF
from fpdf.enums import XPos, YPos

if TYPE_CHECKING:
    from .report import CarReport, SessionReport
    from .store import Store

__all__ = ["to_pdf"]

log = logging.getLogger(__name__)

_COLORS = {"compliant": (26, 127, 55), "infringement": (192, 57, 43), "incomplete": (183, 121, 31)}
_PLOT_W, _PLOT_H = 125.0, 52.0


def _t(x: object) -> str:
    text = "" if x is None else str(x)
    return text.encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self._footer_text = footer_text
        self.set_auto_page_break(True, margin=14)
        self.set_title("bopwatch steward report")
        self.set_creator("bopwatch")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("helvetica", size=7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, _t(f"{self._footer_text} - page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0, 0, 0)


def _heading(pdf: _Pdf, text: str, size: float = 13) -> None:
    pdf.set_font("helvetica", "B", size)
    pdf.cell(0, size * 0.6, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=8)


def _para(pdf: _Pdf, text: str, size: float = 8, mono: bool = False) -> None:
    pdf.set_font("courier" if mono else "helvetica", size=size)
    pdf.multi_cell(0, size * 0.5, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=8)


def _verdict_cell(pdf: _Pdf, text: str, w: float, h: float) -> None:
    pdf.set_text_color(*_COLORS.get(text, (0, 0, 0)))
    pdf.cell(w, h, _t(text), border=1)
    pdf.set_text_color(0, 0, 0)


def _table(pdf: _Pdf, headers: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float],
           verdict_cols: Sequence[int] = (), size: float = 7) -> None:
    h = size * 0.62
    pdf.set_font("helvetica", "B", size)
    pdf.set_fill_color(235, 235, 235)
    for head, w in zip(headers, widths, strict=True):
        pdf.cell(w, h, _t(head), border=1, fill=True)
    pdf.ln(h)
    pdf.set_font("helvetica", size=size)
    for row in rows:
        if pdf.get_y() + h > pdf.h - 16:
            pdf.add_page()
        for i, (value, w) in enumerate(zip(row, widths, strict=True)):
            text = _t(value)
            while text and pdf.get_string_width(text) > w - 1.5:
                text = text[:-2] + "~"
            if i in verdict_cols:
                _verdict_cell(pdf, text, w, h)
            else:
                pdf.cell(w, h, text, border=1)
        pdf.ln(h)
    pdf.ln(2)


def _thin(t: np.ndarray, v: np.ndarray, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Min/max per bucket so peaks survive thinning."""
    if len(t) <= n:
        return t, v
    edges = np.linspace(0, len(t), n // 2 + 1).astype(int)
    idx = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b > a:
            seg = v[a:b]
            i, j = a + int(np.nanargmin(seg)), a + int(np.nanargmax(seg))
            idx.extend(sorted((i, j)))
    idx = np.asarray(idx)
    return t[idx], v[idx]


def _plot(pdf: _Pdf, title: str, x: np.ndarray, series: Sequence[tuple[str, np.ndarray, tuple, bool]],
          shade: tuple[float, float] | None, xlabel: str, ylabel: str) -> None:
    """A line chart: ``series`` of (label, y, rgb, dashed) against ``x``, an optional shaded x-range."""
    if pdf.get_y() + _PLOT_H + 14 > pdf.h - 14:
        pdf.add_page()
    left, top = pdf.l_margin + 12, pdf.get_y() + 5
    pdf.set_font("helvetica", "B", 7.5)
    pdf.text(pdf.l_margin, top - 1.5, _t(title))
    finite = [y[np.isfinite(y)] for _, y, _, _ in series if np.isfinite(y).any()]
    if len(x) < 2 or not finite:
        pdf.set_y(top + 4)
        _para(pdf, "(no samples to plot)")
        return
    x0, x1 = float(np.nanmin(x)), float(np.nanmax(x))
    y0 = min(float(f.min()) for f in finite)
    y1 = max(float(f.max()) for f in finite)
    pad = (y1 - y0) * 0.08 or 0.5
    y0, y1 = y0 - pad, y1 + pad
    x1 = x1 if x1 > x0 else x0 + 1.0

    def px(xv: np.ndarray) -> np.ndarray:
        return left + (xv - x0) / (x1 - x0) * _PLOT_W

    def py(yv: np.ndarray) -> np.ndarray:
        return top + _PLOT_H - (yv - y0) / (y1 - y0) * _PLOT_H

    if shade is not None:
        a, b = max(shade[0], x0), min(shade[1], x1)
        if b > a:
            pdf.set_fill_color(250, 215, 212)
            pdf.rect(float(px(np.float64(a))), top, float(px(np.float64(b)) - px(np.float64(a))), _PLOT_H, style="F")
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.rect(left, top, _PLOT_W, _PLOT_H)
    pdf.set_font("helvetica", size=6)
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        pdf.text(pdf.l_margin, float(py(np.float64(yv))) + 1, _t(f"{yv:.4g}"))
        xv = x0 + frac * (x1 - x0)
        pdf.text(float(px(np.float64(xv))) - 3, top + _PLOT_H + 3.5, _t(f"{xv:.4g}"))
    pdf.text(left + _PLOT_W / 2 - 10, top + _PLOT_H + 7, _t(xlabel))
    legend_x = left + _PLOT_W + 4
    for k, (label, y, rgb, dashed) in enumerate(series):
        pdf.set_draw_color(*rgb)
        pdf.set_line_width(0.35)
        if dashed:
            pdf.set_dash_pattern(dash=1.2, gap=0.8)
        ok = np.isfinite(y)
        pts = list(zip(px(x[ok]).tolist(), py(y[ok]).tolist(), strict=True))
        if len(pts) >= 2:
            pdf.polyline(pts)
        pdf.line(legend_x, top + 3 + 4 * k, legend_x + 6, top + 3 + 4 * k)
        pdf.set_dash_pattern()
        pdf.text(legend_x + 7.5, top + 4 + 4 * k, _t(label))
    pdf.text(legend_x, top + 6 + 4 * len(series), _t(ylabel))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(top + _PLOT_H + 9)


def _evidence(pdf: _Pdf, store: Store, c: CarReport, max_traces: int) -> None:
    from .report import exceedance_objects, load_channels, rule_spec
    from .rules import limit_series

    rules = [r["rule"] for r in c.verdict.get("rules", [])]
    if not rules:
        return
    channels = load_channels(store, c.run)
    if not channels:
        _para(pdf, "Evidence plots: no decoded channels stored for this run.")
        return
    exceedances = exceedance_objects(c.verdict)
    for name in rules:
        spec, bulletin = rule_spec(c.run, c.run["model"], name)
        if spec is None:
            _para(pdf, f"{name}: no plot ({bulletin}).")
            continue
        if name == "stint_energy" or any(ch not in channels for ch in spec.needs):
            _para(pdf, f"{name}: no plot in the PDF (see the HTML report).")
            continue
        value = channels[spec.channel]
        ref = bulletin.reference_ambient_pressure_bar
        t, v = _thin(value.time, value.value)
        limit, _ = limit_series(spec, channels, t, ref)
        _plot(pdf, f"car {c.car} {name}: {spec.channel} over the session ({spec.unit})", t,
              [(spec.channel, v, (44, 127, 184), False), ("limit", limit, (192, 57, 43), False),
               ("limit + tolerance", limit + spec.tolerance, (192, 57, 43), True)], None, "session time (s)",
              spec.unit)
        mine = [e for e in exceedances if e.rule == name]
        for e in mine[:max_traces]:
            a = np.searchsorted(value.time, e.start_s - 2.0, side="left")
            b = np.searchsorted(value.time, e.end_s + 2.0, side="right")
            tw, vw = value.time[a:b], value.value[a:b]
            lw, _ = limit_series(spec, channels, tw, ref)
            lap = f", lap {e.lap}" if e.lap is not None else ""
            _plot(pdf, f"car {c.car} {name} exceedance {e.start_s:.3f}-{e.end_s:.3f} s{lap}: peak {e.peak:.4g}, "
                       f"limit {e.limit:.4g}, excess {e.excess:.3g} {e.unit}", tw,
                  [(spec.channel, vw, (44, 127, 184), False), ("limit", lw, (192, 57, 43), False),
                   ("limit + tolerance", lw + spec.tolerance, (192, 57, 43), True)], (e.start_s, e.end_s),
                  "session time (s)", spec.unit)
        if len(mine) > max_traces:
            _para(pdf, f"{name}: traces of the first {max_traces} of {len(mine)} exceedances "
                       "(all are listed in the table above).")


def _car(pdf: _Pdf, store: Store | None, c: CarReport, max_traces: int) -> None:
    pdf.add_page()
    run, v = c.run, c.verdict
    _heading(pdf, f"Car {c.car} - {c.team or ''} - {c.model or ''} - {run['verdict'].upper()}")
    _para(pdf, f"Drivers: {', '.join(c.drivers) or 'unknown'}; class {c.class_ or 'unknown'}. Run {run['run_id']} "
               f"made {run['created_at']} UTC by {run['created_by']} ({run['reason']}); {run['tool_name']} "
               f"{run['tool_version']}.")
    _para(pdf, f"Bulletin {run['bulletin_id']} sha256 {run['bulletin_sha256']}; profile {run['model']} sha256 "
               f"{run['profile_sha256']}.")
    _para(pdf, "Reproduce this verdict:")
    _para(pdf, run["command"] or "(not recorded)", size=6.5, mono=True)
    pdf.ln(1)
    _table(pdf, ["file", "format", "frames", "start (UTC)", "duration s", "sha256", "original"],
           [[x["original_name"], x["format"], x["frames"], x["start_at"],
             "" if x["duration_s"] is None else f"{x['duration_s']:.3f}", x["sha256"], x["integrity"]]
            for x in c.logs], [40, 16, 18, 34, 18, 105, 34])
    _table(pdf, ["rule", "verdict", "exceedances", "allowed", "tolerance", "min dur. s", "limit from / reasons"],
           [[r["rule"], r["verdict"], r.get("exceedance_count"), r.get("max_exceedances"),
             f"{r.get('tolerance', '')} {r.get('unit', '')}", r.get("min_duration_s"),
             "; ".join([r.get("limit_source") or "", *r.get("reasons", [])]).strip("; ")]
            for r in v.get("rules", [])], [24, 24, 20, 16, 22, 18, 141], verdict_cols=(1,))
    exc = v.get("exceedances", [])
    _heading(pdf, f"Exceedances ({len(exc)})", 10)
    if exc:
        _table(pdf, ["#", "rule", "lap", "start s", "end s", "duration s", "peak", "limit", "excess", "unit"],
               [[i + 1, e["rule"], e.get("lap") if e.get("lap") is not None else "", f"{e['start_s']:.3f}",
                 f"{e['end_s']:.3f}", f"{e['duration_s']:.3f}", f"{e['peak']:.5g}", f"{e['limit']:.5g}",
                 f"{e['excess']:.4g}", e["unit"]] for i, e in enumerate(exc)],
               [10, 22, 12, 24, 24, 22, 24, 24, 24, 16])
    else:
        _para(pdf, "None.")
    dq = v.get("data_quality", [])
    _heading(pdf, f"Data quality ({len(dq)})", 10)
    if dq:
        _table(pdf, ["severity", "check", "channel", "start s", "end s", "detail"],
               [[f["severity"], f["check"], f.get("channel") or "(session)", f.get("start_s"), f.get("end_s"),
                 f.get("detail")] for f in dq], [18, 24, 36, 20, 20, 147])
    else:
        _para(pdf, "No findings.")
    if store is not None:
        _evidence(pdf, store, c, max_traces)


def to_pdf(report: SessionReport, store: Store | None = None, *, max_traces: int = 6,
           compress: bool = True) -> bytes:
    ev, se = report.event, report.session
    title = f"{ev.get('name') or ev['event']} - {se.get('name') or se['session']}"
    pdf = _Pdf(f"bopwatch {report.tool_version} - {ev['event']}/{se['session']} - generated {report.generated_at}")
    pdf.alias_nb_pages()
    pdf.set_compression(compress)
    pdf.add_page()
    _heading(pdf, f"BoP steward report: {title}", 15)
    _para(pdf, f"Event {ev['event']} ({ev.get('series') or ''}, {ev.get('track') or ''}); session {se['session']} "
               f"({se.get('type') or ''}, start {se.get('start_at') or 'unknown'} UTC). Overall verdict: "
               f"{(report.verdict or '').upper()}. Generated {report.generated_at} by bopwatch "
               f"{report.tool_version} from {report.db}.")
    _para(pdf, "Reproduce this report:")
    _para(pdf, report.command, size=6.5, mono=True)
    if report.problems:
        pdf.set_text_color(192, 57, 43)
        _heading(pdf, "Integrity problems", 10)
        for p in report.problems:
            _para(pdf, p)
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    _heading(pdf, "Verdict matrix", 11)
    from .report import RULES
    rules = [r for r in RULES if any(x["rule"] == r for c in report.cars for x in c.verdict.get("rules", []))]
    rows = []
    for c in report.cars:
        by_rule = {x["rule"]: x for x in c.verdict.get("rules", [])}
        rows.append([c.car, c.team, c.model, c.class_, c.run["verdict"],
                     *[f"{by_rule[r]['verdict']} {by_rule[r].get('exceedance_count', '')}/"
                       f"{by_rule[r].get('max_exceedances', '')}" if r in by_rule else "-" for r in rules],
                     c.run["bulletin_id"]])
    for u in report.unjudged:
        rows.append([u["car"], u["team"], u["model"], "", u["status"], *["-"] * len(rules), ""])
    widths = [12, 46, 40, 20, 24, *[30] * len(rules), 0]
    widths[-1] = max(20.0, 267 - sum(widths))
    _table(pdf, ["car", "team", "model", "class", "verdict", *rules, "bulletin"], rows, widths,
           verdict_cols=(4,))
    for c in report.cars:
        _car(pdf, store, c, max_traces)
    return bytes(pdf.output())
