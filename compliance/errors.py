"""Errors of the compliance package: one root; each message names the file, the place and the fix."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ComplianceError", "BulletinError", "RuleError", "StoreError"]


class ComplianceError(Exception):
    """Root of every error raised by :mod:`compliance`. ``str(err)`` is one line."""

    def __init__(self, problem: str, *, path: str | Path | None = None, place: str | None = None,
                 fix: str | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.place = place
        self.fix = fix
        parts = [p for p in (self.path, self.place) if p]
        text = ": ".join([*parts, problem])
        super().__init__(f"{text} ({fix})" if fix else text)


class BulletinError(ComplianceError):
    """A BoP bulletin that is invalid, or that has no entry for the car's model."""


class RuleError(ComplianceError):
    """A rule that cannot be evaluated with the given profile (e.g. the profile lacks a needed channel)."""


class StoreError(ComplianceError):
    """The evidence store is unreadable, locked for too long, or inconsistent."""
