"""``bopwatch inspect LOG [--json]``: what a log holds and what is wrong with it (SPEC §4).

Prints the format, buses, frame count, distinct identifiers, time span and the reader's integrity findings
(truncation, skipped lines, unknown objects, time going backwards, count mismatches). Exit 0 when the file was
read (findings or not), 2 when it cannot be read at all (one line on stderr naming the file and the fix). The file
is read in a child with time and memory limits (``--isolate``, default for every format), as ``check`` does.
"""

from __future__ import annotations

import argparse
import json
import sys

from telemetry.formats import inspect_log
from telemetry.isolate import limits_for, run_limited

from . import EXIT_OK
from ._limits import bounded, require_regular_files
from ._progress import progress_bar

__all__ = ["add_subparser", "run"]


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect", help="format, buses, frames, IDs, time span and integrity findings of a log",
        description="Read LOG and print its format, buses, frames, distinct arbitration ids, start, duration "
                    "and integrity findings. Exit 0 when read, 2 when unreadable.")
    p.add_argument("log", metavar="LOG", help="log file (BLF, ASC, candump .log, TRC, CSV, MF4, MDF; .gz accepted)")
    p.add_argument("--json", action="store_true", help="print one JSON object (SPEC §4)")
    p.add_argument("--isolate", choices=("auto", "always", "never"), default="auto",
                   help="read the file in a child process with time and memory limits, so a parser crash, hang "
                        "or runaway allocation is one error line and exit 2 (auto, always: every format; never: "
                        "in this process; limits from BOPWATCH_PARSE_TIMEOUT_S / BOPWATCH_PARSE_MEMORY_MB)")
    p.set_defaults(func=run)


def _inspect(path: str, show_progress: bool = False):
    with progress_bar(show_progress) as progress:
        return inspect_log(path, progress=progress)


def run(args: argparse.Namespace) -> int:
    with bounded([args.log]):
        require_regular_files([args.log])
        if args.isolate != "never":
            timeout_s, memory_mb = limits_for(args.log)
            info = run_limited(_inspect, args.log, not args.json, timeout_s=timeout_s, memory_mb=memory_mb)
        else:
            info = _inspect(args.log, not args.json)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return EXIT_OK
    d = info.to_dict()
    lines = [
        f"file      {d['path']}",
        f"sha256    {d['sha256']}",
        f"format    {d['format']}  ({d['size']:,} bytes)",
    ]
    if d["frames"] is not None:
        lines += [f"frames    {d['frames']:,}",
                  f"buses     {', '.join(map(str, d['buses'])) or '-'}",
                  f"ids       {d['ids']:,}"]
    lines += [f"start     {d['start'] or 'not recorded'}",
              f"duration  {d['duration_s']:.3f} s"]
    if d["findings"]:
        lines.append(f"findings  {len(d['findings'])}")
        for f in d["findings"]:
            place = f" (line {f['line']})" if "line" in f else (f" (offset {f['offset']})" if "offset" in f else "")
            lines.append(f"  - {f['kind']}: {f['detail']}{place}")
    else:
        lines.append("findings  none")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK
