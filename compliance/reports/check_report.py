"""The HTML page ``bopwatch check --report FILE`` writes: self-contained (no script, no network), with the
verdict, the inputs and their hashes, every rule, exceedance and data-quality finding, and the evidence charts as
inline SVG (the steward report's renderer: downsampled min/max traces that keep every exceedance sample, no WebGL).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..bop.kinds import rule_order
from ..judge.check import CheckResult
from . import rule_facts as rf
from ._html import escape as _e
from ._html import table as _table
from .plots import charts_for_rule
from .svg import chart_svg

__all__ = ["render_check_report", "write_check_report"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.compliant{color:#1a7f37;font-weight:bold}.infringement{color:#c0392b;font-weight:bold}
.incomplete{color:#b7791f;font-weight:bold}.error{color:#c0392b}.warning{color:#b7791f}
code{font-size:.85rem}.lim{display:inline-block;min-width:10rem}table.rules{font-size:.8rem}.scope{display:inline-block;min-width:9rem}
"""


def render_check_report(result: CheckResult, *, max_traces: int = 12) -> str:
    """The report as one HTML string."""
    v = result.verdict
    parts = [f"<h1>BoP check: <span class='{v.verdict}'>{_e(v.verdict.upper())}</span></h1>",
             f"<p>Model <b>{_e(v.profile.get('model'))}</b> {_e(v.profile.get('name'))} &middot; bulletin "
             f"<b>{_e(v.bulletin.get('id'))}</b> ({_e(v.bulletin.get('series'))}, {_e(v.bulletin.get('event'))};"
             f" sha256 <code>{_e(v.bulletin.get('sha256'))}</code>) &middot; profile sha256 "
             f"<code>{_e(v.profile.get('sha256'))}</code> &middot; {_e(v.tool['name'])} {_e(v.tool['version'])}"
             f"</p><p>Session start {_e(v.session_start.isoformat() if v.session_start else 'unknown')}, "
             f"{v.duration_s:.1f} s; laps from {_e(v.lap_source or 'nowhere (no lap source)')}.</p>",
             "<h2>Inputs</h2>",
             _table(["path", "format", "frames", "start", "duration s", "sha256"],
                    [[_e(i["path"]), _e(i["format"]), _e(i["frames"]), _e(i["start"]), _e(i["duration_s"]),
                      f"<code>{_e(i['sha256'])}</code>"] for i in v.inputs], {2, 4}),
             _entry_html(result),
             "<h2>Rules</h2>",
             _rules_html(v)]
    stints = rf.stint_rows(r.to_dict() for r in v.rules)
    if stints:
        parts.append("<h2>Stint budgets</h2>")
        parts.append(_table(list(rf.STINT_HEADERS), [[_e(x) for x in row] for row in stints], {1, 2, 3, 4, 5, 6}))
    parts.append(f"<h2>Exceedances ({len(v.exceedances)})</h2>")
    parts.append(_table(["rule", "lap", "start s", "end s", "duration s", "peak", "limit", "excess", "unit"],
                        [[_e(e.rule), _e(e.lap), f"{e.start_s:.3f}", f"{e.end_s:.3f}", f"{e.duration_s:.3f}",
                          f"{e.peak:.5g}", f"{e.limit:.5g}", f"{e.excess:.4g}", _e(e.unit)]
                         for e in v.exceedances], {1, 2, 3, 4, 5, 6, 7}) if v.exceedances else "<p>None.</p>")
    parts.append(f"<h2>Data quality ({len(v.data_quality)})</h2>")
    parts.append(_table(["severity", "check", "channel", "start s", "end s", "detail"],
                        [[f"<span class='{f.severity}'>{_e(f.severity)}</span>", _e(f.check),
                          _e(f.channel or "(session)"), f"{f.start_s:.3f}", f"{f.end_s:.3f}", _e(f.detail)]
                         for f in v.data_quality], {3, 4}) if v.data_quality else "<p>No findings.</p>")
    if v.laps:
        parts.append("<h2>Laps</h2>")
        parts.append(_table(["lap", "start s", "lap time s", "exceedances"],
                            [[str(lap.lap), f"{lap.start_s:.3f}", f"{lap.end_s - lap.start_s:.3f}",
                              _e(", ".join(f"{k} {n}" for k, n in sorted(lap.exceedances.items())) or "-")]
                             for lap in v.laps], {0, 1, 2}))
    parts.append("<h2>Evidence</h2>")
    entry = _entry(result)
    for name in sorted(entry.rules, key=rule_order):
        spec = entry.rules[name]
        charts = charts_for_rule(spec, result.session.channels, v.exceedances, max_traces=max_traces,
                                 reference_ambient_bar=result.bulletin.reference_ambient_pressure_bar)
        if not charts:
            parts.append(f"<p>{_e(name)}: no plot (a channel it needs is missing).</p>")
        count = sum(1 for e in v.exceedances if e.rule == name)
        if count > max_traces:
            parts.append(f"<p>{_e(name)}: traces of the first {max_traces} of {count} exceedances.</p>")
        parts += [f"<div class='chart' id='{_e(name)}-{i}'>{chart_svg(chart)}</div>" for i, chart in enumerate(charts)]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>bopwatch check: {_e(v.profile.get('model'))} {_e(v.verdict)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n")


def _entry(result: CheckResult):
    """The bulletin entry that judged the car: its ``[cars."N"]`` entry when the verdict names one, else the
    model's."""
    car = result.verdict.bulletin.get("car_entry")
    return result.bulletin.entry(result.verdict.profile["model"], car)


def _entry_html(result: CheckResult) -> str:
    """The car entry (SPEC §5) and the informational fields of the model (or car), which are never judged."""
    entry = _entry(result)
    car = result.verdict.bulletin.get("car_entry")
    out = []
    if car is not None:
        out.append(f"<p>Judged by the bulletin's car entry <b>[cars.&quot;{_e(car)}&quot;]</b> (model "
                   f"{_e(entry.model)}: the model's rules with the car's overrides).</p>")
    elif result.bulletin.cars:
        out.append("<p>Judged by the model's entry (the bulletin has no car entry for this car).</p>")
    info = dict(entry.info)
    if entry.min_weight_kg is not None:
        info.setdefault("min_weight_kg", f"{entry.min_weight_kg:g}")
    if info:
        out.append("<h2>Bulletin information (not judged)</h2>")
        out.append(_table(["field", "value"], [[_e(k), _e(val)] for k, val in info.items()]))
    return "".join(out)


def _rules_html(v) -> str:
    """The rules table; rules using SPEC §5 keys add their counting scope, time over, worst scope and gate."""
    rules = [r.to_dict() for r in v.rules]
    v2 = rf.any_v2(rules)
    headers = ["rule", "verdict", "exceedances", "allowed", "tolerance", "min duration s", "limit",
               "data-quality errors on its channels"]
    if v2:
        headers[5] = "min dur. s"
        headers[7] = "data-quality errors"
        headers[6:6] = ["counted", "time over", "worst scope", "judged only while"]
    rows = []
    for r, d in zip(v.rules, rules, strict=True):
        row = [_e(r.rule), f"<span class='{r.verdict}'>{_e(r.verdict)}</span>", str(r.exceedance_count),
               str(r.max_exceedances), f"{r.tolerance:g} {_e(r.unit)}", f"{r.min_duration_s:g}",
               f"<span class='lim'>{_e(r.limit_source)}</span>", _e("; ".join(r.reasons))]
        if v2:
            row[6:6] = [_e(rf.scope_text(d) or "-"), _e(rf.time_over_text(d) or "-"),
                        f"<span class='scope'>{_e(rf.worst_scope_text(d) or '-')}</span>",
                        _e(rf.gate_text(d) or "-")]
        rows.append(row)
    return _table(headers, rows, {2, 3}).replace("<table>", "<table class='rules'>", 1)


def write_check_report(result: CheckResult, path: str | Path, *, max_traces: int = 12) -> Path:
    """Write the report to ``path`` (parent folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_check_report(result, max_traces=max_traces), encoding="utf-8")
    log.info("report written to %s", path)
    return path
