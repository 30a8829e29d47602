"""``bopwatch recheck``: judge a session's stored logs again under another bulletin; earlier runs are kept."""

from __future__ import annotations

import argparse

from ..ingest.pipeline import exit_code, recheck
from ..store.schema import open_store
from ._progress import progress_bar
from ._store_args import abs_path, add_db_option, print_json_line, reproduce

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "recheck", help="re-judge stored logs under another bulletin",
        description="Judge every car of a stored session (or one car) again under BULLETIN (e.g. a BoP change "
                    "mid-event) and store the new runs beside the old ones. One JSON line per car. Exit codes "
                    "as for ingest.")
    p.add_argument("--event", required=True, help="event id")
    p.add_argument("--session", required=True, help="session id")
    p.add_argument("--bulletin", required=True, action="append", help="bulletin TOML or folder (repeatable)")
    p.add_argument("--car", help="only this car")
    p.add_argument("--profile", help="profile TOML or model id (default: the one the last run used)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    command = reproduce("recheck", [], {
        "event": args.event, "session": args.session, "bulletin": [abs_path(b) for b in args.bulletin],
        "car": args.car, "profile": abs_path(args.profile), "db": str(store.db)})
    with progress_bar() as progress:
        outcomes = recheck(store, event=args.event, session=args.session, bulletin=args.bulletin, car=args.car,
                           profile=args.profile, command=command, progress=progress)
    for outcome in outcomes:
        print_json_line(outcome.to_dict())
    return exit_code(outcomes)
