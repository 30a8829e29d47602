"""Authorised reads for the dashboard's "BoP analysis" page (issue 17): the BoP working group's field view of a
stored event (:mod:`compliance.analysis.field`) and the model reference runs kept in the store
(:mod:`compliance.store.references`).

Who may read them: **technical staff only** (``ANALYSIS_ROLES``). The analysis compares every model of the field
and proposes the next BoP; a model's reference run is its homologation data. Neither is a team's business (a team
would learn its rivals' power, weight and the working group's intentions), and neither is a scrutineer's: the
proposals are the working group's advice, not evidence, and scrutineers (who report to the stewards) judge cars
against the bulletin in force, not against a draft of the next one. Scrutineers see a car against its reference
where it is evidence (the car page), not the table of every model's references. There is no admin role
(:data:`compliance.access.auth.ROLES`); whoever runs the store has the command line (``bopwatch bop analyse``,
``bopwatch reference list``).

Refusals are :class:`~compliance.access.auth.AuthError`, the same for every refused role, raised before the store
is read. No Streamlit import; nothing cached here (the page caches per store version, :func:`store_version`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis.field import FieldAnalysis, analyse
from ..store.field_data import field_cars
from ..store.references import Reference, list_references
from ..store.schema import Store
from .auth import AuthError, Viewer

__all__ = ["ANALYSIS_ROLES", "may_analyse", "require_analysis", "analysis_options", "store_version",
           "field_analysis", "references"]

#: the roles that see the BoP analysis and the reference runs (see the module doc for why only these)
ANALYSIS_ROLES = frozenset({"technical"})


def may_analyse(viewer: Viewer | None) -> bool:
    """Whether ``viewer`` sees the BoP analysis page (the dashboard's navigation asks this)."""
    return viewer is not None and viewer.role in ANALYSIS_ROLES


def require_analysis(viewer: Viewer | None) -> Viewer:
    """``viewer`` when it may read the BoP analysis and the references; else :class:`AuthError`."""
    if viewer is None:
        raise AuthError("not logged in", fix="log in first")
    if viewer.role not in ANALYSIS_ROLES:
        raise AuthError(f"role {viewer.role} may not see the BoP analysis",
                        fix="the BoP analysis is for technical staff: log in with a technical account")
    return viewer


def analysis_options(viewer: Viewer, store: Store) -> dict[str, dict]:
    """The events with judged runs, each as ``{"name", "sessions": [...], "models": [...]}`` (sessions in start
    order, the models of its runs): what the page offers to pick."""
    require_analysis(viewer)
    with store.reading() as conn:
        rows = conn.execute("""
            SELECT r.event, coalesce(e.name, r.event), r.session, min(s.start_at), list(DISTINCT r.model)
            FROM runs r LEFT JOIN events e ON e.event = r.event
                        LEFT JOIN sessions s ON s.event = r.event AND s.session = r.session
            GROUP BY r.event, e.name, r.session
            ORDER BY r.event, min(s.start_at) NULLS LAST, r.session""").fetchall()
    out: dict[str, dict] = {}
    for event, name, session, _, models in rows:
        entry = out.setdefault(event, {"name": name, "sessions": [], "models": set()})
        entry["sessions"].append(session)
        entry["models"].update(m for m in models if m)
    return {event: {**entry, "models": sorted(entry["models"])} for event, entry in out.items()}


def store_version(viewer: Viewer, store: Store) -> str:
    """What changes whenever the store gains a run or a reference: the audit head (``seq:hash``) and the run and
    reference counts. The page keys its cache on it, so a reload of an unchanged store reuses the analysis."""
    require_analysis(viewer)
    with store.reading() as conn:
        head = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        refs = conn.execute("SELECT count(*), count(*) FILTER (WHERE active) FROM model_references").fetchone()
    return f"{'-' if head is None else f'{head[0]}:{head[1]}'}/runs {runs}/references {refs[0]}:{refs[1]}"


def field_analysis(viewer: Viewer, store: Store, event: str, sessions: Sequence[str] | None = None,
                   target: str = "median") -> FieldAnalysis:
    """The field view of ``event`` over ``sessions`` (default: every session with judged runs) towards ``target``
    (``median`` or a model): :func:`compliance.analysis.field.analyse` on each car's latest run
    (:func:`compliance.store.field_data.field_cars`), weights from the bulletin each run was judged under.
    StoreError when the event or a session has no judged run."""
    require_analysis(viewer)
    cars = field_cars(store, event, list(sessions) if sessions else None)
    return analyse(cars, target=target, sessions=list(sessions) if sessions else sorted({c.session for c in cars}))


def references(viewer: Viewer, store: Store, model: str | None = None, *,
               include_inactive: bool = True) -> list[Reference]:
    """The reference runs in the store (of ``model``, else of every model), the replaced ones too unless
    ``include_inactive`` is false; oldest first per model."""
    require_analysis(viewer)
    return list_references(store, model=model, include_inactive=include_inactive)
