"""Ingest's comparison with the model's reference run (issue 17): when the store holds an active reference for the
car's model and the bulletin in force (``compliance.store.references.reference_for``), the stored verdict JSON gains
the ``reference`` block ``check --reference`` prints (advisory findings, never a verdict). The reference ids are
part of the run key, so setting a new reference and ingesting (or ``recheck``) again judges anew; with no
reference the key is what it always was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..analysis.compare import compare
from ..analysis.envelopes import run_envelopes
from ..store.field_data import CHANNELS
from ..store.originals import read_channels_parquet
from ..store.references import reference_for
from ..store.schema import Store

__all__ = ["reference_tag", "reference_block"]


def reference_tag(store: Store, model: str) -> str:
    """'' without an active reference of ``model``, else ``|refs:<ids>`` to fold into the run key."""
    with store.reading() as conn:
        ids = [r for (r,) in conn.execute("SELECT reference_id FROM model_references WHERE active AND model = ? "
                                          "ORDER BY reference_id", [model]).fetchall()]
    return f"|refs:{','.join(ids)}" if ids else ""


def reference_block(store: Store, model: str, judged: Any) -> dict | None:
    """The ``reference`` block of a judged run, or None when no reference applies."""
    bulletin = judged.bulletin
    with store.reading() as conn:
        ref = reference_for(conn, model, bulletin.id, getattr(bulletin, "track_category", None))
    if ref is None:
        return None
    channels = read_channels_parquet(Path(judged.parquet), CHANNELS)
    car = run_envelopes(channels, model, duration_s=judged.duration_s)
    about = {"reference_id": ref.reference_id, "model": ref.model, "run_id": ref.run_id, "source": "store"}
    return compare(car, ref.envelopes, settings=ref.settings, reference=about).to_dict()
