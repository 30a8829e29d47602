"""The accounts file in the audit chain: who has which role is a fact an access decision reads, so its SHA-256
and the roles it grants are recorded (``accounts.bind``) each time ``bopwatch dashboard`` starts with a changed file,
and ``audit verify`` shows edits to it."""
import json
import logging
from pathlib import Path

import duckdb

from .. import config
from ..errors import ComplianceError
from ..store.audit_chain import append
from ..store.originals import sha256_file
from ..store.schema import Store, open_store
from .auth import load_accounts

__all__ = ["bind_accounts", "bind_accounts_at_start"]

log = logging.getLogger(__name__)


def bind_accounts(store: Store, path: str | Path, actor: str | None = None) -> int | None:
    """Record the accounts file's SHA-256 (and who has which role) in an ``accounts.bind`` audit row, unless the
    last one for this path says the same. Returns the new row's seq, or None."""

    path = Path(path).resolve()
    sha = sha256_file(path)
    with store.reading() as conn:
        last = conn.execute("SELECT detail FROM audit_log WHERE action = 'accounts.bind' AND subject = ? "
                            "ORDER BY seq DESC LIMIT 1", [str(path)]).fetchone()
    if last is not None and json.loads(last[0]).get("sha256") == sha:
        return None
    accounts = load_accounts(path)
    roles = {name: a.role + (f":{a.team}" if a.team else "") for name, a in
             [*accounts.accounts.items(), *accounts.oidc.items()]}
    with store.writing() as conn:
        return append(conn, config.actor(actor), "accounts.bind", str(path),
                      {"sha256": sha, "size": path.stat().st_size, "roles": roles})


def bind_accounts_at_start(db: str | Path, path: str | Path) -> int | None:
    """For ``bopwatch dashboard``: :func:`bind_accounts` into the store at ``db`` when it exists. A store this
    process cannot write (a read-only deployment, a lock held too long) is logged, never fatal."""
    if not Path(db).exists():
        return None
    try:
        return bind_accounts(open_store(db, create=False), path)
    except (ComplianceError, OSError, duckdb.Error) as err:
        log.warning("the accounts file %s was not recorded in the audit log: %s", path, err)
        return None
