"""``bopwatch audit``: show the audit log, print its head (to pin on paper), or verify the chain, its MACs, every
bound row and file, and the originals."""

from __future__ import annotations

import argparse
import json
import sys

from ..store.audit import head, parse_pin, verify
from ..store.schema import open_store
from ._store_args import add_db_option

__all__ = ["add_subparser"]

_MAC_TEXT = {"checks": "checks with the key here", "does not check": "DOES NOT CHECK with the key here (forged?)",
             "unkeyed": "none (unkeyed: written without an audit key)", "no key here": "not checked (no key here)",
             "other key": "made with another key than the one here: not checked"}


def _pin(text: str) -> tuple[int, str]:
    try:
        return parse_pin(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "audit", help="show, pin or verify the store's audit log",
        description="'verify' checks the audit hash chain, its MACs (with the audit key kept outside the store: "
                    "BOPWATCH_AUDIT_KEY_FILE, BOPWATCH_AUDIT_KEY, or ~/.config/bopwatch/audit.key) and its head, "
                    "recomputes every stored row and channel Parquet file the audit log binds, and re-hashes every "
                    "stored original: exit 0 intact, 1 broken, 2 error. 'head' prints the last audit row (seq, "
                    "hash, MAC) to pin on a signed paper copy. 'show' prints the audit rows as JSON lines.")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="verify the chain, the bound rows and files, and the originals")
    v.add_argument("--no-originals", action="store_true", help="skip re-hashing the originals (faster)")
    v.add_argument("--require-key", action="store_true",
                   help="fail unless the head row's MAC checks with the key here (an unkeyed chain is broken)")
    v.add_argument("--pin", action="append", type=_pin, default=[], metavar="SEQ:HASH",
                   help="a head printed earlier ('audit head', a report's footer): the store must still hold it")
    v.add_argument("--json", action="store_true", help="print the report as one JSON object")
    add_db_option(v)
    v.set_defaults(func=run_verify)
    h = sub.add_parser("head", help="print the last audit row's seq, hash and MAC (to pin the store on paper)")
    h.add_argument("--json", action="store_true", help="print it as one JSON object")
    add_db_option(h)
    h.set_defaults(func=run_head)
    s = sub.add_parser("show", help="print audit rows as JSON lines")
    s.add_argument("--last", type=int, default=50, help="how many of the latest rows (default 50; 0 = all)")
    add_db_option(s)
    s.set_defaults(func=run_show)


def run_verify(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    report = verify(store, originals=not args.no_originals, require_key=args.require_key, pins=args.pin)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            print(f"BROKEN: {problem}")
        for note in report.notes:
            print(f"NOTE: {note}")
        mac = report.mac
        key = f" (key id {mac['key_id']}, anchors rows 1..{mac['anchored_seq']})" if mac.get("anchored_seq") else ""
        state = "intact" if report.ok else f"{len(report.problems)} problem(s)"
        print(f"audit log: {report.rows} rows, {mac.get('status', 'empty')}{key}, stored rows checked: "
              f"{report.rows_checked}, Parquet files checked: {report.parquet_checked}, originals checked: "
              f"{report.originals_checked}, {state}", file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def run_head(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    h, status = head(store)
    if args.json:
        print(json.dumps({**(h.to_dict() if h else {"seq": None}), "mac_status": status}, indent=2))
        return 0
    if h is None:
        print("audit log: empty")
        return 0
    print(f"audit head of {store.db}")
    print(f"  seq   {h.seq}")
    print(f"  hash  {h.hash}")
    print(f"  mac   {h.mac or '-'}  {_MAC_TEXT.get(status, status)}")
    print(f"  key   {h.key_id or '-'}")
    print(f"  at    {h.logged_at}")
    print(f"pin it: bopwatch audit verify --pin {h.pin}")
    return 1 if status == "does not check" else 0


def run_show(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    with store.reading() as conn:
        rows = conn.execute("SELECT seq, logged_at, actor, action, subject, detail, hash, mac, key_id FROM audit_log "
                            "ORDER BY seq DESC" + (" LIMIT ?" if args.last else ""),
                            [args.last] if args.last else []).fetchall()
    for seq, at, actor, action, subject, detail, digest, mac, key_id in reversed(rows):
        print(json.dumps({"seq": seq, "at": at.isoformat() + "Z", "actor": actor, "action": action,
                          "subject": subject, "detail": json.loads(detail), "hash": digest, "mac": mac,
                          "key_id": key_id}))
    return 0
