"""The HTML form of the steward report: one self-contained file (no script, no network), charts as inline SVG
(:mod:`compliance.reports.svg`), a decision block per car to print and sign; each car starts a printed page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ledger_section, reference_section
from ._html import escape as _e
from ._html import table as _table

if TYPE_CHECKING:
    from ..store.schema import Store
    from .steward import CarReport, SessionReport

__all__ = ["to_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1250px}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:.88rem}
th,td{border:1px solid #ccc;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td code{overflow-wrap:anywhere}td.num{text-align:right;font-variant-numeric:tabular-nums}
.compliant{color:#1a7f37;font-weight:bold}.infringement{color:#c0392b;font-weight:bold}
.incomplete{color:#b7791f;font-weight:bold}.error{color:#c0392b}.warning{color:#b7791f}
code,pre{font-size:.8rem}pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;word-break:break-all}
section.car{border-top:2px solid #444;margin-top:2rem}table.wide{font-size:.74rem}table.wide td{padding:.2rem .35rem}
table.decision{width:100%}table.decision td.blank{height:3.2rem;width:22%}
.sign{display:flex;gap:2rem;margin:.6rem 0 1.4rem}.sign span{flex:1;border-bottom:1px solid #222;padding-top:1.8rem;
font-size:.8rem;color:#555}
figure.chart{display:inline-block;width:49%;min-width:420px;margin:0 0 1rem;vertical-align:top}
figure.chart svg{width:100%;height:auto}figcaption{font-size:.78rem;color:#555}
@media print{body{margin:0;max-width:none}section.car{break-before:page;border:0}
.decisionblock{break-inside:avoid}figure.chart{break-inside:avoid}}
"""


def _v(verdict: str | None) -> str:
    return f"<span class='{_e(verdict)}'>{_e(verdict)}</span>" if verdict else ""


def _matrix(report: SessionReport) -> str:
    from .steward import report_rules
    rules = report_rules(report.cars)
    rows = []
    for c in report.cars:
        by_rule = {x["rule"]: x for x in c.verdict.get("rules", [])}
        cells = [f"<a href='#{_e(c.anchor)}'>{_e(c.label)}</a>", _e(c.team),
                 _e(c.model).replace("_", "_<wbr>"), _e(c.class_), _v(c.run["verdict"])]
        for r in rules:
            x = by_rule.get(r)
            cells.append(f"{_v(x['verdict'])} {x.get('exceedance_count', '')}/{x.get('max_exceedances', '')}"
                         if x else "-")
        cells += [_e(c.run["bulletin_id"]), f"<code>{_e(c.run['run_id'][:12])}</code>"]
        rows.append(cells)
    for u in report.unjudged:
        rows.append([_e(u["car"]), _e(u["team"]), _e(u["model"]), "", f"<span class='incomplete'>"
                     f"{_e(u['status'])}</span>", *["-"] * len(rules), "", ""])
    if len(rules) > 4:                  # SPEC §5 kinds: the columns say "count/allowed" once, above
        return ("<p><small>Rule cells: verdict, exceedances counted / allowed.</small></p>"
                + _table(["car", "team", "model", "class", "verdict", *rules, "bulletin", "run"], rows)
                .replace("<table>", "<table class='wide'>", 1))
    return _table(["car", "team", "model", "class", "verdict", *[f"{r} (count/allowed)" for r in rules],
                   "bulletin", "run"], rows)


def _decision(c: CarReport) -> str:
    """The block a steward prints and signs: per rule the finding, then blank decision and sanction fields."""
    from .steward import rule_findings
    findings = rule_findings(c)
    sign = ("<div class='sign'><span>Steward (name)</span><span>Time</span><span>Signature</span></div>")
    if not any(f.needs_decision for f in findings):
        rules = ", ".join(f.rule for f in findings) or "no rule"
        return (f"<div class='decisionblock'><h3>Steward decision</h3><p>No findings: {_e(rules)} compliant.</p>"
                f"{sign.replace('Steward (name)', 'Noted by (name)')}</div>")
    rows = [[_e(f.rule), f"{_v(f.verdict)}: {_e(f.finding)}", "", ""] if f.needs_decision else
            [_e(f.rule), f"{_v(f.verdict)}: {_e(f.finding)}", "-", "-"] for f in findings]
    body = "".join("<tr>" + "".join(
        f"<td class='blank'>{x}</td>" if i >= 2 and not x else f"<td>{x}</td>" for i, x in enumerate(r)) + "</tr>"
        for r in rows)
    return ("<div class='decisionblock'><h3>Steward decision</h3><table class='decision'><thead><tr><th>rule</th>"
            "<th>finding</th><th>steward decision</th><th>sanction</th></tr></thead>"
            f"<tbody>{body}</tbody></table>{sign}</div>")


def _evidence(found: list, *, close_ups: bool) -> str:
    """Every rule's overview charts (value against key, session, stint energy), or the exceedance close-ups."""
    from .svg import chart_svg

    charts = [chart_svg(ch) for rc in found for ch in rc.charts if (ch.kind == "exceedance") == close_ups]
    if close_ups:
        return "<h3>Exceedance close-ups</h3>" + "".join(charts) if charts else ""
    notes = [f"<p>{_e(rc.rule)}: {_e(rc.message)}.</p>" for rc in found if rc.message]
    return "<h3>Evidence</h3>" + "".join(notes + charts) if found else ""


def _entry(c: CarReport) -> str:
    """The bulletin's car entry that judged the car and its informational fields (SPEC §5, never judged)."""
    from .rule_facts import info_text
    from .steward import entry_facts
    facts = entry_facts(c)
    out = []
    if facts.car_entry is not None:
        out.append(f"Judged by the bulletin's car entry <b>[cars.&quot;{_e(facts.car_entry)}&quot;]</b> (the "
                   "model's rules with the car's overrides)")
    if facts.info:
        out.append(f"Bulletin information (not judged): {_e(info_text(facts.info))}")
    elif facts.problem and facts.car_entry is not None:
        out.append(f"Bulletin information not shown: {_e(facts.problem)}")
    return f"<p class='entry'>{' &middot; '.join(out)}</p>" if out else ""


def _rules(rules: list) -> str:
    """The rule table; rules judged with SPEC §5 keys add their counting scope, the worst scope's time over, the
    worst scope and the gate."""
    from . import rule_facts as rf
    v2 = rf.any_v2(rules)
    headers = ["rule", "verdict", "exceedances", "allowed", "tolerance", "min duration s", "limit from",
               "why incomplete"]
    if v2:
        headers[6:6] = ["counted", "time over", "worst scope", "judged only while"]
    rows = []
    for r in rules:
        row = [_e(r["rule"]), _v(r["verdict"]), _e(r.get("exceedance_count")),
               _e(r.get("max_exceedances")), _e(f"{r.get('tolerance', '')} {r.get('unit', '')}"),
               _e(r.get("min_duration_s")), _e(r.get("limit_source")), _e("; ".join(r.get("reasons", [])))]
        if v2:
            row[6:6] = [_e(rf.scope_text(r) or "-"), _e(rf.time_over_text(r) or "-"),
                        _e(rf.worst_scope_text(r) or "-"), _e(rf.gate_text(r) or "-")]
        rows.append(row)
    return _table(headers, rows, {2, 3})


def _stints(rules: list) -> str:
    """Each stint's budget and use, for stint energy with a replenishment rate (SPEC §5)."""
    from . import rule_facts as rf
    rows = rf.stint_rows(rules)
    if not rows:
        return ""
    return "<h3>Stint budgets</h3>" + _table(list(rf.STINT_HEADERS), [[_e(x) for x in row] for row in rows],
                                             {1, 2, 3, 4, 5, 6})


def _car(store: Store | None, c: CarReport, max_traces: int) -> str:
    from .steward import rule_charts
    v, run = c.verdict, c.run
    found = rule_charts(store, c, max_traces=max_traces) if store is not None else []
    parts = [f"<section class='car' id='{_e(c.anchor)}'><h2>Car {_e(c.label)} &middot; {_e(c.team)} &middot; "
             f"{_e(c.model)} &middot; {_v(run['verdict'])}</h2>",
             f"<p>Drivers: {_e(', '.join(c.drivers) or 'unknown')} &middot; class {_e(c.class_ or 'unknown')} "
             f"&middot; bulletin {_e(run['bulletin_id'])} &middot; run <code>{_e(run['run_id'])}</code></p>",
             _entry(c),
             _decision(c),
             _evidence(found, close_ups=False),
             "<h3>Run</h3>",
             _table(["run", "made", "by", "reason", "bulletin", "bulletin sha256", "profile", "profile sha256",
                     "tool"],
                    [[f"<code>{_e(run['run_id'])}</code>", _e(run["created_at"]), _e(run["created_by"]),
                      _e(run["reason"]), _e(run["bulletin_id"]), f"<code>{_e(run['bulletin_sha256'])}</code>",
                      _e(run["model"]), f"<code>{_e(run['profile_sha256'])}</code>",
                      f"{_e(run['tool_name'])} {_e(run['tool_version'])}"]]),
             f"<p>Reproduce this verdict: <pre>{_e(run['command'] or '(not recorded)')}</pre></p>"]
    if c.runs_total > 1:
        parts.append(f"<p>{c.runs_total} runs exist for this car's session (other bulletins or earlier file "
                     "sets); this report shows the latest.</p>")
    parts.append("<h3>Logs</h3>")
    parts.append(_table(["file", "format", "frames", "start (UTC)", "duration s", "size", "sha256", "original"],
                        [[_e(x["original_name"]), _e(x["format"]), _e(x["frames"]), _e(x["start_at"]),
                          _e(None if x["duration_s"] is None else f"{x['duration_s']:.3f}"), _e(x["size"]),
                          f"<code>{_e(x['sha256'])}</code>", _e(x["integrity"])] for x in c.logs], {2, 4, 5}))
    parts.append("<h3>Rules</h3>")
    parts.append(_rules(v.get("rules", [])))
    parts.append(_stints(v.get("rules", [])))
    from .svg import chart_svg
    parts.append(reference_section.to_html(v, chart_svg))
    exc = v.get("exceedances", [])
    parts.append(f"<h3>Exceedances ({len(exc)})</h3>")
    parts.append(_table(["#", "rule", "lap", "start s", "end s", "duration s", "peak", "limit", "excess", "unit"],
                        [[str(i + 1), _e(e["rule"]), _e(e.get("lap")), f"{e['start_s']:.3f}", f"{e['end_s']:.3f}",
                          f"{e['duration_s']:.3f}", f"{e['peak']:.5g}", f"{e['limit']:.5g}", f"{e['excess']:.4g}",
                          _e(e["unit"])] for i, e in enumerate(exc)], {0, 2, 3, 4, 5, 6, 7, 8})
                 if exc else "<p>None.</p>")
    dq = v.get("data_quality", [])
    parts.append(f"<h3>Data quality ({len(dq)})</h3>")
    parts.append(_table(["severity", "check", "channel", "start s", "end s", "detail"],
                        [[f"<span class='{_e(f['severity'])}'>{_e(f['severity'])}</span>", _e(f["check"]),
                          _e(f.get("channel") or "(session)"), _e(f.get("start_s")), _e(f.get("end_s")),
                          _e(f.get("detail"))] for f in dq], {3, 4}) if dq else "<p>No findings.</p>")
    parts.append(_evidence(found, close_ups=True))
    parts.append("</section>")
    return "".join(parts)


def _pin(report: SessionReport) -> str:
    h = report.audit_head
    return f"{h['seq']}:{h['hash']}" if h else "(empty audit log)"


def to_html(report: SessionReport, store: Store | None = None, *, max_traces: int = 12) -> str:
    ev, se = report.event, report.session
    title = f"{ev.get('name') or ev['event']} - {se.get('name') or se['session']}"
    parts = [f"<h1>BoP steward report: {_e(title)}</h1>",
             f"<p>Event <b>{_e(ev['event'])}</b> ({_e(ev.get('series'))}, {_e(ev.get('track'))}) &middot; session "
             f"<b>{_e(se['session'])}</b> ({_e(se.get('type'))}, start {_e(se.get('start_at'))} UTC) &middot; "
             f"overall {_v(report.verdict)} &middot; generated {_e(report.generated_at)} by bopwatch "
             f"{_e(report.tool_version)}</p>",
             f"<p>Reproduce this report: <pre>{_e(report.command)}</pre></p>",
             f"<p>Store pinned at <code>{_e(report.audit_line)}</code>; check it later with "
             f"<code>bopwatch audit verify --pin {_e(_pin(report))}</code></p>"]
    if report.problems:
        parts.append("<h2 class='infringement'>Integrity problems</h2><ul>" +
                     "".join(f"<li>{_e(p)}</li>" for p in report.problems) + "</ul>")
    parts += ["<h2>Verdict matrix</h2>", _matrix(report), ledger_section.to_html(report.ledger)]
    parts += [_car(store, c, max_traces) for c in report.cars]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>bopwatch report: {_e(title)}</title><style>{_CSS}</style></head><body>"
            f"{''.join(parts)}</body></html>\n")
