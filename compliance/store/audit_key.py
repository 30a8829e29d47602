"""The audit chain's key: an HMAC-SHA256 over each audit row's chain hash, with a secret kept outside the store.

The plain SHA-256 chain proves that rows were not edited *by someone who did not recompute it*; whoever can write
the store can recompute it and its head file. The MAC (``audit_log.mac``, migration 0004) cannot be recomputed
without the key, and the key never lives in the store folder, so write access to the store (a shared drive, a
copied USB stick) is not enough to forge the chain.

Where the key comes from, first found wins (written once, here):

1. ``BOPWATCH_AUDIT_KEY_FILE``: a file holding the key (any text of at least 32 characters, e.g.
   ``openssl rand -hex 32``), created 0600 when it does not exist yet; ``none`` writes and verifies without a key;
2. ``BOPWATCH_AUDIT_KEY``: the key itself (for a service whose secrets come from the environment);
3. ``$XDG_CONFIG_HOME/bopwatch/audit.key`` (default ``~/.config/bopwatch/audit.key``), created 0600 on the
   first write: it belongs to the operator's account, not to the store, and a copy of the store does not carry it.

Writers create a missing key file; readers (``audit verify``, ``audit head``) never do. A key file readable by
group or others, or one inside the store's folder or beside the database, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StoreError

__all__ = ["AuditKey", "ENV_FILE", "ENV_KEY", "default_key_file", "load_key", "key_id_of"]

log = logging.getLogger(__name__)

ENV_FILE = "BOPWATCH_AUDIT_KEY_FILE"
ENV_KEY = "BOPWATCH_AUDIT_KEY"
_MIN_KEY_CHARS = 32
_ID_LABEL = b"bopwatch audit key id"


def key_id_of(secret: bytes) -> str:
    """A short public name of a key (16 hex): tells which key MAC'd a row without revealing it."""
    return hmac.new(secret, _ID_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AuditKey:
    secret: bytes = field(repr=False)
    source: str                         # "BOPWATCH_AUDIT_KEY" or the key file's path

    @property
    def key_id(self) -> str:
        return key_id_of(self.secret)

    def mac(self, chain_hash: str) -> str:
        """HMAC-SHA256 of one audit row's chain hash (which already covers every row before it)."""
        return hmac.new(self.secret, chain_hash.encode("ascii"), hashlib.sha256).hexdigest()

    def checks(self, chain_hash: str, mac: str) -> bool:
        return hmac.compare_digest(self.mac(chain_hash), mac)


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "bopwatch" / "audit.key"


def _secret(text: str, source: str) -> bytes:
    key = text.strip()
    if len(key) < _MIN_KEY_CHARS:
        raise StoreError(f"the audit key is {len(key)} characters long, at least {_MIN_KEY_CHARS} are needed",
                         place=source, fix="write a longer key, e.g. 'openssl rand -hex 32'")
    return key.encode()


def _create(path: Path) -> None:
    """Write a fresh random key to ``path`` (0600) unless it exists; safe when two writers race (link is atomic
    and never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
            log.info("created the audit key %s", path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _outside(path: Path, store_root: Path | None, db: Path | None) -> None:
    resolved = path.resolve()
    inside = store_root is not None and resolved.is_relative_to(store_root.resolve())
    beside = db is not None and resolved.parent == db.resolve().parent
    if inside or beside:
        raise StoreError("the audit key is inside the store's folder or beside its database: whoever copies the "
                         "store would hold the key", path=path,
                         fix=f"move it elsewhere (default {default_key_file()}) and point {ENV_FILE} at it")


def load_key(*, create: bool, store_root: Path | None = None, db: Path | None = None) -> AuditKey | None:
    """The audit key (see the module docstring), or None when there is none (``create=False`` and no file, or
    ``BOPWATCH_AUDIT_KEY_FILE=none``, or a default file that cannot be created: logged, rows are then unkeyed)."""
    named = os.environ.get(ENV_FILE, "").strip()
    if named.lower() == "none":
        return None
    if not named and os.environ.get(ENV_KEY, "").strip():
        return AuditKey(_secret(os.environ[ENV_KEY], ENV_KEY), ENV_KEY)
    path = Path(named).expanduser() if named else default_key_file()
    if store_root is not None or db is not None:
        _outside(path, store_root, db)
    if not path.exists():
        if not create:
            return None
        try:
            _create(path)
        except OSError as err:
            if named:
                raise StoreError(f"cannot create the audit key: {err}", path=path,
                                 fix=f"create it yourself (openssl rand -hex 32 > {path}; chmod 600 {path})") from err
            log.warning("cannot create the audit key %s (%s): audit rows are written without a MAC", path, err)
            return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise StoreError(f"the audit key is readable by others (mode {mode:o})", path=path,
                         fix=f"chmod 600 {path}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise StoreError(f"cannot read the audit key: {err}", path=path, fix="check the file and its owner") from err
    return AuditKey(_secret(text, str(path)), str(path))
