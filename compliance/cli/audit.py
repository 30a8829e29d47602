"""``bopwatch audit``: show the audit log, or verify the hash chain, the cross-references and the originals."""

from __future__ import annotations

import argparse
import json
import sys

from ..audit import verify
from ..store import open_store
from ._store_args import add_db_option

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "audit", help="show or verify the store's audit log",
        description="'verify' checks the audit hash chain and its head, that every run and log has its audit "
                    "row and matches it, and re-hashes every stored original: exit 0 intact, 1 broken, 2 error. "
                    "'show' prints the audit rows as JSON lines.")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="verify the chain and the originals")
    v.add_argument("--no-originals", action="store_true", help="skip re-hashing the originals (faster)")
    v.add_argument("--json", action="store_true", help="print the report as one JSON object")
    add_db_option(v)
    v.set_defaults(func=run_verify)
    s = sub.add_parser("show", help="print audit rows as JSON lines")
    s.add_argument("--last", type=int, default=50, help="how many of the latest rows (default 50; 0 = all)")
    add_db_option(s)
    s.set_defaults(func=run_show)


def run_verify(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    report = verify(store, originals=not args.no_originals)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            print(f"BROKEN: {problem}")
        state = "intact" if report.ok else f"{len(report.problems)} problem(s)"
        print(f"audit log: {report.rows} rows, originals checked: {report.originals_checked}, {state}",
              file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def run_show(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    with store.reading() as conn:
        rows = conn.execute("SELECT seq, logged_at, actor, action, subject, detail, hash FROM audit_log "
                            "ORDER BY seq DESC" + (" LIMIT ?" if args.last else ""),
                            [args.last] if args.last else []).fetchall()
    for seq, at, actor, action, subject, detail, digest in reversed(rows):
        print(json.dumps({"seq": seq, "at": at.isoformat() + "Z", "actor": actor, "action": action,
                          "subject": subject, "detail": json.loads(detail), "hash": digest}))
    return 0
