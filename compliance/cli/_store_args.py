"""Options and output shared by the store commands (ingest, watch, recheck, demo): ``--db``, JSON lines,
the reproducing command line."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["add_db_option", "print_json_line", "reproduce", "abs_path"]


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="store file (env BOPWATCH_DB; default ./bopwatch.duckdb)")


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
