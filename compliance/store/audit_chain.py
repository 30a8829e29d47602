"""The audit chain's rows as they are written: the canonical text and the clock they hash, each row's chain hash,
and its MAC with the audit key (``compliance.store.audit_key``). Written inside the store's write transactions
(``compliance.store.schema``); verified by ``compliance.store.audit``.

Each ``audit_log`` row stores ``hash = sha256(prev_hash + "\\n" + canonical JSON of [seq, at, actor, action,
subject, detail])`` where ``prev_hash`` is the previous row's hash (64 zeros for the first row)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import duckdb

from .audit_key import AuditKey, load_key

__all__ = ["GENESIS", "append", "keyed", "row_hash", "at_text", "canonical_json", "utcnow"]


def utcnow() -> datetime:
    """Now, as the naive UTC timestamp the store's ``*_at`` columns hold (microsecond precision)."""
    return datetime.now(UTC).replace(tzinfo=None)


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: the text hashed by the audit chain and stored in JSON columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


GENESIS = "0" * 64
_UNSET = object()
_KEY: ContextVar[Any] = ContextVar("bopwatch_audit_key", default=_UNSET)


def _content(seq: int, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    return json.dumps([seq, at, actor, action, subject, detail], separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{_content(seq, at, actor, action, subject, detail)}".encode()).hexdigest()


def at_text(value) -> str:
    return value.isoformat(timespec="microseconds")


@contextmanager
def keyed(key: AuditKey | None) -> Iterator[None]:
    """Within the block, :func:`append` MACs rows with ``key`` (``Store.writing`` sets it once per transaction)."""
    token = _KEY.set(key)
    try:
        yield
    finally:
        _KEY.reset(token)


def append(conn: duckdb.DuckDBPyConnection, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
    """Append one chained (and, with a key, MAC'd) row inside the caller's write transaction; returns its ``seq``."""
    key = _KEY.get()
    if key is _UNSET:
        key = load_key(create=True)
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    at = utcnow()
    text = canonical_json(detail)
    digest = row_hash(prev, seq, at_text(at), actor, action, subject, text)
    conn.execute("INSERT INTO audit_log (seq, logged_at, actor, action, subject, detail, prev_hash, hash, mac, "
                 "key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 [seq, at, actor, action, subject, text, prev, digest,
                  key.mac(digest) if key else None, key.key_id if key else None])
    return seq
