"""Judging one car's session for the store: the run key (same logs, profile with its DBCs, bulletin and tool:
same key, so ingesting again adds nothing), the channel set id, the summary rows, and the judge that runs
``check_logs`` here and writes the channels to the store's Parquet (``compliance.ingest.fleet`` runs the same in
its workers)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..store import schema as st
from ..store.originals import write_channels_parquet

__all__ = ["run_key", "summaries", "Judged", "judge_here"]

Progress = Callable[[int, int | None, str], None]


def run_key(log_shas: Iterable[str], profile_sha: str, bulletin_sha: str, tool_version: str) -> str:
    """Same logs, profile (with its DBCs: see :func:`_profile_key`), bulletin and tool version: same key."""
    text = "\n".join([*sorted(log_shas), profile_sha, bulletin_sha, tool_version])
    return hashlib.sha256(text.encode()).hexdigest()


def _profile_key(profile: Any) -> str:
    """The profile's hash folded with its DBC files' hashes: editing a DBC changes the decoding, so the key."""
    dbcs = [d.sha256 for d in getattr(profile, "dbcs", ())]
    if not dbcs:
        return profile.sha256
    return hashlib.sha256("\n".join([profile.sha256, *dbcs]).encode()).hexdigest()


def _set_id(log_shas: Iterable[str], profile_sha: str) -> str:
    return hashlib.sha256("\n".join([*sorted(log_shas), profile_sha]).encode()).hexdigest()


def summaries(channels: Mapping[str, Any]) -> tuple[st.ChannelSummary, ...]:
    """Per-channel summary rows of a run (samples, span, min/max/mean of the finite values)."""
    out = []
    for name in sorted(channels):
        ch = channels[name]
        n = len(ch.time)
        values = np.asarray(ch.value, dtype=np.float64)
        finite = values[np.isfinite(values)] if n else values
        out.append(st.ChannelSummary(
            name, ch.unit, n, ch.source, ch.bus,
            float(ch.time[0]) if n else None, float(ch.time[-1]) if n else None,
            float(finite.min()) if len(finite) else None, float(finite.max()) if len(finite) else None,
            float(finite.mean()) if len(finite) else None))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Judged:
    """What the store keeps of one car's check: the verdict, the bulletin applied, the sources read, and the
    channels already written to the store's Parquet file (``parquet``) with their summary rows."""

    verdict: Any                      # compliance.judge.verdict.Verdict
    bulletin: Any                     # compliance.bop.bulletins.Bulletin
    sources: tuple                    # telemetry SourceInfo per log read
    start: datetime | None
    duration_s: float | None
    parquet: Path
    summaries: tuple[st.ChannelSummary, ...]


def judge_here(paths: Sequence[str | Path], profile: Any, bulletins: Sequence[Any], *, channels_dir: Path,
               channels_name: str, progress: Progress | None = None, **extra: Any) -> Judged:
    """Judge in this process (``check_logs``) and write the channels to ``channels_dir/<channels_name>.parquet``:
    the default judge of :func:`ingest_logs`; ``compliance.ingest.fleet`` runs the same in its workers."""
    from ..judge.check import check_logs

    result = check_logs(paths, profile, list(bulletins), progress=progress, **extra)
    parquet, _ = write_channels_parquet(result.session.channels, Path(channels_dir), channels_name)
    return Judged(result.verdict, result.bulletin, tuple(result.session.sources), result.session.start,
                  result.session.duration_s, parquet, summaries(result.session.channels))


