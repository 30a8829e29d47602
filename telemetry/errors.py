"""Errors of the telemetry package: one root, each message naming the file, the place and the fix."""

from __future__ import annotations

from pathlib import Path

__all__ = ["TelemetryError", "UnsupportedFormat", "CorruptLog", "DbcError", "ProfileError", "UnitError", "JoinError"]


class TelemetryError(Exception):
    """Root of every error raised by :mod:`telemetry`.

    ``str(err)`` is one line: ``<file>: <place>: <problem> (<fix>)``.
    """

    def __init__(self, problem: str, *, path: str | Path | None = None, place: str | None = None,
                 fix: str | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.place = place
        self.fix = fix
        super().__init__(self._line())

    def _line(self) -> str:
        parts = [p for p in (self.path, self.place) if p]
        text = ": ".join([*parts, self.problem])
        return f"{text} ({self.fix})" if self.fix else text


class UnsupportedFormat(TelemetryError):
    """The file is not in a format bopwatch reads."""


class CorruptLog(TelemetryError):
    """The log cannot be read past some place: ``offset`` (bytes) or ``line`` (1-based) says where."""

    def __init__(self, problem: str, *, path: str | Path | None = None, offset: int | None = None,
                 line: int | None = None, fix: str | None = None) -> None:
        self.offset = offset
        self.line = line
        place = f"line {line}" if line is not None else (f"offset {offset}" if offset is not None else None)
        super().__init__(problem, path=path, place=place, fix=fix)


class DbcError(TelemetryError):
    """A signal database (DBC, KCD, SYM, ARXML) that cannot be loaded or used."""


class ProfileError(TelemetryError):
    """A car profile that is invalid: ``place`` names the key."""


class UnitError(ProfileError):
    """A unit that cannot be converted to the canonical channel's unit."""


class JoinError(TelemetryError):
    """Logs that cannot be one session: two files whose time ranges overlap (``kind="overlap"``: their samples
    would interleave), or a file starting more than the allowed gap after the files before it (``kind="gap"``).
    ``first`` and ``second`` are the two files (in time order), ``seconds`` the overlap or the gap."""

    def __init__(self, problem: str, *, kind: str, first: str | Path, second: str | Path, seconds: float,
                 fix: str | None = None) -> None:
        self.kind = kind
        self.first = str(first)
        self.second = str(second)
        self.seconds = seconds
        super().__init__(problem, path=second, fix=fix)

    def __reduce__(self):   # keyword-only arguments: rebuilt explicitly when it crosses a process boundary
        return (_join_error, (self.problem, self.kind, self.first, self.second, self.seconds, self.fix))


def _join_error(problem: str, kind: str, first: str, second: str, seconds: float, fix: str | None) -> JoinError:
    return JoinError(problem, kind=kind, first=first, second=second, seconds=seconds, fix=fix)
