"""``bopwatch bench``: the benchmark table of ``python -m benchmarks`` (format, frames/s, ratio to the reference
libraries timed in the same run, peak RSS). The benchmarks live in the source tree's ``benchmarks/`` folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ComplianceError

__all__ = ["add_subparser"]

_SOURCE_TREE = Path(__file__).resolve().parents[2]


def _benchmarks():
    try:
        import benchmarks.__main__ as bench
    except ModuleNotFoundError:
        if not (_SOURCE_TREE / "benchmarks" / "__main__.py").exists():
            raise ComplianceError("the benchmarks are not installed", path=_SOURCE_TREE / "benchmarks",
                                  fix="run bopwatch bench from a source checkout (pip install -e .)") from None
        sys.path.insert(0, str(_SOURCE_TREE))
        import benchmarks.__main__ as bench
    return bench


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="benchmark table: frames/s per format, ratio to python-can/cantools/asammdf, peak RSS",
        description="Simulate logs into a temp folder, time 'bopwatch check' and the reference libraries on them "
                    "as separate processes, and print one table (the same as 'python -m benchmarks').")
    try:
        bench = _benchmarks()
    except ComplianceError as err:  # an installed wheel without the source tree: say so when asked to bench
        problem = err

        def missing(args: argparse.Namespace) -> int:
            raise problem
        p.set_defaults(func=missing)
        return
    bench.add_arguments(p)
    p.set_defaults(func=bench.run)
