"""The PDF form of the steward report (fpdf2, landscape A4): the verdict matrix, then per car a page opening with
its decision block (per rule the finding, then blank steward decision and sanction fields, and name, time and
signature lines to print and sign), the run, logs, rules, exceedances and data quality, and the evidence charts
(:mod:`compliance.reports.pdf_chart`: value against key with the bulletin curve, the session, close-ups of the first
exceedances) drawn as vector lines without a browser. Table cells wrap long text (ids, hashes) instead of cutting
it. Core PDF fonts cover Latin-1 only; other characters print as '?'.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from . import ledger_section, reference_section
from .pdf_chart import draw_chart
from .pdf_chart import latin1 as _t

if TYPE_CHECKING:
    from ..store.schema import Store
    from .steward import CarReport, SessionReport

__all__ = ["to_pdf"]

log = logging.getLogger(__name__)

_COLORS = {"compliant": (26, 127, 55), "infringement": (192, 57, 43), "incomplete": (183, 121, 31)}
_WIDTH = 267.0                       # A4 landscape minus 15 mm margins
_MAIN_H, _CLOSE_H = 74.0, 62.0       # chart boxes: two overview charts a row, three close-ups a row
_BLANK = "\n" * 4                    # a decision or sanction cell: room to write by hand


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self._footer_text = footer_text
        self.set_margins(15, 12, 15)
        self.set_auto_page_break(True, margin=14)
        self.set_title("bopwatch steward report")
        self.set_creator("bopwatch")
        self.page_car = ""                # "car N" while a car's pages print, shown in the footer

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("helvetica", size=7)
        self.set_text_color(110, 110, 110)
        car = f"{self.page_car} - " if self.page_car else ""
        self.cell(0, 5, _t(f"{car}{self._footer_text} - page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0, 0, 0)


def _heading(pdf: _Pdf, text: str, size: float = 13) -> None:
    pdf.set_font("helvetica", "B", size)
    pdf.multi_cell(0, size * 0.55, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(0.8)
    pdf.set_font("helvetica", size=8)


def _para(pdf: _Pdf, text: str, size: float = 8, mono: bool = False) -> None:
    pdf.set_font("courier" if mono else "helvetica", size=size)
    pdf.multi_cell(0, size * 0.5, _t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=8)


def _table(pdf: _Pdf, headers: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float],
           verdict_cols: Sequence[int] = (), size: float = 7.5) -> None:
    """A table whose cells wrap (nothing is cut); the header row repeats on each page."""
    pdf.set_font("helvetica", size=size)
    pdf.set_fill_color(255, 255, 255)           # the table fills its cells with the current colour
    with pdf.table(col_widths=tuple(widths), width=sum(widths), align="LEFT", text_align="LEFT",
                   line_height=size * 0.48, padding=(0.7, 1.0),
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235))) as table:
        head = table.row()
        for h in headers:
            head.cell(_t(h))
        for values in rows:
            row = table.row()
            for i, value in enumerate(values):
                text = _t(value)
                color = _COLORS.get(text.split(":")[0]) if i in verdict_cols else None
                row.cell(text, style=FontFace(color=color, emphasis="BOLD") if color else None)
    pdf.ln(2.5)


def _sign_lines(pdf: _Pdf, labels: Sequence[str]) -> None:
    """Lines to write on, each with its label below."""
    y = pdf.get_y() + 11
    gap = 8.0
    w = (_WIDTH - gap * (len(labels) - 1)) / len(labels)
    pdf.set_draw_color(30, 30, 30)
    pdf.set_line_width(0.3)
    pdf.set_font("helvetica", size=8)
    for i, label in enumerate(labels):
        x = pdf.l_margin + i * (w + gap)
        pdf.line(x, y, x + w, y)
        pdf.text(x, y + 3.6, _t(label))
    pdf.set_y(y + 7)


def _decision(pdf: _Pdf, c: CarReport) -> None:
    """The decision block: what bopwatch found per rule, and the fields a steward fills in and signs."""
    from .steward import rule_findings
    findings = rule_findings(c)
    _heading(pdf, "Steward decision", 11)
    if not any(f.needs_decision for f in findings):
        _para(pdf, f"No findings: {', '.join(f.rule for f in findings) or 'no rule'} compliant.", size=9)
        _sign_lines(pdf, ["Noted by (name)", "Time", "Signature"])
        return
    decide = [f for f in findings if f.needs_decision]
    _table(pdf, ["rule", "finding", "steward decision", "sanction"],
           [[f.rule, f"{f.verdict}: {f.finding}", _BLANK, _BLANK] for f in decide], [26, 121, 70, 50],
           verdict_cols=(1,), size=8.5)
    rest = [f for f in findings if not f.needs_decision]
    if rest:
        _para(pdf, "Compliant: " + "; ".join(f"{f.rule} ({f.finding})" for f in rest) + ".", size=8)
    _sign_lines(pdf, ["Steward (name)", "Time", "Signature"])


def _grid(pdf: _Pdf, c: CarReport, charts: Sequence, per_row: int, h: float) -> None:
    w = (_WIDTH - 6.0 * (per_row - 1)) / per_row
    for k in range(0, len(charts), per_row):
        if pdf.get_y() + h > pdf.h - 14:
            pdf.add_page()
        y = pdf.get_y() + 1
        for j, chart in enumerate(charts[k:k + per_row]):
            draw_chart(pdf, chart, pdf.l_margin + j * (w + 6.0), y, w, h, title=f"car {c.label} {chart.title}")
        pdf.set_y(y + h + 2)


def _evidence(pdf: _Pdf, c: CarReport, found: Sequence, *, close_ups: bool) -> None:
    """The overview charts of every rule two a row (value against key, session, stint energy), or the close-ups
    of the exceedances three a row."""
    charts = [ch for rc in found for ch in rc.charts if (ch.kind == "exceedance") == close_ups]
    if not charts and (close_ups or not found):
        return
    if pdf.get_y() + 12 + (_CLOSE_H if close_ups else _MAIN_H) > pdf.h - 14:
        pdf.add_page()
    _heading(pdf, "Exceedance close-ups" if close_ups else "Evidence", 10)
    if not close_ups:
        for rc in found:
            if rc.message:
                _para(pdf, f"{rc.rule}: {rc.message}.", size=7.5)
    _grid(pdf, c, charts, 3 if close_ups else 2, _CLOSE_H if close_ups else _MAIN_H)


def _rules(pdf: _Pdf, rules: Sequence) -> None:
    """The rule table; rules judged with SPEC §5 keys add their counting scope, the worst scope's time over, the
    worst scope and the gate; then each stint's budget for stint energy with a replenishment rate."""
    from . import rule_facts as rf
    rows = [[r["rule"], r["verdict"], r.get("exceedance_count"), r.get("max_exceedances"),
             f"{r.get('tolerance', '')} {r.get('unit', '')}", r.get("min_duration_s"),
             "; ".join([r.get("limit_source") or "", *r.get("reasons", [])]).strip("; ")] for r in rules]
    if not rf.any_v2(rules):
        _table(pdf, ["rule", "verdict", "exceedances", "allowed", "tolerance", "min dur. s", "limit from / reasons"],
               rows, [26, 24, 20, 16, 22, 18, 141], verdict_cols=(1,))
    else:
        for row, r in zip(rows, rules, strict=True):
            row[6:6] = [rf.scope_text(r) or "-", rf.time_over_text(r) or "-", rf.worst_scope_text(r) or "-",
                        rf.gate_text(r) or "-"]
        _table(pdf, ["rule", "verdict", "count", "allowed", "tolerance", "min dur. s", "counted", "time over",
                     "worst scope", "judged only while", "limit from / reasons"],
               rows, [22, 21, 12, 13, 17, 13, 22, 26, 42, 34, 45], verdict_cols=(1,), size=7)
    stints = rf.stint_rows(rules)
    if stints:
        _heading(pdf, "Stint budgets", 10)
        _table(pdf, list(rf.STINT_HEADERS), stints, [30, 14, 24, 24, 26, 26, 26, 24])


def _entry(pdf: _Pdf, c: CarReport) -> None:
    """The bulletin's car entry that judged the car and its informational fields (SPEC §5, never judged)."""
    from .rule_facts import info_text
    from .steward import entry_facts
    facts = entry_facts(c)
    out = []
    if facts.car_entry is not None:
        out.append(f'Judged by the bulletin\'s car entry [cars."{facts.car_entry}"] (the model\'s rules with the '
                   "car's overrides)")
    if facts.info:
        out.append(f"Bulletin information (not judged): {info_text(facts.info)}")
    elif facts.problem and facts.car_entry is not None:
        out.append(f"Bulletin information not shown: {facts.problem}")
    if out:
        _para(pdf, ". ".join(out) + ".", size=8.5)


def _car(pdf: _Pdf, store: Store | None, c: CarReport, max_traces: int) -> None:
    pdf.add_page()
    pdf.page_car = f"car {c.label}"        # after add_page: the previous page's footer names its own car
    run, v = c.run, c.verdict
    _heading(pdf, f"Car {c.label} - {c.team or ''} - {c.model or ''} - {run['verdict'].upper()}")
    _para(pdf, f"Drivers: {', '.join(c.drivers) or 'unknown'}; class {c.class_ or 'unknown'}; bulletin "
               f"{run['bulletin_id']}; run {run['run_id']}.", size=8.5)
    _entry(pdf, c)
    pdf.ln(1)
    _decision(pdf, c)
    pdf.ln(2)
    from .steward import rule_charts
    found = rule_charts(store, c, max_traces=max_traces) if store is not None else []
    _evidence(pdf, c, found, close_ups=False)
    if pdf.get_y() + 40 > pdf.h - 14:
        pdf.add_page()
    _heading(pdf, "Run", 10)
    _para(pdf, f"Run {run['run_id']} made {run['created_at']} UTC by {run['created_by']} ({run['reason']}); "
               f"{run['tool_name']} {run['tool_version']}. Bulletin {run['bulletin_id']} sha256 "
               f"{run['bulletin_sha256']}; profile {run['model']} sha256 {run['profile_sha256']}.")
    _para(pdf, "Reproduce this verdict:")
    _para(pdf, run["command"] or "(not recorded)", size=6.5, mono=True)
    pdf.ln(1)
    _table(pdf, ["file", "format", "frames", "start (UTC)", "duration s", "sha256", "original"],
           [[x["original_name"], x["format"], x["frames"], x["start_at"],
             "" if x["duration_s"] is None else f"{x['duration_s']:.3f}", x["sha256"], x["integrity"]]
            for x in c.logs], [44, 16, 18, 36, 18, 101, 34])
    _rules(pdf, v.get("rules", []))
    reference_section.to_pdf(pdf, v, heading=_heading, para=_para,
                             grid=lambda charts: _grid(pdf, c, charts, 2, 62.0))
    exc = v.get("exceedances", [])
    _heading(pdf, f"Exceedances ({len(exc)})", 10)
    if exc:
        _table(pdf, ["#", "rule", "lap", "start s", "end s", "duration s", "peak", "limit", "excess", "unit"],
               [[i + 1, e["rule"], e.get("lap") if e.get("lap") is not None else "", f"{e['start_s']:.3f}",
                 f"{e['end_s']:.3f}", f"{e['duration_s']:.3f}", f"{e['peak']:.5g}", f"{e['limit']:.5g}",
                 f"{e['excess']:.4g}", e["unit"]] for i, e in enumerate(exc)],
               [10, 26, 12, 24, 24, 22, 24, 24, 24, 16])
    else:
        _para(pdf, "None.")
    dq = v.get("data_quality", [])
    _heading(pdf, f"Data quality ({len(dq)})", 10)
    if dq:
        _table(pdf, ["severity", "check", "channel", "start s", "end s", "detail"],
               [[f["severity"], f["check"], f.get("channel") or "(session)", f.get("start_s"), f.get("end_s"),
                 f.get("detail")] for f in dq], [18, 24, 38, 22, 22, 143])
    else:
        _para(pdf, "No findings.")
    _evidence(pdf, c, found, close_ups=True)


def _matrix(pdf: _Pdf, report: SessionReport) -> None:
    from .steward import report_rules
    rules = report_rules(report.cars)
    rows = []
    for c in report.cars:
        by_rule = {x["rule"]: x for x in c.verdict.get("rules", [])}
        rows.append([c.label, c.team, c.model, c.class_, c.run["verdict"],
                     *[f"{by_rule[r]['verdict']}: {by_rule[r].get('exceedance_count', '')}/"
                       f"{by_rule[r].get('max_exceedances', '')}" if r in by_rule else "-" for r in rules],
                     c.run["bulletin_id"]])
    for u in report.unjudged:
        rows.append([u["car"], u["team"], u["model"], "", u["status"], *["-"] * len(rules), ""])
    many = len(rules) > 4                   # SPEC §5 kinds: narrower fixed columns, smaller text
    fixed = [10.0, 32.0, 38.0, 11.0, 22.0] if many else [12.0, 42.0, 46.0, 14.0, 24.0]
    last = 28.0 if many else 30.0
    per_rule = min(30.0, (_WIDTH - sum(fixed) - last) / max(1, len(rules)))
    widths = [*fixed, *[per_rule] * len(rules)]
    widths.append(_WIDTH - sum(widths))
    _table(pdf, ["car", "team", "model", "class", "verdict", *rules, "bulletin"], rows, widths,
           verdict_cols=tuple(range(4, 5 + len(rules))), size=7 if many else 8)


def to_pdf(report: SessionReport, store: Store | None = None, *, max_traces: int = 6,
           compress: bool = True) -> bytes:
    ev, se = report.event, report.session
    title = f"{ev.get('name') or ev['event']} - {se.get('name') or se['session']}"
    h = report.audit_head
    pinned = f" - audit {h['seq']}:{h['hash'][:16]}" if h else ""
    pdf = _Pdf(f"bopwatch {report.tool_version} - {ev['event']}/{se['session']} - generated {report.generated_at}"
               f"{pinned}")
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
    _para(pdf, f"Store pinned at {report.audit_line}; check it later with 'bopwatch audit verify --pin SEQ:HASH'.",
          size=6.5, mono=True)
    if report.problems:
        pdf.set_text_color(192, 57, 43)
        _heading(pdf, "Integrity problems", 10)
        for p in report.problems:
            _para(pdf, p)
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    _heading(pdf, "Verdict matrix", 11)
    _matrix(pdf, report)
    ledger_section.to_pdf(pdf, report.ledger, heading=_heading, para=_para, table=_table)
    _para(pdf, "Each car follows on its own pages, opening with its decision block to print and sign.")
    for c in report.cars:
        _car(pdf, store, c, max_traces)
    return bytes(pdf.output())
