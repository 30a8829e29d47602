"""Every read the dashboard makes, with authorisation enforced here.

Each function takes the :class:`~compliance.access.auth.Viewer` first and filters team-owned rows: a ``team`` viewer
sees only the cars its team has in the entry list (``entries.team``), a car absent from the entry list is
visible to scrutineers and technical staff only. Asking for something the viewer may not see gives the same
:class:`NotFound` as asking for something that does not exist (no existence leak). Nothing is cached here.

Connections are short and read-only (``Store.reading()``); channel traces are read straight from the Parquet
files, min/max-decimated on the server (:func:`decimate_minmax`) unless a time window small enough for every
sample is asked for. No Streamlit import.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from telemetry.channels import Channel

from ..bop import RULE_NAMES, Bulletin, RuleSpec, diff_bulletins, load_bulletin
from ..errors import ComplianceError
from ..judge.outings import LogSpan, Outing, span_of
from ..judge.rules import held_at, limit_series
from ..judge.verdict import Exceedance
from ..store.originals import read_channels_parquet, sha256_file
from ..store.schema import Store, open_store
from .auth import AuthError, Viewer, require
from .sampling import binned_max as _binned_max
from .sampling import decimate_minmax

__all__ = [
    "NotFound", "Filters", "RuleCell", "MatrixRow", "RunDetail", "BulletinInfo",
    "open_for", "filter_options", "session_matrix", "matrix_rules", "car_runs", "run_detail", "exceedance_windows",
    "entry_list", "sessions_of", "bulletins", "bulletin", "bulletin_changes", "fleet_models", "audit_rows",
    "audit_status", "audit_actions", "verdict_json", "Trace", "RuleEvidence", "decimate_minmax", "channel_trace", "limit_trace",
    "rule_evidence", "power_curve", "fleet_envelope", "steward_report", "outings", "Outing", "LogSpan",
]

log = logging.getLogger(__name__)


class NotFound(ComplianceError):
    """Nothing the viewer may see matches (it does not exist, or it belongs to another team)."""


def open_for(db: str | Path | None) -> Store:
    """The existing store at ``db`` (argument > BOPWATCH_DB > default); StoreError when there is none."""
    return open_store(db, create=False)


# -- authorisation ------------------------------------------------------------------------------------------
def _scope(viewer: Viewer, alias: str) -> tuple[str, list[Any]]:
    """SQL condition restricting rows of ``alias`` (which has event and car columns) to the viewer's cars."""
    if viewer.role not in ("scrutineer", "technical", "team"):
        raise AuthError(f"unknown role {viewer.role!r}", fix="log in again")
    if viewer.sees_all_cars:
        return "TRUE", []
    if not viewer.team:
        raise AuthError("a team viewer without a team sees nothing", fix="fix the accounts file")
    return (f"EXISTS (SELECT 1 FROM entries e_ WHERE e_.event = {alias}.event AND e_.car = {alias}.car "
            f"AND e_.team = ?)"), [viewer.team]


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cur = conn.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


# -- filters and the session matrix ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Filters:
    """What the viewer can filter by (only values from cars it may see)."""

    events: tuple[tuple[str, str], ...]              # (event id, display name)
    sessions: Mapping[str, tuple[tuple[str, str], ...]]   # event -> (session id, display name)
    classes: tuple[str, ...]
    models: tuple[str, ...]
    teams: tuple[str, ...]


def filter_options(viewer: Viewer, store: Store) -> Filters:
    scope_e, p_e = _scope(viewer, "x")
    scope_r, p_r = _scope(viewer, "r")
    with store.reading() as conn:
        # an event or session is listed when the viewer has an entry or a run in it
        events = conn.execute(f"""
            SELECT DISTINCT v.event, coalesce(ev.name, v.event) FROM (
                SELECT event FROM entries x WHERE {scope_e}
                UNION SELECT event FROM runs r WHERE {scope_r}) v
            LEFT JOIN events ev USING (event) ORDER BY 1""", p_e + p_r).fetchall()
        sessions = conn.execute(f"""
            SELECT DISTINCT r.event, r.session, coalesce(s.name, r.session), min(s.start_at) OVER w
            FROM runs r LEFT JOIN sessions s USING (event, session) WHERE {scope_r}
            WINDOW w AS (PARTITION BY r.event, r.session) ORDER BY 1, 4 NULLS LAST, 2""", p_r).fetchall()
        ent = conn.execute(f"SELECT DISTINCT class, model, team FROM entries x WHERE {scope_e}", p_e).fetchall()
        run_models = conn.execute(f"SELECT DISTINCT model FROM runs r WHERE {scope_r}", p_r).fetchall()
    by_event: dict[str, list[tuple[str, str]]] = {}
    for event, session, name, _ in sessions:
        by_event.setdefault(event, []).append((session, name))
    return Filters(
        events=tuple((e, n) for e, n in events),
        sessions={e: tuple(s) for e, s in by_event.items()},
        classes=tuple(sorted({c for c, _, _ in ent if c})),
        models=tuple(sorted({m for _, m, _ in ent if m} | {m for (m,) in run_models if m})),
        teams=tuple(sorted({t for _, _, t in ent if t})),
    )


@dataclass(frozen=True, slots=True)
class RuleCell:
    verdict: str
    count: int | None
    allowance: int | None

    @property
    def text(self) -> str:
        mark = {"compliant": "OK", "infringement": "INFRINGEMENT", "incomplete": "INCOMPLETE"}.get(
            self.verdict, self.verdict)
        return f"{mark} {self.count}/{self.allowance}" if self.count is not None else mark


@dataclass(frozen=True, slots=True)
class MatrixRow:
    event: str
    session: str
    car: str
    team: str | None
    model: str | None
    klass: str | None
    run_id: str | None           # None: the car is entered but no log has been checked for this session
    verdict: str | None
    bulletin_id: str | None
    rules: Mapping[str, RuleCell] = field(default_factory=dict)
    outing: int = 1              # the car's outing in the session (compliance.judge.outings); 1 unless declared new

    @property
    def label(self) -> str:
        """The car as a row is labelled: ``7``, or ``7 (outing 2)`` for a declared second outing."""
        return self.car if self.outing == 1 else f"{self.car} (outing {self.outing})"


def _car_key(car: str) -> tuple:
    return (0, int(car), car) if car.isdigit() else (1, 0, car)


def session_matrix(viewer: Viewer, store: Store, *, event: str, session: str | None = None,
                   classes: Sequence[str] = (), models: Sequence[str] = (),
                   teams: Sequence[str] = ()) -> list[MatrixRow]:
    """Cars x rules for one event (one session, or all): the latest run's verdict per rule, with the count of
    exceedances against the allowance. With a session, entered cars without a run are listed too."""
    scope, params = _scope(viewer, "r")
    where = ["r.event = ?", scope]
    args: list[Any] = [event, *params]
    if session:
        where.append("r.session = ?")
        args.append(session)
    with store.reading() as conn:
        runs = _rows(conn, f"""
            SELECT r.event, r.session, r.car, r.run_id, r.verdict, r.bulletin_id, r.model AS run_model,
                   e.team, e.model, e.class AS klass, coalesce(r.outing, 1) AS outing
            FROM latest_runs r LEFT JOIN entries e USING (event, car)
            WHERE {' AND '.join(where)}""", args)
        ids = [r["run_id"] for r in runs]
        cells = _rows(conn, "SELECT run_id, rule, verdict, exceedance_count, max_exceedances FROM rule_results "
                            "WHERE list_contains(?, run_id)", [ids]) if ids else []
        missing: list[dict] = []
        if session:
            scope_e, p_e = _scope(viewer, "e")
            missing = _rows(conn, f"""
                SELECT e.event, ? AS session, e.car, e.team, e.model, e.class AS klass FROM entries e
                WHERE e.event = ? AND {scope_e} AND NOT EXISTS (SELECT 1 FROM runs r
                    WHERE r.event = e.event AND r.session = ? AND r.car = e.car)""",
                            [session, event, *p_e, session])
    by_run: dict[str, dict[str, RuleCell]] = {}
    for c in cells:
        by_run.setdefault(c["run_id"], {})[c["rule"]] = RuleCell(c["verdict"], c["exceedance_count"],
                                                                c["max_exceedances"])
    out = [MatrixRow(r["event"], r["session"], r["car"], r["team"], r["model"] or r["run_model"], r["klass"],
                     r["run_id"], r["verdict"], r["bulletin_id"], by_run.get(r["run_id"], {}), r["outing"])
           for r in runs]
    out += [MatrixRow(m["event"], m["session"], m["car"], m["team"], m["model"], m["klass"], None, None, None)
            for m in missing]
    out = [row for row in out if (not classes or row.klass in classes) and (not models or row.model in models)
           and (not teams or row.team in teams)]
    out.sort(key=lambda row: (row.session, _car_key(row.car), row.outing))
    return out


def matrix_rules(rows: Sequence[MatrixRow]) -> list[str]:
    """The rules that appear in ``rows``, in SPEC order."""
    present = {rule for row in rows for rule in row.rules}
    return [r for r in RULE_NAMES if r in present] + sorted(present - set(RULE_NAMES))




# -- one car, one run ---------------------------------------------------------------------------------------
def car_runs(viewer: Viewer, store: Store, *, event: str | None = None, session: str | None = None,
             car: str | None = None) -> list[dict]:
    """Runs the viewer may see (newest first), optionally for one event/session/car: the choices of the
    Car and run page."""
    scope, params = _scope(viewer, "r")
    where, args = [scope], list(params)
    for column, value in (("event", event), ("session", session), ("car", car)):
        if value:
            where.append(f"r.{column} = ?")
            args.append(value)
    with store.reading() as conn:
        return _rows(conn, f"""
            SELECT r.run_id, r.event, r.session, r.car, r.model, r.verdict, r.bulletin_id, r.created_at,
                   r.reason, r.log_count, r.run_id IN (SELECT run_id FROM latest_runs) AS latest,
                   coalesce(r.outing, 1) AS outing
            FROM runs r WHERE {' AND '.join(where)}
            ORDER BY r.event, r.session, r.car, r.outing, r.created_at DESC""", args)


def outings(viewer: Viewer, store: Store, event: str, session: str, car: str) -> list[Outing]:
    """The car's outings in the session as stored (each with its logs' time ranges and its latest run), for the
    upload's question "add to this run, or a new run?". Empty when the viewer may not see the car."""
    scope, params = _scope(viewer, "l")
    with store.reading() as conn:
        logs = _rows(conn, f"""SELECT coalesce(l.outing, 1) AS outing, l.original_name, l.start_at, l.duration_s
            FROM logs l WHERE l.event = ? AND l.session = ? AND l.car = ? AND {scope}
            ORDER BY outing, l.start_at NULLS LAST, l.original_name""", [event, session, car, *params])
        runs = {r["outing"]: r for r in _rows(conn, """SELECT coalesce(outing, 1) AS outing, run_id, verdict
            FROM latest_runs WHERE event = ? AND session = ? AND car = ?""", [event, session, car])}
    spans: dict[int, list[LogSpan]] = {}
    for row in logs:
        spans.setdefault(row["outing"], []).append(span_of(row["original_name"], row["start_at"],
                                                           row["duration_s"]))
    return [Outing(n, tuple(s), runs.get(n, {}).get("verdict"), runs.get(n, {}).get("run_id"))
            for n, s in sorted(spans.items())]


@dataclass(frozen=True, slots=True)
class RunDetail:
    run: Mapping[str, Any]                      # the runs row (provenance: hashes, versions, command, actor)
    entry: Mapping[str, Any] | None             # team, model, class, drivers
    logs: tuple[Mapping[str, Any], ...]         # the originals joined, in order, with their findings
    rules: tuple[Mapping[str, Any], ...]
    exceedances: tuple[Mapping[str, Any], ...]
    quality: tuple[Mapping[str, Any], ...]
    channels: tuple[Mapping[str, Any], ...]     # channel summaries
    laps: tuple[Mapping[str, Any], ...]         # from the verdict's laps extension, when present
    channels_file: Path | None                  # the run's Parquet file of decoded channels
    car_entry: str | None = None                # the bulletin's [cars."N"] entry that judged it (SPEC §5)


def _visible_run(conn: duckdb.DuckDBPyConnection, viewer: Viewer, run_id: str) -> dict:
    scope, params = _scope(viewer, "r")
    rows = _rows(conn, f"SELECT * FROM runs r WHERE r.run_id = ? AND {scope}", [run_id, *params])
    if not rows:
        raise NotFound(f"no run {run_id!r} you may see", fix="pick a run from the list")
    return rows[0]


def run_detail(viewer: Viewer, store: Store, run_id: str) -> RunDetail:
    with store.reading() as conn:
        run = _visible_run(conn, viewer, run_id)
        entry = _rows(conn, "SELECT team, model, class, drivers FROM entries WHERE event = ? AND car = ?",
                      [run["event"], run["car"]])
        logs = _rows(conn, """SELECT l.sha256, l.original_name, l.format, l.size, l.frames, l.buses, l.ids,
                                     l.start_at, l.duration_s, l.logger_serial, l.findings, l.ingested_at,
                                     l.ingested_by, rl.position
                              FROM run_logs rl JOIN logs l USING (sha256) WHERE rl.run_id = ?
                              ORDER BY rl.position""", [run_id])
        rules = _rows(conn, "SELECT rule, verdict, exceedance_count, max_exceedances, detail FROM rule_results "
                            "WHERE run_id = ? ORDER BY rule", [run_id])
        exc = _rows(conn, "SELECT idx, rule, start_s, end_s, duration_s, peak, limit_value, excess, unit, detail "
                          "FROM exceedances WHERE run_id = ? ORDER BY idx", [run_id])
        quality = _rows(conn, "SELECT idx, check_name, channel, start_s, end_s, severity, message, detail "
                              "FROM quality_findings WHERE run_id = ? ORDER BY idx", [run_id])
        channels = _rows(conn, "SELECT * EXCLUDE (run_id) FROM channel_summaries WHERE run_id = ? "
                               "ORDER BY channel", [run_id])
    for row in logs:
        row["findings"] = _json(row["findings"]) or []
    for row in (*rules, *exc, *quality):
        row["detail"] = _json(row["detail"]) or {}
    verdict = _json(run["verdict_json"]) or {}
    run = {k: v for k, v in run.items() if k != "verdict_json"}
    path = store.absolute(run["channels_path"]) if run.get("channels_path") else None
    return RunDetail(run, entry[0] if entry else None, tuple(logs), tuple(rules), tuple(exc), tuple(quality),
                     tuple(channels), tuple(verdict.get("laps") or ()), path,
                     (verdict.get("bulletin") or {}).get("car_entry"))


def verdict_json(viewer: Viewer, store: Store, run_id: str) -> str:
    """The run's SPEC §4 verdict JSON text, as stored (what the steward report cites)."""
    with store.reading() as conn:
        return _visible_run(conn, viewer, run_id)["verdict_json"]


def exceedance_windows(detail: RunDetail, rule: str | None = None, *,
                       margin_s: float = 3.0) -> list[tuple[float, float]]:
    """(start, end) of each exceedance of ``rule`` (or all), widened by ``margin_s``: windows to zoom into."""
    return [(max(0.0, e["start_s"] - margin_s), e["end_s"] + margin_s) for e in detail.exceedances
            if rule is None or e["rule"] == rule]


# -- entry list (upload) ------------------------------------------------------------------------------------
def entry_list(viewer: Viewer, store: Store, event: str) -> list[dict]:
    """The event's entry list as the viewer may see it (car, team, model, class, drivers)."""
    scope, params = _scope(viewer, "e")
    with store.reading() as conn:
        rows = _rows(conn, f"SELECT car, team, model, class, drivers FROM entries e WHERE e.event = ? AND {scope}",
                     [event, *params])
    return sorted(rows, key=lambda r: _car_key(r["car"]))


def sessions_of(viewer: Viewer, store: Store, event: str) -> list[dict]:
    """Every session of an event (sessions are not team data: the timetable is public)."""
    with store.reading() as conn:
        return _rows(conn, "SELECT session, coalesce(name, session) AS name, type, start_at FROM sessions "
                           "WHERE event = ? ORDER BY start_at NULLS LAST, session", [event])


# -- bulletins ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BulletinInfo:
    id: str
    sha256: str
    path: str | None
    runs: int
    first_used: datetime | None
    bulletin: Bulletin | None       # loaded from path when the file is still there with the same hash
    problem: str | None             # why it could not be loaded


def bulletins(viewer: Viewer, store: Store) -> list[BulletinInfo]:
    """The bulletins the viewer's runs were checked under (oldest first), with their content when the file is
    still on disk unchanged."""
    scope, params = _scope(viewer, "r")
    with store.reading() as conn:
        rows = conn.execute(f"""
            SELECT bulletin_id, bulletin_sha256, any_value(bulletin_path), count(*), min(created_at)
            FROM runs r WHERE {scope} GROUP BY 1, 2 ORDER BY 5, 1""", params).fetchall()
    out = []
    for bid, sha, path, n, first in rows:
        loaded, problem = _load_checked(path, sha)
        out.append(BulletinInfo(bid, sha, path, int(n), first, loaded, problem))
    return out


def _load_checked(path: str | None, sha: str) -> tuple[Bulletin | None, str | None]:
    if not path:
        return None, "the run did not record the bulletin's path"
    try:
        if sha256_file(path) != sha:
            return None, f"{path} has changed since the runs were checked (hash differs)"
        return load_bulletin(path), None
    except FileNotFoundError:
        return None, f"{path} is no longer on disk"
    except ComplianceError as err:
        return None, str(err)


def bulletin(viewer: Viewer, store: Store, bulletin_id: str, sha256: str | None = None) -> BulletinInfo:
    for info in bulletins(viewer, store):
        if info.id == bulletin_id and (sha256 is None or info.sha256 == sha256):
            return info
    raise NotFound(f"no bulletin {bulletin_id!r} among your runs", fix="pick one from the list")


def bulletin_changes(old: BulletinInfo, new: BulletinInfo) -> list[dict]:
    """What changed between two loaded bulletins (compliance.bop.bulletins.diff_bulletins)."""
    if old.bulletin is None or new.bulletin is None:
        raise NotFound("both bulletins must be readable to compare them",
                       fix=old.problem or new.problem or "pick two readable bulletins")
    return diff_bulletins(old.bulletin, new.bulletin)


def fleet_models(viewer: Viewer, store: Store) -> list[str]:
    scope, params = _scope(viewer, "r")
    with store.reading() as conn:
        return [m for (m,) in conn.execute(f"SELECT DISTINCT model FROM runs r WHERE {scope} ORDER BY 1",
                                           params).fetchall()]


# -- audit --------------------------------------------------------------------------------------------------
def audit_rows(viewer: Viewer, store: Store, *, action: str | None = None, limit: int = 200,
               before_seq: int | None = None) -> list[dict]:
    """The newest audit rows (scrutineers and technical staff only)."""
    require(viewer, "audit")
    where, args = ["TRUE"], []
    if action:
        where.append("action = ?")
        args.append(action)
    if before_seq is not None:
        where.append("seq < ?")
        args.append(int(before_seq))
    with store.reading() as conn:
        return _rows(conn, f"""SELECT seq, logged_at, actor, action, subject, detail, hash FROM audit_log
                               WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?""",
                     [*args, max(1, min(int(limit), 5000))])


def audit_status(viewer: Viewer, store: Store, *, originals: bool = False) -> dict:
    """The audit chain check (compliance.store.audit.verify) as a dict: ok, rows, head_seq, problems, mac (status,
    key id), rows_checked, parquet_checked, notes; plus ``head``: the head row's pin ``seq:hash`` (what a signed
    report prints), or None for an empty store."""
    require(viewer, "audit")
    from ..store.audit import head, verify
    status = verify(store, originals=originals).to_dict()
    h, _ = head(store)
    return status | {"head": None if h is None else h.pin}


# -- traces ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Trace:
    """A channel's samples as sent to the browser: every sample, or a min/max envelope (``decimated``)."""

    channel: str
    unit: str
    time: np.ndarray
    value: np.ndarray
    samples: int            # samples in the asked window before decimation
    decimated: bool


def _read_channels(path: Path | None, names: Sequence[str]) -> dict[str, Channel]:
    if path is None or not path.exists():
        raise NotFound("this run has no decoded channel file", place=str(path) if path else None,
                       fix="re-ingest the log with 'bopwatch ingest' to decode its channels")
    return read_channels_parquet(path, names)


def _window(t: np.ndarray, window: tuple[float, float] | None) -> slice:
    if window is None:
        return slice(0, len(t))
    a, b = np.searchsorted(t, [window[0], window[1]], side="left")
    return slice(int(a), int(b) + 1)


def channel_trace(viewer: Viewer, store: Store, run_id: str, channel: str, *,
                  window: tuple[float, float] | None = None, max_points: int = 4000) -> Trace:
    """One channel of a run, within ``window`` (session seconds) if given; decimated above ``max_points``."""
    detail = run_detail(viewer, store, run_id)
    found = _read_channels(detail.channels_file, [channel])
    if channel not in found:
        raise NotFound(f"run {run_id} has no channel {channel!r}", fix="pick a channel the run decoded")
    ch = found[channel]
    part = _window(ch.time, window)
    t, v = ch.time[part], ch.value[part]
    dt, dv = decimate_minmax(t, v, max_points)
    return Trace(channel, ch.unit, dt, dv, len(t), len(dt) < len(t))


def _rule_spec(detail: RunDetail, rule: str) -> tuple[RuleSpec, Bulletin]:
    loaded, problem = _load_checked(detail.run.get("bulletin_path"), detail.run["bulletin_sha256"])
    if loaded is None:
        raise NotFound(f"cannot draw the {rule} limit: {problem}", fix="keep bulletins where they were checked")
    from ..reports.rule_facts import entry_of  # the car entry that judged the run (SPEC §5), else the model's
    model = entry_of(loaded, detail.run["model"], detail.car_entry)
    if model is None or rule not in model.rules:
        raise NotFound(f"bulletin {loaded.id} has no {rule} rule for {detail.run['model']}",
                       fix="pick a rule the bulletin sets")
    return model.rules[rule], loaded


def limit_trace(viewer: Viewer, store: Store, run_id: str, rule: str, *,
                window: tuple[float, float] | None = None, max_points: int = 4000) -> Trace:
    """The limit plus tolerance the rule applied, at the limited channel's sample times (key held from its last
    sample, ambient correction as in :func:`compliance.judge.rules.evaluate`)."""
    detail = run_detail(viewer, store, run_id)
    spec, loaded = _rule_spec(detail, rule)
    needs = [*spec.needs, *(["ambient_pressure"] if spec.ambient_correction or spec.ratio else [])]
    chans = _read_channels(detail.channels_file, needs)
    if spec.channel not in chans:
        raise NotFound(f"run {run_id} has no {spec.channel}", fix="the rule was incomplete for this run")
    value = chans[spec.channel]
    part = _window(value.time, window)
    t = value.time[part]
    if spec.key and spec.key not in chans:
        raise NotFound(f"run {run_id} has no {spec.key}", fix="the rule was incomplete for this run")
    limit, _ = limit_series(spec, chans, t, loaded.reference_ambient_pressure_bar)
    limit = limit + spec.tolerance
    dt, dv = decimate_minmax(t, limit, max_points)
    return Trace(f"{rule} limit", spec.unit, dt, dv, len(t), len(dt) < len(t))


@dataclass(frozen=True, slots=True)
class RuleEvidence:
    """What :mod:`compliance.reports.plots` needs to draw one rule of one run: the rule as the bulletin sets it, the
    channels it reads, the exceedances found, and the bulletin's reference ambient pressure."""

    spec: RuleSpec
    channels: Mapping[str, Channel]
    exceedances: tuple[Exceedance, ...]
    reference_ambient_bar: float


def rule_evidence(viewer: Viewer, store: Store, run_id: str, rule: str) -> RuleEvidence:
    detail = run_detail(viewer, store, run_id)
    spec, loaded = _rule_spec(detail, rule)
    needs = [*spec.needs, "ambient_pressure"] if spec.ambient_correction or spec.ratio else list(spec.needs)
    chans = _read_channels(detail.channels_file, needs)
    found = tuple(Exceedance(e["rule"], e["start_s"], e["end_s"], e["duration_s"], e["peak"], e["limit_value"],
                             e["excess"], e["unit"] or spec.unit, (e["detail"] or {}).get("lap"))
                  for e in detail.exceedances if e["rule"] == rule)
    return RuleEvidence(spec, chans, found, loaded.reference_ambient_pressure_bar)


def power_curve(viewer: Viewer, store: Store, run_id: str, *, bin_rpm: float = 250.0) -> dict:
    """Power against engine speed: per rpm bin the maximum and the 95th percentile (kW)."""
    detail = run_detail(viewer, store, run_id)
    chans = _read_channels(detail.channels_file, ["power", "engine_speed"])
    if "power" not in chans or "engine_speed" not in chans:
        raise NotFound(f"run {run_id} has no power or engine_speed channel", fix="the profile derives no power")
    p = chans["power"]
    rpm = held_at(chans["engine_speed"], p.time)
    centres, top = _binned_max(rpm, p.value, bin_rpm)
    ok = ~(np.isnan(rpm) | np.isnan(p.value))
    bins = np.floor(rpm[ok] / bin_rpm)
    p95 = np.array([np.percentile(p.value[ok][bins == b], 95) for b in np.floor(centres / bin_rpm)])
    return {"rpm": centres, "max_kw": top, "p95_kw": p95}


def fleet_envelope(viewer: Viewer, store: Store, model: str, quantity: str, *,
                   bin_rpm: float = 250.0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """For one model, per car and session (latest runs the viewer may see) the maximum of ``quantity``
    (``boost_pressure`` or ``power``) per engine-speed bin: ``[(label, rpm, max), ...]``."""
    if quantity not in ("boost_pressure", "power", "fuel_flow"):
        raise NotFound(f"no envelope for {quantity!r}", fix="use boost_pressure, power or fuel_flow")
    scope, params = _scope(viewer, "r")
    with store.reading() as conn:
        runs = _rows(conn, f"""SELECT r.event, r.session, r.car, r.channels_path FROM latest_runs r
                               WHERE r.model = ? AND r.channels_path IS NOT NULL AND {scope}
                               ORDER BY r.event, r.session, r.car""", [model, *params])
    out = []
    for r in runs:
        path = store.absolute(r["channels_path"])
        if not path.exists():
            log.warning("fleet: %s is missing", path)
            continue
        chans = _read_channels(path, [quantity, "engine_speed"])
        if quantity not in chans or "engine_speed" not in chans:
            continue
        q = chans[quantity]
        centres, top = _binned_max(held_at(chans["engine_speed"], q.time), q.value, bin_rpm)
        out.append((f"car {r['car']} {r['session']} ({r['event']})", centres, top))
    return out


def steward_report(viewer: Viewer, store: Store, event: str, session: str, *, car: str | None = None,
                   fmt: str = "html") -> bytes:
    """The steward report (``compliance.reports.steward``) of a session, or of one car in it. A team viewer gets only
    single-car reports of its own cars; a session-wide report is for staff."""
    from ..reports.render import render
    from ..reports.steward import build_report

    if car is None:
        require(viewer, "read_all")
    else:
        scope, params = _scope(viewer, "e")
        with store.reading() as conn:
            seen = conn.execute(f"""SELECT 1 FROM (SELECT ? AS event, ? AS car) e WHERE {scope}""",
                                [event, car, *params]).fetchone()
        if seen is None:
            raise NotFound(f"no car {car!r} you may see in {event}/{session}", fix="pick one of your cars")
    return render(build_report(store, event, session, car=car, fmt=fmt), fmt, store)


def audit_actions(viewer: Viewer, store: Store) -> list[str]:
    """The distinct actions in the audit log (for its filter)."""
    require(viewer, "audit")
    with store.reading() as conn:
        return [a for (a,) in conn.execute("SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()]
