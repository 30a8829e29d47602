"""Options and output shared by the store commands (ingest, watch, recheck, demo): ``--db``, JSON lines,
the reproducing command line."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["add_db_option", "add_join_options", "add_max_gap_option", "print_json_line", "reproduce", "abs_path"]


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="store file (env BOPWATCH_DB; default ./bopwatch.duckdb)")


def add_max_gap_option(parser: argparse.ArgumentParser, default: float | None = None) -> None:
    from ..judge.outings import DEFAULT_MAX_GAP_S

    parser.add_argument("--max-gap", type=float, metavar="SECONDS", default=default,
                        help="files of one run must not lie further apart than this (default: the event file's "
                             f"max_gap_s, else {DEFAULT_MAX_GAP_S:.0f}; 'inf' for no limit); files that overlap in "
                             "time are always refused, never interleaved")


def add_join_options(parser: argparse.ArgumentParser) -> None:
    """``--join`` and ``--max-gap`` of ingest and watch (compliance.judge.outings)."""
    from ..judge.outings import JOIN_MODES

    parser.add_argument("--join", choices=JOIN_MODES, default="auto",
                        help="a log for a car and session that already has logs: auto/add = join the car's latest "
                             "outing (the logger rolled files), refused when it overlaps that outing's files, "
                             "starts more than --max-gap after them, or starts outside the session window of the "
                             "event file; new = start a new outing (a separate run). A sidecar's \"join\" wins "
                             "for its log. Default auto")
    add_max_gap_option(parser)


def print_json_line(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()


def reproduce(command: str, positional: Iterable[str], options: dict[str, object]) -> str:
    """The command line that redoes this work, with absolute paths where ``options`` hold paths
    (values: str, list of str for repeatable options, True for flags, None to leave out)."""
    parts = ["bopwatch", command, *positional]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = f"--{name.replace('_', '-')}"
        if value is True:
            parts.append(flag)
        else:
            for item in value if isinstance(value, list | tuple) else [value]:
                parts += [flag, str(item)]
    return " ".join(shlex.quote(p) for p in parts)


def abs_path(value: str | None) -> str | None:
    """A path option made absolute; a value that is not an existing path (e.g. a model id) is kept as is."""
    if value is None:
        return None
    p = Path(value)
    return str(p.resolve()) if p.exists() else value
