"""``bopwatch report``: the steward report of a stored session (or one car) as HTML, PDF, CSV or JSON."""

from __future__ import annotations

import argparse
import sys

from ..reports.render import render, write_report
from ..reports.steward import FORMATS, build_report
from ..store.schema import open_store
from ._store_args import add_db_option

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="steward report of a stored session",
        description="Verdict matrix, every exceedance with evidence plots, data quality, file hashes, bulletin, "
                    "tool version and the commands that reproduce it, for the latest run of each car. HTML is "
                    "self-contained; PDF has tables and vector plots. Exit 0 when written (whatever the "
                    "verdicts), 1 when a cited original no longer matches its hash, 2 on error.")
    p.add_argument("--event", required=True, help="event id")
    p.add_argument("--session", required=True, help="session id")
    p.add_argument("--car", help="only this car")
    p.add_argument("--bulletin", help="runs under this bulletin id (default: each car's latest run)")
    p.add_argument("--format", choices=FORMATS, default="html", help="html (default), pdf, csv or json")
    p.add_argument("--out", help="output file (default: report_<event>_<session>[_car<N>].<format>; '-' = stdout)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    out = args.out or f"report_{args.event}_{args.session}{f'_car{args.car}' if args.car else ''}.{args.format}"
    report = build_report(store, args.event, args.session, car=args.car, bulletin=args.bulletin, fmt=args.format,
                          out=None if out == "-" else out)
    if out == "-":
        sys.stdout.buffer.write(render(report, args.format, store))
        sys.stdout.flush()
    else:
        path = write_report(report, args.format, out, store)
        print(f"{path}: {args.format} report of {len(report.cars)} car(s), overall {report.verdict}",
              file=sys.stderr)
    for problem in report.problems:
        print(f"bopwatch report: integrity: {problem}", file=sys.stderr)
    return 1 if report.problems else 0
