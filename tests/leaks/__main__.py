"""``python -m tests.leaks [--iterations N] [--only W ...] [--json]``: measure what bopwatch's long-lived parts
hold after many repetitions (see ``tests/leaks/__init__.py``). Prints one row per workload; exit 1 when any
workload leaked, 0 otherwise."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

# the tests folder's helper modules (``_dashboard_server``) import as top-level modules, as under pytest
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from . import measure  # noqa: E402
from .workloads import WORKLOADS  # noqa: E402

#: the watch workload has one distinct log per sample-event file (24): its warm-up is the first session's 8 logs
#: (every car model once, so the per-profile caches are full), then at most 16 measured iterations
_CAPS = {"watch": 16}
_WARMUP = {"watch": 8}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.leaks", description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=40, help="measured iterations per workload (default 40)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="just this workload (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON object per workload")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    leaked = False
    for name in args.only or list(WORKLOADS):
        iterations = min(args.iterations, _CAPS.get(name, args.iterations))
        with tempfile.TemporaryDirectory(prefix="bopwatch-leaks-") as tmp:
            work_dir, private_tmp = Path(tmp, "work"), Path(tmp, "tmp")
            work_dir.mkdir()
            private_tmp.mkdir()
            saved = os.environ.get("TMPDIR"), tempfile.tempdir
            os.environ["TMPDIR"] = tempfile.tempdir = str(private_tmp)   # children inherit it
            try:
                work, pid, settle, close = WORKLOADS[name](work_dir)
                try:
                    result = measure(name, work, iterations, warmup=max(args.warmup, _WARMUP.get(name, 0)),
                                     pid=pid, settle=settle)
                finally:
                    close()
            finally:
                if saved[0] is None:
                    os.environ.pop("TMPDIR", None)
                else:
                    os.environ["TMPDIR"] = saved[0]
                tempfile.tempdir = saved[1]
        row = result.row()
        leaked |= bool(row["leaks"])
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{name:15} {iterations:4d} iterations {row['seconds']:7.1f} s  RSS {row['rss_before_mb']:7.1f} -> "
                  f"{row['rss_after_mb']:7.1f} MB (slope {row['slope_kb_per_iteration']:6.1f} KB/it)  objects "
                  f"{row['objects'][0]} -> {row['objects'][1]}  fds {row['fds'][0]} -> {row['fds'][1]}  threads "
                  f"{row['threads'][0]} -> {row['threads'][1]}  children {row['children'][0]} -> "
                  f"{row['children'][1]}  temp {row['temp_entries'][0]} -> {row['temp_entries'][1]}  "
                  f"leaks: {'; '.join(row['leaks']) or 'none'}", flush=True)
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
