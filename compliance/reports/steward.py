"""Steward reports of a stored session (or one car): verdict matrix, every exceedance with its evidence, data
quality, file hashes, bulletin, profile and tool versions, and the exact commands that reproduce the verdicts and
the report, and per car a decision block the stewards print and sign. Formats: self-contained HTML with inline
SVG charts and no script (:mod:`compliance.reports.steward_html`), PDF (:mod:`compliance.reports.steward_pdf`, fpdf2 with vector
charts drawn without a browser), CSV and JSON. The charts come from :mod:`compliance.reports.plots`.

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
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq

from telemetry.channels import Channel

from ..errors import StoreError
from ..store.originals import verify_original
from ..store.schema import Store, canonical_json, tool_version, utcnow
from .ledger_section import LedgerSection, session_ledger

if TYPE_CHECKING:
    from .plots import Chart

__all__ = ["FORMATS", "CarReport", "SessionReport", "RuleFinding", "RuleCharts", "build_report",
           "report_command", "load_channels", "rule_spec", "rule_findings", "rule_charts", "report_rules",
           "EntryFacts", "entry_facts"]

log = logging.getLogger(__name__)

FORMATS = ("html", "pdf", "csv", "json")
RULES = ("boost", "fuel_flow", "power", "stint_energy")     # SPEC §3's; the matrix lists report_rules()


def report_rules(cars: Sequence[CarReport]) -> list[str]:
    """Every rule any car of the report was judged on, in verdict order (SPEC §5: the §3 rules, rev_limit,
    throttle, refuel_time, then ``limit.*`` by name)."""
    from ..bop.kinds import rule_order
    return sorted({r["rule"] for c in cars for r in c.verdict.get("rules", [])}, key=rule_order)


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
    outing: int = 1                     # the car's outing in the session (compliance.judge.outings)

    @property
    def label(self) -> str:
        """``7``, or ``7 (outing 2)`` for a second outing the user declared."""
        return self.car if self.outing == 1 else f"{self.car} (outing {self.outing})"

    @property
    def anchor(self) -> str:
        """The HTML id of the car's section: ``car-7``, ``car-7-outing-2``."""
        return f"car-{self.car}" if self.outing == 1 else f"car-{self.car}-outing-{self.outing}"


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
    audit_head: Mapping[str, Any] | None = None    # the store's last audit row when read (seq, hash, mac, key_id)
    ledger: LedgerSection | None = None            # the sanctions ledger rows of this session (ledger_section)

    @property
    def audit_line(self) -> str:
        """The audit head in one line, to pin the store on a signed copy (``audit verify --pin SEQ:HASH``)."""
        h = self.audit_head
        if not h:
            return "audit log: empty"
        mac = f", MAC {h['mac'][:16]}... (key id {h['key_id']})" if h.get("mac") else ", unkeyed"
        return f"audit head {h['seq']}:{h['hash']}{mac}"

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
        from ..store.audit import head_row
        audit_head = head_row(conn)
        ledger = session_ledger(conn, event, session, car)
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
    for r in sorted(runs, key=lambda r: (_car_key(r["car"]), r.get("outing") or 1)):
        logs = []
        for row in logs_by_run[r["run_id"]]:
            problem = verify_original(store.absolute(row["stored_path"]), row["sha256"]) if verify_originals \
                else None
            if problem:
                problems.append(problem)
            logs.append({**row, "integrity": "not checked" if not verify_originals else (problem or "intact")})
        cars.append(CarReport(r["car"], r["team"], r["entry_model"] or r["model"], r["entry_class"],
                              tuple(r["drivers"] or ()), r, json.loads(r["verdict_json"]), tuple(logs),
                              r["runs_total"], r.get("outing") or 1))
    return SessionReport(ev[0], se[0], tuple(cars), utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), tool_version(),
                         report_command(event, session, car=car, fmt=fmt, out=out, db=str(store.db),
                                        bulletin=bulletin), str(store.db), bulletin, tuple(problems),
                         tuple(sorted(unjudged, key=lambda u: _car_key(u["car"]))),
                         audit_head.to_dict() if audit_head else None, ledger)


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


def _run_bulletin(run: Mapping[str, Any]):
    """``(Bulletin, None)`` from the file the run used, or ``(None, reason)`` when it is gone or changed."""
    from ..bop.bulletins import load_bulletin
    from ..errors import ComplianceError

    path = run.get("bulletin_path")
    if not path or not Path(path).exists():
        return None, f"bulletin file {path or '(not recorded)'} is not available"
    try:
        b = load_bulletin(path)
    except ComplianceError as err:
        return None, str(err)
    if b.sha256 != run["bulletin_sha256"]:
        return None, f"bulletin file {path} changed since the run (sha256 {b.sha256[:12]}...)"
    return b, None


def _entry_of(b, model: str, car: str | None):
    """The bulletin entry that judged the car: ``[cars."N"]`` when the verdict names it, else the model's."""
    from .rule_facts import entry_of
    return entry_of(b, model, car)


def rule_spec(run: Mapping[str, Any], model: str, rule: str, car: str | None = None):
    """``(RuleSpec, Bulletin)`` of ``rule`` from the bulletin file the run used (from the car entry ``car`` when
    the bulletin has one, SPEC §5), or ``(None, reason)`` when the file is gone or its SHA-256 no longer matches
    the run's."""
    b, problem = _run_bulletin(run)
    if b is None:
        return None, problem
    entry = _entry_of(b, model, car)
    spec = entry.rules.get(rule) if entry is not None else None
    return (spec, b) if spec is not None else (None, f"bulletin {b.id} has no {rule} rule for {model}")


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What the bulletin says of the car besides its limits (SPEC §5): the car entry that judged it (or None) and
    the informational fields of the model with the car's over them (never judged); ``problem`` when the bulletin
    file cannot be read back."""

    car_entry: str | None
    info: Mapping[str, Any]
    problem: str | None = None


def entry_facts(c: CarReport) -> EntryFacts:
    car = (c.verdict.get("bulletin") or {}).get("car_entry")
    b, problem = _run_bulletin(c.run)
    if b is None:
        return EntryFacts(car, {}, problem)
    entry = _entry_of(b, c.run["model"], car)
    if entry is None:
        return EntryFacts(car, {}, f"bulletin {b.id} has no entry for {c.run['model']}")
    info = dict(entry.info)
    if entry.min_weight_kg is not None:
        info.setdefault("min_weight_kg", f"{entry.min_weight_kg:g}")
    return EntryFacts(car, info)


def exceedance_objects(verdict: Mapping[str, Any]):
    from ..judge.verdict import Exceedance
    return [Exceedance(e["rule"], e["start_s"], e["end_s"], e["duration_s"], e["peak"], e["limit"], e["excess"],
                       e["unit"], e.get("lap")) for e in verdict.get("exceedances", [])]


# -- what the stewards decide on ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleFinding:
    """One row of a car's decision block: the rule, its verdict and the finding in words."""

    rule: str
    verdict: str
    finding: str
    needs_decision: bool            # infringement or incomplete: a steward decides


def _worst(exceedances: Sequence[Mapping[str, Any]]) -> str:
    e = max(exceedances, key=lambda x: x["excess"])
    lap = f", lap {e['lap']}" if e.get("lap") is not None else ""
    return (f"worst excess {e['excess']:.4g} {e['unit']} at {e['start_s']:.3f} s{lap} (peak {e['peak']:.5g}, "
            f"limit {e['limit']:.5g} {e['unit']}, {e['duration_s']:.3f} s)")


def rule_findings(c: CarReport) -> tuple[RuleFinding, ...]:
    """The car's rules as its decision block lists them, in verdict order."""
    from .rule_facts import v2_summary
    out = []
    for r in c.verdict.get("rules", []):
        mine = [e for e in c.verdict.get("exceedances", []) if e["rule"] == r["rule"]]
        count, allowed = r.get("exceedance_count", len(mine)), r.get("max_exceedances", 0)
        text = f"{count} exceedance{'s' if count != 1 else ''}, {allowed} allowed"
        if mine:
            text += f"; {_worst(mine)}"
        facts = v2_summary(r)
        if facts:
            text += f"; {facts}"
        if r["verdict"] == "incomplete":
            text += "; not judged fully: " + ("; ".join(r.get("reasons", [])) or "see the rule table")
        out.append(RuleFinding(r["rule"], r["verdict"], text, r["verdict"] in ("infringement", "incomplete")))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RuleCharts:
    """The evidence charts of one rule of one car, or why there are none (``message``)."""

    rule: str
    charts: tuple[Chart, ...] = ()
    message: str | None = None


def rule_charts(store: Store, c: CarReport, *, max_traces: int) -> list[RuleCharts]:
    """Per rule of the car: the value-vs-key chart, the session chart and the first ``max_traces`` close-ups."""
    from .plots import charts_for_rule

    rules = [r["rule"] for r in c.verdict.get("rules", [])]
    channels = load_channels(store, c.run) if rules else {}
    if not channels:
        return [RuleCharts(r, message="no chart: no decoded channels stored for this run") for r in rules]
    exceedances = exceedance_objects(c.verdict)
    car = (c.verdict.get("bulletin") or {}).get("car_entry")
    out = []
    for name in rules:
        spec, bulletin = rule_spec(c.run, c.run["model"], name, car)
        if spec is None:
            out.append(RuleCharts(name, message=f"no chart: {bulletin}"))
            continue
        charts = charts_for_rule(spec, channels, exceedances, max_traces=max_traces,
                                 reference_ambient_bar=bulletin.reference_ambient_pressure_bar)
        count = sum(1 for e in exceedances if e.rule == name)
        message = None
        if not charts:
            message = "no chart: a channel it needs is missing"
        elif count > max_traces:
            message = f"close-ups of the first {max_traces} of {count} exceedances (all are in the table)"
        out.append(RuleCharts(name, tuple(charts), message))
    return out


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
                   "bulletin_filter": report.bulletin_filter, "integrity_problems": list(report.problems),
                   "audit_head": dict(report.audit_head) if report.audit_head else None},
        "event": _jsonable(report.event), "session": _jsonable(report.session),
        "cars": [{"car": c.car, "outing": c.outing, "team": c.team, "model": c.model, "class": c.class_, "drivers": list(c.drivers),
                  "run": _jsonable({k: v for k, v in c.run.items() if k not in {"verdict_json", "drivers", "team",
                                                                                 "entry_model", "entry_class"}}),
                  "logs": _jsonable([{k: v for k, v in log_.items() if k != "position"} for log_ in c.logs]),
                  "check": c.verdict} for c in report.cars],
        "unjudged": [dict(u) for u in report.unjudged],
        "ledger": report.ledger.to_dict() if report.ledger else None,
    }
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


CSV_COLUMNS = ["event", "session", "car", "team", "model", "class", "session_verdict", "rule", "rule_verdict",
               "exceedance_count", "max_exceedances", "bulletin_id", "bulletin_sha256", "profile_sha256",
               "tool_version", "run_id", "log_sha256", "outing"]


#: a text cell starting with one of these is a formula to a spreadsheet (``=HYPERLINK(...)``, ``+cmd|...``,
#: ``@SUM(...)``; tab and carriage return too, as OWASP lists them): written with a leading apostrophe
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows and does not evaluate (team names, car numbers and sessions
    come from uploads and sidecars). Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _SafeWriter:
    """A ``csv.writer`` whose text cells cannot start a formula."""

    def __init__(self, buf: io.StringIO) -> None:
        self._writer = csv.writer(buf, lineterminator="\n")

    def writerow(self, row: list) -> None:
        self._writer.writerow([_csv_cell(v) for v in row])


def to_csv(report: SessionReport) -> str:
    """One row per car and rule (a car without rules gets one row with an empty rule); text cells that a
    spreadsheet would take for a formula start with an apostrophe."""
    buf = io.StringIO()
    writer = _SafeWriter(buf)
    writer.writerow(CSV_COLUMNS)
    for c in report.cars:
        rules = c.verdict.get("rules") or [{}]
        for r in rules:
            writer.writerow([c.run["event"], c.run["session"], c.car, c.team or "", c.model or "", c.class_ or "",
                             c.run["verdict"], r.get("rule", ""), r.get("verdict", ""),
                             r.get("exceedance_count", ""), r.get("max_exceedances", ""), c.run["bulletin_id"],
                             c.run["bulletin_sha256"], c.run["profile_sha256"], c.run["tool_version"],
                             c.run["run_id"], ";".join(log_["sha256"] for log_ in c.logs), c.outing])
    for u in report.unjudged:
        writer.writerow([report.event["event"], report.session["session"], u["car"], u["team"] or "",
                         u["model"] or "", "", u["status"], *[""] * (len(CSV_COLUMNS) - 7)])
    return buf.getvalue()
