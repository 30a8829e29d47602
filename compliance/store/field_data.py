"""What the BoP analysis reads from the store: each car's latest run of the chosen sessions, its channels (the
run's Parquet, only the channels the analysis uses) and its bulletin entry (the bulletin given, else the one the
run was judged under when its file is still on disk unchanged)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..analysis.field import CarData
from ..bop.bulletins import Bulletin, load_bulletin
from ..errors import ComplianceError, StoreError
from .originals import read_channels_parquet, sha256_file
from .schema import Store

__all__ = ["field_cars", "CHANNELS"]

#: the channels the analysis reads (the rest of a run's Parquet is not loaded)
CHANNELS = ("power", "boost_pressure", "engine_speed", "vehicle_speed", "throttle", "long_accel", "lap",
            "distance", "ambient_pressure")


def _bulletin(path: str | None, sha: str, cache: dict) -> Bulletin | None:
    if not path:
        return None
    if path not in cache:
        try:
            cache[path] = load_bulletin(path) if sha256_file(path) == sha else None
        except (OSError, ComplianceError):
            cache[path] = None
    return cache[path]


def field_cars(store: Store, event: str, sessions: Sequence[str] | None = None, *, bulletin: Bulletin | None = None,
               cars: Sequence[str] | None = None) -> list[CarData]:
    """One ``CarData`` per car and session: the latest run of each car's first outing (a car's other outings
    are other runs of the same car, left out so no car counts twice)."""
    with store.reading() as conn:
        rows = conn.execute("""
            SELECT session, car, model, bulletin_path, bulletin_sha256, channels_path, duration_s
            FROM (SELECT *, row_number() OVER (PARTITION BY session, car ORDER BY created_at DESC) AS n
                  FROM runs WHERE event = ? AND coalesce(outing, 1) = 1) WHERE n = 1 ORDER BY session, car""",
                            [event]).fetchall()
    if not rows:
        raise StoreError(f"no judged run of event {event!r} in the store", fix="ingest the event's logs first")
    wanted = None if not sessions else set(sessions)
    missing = sorted(wanted - {r[0] for r in rows}) if wanted else []
    if missing:
        raise StoreError(f"event {event} has no judged run in session(s) {', '.join(missing)}",
                         fix="check --session against 'bopwatch report' or the dashboard")
    cache: dict = {}
    out = []
    for session, car, model, bpath, bsha, cpath, duration in rows:
        if wanted and session not in wanted or cars and car not in cars or not cpath:
            continue
        path = store.absolute(cpath)
        if not Path(path).is_file():
            raise StoreError(f"{path}: the channel Parquet of car {car} in {session} is missing",
                             fix="'bopwatch audit verify' lists what else is missing")
        b = bulletin or _bulletin(bpath, bsha, cache)
        entry = b.entry(model, car) if b is not None and model in b.models else None
        out.append(CarData(car, model, session, read_channels_parquet(path, CHANNELS), float(duration or 0.0),
                           entry, None if b is None else b.reference_ambient_pressure_bar,
                           None if b is None else b.track_length_m))
    return out
