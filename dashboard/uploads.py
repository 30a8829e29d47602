"""Uploaded logs, before and through ingest: checked for size and type, written into a private folder, judged, and
each file's outcome put in words a scrutineer acts on.

The name the browser sends is never used as a path: only its suffix is read (against :data:`ALLOWED_SUFFIXES`),
the bytes are written as ``<sha256 prefix><suffix>`` inside a fresh private temporary folder of their own, and
the name, cut to its last component and reduced to letters, digits and ``._ -`` (:func:`label`), travels only as
a label: what the store records as the original name (``ingest_logs(names=...)``), what the join errors and the
stored runs' time ranges show.

Nothing here shows a server path or a command-line option: :func:`plain` takes them out of any message.
No Streamlit import: the Upload page adapts it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from compliance.access import LogSpan, Outing, Store, ingest_logs, log_span
from compliance.access.auth import Viewer, require
from compliance.errors import ComplianceError

__all__ = ["ALLOWED_SUFFIXES", "UploadRefused", "Dropped", "UploadResult", "allowed_suffix", "label",
           "check_upload", "spans_of", "overlapping", "ingest_uploads", "plain"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None, str], None]
Data = bytes | memoryview

# The log formats bopwatch reads (SPEC §4 inspect), optionally gzip-compressed.
_BASE_SUFFIXES = (".blf", ".asc", ".log", ".trc", ".csv", ".mf4", ".mdf", ".dat", ".txt")   # the reader goes by content
ALLOWED_SUFFIXES = _BASE_SUFFIXES + tuple(s + ".gz" for s in _BASE_SUFFIXES)
_LABEL_BAD = re.compile(r"[^A-Za-z0-9._ -]")


class UploadRefused(ComplianceError):
    """An upload that is too large, empty, of a type bopwatch does not read, or from a viewer who may not upload."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """One file dropped on the page, checked before anything is stored: ``refusal`` says why it cannot be
    uploaded (None when it can)."""

    label: str
    size: int
    sha256: str
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What became of one uploaded file: ``status`` is ``checked`` (a new verdict), ``duplicate`` (these files were
    judged before), ``stored`` (kept without a verdict), ``refused`` (not stored: ``problem`` says why) or
    ``error`` (the check failed: ``problem``)."""

    label: str
    status: str
    verdict: str | None = None
    bulletin: str | None = None
    outing: int | None = None
    run_id: str | None = None
    problem: str | None = None
    cause: str | None = None     # for an error: the other uploaded file the problem is about (this one waited)


def label(name: str) -> str:
    """The uploaded name as shown and stored: its last path component, letters, digits and ``._ -`` only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _LABEL_BAD.sub("_", base).strip()[:120] or "upload"


def allowed_suffix(name: str) -> str:
    """The (lower-case) suffix of an uploaded name when bopwatch reads that type; UploadRefused otherwise."""
    lower = name.strip().lower()
    for suffix in sorted(ALLOWED_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return suffix
    raise UploadRefused(f"{label(name)} is not a log type bopwatch reads: upload one of "
                        f"{', '.join(ALLOWED_SUFFIXES)}", place="upload")


def _refusal(name: str, size: int, max_bytes: int) -> str | None:
    if size > max_bytes:
        return (f"{label(name)} is {size / 1e6:.1f} MB, above the dashboard's limit of {max_bytes / 1e6:.0f} MB: "
                "hand it to the event's data operator, who loads large logs on the server with bopwatch ingest")
    if size == 0:
        return f"{label(name)} is empty: upload the log file itself"
    try:
        name_ok = label(name)
        allowed_suffix(name_ok)
    except UploadRefused as err:
        return err.problem
    return None


def check_upload(name: str, data: Data, *, max_bytes: int) -> Dropped:
    """Size, emptiness and type of one dropped file (nothing written)."""
    size = len(data)
    refusal = _refusal(name, size, max_bytes)
    digest = hashlib.sha256(data).hexdigest() if refusal is None else ""
    return Dropped(label(name), size, digest, refusal)


@contextmanager
def _staged(files: Sequence[tuple[str, Data]]) -> Iterator[list[tuple[Path, str]]]:
    """Write each file as ``<tmp>/<i>/<sha256 prefix><suffix>`` in a fresh private folder: (path, label) each;
    removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bopwatch-upload-") as tmp:
        staged = []
        for i, (name, data) in enumerate(files):
            folder = Path(tmp) / str(i)          # one folder each: two uploads with equal bytes stay apart
            folder.mkdir(mode=0o700)
            path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{allowed_suffix(label(name))}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            staged.append((path, label(name)))
        yield staged


def _names(staged: Sequence[tuple[Path, str]], shas: Sequence[str | None] = ()) -> dict[str, str]:
    """Staged path, staged file name and stored original's name -> the uploaded label (for messages)."""
    names = {str(p): name for p, name in staged} | {p.name: name for p, name in staged}
    for (_, name), sha in zip(staged, shas, strict=False):
        if sha:
            names[f"{sha}{allowed_suffix(name)}"] = name
    return names


def _owner(text: str, staged: Sequence[tuple[Path, str]], shas: Sequence[str | None]) -> int | None:
    """Which uploaded file an error text is about (its staged path or its hash appears in it), if one."""
    hits = [i for i, ((path, _), sha) in enumerate(zip(staged, shas, strict=True))
            if path.name in text or (sha and sha in text)]
    return hits[0] if len(hits) == 1 else None


def spans_of(viewer: Viewer, files: Sequence[tuple[str, Data]]) -> list[LogSpan | str]:
    """Each file's absolute time range (read in an isolated child: safe on hostile files), or the reason it cannot
    be read, in plain words."""
    require(viewer, "upload")
    out: list[LogSpan | str] = []
    with _staged(files) as staged:
        for path, name in staged:
            try:
                out.append(log_span(path, name=name))
            except Exception as err:  # noqa: BLE001 - each file's own problem, shown on its own row
                out.append(plain(_problem_of(err), _names([(path, name)])))
    return out


def overlapping(outing: Outing | None, spans: Sequence[LogSpan | str]) -> list[str]:
    """Sentences for each new file that overlaps the stored outing or another new file (it cannot join them)."""
    found = []
    readable = [s for s in spans if isinstance(s, LogSpan)]
    for i, span in enumerate(readable):
        if outing is not None and outing.overlaps(span):
            other = next(s for s in outing.logs if s.overlaps(span))
            found.append(f"{span.name} overlaps the stored {other.name} ({span.text()}; {other.text()})")
        for later in readable[i + 1:]:
            if span.overlaps(later):
                found.append(f"{span.name} overlaps {later.name}, also dropped now ({span.text()}; {later.text()})")
    return found


def _problem_of(err: Exception) -> str:
    """The plain sentence of an error: its problem and place, and its fix unless that is command-line advice."""
    problem = getattr(err, "problem", None) or str(err)
    place = getattr(err, "place", None)
    fix = getattr(err, "fix", None)
    text = f"{place}: {problem}" if place and place != "upload" else problem
    return f"{text} ({fix})" if fix and not _CLI.search(fix) else text


# command-line advice: an option (--join), or a bopwatch command to type
_CLI = re.compile(r"(?<![\w-])--[a-z][\w-]*|\bbopwatch (?:ingest|watch|recheck|audit|check|report|demo|dashboard)\b")
# a server path: two or more /-separated components (absolute, or relative with folders): cut to its file name
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/|\.{1,2}/|[\w.-]+/)(?:[\w.@+-]+/)+([\w.@+-]+)")


def _trailing_group(text: str) -> int | None:
    """Where the parenthesised group that ends ``text`` opens (nested parentheses allowed), or None."""
    if not text.rstrip().endswith(")"):
        return None
    depth = 0
    for i in range(len(text.rstrip()) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return None


def plain(text: str, names: dict[str, str] | None = None) -> str:
    """``text`` for the scrutineer: staged paths replaced by the uploaded names, any other path cut to its file
    name, a trailing parenthesised fix dropped when it is command-line advice, and any clause naming an option."""
    pairs = sorted((names or {}).items(), key=lambda kv: -len(kv[0]))
    for old, new in pairs:
        text = text.replace(old, new)
    text = _PATH.sub(lambda m: m.group(1), text)
    for old, new in pairs:
        text = text.replace(old, new)
    start = _trailing_group(text)
    if start is not None and _CLI.search(text[start:]):
        text = text[:start]
    clauses = [c for c in re.split(r"(?<=[;])\s+", text.strip()) if not _CLI.search(c)]
    return " ".join(clauses).strip(" ;,")


def ingest_uploads(viewer: Viewer, store: Store, files: Sequence[tuple[str, Data]], *, event: str, session: str,
                   car: str, model: str | None, bulletins: Sequence[str | Path], max_bytes: int, join: str = "auto",
                   progress: Progress | None = None) -> list[UploadResult]:
    """Check every upload first (nothing is stored when one is refused: each refused file says why, the others
    that they wait for it), then ingest them together as one car's session (``compliance.ingest.pipeline.ingest_logs``
    with ``join``: ``auto``/``add`` join the car's latest run, ``new`` starts a new outing). One result per file,
    in order, each with its own verdict or its own problem."""
    require(viewer, "upload")
    dropped = [check_upload(name, data, max_bytes=max_bytes) for name, data in files]
    if any(d.refusal for d in dropped):
        return [UploadResult(d.label, "refused", problem=d.refusal or "not stored: the other file(s) were refused; "
                             "upload them again together once they are fixed") for d in dropped]
    with _staged(files) as staged:
        labels = ", ".join(name for _, name in staged)
        log.info("upload by %s: %s for %s/%s car %s (join %s)", viewer.username, labels, event, session, car, join)
        outcomes = ingest_logs(store, [p for p, _ in staged], event=event, session=session, car=car, profile=model,
                               bulletin=list(bulletins) or None, reason="upload",
                               command=f"dashboard upload by {viewer.username}: {labels}",
                               actor=f"{viewer.username} (dashboard)", progress=progress, join=join,
                               names={str(p): name for p, name in staged})
    shas = [o.sha256 for o in outcomes]
    names = _names(staged, shas)
    results = []
    for i, ((_, name), outcome) in enumerate(zip(staged, outcomes, strict=True)):
        if outcome.status == "error":
            owner = _owner(outcome.error or "", staged, shas)
            results.append(UploadResult(name, "error", outing=outcome.outing,
                                        problem=plain(outcome.problem or outcome.error or "", names)
                                        or "the check failed",
                                        cause=staged[owner][1] if owner is not None and owner != i else None))
        else:
            results.append(UploadResult(name, outcome.status, outcome.verdict, outcome.bulletin, outcome.outing,
                                        outcome.run_id))
    return results
