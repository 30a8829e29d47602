"""Which files make one run of a car's session: the join rules, shared by ``check``, ``ingest``, ``watch`` and
the dashboard's upload.

A car's session is judged over the files that belong together: files the logger rolled (one after the other,
no overlap, no long gap) are joined; a second recording of the same time is never interleaved with the first
(``telemetry.session`` refuses it: :class:`telemetry.errors.JoinError`). A file whose absolute start lies outside
the session's window (the event file's ``start``/``end``, widened by a margin) is refused, so a race log filed
under practice never becomes practice evidence.

In the store a car's session may hold several *outings* (numbered from 1): separate runs, each judged alone, when
the user says a file is a new outing (``join="new"``). ``join="auto"`` (the default) and ``join="add"`` add the
new files to the car's latest outing, and refuse them when they do not fit it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import ComplianceError

__all__ = ["JOIN_MODES", "DEFAULT_MAX_GAP_S", "DEFAULT_WINDOW_MARGIN_S", "SessionWindow", "JoinRefused",
           "LogSpan", "Outing", "check_window", "log_span", "span_of", "when_text"]

JOIN_MODES = ("auto", "add", "new")
#: files of one run more than this apart are not one session (a logger restarted after a red flag is well
#: inside it; the next day's session is not)
DEFAULT_MAX_GAP_S = 3600.0
#: a log may start this long before the session's start (logger powered in the garage) or after its end
DEFAULT_WINDOW_MARGIN_S = 1800.0


def when_text(at: datetime | None) -> str:
    """``2026-06-26 13:00:05 UTC`` (what errors and the dashboard print), or ``unknown``."""
    if at is None:
        return "unknown"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S") + (f".{at.microsecond // 1000:03d}" if at.microsecond else "") + " UTC"


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """A session's official start and end (UTC), from the event file; a log must start inside it, widened by
    ``margin_s`` on both sides."""

    session: str
    start: datetime | None
    end: datetime | None
    margin_s: float = DEFAULT_WINDOW_MARGIN_S

    def refusal(self, at: datetime) -> str | None:
        """Why a log starting at ``at`` does not belong to this session, or None when it does."""
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        margin = timedelta(seconds=self.margin_s)
        early = self.start is not None and at < _aware(self.start) - margin
        late = self.end is not None and at > _aware(self.end) + margin
        if not (early or late):
            return None
        return (f"starts at {when_text(at)}, outside the window of session {self.session} "
                f"({when_text(self.start)} to {when_text(self.end)}, with {self.margin_s / 60:g} min either side)")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class JoinRefused(ComplianceError):
    """Files that cannot be judged as one run of this session: ``kind`` is ``overlap`` (two recordings of the same
    time), ``gap`` (too far apart to be one session) or ``window`` (outside the session's window). ``problem``
    is a plain sentence naming the files by their original names (what the dashboard shows)."""

    def __init__(self, problem: str, *, kind: str, path: str | Path | None = None, fix: str | None = None) -> None:
        self.kind = kind
        super().__init__(problem, path=path, fix=fix)

    def __reduce__(self):   # keyword-only arguments: rebuilt explicitly when it crosses a process boundary
        return (_join_refused, (self.problem, self.kind, self.path, self.fix))


def _join_refused(problem: str, kind: str, path: str | None, fix: str | None) -> JoinRefused:
    return JoinRefused(problem, kind=kind, path=path, fix=fix)


def check_window(sources: Sequence[Any], window: SessionWindow | None,
                 names: Mapping[str, str] | None = None) -> None:
    """Raise :class:`JoinRefused` (``window``) for the first source (``telemetry.SourceInfo``) whose absolute
    start lies outside ``window``; ``names`` maps a source path to the name to print (original file names)."""
    if window is None:
        return
    for source in sources:
        if source.start is None:
            continue
        problem = window.refusal(source.start)
        if problem:
            name = (names or {}).get(str(source.path), Path(source.path).name)
            raise JoinRefused(f"{name} {problem}", kind="window", path=source.path,
                              fix="file it under the session it was recorded in")


@dataclass(frozen=True, slots=True)
class LogSpan:
    """A log's name and its absolute time range (None when the file records no absolute start)."""

    name: str
    start: datetime | None
    end: datetime | None

    def overlaps(self, other: LogSpan) -> bool:
        if None in (self.start, self.end, other.start, other.end):
            return False
        return _aware(self.start) < _aware(other.end) and _aware(other.start) < _aware(self.end)

    def text(self) -> str:
        if self.start is None:
            return f"{self.name}: no absolute start recorded"
        return f"{self.name}: {when_text(self.start)} to {when_text(self.end)}"


@dataclass(frozen=True, slots=True)
class Outing:
    """One outing of a car in a session as stored: its logs, their time range, its latest verdict."""

    number: int
    logs: tuple[LogSpan, ...]
    verdict: str | None = None
    run_id: str | None = None

    @property
    def start(self) -> datetime | None:
        starts = [s.start for s in self.logs if s.start is not None]
        return min(starts) if starts else None

    @property
    def end(self) -> datetime | None:
        ends = [s.end for s in self.logs if s.end is not None]
        return max(ends) if ends else None

    def overlaps(self, span: LogSpan) -> bool:
        return any(s.overlaps(span) for s in self.logs)


def span_of(name: str, start: datetime | None, duration_s: float | None) -> LogSpan:
    if start is None:
        return LogSpan(name, None, None)
    start = _aware(start)
    return LogSpan(name, start, start + timedelta(seconds=duration_s or 0.0))


def log_span(path: str | Path, name: str | None = None) -> LogSpan:
    """The absolute time range of a log file, read in an isolated child (safe on hostile files): the usual
    telemetry errors when it cannot be read."""
    from telemetry.isolate import inspect_isolated

    info = inspect_isolated(Path(path))
    return span_of(name or Path(path).name, info.start, info.duration_s)
