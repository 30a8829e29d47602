"""``bopwatch ledger``: the sanctions ledger of a stored event (SPEC §5, ``compliance.store.ledger``)."""

from __future__ import annotations

import argparse
import json
import sys

from .. import config
from ..errors import ComplianceError
from ..ingest.event_file import load_event_info
from ..store.ledger import Ledger, event_ledger, record_ladders
from ..store.schema import open_store
from ._store_args import abs_path, add_db_option

__all__ = ["add_subparser"]

NO_LADDER = "- (no ladder: the stewards decide)"


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ledger", help="sanctions ledger of a stored event",
        description="Per car and rule, the n-th infringing session of the event (in session start order, counting "
                    "the latest verdict of each session; several outings of a session count once) and the n-th "
                    "step of the rule's ladder from the event file's [sanctions] (the last step repeats). A rule "
                    "without a ladder is listed with no sanction. Exit 0 when listed, 2 on error.")
    p.add_argument("--event", required=True, help="event id")
    p.add_argument("--event-file", help="event.toml: record its [sanctions] ladders in the store (audited) and "
                                        "order sessions by its starts (default: what ingest recorded)")
    p.add_argument("--json", action="store_true",
                   help='one JSON object: {"event", "entries": [{car, rule, session, n, sanction}]}')
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    starts = None
    if args.event_file:
        info = load_event_info(args.event_file)
        if info.event != args.event:
            raise ComplianceError(f"the event file is for event {info.event!r}, not {args.event!r}",
                                  path=args.event_file, fix=f"pass --event {info.event} or that event's file")
        starts = {s.session: s.start_at for s in info.sessions.values()}
        if info.sanctions is not None:
            with store.writing() as conn:
                record_ladders(conn, args.event, info.sanctions, source=abs_path(args.event_file),
                               actor=config.actor())
    with store.reading() as conn:
        if conn.execute("SELECT 1 FROM events WHERE event = ?", [args.event]).fetchone() is None:
            known = [e for (e,) in conn.execute("SELECT event FROM events ORDER BY event").fetchall()]
            raise ComplianceError(f"no event {args.event!r} in the store (it has: {', '.join(known) or 'none'})",
                                  path=store.db, fix="check --event, or ingest the event's logs first")
        ledger = event_ledger(conn, args.event, starts=starts)
    if args.json:
        sys.stdout.write(json.dumps(ledger.to_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text_table(ledger))
    sys.stdout.flush()
    return 0


def text_table(ledger: Ledger) -> str:
    """The ledger as an aligned text table, with a header line naming the ladders and the session order."""
    ladders = ", ".join(ledger.ladders) if ledger.ladders else "none recorded (give the event file's [sanctions])"
    lines = [f"{ledger.event}: sanctions ledger; ladders: {ladders}; sessions in order: "
             f"{', '.join(ledger.sessions) or 'none'}"]
    if not ledger.entries:
        return "\n".join([*lines, "no infringing session"]) + "\n"
    rows = [("car", "rule", "session", "n", "sanction")]
    rows += [(e.car, e.rule, e.session, str(e.n), e.sanction or NO_LADDER) for e in ledger.entries]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines += ["  ".join([*(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)), r[4]]) for r in rows]
    return "\n".join(lines) + "\n"
