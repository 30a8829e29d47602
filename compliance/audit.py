"""The append-only, hash-chained audit log: who did what to the store, when, and proof that nothing was altered.

Each ``audit_log`` row stores ``hash = sha256(prev_hash + "\\n" + canonical JSON of [seq, at, actor, action,
subject, detail])`` where ``prev_hash`` is the previous row's hash (64 zeros for the first row). Editing a row
breaks its hash; deleting a row breaks the sequence and the next row's ``prev_hash``; deleting the last rows is
caught by the head file (``<store>/audit_head.json``, rewritten after every commit) and by the cross-checks:
every run and every stored log must have its audit row, and each run's stored verdict must hash to the value its
audit row recorded. :func:`verify` also re-hashes every stored original.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from .store import Store

__all__ = ["GENESIS", "append", "row_hash", "verify", "AuditReport"]

log = logging.getLogger(__name__)

GENESIS = "0" * 64


def _content(seq: int, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    return json.dumps([seq, at, actor, action, subject, detail], separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{_content(seq, at, actor, action, subject, detail)}".encode()).hexdigest()


def _at_text(value) -> str:
    return value.isoformat(timespec="microseconds")


def append(conn: duckdb.DuckDBPyConnection, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
    """Append one chained row inside the caller's write transaction; returns its ``seq``."""
    from .store import canonical_json, utcnow

    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    at = utcnow()
    text = canonical_json(detail)
    digest = row_hash(prev, seq, _at_text(at), actor, action, subject, text)
    conn.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 [seq, at, actor, action, subject, text, prev, digest])
    return seq


@dataclass(frozen=True, slots=True)
class AuditReport:
    rows: int
    head_seq: int | None
    problems: tuple[str, ...] = field(default_factory=tuple)
    originals_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "head_seq": self.head_seq,
                "originals_checked": self.originals_checked, "problems": list(self.problems)}


def _chain_problems(rows: list[tuple]) -> list[str]:
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for seq, at, actor, action, subject, detail, prev_hash, digest in rows:
        if seq != expected_seq:
            problems.append(f"audit rows {expected_seq}..{seq - 1} are missing (deleted)")
        if prev_hash != prev:
            problems.append(f"audit row {seq}: prev_hash does not match row {seq - 1}'s hash (a row was "
                            "deleted or edited before it)")
        if row_hash(prev_hash, seq, _at_text(at), actor, action, subject, detail) != digest:
            problems.append(f"audit row {seq} ({action} {subject}): content does not match its hash (edited)")
        prev = digest
        expected_seq = seq + 1
    return problems


def verify(store: Store, *, originals: bool = True) -> AuditReport:
    """Check the chain, the head file, the cross-references and (``originals=True``) every stored original."""
    from .evidence import verify_original
    from .store import check_consistency

    with store.reading() as conn:
        rows = conn.execute("SELECT seq, logged_at, actor, action, subject, detail, prev_hash, hash "
                            "FROM audit_log ORDER BY seq").fetchall()
        problems = _chain_problems(rows)
        problems += check_consistency(conn)
        logs = conn.execute("SELECT sha256, stored_path FROM logs ORDER BY sha256").fetchall()
    head_seq = None
    head_file = store.layout.audit_head
    if head_file.exists():
        try:
            head = json.loads(head_file.read_text())
            head_seq = int(head["seq"])
            by_seq = {r[0]: r[7] for r in rows}
            if head_seq not in by_seq:
                problems.append(f"audit head names row {head_seq} but the log ends at row "
                                f"{rows[-1][0] if rows else 0} (rows deleted at the end)")
            elif by_seq[head_seq] != head["hash"]:
                problems.append(f"audit row {head_seq}: hash differs from the recorded head (edited)")
        except (ValueError, KeyError, TypeError) as err:
            problems.append(f"{head_file}: unreadable audit head ({err})")
    elif rows:
        problems.append(f"{head_file} is missing: the end of the audit log cannot be checked")
    checked = 0
    if originals:
        for sha, stored in logs:
            problem = verify_original(store.absolute(stored), sha)
            checked += 1
            if problem:
                problems.append(problem)
    return AuditReport(len(rows), head_seq, tuple(problems), checked)
