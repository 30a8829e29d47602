"""Uploaded logs, before ingest: checked for size and type, written under a name made from their content.

The name the browser sends is never used as a path: only its suffix is read, and only when it is one of
:data:`ALLOWED_SUFFIXES`; the file is written as ``<sha256 prefix><suffix>`` inside a fresh private temporary
folder, and the original name travels only as a label (stored with the evidence, shown escaped).
No Streamlit import: the Upload page adapts it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compliance.auth import Viewer, require
from compliance.errors import ComplianceError
from compliance.ingest import IngestOutcome, ingest_logs
from compliance.store import Store

__all__ = ["ALLOWED_SUFFIXES", "UploadRefused", "StagedUpload", "allowed_suffix", "stage_upload", "ingest_uploads"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None, str], None]

# The log formats bopwatch reads (SPEC §4 inspect), optionally gzip-compressed.
_BASE_SUFFIXES = (".blf", ".asc", ".log", ".trc", ".csv", ".mf4", ".mdf")
ALLOWED_SUFFIXES = _BASE_SUFFIXES + tuple(s + ".gz" for s in _BASE_SUFFIXES)
_LABEL_BAD = re.compile(r"[^A-Za-z0-9._ -]")


class UploadRefused(ComplianceError):
    """An upload that is too large, of a type bopwatch does not read, or from a viewer who may not upload."""


@dataclass(frozen=True, slots=True)
class StagedUpload:
    path: Path              # where the bytes are now (a name bopwatch made)
    label: str              # the uploaded name, sanitised, for display and the audit log only
    sha256: str
    size: int


def allowed_suffix(name: str) -> str:
    """The (lower-case) suffix of an uploaded name when bopwatch reads that type; UploadRefused otherwise."""
    lower = name.strip().lower()
    for suffix in sorted(ALLOWED_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return suffix
    raise UploadRefused(f"{_label(name)!r} is not a log type bopwatch reads", place="upload",
                        fix=f"upload one of {', '.join(ALLOWED_SUFFIXES)}")


def _label(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _LABEL_BAD.sub("_", base)[:120] or "upload"


def stage_upload(viewer: Viewer, name: str, data: bytes, *, max_bytes: int, folder: Path) -> StagedUpload:
    """Check an upload and write it into ``folder`` (which must exist and be private to this upload)."""
    require(viewer, "upload")
    size = len(data)
    if size > max_bytes:
        raise UploadRefused(f"{_label(name)!r} is {size / 1e6:.1f} MB, above the dashboard's limit of "
                            f"{max_bytes / 1e6:.0f} MB", place="upload",
                            fix="ingest it with 'bopwatch ingest LOG --event E --session S --car N --profile P' "
                                "or drop it into a folder served by 'bopwatch watch DIR'")
    if size == 0:
        raise UploadRefused(f"{_label(name)!r} is empty", place="upload", fix="upload the log file itself")
    suffix = allowed_suffix(name)
    digest = hashlib.sha256(data).hexdigest()
    path = Path(folder) / f"{digest[:16]}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return StagedUpload(path, _label(name), digest, size)


def ingest_uploads(viewer: Viewer, store: Store, files: Sequence[tuple[str, bytes]], *, event: str, session: str,
                   car: str, model: str | None, bulletins: Sequence[str | Path], max_bytes: int,
                   progress: Progress | None = None) -> list[tuple[str, IngestOutcome]]:
    """Check every upload first (nothing is ingested when one is refused), then ingest them together as one
    car's session (``compliance.ingest.ingest_logs``). Returns (label, outcome) per file."""
    require(viewer, "upload")
    with tempfile.TemporaryDirectory(prefix="bopwatch-upload-") as tmp:
        staged = []
        for i, (name, data) in enumerate(files):
            folder = Path(tmp) / str(i)           # one folder each: two uploads with equal bytes stay apart
            folder.mkdir(mode=0o700)
            staged.append(stage_upload(viewer, name, data, max_bytes=max_bytes, folder=folder))
        labels = ", ".join(s.label for s in staged)
        log.info("upload by %s: %s for %s/%s car %s", viewer.username, labels, event, session, car)
        outcomes = ingest_logs(store, [s.path for s in staged], event=event, session=session, car=car,
                               profile=model, bulletin=list(bulletins) or None, reason="upload",
                               command=f"dashboard upload by {viewer.username}: {labels}",
                               actor=f"{viewer.username} (dashboard)", progress=progress)
    return [(s.label, o) for s, o in zip(staged, outcomes, strict=True)]
