"""The append-only, hash-chained, keyed audit log: who did what to the store, when, and proof that nothing was
altered.

Each ``audit_log`` row stores ``hash = sha256(prev_hash + "\\n" + canonical JSON of [seq, at, actor, action,
subject, detail])`` where ``prev_hash`` is the previous row's hash (64 zeros for the first row), and (migration
0004) ``mac = HMAC-SHA256(key, hash)`` with the audit key kept outside the store (:mod:`compliance.store.audit_key`)
and ``key_id``, the key's public name. Editing a row breaks its hash; deleting a row breaks the sequence and the
next row's ``prev_hash``; deleting the last rows is caught by the head file (``<store>/audit_head.json``,
rewritten after every commit) and by a pinned head (``audit head`` printed on every report, ``audit verify
--pin SEQ:HASH``); recomputing the chain after an edit is caught by the MACs, which cannot be recomputed without
the key. Since each hash covers every row before it, the head row's MAC anchors the whole chain, including rows
written before 0004.

Every fact a verdict, a report or an access decision reads is bound into the chain (:mod:`compliance.store.audit_rows`):
each run's and log's rows by digest, each run's Parquet file by SHA-256, events/sessions/entries by their full
row, the dashboard's accounts file by SHA-256 (``accounts.bind``, when the dashboard starts). :func:`verify`
recomputes all of it, re-hashes every stored original and names the table, row and column that changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from .audit_chain import GENESIS, append, at_text, keyed, row_hash
from .audit_key import AuditKey, load_key

if TYPE_CHECKING:
    from .schema import Store

__all__ = ["GENESIS", "append", "row_hash", "verify", "AuditReport", "AuditHead", "head", "head_row", "keyed",
           "parse_pin"]

log = logging.getLogger(__name__)

# -- the head -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditHead:
    """The last audit row: what a signed paper copy pins (``audit verify --pin SEQ:HASH``)."""

    seq: int
    hash: str
    logged_at: str
    mac: str | None
    key_id: str | None

    @property
    def pin(self) -> str:
        return f"{self.seq}:{self.hash}"

    def to_dict(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "logged_at": self.logged_at, "mac": self.mac,
                "key_id": self.key_id, "pin": self.pin}


def head_row(conn: duckdb.DuckDBPyConnection) -> AuditHead | None:
    row = conn.execute("SELECT seq, hash, logged_at, mac, key_id FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return AuditHead(row[0], row[1], row[2].isoformat(timespec="microseconds") + "Z", row[3], row[4])


def mac_status(h: AuditHead, key: AuditKey | None) -> str:
    """``checks`` | ``does not check`` | ``unkeyed`` | ``no key here`` | ``other key`` for the head row."""
    if not h.mac:
        return "unkeyed"
    if key is None:
        return "no key here"
    if h.key_id != key.key_id:
        return "other key"
    return "checks" if key.checks(h.hash, h.mac) else "does not check"


def head(store: Store) -> tuple[AuditHead | None, str]:
    """The store's audit head and its MAC status with the local key (never creates a key)."""
    with store.reading() as conn:
        h = head_row(conn)
    if h is None:
        return None, "empty"
    return h, mac_status(h, load_key(create=False))


def parse_pin(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as ``audit head`` and reports print it; at least the first 16 hex of the hash, as a PDF page
    footer shows it) -> (seq, hash or its prefix)."""
    seq, sep, digest = text.strip().partition(":")
    digest = digest.lower()
    if not sep or not seq.isdigit() or not 16 <= len(digest) <= 64 or any(c not in "0123456789abcdef"
                                                                           for c in digest):
        raise ValueError(f"{text!r} is not SEQ:HASH with at least 16 hex digits of the hash (e.g. 42:3f0c...; "
                         "'bopwatch audit head' prints it)")
    return int(seq), digest


def _accounts_problems(rows: Sequence[tuple]) -> tuple[list[str], list[str]]:
    from .originals import sha256_file

    latest: dict[str, tuple[int, dict]] = {}
    for seq, action, subject, detail in rows:
        if action == "accounts.bind":
            latest[subject] = (seq, detail)
    problems, notes = [], []
    for path, (seq, detail) in latest.items():
        if not Path(path).is_file():
            notes.append(f"accounts file {path} (audit row {seq}) is not on this machine: not checked")
            continue
        got = sha256_file(path)
        if got != detail.get("sha256"):
            problems.append(f"accounts file {path}: changed since audit row {seq} recorded it (sha256 now "
                            f"{got[:12]}..., recorded {str(detail.get('sha256'))[:12]}...): the dashboard's access "
                            "decisions follow an unrecorded file; if the change is yours, restart the dashboard")
    return problems, notes


# -- verifying ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditReport:
    rows: int
    head_seq: int | None
    problems: tuple[str, ...] = field(default_factory=tuple)
    originals_checked: int = 0
    rows_checked: int = 0               # stored rows recomputed against their audit rows
    parquet_checked: int = 0
    mac: dict = field(default_factory=dict)     # status, key_id, key_source, anchored_seq, keyed_rows
    unbound: dict = field(default_factory=dict)  # writes made before row digests, per action
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "head_seq": self.head_seq,
                "originals_checked": self.originals_checked, "rows_checked": self.rows_checked,
                "parquet_checked": self.parquet_checked, "mac": self.mac, "unbound": self.unbound,
                "notes": list(self.notes), "problems": list(self.problems)}


def _chain_problems(rows: list[tuple]) -> list[str]:
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for seq, at, actor, action, subject, detail, prev_hash, digest, *_ in rows:
        if seq != expected_seq:
            problems.append(f"audit rows {expected_seq}..{seq - 1} are missing (deleted)")
        if prev_hash != prev:
            problems.append(f"audit row {seq}: prev_hash does not match row {seq - 1}'s hash (a row was "
                            "deleted or edited before it)")
        if row_hash(prev_hash, seq, at_text(at), actor, action, subject, detail) != digest:
            problems.append(f"audit row {seq} ({action} {subject}): content does not match its hash (edited)")
        prev = digest
        expected_seq = seq + 1
    return problems


def _ranges(seqs: Sequence[int], limit: int = 8) -> str:
    parts: list[str] = []
    start = prev = None
    for s in seqs:
        if prev is not None and s == prev + 1:
            prev = s
            continue
        if start is not None:
            parts.append(f"{start}" if start == prev else f"{start}..{prev}")
        start = prev = s
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}..{prev}")
    return ", ".join(parts[:limit]) + (f" and {len(parts) - limit} more ranges" if len(parts) > limit else "")


def _mac_problems(rows: list[tuple], key: AuditKey | None, require_key: bool) -> tuple[list[str], dict]:
    """The MACs: every MAC present must check with the key; a row without one after a keyed row is a
    downgrade; the head row's MAC anchors the chain."""
    problems: list[str] = []
    keyed_rows = [r for r in rows if r[8]]
    first = keyed_rows[0][0] if keyed_rows else None
    state: dict[str, Any] = {"keyed_rows": len(keyed_rows), "unkeyed_rows": len(rows) - len(keyed_rows),
                             "key_id": key.key_id if key else None, "key_source": key.source if key else None}
    stripped = [r[0] for r in rows if not r[8] and first is not None and r[0] > first]
    if stripped:
        problems.append(f"audit rows {_ranges(stripped)}: no MAC, though row {first} before them has one "
                        "(written without the key, or the chain was rewritten by someone without it)")
    if key is not None:
        other = [r[0] for r in keyed_rows if r[9] != key.key_id]
        bad = [r[0] for r in keyed_rows if r[9] == key.key_id and not key.checks(r[7], r[8])]
        if bad:
            problems.append(f"audit rows {_ranges(bad)}: MAC does not match the key (id {key.key_id}): the "
                            "chain was rewritten without the key (forged)")
        if other:
            ids = sorted({str(r[9]) for r in keyed_rows if r[9] != key.key_id})
            problems.append(f"audit rows {_ranges(other)}: MAC'd with key id {', '.join(ids)}, not the key here "
                            f"(id {key.key_id}, {key.source}): they cannot be checked; verify with the key that "
                            "wrote them (BOPWATCH_AUDIT_KEY_FILE), or they were forged with another key")
    if not rows:
        status = "empty"
    elif not keyed_rows:
        status = "unkeyed"
    elif key is None:
        status = "not checked (no key here)"
    elif problems:
        status = "broken"
    elif rows[-1][8]:
        status = "keyed"
        state["anchored_seq"] = rows[-1][0]
    else:
        status = "broken"
    state["status"] = status
    if require_key and status not in ("keyed", "empty"):
        problems.append(f"the audit chain is {status}: --require-key wants its head row MAC'd and checked with "
                        "the key (set BOPWATCH_AUDIT_KEY_FILE to the key that wrote it)")
    return problems, state


def _head_problems(store: Store, rows: list[tuple]) -> tuple[list[str], int | None]:
    problems: list[str] = []
    head_seq = None
    head_file = store.layout.audit_head
    if head_file.exists():
        try:
            recorded = json.loads(head_file.read_text())
            head_seq = int(recorded["seq"])
            by_seq = {r[0]: r for r in rows}
            if head_seq not in by_seq:
                problems.append(f"audit head names row {head_seq} but the log ends at row "
                                f"{rows[-1][0] if rows else 0} (rows deleted at the end)")
            elif by_seq[head_seq][7] != recorded["hash"] or (
                    recorded.get("mac") is not None and by_seq[head_seq][8] != recorded["mac"]):
                problems.append(f"audit row {head_seq}: hash differs from the recorded head (edited)")
        except (ValueError, KeyError, TypeError) as err:
            problems.append(f"{head_file}: unreadable audit head ({err})")
    elif rows:
        problems.append(f"{head_file} is missing: the end of the audit log cannot be checked")
    return problems, head_seq


def _pin_problems(rows: list[tuple], pins: Sequence[tuple[int, str]]) -> list[str]:
    by_seq = {r[0]: r[7] for r in rows}
    problems = []
    for seq, digest in pins:
        if seq not in by_seq:
            problems.append(f"pinned head {seq}:{digest[:12]}...: the store has no audit row {seq} (rows deleted)")
        elif not by_seq[seq].startswith(digest):
            problems.append(f"pinned head {seq}:{digest[:12]}...: audit row {seq} now has hash {by_seq[seq][:12]}..."
                            " (the chain was rewritten since the pin)")
    return problems


def _parquet_problems(store: Store, audit: Sequence[tuple]) -> tuple[list[str], int]:
    from .originals import verify_channels_file

    problems: list[str] = []
    hashed: dict[str, str | None] = {}
    for _, action, subject, detail in audit:
        bound = detail.get("channels") if action == "run.write" else None
        if not isinstance(bound, dict):
            continue
        path = bound.get("path")
        if bound.get("sha256") is None:
            problems.append(f"{path} (run {subject}): the Parquet file was missing when the run was written")
            continue
        if path not in hashed:
            hashed[path] = verify_channels_file(store.absolute(path), bound["sha256"])
        if hashed[path]:
            problems.append(f"{hashed[path]} (run {subject})")
    return problems, len(hashed)


def verify(store: Store, *, originals: bool = True, require_key: bool = False,
           pins: Sequence[tuple[int, str]] = ()) -> AuditReport:
    """Check the chain, its MACs, the head file and ``pins``, every bound row and Parquet file, the
    cross-references, the accounts files recorded, and (``originals=True``) every stored original."""
    from .audit_rows import check_consistency, metadata_problems, row_problems
    from .originals import verify_original

    key = load_key(create=False)
    with store.reading() as conn:
        rows = conn.execute("SELECT seq, logged_at, actor, action, subject, detail, prev_hash, hash, mac, key_id "
                            "FROM audit_log ORDER BY seq").fetchall()
        problems = _chain_problems(rows)
        mac_problems, mac_state = _mac_problems(rows, key, require_key)
        problems += mac_problems
        problems += check_consistency(conn)
        parsed = []
        for r in rows:
            try:
                parsed.append((r[0], r[3], r[4], json.loads(r[5])))
            except ValueError:
                problems.append(f"audit row {r[0]}: detail is not JSON (edited)")
        bound, checked, unbound = row_problems(conn, parsed)
        meta, meta_checked = metadata_problems(conn, parsed)
        problems += bound + meta
        logs = conn.execute("SELECT sha256, stored_path FROM logs ORDER BY sha256").fetchall()
    head_problems, head_seq = _head_problems(store, rows)
    problems += head_problems + _pin_problems(rows, pins)
    parquet, parquet_checked = _parquet_problems(store, parsed)
    accounts, notes = _accounts_problems(parsed)
    problems += parquet + accounts
    if unbound:
        notes.append(", ".join(f"{n} {a} rows" for a, n in sorted(unbound.items())) + " were written before row "
                     "digests (schema 0004): only their verdict and row counts are checked")
    n_originals = 0
    if originals:
        for sha, stored in logs:
            problem = verify_original(store.absolute(stored), sha)
            n_originals += 1
            if problem:
                problems.append(problem)
    return AuditReport(len(rows), head_seq, tuple(problems), n_originals, checked + meta_checked, parquet_checked,
                       mac_state, unbound, tuple(notes))
