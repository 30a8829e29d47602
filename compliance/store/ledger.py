"""The sanctions ledger of an event (SPEC §5, "Sanctions over an event"): per car and rule, the n-th infringing
session of the event gets the n-th step of the rule's ladder, the last step repeating.

What counts, decided once here:

- a session counts for a car and rule when the **latest** verdict of that session infringes the rule: the latest
  run of each (event, session, car, outing) (the ``latest_runs`` view, whatever bulletin it was judged under); a
  car with several outings in one session counts the session once when any latest outing infringes the rule;
  ``incomplete`` is not an infringement (it cannot be certified either way);
- sessions are ordered by their start: the event file's start when given, else the stored session start
  (``sessions.start_at``), else the earliest logged start of a latest run in the session; sessions without any
  start come last; ties (and those) by session id. The order is the event's, the same for every car;
- a rule without a ladder is still listed, with its count ``n`` and sanction ``None``: the ledger is the record of
  repeated infringements, and a sanction the event file does not give is the stewards' to decide, not ours.

The ladders are kept in the store (``event_sanctions``, migration 0005; written at ingest and by ``bopwatch ledger
--event-file``, audited as ``metadata.event_sanctions``) so a ledger is computed from the store alone.
:func:`compute_ledger` is pure; the other functions take an open connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from ..bop import rule_order
from .schema import _audited, canonical_json, utcnow

__all__ = ["Infringement", "LedgerEntry", "Ledger", "sanction_for", "compute_ledger", "infringements",
           "session_order", "stored_ladders", "record_ladders", "event_ledger", "car_key"]


@dataclass(frozen=True, slots=True)
class Infringement:
    """One latest verdict (of one outing) that infringes ``rule``."""

    car: str
    rule: str
    session: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    car: str
    rule: str
    session: str
    n: int                      # the car's n-th infringing session of the event for this rule (1-based)
    sanction: str | None        # step n of the rule's ladder (the last step repeats); None: the rule has no ladder

    def to_dict(self) -> dict[str, Any]:
        return {"car": self.car, "rule": self.rule, "session": self.session, "n": self.n, "sanction": self.sanction}


@dataclass(frozen=True, slots=True)
class Ledger:
    event: str
    entries: tuple[LedgerEntry, ...]
    ladders: Mapping[str, tuple[str, ...]] | None     # None: no [sanctions] recorded for the event
    sessions: tuple[str, ...]                           # the event's sessions in the order counted

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "entries": [e.to_dict() for e in self.entries]}


def car_key(car: str) -> tuple:
    """Car numbers sort numerically (``7`` before ``32``), other ids after them."""
    return (0, int(car), car) if car.isdigit() else (1, 0, car)


def sanction_for(ladder: Sequence[str] | None, n: int) -> str | None:
    """Step ``n`` (1-based) of ``ladder``; past its end the last step repeats; None without a ladder."""
    if not ladder:
        return None
    if n < 1:
        raise ValueError(f"n = {n}: the first infringing session is n = 1")
    return ladder[min(n, len(ladder)) - 1]


def compute_ledger(rows: Iterable[Infringement], ladders: Mapping[str, Sequence[str]] | None,
                   sessions: Sequence[str]) -> list[LedgerEntry]:
    """The ledger of infringing latest verdicts ``rows`` (several rows of one car, rule and session, e.g. one per
    outing, count once), with ``sessions`` in event order (a session not listed counts after them, by id).
    Entries in order: car (numeric), rule (verdict order), session (event order)."""
    position = {s: i for i, s in enumerate(sessions)}

    def session_key(session: str) -> tuple:
        return (0, position[session], "") if session in position else (1, 0, session)

    seen = {(r.car, r.rule, r.session) for r in rows}
    ordered = sorted(seen, key=lambda k: (car_key(k[0]), rule_order(k[1]), session_key(k[2])))
    out: list[LedgerEntry] = []
    counts: dict[tuple[str, str], int] = {}
    for car, rule, session in ordered:
        n = counts[(car, rule)] = counts.get((car, rule), 0) + 1
        out.append(LedgerEntry(car, rule, session, n, sanction_for((ladders or {}).get(rule), n)))
    return out


# -- from the store -------------------------------------------------------------------------------------------
def infringements(conn: duckdb.DuckDBPyConnection, event: str, cars: Sequence[str] | None = None
                  ) -> list[Infringement]:
    """Every (car, rule, session) whose latest run (of any outing) infringes the rule; only ``cars`` when given."""
    sql = ("SELECT DISTINCT r.car, x.rule, r.session FROM latest_runs r JOIN rule_results x USING (run_id) "
           "WHERE r.event = ? AND x.verdict = 'infringement'")
    params: list[Any] = [event]
    if cars is not None:
        sql += " AND list_contains(?, r.car)"
        params.append(list(cars))
    return [Infringement(*row) for row in conn.execute(sql, params).fetchall()]


def _naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def session_order(conn: duckdb.DuckDBPyConnection, event: str,
                  starts: Mapping[str, datetime | None] | None = None) -> list[str]:
    """The event's sessions in start order: ``starts`` (the event file's) > ``sessions.start_at`` > the earliest
    logged start of a latest run in the session; sessions without a start last; ties by id."""
    rows = conn.execute("""SELECT s.session, s.start_at, (SELECT min(r.session_start) FROM latest_runs r
            WHERE r.event = s.event AND r.session = s.session) FROM sessions s WHERE s.event = ?""", [event]).fetchall()
    given = {s: _naive(t) for s, t in (starts or {}).items()}
    keyed = []
    for session, start_at, logged in rows:
        start = given.get(session) or start_at or logged
        keyed.append(((start is None, start or datetime.min, session), session))
    return [s for _, s in sorted(keyed)]


def stored_ladders(conn: duckdb.DuckDBPyConnection, event: str) -> dict[str, tuple[str, ...]] | None:
    """The event's recorded ladders (rule -> steps), or None when none were recorded."""
    row = conn.execute("SELECT ladders FROM event_sanctions WHERE event = ?", [event]).fetchone()
    if row is None:
        return None
    return {rule: tuple(steps) for rule, steps in json.loads(row[0]).items()}


def record_ladders(conn: duckdb.DuckDBPyConnection, event: str, ladders: Mapping[str, Sequence[str]] | None, *,
                   source: str | None = None, actor: str | None = None) -> None:
    """Record the event file's ladders (None: the file has no ``[sanctions]``, nothing is written). The event file
    is the regulation: a changed ladder replaces the stored one, and the change is an audit row
    (``metadata.event_sanctions``); the same ladder again writes nothing."""
    if ladders is None:
        return
    text = canonical_json({rule: list(steps) for rule, steps in ladders.items()})
    _audited(conn, "event_sanctions", (event,), actor, """INSERT INTO event_sanctions VALUES (?, ?, ?, ?)
        ON CONFLICT (event) DO UPDATE SET ladders = excluded.ladders,
        source_path = coalesce(excluded.source_path, event_sanctions.source_path)""",
             [event, text, source, utcnow()])


def event_ledger(conn: duckdb.DuckDBPyConnection, event: str, *, cars: Sequence[str] | None = None,
                 ladders: Mapping[str, Sequence[str]] | None = None,
                 starts: Mapping[str, datetime | None] | None = None) -> Ledger:
    """The event's ledger from the store (``ladders`` and ``starts`` override the recorded ones; ``cars``
    restricts the cars listed, each still counted over the whole event)."""
    recorded = stored_ladders(conn, event) if ladders is None else {r: tuple(s) for r, s in ladders.items()}
    sessions = session_order(conn, event, starts)
    entries = compute_ledger(infringements(conn, event, cars), recorded, sessions)
    return Ledger(event, tuple(entries), recorded, tuple(sessions))
