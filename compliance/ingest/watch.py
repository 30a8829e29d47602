"""Watched folder: every new log under a folder is ingested once its copy has finished.

A file is *ready* when its size and modification time have not changed for ``settle_s`` seconds (measured by this
process, so a slow copy that pauses less than that is never read half-written), it is not empty, and, when
metadata must come from a sidecar, ``<file>.meta.json`` exists and is itself settled. Temporary names
(``.name``, ``*.tmp``, ``*.part``, ``*.crdownload``, ``*~``) are ignored until renamed. Change notifications come
from watchdog (inotify and friends); with ``poll=True`` (or when watchdog cannot start) the folder is rescanned
every ``poll_s`` seconds instead. Every ready file is ingested through :func:`compliance.ingest.pipeline.ingest_logs`, whose
content addressing makes a file seen twice (a restart, a copy under another name) a ``duplicate`` that adds
nothing. A file that changes after it was processed is processed again. Something with a log's name that is not a
regular file (a FIFO, whose open would block; a symlink to a device such as ``/dev/zero``, which never ends; a
socket; a directory) is never opened: it gets an ``error`` outcome at once, without waiting for it to settle.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..errors import ComplianceError
from ..store.originals import open_regular_file
from ..store.schema import Store
from .log_names import LOG_SUFFIXES, is_candidate
from .outcomes import IngestOutcome
from .pipeline import ingest_logs

__all__ = ["LOG_SUFFIXES", "is_candidate", "Watcher"]

log = logging.getLogger(__name__)

@dataclass(slots=True)
class _Seen:
    size: int
    mtime_ns: int
    since: float                       # monotonic time the (size, mtime) was first seen unchanged


@dataclass(slots=True)
class Watcher:
    """Watch ``root`` and ingest into ``store``. ``options`` are passed to ``ingest_logs`` (event, session, car,
    profile, bulletin, entry_list, event_info...). ``on_outcome`` receives each ``IngestOutcome``."""

    store: Store
    root: Path
    on_outcome: Callable[[IngestOutcome], None]
    options: dict[str, Any] = field(default_factory=dict)
    settle_s: float = field(default_factory=config.settle_s)
    poll_s: float = field(default_factory=config.poll_s)
    poll: bool = False
    require_sidecar: bool = True
    _pending: dict[Path, _Seen | None] = field(default_factory=dict)
    _done: dict[Path, tuple[int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _blocked: set[Path] = field(default_factory=set)
    processed: int = 0

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _note(self, path: Path) -> None:
        if path.name.endswith(".meta.json"):
            path = path.with_name(path.name[: -len(".meta.json")])
        if is_candidate(path):
            with self._lock:
                self._pending.setdefault(path, None)
            self._wake.set()

    def _scan(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in dirnames:           # a folder named like a log is refused (and still searched)
                if is_candidate(Path(dirpath) / name):
                    filenames.append(name)
            for name in filenames:
                path = Path(dirpath) / name
                if is_candidate(path):
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue
                    if self._done.get(path) != (st.st_size, st.st_mtime_ns):
                        with self._lock:
                            self._pending.setdefault(path, None)

    def _start_observer(self):
        if self.poll:
            return None
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            log.warning("watchdog is not installed; scanning %s every %.1f s", self.root, self.poll_s)
            self.poll = True
            return None
        watcher = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                for attr in ("src_path", "dest_path"):
                    p = getattr(event, attr, None)
                    if p:
                        watcher._note(Path(os.fsdecode(p)))

        observer = Observer()
        try:
            observer.schedule(_Handler(), str(self.root), recursive=True)
            observer.start()
        except OSError as err:  # inotify watch limit, unsupported file system...
            log.warning("cannot watch %s for changes (%s); scanning every %.1f s instead", self.root, err,
                        self.poll_s)
            self.poll = True
            return None
        return observer

    def _sidecar_ready(self, path: Path, now: float) -> bool:
        if not self.require_sidecar:
            return True
        side = Path(f"{path}.meta.json")
        try:
            st = side.stat()
        except FileNotFoundError:
            return False
        return now - st.st_mtime >= min(self.settle_s, 1.0) and st.st_size > 0

    def _ready(self) -> Iterator[Path]:
        now = time.monotonic()
        with self._lock:
            items = list(self._pending.items())
        for path, seen in items:
            try:
                st = path.stat()
            except FileNotFoundError:
                with self._lock:
                    self._pending.pop(path, None)
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if self._done.get(path) == sig:
                with self._lock:
                    self._pending.pop(path, None)
                continue
            if not stat.S_ISREG(st.st_mode):     # refused at once: nothing to settle, never opened
                yield path
                continue
            if seen is None or (seen.size, seen.mtime_ns) != sig:
                with self._lock:
                    self._pending[path] = _Seen(st.st_size, st.st_mtime_ns, now)
                continue
            if st.st_size > 0 and now - seen.since >= self.settle_s:
                if self._sidecar_ready(path, time.time()):
                    self._blocked.discard(path)
                    yield path
                elif path not in self._blocked:
                    self._blocked.add(path)
                    log.warning("%s: waiting for its sidecar %s.meta.json", path, path.name)

    def _process(self, path: Path) -> None:
        st = path.stat()
        sig = (st.st_size, st.st_mtime_ns)
        refused = None if stat.S_ISREG(st.st_mode) else _refusal(path)
        outcomes = [refused] if refused else ingest_logs(self.store, [path], reason="watch", **self.options)
        try:
            after = path.stat()
            changed = (after.st_size, after.st_mtime_ns) != sig
        except FileNotFoundError:
            changed = False
        with self._lock:
            self._pending.pop(path, None)
            if not changed:
                self._done[path] = sig
        self.processed += 1
        for outcome in outcomes:
            self.on_outcome(outcome)

    def run(self, *, once: bool = False, idle_exit_s: float | None = None, max_files: int | None = None) -> int:
        """Watch until stopped. ``once``: process what is there (waiting for it to settle) and return.
        ``idle_exit_s``: return after that long with nothing pending. Returns the number of files processed."""
        self.root = Path(self.root)
        if not self.root.is_dir():
            from ..errors import ComplianceError
            raise ComplianceError("not a folder", path=self.root, fix="pass the folder the logger cards are copied to")
        observer = self._start_observer()
        self._scan()
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.poll:
                    self._scan()
                for path in list(self._ready()):
                    if self._stop.is_set():
                        break
                    self._process(path)
                    idle_since = time.monotonic()
                    if max_files is not None and self.processed >= max_files:
                        return self.processed
                with self._lock:
                    pending = bool(self._pending)
                    only_blocked = pending and set(self._pending) <= self._blocked
                if once and (not pending or only_blocked):
                    return self.processed
                if pending and not only_blocked:
                    idle_since = time.monotonic()
                elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                    return self.processed
                self._wake.wait(self.poll_s if pending or self.poll else max(self.poll_s, 1.0))
                self._wake.clear()
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
        return self.processed


def _refusal(path: Path) -> IngestOutcome | None:
    """The error outcome of something with a log's name that is not a regular file (None if it now is one)."""
    try:
        with open_regular_file(path):
            return None
    except ComplianceError as err:
        log.error("%s", err)
        return IngestOutcome(str(path), "error", error=str(err), problem=err.problem)
