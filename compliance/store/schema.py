"""The evidence store: one DuckDB file, its schema (named, recorded migrations) and every write to it.

Layout beside the database ``<dir>/<stem>.duckdb``::

    <dir>/<stem>_store/originals/ab/abcdef....<ext>     write-once originals, named by SHA-256 (evidence.py)
    <dir>/<stem>_store/channels/event=E/session=S/car=N/<set>.parquet   decoded canonical channels
    <dir>/<stem>_store/locks/{write,turnstile}.lock       inter-process locks
    <dir>/<stem>_store/audit_head.json                    last audit row (seq, hash), guards against truncation

Concurrency. DuckDB lets one process write, or several read, never both. Every access is therefore a short
connection under an inter-process ``flock``: writers hold ``write.lock`` exclusively for one transaction, readers
share it for one query batch; a turnstile lock gives a waiting writer priority over new readers. Slow work
(hashing, decoding, checking, Parquet) happens before the write lock is taken. Readers that only need traces can
read the Parquet files without any lock (they are written to a temporary name and renamed).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from .. import config
from ..errors import StoreError
from .audit_chain import canonical_json, utcnow
from .audit_rows import check_consistency
from .migrations import MIGRATIONS

__all__ = ["Store", "StoreLayout", "open_store", "LogRecord", "RunRecord", "ChannelSummary", "check_id",
           "utcnow", "VERDICT_RANK", "worst_verdict", "check_consistency"]

log = logging.getLogger(__name__)

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
VERDICT_RANK = {"compliant": 0, "incomplete": 1, "infringement": 2}


def check_id(kind: str, value: object) -> str:
    """An event, session or car id as stored and used in Parquet partitions: ``[A-Za-z0-9_.-]+``."""
    text = str(value).strip()
    if not _ID.fullmatch(text):
        raise StoreError(f"{kind} id {text!r} is not usable", place=f"--{kind}",
                         fix="use letters, digits, '_', '.' or '-' (e.g. spa24-2025, race1, 7)")
    return text


def worst_verdict(verdicts: Sequence[str]) -> str | None:
    return max(verdicts, key=VERDICT_RANK.__getitem__) if verdicts else None


def _naive_utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True, slots=True)
class StoreLayout:
    db: Path
    root: Path

    @classmethod
    def for_db(cls, db: Path) -> StoreLayout:
        return cls(db, db.with_name(f"{db.stem}_store"))

    @property
    def originals(self) -> Path:
        return self.root / "originals"

    @property
    def channels(self) -> Path:
        return self.root / "channels"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def audit_head(self) -> Path:
        return self.root / "audit_head.json"


class _FileLock:
    """``flock`` on a file, shared or exclusive, polled with a timeout (so a stuck holder gives a clear error)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, exclusive: bool, timeout_s: float, what: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout_s
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, mode)
                self._fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreError(f"waited {timeout_s:.0f} s for the store lock ({what})", path=self.path,
                                     fix="another bopwatch process holds it; wait, or raise BOPWATCH_LOCK_TIMEOUT"
                                     ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _is_lock_conflict(err: Exception) -> bool:
    text = str(err).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


@dataclass(slots=True)
class Store:
    """Handle on one store. Cheap to create; holds no connection between calls."""

    layout: StoreLayout
    lock_timeout_s: float = field(default_factory=config.lock_timeout_s)

    @property
    def db(self) -> Path:
        return self.layout.db

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        turnstile = _FileLock(self.layout.locks / "turnstile.lock")
        main = _FileLock(self.layout.locks / "write.lock")
        what = "write" if exclusive else "read"
        if exclusive:
            turnstile.acquire(True, self.lock_timeout_s, what)
            try:
                main.acquire(True, self.lock_timeout_s, what)
            finally:
                turnstile.release()
        else:
            turnstile.acquire(False, self.lock_timeout_s, what)
            try:
                main.acquire(False, self.lock_timeout_s, what)
            finally:
                turnstile.release()
        try:
            yield
        finally:
            main.release()

    def _connect(self, read_only: bool, path: Path | None = None) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                conn = duckdb.connect(str(path or self.db), read_only=read_only)
                conn.execute("SET TimeZone = 'UTC'")
                return conn
            except duckdb.IOException as err:  # a process outside bopwatch's locks holds the file
                if not _is_lock_conflict(err) or time.monotonic() >= deadline:
                    raise StoreError(f"cannot open the store: {err}", path=self.db,
                                     fix="close other programs using this DuckDB file") from err
                time.sleep(0.05)

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short read-only connection. Keep the block short: writers wait for it."""
        if not self.db.exists():
            raise StoreError("no store here", path=self.db,
                             fix="run 'bopwatch ingest' or 'bopwatch demo' first, or pass --db / BOPWATCH_DB")
        with self._locked(exclusive=False):
            conn = self._connect(read_only=True)
            try:
                yield conn
            finally:
                conn.close()

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction under the exclusive lock: committed on normal exit, rolled back on error.

        Audit rows appended inside it (``compliance.store.audit.append``) are chained and MAC'd with the audit key
        (``compliance.store.audit_key``, loaded once here, created outside the store if missing); the chain's head file
        is updated after the commit, still under the lock.
        """
        from .audit_chain import keyed
        from .audit_key import load_key

        key = load_key(create=True, store_root=self.layout.root, db=self.db)
        with self._locked(exclusive=True):
            conn = self._connect(read_only=False)
            try:
                conn.execute("BEGIN TRANSACTION")
                try:
                    with keyed(key):
                        yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                self._write_audit_head(conn)
            finally:
                conn.close()

    def _write_audit_head(self, conn: duckdb.DuckDBPyConnection) -> None:
        row = conn.execute("SELECT seq, hash, mac, key_id FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return
        head = self.layout.audit_head
        if head.exists():
            try:
                if json.loads(head.read_text())["seq"] == row[0]:
                    return
            except (ValueError, KeyError, OSError):
                pass
        tmp = head.with_name(f".{head.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as fh:
            fh.write(json.dumps({"seq": row[0], "hash": row[1], "mac": row[2], "key_id": row[3]}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, head)

    def schema_version(self) -> int:
        with self.reading() as conn:
            return _applied(conn)[-1][0] if _has_migrations_table(conn) and _applied(conn) else 0

    def migrate(self) -> list[str]:
        """Apply the migrations this store lacks, each in its own transaction; returns their names."""
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with self._locked(exclusive=True):
            if self.db.exists():
                return self._migrate(self.db)
            # a new store is built under a temporary name and renamed: a crash never leaves a broken file
            tmp = self.db.with_name(f".{self.db.name}.creating-{os.getpid()}")
            try:
                applied = self._migrate(tmp)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.db)
            finally:
                for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                    if leftover.exists():
                        leftover.unlink()
            return applied

    def _migrate(self, path: Path) -> list[str]:
        applied_now: list[str] = []
        conn = self._connect(read_only=False, path=path)
        try:
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
                applied_at TIMESTAMP NOT NULL, tool_version VARCHAR NOT NULL)""")
            done = {row[0]: row for row in _applied(conn)}
            known = {m.id for m in MIGRATIONS}
            newer = sorted(set(done) - known)
            if newer:
                raise StoreError(f"the store has schema migrations {newer} this bopwatch does not know",
                                 path=self.db, fix="upgrade bopwatch")
            for migration in MIGRATIONS:
                if migration.id in done:
                    if done[migration.id][2] != migration.sha256:
                        raise StoreError(
                            f"migration {migration.id} ({migration.name}) differs from the one applied",
                            path=self.db, fix="never edit a committed migration; add a new one")
                    continue
                conn.execute("BEGIN TRANSACTION")
                try:
                    conn.execute(migration.sql)
                    conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?, ?)",
                                 [migration.id, migration.name, migration.sha256, utcnow(), tool_version()])
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                log.info("store %s: applied migration %04d %s", self.db, migration.id, migration.name)
                applied_now.append(migration.name)
        finally:
            conn.close()
        return applied_now

    # -- paths -----------------------------------------------------------------------------------------------
    def channels_dir(self, event: str, session: str, car: str) -> Path:
        return self.layout.channels / f"event={event}" / f"session={session}" / f"car={car}"

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.layout.root.resolve()).as_posix()

    def absolute(self, relative: str) -> Path:
        return self.layout.root / relative


def _has_migrations_table(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_name = 'schema_migrations'").fetchone()[0])


def _applied(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute("SELECT id, name, sha256 FROM schema_migrations ORDER BY id").fetchall()


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("bopwatch")
    except PackageNotFoundError:
        return "0.1.0"


def open_store(db: str | os.PathLike | None = None, *, create: bool = True,
               lock_timeout_s: float | None = None) -> Store:
    """The store at ``db`` (argument > ``BOPWATCH_DB`` > ``./bopwatch.duckdb``), migrated to the current schema.

    With ``create=False`` a missing store is an error (for commands that only read)."""
    path = config.db_path(db)
    store = Store(StoreLayout.for_db(path), config.lock_timeout_s(lock_timeout_s))
    if not path.exists() and not create:
        raise StoreError("no store here", path=path,
                         fix="run 'bopwatch ingest' or 'bopwatch demo' first, or pass --db / BOPWATCH_DB")
    if not path.parent.is_dir():
        raise StoreError("the folder for the store does not exist", path=path, fix="create it or pass another --db")
    if not path.exists() or not _is_current(store):
        store.migrate()
    if create:
        clean_leftover_temp_files(store.layout)
    return store


#: the temporary names ``evidence`` writes originals and channel Parquet under before renaming them into place
def clean_leftover_temp_files(layout: StoreLayout) -> list[Path]:
    """The temporary files a killed writer left in the originals and channels folders, removed
    (``compliance.store.originals.clean_leftover_temp_files``, which names them); called when a store is opened for
    writing."""
    from .originals import clean_leftover_temp_files as clean

    return clean((layout.originals, layout.channels))


def _is_current(store: Store) -> bool:
    with store.reading() as conn:
        return _has_migrations_table(conn) and [(r[0], r[2]) for r in _applied(conn)] == [
            (m.id, m.sha256) for m in MIGRATIONS]


# -- records written by ingest --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LogRecord:
    sha256: str
    event: str
    session: str
    car: str
    original_name: str
    stored_path: str
    size: int
    source_path: str | None = None
    format: str | None = None
    frames: int | None = None
    buses: tuple[int, ...] = ()
    ids: int | None = None
    start_at: datetime | None = None
    duration_s: float | None = None
    logger_serial: str | None = None
    findings: tuple[dict, ...] = ()
    outing: int = 1                     # the car's outing in the session (compliance.judge.outings)


@dataclass(frozen=True, slots=True)
class ChannelSummary:
    channel: str
    unit: str
    samples: int
    source: str = ""
    bus: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    min_value: float | None = None
    max_value: float | None = None
    mean_value: float | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One check of one car's session: the SPEC §4 verdict dict plus where it came from."""

    run_id: str
    run_key: str
    event: str
    session: str
    car: str
    log_shas: tuple[str, ...]
    verdict: dict                       # SPEC §4 check JSON
    reason: str                         # ingest | watch | recheck | demo
    profile_path: str | None = None
    bulletin_path: str | None = None
    command: str | None = None
    channels_path: str | None = None
    session_start: datetime | None = None
    duration_s: float | None = None
    channels: tuple[ChannelSummary, ...] = ()
    dbc_shas: tuple[str, ...] = ()      # SHA-256 of each DBC file the profile loaded, in profile order
    outing: int = 1                     # the car's outing in the session (compliance.judge.outings)
    channels_sha256: str | None = None  # SHA-256 of the Parquet file when known (else hashed at insert_run)


_KEYS = {"events": ("event",), "sessions": ("event", "session"), "entries": ("event", "car"),
         "event_sanctions": ("event",),      # compliance.store.ledger.record_ladders
         "model_references": ("reference_id",)}   # compliance.store.references


def _audited(conn: duckdb.DuckDBPyConnection, table: str, key: Sequence[str], actor: str | None, sql: str,
             params: list) -> None:
    """Run an upsert and append a ``metadata.<table>`` audit row when it created or changed the row."""
    where = " AND ".join(f"{k} = ?" for k in _KEYS[table])
    select = f"SELECT * EXCLUDE (created_at) FROM {table} WHERE {where}"
    before = conn.execute(select, list(key)).fetchone()
    conn.execute(sql, params)
    cursor = conn.execute(select, list(key))
    after = cursor.fetchone()
    if after != before:
        from .audit_chain import append
        names = [d[0] for d in cursor.description]
        append(conn, actor or config.actor(), f"metadata.{table}", "/".join(key),
               {"created": before is None, "row": dict(zip(names, after, strict=True))})


def upsert_event(conn: duckdb.DuckDBPyConnection, event: str, *, name: str | None = None,
                 series: str | None = None, track: str | None = None, track_category: str | None = None,
                 start_date: date | None = None, end_date: date | None = None, actor: str | None = None) -> None:
    """Create the event, or fill its columns that are still NULL (known values are never overwritten).
    Upserts that change something are audited (``metadata.events`` etc.)."""
    _audited(conn, "events", (event,), actor, """INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event) DO UPDATE SET
        name = coalesce(events.name, excluded.name), series = coalesce(events.series, excluded.series),
        track = coalesce(events.track, excluded.track),
        track_category = coalesce(events.track_category, excluded.track_category),
        start_date = coalesce(events.start_date, excluded.start_date),
        end_date = coalesce(events.end_date, excluded.end_date)""",
             [event, name, series, track, track_category, start_date, end_date, utcnow()])


def upsert_session(conn: duckdb.DuckDBPyConnection, event: str, session: str, *, name: str | None = None,
                   type: str | None = None, track: str | None = None, start_at: datetime | str | None = None,
                   end_at: datetime | str | None = None, actor: str | None = None) -> None:
    _audited(conn, "sessions", (event, session), actor, """INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event, session) DO UPDATE SET
        name = coalesce(sessions.name, excluded.name), type = coalesce(sessions.type, excluded.type),
        track = coalesce(sessions.track, excluded.track),
        start_at = coalesce(sessions.start_at, excluded.start_at),
        end_at = coalesce(sessions.end_at, excluded.end_at)""",
             [event, session, name, type, track, _naive_utc(start_at), _naive_utc(end_at), utcnow()])


def upsert_entry(conn: duckdb.DuckDBPyConnection, event: str, car: str, *, team: str | None = None,
                 model: str | None = None, class_: str | None = None,
                 drivers: Sequence[str] | None = None, actor: str | None = None) -> None:
    _audited(conn, "entries", (event, car), actor, """INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event, car) DO UPDATE SET
        team = coalesce(entries.team, excluded.team), model = coalesce(entries.model, excluded.model),
        class = coalesce(entries.class, excluded.class), drivers = coalesce(entries.drivers, excluded.drivers)""",
             [event, car, team, model, class_, list(drivers) if drivers else None, utcnow()])


def insert_log(conn: duckdb.DuckDBPyConnection, rec: LogRecord, actor: str) -> bool:
    """Insert a log row unless its SHA-256 is stored; returns True when inserted. The same bytes under another
    event/session/car is an error: one logger file belongs to one car's session."""
    row = conn.execute("SELECT event, session, car FROM logs WHERE sha256 = ?", [rec.sha256]).fetchone()
    if row is not None:
        if tuple(row) != (rec.event, rec.session, rec.car):
            raise StoreError(
                f"this file (sha256 {rec.sha256[:12]}...) is already stored for event {row[0]} session {row[1]} "
                f"car {row[2]}, not event {rec.event} session {rec.session} car {rec.car}",
                path=rec.source_path or rec.original_name,
                fix="check the --event/--session/--car options or the sidecar JSON")
        return False
    conn.execute("INSERT INTO logs (sha256, event, session, car, original_name, source_path, stored_path, format, "
                 "size, frames, buses, ids, start_at, duration_s, logger_serial, findings, ingested_at, ingested_by, "
                 "outing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        rec.sha256, rec.event, rec.session, rec.car, rec.original_name, rec.source_path, rec.stored_path,
        rec.format, rec.size, rec.frames, list(rec.buses) or None, rec.ids, _naive_utc(rec.start_at),
        rec.duration_s, rec.logger_serial, canonical_json(list(rec.findings)), utcnow(), actor, rec.outing])
    from .audit_chain import append
    from .audit_rows import bind_log
    detail = {"event": rec.event, "session": rec.session, "car": rec.car, "original_name": rec.original_name,
              "size": rec.size, "stored_path": rec.stored_path, "rows": bind_log(conn, rec.sha256)}
    append(conn, actor, "log.store", rec.sha256, detail | ({"outing": rec.outing} if rec.outing != 1 else {}))
    return True


def run_exists(conn: duckdb.DuckDBPyConnection, run_key: str) -> str | None:
    row = conn.execute("SELECT run_id FROM runs WHERE run_key = ?", [run_key]).fetchone()
    return None if row is None else row[0]


def insert_run(conn: duckdb.DuckDBPyConnection, rec: RunRecord, actor: str) -> None:
    """Write a run with its rule results, exceedances, quality findings and channel summaries, plus its audit
    row. Call inside ``Store.writing()`` so that all of it commits or none does."""
    import hashlib

    from .audit_chain import append

    v = rec.verdict
    verdict = v.get("verdict")
    if verdict not in VERDICT_RANK:
        raise StoreError(f"verdict {verdict!r} is not one of {sorted(VERDICT_RANK)}", place=f"run {rec.run_id}",
                         fix="pass a SPEC §4 check JSON object")
    text = canonical_json(v)
    verdict_sha = hashlib.sha256(text.encode()).hexdigest()
    tool = v.get("tool") or {}
    profile = v.get("profile") or {}
    bulletin = v.get("bulletin") or {}
    for key, part in (("profile.sha256", profile.get("sha256")), ("bulletin.sha256", bulletin.get("sha256")),
                      ("bulletin.id", bulletin.get("id")), ("profile.model", profile.get("model"))):
        if not part:
            raise StoreError(f"the verdict lacks {key}", place=f"run {rec.run_id}",
                             fix="every stored result must name its profile and bulletin with their hashes")
    conn.execute("INSERT INTO runs (run_id, run_key, event, session, car, model, profile_path, profile_sha256, "
                 "bulletin_id, bulletin_path, bulletin_sha256, tool_name, tool_version, verdict, verdict_json, "
                 "verdict_sha256, log_count, session_start, duration_s, channels_path, reason, command, created_at, "
                 "created_by, dbc_sha256, outing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, ?)",
                 [rec.run_id, rec.run_key, rec.event, rec.session, rec.car, profile["model"], rec.profile_path,
                  profile["sha256"], bulletin["id"], rec.bulletin_path, bulletin["sha256"],
                  tool.get("name", "bopwatch"), tool.get("version", tool_version()), verdict, text, verdict_sha,
                  len(rec.log_shas), _naive_utc(rec.session_start), rec.duration_s, rec.channels_path,
                  rec.reason, rec.command, utcnow(), actor, list(rec.dbc_shas) or None, rec.outing])
    conn.executemany("INSERT INTO run_logs VALUES (?, ?, ?)",
                     [[rec.run_id, i, sha] for i, sha in enumerate(rec.log_shas)])
    rules = [[rec.run_id, r["rule"], r["verdict"], r.get("exceedance_count"), r.get("max_exceedances"),
              canonical_json({k: x for k, x in r.items()
                              if k not in {"rule", "verdict", "exceedance_count", "max_exceedances"}})]
             for r in v.get("rules", [])]
    if rules:
        conn.executemany("INSERT INTO rule_results VALUES (?, ?, ?, ?, ?, ?)", rules)
    fixed = {"rule", "start_s", "end_s", "duration_s", "peak", "limit", "excess", "unit"}
    exc = [[rec.run_id, i, e["rule"], e["start_s"], e["end_s"], e.get("duration_s", e["end_s"] - e["start_s"]),
            e.get("peak"), e.get("limit"), e.get("excess"), e.get("unit"),
            canonical_json({k: x for k, x in e.items() if k not in fixed})]
           for i, e in enumerate(v.get("exceedances", []))]
    if exc:
        conn.executemany("INSERT INTO exceedances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", exc)
    qfixed = {"check", "channel", "start_s", "end_s", "severity", "detail"}
    qual = [[rec.run_id, i, q["check"], q.get("channel"), q.get("start_s"), q.get("end_s"), q.get("severity"),
             q.get("detail"), canonical_json({k: x for k, x in q.items() if k not in qfixed})]
            for i, q in enumerate(v.get("data_quality", []))]
    if qual:
        conn.executemany("INSERT INTO quality_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", qual)
    chans = [[rec.run_id, c.channel, c.unit, c.source, c.bus, c.samples, c.start_s, c.end_s, c.min_value,
              c.max_value, c.mean_value] for c in rec.channels]
    if chans:
        conn.executemany("INSERT INTO channel_summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chans)
    from .audit_rows import bind_run
    append(conn, actor, "run.write", rec.run_id, ({"outing": rec.outing} if rec.outing != 1 else {}) | {
        "rows": bind_run(conn, rec.run_id), "channels": _channels_binding(conn, rec),
        "run_key": rec.run_key, "event": rec.event, "session": rec.session, "car": rec.car,
        "logs": list(rec.log_shas), "verdict": verdict, "verdict_sha256": verdict_sha,
        "bulletin": {"id": bulletin["id"], "sha256": bulletin["sha256"]},
        "profile": {"model": profile["model"], "sha256": profile["sha256"], "dbc_sha256": list(rec.dbc_shas)},
        "tool_version": tool.get("version", tool_version()), "reason": rec.reason,
        "counts": {"rules": len(rules), "exceedances": len(exc), "quality": len(qual), "channels": len(chans)}})


def _channels_binding(conn: duckdb.DuckDBPyConnection, rec: RunRecord) -> dict | None:
    """The run's Parquet file and its SHA-256, for the run's audit row (None when the run has none)."""
    if not rec.channels_path:
        return None
    if rec.channels_sha256 is None:
        from .originals import sha256_file
        db = conn.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
        path = StoreLayout.for_db(Path(db[0])).root / rec.channels_path
        if not path.is_file():      # recorded as missing: 'audit verify' reports it
            log.warning("run %s: its channel Parquet file %s is missing", rec.run_id, path)
            return {"path": rec.channels_path, "sha256": None}
        return {"path": rec.channels_path, "sha256": sha256_file(path)}
    return {"path": rec.channels_path, "sha256": rec.channels_sha256}
