"""``bopwatch demo``: a fresh store from ``sample_logs/`` (event file, entry list, bulletins, every car's logs),
a steward report per session, then the dashboard on that store.

The store is the usual one (``--db`` > ``BOPWATCH_DB`` > ``./bopwatch.duckdb``). "Fresh" means it is deleted and
rebuilt, which the demo does only when the store holds nothing but the sample event (or does not exist yet); a
store with other events is never touched. When ``sample_logs/`` is missing it is generated first
(``bopwatch simulate event``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

from .. import config
from ..errors import ComplianceError
from ..ingest.pipeline import exit_code, expand_paths, ingest_logs, load_event_info
from ..reports.render import write_report
from ..reports.steward import build_report
from ..store.schema import open_store
from ._progress import progress_bar
from ._store_args import add_db_option, reproduce

__all__ = ["add_subparser", "SAMPLE_LOGS"]

SAMPLE_LOGS = Path(__file__).resolve().parents[2] / "sample_logs"


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="sample data into a fresh store, then the dashboard",
        description="Ingest the sample event (sample_logs/, generated when missing) into a fresh store, write a "
                    "steward report per session, and start the dashboard on it. The store is rebuilt only when "
                    "it holds nothing but the sample event.")
    p.add_argument("--samples", help=f"sample event folder with event.toml (default {SAMPLE_LOGS})")
    p.add_argument("--no-dashboard", action="store_true", help="stop after ingesting and reporting")
    p.add_argument("--port", type=int, help="dashboard port (default 8501)")
    add_db_option(p)
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fresh(db: Path, event: str) -> None:
    """Delete the store at ``db`` when it holds only ``event`` (a previous demo); refuse otherwise."""
    if not db.exists():
        return
    store = open_store(db, create=False)
    with store.reading() as conn:
        others = [r[0] for r in conn.execute("SELECT event FROM events WHERE event <> ?", [event]).fetchall()]
    if others:
        raise ComplianceError(f"the store holds other events ({', '.join(others[:5])}); the demo will not replace it",
                              path=db, fix="pass --db to a new file, e.g. --db demo.duckdb")
    for extra in (db.with_name(db.name + ".wal"), db):
        if extra.exists():
            extra.unlink()
    if store.layout.root.exists():
        shutil.rmtree(store.layout.root)


def _generate(samples: Path) -> None:
    from telemetry.simulate import generate_event

    _say(f"bopwatch demo: {samples} has no event.toml; generating the sample event (about a minute)...")
    with progress_bar() as progress:
        generate_event(samples, progress=progress)


def run(args: argparse.Namespace) -> int:
    samples = Path(args.samples) if args.samples else SAMPLE_LOGS
    if not (samples / "event.toml").is_file():
        _generate(samples)
    info = load_event_info(samples / "event.toml")
    db = config.db_path(args.db)
    _fresh(db, info.event)
    store = open_store(db)
    logs = expand_paths([samples])
    _say(f"bopwatch demo: ingesting {len(logs)} logs of {info.name or info.event} into {db}")
    command = reproduce("ingest", [str(samples.resolve())], {"event_info": str((samples / 'event.toml').resolve()),
                                                             "db": str(db)})
    with progress_bar() as progress:
        outcomes = ingest_logs(store, logs, event_info=info, reason="demo", command=command, progress=progress)
    for o in outcomes:
        if o.status == "error":
            _say(f"  {o.path}: {o.error}")
    sessions = sorted({(o.session, o.car, o.verdict) for o in outcomes if o.session}, key=lambda x: x[0])
    for session in info.sessions:
        counts = Counter(v or "error" for s, _, v in sessions if s == session)
        _say(f"  {session}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    reports = store.layout.root / "reports"
    for session in info.sessions:
        out = reports / f"{info.event}_{session}.html"
        try:
            report = build_report(store, info.event, session, fmt="html", out=str(out))
        except ComplianceError as err:
            _say(f"  no report for {session}: {err}")
            continue
        write_report(report, "html", out, store)
        _say(f"  report: {out}")
    code = exit_code(outcomes)
    if args.no_dashboard:
        _say(f"bopwatch demo: done. Next: bopwatch dashboard --db {db}  (demo accounts: dashboard/demo_accounts.toml)")
        return 0 if code != 2 else 2
    try:
        from . import dashboard  # noqa: F401  (added by the dashboard part)
    except ImportError:
        _say("bopwatch demo: the dashboard is not installed in this build; inspect the store with "
             f"'bopwatch report --event {info.event} --session race --db {db}'")
        return 0 if code != 2 else 2
    from . import main as cli_main
    argv = ["dashboard", "--db", str(db)]
    if not os.environ.get("BOPWATCH_ACCOUNTS"):
        argv += ["--accounts", str(dashboard.DEMO_ACCOUNTS)]
    if args.port:
        argv += ["--port", str(args.port)]
    return cli_main(argv)
