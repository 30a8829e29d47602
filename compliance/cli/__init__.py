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


def _command_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _wanted_command(argv: list[str], names: list[str]) -> str | None:
    """The subcommand's module named on the command line (the first word that is not an option), if it is one of
    ours; ``logger-check`` is the module ``logger_check``."""
    for word in argv:
        if not word.startswith("-"):
            module = word.replace("-", "_")
            return module if module in names else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser. Given ``argv`` naming a subcommand, only that subcommand's module is imported: start-up time
    matters to paddock scripts (``bopwatch check`` is ~1.5 s faster than importing every command), and a
    broken module cannot take the other commands down with it."""
    parser = argparse.ArgumentParser(
        prog="bopwatch", description="Balance-of-Performance checks from GT race-car data loggers.")
    parser.add_argument("--version", action="version", version=f"bopwatch {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = _command_modules()
    wanted = None if argv is None else _wanted_command(argv, names)
    for name in [wanted] if wanted else names:
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "add_subparser"):
            module.add_subparser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
