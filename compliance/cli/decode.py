"""``bopwatch decode LOG... --profile P [--out FILE] [--all-signals]``: decoded channels as a long table.

One row per sample (SPEC §4): ``time_s`` (float64, seconds from the first frame of the session), ``bus`` (int,
0-based; -1 for channels of decoded-channel MDF files, which carry no bus), ``channel`` (canonical name, or
``Message.Signal`` for a raw DBC signal with ``--all-signals``), ``value`` (float64 physical value; choices as
their raw number). Rows are in time order. ``--out`` ending in ``.parquet`` writes Parquet, ``.csv`` CSV; no
``--out`` writes CSV to stdout. A summary (rows, channels, missing channels, findings) goes to stderr.

The decode runs in a child with time and memory limits (``--isolate``, default for every format), as ``check``
does; a limit passed, a crash or running out of memory is one error line naming the logs and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import ComplianceError
from . import EXIT_OK
from ._limits import bounded, require_regular_files, session_label
from ._profile import PROFILE_HELP, resolve_profile
from ._progress import progress_bar

_SUFFIXES = (".parquet", ".csv")


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "decode", help="decode a log into canonical channels (and every DBC signal) as Parquet or CSV",
        description="Decode LOG with the car profile's DBCs into a long table (time_s, bus, channel, value): "
                    "the canonical channels the profile maps, in canonical units, plus every decoded DBC signal "
                    "with --all-signals. Several LOG files are one session, joined in time order.")
    p.add_argument("logs", nargs="+", metavar="LOG", help="log file(s) (BLF, ASC, candump, TRC, CSV, MF4, MDF; "
                   ".gz accepted)")
    p.add_argument("--profile", required=True, metavar="P", help=PROFILE_HELP)
    p.add_argument("--out", metavar="FILE", help="output file: .parquet or .csv (default: CSV on stdout)")
    p.add_argument("--all-signals", action="store_true",
                   help="also write every decoded DBC signal as Message.Signal (raw physical units)")
    p.add_argument("--isolate", choices=("auto", "always", "never"), default="auto",
                   help="decode in a child process with time and memory limits, so a parser crash, hang or "
                        "runaway allocation on a damaged or hostile file is one error line and exit 2 (auto, "
                        "always: every format; never: in this process)")
    p.set_defaults(func=run)


def _table(session, all_signals: bool):
    import pyarrow as pa

    channels = list(session.channels.values())
    if all_signals:
        channels += list(session.signals.values())
    names = [c.name for c in channels]
    time = np.concatenate([c.time for c in channels]) if channels else np.empty(0)
    value = np.concatenate([c.value for c in channels]) if channels else np.empty(0)
    bus = np.concatenate([np.full(len(c), -1 if c.bus is None else c.bus, np.int32) for c in channels]) \
        if channels else np.empty(0, np.int32)
    code = np.concatenate([np.full(len(c), i, np.int32) for i, c in enumerate(channels)]) \
        if channels else np.empty(0, np.int32)
    order = np.argsort(time, kind="stable")
    channel = pa.DictionaryArray.from_arrays(pa.array(code[order]), pa.array(names, pa.string()))
    table = pa.table({"time_s": pa.array(time[order], pa.float64()), "bus": pa.array(bus[order], pa.int32()),
                      "channel": channel, "value": pa.array(value[order], pa.float64())})
    return table


def write_table(table, out: str | None) -> None:
    """Write the long table to ``out`` (.parquet or .csv) or, when ``out`` is None, as CSV to stdout."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if out is not None and Path(out).suffix.lower() == ".parquet":
        pq.write_table(table, out, compression="zstd")
        return
    plain = table.set_column(2, "channel", table.column("channel").cast(pa.string()))
    if out is None:
        sink = pa.BufferOutputStream()
        pcsv.write_csv(plain, sink)
        sys.stdout.buffer.write(sink.getvalue().to_pybytes())
        sys.stdout.flush()
    else:
        pcsv.write_csv(plain, out)


def decode_to(logs: list[str], profile_path: str, all_signals: bool, out: str | None,
              progress=None) -> list[str]:
    """Decode ``logs`` and write the long table to ``out`` (stdout when None); the summary lines for stderr."""
    from telemetry.profiles import load_profile
    from telemetry.session import load_session

    profile = load_profile(profile_path)
    session = load_session(logs, profile, all_signals=all_signals, progress=progress)
    table = _table(session, all_signals)
    write_table(table, out)
    lines = [f"{table.num_rows} rows, {len(session.channels)} canonical channels"
             f"{f', {len(session.signals)} DBC signals' if all_signals else ''} -> {out or 'stdout'}"]
    if session.missing:
        lines.append(f"no samples for mapped channels: {', '.join(session.missing)}")
    lines += [f"{src.path}: {f.kind}: {f.detail}" for src in session.sources for f in src.findings]
    lines += [f"{f.kind}: {f.detail}" for f in session.findings]
    return lines


def _decode_in_child(first: str, logs: list[str], profile_path: str, all_signals: bool, out: str,
                     show_progress: bool = False) -> list[str]:
    with progress_bar(show_progress) as progress:
        return decode_to(logs, profile_path, all_signals, out, progress)


def run(args: argparse.Namespace) -> int:
    if args.out is not None and Path(args.out).suffix.lower() not in _SUFFIXES:
        raise ComplianceError(f"unknown output format {Path(args.out).suffix or '(no suffix)'!r}", path=args.out,
                              fix="end --out in .parquet or .csv")
    with bounded(args.logs):
        require_regular_files(args.logs)
        profile = resolve_profile(args.profile)
        if args.isolate != "never":
            lines = _run_isolated(args, profile)
        else:
            with progress_bar(True) as progress:
                lines = decode_to(args.logs, profile, args.all_signals, args.out, progress)
    for line in lines:
        print(f"bopwatch decode: {line}", file=sys.stderr)
    return EXIT_OK


def _run_isolated(args: argparse.Namespace, profile: str) -> list[str]:
    """The decode in a limited child (``telemetry.isolate``); CSV for stdout goes through a temporary file."""
    import shutil
    import tempfile

    from telemetry.isolate import limits_for, run_limited

    timeout_s, memory_mb = limits_for(args.logs, default_memory_mb=8192)
    with tempfile.TemporaryDirectory(prefix="bopwatch-decode-") as tmp:
        out = args.out or str(Path(tmp) / "table.csv")
        lines = run_limited(_decode_in_child, session_label(args.logs), list(args.logs), profile,
                            args.all_signals, out, True, timeout_s=timeout_s, memory_mb=memory_mb,
                            errors=("compliance.errors:ComplianceError",), what="decode")
        if args.out is None:
            with open(out, "rb") as fh:
                shutil.copyfileobj(fh, sys.stdout.buffer)
            sys.stdout.flush()
    return [line.replace(f"-> {out}", "-> stdout") for line in lines] if args.out is None else lines
