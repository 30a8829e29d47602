"""Row digests: every stored fact a verdict, a report or an access decision reads is bound into the audit chain.

At each write the audit row's ``detail`` carries a digest of every row written, read back inside the same
transaction (so the digest is of what DuckDB holds, not of what Python meant to write):

- ``run.write``: ``rows`` for ``runs``, ``run_logs``, ``rule_results``, ``exceedances``, ``quality_findings``,
  ``channel_summaries`` (the run's rows), and ``channels`` = the run's Parquet file and its SHA-256;
- ``log.store``: ``rows`` for its ``logs`` row;
- ``metadata.events|sessions|entries|event_sanctions|model_references``: the whole row after the upsert (``row``, as before
  0004); the latest audit row per key is the one that must hold, since an upsert that changes a row appends a
  new one.

A table's binding is ``{"rows": {key: digest}, "cols": {column: digest}}``: a row digest (128 bits of SHA-256 over
the row's values, columns in name order) finds the row that changed, a column digest (64 bits over one column's
values, rows in key order) names the columns. :func:`row_problems` recomputes all of it from the tables and
says e.g. ``runs run_id=ab12...: column verdict changed``. A column added by a later migration is not covered for
rows written before it; rows written before 0004 have no ``rows`` and are counted as unbound.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb

__all__ = ["RUN_TABLES", "LOG_TABLES", "METADATA_TABLES", "bind_run", "bind_log", "row_problems",
           "metadata_problems", "MAX_PER_TABLE", "check_consistency"]

#: table -> its key columns below the run (all are selected by ``run_id``)
RUN_TABLES: Mapping[str, tuple[str, ...]] = {
    "runs": ("run_id",), "run_logs": ("position",), "rule_results": ("rule",), "exceedances": ("idx",),
    "quality_findings": ("idx",), "channel_summaries": ("channel",)}
LOG_TABLES: Mapping[str, tuple[str, ...]] = {"logs": ("sha256",)}
METADATA_TABLES: Mapping[str, tuple[str, ...]] = {
    "events": ("event",), "sessions": ("event", "session"), "entries": ("event", "car"),
    "event_sanctions": ("event",), "model_references": ("reference_id",)}
MAX_PER_TABLE = 20          # problems listed per table; the rest are counted


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _digest(value: Any, length: int) -> str:
    return hashlib.sha256(_canon(value).encode()).hexdigest()[:length]


def _key_text(row: Mapping[str, Any], key: Sequence[str]) -> str:
    return "/".join(str(row[k]) for k in key)


def _row_digest(row: Mapping[str, Any], cols: Sequence[str]) -> str:
    return _digest([row[c] for c in cols], 32)


def _col_digests(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> dict[str, str]:
    return {c: _digest([r[c] for r in rows], 16) for c in cols}


def _binding(names: Sequence[str], rows: Iterable[tuple], key: Sequence[str]) -> dict:
    cols = sorted(names)
    keyed = sorted(((_key_text(d, key), d) for d in (dict(zip(names, r, strict=True)) for r in rows)),
                   key=lambda kd: kd[0])
    out: dict[str, Any] = {"rows": {k: _row_digest(d, cols) for k, d in keyed}}
    if keyed:
        out["cols"] = _col_digests([d for _, d in keyed], cols)
    return out


def _select(conn: duckdb.DuckDBPyConnection, table: str, column: str, value: str) -> dict:
    cursor = conn.execute(f"SELECT * FROM {table} WHERE {column} = ?", [value])
    names = [d[0] for d in cursor.description]
    return _binding(names, cursor.fetchall(), RUN_TABLES.get(table) or LOG_TABLES[table])


def bind_run(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    """The bindings of one run's rows, read back inside the writing transaction."""
    return {table: _select(conn, table, "run_id", run_id) for table in RUN_TABLES}


def bind_log(conn: duckdb.DuckDBPyConnection, sha256: str) -> dict:
    return {table: _select(conn, table, "sha256", sha256) for table in LOG_TABLES}


# -- verifying ------------------------------------------------------------------------------------------------
class _Problems:
    """Problems per table, at most MAX_PER_TABLE listed each."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self._count: dict[str, int] = defaultdict(int)

    def add(self, table: str, text: str) -> None:
        self._count[table] += 1
        if self._count[table] <= MAX_PER_TABLE:
            self.listed.append(text)

    def result(self) -> list[str]:
        more = [f"{table}: {n - MAX_PER_TABLE} more changed rows not listed" for table, n in self._count.items()
                if n > MAX_PER_TABLE]
        return self.listed + more


def _short(value: Any) -> str:
    text = _canon(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _compare(out: _Problems, table: str, label: str, key: Sequence[str], recorded: Mapping[str, Any],
             names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> int:
    """Compare one table's rows of one audited write with their binding; returns rows checked."""
    rec_rows: Mapping[str, str] = recorded.get("rows", {})
    rec_cols: Mapping[str, str] | None = recorded.get("cols")
    cols = sorted(rec_cols) if rec_cols else sorted(names)
    gone = [c for c in cols if c not in names]
    if gone:
        out.add(table, f"{table} {label}: column{'s' if len(gone) > 1 else ''} {', '.join(gone)} no longer in "
                       "the table (schema edited)")
        return 0
    current = {_key_text(r, key): r for r in rows}
    where = (lambda k: label) if tuple(key) == ("run_id",) or tuple(key) == ("sha256",) else (
        lambda k: f"{label} " + " ".join(f"{c}={v}" for c, v in zip(key, k.split("/"), strict=False)))
    changed = [k for k in rec_rows if k in current and _row_digest(current[k], cols) != rec_rows[k]]
    deleted = [k for k in rec_rows if k not in current]
    added = [k for k in current if k not in rec_rows]
    named: list[str] = []
    if changed and rec_cols and not deleted and not added:
        now = _col_digests([current[k] for k in sorted(current)], cols)
        named = [c for c in cols if now[c] != rec_cols[c]]
    for k in changed:
        what = (f"column{'s' if len(named) > 1 else ''} {', '.join(named)} changed" if named
                else "row changed (columns not identifiable: rows were also added or deleted)")
        out.add(table, f"{table} {where(k)}: {what}")
    for k in deleted:
        out.add(table, f"{table} {where(k)}: row deleted")
    for k in added:
        out.add(table, f"{table} {where(k)}: row added (not in the audit log)")
    return len(rec_rows)


def _grouped(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> tuple[list[str], dict[str, list[dict]]]:
    cursor = conn.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in cursor.fetchall():
        d = dict(zip(names, row, strict=True))
        groups[d[column]].append(d)
    return names, groups


def row_problems(conn: duckdb.DuckDBPyConnection, audit_rows: Sequence[tuple[int, str, str, dict]]
                 ) -> tuple[list[str], int, dict[str, int]]:
    """Recompute every bound row of ``run.write`` and ``log.store`` audit rows (``(seq, action, subject,
    detail)``, latest last). Returns (problems, rows checked, unbound writes per action)."""
    out = _Problems()
    checked = 0
    unbound: dict[str, int] = defaultdict(int)
    wanted = {"run.write": ("run_id", RUN_TABLES), "log.store": ("sha256", LOG_TABLES)}
    pending = [(action, subject, detail) for _, action, subject, detail in audit_rows if action in wanted]
    tables = {t: c for action, (c, ts) in wanted.items() for t in ts}
    loaded = {t: _grouped(conn, t, c) for t, c in tables.items()} if pending else {}
    for action, subject, detail in pending:
        column, owned = wanted[action]
        bound = detail.get("rows")
        if not isinstance(bound, dict):
            unbound[action] += 1
            continue
        label = f"{column}={subject}"
        if column == "run_id" and subject not in loaded["runs"][1]:
            continue                    # a deleted run: check_consistency reports it
        for table, key in owned.items():
            if table not in bound:
                out.add(table, f"{table} {label}: the audit row binds no rows of this table (edited)")
                continue
            names, groups = loaded[table]
            checked += _compare(out, table, label, key, bound[table], names, groups.get(subject, []))
    return out.result(), checked, dict(unbound)


def metadata_problems(conn: duckdb.DuckDBPyConnection, audit_rows: Sequence[tuple[int, str, str, dict]]
                      ) -> tuple[list[str], int]:
    """Each events/sessions/entries row against the latest ``metadata.<table>`` audit row of its key."""
    out = _Problems()
    checked = 0
    for table, key in METADATA_TABLES.items():
        latest: dict[str, tuple[int, dict]] = {}
        for seq, action, subject, detail in audit_rows:
            if action == f"metadata.{table}" and isinstance(detail.get("row"), dict):
                latest[subject] = (seq, detail["row"])
        cursor = conn.execute(f"SELECT * EXCLUDE (created_at) FROM {table}")
        names = [d[0] for d in cursor.description]
        seen = set()
        for row in cursor.fetchall():
            d = json.loads(_canon(dict(zip(names, row, strict=True))))
            subject = "/".join(str(d[k]) for k in key)
            label = " ".join(f"{k}={d[k]}" for k in key)
            seen.add(subject)
            if subject not in latest:
                out.add(table, f"{table} {label}: row is not in the audit log (added, or its key edited)")
                continue
            seq, recorded = latest[subject]
            checked += 1
            for col in sorted(recorded):
                if col not in d:
                    out.add(table, f"{table} {label}: column {col} no longer in the table (schema edited)")
                elif d[col] != recorded[col]:
                    out.add(table, f"{table} {label}: column {col} changed (audit row {seq} recorded "
                                   f"{_short(recorded[col])}, now {_short(d[col])})")
        for subject, (seq, _) in latest.items():
            if subject not in seen:
                label = " ".join(f"{k}={v}" for k, v in zip(key, subject.split("/"), strict=False))
                out.add(table, f"{table} {label}: row deleted (audit row {seq} recorded it)")
    return out.result(), checked


def check_consistency(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Problems in the relational part of the store: rows whose parent is missing, runs whose children do not
    match the counts their audit row recorded. Empty when consistent."""
    problems: list[str] = []
    orphan_queries = {
        "run_logs without a run": "SELECT count(*) FROM run_logs WHERE run_id NOT IN (SELECT run_id FROM runs)",
        "run_logs naming an unknown log":
            "SELECT count(*) FROM run_logs WHERE sha256 NOT IN (SELECT sha256 FROM logs)",
        "rule_results without a run":
            "SELECT count(*) FROM rule_results WHERE run_id NOT IN (SELECT run_id FROM runs)",
        "exceedances without a run": "SELECT count(*) FROM exceedances WHERE run_id NOT IN (SELECT run_id FROM runs)",
        "quality_findings without a run":
            "SELECT count(*) FROM quality_findings WHERE run_id NOT IN (SELECT run_id FROM runs)",
        "channel_summaries without a run":
            "SELECT count(*) FROM channel_summaries WHERE run_id NOT IN (SELECT run_id FROM runs)",
        "runs without logs": "SELECT count(*) FROM runs r WHERE log_count <> "
                             "(SELECT count(*) FROM run_logs l WHERE l.run_id = r.run_id)",
        "runs without an audit row": "SELECT count(*) FROM runs WHERE run_id NOT IN "
                                     "(SELECT subject FROM audit_log WHERE action = 'run.write')",
        "logs without an audit row": "SELECT count(*) FROM logs WHERE sha256 NOT IN "
                                     "(SELECT subject FROM audit_log WHERE action = 'log.store')",
        "sessions of an unknown event": "SELECT count(*) FROM sessions WHERE event NOT IN (SELECT event FROM events)",
    }
    for what, sql in orphan_queries.items():
        n = conn.execute(sql).fetchone()[0]
        if n:
            problems.append(f"{n} {what}")
    rows = conn.execute("""SELECT a.subject, a.detail, r.verdict_json,
            (SELECT count(*) FROM rule_results x WHERE x.run_id = a.subject),
            (SELECT count(*) FROM exceedances x WHERE x.run_id = a.subject),
            (SELECT count(*) FROM quality_findings x WHERE x.run_id = a.subject),
            (SELECT count(*) FROM channel_summaries x WHERE x.run_id = a.subject)
        FROM audit_log a LEFT JOIN runs r ON r.run_id = a.subject WHERE a.action = 'run.write'""").fetchall()
    for run_id, detail, verdict_json, n_rules, n_exc, n_qual, n_chan in rows:
        d = json.loads(detail)
        if verdict_json is None:
            problems.append(f"run {run_id} is in the audit log but not in runs (deleted)")
            continue
        if hashlib.sha256(verdict_json.encode()).hexdigest() != d["verdict_sha256"]:
            problems.append(f"run {run_id}: verdict_json differs from the audited verdict (edited)")
        counts = d.get("counts", {})
        got = {"rules": n_rules, "exceedances": n_exc, "quality": n_qual, "channels": n_chan}
        for key, n in got.items():
            if key in counts and counts[key] != n:
                problems.append(f"run {run_id}: {n} {key} rows, the audit row recorded {counts[key]}")
    return problems
