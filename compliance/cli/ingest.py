"""``bopwatch ingest LOG...``: store logs as evidence, judge each car's session, print one JSON line per log.

Exit codes (the most serious wins, in this order): 2 any log could not be ingested (its JSON line carries the
error) or no log was found, 1 an infringement, 3 incomplete, 4 a log was stored without a verdict (no bulletin:
not judged), 0 every log judged compliant.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from ..errors import ComplianceError
from ..ingest.fleet import ingest_parallel
from ..ingest.log_names import LOG_SUFFIXES
from ..ingest.pipeline import exit_code, expand_paths, ingest_logs, load_event_info
from ..store.schema import open_store
from ._progress import progress_bar
from ._store_args import abs_path, add_db_option, add_join_options, print_json_line, reproduce

__all__ = ["add_subparser"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ingest", help="store logs as evidence and judge them",
        description="Copy each LOG into the store (write-once, by SHA-256), judge its car's session under the "
                    "bulletin and record the verdict. Metadata from the options, else the sidecar "
                    "<LOG>.meta.json, else the entry list. Prints one JSON line per log. Exit 0 every log "
                    "judged compliant, 1 infringement, 3 incomplete, 4 stored without a verdict (no bulletin), "
                    "2 error or no log found (the most serious wins).")
    p.add_argument("logs", nargs="+", metavar="LOG",
                   help="log files (several for one car = one session), or folders of logs (searched recursively)")
    p.add_argument("--event", help="event id (e.g. spa24-2025)")
    p.add_argument("--session", help="session id (e.g. race)")
    p.add_argument("--car", help="car number")
    p.add_argument("--profile", help="car profile TOML, or a model id looked up in BOPWATCH_PROFILES (dbc/)")
    p.add_argument("--bulletin", action="append",
                   help="bulletin TOML or folder (repeatable; the one in force at the session start is used). "
                        "Without any, logs are stored unjudged until 'bopwatch recheck'")
    p.add_argument("--entry-list", help="CSV car,team,model,class,drivers")
    p.add_argument("--event-info", help="event.toml with sessions, entry list, bulletins and profiles "
                                        "(default: event.toml in a LOG folder, when there is one)")
    p.add_argument("--logger-serial", help="serial number of the logger the files come from")
    p.add_argument("--workers", type=int, metavar="N", help="judge cars in N processes (default: every core; "
                   "env BOPWATCH_WORKERS); 1 = one after the other in this process")
    p.add_argument("--scheduler", metavar="ADDRESS", help="judge cars on a Dask distributed cluster (e.g. "
                   "tcp://10.0.0.5:8786); its workers must see the logs and the store folder")
    add_join_options(p)
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    event_file = args.event_info or next((str(Path(p) / "event.toml") for p in args.logs
                                          if (Path(p) / "event.toml").is_file()), None)
    command = reproduce("ingest", [str(Path(p).resolve()) for p in args.logs], {
        "event": args.event, "session": args.session, "car": args.car, "profile": abs_path(args.profile),
        "bulletin": [abs_path(b) for b in args.bulletin or []], "entry_list": abs_path(args.entry_list),
        "event_info": abs_path(event_file), "logger_serial": args.logger_serial,
        "join": None if args.join == "auto" else args.join, "max_gap": args.max_gap, "db": str(store.db)})
    info = load_event_info(event_file) if event_file else None
    with progress_bar() as progress:
        logs = expand_paths(args.logs)
        if not logs:
            raise ComplianceError("no log file found there", path=", ".join(args.logs),
                                  fix=f"folders are searched recursively for {', '.join(LOG_SUFFIXES)} (optionally "
                                      ".gz): pass the log files themselves or the folder holding them")
        judge = ingest_logs
        if args.scheduler or (len(logs) > 1 and args.workers != 1):  # compliance.ingest.fleet: workers compute
            judge = partial(ingest_parallel, workers=args.workers, scheduler=args.scheduler)
        outcomes = judge(store, logs, event=args.event, session=args.session, car=args.car,
                         profile=args.profile, bulletin=args.bulletin, entry_list=args.entry_list,
                         event_info=info, logger_serial=args.logger_serial, command=command,
                         progress=progress, on_outcome=lambda o: print_json_line(o.to_dict()),
                         join=args.join, max_gap_s=args.max_gap)
    return exit_code(outcomes)
