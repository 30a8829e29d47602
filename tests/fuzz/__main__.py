"""``python -m tests.fuzz --inputs 10000 [--seed S] [--format F ...] [--save DIR]``: fuzz bopwatch's parsers.

Prints the per-format table (inputs, decoded, refused with the package's own error, crashes, hangs) and every
crasher with the mutation that made it; exits 1 when there was any crash or hang, 0 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from .runner import fuzz
from .seeds import FORMATS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=1000, help="number of mutated inputs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="run seed; input i is made from (seed, i) alone")
    p.add_argument("--format", action="append", choices=FORMATS,
                   help="only this format (repeatable; default all: %(choices)s)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per input before it is a hang")
    p.add_argument("--memory", type=int, default=3072, help="MB of address space per worker")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--only", type=int, action="append", metavar="INDEX", help="run just input INDEX (repeatable)")
    p.add_argument("--save", type=Path, default=Path("fuzz-crashers"), help="folder crashers are copied to")
    p.add_argument("--keep-workdir", action="store_true", help="keep the seeds and inputs folder")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    formats = tuple(args.format) if args.format else FORMATS
    workdir = Path(tempfile.mkdtemp(prefix="bopwatch-fuzz-"))
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 10 or done == total:
            last[0] = time.monotonic()
            print(f"  {done}/{total} inputs", file=sys.stderr, flush=True)

    try:
        report = fuzz(args.inputs, seed=args.seed, formats=formats, workdir=workdir, save_dir=args.save,
                      timeout_s=args.timeout, memory_mb=args.memory, workers=args.workers, only=args.only,
                      progress=progress)
    finally:
        if not args.keep_workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    print(f"python -m tests.fuzz --inputs {args.inputs} --seed {args.seed}"
          + "".join(f" --format {f}" for f in args.format or ()) + f"  ({report.seconds:.0f} s, "
          f"{args.timeout:g} s per input, {args.memory} MB per worker)"
          + (f"; INTERRUPTED after {report.total} inputs" if report.interrupted else ""))
    print(report.table())
    for fmt, why in sorted(report.skipped.items()):
        print(f"not fuzzed: {fmt}: {why}")
    for c in report.crashers:
        print(f"{c.status}: input {c.index} ({c.format}; {' + '.join(c.mutations)}): {c.detail}"
              + (f" -> {c.saved}" if c.saved else ""))
    refusals = {fmt: dict(s.refusals) for fmt, s in sorted(report.stats.items())}
    print("refused with: " + "; ".join(f"{fmt}: " + ", ".join(f"{k} x{v}" for k, v in r.items())
                                       for fmt, r in refusals.items() if r))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
