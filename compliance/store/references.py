"""Reference runs in the store (issue 17): a stored run marked as its model's reference for a bulletin (or a track
category), with the envelopes computed from the run's channel Parquet when it is marked.

SRO's regulations make the logger a scrutineering device whose reference engine data is the data of the official
BoP test; here a reference is any stored run the officials choose (ingest the BoP test's logs first). Marking a
new reference for the same model and scope deactivates the previous one; nothing is deleted. Each row is bound
into the audit chain (``metadata.model_references``) and records the SHA-256 of the Parquet it was computed from.

Which reference judges a car (:func:`reference_for`): the active reference of its model for the bulletin in force,
else the active one for the bulletin's track category with no bulletin given, else none (no comparison).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ..analysis.compare import ReferenceSettings
from ..analysis.envelopes import RunEnvelopes, run_envelopes
from ..errors import StoreError
from .audit_chain import canonical_json, utcnow
from .originals import read_channels_parquet, sha256_file
from .schema import Store, _audited

__all__ = ["Reference", "set_reference", "list_references", "get_reference", "reference_for", "find_run"]


@dataclass(frozen=True, slots=True)
class Reference:
    reference_id: str
    model: str
    bulletin_id: str | None
    track_category: str | None
    run_id: str
    channels_sha256: str | None
    envelopes: RunEnvelopes
    settings: ReferenceSettings
    note: str | None
    active: bool
    created_at: Any

    def to_dict(self, *, envelopes: bool = True) -> dict:
        out = {"reference_id": self.reference_id, "model": self.model, "bulletin_id": self.bulletin_id,
               "track_category": self.track_category, "run_id": self.run_id,
               "channels_sha256": self.channels_sha256, "settings": self.settings.to_dict(), "note": self.note,
               "active": self.active, "created_at": str(self.created_at),
               "top_speed_kmh": self.envelopes.top_speed_kmh, "full_throttle_s": self.envelopes.full_throttle_s}
        if envelopes:
            out["envelopes"] = self.envelopes.to_dict()
        return out


_COLUMNS = ("reference_id, model, bulletin_id, track_category, run_id, channels_sha256, envelopes, settings, note, "
            "active, created_at")


def _row(row: Sequence) -> Reference:
    rid, model, bulletin, category, run, sha, env, settings, note, active, created = row
    return Reference(rid, model, bulletin, category, run, sha, RunEnvelopes.from_dict(json.loads(env)),
                     ReferenceSettings.from_dict(json.loads(settings)), note, bool(active), created)


def find_run(conn: duckdb.DuckDBPyConnection, *, run_id: str | None = None, event: str | None = None,
             session: str | None = None, car: str | None = None, outing: int = 1) -> tuple:
    """(run_id, model, bulletin_id, channels_path) of ``run_id``, or of the latest run of a car's session."""
    if run_id:
        row = conn.execute("SELECT run_id, model, bulletin_id, channels_path FROM runs WHERE run_id = ?",
                           [run_id]).fetchone()
        what = f"run {run_id} in the store"
    else:
        row = conn.execute("SELECT run_id, model, bulletin_id, channels_path FROM runs WHERE event = ? AND "
                           "session = ? AND car = ? AND coalesce(outing, 1) = ? ORDER BY created_at DESC LIMIT 1",
                           [event, session, car, outing]).fetchone()
        what = f"car {car} has no stored run in {event}/{session} (outing {outing})"
    if row is None:
        raise StoreError(what if not run_id else f"no {what}", fix="ingest the log first ('bopwatch ingest'), or check the ids")
    return row


def set_reference(store: Store, *, run_id: str | None = None, event: str | None = None, session: str | None = None,
                  car: str | None = None, outing: int = 1, bulletin_id: str | None = None,
                  track_category: str | None = None, settings: ReferenceSettings | None = None,
                  note: str | None = None, actor: str | None = None) -> Reference:
    """Mark a stored run as its model's reference (for ``bulletin_id``, default the run's bulletin; or for a track
    category when ``track_category`` is given and ``bulletin_id`` is not)."""
    settings = settings or ReferenceSettings()
    with store.reading() as conn:
        run, model, run_bulletin, channels_path = find_run(conn, run_id=run_id, event=event, session=session,
                                                           car=car, outing=outing)
    if not channels_path:
        raise StoreError(f"run {run} has no decoded channels", fix="re-ingest the log to decode its channels")
    path = store.absolute(channels_path)
    if not path.is_file():
        raise StoreError(f"{path}: the run's channel Parquet file is missing",
                         fix="'bopwatch audit verify' says what else is missing; restore the store from a backup")
    channels_sha = sha256_file(path)
    channels = read_channels_parquet(path)
    envelopes = run_envelopes(channels, model)
    if not envelopes.envelopes:
        raise StoreError(f"run {run} has none of the channels an envelope needs (engine_speed or vehicle_speed "
                         "with boost_pressure, power or fuel_flow)", fix="choose a run of a car whose profile maps them")
    scope_bulletin = bulletin_id if bulletin_id is not None else (None if track_category else run_bulletin)
    scope = scope_bulletin or f"category {track_category}"
    text = canonical_json(envelopes.to_dict())
    with store.writing() as conn:
        n = conn.execute("SELECT count(*) FROM model_references WHERE model = ? AND coalesce(bulletin_id, '') = ? "
                         "AND coalesce(track_category, '') = ?",
                         [model, scope_bulletin or "", track_category or ""]).fetchone()[0]
        rid = f"{model}@{scope_bulletin or 'category-' + str(track_category)}#{n + 1}"
        for (old,) in conn.execute("SELECT reference_id FROM model_references WHERE model = ? AND active AND "
                                   "coalesce(bulletin_id, '') = ? AND coalesce(track_category, '') = ?",
                                   [model, scope_bulletin or "", track_category or ""]).fetchall():
            _audited(conn, "model_references", (old,), actor,
                     "UPDATE model_references SET active = false WHERE reference_id = ?", [old])
        _audited(conn, "model_references", (rid,), actor,
                 "INSERT INTO model_references VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 [rid, model, scope_bulletin, track_category, run, channels_sha, text,
                  hashlib.sha256(text.encode()).hexdigest(), canonical_json(settings.to_dict()), note, True,
                  utcnow()])
    ref = get_reference(store, rid)
    if ref is None:                      # pragma: no cover - written just above
        raise StoreError(f"reference {rid} was not written ({scope})")
    return ref


def list_references(store: Store, *, model: str | None = None, include_inactive: bool = False) -> list[Reference]:
    where = ["(? IS NULL OR model = ?)"] + ([] if include_inactive else ["active"])
    with store.reading() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM model_references WHERE {' AND '.join(where)} "
                            "ORDER BY model, created_at", [model, model]).fetchall()
    return [_row(r) for r in rows]


def get_reference(store: Store, reference_id: str) -> Reference | None:
    with store.reading() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM model_references WHERE reference_id = ?",
                           [reference_id]).fetchone()
    return None if row is None else _row(row)


def reference_for(conn: duckdb.DuckDBPyConnection, model: str, bulletin_id: str | None,
                  track_category: str | None) -> Reference | None:
    """The reference that judges a car of ``model`` under ``bulletin_id`` (see the module doc)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM model_references WHERE active AND model = ? AND bulletin_id = ? "
                       "ORDER BY created_at DESC LIMIT 1", [model, bulletin_id]).fetchone()
    if row is None and track_category:
        row = conn.execute(f"SELECT {_COLUMNS} FROM model_references WHERE active AND model = ? AND bulletin_id "
                           "IS NULL AND track_category = ? ORDER BY created_at DESC LIMIT 1",
                           [model, track_category]).fetchone()
    return None if row is None else _row(row)
