"""Ingest: logs in, evidence and verdicts stored. Used by ``bopwatch ingest``, ``watch``, ``recheck`` and ``demo``.

For each log: resolve whose it is (options > sidecar ``<file>.meta.json`` > entry list), hash it, copy it into the
content-addressed originals (outside any lock), then judge the car's session: every log stored for its
(event, session, car) joined in time order, with the car's profile and the bulletin in force. The decoded
channels go to Parquet, and the log rows, the run and its results, and their audit rows are written in one short
transaction. The same inputs never make a second run (``runs.run_key``), so ingesting again adds nothing; a crash
at any point is completed by running the same command again.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .. import config
from ..errors import ComplianceError, StoreError
from ..judge.outings import (
    DEFAULT_MAX_GAP_S,
    JOIN_MODES,
    JoinRefused,
    check_window,
    span_of,
)
from ..store import schema as st
from ..store.ledger import record_ladders
from ..store.originals import sha256_file, store_original, verify_original
from .event_file import (
    Entry,
    EventInfo,
    LogMeta,
    SessionInfo,
    find_profile,
    load_event_info,
    read_entry_list,
    read_sidecar,
    resolve_meta,
)
from .event_file import bulletin_sources as _bulletin_sources
from .event_file import cached_profile as _cached_profile
from .event_file import profile_source as _profile_source
from .join import NEW_OUTING_FIX as _NEW_OUTING_FIX
from .join import by_outing as _by_outing
from .join import plain as _plain
from .join import refusal as _refusal
from .join import renamer as _renamer
from .join import session_window as _session_window
from .join import stored_outings as _stored_outings
from .judging import Judged, _profile_key, _set_id, judge_here, run_key, summaries
from .outcomes import IngestOutcome, exit_code
from .reference_check import reference_block, reference_tag

__all__ = ["LogMeta", "Entry", "SessionInfo", "EventInfo", "IngestOutcome", "Judged", "Prepared", "read_sidecar",
           "read_entry_list", "load_event_info", "resolve_meta", "find_profile", "expand_paths", "ingest_logs",
           "recheck", "run_key", "exit_code", "judge_here", "summaries"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True, slots=True)
class _NewLog:
    sha256: str
    path: Path                 # where it was ingested from
    stored: Path               # the stored original
    meta: LogMeta
    name: str = ""             # the name it was given under (the dashboard's upload label), else its file name

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.path.name)


@dataclass(slots=True)
class Prepared:
    """What one ingest learned about its files, kept across the passes of ``compliance.ingest.fleet.ingest_parallel``
    so each log is hashed and copied once per command: ``files`` maps (path, size, mtime) to (sha256, stored
    original); ``verified`` holds the hashes whose stored original was hashed by this command (copied or
    verified), so judging does not hash them again; ``untried`` the hashes whose isolated trial parse was left
    to the judge (``defer_trial``: the fleet's workers judge each car in an isolated child)."""

    files: dict[tuple[str, int, int], tuple[str, Path]] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)
    untried: set[str] = field(default_factory=set)
    defer_trial: bool = False

    def store(self, store: st.Store, path: Path) -> tuple[str, Path, bool]:
        """(sha256, stored original, seen before in this command) of ``path``, hashing and copying it once."""
        info = path.stat()
        key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
        known = self.files.get(key)
        if known is not None and known[1].exists():
            return known[0], known[1], True
        sha = sha256_file(path)
        stored, sha, _ = store_original(path, store.layout.originals, sha)
        self.files[key] = (sha, stored)
        self.verified.add(sha)
        return sha, stored, False


class CheckCrashed(ComplianceError):
    """A judge that ran the check in an isolated child saw it crash, hang or run out of memory (the message
    says which); :func:`ingest_logs` then trial-parses each untried log to find the bad one."""


@dataclass(slots=True)
class _Context:
    store: st.Store
    actor: str
    reason: str
    command: str | None
    event_info: EventInfo | None
    progress: Progress | None
    judge: Callable[..., Judged] | None = None   # replaces judge_here (compliance.ingest.fleet judges in workers)
    entries: Mapping[str, Entry] = field(default_factory=dict)     # the entry list given, by car
    entries_written: set[str] = field(default_factory=set)         # events whose whole entry list is stored
    prepared: Prepared = field(default_factory=Prepared)
    join: str = "auto"                    # compliance.judge.outings.JOIN_MODES (a sidecar's "join" wins for its log)
    max_gap_s: float | None = DEFAULT_MAX_GAP_S


def _log_record(ctx: _Context, new: _NewLog, source: Any | None, outing: int = 1) -> st.LogRecord:
    rec = st.LogRecord(new.sha256, new.meta.event, new.meta.session, new.meta.car, new.name,
                       ctx.store.relative(new.stored), new.stored.stat().st_size, str(new.path.resolve()),
                       logger_serial=new.meta.logger_serial, outing=outing)
    if source is None:
        return rec
    return replace(rec, format=source.format, frames=source.frames, buses=tuple(source.buses), ids=source.ids,
                   start_at=source.start, duration_s=source.duration_s,
                   findings=tuple(f.to_dict() for f in source.findings))


def _write_metadata(conn, ctx: _Context, meta: LogMeta) -> None:
    info = ctx.event_info if ctx.event_info and ctx.event_info.event == meta.event else None
    who = ctx.actor
    if info:
        st.upsert_event(conn, meta.event, name=info.name, series=info.series, track=info.track,
                        track_category=info.track_category, start_date=info.start_date, end_date=info.end_date,
                        actor=who)
        record_ladders(conn, meta.event, info.sanctions, source=_absolute(info.path), actor=who)  # SPEC §5
    else:
        st.upsert_event(conn, meta.event, actor=who)
    s = info.sessions.get(meta.session) if info else None
    if s:
        st.upsert_session(conn, meta.event, meta.session, name=s.name, type=s.type, track=s.track,
                          start_at=s.start_at, end_at=s.end_at, actor=who)
    else:
        st.upsert_session(conn, meta.event, meta.session, actor=who)
    e = meta.entry
    st.upsert_entry(conn, meta.event, meta.car, team=e.team, model=e.model, class_=e.class_, drivers=e.drivers,
                    actor=who)
    if meta.event not in ctx.entries_written:     # the whole field, so reports can list cars without a log
        for other in ctx.entries.values():
            st.upsert_entry(conn, meta.event, other.car, team=other.team, model=other.model, class_=other.class_,
                            drivers=other.drivers, actor=who)
        ctx.entries_written.add(meta.event)


def _group_logs(conn, event: str, session: str, car: str, outing: int = 1) -> dict[str, tuple[str, str]]:
    rows = conn.execute("SELECT sha256, stored_path, original_name FROM logs WHERE event = ? AND session = ? "
                        "AND car = ? AND coalesce(outing, 1) = ?", [event, session, car, outing]).fetchall()
    return {sha: (stored, name) for sha, stored, name in rows}


def _absolute(path: str | Path | None) -> str | None:
    """A path as the store records it: absolute and normalised, so reports find it from any directory."""
    return None if path is None else os.path.normpath(os.path.abspath(path))



def _expected_bulletins(conn, shas: Sequence[str], bulletins: Sequence[Any]) -> list[Any]:
    """The bulletin a check of ``shas`` would pick, when the stored logs tell (their earliest start); every
    candidate when they do not (a new log, no start time, or no single bulletin in force)."""
    from ..bop.bulletins import in_force

    if len(bulletins) == 1:
        return list(bulletins)
    row = conn.execute(f"SELECT count(*), min(start_at) FROM logs WHERE sha256 IN ({', '.join('?' * len(shas))})",
                       list(shas)).fetchone()
    if row[0] != len(shas) or row[1] is None:
        return list(bulletins)
    try:
        return [in_force(bulletins, row[1].replace(tzinfo=UTC))]
    except ComplianceError:
        return list(bulletins)



def _judge_group(ctx: _Context, meta: LogMeta, new: list[_NewLog], profile_path: Path,
                 bulletins: Sequence[Any], outing: int = 1) -> tuple[str, str | None, str | None, str | None]:
    """Judge (event, session, car, outing) over every stored log of that outing plus ``new``; returns (status,
    verdict, run_id, bulletin id). Repeats when another process added a log of the same outing meanwhile. Files
    the join rules refuse (:mod:`compliance.judge.outings`) raise :class:`JoinRefused` in their original names."""
    profile = _cached_profile(profile_path)
    tool = st.tool_version() + reference_tag(ctx.store, profile.model)     # a new reference judges anew
    new_by_sha = {n.sha256: n for n in new}
    for _ in range(20):
        with ctx.store.reading() as conn:
            stored = _group_logs(conn, meta.event, meta.session, meta.car, outing)
            names = {sha: name for sha, (_, name) in stored.items()}
            names.update({n.sha256: n.name for n in new})
            shas = sorted(names, key=lambda s: (names[s], s))
            keys = [run_key(shas, _profile_key(profile), b.sha256, tool) for b in _expected_bulletins(conn, shas, bulletins)]
            row = conn.execute(f"SELECT run_id, verdict, bulletin_id FROM runs WHERE run_key IN "
                               f"({', '.join('?' * len(keys))}) ORDER BY created_at DESC LIMIT 1",
                               keys).fetchone() if keys else None
        if row is not None and all(sha in stored for sha in new_by_sha):
            return "duplicate", row[1], row[0], row[2]
        paths = [ctx.store.absolute(stored[sha][0]) if sha in stored else new_by_sha[sha].stored for sha in shas]
        for sha, path in zip(shas, paths, strict=True):    # judge only evidence that is still what was stored
            if sha in ctx.prepared.verified:               # hashed by this command already (copied or verified)
                continue
            problem = verify_original(path, sha)
            if problem:
                raise StoreError(problem, fix="restore the original from a backup; 'bopwatch audit verify' lists all")
            ctx.prepared.verified.add(sha)
        info = ctx.event_info if ctx.event_info and ctx.event_info.event == meta.event else None
        extra = {"lap_length_m": info.track_length_m, "track_category": info.track_category} if info else {}
        extra["max_gap_s"] = ctx.max_gap_s
        extra["window"] = _session_window(ctx, meta)
        extra["car"] = meta.car                          # its [cars."N"] entry, when the bulletin has one
        official = info.sessions.get(meta.session) if info else None
        if official is not None and official.ambient_pressure_bar is not None:
            extra["ambient_bar"] = official.ambient_pressure_bar
        try:
            judged = (ctx.judge or judge_here)(
                paths, profile, list(bulletins), progress=ctx.progress,
                channels_dir=ctx.store.channels_dir(meta.event, meta.session, meta.car),
                channels_name=_set_id(shas, _profile_key(profile)), **extra)
        except Exception as err:
            refused = _refusal(err, _renamer(paths, [names[s] for s in shas]), meta.join or ctx.join)
            if refused is None:
                raise
            raise refused from None
        read = {s.sha256 for s in judged.sources}
        if read != set(shas):      # the judge read other bytes than the store holds (e.g. a changed original)
            raise StoreError(f"the check read logs hashing to {sorted(read)}, the store holds {shas}",
                             path=paths[0], fix="run 'bopwatch audit verify', then ingest again")
        verdict = judged.verdict.to_dict()
        if (against := reference_block(ctx.store, profile.model, judged)) is not None:
            verdict["reference"] = against                  # advisory: the verdict stays the rules'
        key = run_key(shas, _profile_key(profile), judged.bulletin.sha256, tool)
        sources = {s.sha256: s for s in judged.sources}
        record = st.RunRecord(
            uuid.uuid4().hex, key, meta.event, meta.session, meta.car, tuple(shas), verdict, ctx.reason,
            _absolute(profile_path), _absolute(judged.bulletin.path), ctx.command, ctx.store.relative(judged.parquet),
            judged.start, judged.duration_s, judged.summaries,
            tuple(d.sha256 for d in getattr(profile, "dbcs", ())), outing)
        with ctx.store.writing() as conn:
            _write_metadata(conn, ctx, meta)
            for n in new:
                st.insert_log(conn, _log_record(ctx, n, sources.get(n.sha256), outing), ctx.actor)
            existing = st.run_exists(conn, key)
            if existing is None:
                st.insert_run(conn, record, ctx.actor)
            now = set(_group_logs(conn, meta.event, meta.session, meta.car, outing))
        status, run_id = ("checked", record.run_id) if existing is None else ("duplicate", existing)
        if now == set(shas):
            return status, verdict["verdict"], run_id, judged.bulletin.id
        log.info("car %s %s/%s gained logs while it was judged; judging again", meta.car, meta.event,
                 meta.session)
        new = []
        new_by_sha = {}
    raise StoreError(f"car {meta.car} of {meta.event}/{meta.session} keeps gaining logs", path=ctx.store.db,
                     fix="run the command again once the copies have finished")


def _store_only(ctx: _Context, new: list[_NewLog], outing: int = 1) -> None:
    """No bulletin: keep the originals and their log rows (``recheck`` judges them later)."""
    from telemetry.formats import inspect_log

    records = [(n, _log_record(ctx, n, inspect_log(n.stored), outing)) for n in new]
    meta = new[0].meta
    names = {str(n.stored): n.name for n in new}
    check_window([SimpleNamespace(path=str(n.stored), start=r.start_at) for n, r in records],
                 _session_window(ctx, meta), names)
    mine_shas = {n.sha256 for n in new}      # a log already stored (an earlier pass) is itself, not an overlap
    with ctx.store.reading() as conn:
        rows = conn.execute("SELECT sha256, original_name, start_at, duration_s FROM logs WHERE event = ? AND "
                            "session = ? AND car = ? AND coalesce(outing, 1) = ?",
                            [meta.event, meta.session, meta.car, outing]).fetchall()
    spans = [span_of(*row[1:]) for row in rows if row[0] not in mine_shas]
    for n, r in records:
        mine = span_of(n.name, r.start_at, r.duration_s)
        other = next((o for o in spans if o.overlaps(mine)), None)
        if other is not None:
            raise JoinRefused(f"{mine.name} overlaps {other.name} ({mine.text()}; {other.text()}): two recordings "
                              "of the same time cannot be one session", kind="overlap",
                              fix=_NEW_OUTING_FIX if (meta.join or ctx.join) != "new" else None)
        spans.append(mine)
    with ctx.store.writing() as conn:
        for n, rec in records:
            _write_metadata(conn, ctx, n.meta)
            st.insert_log(conn, rec, ctx.actor)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Folders become the logs under them (recursively, sorted; sidecars and temporary names skipped)."""
    from .log_names import is_candidate

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_candidate(f)
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    return out


def _has_log_row(store: st.Store, sha: str) -> bool:
    with store.reading() as conn:
        return conn.execute("SELECT count(*) FROM logs WHERE sha256 = ?", [sha]).fetchone()[0] > 0


def _parse_isolated(stored: Path, name: Path) -> None:
    """Read the log once in a child process with time and memory limits (``telemetry.isolate``), so a file that
    hangs or crashes a parser fails alone, with an error naming it, instead of taking the ingest or the watcher
    down. A file the reader refuses cleanly is left to the judge, which reports it as before."""
    from telemetry.errors import TelemetryError
    from telemetry.isolate import IsolationError, inspect_isolated

    try:
        inspect_isolated(stored)
    except IsolationError as err:
        raise type(err)(err.problem, path=name, fix=err.fix) from None
    except TelemetryError:
        pass


def _failed(i: int, p: Path, err: Exception, done: Callable[[int, IngestOutcome], None]) -> None:
    problem = getattr(err, "problem", None) or getattr(err, "strerror", None) or str(err)
    if isinstance(err, ComplianceError | OSError):
        done(i, IngestOutcome(str(p), "error", error=str(err), problem=problem))
        log.error("%s", err)
    else:  # telemetry errors and the like: with their class name
        done(i, IngestOutcome(str(p), "error", error=f"{type(err).__name__}: {err}", problem=problem))
        log.error("%s: %s", p, err)


def _store_new(ctx: _Context, i: int, p: Path, meta: LogMeta, done: Callable[[int, IngestOutcome], None],
               name: str | None = None) -> tuple[int, _NewLog] | None:
    """Hash and copy one log into the originals (once per command) and trial-parse it when new: (index, log),
    or None after reporting its error."""
    try:
        sha, stored, seen = ctx.prepared.store(ctx.store, p)
        if ctx.prepared.defer_trial:      # the judge's isolated check is the trial (no store query here)
            if not seen:
                ctx.prepared.untried.add(sha)
        elif sha in ctx.prepared.untried or (not seen and not _has_log_row(ctx.store, sha)):
            _parse_isolated(stored, p)      # a stored log was read safely before: no second trial run
            ctx.prepared.untried.discard(sha)
        return i, _NewLog(sha, p, stored, meta, name or p.name)
    except Exception as err:  # noqa: BLE001 - reported per file, never swallowed silently
        _failed(i, p, err, done)
        return None


def _trial_untried(ctx: _Context, items: list[tuple[int, _NewLog]],
                   done: Callable[[int, IngestOutcome], None], crash: CheckCrashed) -> list[tuple[int, _NewLog]]:
    """After an isolated check of a car crashed: the trial parse each untried new log would have had, one by one
    (in isolated children), as the serial path does. Logs that fail it get their error outcome; the others are
    returned to be judged again. When none fails, the crash is the car's error (raised again)."""
    from telemetry.isolate import IsolationError

    kept = []
    failed = False
    for i, n in items:
        if n.sha256 in ctx.prepared.untried:
            try:
                _parse_isolated(n.stored, n.path)
            except IsolationError as err:      # reported as the serial path reports a failed trial parse
                failed = True
                log.error("%s: %s", n.path, err)
                done(i, IngestOutcome(str(n.path), "error", error=f"{type(err).__name__}: {err}"))
                continue
            finally:
                ctx.prepared.untried.discard(n.sha256)
        kept.append((i, n))
    if not failed:
        raise crash
    return kept


def ingest_logs(store: st.Store, paths: Sequence[str | Path], *, event: str | None = None,
                session: str | None = None, car: str | None = None, profile: str | None = None,
                bulletin: str | Path | Sequence[str | Path] | None = None, entry_list: str | Path | None = None,
                event_info: EventInfo | None = None, logger_serial: str | None = None, reason: str = "ingest",
                command: str | None = None, actor: str | None = None, progress: Progress | None = None,
                on_outcome: Callable[[IngestOutcome], None] | None = None,
                judge: Callable[..., Judged] | None = None, prepared: Prepared | None = None,
                join: str = "auto", max_gap_s: float | None = None,
                names: Mapping[str, str] | None = None) -> list[IngestOutcome]:
    """Ingest ``paths``; logs of one (event, session, car) are judged together. One outcome per path, in order;
    a failure of one car's logs is reported in its outcomes and does not stop the others. ``on_outcome`` is
    called with each outcome as soon as it is final (for JSON lines while a long ingest runs).

    ``join`` (:data:`compliance.judge.outings.JOIN_MODES`; a sidecar's ``"join"`` wins for its log): ``auto``/``add``
    judge new logs with the car's latest outing in the session, refusing them (an error outcome) when they
    overlap its files, start more than ``max_gap_s`` after them (default: the event file's ``max_gap_s``, else
    :data:`compliance.judge.outings.DEFAULT_MAX_GAP_S`) or start outside the session's window; ``new`` starts a new
    outing with them. Logs already stored stay in their outing. ``names`` maps a path (as given) to the name the
    log is stored and reported under (the dashboard's upload label); default its file name.

    For ``compliance.ingest.fleet.ingest_parallel``: ``judge`` replaces :func:`judge_here` (same call and result: the
    cars are judged in worker processes); ``prepared`` carries the hashes and stored copies from one pass to the
    next, and with ``prepared.defer_trial`` new logs get no trial parse here (the judge checks them isolated; a
    :class:`CheckCrashed` from it makes this function trial-parse the car's untried logs one by one)."""
    entries = dict(event_info.entries) if event_info else {}
    if entry_list:
        entries.update(read_entry_list(entry_list))
    if join not in JOIN_MODES:
        raise ComplianceError(f"join mode {join!r} is not one of {', '.join(JOIN_MODES)}", place="--join",
                              fix="use auto (the default), add or new")
    gap = max_gap_s if max_gap_s is not None else (
        event_info.max_gap_s if event_info and event_info.max_gap_s is not None else DEFAULT_MAX_GAP_S)
    ctx = _Context(store, config.actor(actor), reason, command, event_info, progress, judge, entries,
                   prepared=prepared if prepared is not None else Prepared(), join=join, max_gap_s=gap)
    outcomes: dict[int, IngestOutcome] = {}

    def done(i: int, outcome: IngestOutcome) -> None:
        outcomes[i] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    # whose each log is first (cheap: options and sidecars); then car by car: store its logs, judge it (so the
    # fleet's workers start on the first car while later cars are still being copied)
    found: dict[tuple[str, str, str], list[tuple[int, Path, LogMeta]]] = {}
    for i, p in enumerate(map(Path, paths)):
        try:
            if p.name.endswith(".meta.json"):
                raise ComplianceError("this is a sidecar, not a log", path=p,
                                      fix=f"pass the log it describes ({p.name[:-len('.meta.json')]})")
            meta = resolve_meta(p, event=event, session=session, car=car, entries=entries,
                                logger_serial=logger_serial)
            found.setdefault((meta.event, meta.session, meta.car), []).append((i, p, meta))
        except Exception as err:  # noqa: BLE001 - reported per file, never swallowed silently
            _failed(i, p, err, done)
    for (ev, se, ca), logs in found.items():
        items = [item for item in (_store_new(ctx, i, p, meta, done, (names or {}).get(str(p)))
                                   for i, p, meta in logs) if item is not None]
        if not items:
            continue
        try:
            known = _stored_outings(store, ev, se, ca)
        except Exception as err:  # noqa: BLE001 - reported per log
            for i, n in items:
                _failed(i, n.path, err, done)
            continue
        for outing, part in _by_outing(items, known, ctx.join).items():
            _ingest_part(ctx, (ev, se, ca), outing, part, bulletin, profile, event_info, done)
    return [outcomes[i] for i in range(len(paths))]


def _ingest_part(ctx: _Context, group: tuple[str, str, str], outing: int, items: list[tuple[int, _NewLog]],
                 bulletin: Any, profile: str | None, event_info: EventInfo | None,
                 done: Callable[[int, IngestOutcome], None]) -> None:
    """Store and judge one outing's new logs; every log gets its outcome through ``done``."""
    from ..bop.bulletins import load_bulletins

    ev, se, ca = group
    meta = items[0][1].meta
    new = [n for _, n in items]
    try:
        sources = _bulletin_sources(bulletin, meta, event_info)
        if not sources:
            _store_only(ctx, new, outing)
            result: tuple = ("stored", None, None, None)
        else:
            model = _profile_source(profile, meta, event_info)
            if model is None:
                raise ComplianceError(f"no profile for car {ca}", path=new[0].path,
                                      fix="pass --profile, an --entry-list with the model, or a sidecar model")
            profile_path, bulletins = find_profile(str(model)), load_bulletins(sources)
            try:
                result = _judge_group(ctx, meta, new, profile_path, bulletins, outing)
            except CheckCrashed as crash:
                items = _trial_untried(ctx, items, done, crash)
                if not items:
                    return
                new = [n for _, n in items]
                result = _judge_group(ctx, meta, new, profile_path, bulletins, outing)
        for i, n in items:
            done(i, IngestOutcome(str(n.path), result[0], n.sha256, ev, se, ca, result[1], result[2], result[3],
                                  outing=outing))
    except Exception as err:  # noqa: BLE001 - reported per log on its JSON line and in the exit code
        text = str(err) if isinstance(err, ComplianceError) else f"{type(err).__name__}: {err}"
        log.error("car %s %s/%s: %s", ca, ev, se, text)
        problem = getattr(err, "problem", None) or text
        for i, n in items:
            done(i, IngestOutcome(str(n.path), "error", n.sha256, ev, se, ca, error=text, outing=outing,
                                  problem=_plain(problem, n)))



def recheck(store: st.Store, *, event: str, session: str, bulletin: str | Path | Sequence[str | Path],
            car: str | None = None, profile: str | None = None, command: str | None = None,
            actor: str | None = None, progress: Progress | None = None) -> list[IngestOutcome]:
    """Judge the stored logs of a session (or one car) again under ``bulletin``; earlier runs are kept."""
    from ..bop.bulletins import load_bulletins

    bulletins = load_bulletins([bulletin] if isinstance(bulletin, str | Path) else bulletin)
    ctx = _Context(store, config.actor(actor), "recheck", command, None, progress)
    with store.reading() as conn:
        rows = conn.execute(
            "SELECT l.car, e.model, e.team, e.class, e.drivers, "
            "(SELECT r.profile_path FROM runs r WHERE r.event = l.event AND r.session = l.session "
            " AND r.car = l.car ORDER BY r.created_at DESC LIMIT 1), l.outing "
            "FROM (SELECT DISTINCT event, session, car, coalesce(outing, 1) AS outing FROM logs "
            "      WHERE event = ? AND session = ?) l "
            "LEFT JOIN entries e ON e.event = l.event AND e.car = l.car "
            "WHERE ? IS NULL OR l.car = ? ORDER BY l.car, l.outing", [event, session, car, car]).fetchall()
    if not rows:
        raise StoreError(f"no stored logs for event {event} session {session}" + (f" car {car}" if car else ""),
                         path=store.db, fix="check the ids (bopwatch report lists them) or ingest the logs first")
    outcomes = []
    for car_id, model, team, class_, drivers, last_profile, outing in rows:
        meta = LogMeta(event, session, car_id, Entry(car_id, team, model, class_, tuple(drivers or ())))
        label = f"{event}/{session}/car{car_id}" + (f"/outing{outing}" if outing != 1 else "")
        try:
            chosen = profile or (last_profile if last_profile and Path(last_profile).exists() else None) or model
            if chosen is None:
                raise ComplianceError(f"no profile known for car {car_id}", path=store.db,
                                      fix="pass --profile")
            status, verdict, run_id, b_id = _judge_group(ctx, meta, [], find_profile(chosen), bulletins, outing)
            outcomes.append(IngestOutcome(label, status, None, event, session, car_id, verdict, run_id, b_id,
                                          outing=outing))
        except Exception as err:  # noqa: BLE001 - reported per car
            text = str(err) if isinstance(err, ComplianceError) else f"{type(err).__name__}: {err}"
            outcomes.append(IngestOutcome(label, "error", None, event, session, car_id, error=text, outing=outing,
                                          problem=getattr(err, "problem", None) or text))
    return outcomes
