"""``bopwatch watch DIR``: ingest every new log under DIR once its copy has finished; one JSON line per log.

Runs until interrupted (Ctrl-C / SIGTERM stop it cleanly between files), or with ``--once`` until what is there has
been processed, or with ``--idle-exit S`` after S seconds with nothing new. Exit code as for ingest over the logs
it processed, however it stopped: 2 any failed, 1 an infringement, 3 incomplete, 4 a log stored without a verdict,
0 every log judged compliant, and 0 when nothing arrived.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from .. import config
from ..ingest.pipeline import exit_code, load_event_info
from ..ingest.watch import Watcher
from ..store.schema import open_store
from ._store_args import abs_path, add_db_option, add_join_options, print_json_line, reproduce

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "watch", help="check and ingest every new log in a folder, unattended",
        description="Watch DIR (recursively) and ingest each new log once its size and mtime have been stable "
                    "for --settle seconds and its sidecar <LOG>.meta.json is present (unless --event, --session "
                    "and --car are given). Uses file-system notifications, or rescans with --poll. Prints one "
                    "JSON line per log. DIR/event.toml, when present, gives sessions, entry list and bulletins.")
    p.add_argument("dir", metavar="DIR", help="folder the logger cards are copied to")
    p.add_argument("--event", help="event id for every file (default: from sidecars)")
    p.add_argument("--session", help="session id for every file (default: from sidecars)")
    p.add_argument("--car", help="car number for every file (default: from sidecars)")
    p.add_argument("--profile", help="profile TOML or model id (default: the entry list's model)")
    p.add_argument("--bulletin", action="append", help="bulletin TOML or folder (repeatable)")
    p.add_argument("--entry-list", help="CSV car,team,model,class,drivers")
    p.add_argument("--event-info", help="event.toml (default DIR/event.toml when present)")
    p.add_argument("--settle", type=float,
                   help="seconds a file must stay unchanged before it is read (env BOPWATCH_SETTLE_S; default 2)")
    p.add_argument("--poll", action="store_true", help="rescan the folder instead of using notifications")
    p.add_argument("--poll-interval", type=float, help="seconds between scans (env BOPWATCH_POLL_S; default 0.5)")
    p.add_argument("--once", action="store_true", help="process what is in DIR now, then exit")
    p.add_argument("--idle-exit", type=float, metavar="SECONDS", help="exit after SECONDS with nothing new")
    add_join_options(p)
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    root = Path(args.dir)
    info_path = Path(args.event_info) if args.event_info else root / "event.toml"
    info = load_event_info(info_path) if info_path.exists() else None
    outcomes = []

    def emit(outcome) -> None:
        outcomes.append(outcome)
        print_json_line(outcome.to_dict())

    options = {"event": args.event, "session": args.session, "car": args.car, "profile": args.profile,
               "bulletin": args.bulletin, "entry_list": args.entry_list, "event_info": info,
               "join": args.join, "max_gap_s": args.max_gap,
               "command": reproduce("watch", [str(root.resolve())], {
                   "event": args.event, "session": args.session, "car": args.car, "profile": abs_path(args.profile),
                   "bulletin": [abs_path(b) for b in args.bulletin or []], "entry_list": abs_path(args.entry_list),
                   "event_info": abs_path(str(info_path)) if info else None,
                   "join": None if args.join == "auto" else args.join, "max_gap": args.max_gap, "db": str(store.db)})}
    watcher = Watcher(store, root, emit, options, settle_s=config.settle_s(args.settle),
                      poll_s=config.poll_s(args.poll_interval), poll=args.poll,
                      require_sidecar=not (args.event and args.session and args.car))
    previous = signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
    try:
        watcher.run(once=args.once, idle_exit_s=args.idle_exit)
    except KeyboardInterrupt:
        watcher.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return exit_code(outcomes) if outcomes else 0
