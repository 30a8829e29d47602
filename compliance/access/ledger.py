"""The sanctions ledger (SPEC §5, :mod:`compliance.store.ledger`) as a viewer may see it: staff (scrutineers,
technical staff) see every car, a team sees the entries of its own cars only (``entries.team``, as every query in
:mod:`compliance.access.queries`). A car is counted over the whole event whoever looks: filtering picks cars, never
sessions, so a team sees the same ``n`` and sanction as the stewards."""

from __future__ import annotations

from ..store.ledger import Ledger, LedgerEntry, event_ledger
from ..store.schema import Store
from .auth import Viewer
from .queries import _scope

__all__ = ["Ledger", "LedgerEntry", "sanctions_ledger", "ledger_events"]


def sanctions_ledger(viewer: Viewer, store: Store, event: str) -> Ledger:
    """The event's ledger, entries of the cars the viewer may see (an unknown event: an empty ledger)."""
    scope, params = _scope(viewer, "r")
    with store.reading() as conn:
        cars = None
        if not viewer.sees_all_cars:
            cars = [c for (c,) in conn.execute(f"SELECT DISTINCT r.car FROM latest_runs r WHERE r.event = ? "
                                               f"AND {scope}", [event, *params]).fetchall()]
        return event_ledger(conn, event, cars=cars)


def ledger_events(viewer: Viewer, store: Store) -> list[tuple[str, str]]:
    """(event, name) of the events where the viewer may see a run, newest first."""
    scope, params = _scope(viewer, "r")
    with store.reading() as conn:
        return [(e, n or e) for e, n in conn.execute(
            f"""SELECT v.event, v.name FROM events v WHERE EXISTS (SELECT 1 FROM latest_runs r
                WHERE r.event = v.event AND {scope}) ORDER BY v.start_date DESC NULLS LAST, v.created_at DESC""",
            params).fetchall()]
