"""What ``ingest``, ``watch`` and ``recheck`` say about each log: its outcome (one JSON line) and the exit code of
a command over several (README's exit-code table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..store import schema as st

__all__ = ["IngestOutcome", "exit_code", "EXIT_ERROR", "EXIT_INFRINGEMENT", "EXIT_INCOMPLETE", "EXIT_NOT_JUDGED",
           "EXIT_COMPLIANT"]


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """One processed log, as printed on a JSON line. ``status``: ``checked`` (a new run), ``duplicate`` (these
    inputs were already judged; nothing added), ``stored`` (kept without a verdict: no bulletin), ``error``.
    ``outing``: the car's outing in the session the log was filed under; ``problem``: for an error, the plain
    sentence (no server path, no command-line advice) a dashboard shows; not printed."""

    path: str
    status: str
    sha256: str | None = None
    event: str | None = None
    session: str | None = None
    car: str | None = None
    verdict: str | None = None
    run_id: str | None = None
    bulletin: str | None = None
    error: str | None = None
    outing: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "status": self.status, "sha256": self.sha256, "event": self.event,
                "session": self.session, "car": self.car, "outing": self.outing, "verdict": self.verdict,
                "run_id": self.run_id, "bulletin": self.bulletin, "error": self.error}


#: exit codes of ``ingest``, ``watch`` and ``recheck`` (README): the most serious outcome wins, in this order
EXIT_ERROR, EXIT_INFRINGEMENT, EXIT_INCOMPLETE, EXIT_NOT_JUDGED, EXIT_COMPLIANT = 2, 1, 3, 4, 0


def exit_code(outcomes: Sequence[IngestOutcome]) -> int:
    """2 when any log failed (or there was no log at all), else 1 an infringement, 3 incomplete, 4 a log was
    stored without a verdict (no bulletin: not judged, so not compliant), 0 every log judged compliant."""
    if not outcomes or any(o.status == "error" for o in outcomes):
        return EXIT_ERROR
    worst = st.worst_verdict([o.verdict for o in outcomes if o.verdict])
    if worst == "infringement":
        return EXIT_INFRINGEMENT
    if worst == "incomplete":
        return EXIT_INCOMPLETE
    if any(o.verdict is None for o in outcomes):
        return EXIT_NOT_JUDGED
    return EXIT_COMPLIANT
