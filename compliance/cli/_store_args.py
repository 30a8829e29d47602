"""Options and output shared by the store commands (ingest, watch, recheck, demo): ``--db``, JSON lines,
the reproducing command line."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterable

__all__ = ["add_db_option", "print_json_line", "command_line"]


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="store file (env BOPWATCH_DB; default ./bopwatch.duckdb)")


def print_json_line(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()


def command_line(argv: Iterable[str] | None = None) -> str:
    """The command as typed (``bopwatch ...``), quoted for a POSIX shell."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["bopwatch", *(shlex.quote(a) for a in args)])
