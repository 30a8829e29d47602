"""Steward reports of a stored session (or one car): verdict matrix, every exceedance with its evidence, data
quality, file hashes, bulletin, profile and tool versions, and the exact commands that reproduce the verdicts and
the report. Formats: self-contained HTML with Plotly evidence (plotly.js inline, no network), PDF
(:mod:`compliance.report_pdf`, fpdf2 with vector plots drawn without a browser), CSV and JSON.

Reports are built from the store only: verdicts from ``runs``, traces from the run's Parquet file, the limit curve
from the bulletin file the run recorded (used only when its SHA-256 still matches; otherwise the report says so
and shows tables only). The originals the report cites are re-hashed when it is built.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from telemetry.channels import Channel

from ._html import escape as _e
from ._html import table as _table
from .errors import StoreError
from .evidence import verify_original
from .store import Store, canonical_json, tool_version, utcnow

__all__ = ["FORMATS", "CarReport", "SessionReport", "build_report", "render", "write_report", "report_command",
           "load_channels", "rule_spec"]

log = logging.getLogger(__name__)

FORMATS = ("html", "pdf", "csv", "json")
RULES = ("boost", "fuel_flow", "power", "stint_energy")


@dataclass(frozen=True, slots=True)
class CarReport:
    car: str
    team: str | None
    model: str | None
    class_: str | None
    drivers: tuple[str, ...]
    run: Mapping[str, Any]              # the runs row (run_id, bulletin_id, ..., command, created_at)
    verdict: Mapping[str, Any]          # the stored SPEC §4 verdict JSON
    logs: tuple[Mapping[str, Any], ...]  # logs rows of the run, in run order, with ``integrity``
    runs_total: int                     # how many runs exist for this car's session (all bulletins)


@dataclass(frozen=True, slots=True)
class SessionReport:
    event: Mapping[str, Any]
    session: Mapping[str, Any]
    cars: tuple[CarReport, ...]
    generated_at: str
    tool_version: str
    command: str
    db: str
    bulletin_filter: str | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)   # integrity problems of the cited originals
    unjudged: tuple[Mapping[str, Any], ...] = ()   # entries without a verdict here: {car, team, model, status}

    @property
    def verdict(self) -> str | None:
        order = {"compliant": 0, "incomplete": 1, "infringement": 2}
        verdicts = [c.run["verdict"] for c in self.cars]
        return max(verdicts, key=order.__getitem__) if verdicts else None


def report_command(event: str, session: str, *, car: str | None, fmt: str, out: str | None, db: str,
                   bulletin: str | None = None) -> str:
    import shlex
    parts = ["bopwatch", "report", "--event", event, "--session", session]
    if car:
        parts += ["--car", car]
    if bulletin:
        parts += ["--bulletin", bulletin]
    parts += ["--format", fmt]
    if out:
        parts += ["--out", str(Path(out).resolve())]
    parts += ["--db", db]
    return " ".join(shlex.quote(p) for p in parts)


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _car_key(car: str) -> tuple:
    return (0, int(car), car) if car.isdigit() else (1, 0, car)


def build_report(store: Store, event: str, session: str, *, car: str | None = None,
                 bulletin: str | None = None, fmt: str = "html", out: str | None = None,
                 verify_originals: bool = True) -> SessionReport:
    """Gather the latest run of each car of ``event``/``session`` (under ``bulletin`` id when given)."""
    view = "latest_runs_per_bulletin" if bulletin else "latest_runs"
    with store.reading() as conn:
        ev = _dicts(conn.execute("SELECT * FROM events WHERE event = ?", [event]))
        se = _dicts(conn.execute("SELECT * FROM sessions WHERE event = ? AND session = ?", [event, session]))
        if not ev or not se:
            known = [f"{r[0]}/{r[1]}" for r in conn.execute(
                "SELECT event, session FROM sessions ORDER BY event, session").fetchall()]
            raise StoreError(f"no session {event}/{session} in the store (it has: {', '.join(known) or 'none'})",
                             path=store.db, fix="check --event and --session")
        sql = (f"SELECT r.*, e.team, e.model AS entry_model, e.class AS entry_class, e.drivers, "
               f"(SELECT count(*) FROM runs x WHERE x.event = r.event AND x.session = r.session AND x.car = r.car)"
               f" AS runs_total FROM {view} r LEFT JOIN entries e ON e.event = r.event AND e.car = r.car "
               f"WHERE r.event = ? AND r.session = ?")
        params: list[Any] = [event, session]
        if car:
            sql += " AND r.car = ?"
            params.append(car)
        if bulletin:
            sql += " AND r.bulletin_id = ?"
            params.append(bulletin)
        runs = _dicts(conn.execute(sql, params))
        unjudged = [] if car else _dicts(conn.execute(
            f"""SELECT e.car, e.team, e.model,
                   CASE WHEN EXISTS (SELECT 1 FROM logs l WHERE l.event = e.event AND l.session = ? AND l.car = e.car)
                        THEN 'logs stored, not judged' ELSE 'no log' END AS status
               FROM entries e WHERE e.event = ? AND e.car NOT IN (SELECT car FROM {view} WHERE event = ? AND
               session = ?{' AND bulletin_id = ?' if bulletin else ''})""",
            [session, event, event, session, *([bulletin] if bulletin else [])]))
        logs_by_run: dict[str, list[dict]] = {}
        for r in runs:
            logs_by_run[r["run_id"]] = _dicts(conn.execute(
                "SELECT l.*, rl.position FROM run_logs rl JOIN logs l USING (sha256) WHERE rl.run_id = ? "
                "ORDER BY rl.position", [r["run_id"]]))
    if not runs:
        what = f"car {car} of " if car else ""
        raise StoreError(f"no verdicts for {what}{event}/{session}" + (f" under bulletin {bulletin}" if bulletin
                                                                          else ""),
                         path=store.db, fix="ingest the logs with a bulletin, or 'bopwatch recheck' them")
    problems: list[str] = []
    cars = []
    for r in sorted(runs, key=lambda r: _car_key(r["car"])):
        logs = []
        for row in logs_by_run[r["run_id"]]:
            problem = verify_original(store.absolute(row["stored_path"]), row["sha256"]) if verify_originals \
                else None
            if problem:
                problems.append(problem)
            logs.append({**row, "integrity": "not checked" if not verify_originals else (problem or "intact")})
        cars.append(CarReport(r["car"], r["team"], r["entry_model"] or r["model"], r["entry_class"],
                              tuple(r["drivers"] or ()), r, json.loads(r["verdict_json"]), tuple(logs),
                              r["runs_total"]))
    return SessionReport(ev[0], se[0], tuple(cars), utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), tool_version(),
                         report_command(event, session, car=car, fmt=fmt, out=out, db=str(store.db),
                                        bulletin=bulletin), str(store.db), bulletin, tuple(problems),
                         tuple(sorted(unjudged, key=lambda u: _car_key(u["car"]))))


# -- evidence from the store ----------------------------------------------------------------------------------
def load_channels(store: Store, run: Mapping[str, Any], names: Sequence[str] | None = None) -> dict[str, Channel]:
    """The run's decoded canonical channels from its Parquet file ({} when it has none)."""
    if not run.get("channels_path"):
        return {}
    path = store.absolute(run["channels_path"])
    if not path.exists():
        log.warning("%s: channel file of run %s is missing", path, run["run_id"])
        return {}
    filters = [("channel", "in", list(names))] if names else None
    table = pq.read_table(path, columns=["time_s", "channel", "value", "unit", "bus", "source"], filters=filters)
    channel = np.asarray(table.column("channel").combine_chunks().dictionary_decode().to_numpy(zero_copy_only=False))
    time = table.column("time_s").to_numpy()
    value = table.column("value").to_numpy()
    units = table.column("unit").combine_chunks().dictionary_decode().to_pylist()
    sources = table.column("source").combine_chunks().dictionary_decode().to_pylist()
    buses = table.column("bus").to_pylist()
    out: dict[str, Channel] = {}
    for name in np.unique(channel):
        idx = np.flatnonzero(channel == name)
        first = int(idx[0])
        out[str(name)] = Channel(str(name), units[first], time[idx], value[idx], sources[first], buses[first])
    return out


def rule_spec(run: Mapping[str, Any], model: str, rule: str):
    """``(RuleSpec, Bulletin)`` of ``rule`` from the bulletin file the run used, or ``(None, reason)`` when the
    file is gone or its SHA-256 no longer matches the run's."""
    from .bulletins import load_bulletin
    from .errors import ComplianceError

    path = run.get("bulletin_path")
    if not path or not Path(path).exists():
        return None, f"bulletin file {path or '(not recorded)'} is not available"
    try:
        b = load_bulletin(path)
    except ComplianceError as err:
        return None, str(err)
    if b.sha256 != run["bulletin_sha256"]:
        return None, f"bulletin file {path} changed since the run (sha256 {b.sha256[:12]}...)"
    spec = b.models.get(model).rules.get(rule) if model in b.models else None
    return (spec, b) if spec is not None else (None, f"bulletin {b.id} has no {rule} rule for {model}")


def exceedance_objects(verdict: Mapping[str, Any]):
    from .verdict import Exceedance
    return [Exceedance(e["rule"], e["start_s"], e["end_s"], e["duration_s"], e["peak"], e["limit"], e["excess"],
                       e["unit"], e.get("lap")) for e in verdict.get("exceedances", [])]


# -- JSON and CSV ---------------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Rows as JSON values: timestamps (stored as naive UTC) as ISO text with a Z."""
    from datetime import date, datetime

    def conv(x: Any) -> Any:
        if isinstance(x, datetime):
            return x.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
        if isinstance(x, date):
            return x.isoformat()
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [conv(v) for v in x]
        return x
    return json.loads(canonical_json(conv(value)))


def to_json(report: SessionReport) -> str:
    obj = {
        "report": {"generated_at": report.generated_at, "tool": {"name": "bopwatch", "version": report.tool_version},
                   "command": report.command, "db": report.db, "verdict": report.verdict,
                   "bulletin_filter": report.bulletin_filter, "integrity_problems": list(report.problems)},
        "event": _jsonable(report.event), "session": _jsonable(report.session),
        "cars": [{"car": c.car, "team": c.team, "model": c.model, "class": c.class_, "drivers": list(c.drivers),
                  "run": _jsonable({k: v for k, v in c.run.items() if k not in {"verdict_json", "drivers", "team",
                                                                                 "entry_model", "entry_class"}}),
                  "logs": _jsonable([{k: v for k, v in log_.items() if k != "position"} for log_ in c.logs]),
                  "check": c.verdict} for c in report.cars],
        "unjudged": [dict(u) for u in report.unjudged],
    }
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


CSV_COLUMNS = ["event", "session", "car", "team", "model", "class", "session_verdict", "rule", "rule_verdict",
               "exceedance_count", "max_exceedances", "bulletin_id", "bulletin_sha256", "profile_sha256",
               "tool_version", "run_id", "log_sha256"]


def to_csv(report: SessionReport) -> str:
    """One row per car and rule (a car without rules gets one row with an empty rule)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in report.cars:
        rules = c.verdict.get("rules") or [{}]
        for r in rules:
            writer.writerow([c.run["event"], c.run["session"], c.car, c.team or "", c.model or "", c.class_ or "",
                             c.run["verdict"], r.get("rule", ""), r.get("verdict", ""),
                             r.get("exceedance_count", ""), r.get("max_exceedances", ""), c.run["bulletin_id"],
                             c.run["bulletin_sha256"], c.run["profile_sha256"], c.run["tool_version"],
                             c.run["run_id"], ";".join(log_["sha256"] for log_ in c.logs)])
    for u in report.unjudged:
        writer.writerow([report.event["event"], report.session["session"], u["car"], u["team"] or "",
                         u["model"] or "", "", u["status"], *[""] * (len(CSV_COLUMNS) - 7)])
    return buf.getvalue()


# -- HTML -----------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1250px}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:.88rem}
th,td{border:1px solid #ccc;padding:.25rem .55rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.compliant{color:#1a7f37;font-weight:bold}.infringement{color:#c0392b;font-weight:bold}
.incomplete{color:#b7791f;font-weight:bold}.error{color:#c0392b}.warning{color:#b7791f}
code,pre{font-size:.8rem}pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;word-break:break-all}
section.car{border-top:2px solid #444;margin-top:2rem}
"""


def _v(verdict: str | None) -> str:
    return f"<span class='{_e(verdict)}'>{_e(verdict)}</span>" if verdict else ""


def _matrix_html(report: SessionReport) -> str:
    rules = [r for r in RULES if any(x["rule"] == r for c in report.cars for x in c.verdict.get("rules", []))]
    rows = []
    for c in report.cars:
        by_rule = {x["rule"]: x for x in c.verdict.get("rules", [])}
        cells = [f"<a href='#car-{_e(c.car)}'>{_e(c.car)}</a>", _e(c.team), _e(c.model), _e(c.class_),
                 _v(c.run["verdict"])]
        for r in rules:
            x = by_rule.get(r)
            cells.append(f"{_v(x['verdict'])} {x.get('exceedance_count', '')}/{x.get('max_exceedances', '')}"
                         if x else "-")
        cells += [_e(c.run["bulletin_id"]), f"<code>{_e(c.run['run_id'][:12])}</code>"]
        rows.append(cells)
    for u in report.unjudged:
        rows.append([_e(u["car"]), _e(u["team"]), _e(u["model"]), "", f"<span class='incomplete'>"
                     f"{_e(u['status'])}</span>", *["-"] * len(rules), "", ""])
    return _table(["car", "team", "model", "class", "verdict", *[f"{r} (count/allowed)" for r in rules],
                   "bulletin", "run"], rows)


def _car_html(store: Store | None, c: CarReport, *, first_plot: list[bool], max_traces: int) -> str:
    v = c.verdict
    run = c.run
    parts = [f"<section class='car' id='car-{_e(c.car)}'><h2>Car {_e(c.car)} &middot; {_e(c.team)} &middot; "
             f"{_e(c.model)} &middot; {_v(run['verdict'])}</h2>",
             f"<p>Drivers: {_e(', '.join(c.drivers) or 'unknown')} &middot; class {_e(c.class_ or 'unknown')}</p>",
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
    parts.append(_table(["rule", "verdict", "exceedances", "allowed", "tolerance", "min duration s", "limit from",
                         "why incomplete"],
                        [[_e(r["rule"]), _v(r["verdict"]), _e(r.get("exceedance_count")),
                          _e(r.get("max_exceedances")), _e(f"{r.get('tolerance', '')} {r.get('unit', '')}"),
                          _e(r.get("min_duration_s")), _e(r.get("limit_source")),
                          _e("; ".join(r.get("reasons", [])))] for r in v.get("rules", [])], {2, 3}))
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
    if store is not None:
        parts.append(_evidence_html(store, c, first_plot=first_plot, max_traces=max_traces))
    parts.append("</section>")
    return "".join(parts)


def _evidence_html(store: Store, c: CarReport, *, first_plot: list[bool], max_traces: int) -> str:
    from .plots import figures_for_rule

    rules = [r["rule"] for r in c.verdict.get("rules", [])]
    if not rules:
        return ""
    channels = load_channels(store, c.run)
    if not channels:
        return "<p>Evidence plots: no decoded channels stored for this run.</p>"
    exceedances = exceedance_objects(c.verdict)
    parts = ["<h3>Evidence</h3>"]
    for name in rules:
        spec, bulletin = rule_spec(c.run, c.run["model"], name)
        if spec is None:
            parts.append(f"<p>{_e(name)}: no plot ({_e(bulletin)}).</p>")
            continue
        figs = figures_for_rule(spec, channels, exceedances, max_traces=max_traces,
                                reference_ambient_bar=bulletin.reference_ambient_pressure_bar)
        if not figs:
            parts.append(f"<p>{_e(name)}: no plot (a channel it needs is missing).</p>")
        count = sum(1 for e in exceedances if e.rule == name)
        if count > max_traces:
            parts.append(f"<p>{_e(name)}: traces of the first {max_traces} of {count} exceedances.</p>")
        for i, fig in enumerate(figs):
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first_plot[0],
                                     div_id=f"car{c.car}-{name}-{i}", config={"displaylogo": False}))
            first_plot[0] = False
    return "".join(parts)


def to_html(report: SessionReport, store: Store | None = None, *, max_traces: int = 12) -> str:
    ev, se = report.event, report.session
    title = f"{ev.get('name') or ev['event']} - {se.get('name') or se['session']}"
    parts = [f"<h1>BoP steward report: {_e(title)}</h1>",
             f"<p>Event <b>{_e(ev['event'])}</b> ({_e(ev.get('series'))}, {_e(ev.get('track'))}) &middot; session "
             f"<b>{_e(se['session'])}</b> ({_e(se.get('type'))}, start {_e(se.get('start_at'))} UTC) &middot; "
             f"overall {_v(report.verdict)} &middot; generated {_e(report.generated_at)} by bopwatch "
             f"{_e(report.tool_version)}</p>",
             f"<p>Reproduce this report: <pre>{_e(report.command)}</pre></p>"]
    if report.problems:
        parts.append("<h2 class='infringement'>Integrity problems</h2><ul>" +
                     "".join(f"<li>{_e(p)}</li>" for p in report.problems) + "</ul>")
    parts += ["<h2>Verdict matrix</h2>", _matrix_html(report)]
    first_plot = [True]
    for c in report.cars:
        parts.append(_car_html(store, c, first_plot=first_plot, max_traces=max_traces))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>bopwatch report: {_e(title)}</title><style>{_CSS}</style></head><body>"
            f"{''.join(parts)}</body></html>\n")


def render(report: SessionReport, fmt: str, store: Store | None = None) -> bytes:
    if fmt == "json":
        return to_json(report).encode()
    if fmt == "csv":
        return to_csv(report).encode()
    if fmt == "html":
        return to_html(report, store).encode()
    if fmt == "pdf":
        from .report_pdf import to_pdf
        return to_pdf(report, store)
    raise StoreError(f"unknown report format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")


def write_report(report: SessionReport, fmt: str, out: str | Path, store: Store | None = None) -> Path:
    """Write the report atomically (temporary file + rename) and return its path."""
    import os
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = render(report, fmt, store)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
