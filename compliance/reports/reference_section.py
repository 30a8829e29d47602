"""A car against its model's reference run in the steward report (issue 17): the advisory findings and, per
quantity with a finding (else power against rpm), the car's bin medians over the reference's band, as a
renderer-neutral chart (:mod:`compliance.reports.plots`) the HTML and PDF draw like every other. Read from the
``reference`` block the stored verdict carries (``compliance.ingest.reference_check``); nothing when it has none."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._html import escape as _e
from .plots import BLUE, RED, Chart, Series, nice_ticks

__all__ = ["reference_charts", "to_html", "to_pdf", "TITLE"]

TITLE = "Against the reference (advisory, not a verdict)"
_LABELS = {"boost_vs_rpm": ("engine speed [rpm]", "boost [bar]"), "power_vs_rpm": ("engine speed [rpm]", "power [kW]"),
           "power_vs_speed": ("speed [km/h]", "power [kW]"), "fuel_flow_vs_rpm": ("engine speed [rpm]",
                                                                                 "fuel flow [kg/h]"),
           "accel_vs_speed": ("speed [km/h]", "longitudinal acceleration [g]")}


def _chart(quantity: str, bins: list[Mapping[str, Any]]) -> Chart | None:
    if not bins:
        return None
    x = np.array([(b["lower"] + b["upper"]) / 2 for b in bins], dtype=np.float64)
    lo, hi, med, car = (np.array([b[k] for b in bins], dtype=np.float64)
                        for k in ("band_low", "band_high", "ref_p50", "car_p50"))
    outside = np.array([b["side"] != "inside" for b in bins])
    x0, x1, xt = nice_ticks(float(x.min()), float(x.max()))
    y0, y1, yt = nice_ticks(float(min(lo.min(), car.min())), float(max(hi.max(), car.max())))
    series = [Series("band low", x, lo, color=BLUE, dashed=True), Series("band high", x, hi, color=BLUE, dashed=True),
              Series("reference median", x, med, color=BLUE), Series("this car (median per bin)", x, car,
                                                                     style="marks", color="#2ca02c")]
    if outside.any():
        series.append(Series("outside the band", x[outside], car[outside], style="marks", color=RED))
    x_label, y_label = _LABELS.get(quantity, ("key", "value"))
    return Chart("reference", quantity, f"{quantity}: against the reference", x_label, y_label, tuple(series),
                 (x0, x1), (y0, y1), xt, yt, note="the band: the reference's median +- its spread (docs/analysis.md)")


def reference_charts(verdict: Mapping[str, Any]) -> list[Chart]:
    block = verdict.get("reference") or {}
    quantities = block.get("quantities") or {}
    wanted = [f["quantity"] for f in block.get("findings", [])] or ["power_vs_rpm"]
    return [c for q in dict.fromkeys(wanted) if (c := _chart(q, list(quantities.get(q) or [])))]


def _about(block: Mapping[str, Any]) -> str:
    ref = block.get("reference") or {}
    return (f"Compared with reference {ref.get('reference_id') or ref.get('source')} (model {ref.get('model')}, "
            f"run {ref.get('run_id')}): evidence to investigate (an engine map, a sensor offset), never a verdict.")


def to_html(verdict: Mapping[str, Any], chart_svg: Callable[[Chart], str]) -> str:
    block = verdict.get("reference")
    if not block:
        return ""
    findings = block.get("findings", [])
    items = "".join(f"<li>{_e(f['detail'])}</li>" for f in findings) or "<li>Inside the band in every bin.</li>"
    charts = "".join(f"<figure>{chart_svg(c)}</figure>" for c in reference_charts(verdict))
    return f"<h3>{_e(TITLE)}</h3><p>{_e(_about(block))}</p><ul>{items}</ul>{charts}"


def to_pdf(pdf: Any, verdict: Mapping[str, Any], *, heading: Callable[..., None], para: Callable[..., None],
           grid: Callable[[list[Chart]], None]) -> None:
    block = verdict.get("reference")
    if not block:
        return
    heading(pdf, TITLE, 10)
    para(pdf, _about(block))
    for f in block.get("findings", []) or [{"detail": "Inside the band in every bin."}]:
        para(pdf, "- " + f["detail"])
    grid(reference_charts(verdict))
