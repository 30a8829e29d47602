"""The ``bopwatch`` command line: one entry point, one module per subcommand in this package.

Each subcommand module defines ``add_subparser(subparsers)`` which registers its parser and sets
``func=<callable(args) -> int>``. Modules are discovered, so adding a command is adding a file.
This package is the only place where output and logging are configured.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from telemetry.errors import TelemetryError

from ..errors import ComplianceError

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_INFRINGEMENT", "EXIT_ERROR", "EXIT_INCOMPLETE"]

EXIT_OK = 0
EXIT_INFRINGEMENT = 1
EXIT_ERROR = 2
EXIT_INCOMPLETE = 3

log = logging.getLogger("bopwatch")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("bopwatch")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.1.0"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bopwatch", description="Balance-of-Performance checks from GT race-car data loggers.")
    parser.add_argument("--version", action="version", version=f"bopwatch {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "add_subparser"):
            module.add_subparser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.func(args) or 0)
    except (TelemetryError, ComplianceError) as err:
        if args.debug:
            raise
        print(f"bopwatch {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except FileNotFoundError as err:
        if args.debug:
            raise
        print(f"bopwatch {args.command}: error: {err.filename}: no such file (check the path)", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("bopwatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
