"""Which file names are logs: what ``ingest`` takes from a folder and what ``watch`` waits for."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOG_SUFFIXES", "is_candidate"]

LOG_SUFFIXES = (".blf", ".asc", ".log", ".trc", ".csv", ".mf4", ".mdf", ".dat")
_TEMP_SUFFIXES = (".tmp", ".part", ".crdownload", "~", ".partial", ".swp")


_NOT_LOGS = ("entry_list.csv", "entries.csv")


def is_candidate(path: Path) -> bool:
    """Whether ``path`` looks like a log: a log suffix (optionally .gz), or a ``.txt`` whose content is a log,
    not hidden, not a temporary name, not a sidecar, not an entry list."""
    name = path.name.lower()
    if name.startswith(".") or name.endswith(_TEMP_SUFFIXES) or name.endswith(".meta.json") or name in _NOT_LOGS:
        return False
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(LOG_SUFFIXES):
        return True
    return name.endswith(_SNIFFED_SUFFIXES) and _holds_a_log(path)


#: names that may hold a log or not (a candump log saved as .txt beside a README.txt): taken when the content
#: is a format bopwatch reads (telemetry.formats.sniff, at most 64 KiB read)
_SNIFFED_SUFFIXES = (".txt",)


def _holds_a_log(path: Path) -> bool:
    from telemetry.errors import TelemetryError
    from telemetry.formats import sniff
    from telemetry.formats.sniff import READ_FORMATS

    try:
        return sniff(path).format in READ_FORMATS
    except (OSError, TelemetryError):
        return False
